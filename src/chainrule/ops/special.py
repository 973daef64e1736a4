"""Special and further elementwise maths: inverse and hyperbolic trig, gamma family, logit, ..."""

from ._primitive import exports

__all__ = exports(__name__)
