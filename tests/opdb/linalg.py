"""Op database entries: linear algebra (see opdb/__init__.py)."""

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays

ENTRIES = [
    OpInfo("matmul", cr.matmul, [Sample(arrays(a, b)) for a, b in (
        ((3, 4), (4, 2)), ((4,), (4,)), ((4,), (4, 2)), ((3, 4), (4,)), ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
        ((0, 4), (4, 2)))], np.matmul),
]
