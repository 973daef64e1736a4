"""Resampling and rearranging images: interpolate, grid_sample, affine_grid, pixel_shuffle."""

__all__ = []
