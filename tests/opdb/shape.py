"""Op database entries: shape ops (see opdb/__init__.py)."""

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays

ENTRIES = [
    OpInfo("reshape", lambda x: cr.reshape(x, (4, -1)), [Sample(arrays((2, 6))), Sample(arrays((4,)))],
           lambda x: x.reshape(4, -1)),
    OpInfo("broadcast_to", lambda x: cr.broadcast_to(x, (2, 3, 4)), [Sample(arrays((3, 1))), Sample(arrays(()))],
           lambda x: np.broadcast_to(x, (2, 3, 4))),
    OpInfo("sum_to", lambda x: cr.sum_to(x, (3, 1)), [Sample(arrays((2, 3, 4)))],
           lambda x: x.sum(axis=(0, 2), keepdims=True).reshape(3, 1)),
    OpInfo("transpose", lambda x: cr.transpose(x, 0, -1), [Sample(arrays((2, 3, 4)))],
           lambda x: np.swapaxes(x, 0, -1), covers=("swapaxes",)),
    OpInfo("permute", lambda x: cr.permute(x, (2, 0, 1)), [Sample(arrays((2, 3, 4)))],
           lambda x: np.transpose(x, (2, 0, 1))),
    OpInfo("movedim", lambda x: cr.movedim(x, 0, -1), [Sample(arrays((2, 3, 4)))], lambda x: np.moveaxis(x, 0, -1)),
    OpInfo("squeeze", cr.squeeze, [Sample(arrays((1, 3, 1)))], np.squeeze),
    OpInfo("unsqueeze", lambda x: cr.unsqueeze(x, -1), [Sample(arrays((2, 3))), Sample(arrays(()))],
           lambda x: np.expand_dims(x, -1)),
    OpInfo("flatten", lambda x: cr.flatten(x, 1), [Sample(arrays((2, 3, 4)))], lambda x: x.reshape(2, -1)),
    OpInfo("ravel", cr.ravel, [Sample(arrays((2, 3)))], np.ravel),
    OpInfo("t", cr.t, [Sample(arrays((2, 3))), Sample(arrays((3,)))], lambda x: x.T),
    OpInfo("clone", cr.clone, [Sample(arrays((2, 3)))], np.copy),
]
