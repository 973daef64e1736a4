"""Op database entries: scans, order statistics, NaN-ignoring reductions and counts (see opdb/__init__.py).

Samples are random uniform draws, so no two entries tie: the selected position of a sort, median or running
maximum is stable under the small perturbations of finite differences. Ties, NaN and the index rules are
pinned by hand in tests/test_scan.py.
"""

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays, away_from
from .reduce import _with_zeros, samples


def _along(fn, x, axis):
    """``fn`` of each 1-D slice of ``x`` along ``axis``, a 0-d ``x`` read as one entry."""
    return fn(x.reshape(1), 0).reshape(()) if x.ndim == 0 else fn(x, axis)


def _cum_extreme_ref(x, axis, better):
    def run(a, ax):
        a = np.moveaxis(a, ax, -1)
        idx = np.zeros(a.shape, dtype=np.int64)
        for j in range(1, a.shape[-1]):
            prev = np.take_along_axis(a, idx[..., j - 1:j], -1)[..., 0]
            idx[..., j] = np.where(better(a[..., j], prev), j, idx[..., j - 1])
        return np.moveaxis(idx, -1, ax)
    idx = _along(run, x, axis)
    return _along(lambda a, ax: np.take_along_axis(a, run(a, ax), ax), x, axis), idx


def _lcse(x, axis):
    return _along(lambda a, ax: np.logaddexp.accumulate(a, axis=ax), x, axis)


def _at_rank_ref(x, axis, rank, keepdims=False):
    x1 = x.reshape(1) if x.ndim == 0 else x
    order = np.argsort(x1, axis, kind="stable")
    idx = np.take(order, [rank(x1.shape[axis])], axis)
    values = np.take_along_axis(x1, idx, axis)
    if not keepdims or x.ndim == 0:
        idx, values = idx.squeeze(axis), values.squeeze(axis)
    return values, idx


def _median_all(x):
    flat = np.sort(x.ravel())
    return flat[(flat.size - 1) // 2]


def _mode_ref(x, axis):
    # distinct entries: the mode is the smallest value, at its only position
    return np.min(x, axis), np.argmin(x, axis)


def _trapezoid_ref(y, x=None, dx=1.0, axis=-1):
    if x is None:
        return np.trapezoid(y, dx=dx, axis=axis)
    return np.trapezoid(y, x, axis=axis)


_x34, _x234, _x5 = arrays((3, 4), (2, 3, 4), (5,), seed=11)
_y34 = away_from(arrays((3, 4), seed=12)[0], margin=0.3)
_x34nan = _x34.copy()
_x34nan[1, 2] = np.nan
_q = np.array([0.1, 0.5, 0.93])

ENTRIES = [
    OpInfo("cumprod", lambda x: cr.cumprod(x, -1), samples([(3, 4), (2, 3, 4), (), (1,), (3, 0)]),
           lambda x: np.cumprod(x, -1) if x.ndim else x),
    # zeros: one, two and three in a slice, in a row and apart (every branch of the rule, to second order)
    OpInfo("cumprod_zeros", lambda x: cr.cumprod(x, 1),
           [_with_zeros((1, 2)), _with_zeros((0, 0), (0, 2), (2, 1)), _with_zeros((1, 3)),
            _with_zeros((0, 1), (0, 2), (1, 0), (1, 3), (2, 0), (2, 1), (2, 2))],
           lambda x: np.cumprod(x, 1)),
    OpInfo("cummax", lambda x: cr.cummax(x, -1), samples([(3, 4), (2, 3, 4), (), (1,), (3, 0)]),
           lambda x: _cum_extreme_ref(x, -1, np.greater_equal)),
    OpInfo("cummin", lambda x: cr.cummin(x, 0), samples([(3, 4), (2, 3, 4), ()]),
           lambda x: _cum_extreme_ref(x, 0, np.less_equal)),
    OpInfo("logcumsumexp", lambda x: cr.logcumsumexp(x, -1), samples([(3, 4), (2, 3, 4), (), (1,), (3, 0)]),
           lambda x: _lcse(x, -1)),
    OpInfo("logcumsumexp_wide", lambda x: cr.logcumsumexp(x, 0), samples([(5, 2)], low=-300.0, high=300.0),
           lambda x: _lcse(x, 0), atol=1e-4),
    OpInfo("median", cr.median, samples([(3, 4), (2, 3, 4), (), (1,)]), _median_all),
    OpInfo("median_dim", lambda x: cr.median(x, 1, keepdim=True), samples([(3, 4), (2, 3, 4), (3, 1)]),
           lambda x: _at_rank_ref(x, 1, lambda n: (n - 1) // 2, keepdims=True)),
    OpInfo("nanmedian", lambda x: cr.nanmedian(x, -1), samples([(3, 4), (2, 3, 5), ()]),
           lambda x: _at_rank_ref(x, -1, lambda n: (n - 1) // 2)),
    OpInfo("nanmedian_all", cr.nanmedian, samples([(3, 4), ()]), _median_all),
    OpInfo("kthvalue", lambda x: cr.kthvalue(x, 2, 0), samples([(3, 4), (2, 3, 4), (2,)]),
           lambda x: _at_rank_ref(x, 0, lambda n: 1)),
    OpInfo("mode", lambda x: cr.mode(x, -1), samples([(3, 4), (2, 3, 4), (), (1,)]),
           lambda x: _along(_mode_ref, x, -1) if x.ndim else (x, np.array(0))),
    OpInfo("quantile", lambda x: cr.quantile(x, 0.3), samples([(3, 4), (2, 3, 4), (), (1,)]),
           lambda x: np.quantile(x, 0.3)),
    OpInfo("quantile_dim_q_tensor", lambda x, q: cr.quantile(x, q, 1, keepdim=True),
           [Sample((_x34, _q)), Sample((_x234, _q[:1]))],
           lambda x, q: np.quantile(x, q, axis=1, keepdims=True)),
    *[OpInfo(f"quantile_{method}", lambda x, m=method: cr.quantile(x, 0.4, -1, interpolation=m),
             samples([(3, 4), (2, 6)]), lambda x, m=method: np.quantile(x, 0.4, axis=-1, method=m))
      for method in ("lower", "higher", "midpoint", "nearest")],
    OpInfo("nanquantile", lambda x: cr.nanquantile(x, 0.6, 1), [Sample((_x34,)), Sample((_x34nan,))],
           lambda x: np.nanquantile(x, 0.6, axis=1)),
    OpInfo("histc", lambda x: cr.histc(x, 5), samples([(3, 4), (7,), ()]),
           lambda x: np.histogram(x, 5, (x.min(), x.max()))[0].astype(float) if x.ndim else
           np.histogram(x, 5, (x - 1, x + 1))[0].astype(float), differentiable=False),
    OpInfo("bincount", lambda i, w: cr.bincount(i, w, minlength=6),
           [Sample((np.array([1, 4, 1, 0, 2]), _x5)), Sample((np.array([], int), np.zeros(0)))],
           lambda i, w: np.bincount(i, w, minlength=6)),
    OpInfo("bincount_counts", cr.bincount, [Sample((np.array([1, 4, 1, 0, 2]),))], np.bincount,
           differentiable=False),
    OpInfo("diff", cr.diff, samples([(3, 4), (2, 3, 4), (1,), (3, 0)]), np.diff),
    OpInfo("diff_n_prepend_append", lambda x, p, a: cr.diff(x, 2, 0, p, a),
           [Sample(arrays((3, 4), (1, 4), (2, 4), seed=3))],
           lambda x, p, a: np.diff(x, 2, 0, p, a)),
    OpInfo("trapezoid", cr.trapezoid, samples([(3, 4), (2, 3, 4), (1,), (3, 0)]), _trapezoid_ref,
           covers=("trapz",)),
    OpInfo("trapezoid_x", lambda y, x: cr.trapezoid(y, x, dim=0), [Sample(arrays((3, 4), (3,), seed=4)),
                                                                   Sample(arrays((3, 4), (3, 4), seed=5))],
           lambda y, x: np.trapezoid(y, x, axis=0)),
    OpInfo("cumulative_trapezoid", lambda y, x: cr.cumulative_trapezoid(y, x, dim=0),
           [Sample(arrays((3, 4), (3,), seed=6)), Sample(arrays((4, 2), (4, 2), seed=7))],
           lambda y, x: np.cumsum((np.diff(x, axis=0).reshape((-1,) + (1,) * (y.ndim - 1)) if x.ndim == 1 else
                                   np.diff(x, axis=0)) * (y[1:] + y[:-1]) / 2, 0)),
    OpInfo("cumulative_trapezoid_dx", lambda y: cr.cumulative_trapezoid(y, dx=2.0),
           samples([(3, 4), (1,), (3, 0)]), lambda y: np.cumsum((y[..., 1:] + y[..., :-1]), -1)),
    OpInfo("trapezoid_dx", lambda y: cr.trapezoid(y, dx=0.5, dim=1), samples([(3, 4)]),
           lambda y: np.trapezoid(y, dx=0.5, axis=1)),
    # reductions added with these (ops/reduce.py)
    OpInfo("nansum", lambda x: cr.nansum(x, 1), [Sample((_x34,)), Sample((_x34nan,)), Sample((_x234,))],
           lambda x: np.nansum(x, 1)),
    OpInfo("nanmean", cr.nanmean, [Sample((_x34,)), Sample((_x34nan,)), Sample((_x5[:1],))], np.nanmean),
    OpInfo("var_mean", lambda x: cr.var_mean(x, 1, correction=0), samples([(3, 4), (2, 3, 4)]),
           lambda x: (np.var(x, 1), np.mean(x, 1))),
    OpInfo("std_mean", lambda x: cr.std_mean(x, keepdim=True), samples([(3, 4), (2,)]),
           lambda x: (np.std(x, ddof=1, keepdims=True), np.mean(x, keepdims=True))),
    OpInfo("aminmax", lambda x: cr.aminmax(x, dim=-1), samples([(3, 4), (2, 3, 4), (1,)]),
           lambda x: (np.min(x, -1), np.max(x, -1)), twice=False),
    OpInfo("aminmax_all", cr.aminmax, samples([(3, 4), ()]), lambda x: (np.min(x), np.max(x)), twice=False),
    OpInfo("count_nonzero", lambda x: cr.count_nonzero(x, (0, 1)),
           [Sample((np.array([[0.0, 1.0], [2.0, 0.0]]),)), Sample((np.zeros((0, 2)),))],
           lambda x: np.count_nonzero(x, (0, 1)), differentiable=False),
]
