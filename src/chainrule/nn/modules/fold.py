"""Fold and Unfold: sliding blocks to columns and back."""

__all__ = []
