"""Op database entries: reductions (see opdb/__init__.py)."""

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays

SHAPES = [(3, 4), (2, 3, 4), (), (1,), (0, 3)]

ENTRIES = [
    OpInfo("sum", cr.sum, [Sample(arrays(s)) for s in SHAPES], np.sum),
    OpInfo("sum_dim", lambda x: cr.sum(x, 1), [Sample(arrays((3, 4))), Sample(arrays((2, 3, 4)))],
           lambda x: np.sum(x, 1)),
    OpInfo("sum_dims_keepdim", lambda x: cr.sum(x, (0, -1), keepdim=True), [Sample(arrays((2, 3, 4)))],
           lambda x: np.sum(x, (0, -1), keepdims=True)),
    OpInfo("mean", cr.mean, [Sample(arrays(s)) for s in SHAPES[:4]], np.mean),
    OpInfo("mean_dim", lambda x: cr.mean(x, -1, keepdim=True), [Sample(arrays((3, 4))), Sample(arrays((0, 3)))],
           lambda x: np.mean(x, -1, keepdims=True)),
]
