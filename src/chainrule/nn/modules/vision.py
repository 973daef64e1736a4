"""Upsampling and pixel shuffling layers."""

__all__ = []
