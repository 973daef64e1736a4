"""Op database entries: ops/aliases.py (absolute, fix, negative, rsub, not_equal, positive, clamp_min, clamp_max,
dist, renorm; mvlgamma's entry is special.multigammaln's) and ops/statistics.py (cov, corrcoef); see
opdb/__init__.py."""

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays, away_from
from .elementwise import samples


def _cov(x, ddof=1, fweights=None, aweights=None):
    out = np.cov(x, ddof=ddof, fweights=fweights, aweights=aweights)
    return np.reshape(out, (1, 1)) if x.ndim == 2 and x.shape[0] == 1 else out  # NOTE: numpy squeezes one variable


def _observations():
    (x,) = arrays((3, 6), seed=30)
    (y,) = arrays((5,), seed=31)
    return [Sample((x,)), Sample((y,)), Sample((x[:1],))]


def _renorm(x, p, dim, maxnorm):
    axes = tuple(k for k in range(x.ndim) if k != dim)
    norms = (np.abs(x) ** p).sum(axis=axes, keepdims=True) ** (1 / p)
    return x * np.where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)


_X, _Y = arrays((3, 4), (4,), seed=32)

ENTRIES = [
    OpInfo("fix", cr.fix, samples(kinks=(-1.0, 0.0, 1.0)), np.trunc),
    OpInfo("not_equal", cr.not_equal, [Sample((away_from(_X), away_from(_Y)), grad=(False, False))], np.not_equal,
           differentiable=False),
    OpInfo("positive", cr.positive, samples(), lambda x: x),
    OpInfo("negative", cr.negative, samples(), np.negative),
    OpInfo("absolute", cr.absolute, samples(kinks=(0.0,)), np.abs),
    OpInfo("rsub", lambda x, y: cr.rsub(x, y, alpha=2), [Sample((_X, _Y))], lambda x, y: y - 2 * x),
    OpInfo("rsub_number", lambda x: cr.rsub(x, 5.0), samples(), lambda x: 5.0 - x, covers=("rsub",)),
    OpInfo("clamp_min", lambda x: cr.clamp_min(x, 0.5), samples(kinks=(0.5,)), lambda x: np.maximum(x, 0.5)),
    OpInfo("clamp_max", lambda x: cr.clamp_max(x, 0.5), samples(kinks=(0.5,)), lambda x: np.minimum(x, 0.5)),
    OpInfo("clamp_min_tensor", cr.clamp_min, [Sample((_X, _Y + 3.0))], np.maximum, covers=("clamp_min",)),
    OpInfo("dist", cr.dist, [Sample((_X, _Y)), Sample(arrays((2, 1), (3,), seed=33))],
           lambda x, y: np.sqrt(((x - y) ** 2).sum())),
    OpInfo("dist_p3", lambda x, y: cr.dist(x, y, 3), [Sample((_X, _Y))],
           lambda x, y: (np.abs(x - y) ** 3).sum() ** (1 / 3), covers=("dist",)),
    OpInfo("renorm", lambda x: cr.renorm(x, 2, 0, 1.5), [Sample((_X,)), Sample(arrays((2, 3, 2), seed=34))],
           lambda x: _renorm(x, 2, 0, 1.5)),
    OpInfo("renorm_p1_dim1", lambda x: x.renorm(1, 1, 2.0), [Sample((_X,))], lambda x: _renorm(x, 1, 1, 2.0),
           covers=("renorm",)),
    OpInfo("cov", cr.cov, _observations(), _cov),
    OpInfo("cov_weighted", lambda x: cr.cov(x, correction=0, fweights=cr.tensor([1, 2, 1, 3, 1, 2]),
                                            aweights=cr.tensor([0.5, 1.0, 2.0, 1.5, 0.3, 1.0], dtype=cr.float64)),
           _observations()[:1],
           lambda x: _cov(x, 0, np.array([1, 2, 1, 3, 1, 2]), np.array([0.5, 1.0, 2.0, 1.5, 0.3, 1.0])),
           covers=("cov",)),
    OpInfo("corrcoef", cr.corrcoef, _observations()[:1], np.corrcoef),
]
