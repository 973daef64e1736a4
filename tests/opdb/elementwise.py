"""Op database entries: unary elementwise ops (see opdb/__init__.py)."""

import math

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays, away_from

SHAPES = [(3, 4), (), (1,), (0, 2), (2, 1, 3)]


def samples(low=-2.0, high=2.0, kinks=None, seed=0):
    out = []
    for i, s in enumerate(SHAPES):
        (x,) = arrays(s, low=low, high=high, seed=seed + i)
        if kinks is not None:
            x = away_from(x, kinks)
        out.append(Sample((x,)))
    return out


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


_erf = np.vectorize(math.erf, otypes=[float])

ENTRIES = [
    OpInfo("neg", cr.neg, samples(), np.negative, covers=("negative",)),
    OpInfo("exp", cr.exp, samples(), np.exp),
    OpInfo("exp2", cr.exp2, samples(), np.exp2),
    OpInfo("log", cr.log, samples(0.2, 3.0), np.log),
    OpInfo("log2", cr.log2, samples(0.2, 3.0), np.log2),
    OpInfo("log10", cr.log10, samples(0.2, 3.0), np.log10),
    OpInfo("log1p", cr.log1p, samples(-0.5, 3.0), np.log1p),
    OpInfo("expm1", cr.expm1, samples(), np.expm1),
    OpInfo("sqrt", cr.sqrt, samples(0.2, 3.0), np.sqrt),
    OpInfo("rsqrt", cr.rsqrt, samples(0.2, 3.0), lambda x: 1 / np.sqrt(x)),
    OpInfo("reciprocal", cr.reciprocal, samples(0.3, 3.0), np.reciprocal),
    OpInfo("square", cr.square, samples(), np.square),
    OpInfo("abs", cr.abs, samples(kinks=(0.0,)), np.abs, twice=False),
    OpInfo("sign", cr.sign, samples(kinks=(0.0,)), np.sign, twice=False),
    OpInfo("sin", cr.sin, samples(), np.sin),
    OpInfo("cos", cr.cos, samples(), np.cos),
    OpInfo("tan", cr.tan, samples(-1.2, 1.2), np.tan),
    OpInfo("tanh", cr.tanh, samples(), np.tanh),
    OpInfo("sigmoid", cr.sigmoid, samples(), _sigmoid),
    OpInfo("erf", cr.erf, samples(), _erf),
    OpInfo("relu", cr.relu, samples(kinks=(0.0,)), lambda x: np.maximum(x, 0), twice=False),
    OpInfo("leaky_relu", lambda x: cr.leaky_relu(x, 0.2), samples(kinks=(0.0,)),
           lambda x: np.where(x > 0, x, 0.2 * x), twice=False),
    OpInfo("elu", lambda x: cr.elu(x, 1.5), samples(kinks=(0.0,)), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x)),
           twice=False),
    OpInfo("gelu", cr.gelu, samples(), lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    OpInfo("gelu_tanh", lambda x: cr.gelu(x, approximate="tanh"), samples(),
           lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    OpInfo("silu", cr.silu, samples(), lambda x: x * _sigmoid(x)),
    OpInfo("softplus", cr.softplus, samples(-5, 5), lambda x: np.log1p(np.exp(x))),
    OpInfo("clamp", lambda x: cr.clamp(x, -0.5, 1.0), samples(kinks=(-0.5, 1.0)), lambda x: np.clip(x, -0.5, 1.0),
           twice=False, covers=("clip",)),
    OpInfo("clamp_tensor_bounds", lambda x, lo: cr.clamp(x, min=lo), [Sample(tuple(away_from(a, (0.0,)) for a in arrays(
        (3, 4), (4,))))], None, twice=False),
    OpInfo("floor", cr.floor, samples(kinks=(-1.0, 0.0, 1.0)), np.floor, twice=False),
    OpInfo("ceil", cr.ceil, samples(kinks=(-1.0, 0.0, 1.0)), np.ceil, twice=False),
    OpInfo("trunc", cr.trunc, samples(kinks=(-1.0, 0.0, 1.0)), np.trunc, twice=False),
    OpInfo("round", cr.round, samples(kinks=(-1.5, -0.5, 0.5, 1.5)), np.round, twice=False),
]

for _name, _ref in (("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite)):
    ENTRIES.append(OpInfo(_name, getattr(cr, _name),
                          [Sample((np.array([1.0, np.nan, np.inf, -np.inf]),), grad=(False,))], _ref,
                          differentiable=False))
ENTRIES.append(OpInfo("logical_not", cr.logical_not, [Sample((np.array([True, False]),))], np.logical_not,
                      differentiable=False))
