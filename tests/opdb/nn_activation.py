"""Op database entries: the activation functions of ``chainrule.nn.functional`` added for issue 12.

Piecewise ones get inputs kept 0.15 away from their kinks (finite differences hold there); the in-place forms
share two entries (chainrule's vmap refuses in-place writes involving batched tensors: tests/func/test_vmap.py REFUSED).
"""

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

from . import OpInfo, Sample, arrays
from .nn_functional import _sigmoid, kinked, np_softplus, one

SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def np_elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def np_softmax(x, dim):
    e = np.exp(x - x.max(dim, keepdims=True))
    return e / e.sum(dim, keepdims=True)


def np_log_sigmoid(x):
    return -np.logaddexp(0, -x)


def _stacked(forms):
    """Each in-place functional form on its own copy of ``x``, stacked."""
    return lambda x: cr.stack([form(x * 1.0) for form in forms])


PIECEWISE_LINEAR_INPLACE = _stacked([F.relu_, F.leaky_relu_, F.hardtanh_, lambda t: F.threshold_(t, 0.5, -1.0),
                                     lambda t: F.rrelu_(t, 0.1, 0.3)])
SMOOTH_INPLACE = _stacked([F.elu_, lambda t: F.celu_(t, 2.0), F.selu_])


def np_piecewise_linear_inplace(x):
    return np.stack([np.maximum(x, 0), np.where(x > 0, x, 0.01 * x), np.clip(x, -1, 1), np.where(x > 0.5, x, -1.0),
                     np.where(x > 0, x, 0.2 * x)])


def np_smooth_inplace(x):
    return np.stack([np_elu(x), 2 * np_elu(x / 2), SELU_SCALE * np_elu(x, SELU_ALPHA)])


ENTRIES = [
    one("relu6", F.relu6, (kinked((3, 4), 100, (0.0, 6.0), low=-2, high=8),), lambda x: np.clip(x, 0, 6)),
    one("hardtanh", lambda x: F.hardtanh(x, -0.5, 1.5), (kinked((3, 4), 101, (-0.5, 1.5)),),
        lambda x: np.clip(x, -0.5, 1.5)),
    one("hardsigmoid", F.hardsigmoid, (kinked((3, 4), 102, (-3.0, 3.0), low=-5, high=5),),
        lambda x: np.clip(x / 6 + 0.5, 0, 1)),
    one("hardswish", F.hardswish, (kinked((3, 4), 103, (-3.0, 3.0), low=-5, high=5),),
        lambda x: x * np.clip(x + 3, 0, 6) / 6),
    one("selu", F.selu, (kinked((3, 4), 104),), lambda x: SELU_SCALE * np_elu(x, SELU_ALPHA)),
    one("celu", lambda x: F.celu(x, 0.5), (kinked((3, 4), 105),), lambda x: 0.5 * np_elu(x / 0.5)),
    one("glu", F.glu, arrays((3, 4), seed=106), lambda x: x[:, :2] * _sigmoid(x[:, 2:])),
    one("glu:dim0", lambda x: F.glu(x, 0), arrays((4, 3), seed=107), lambda x: x[:2] * _sigmoid(x[2:])),
    one("mish", F.mish, arrays((3, 4), low=-4, high=4, seed=108), lambda x: x * np.tanh(np_softplus(x))),
    one("logsigmoid", F.logsigmoid, arrays((3, 4), low=-5, high=5, seed=109), np_log_sigmoid),
    one("softsign", F.softsign, (kinked((3, 4), 110),), lambda x: x / (1 + np.abs(x))),
    one("softshrink", lambda x: F.softshrink(x, 0.7), (kinked((3, 4), 111, (-0.7, 0.7)),),
        lambda x: np.where(x > 0.7, x - 0.7, np.where(x < -0.7, x + 0.7, 0.0))),
    one("hardshrink", F.hardshrink, (kinked((3, 4), 112, (-0.5, 0.5)),),
        lambda x: np.where(np.abs(x) > 0.5, x, 0.0)),
    one("tanhshrink", F.tanhshrink, arrays((3, 4), seed=113), lambda x: x - np.tanh(x)),
    one("threshold", lambda x: F.threshold(x, 0.3, -2.0), (kinked((3, 4), 114, (0.3,)),),
        lambda x: np.where(x > 0.3, x, -2.0)),
    one("prelu", F.prelu, ((kinked((2, 3, 4), 115)), *arrays((3,), low=0.1, high=0.5, seed=116)),
        lambda x, w: np.where(x > 0, x, w[:, None] * x)),
    one("prelu:shared_1d", F.prelu, ((kinked((5,), 117)), *arrays((1,), low=0.1, high=0.5, seed=118)),
        lambda x, w: np.where(x > 0, x, w * x)),
    # NOTE: rrelu in training draws random slopes; its evaluation form (the mean slope) is checked here and the
    # random one in tests/nn/test_activations.py.
    one("rrelu", lambda x: F.rrelu(x, 0.1, 0.3), (kinked((3, 4), 119),), lambda x: np.where(x > 0, x, 0.2 * x)),
    one("softmin", lambda x: F.softmin(x, dim=1), arrays((2, 3, 4), seed=120), lambda x: np_softmax(-x, 1)),
    OpInfo("F.inplace_forms", PIECEWISE_LINEAR_INPLACE, [Sample((kinked((3, 4), 121, (0.0, 0.5, -1.0, 1.0)),))],
           np_piecewise_linear_inplace,
           covers=tuple(f"F.{name}_" for name in ("relu", "leaky_relu", "hardtanh", "threshold", "rrelu"))),
    OpInfo("F.inplace_forms_smooth", SMOOTH_INPLACE, [Sample((kinked((3, 4), 123),))], np_smooth_inplace,
           covers=tuple(f"F.{name}_" for name in ("elu", "celu", "selu"))),
]

# NOTE: random Gumbel noise: with the generator re-seeded inside, every call sees the same noise, so the
# derivatives are checked; the forward reference recomputes that noise (vmap refuses random ops by default).
_U = np.random.Generator(np.random.PCG64(5)).random((3, 4))


def _gumbel(x):
    cr.manual_seed(5)
    return F.gumbel_softmax(x, tau=0.5)


ENTRIES.append(one("gumbel_softmax", _gumbel, arrays((3, 4), seed=122),
                   lambda x: np_softmax((x - np.log(-np.log(1 - _U))) / 0.5, -1)))
