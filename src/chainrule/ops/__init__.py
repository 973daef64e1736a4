"""The derivatives table: one definition per primitive (forward, VJP, JVP), grouped by family.

Importing this package attaches the operators and methods to :class:`chainrule.Tensor`.
"""

from . import arith, cast, composites, conv, elementwise, indexing, inplace, join, linalg, reduce, shape  # noqa: F401
from ._primitive import PRIMITIVES, Primitive, apply  # noqa: F401

_FAMILIES = (arith, elementwise, shape, join, reduce, indexing, linalg, composites, conv)
__all__ = [name for family in _FAMILIES for name in family.__all__]
globals().update({name: getattr(family, name) for family in _FAMILIES for name in family.__all__})
