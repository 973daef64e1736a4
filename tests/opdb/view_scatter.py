"""Op database entries: ops/view_scatter.py (Tensor.unfold, diagonal_scatter, select_scatter, slice_scatter, put,
index_reduce); see opdb/__init__.py. References by NumPy's sliding windows, assignment into a copy and loops."""

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays


def _unfold(x, dim, size, step):
    windows = np.lib.stride_tricks.sliding_window_view(x, size, axis=dim)
    return np.take(windows, np.arange(0, windows.shape[dim], step), axis=dim)


def _embedded(x, src, key):
    out = x.copy()
    out[key] = src
    return out


def _diagonal_scatter(x, src, offset, dim1, dim2):
    out = x.copy()
    view = np.diagonal(out, offset, dim1, dim2)
    view.setflags(write=True)  # NOTE: numpy's diagonal is a read-only view of out; writing through it is the point
    view[...] = src
    return out


def _put(x, index, src, accumulate):
    out = x.copy().reshape(-1)
    if accumulate:
        np.add.at(out, index.reshape(-1), src.reshape(-1))
    else:
        out[index.reshape(-1)] = src.reshape(-1)
    return out.reshape(x.shape)


def _index_reduce(x, index, src, reduce, include_self):
    out = x.copy()
    for i in set(index.tolist()):
        rows = src[index == i]
        pool = np.concatenate([x[i:i + 1], rows]) if include_self else rows
        out[i] = {"prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min}[reduce](pool, axis=0)
    return out


_X3, _X2 = arrays((3, 5, 4), (4, 6), seed=60)
_PUT_INDEX = np.array([[0, 7], [23, 5]])
_ROWS = np.array([0, 2, 0, 3])

ENTRIES = [
    OpInfo("Tensor.unfold", lambda x: x.unfold(1, 2, 2), [Sample((_X3,)), Sample((_X2,))],
           lambda x: _unfold(x, 1, 2, 2)),
    OpInfo("Tensor.unfold_last", lambda x: x.unfold(-1, 3, 1), [Sample((_X3,))], lambda x: _unfold(x, 2, 3, 1)),
    OpInfo("diagonal_scatter", lambda x, s: cr.diagonal_scatter(x, s, 1), [Sample((_X2, arrays((4,), seed=61)[0]))],
           lambda x, s: _diagonal_scatter(x, s, 1, 0, 1)),
    OpInfo("diagonal_scatter_dims", lambda x, s: cr.diagonal_scatter(x, s, -1, 2, 0),
           [Sample((_X3, arrays((5, 3), seed=62)[0]))], lambda x, s: _diagonal_scatter(x, s, -1, 2, 0),
           covers=("diagonal_scatter",)),
    OpInfo("select_scatter", lambda x, s: cr.select_scatter(x, s, 1, -2), [Sample((_X3, arrays((3, 4), seed=63)[0]))],
           lambda x, s: _embedded(x, s, (slice(None), -2))),
    OpInfo("slice_scatter", lambda x, s: cr.slice_scatter(x, s, 1, 1, None, 2),
           [Sample((_X2, arrays((4, 3), seed=64)[0]))], lambda x, s: _embedded(x, s, (slice(None), slice(1, None, 2)))),
    OpInfo("put", lambda x, s: cr.put(x, cr.tensor(_PUT_INDEX), s), [Sample((_X2, arrays((2, 2), seed=65)[0]))],
           lambda x, s: _put(x, _PUT_INDEX, s, False)),
    OpInfo("put_accumulate", lambda x, s: cr.put(x, cr.tensor(np.array([1, 4, 1])), s, accumulate=True),
           [Sample((_X2, arrays((3,), seed=66)[0]))], lambda x, s: _put(x, np.array([1, 4, 1]), s, True),
           covers=("put",)),
]
for _reduce, _self in (("prod", True), ("mean", False), ("amax", True), ("amin", False)):
    ENTRIES.append(OpInfo(
        f"index_reduce_{_reduce}", lambda x, s, r=_reduce, i=_self: cr.index_reduce(x, 0, cr.tensor(_ROWS), s, r,
                                                                                   include_self=i),
        [Sample((_X2, arrays((4, 6), seed=67)[0]))], lambda x, s, r=_reduce, i=_self: _index_reduce(x, _ROWS, s, r, i),
        covers=("index_reduce",)))
