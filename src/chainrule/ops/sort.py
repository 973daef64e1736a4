"""Sorting and selection: sort, topk, unique, searchsorted, scatter/index families."""

from ._primitive import exports

__all__ = exports(__name__)
