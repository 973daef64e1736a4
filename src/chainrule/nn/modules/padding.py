"""Padding layers: constant, reflection, replication, circular and zero, in 1d/2d/3d."""

__all__ = []
