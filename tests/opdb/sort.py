"""Op database entries: sorting, searching and the scatter/index families (see opdb/__init__.py).

Samples are random uniform draws, so no two entries tie and the sort order is stable under finite
differences. Ties, NaN ordering, dtypes and errors are pinned by hand in tests/test_sort.py.
"""

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays


def samples(shapes, seed=0):
    return [Sample(arrays(s, seed=seed + i)) for i, s in enumerate(shapes)]


def _sort_ref(x, axis=-1, descending=False):
    if x.ndim == 0:
        return x, np.array(0)
    idx = np.argsort(-x if descending else x, axis, kind="stable")
    return np.take_along_axis(x, idx, axis), idx


def _topk_ref(x, k, axis=-1, largest=True):
    values, idx = _sort_ref(x, axis, largest)
    if x.ndim == 0:
        return values, idx
    return np.take(values, range(k), axis), np.take(idx, range(k), axis)


def _mesh(index, dim):
    dim %= max(index.ndim, 1)
    return tuple(index if k == dim else np.arange(s).reshape((s,) + (1,) * (index.ndim - k - 1))
                 for k, s in enumerate(index.shape))


def _scatter_ref(x, dim, index, src):
    out = x.copy()
    out[_mesh(index, dim)] = src[tuple(slice(0, s) for s in index.shape)]
    return out


_REDUCE = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def _scatter_reduce_ref(x, dim, index, src, reduce, include_self):
    if x.ndim == 0:  # torch reads a 0-d input (and index, src) as 1-d of one element
        return _scatter_reduce_ref(x.reshape(1), 0, index.reshape(1), src.reshape(1), reduce,
                                   include_self).reshape(())
    out = x.copy()
    key = _mesh(index, dim)
    src = src[tuple(slice(0, s) for s in index.shape)]
    if not include_self:
        out[key] = {"sum": 0, "mean": 0, "prod": 1, "amax": -np.inf, "amin": np.inf}[reduce]
    if reduce == "mean":
        count = np.zeros(x.shape) + include_self
        np.add.at(count, key, 1)
        np.add.at(out, key, src)
        return np.where(count > 0, out / np.maximum(count, 1), x)
    _REDUCE[reduce].at(out, key, src)
    return out


def _index_add_ref(x, dim, index, source, alpha=1.0):
    out = np.moveaxis(x.copy(), dim, 0)
    np.add.at(out, index, alpha * np.moveaxis(source, dim, 0))
    return np.moveaxis(out, 0, dim)


def _index_copy_ref(x, dim, index, source):
    out = np.moveaxis(x.copy(), dim, 0)
    out[index] = np.moveaxis(source, dim, 0)
    return np.moveaxis(out, 0, dim)


def _index_fill_ref(x, dim, index, value):
    out = np.moveaxis(x.copy(), dim, 0)
    out[index] = value
    return np.moveaxis(out, 0, dim)


def _index_put_ref(x, i, j, values, accumulate):
    out = x.copy()
    if accumulate:
        np.add.at(out, (i, j), values)
    else:
        out[i, j] = values
    return out


def _masked_scatter_ref(x, mask, source):
    out = np.broadcast_to(x, np.broadcast_shapes(x.shape, mask.shape)).copy()
    m = np.broadcast_to(mask, out.shape)
    out[m] = source.ravel()[:m.sum()]
    return out


_x34, _x234, _x0, _src34, _src234, _v0 = arrays((3, 4), (2, 3, 4), (), (3, 4), (2, 3, 4), (), seed=21)
_i34 = np.array([[2, 0, 2, 2], [1, 2, 0, 2]])  # repeats along dim 0
_seq = np.sort(arrays((6,), seed=22)[0])
_seq2 = np.sort(arrays((2, 5), seed=23)[0], -1)

ENTRIES = [
    OpInfo("sort", cr.sort, samples([(3, 4), (2, 3, 4), (), (1,), (0, 3), (3, 0)]), _sort_ref),
    OpInfo("sort_descending_dim0", lambda x: cr.sort(x, 0, descending=True), samples([(3, 4), (2, 3, 4)]),
           lambda x: _sort_ref(x, 0, True)),
    OpInfo("argsort", lambda x: cr.argsort(x, 1, descending=True), samples([(3, 4), (2, 3, 4)]),
           lambda x: _sort_ref(x, 1, True)[1], differentiable=False),
    OpInfo("msort", cr.msort, samples([(3, 4), (2, 3, 4), (1,)]), lambda x: np.sort(x, 0)),
    OpInfo("topk", lambda x: cr.topk(x, 2), samples([(3, 4), (2, 3, 4), (2,)]), lambda x: _topk_ref(x, 2)),
    OpInfo("topk_smallest_dim0", lambda x: cr.topk(x, 1, 0, largest=False), samples([(3, 4), ()]),
           lambda x: _topk_ref(x, 1, 0, False)),
    OpInfo("topk_zero", lambda x: cr.topk(x, 0), samples([(3, 4)]), lambda x: _topk_ref(x, 0)),
    OpInfo("unique", lambda x: cr.unique(x, return_inverse=True, return_counts=True),
           [Sample((np.array([[3, 1, 2], [1, 3, 3]]),)), Sample((np.array(4),)), Sample((np.zeros(0, int),))],
           lambda x: tuple(a.reshape(s) for a, s in zip(np.unique(x, return_inverse=True, return_counts=True),
                                                         [(-1,), x.shape, (-1,)])),
           differentiable=False),
    OpInfo("unique_dim", lambda x: cr.unique(x, dim=1, return_inverse=True),
           [Sample((np.array([[1, 0, 1, 0], [2, 5, 2, 5]]),))],
           lambda x: np.unique(x, axis=1, return_inverse=True), differentiable=False),
    OpInfo("unique_consecutive", lambda x: cr.unique_consecutive(x, return_counts=True),
           [Sample((np.array([1, 1, 2, 2, 3, 1, 1]),)), Sample((np.zeros(0, int),))],
           lambda x: (np.array([1, 2, 3, 1]), np.array([2, 2, 1, 2])) if x.size else (x, x),
           differentiable=False),
    OpInfo("searchsorted", lambda s, x: cr.searchsorted(s, x, right=True),
           [Sample((_seq, _x34)), Sample((_seq2, arrays((2, 3), seed=24)[0])), Sample((_seq, _x0))],
           lambda s, x: (np.searchsorted(s, x, "right") if s.ndim == 1 else
                         np.stack([np.searchsorted(a, b, "right") for a, b in zip(s, x)])),
           differentiable=False),
    OpInfo("bucketize", cr.bucketize, [Sample((_x34, _seq)), Sample((_x0, _seq))],
           lambda x, b: np.searchsorted(b, x), differentiable=False),
    # indexing family additions (ops/indexing.py)
    OpInfo("scatter", cr.scatter,
           [Sample((_x34, 0, np.array([[2, 0, 1, 2], [1, 2, 0, 0]]), _src34)),
            Sample((_x234, -1, np.array([[[3, 0], [1, 2]]]), _src234)), Sample((_x0, 0, np.array(0), _v0))],
           _scatter_ref),
    OpInfo("scatter_value", lambda x, dim, index: cr.scatter(x, dim, index, value=1.5),
           [Sample((_x34, 1, np.array([[3, 0], [1, 1]])))],
           lambda x, dim, index: _scatter_ref(x, dim, index, np.full(index.shape, 1.5))),
    *[OpInfo(f"scatter_reduce_{reduce}_{'self' if include_self else 'noself'}",
             lambda x, dim, index, src, r=reduce, s=include_self: cr.scatter_reduce(x, dim, index, src, r,
                                                                                     include_self=s),
             [Sample((_x34, 0, _i34, _src34)), Sample((_x234, 2, np.array([[[3, 3, 0]]]), _src234)),
              Sample((_x0, 0, np.array(0), _v0))],
             lambda x, dim, index, src, r=reduce, s=include_self: _scatter_reduce_ref(x, dim, index, src, r, s),
             twice=reduce not in ("amax", "amin"), covers=("scatter_reduce",))
      for reduce in ("sum", "prod", "mean", "amax", "amin") for include_self in (True, False)],
    OpInfo("scatter_multiply", lambda x, i, s: cr.scatter(x, 0, i, s, reduce="multiply"),
           [Sample((_x34, _i34, _src34))], lambda x, i, s: _scatter_reduce_ref(x, 0, i, s, "prod", True)),
    OpInfo("index_add", lambda x, i, s: cr.index_add(x, 1, i, s, alpha=2.0),
           [Sample((_x34, np.array([3, 0, 3]), arrays((3, 3), seed=25)[0]))],
           lambda x, i, s: _index_add_ref(x, 1, i, s, 2.0)),
    OpInfo("index_copy", lambda x, i, s: cr.index_copy(x, 0, i, s),
           [Sample((_x34, np.array([2, 0]), arrays((2, 4), seed=26)[0])),
            Sample((_x0, np.array([0]), _v0))],
           lambda x, i, s: _index_copy_ref(x, 0, i, s) if x.ndim else s),
    OpInfo("index_fill", lambda x, i, v: cr.index_fill(x, -1, i, v),
           [Sample((_x34, np.array([3, 1, 3]), _v0)), Sample((_x234, np.array(0), _v0))],
           lambda x, i, v: _index_fill_ref(x, x.ndim - 1, i, v)),
    *[OpInfo(f"index_put{'_accumulate' if acc else ''}",
             lambda x, i, j, v, a=acc: cr.index_put(x, (i, j), v, accumulate=a),
             [Sample((_x34, np.array([0, 2, 0]), np.array([1, 3, 2]), arrays((3,), seed=27)[0])),
              Sample((_x34, np.array([[2], [0]]), np.array([0, 1]), _v0))],
             lambda x, i, j, v, a=acc: _index_put_ref(x, i, j, v, a), covers=("index_put_",))
      for acc in (False, True)],
    OpInfo("masked_scatter", cr.masked_scatter,
           [Sample((_x34, _x34 > 0, arrays((12,), seed=28)[0])),
            Sample((_x34[0], np.array([[True], [False]]), _src34))],
           _masked_scatter_ref),
    OpInfo("take", cr.take, [Sample((_x34, np.array([[0, -1], [11, 0]]))), Sample((_x0, np.array(0)))],
           lambda x, i: np.take(x, i)),
    OpInfo("argwhere", cr.argwhere, [Sample((np.array([[0, 1, 0], [2, 0, 3]]),)), Sample((_x34 > 0,))],
           np.argwhere, differentiable=False),
]
