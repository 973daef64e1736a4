"""Padding as functions (the modes ``F.pad`` supports live in ops/join.py)."""

__all__ = []
