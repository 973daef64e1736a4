"""Attention: scaled dot-product attention and the multi-head attention forward."""

__all__ = []
