"""The derivatives table: one definition per primitive (forward, VJP, JVP), grouped by family.

Importing this package attaches the operators and methods to :class:`chainrule.Tensor`.
"""

from . import (  # noqa: F401
    aliases,
    arith,
    bessel,
    cast,
    composites,
    conv,
    decomp,
    elementwise,
    indexing,
    inplace,
    join,
    linalg,
    logical,
    reduce,
    sampling,
    scan,
    shape,
    sort,
    special,
    statistics,
    view_scatter,
)
from ._primitive import PRIMITIVES, PUBLIC, Primitive, apply  # noqa: F401

_FAMILIES = (cast, arith, elementwise, special, logical, shape, join, reduce, scan, sort, indexing, linalg, decomp,
             sampling, composites, conv, aliases, statistics, view_scatter, bessel)
__all__ = [name for family in _FAMILIES for name in family.__all__]
globals().update({name: fn for family in _FAMILIES for name, fn in PUBLIC.get(family.__name__, {}).items()})
