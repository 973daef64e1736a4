"""Op database entries: indexing (see opdb/__init__.py).

Keys travel as plain sample arguments: tuples, slices and lists pass through untouched (so NumPy's indexing is
the reference), while a bare integer or bool array argument becomes a tensor index.
"""

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays

_S = slice


def _key_samples():
    x34, x234, x0, x1 = arrays((3, 4), (2, 3, 4), (), (1,))
    return [
        Sample((x34, 1)),
        Sample((x34, -1)),
        Sample((x34, (_S(None, None, -1), _S(1, None, 2)))),            # negative step
        Sample((x234, (Ellipsis, None, _S(3, 0, -2)))),                 # Ellipsis, None, negative step
        Sample((x234, (0, Ellipsis, -1))),
        Sample((x34, ([2, 0, 2, 2],))),                                 # repeats accumulate
        Sample((x34, np.array([[0, 2], [2, 2]]))),                      # integer tensor index
        Sample((x34, (np.array([[0], [2]]), [1, 1, 3]))),               # two index arrays broadcast
        Sample((x234, ([0, 1, 1], _S(None), [3, 3, 0]))),               # arrays split by a slice
        Sample((x234, (_S(None), [2, 0, 2], _S(None, None, -1)))),
        Sample((x34, x34 > 0)),                                         # bool mask tensor
        Sample((x234, (_S(None), np.array([True, False, True])))),      # partial mask
        Sample((x0, None)), Sample((x0, Ellipsis)), Sample((x0, ())), Sample((x0, True)),  # 0-d
        Sample((x1, 0)), Sample((x1, (_S(None), None))), Sample((x1, [0, 0])),             # size 1
        Sample((x34, _S(2, 2))), Sample((x34, ([],))),                  # empty results
    ]


def _ints_first_ref(x, key):
    """torch applies int indices before index arrays; NumPy counts them as arrays (keys without None)."""
    ints = tuple(k if isinstance(k, int) else _S(None) for k in key)
    return x[ints][tuple(k for k in key if not isinstance(k, int))]


def _setitem(x, v, key):
    out = x * 1.0  # a non-leaf, so the write is recorded instead of refused
    out[key] = v
    return out


def _setitem_ref(x, v, key):
    out = x.copy()
    out[key] = v
    return out


def _setitem_samples():
    x34, v4, v3, v0 = arrays((3, 4), (4,), (3,), (), seed=1)
    return [
        Sample((x34, v4, 1)),
        Sample((x34, v3, (_S(None, None, -1), 2))),
        Sample((x34, v0, x34 > 0)),
        Sample((x34, v3, (np.array([0, 2, 1]), [3, 0, 0]))),
        Sample((x34, v4, np.array([True, False, True]))),
    ]


def _gather_ref(x, dim, index):
    if x.ndim == 0:  # torch reads a 0-d input as 1-d of one element
        return np.broadcast_to(x, index.shape).copy()
    crop = tuple(_S(None) if k == dim else _S(0, s) for k, s in enumerate(index.shape))
    return np.take_along_axis(x[crop], index, dim)


def _scatter_add_ref(x, dim, index, src):
    out = x.copy()
    key = tuple(index if k == dim else np.arange(s).reshape((s,) + (1,) * (index.ndim - k - 1))
                for k, s in enumerate(index.shape))
    np.add.at(out, key, src[tuple(_S(0, s) for s in index.shape)])
    return out


def _masked_select_ref(x, mask):
    shape = np.broadcast_shapes(x.shape, mask.shape)
    return np.broadcast_to(x, shape)[np.broadcast_to(mask, shape)]


_x34, _x234, _x0 = arrays((3, 4), (2, 3, 4), (), seed=2)
_src34, _v0 = arrays((3, 4), (), seed=3)

ENTRIES = [
    OpInfo("getitem", lambda x, key: x[key], _key_samples(), lambda x, key: x[key]),
    OpInfo("getitem_ints_first", lambda x, key: x[key],
           [Sample((_x234, (0, _S(None), [3, 3, 0]))), Sample((_x234, ([1, 0], _S(None, None, -1), -1)))],
           _ints_first_ref),
    OpInfo("setitem", _setitem, _setitem_samples(), _setitem_ref, jvp=False),
    OpInfo("index_select", cr.index_select,
           [Sample((_x34, 0, np.array([2, 0, 2]))), Sample((_x234, -1, np.array([3, 3]))),
            Sample((_x34, 1, np.array(1))), Sample((_x0, 0, np.array([0]))),
            Sample((_x34, 0, np.array([], int)))],
           lambda x, dim, index: np.take(x, np.atleast_1d(index), dim) if x.ndim else x),
    OpInfo("gather", cr.gather,
           [Sample((_x34, 0, np.array([[2, 0, 2, 2], [1, 1, 0, 2]]))),
            Sample((_x34, 1, np.array([[3, 3], [0, 1]]))),
            Sample((_x234, -1, np.array([[[0, 0, 1]]]))), Sample((_x0, 0, np.array(0)))],
           _gather_ref),
    OpInfo("take_along_dim", cr.take_along_dim,
           [Sample((_x34, np.array([[1], [3], [0]]), 1)), Sample((_x234, np.array([[[2, 0, 0, 1]]]), 1)),
            Sample((_x34, np.array([5, 5, 0])))],
           lambda x, index, dim=None: np.take_along_axis(x, index, dim)),
    OpInfo("scatter_add", cr.scatter_add,
           [Sample((_x34, 0, np.array([[2, 0, 2, 2], [1, 2, 0, 2]]), _src34)),
            Sample((_x34, 1, np.array([[3, 3], [0, 1], [2, 2]]), _src34)),
            Sample((_x0, 0, np.array(0), _v0))],
           _scatter_add_ref),
    OpInfo("masked_fill", cr.masked_fill,
           [Sample((_x34, _x34 > 0, 0.5)), Sample((_x34, np.array([True, False, False, True]), _v0)),
            Sample((_x34[0], _x34 > 0, _v0)), Sample((_x0, np.array(True), -1.0))],
           lambda x, mask, value: np.where(mask, value, x)),
    OpInfo("masked_select", cr.masked_select,
           [Sample((_x34, _x34 > 0)), Sample((_x34[0], _x34 > 0)), Sample((_x0, np.array(True)))],
           _masked_select_ref),
    OpInfo("nonzero", cr.nonzero,
           [Sample((np.array([[0, 1, 0], [2, 0, 3]]),)), Sample((_x34 > 0,)), Sample((np.array(0.0),))],
           np.argwhere, differentiable=False),
]
