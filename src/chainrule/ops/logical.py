"""Bitwise and logical ops, shifts, and closeness tests (isclose, isin, ...)."""

from ._primitive import exports

__all__ = exports(__name__)
