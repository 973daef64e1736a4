"""Op database entries: reductions and the running sum (see opdb/__init__.py).

Samples are random uniform draws, so maxima and minima are untied (their derivative is defined); the tie rules
are checked against hand values in tests/test_reduce_shape.py.
"""

import math

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays, away_from

SHAPES = [(3, 4), (2, 3, 4), (), (1,), (0, 3)]
NONEMPTY = SHAPES[:4]


def samples(shapes, seed=0, **kwargs):
    return [Sample(arrays(s, seed=seed + i, **kwargs)) for i, s in enumerate(shapes)]


def _with_zeros(*positions):
    """A (3, 4) sample with zeros at ``positions`` (up to three in a row, to reach every branch of prod's rule)."""
    (x,) = arrays((3, 4), seed=7)
    x = away_from(x)
    for p in positions:
        x[p] = 0.0
    return Sample((x,))


def _lse(x, axis, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def _pnorm(x, p, axis=None, keepdims=False):
    return np.sum(np.abs(x) ** p, axis=axis, keepdims=keepdims) ** (1 / p)


ENTRIES = [
    OpInfo("sum", cr.sum, samples(SHAPES), np.sum),
    OpInfo("sum_dim", lambda x: cr.sum(x, 1), [Sample(arrays((3, 4))), Sample(arrays((2, 3, 4)))],
           lambda x: np.sum(x, 1)),
    OpInfo("sum_dims_keepdim", lambda x: cr.sum(x, (0, -1), keepdim=True), [Sample(arrays((2, 3, 4)))],
           lambda x: np.sum(x, (0, -1), keepdims=True)),
    OpInfo("mean", cr.mean, samples(NONEMPTY), np.mean),
    OpInfo("mean_dim", lambda x: cr.mean(x, -1, keepdim=True), samples([(3, 4), (0, 3)]),
           lambda x: np.mean(x, -1, keepdims=True)),
    # prod: a polynomial, so every sample (zeros included) is smooth and second derivatives are checked.
    OpInfo("prod", cr.prod, samples(SHAPES) + [_with_zeros((1, 2)), _with_zeros((0, 1), (2, 3))], np.prod),
    OpInfo("prod_dim", lambda x: cr.prod(x, 1, keepdim=True),
           samples([(3, 4), (2, 3, 4), (0, 3)])
           + [_with_zeros((1, 2)), _with_zeros((0, 0), (0, 1), (0, 3), (1, 0), (1, 3), (2, 2))],
           lambda x: np.prod(x, 1, keepdims=True)),
    OpInfo("max", cr.max, samples(NONEMPTY), np.max, twice=False),
    OpInfo("max_dim", lambda x: cr.max(x, -1), samples([(3, 4), (2, 3, 4), (), (0, 3)]),
           lambda x: (np.max(x, -1), np.argmax(x, -1)) if x.ndim else (x, np.array(0)), twice=False),
    OpInfo("min", cr.min, samples(NONEMPTY), np.min, twice=False),
    OpInfo("min_dim_keepdim", lambda x: cr.min(x, 0, keepdim=True), samples([(3, 4), (1,)]),
           lambda x: (np.min(x, 0, keepdims=True), np.argmin(x, 0, keepdims=True)), twice=False),
    OpInfo("amax", lambda x: cr.amax(x, (0, -1)), samples([(3, 4), (2, 3, 4), (1, 1)]),
           lambda x: np.amax(x, (0, -1)), twice=False),
    OpInfo("amax_all", cr.amax, samples(NONEMPTY), np.amax, twice=False),
    OpInfo("amin", lambda x: cr.amin(x, 1, keepdim=True), samples([(3, 4), (2, 3, 4), (0, 3)]),
           lambda x: np.amin(x, 1, keepdims=True), twice=False),
    OpInfo("argmax", lambda x: cr.argmax(x, 1), samples([(3, 4), (2, 3, 4), (0, 3)]),
           lambda x: np.argmax(x, 1), differentiable=False),
    OpInfo("argmax_flat", cr.argmax, samples(NONEMPTY), np.argmax, differentiable=False),
    OpInfo("argmin", lambda x: cr.argmin(x, -1, keepdim=True), samples([(3, 4), (1,)]),
           lambda x: np.argmin(x, -1, keepdims=True), differentiable=False),
    OpInfo("var", cr.var, samples([(3, 4), (2, 3, 4), (2,)]), lambda x: np.var(x, ddof=1)),
    OpInfo("var_dims_correction", lambda x: cr.var(x, (0, 2), correction=0, keepdim=True),
           samples([(2, 3, 4), (1, 2, 1)]), lambda x: np.var(x, (0, 2), ddof=0, keepdims=True)),
    OpInfo("std", lambda x: cr.std(x, 1), samples([(3, 4), (2, 3, 4), (0, 2)]),
           lambda x: np.std(x, 1, ddof=1)),
    OpInfo("std_unbiased_false", lambda x: cr.std(x, unbiased=False), samples([(3, 4), (1,)]),
           lambda x: np.std(x)),
    OpInfo("logsumexp", lambda x: cr.logsumexp(x, 1), samples([(3, 4), (2, 3, 4), (0, 3)]),
           lambda x: _lse(x, 1)),
    OpInfo("logsumexp_dims", lambda x: cr.logsumexp(x, (0, -1), keepdim=True),
           samples([(2, 3, 4), (2, 1, 3)]), lambda x: _lse(x, (0, -1), keepdims=True)),
    OpInfo("logsumexp_0d", lambda x: cr.logsumexp(x, 0), samples([()]), lambda x: x),
    OpInfo("norm", cr.norm, samples(SHAPES[:2] + [(1,), (0, 3)]), lambda x: np.sqrt(np.sum(x * x))),
    OpInfo("norm_p3_dim", lambda x: cr.norm(x, 3, 1, keepdim=True), samples([(3, 4), (2, 3, 4)]),
           lambda x: _pnorm(x, 3, 1, keepdims=True)),
    OpInfo("norm_p_half", lambda x: cr.norm(x, 0.5, (0, 1)), [Sample((away_from(arrays((3, 4))[0]),))],
           lambda x: _pnorm(x, 0.5, (0, 1))),
    OpInfo("norm_p1", lambda x: cr.norm(x, 1, -1), [Sample((away_from(arrays((3, 4))[0]),))],
           lambda x: np.sum(np.abs(x), -1), twice=False),
    OpInfo("norm_inf", lambda x: cr.norm(x, math.inf, 0), samples([(3, 4), (1, 2)]),
           lambda x: np.max(np.abs(x), 0), twice=False),
    OpInfo("norm_p0", lambda x: cr.norm(x, 0), [Sample((away_from(arrays((3, 4))[0]),))],
           lambda x: np.count_nonzero(x).astype(float), twice=False),
    OpInfo("cumsum", lambda x: cr.cumsum(x, -1), samples([(3, 4), (2, 3, 4), (), (1,), (3, 0)]),
           lambda x: np.cumsum(x, -1) if x.ndim else x),
    OpInfo("all", lambda x: cr.all(x, 1), [Sample((np.array([[1.0, 0.0], [2.0, -1.0]]),), grad=(False,)),
                                           Sample((np.array([[True, True], [False, True]]),))],
           lambda x: np.all(x, 1), differentiable=False),
    OpInfo("any", cr.any, [Sample((np.array([[0.0, 0.0], [2.0, 0.0]]),), grad=(False,)),
                           Sample((np.zeros((0, 2), dtype=bool),))], np.any, differentiable=False),
]
