"""The derivatives table: one definition per primitive (forward, VJP, JVP), grouped by family.

Importing this package attaches the operators and methods to :class:`chainrule.Tensor`.
"""

from . import arith, cast, composites, conv, elementwise, indexing, inplace, join, linalg, reduce, shape  # noqa: F401
from ._primitive import PRIMITIVES, PUBLIC, Primitive, apply  # noqa: F401

_FAMILIES = (cast, arith, elementwise, shape, join, reduce, indexing, linalg, composites, conv)
__all__ = [name for family in _FAMILIES for name in family.__all__]
globals().update({name: fn for family in _FAMILIES for name, fn in PUBLIC.get(family.__name__, {}).items()})
