"""Scans and order-statistic reductions: cumprod, cummax, median, quantile, ..."""

from ._primitive import exports

__all__ = exports(__name__)
