"""Random sampling ops: bernoulli, multinomial, poisson, normal and the in-place fills."""

from ._primitive import exports

__all__ = exports(__name__)
