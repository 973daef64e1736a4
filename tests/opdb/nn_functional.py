"""Op database entries: ``chainrule.nn.functional`` (layers, pooling, normalisation, activations, losses).

Names are ``F.<function>`` (``covers`` names the public function an entry exercises), so they never collide
with the ``chainrule.ops`` entries of the same name; the meta-test in test_ops.py checks ``F.__all__``.
"""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import chainrule.nn.functional as F

from . import OpInfo, Sample, arrays, away_from, rng
from .losses import np_log_softmax, np_multi_margin


def labels(shape, classes, seed=0):
    return rng(seed).integers(0, classes, shape)


# -- NumPy references -------------------------------------------------------------------------------------

def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def np_windows(x, kernel, stride=1, padding=0, dilation=1, value=0.0):
    """(N, C, OH, OW, kh, kw): every window of the padded image."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(_pair, (kernel, stride, padding, dilation))
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)
    win = sliding_window_view(x, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))
    return win[:, :, ::sh, ::sw, ::dh, ::dw]


def np_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    if x.ndim == 3:
        return np_conv2d(x[None], w, b, stride, padding, dilation, groups)[0]
    win = np_windows(x, w.shape[2:], stride, padding, dilation)
    n, c, oh, ow, kh, kw = win.shape
    xg = win.reshape(n, groups, c // groups, oh, ow, kh, kw)
    wg = w.reshape(groups, w.shape[0] // groups, c // groups, kh, kw)
    out = np.einsum("ngchwij,gocij->ngohw", xg, wg).reshape(n, w.shape[0], oh, ow)
    return out if b is None else out + b[:, None, None]


def np_unfold(x, kernel, dilation=1, padding=0, stride=1):
    win = np_windows(x, kernel, stride, padding, dilation)
    n, c, oh, ow, kh, kw = win.shape
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)


def np_fold(cols, output_size, kernel, dilation=1, padding=0, stride=1):
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(_pair, (output_size, kernel, stride, padding, dilation))
    n = cols.shape[0]
    c = cols.shape[1] // (kh * kw)
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    blocks = cols.reshape(n, c, kh, kw, oh, ow)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            for p in range(oh):
                for q in range(ow):
                    out[:, :, p * sh + i * dh, q * sw + j * dw] += blocks[:, :, i, j, p, q]
    return out[:, :, ph:ph + h, pw:pw + w]


def np_max_pool2d(x, kernel, stride=None, padding=0, dilation=1):
    return np_windows(x, kernel, kernel if stride is None else stride, padding, dilation, -np.inf).max((-2, -1))


def np_avg_pool2d(x, kernel, stride=None, padding=0):
    """count_include_pad=True: padded zeros count in the divisor."""
    return np_windows(x, kernel, kernel if stride is None else stride, padding).mean((-2, -1))


def np_adaptive_avg_pool2d(x, size):
    (h, w), (oh, ow) = x.shape[-2:], size
    out = np.zeros(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = slice(i * h // oh, -(-(i + 1) * h // oh))
            cols = slice(j * w // ow, -(-(j + 1) * w // ow))
            out[..., i, j] = x[..., rows, cols].mean((-2, -1))
    return out


def np_normalize(x, axes, eps=1e-5):
    mean = x.mean(axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axes, keepdims=True) + eps)


def np_batch_norm_train(x, w, b):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return np_normalize(x, (0,) + tuple(range(2, x.ndim))) * w.reshape(shape) + b.reshape(shape)


def np_batch_norm_eval(x, mean, var, w, b):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + 1e-5) * w.reshape(shape) + b.reshape(shape)


def np_nll(logp, t, weight=None, reduction="mean", ignore_index=-100):
    cdim = 0 if logp.ndim == 1 else 1
    classes = logp.shape[cdim]
    w = np.ones(classes) if weight is None else weight
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    picked = np.take_along_axis(logp, np.expand_dims(safe, cdim), cdim).squeeze(cdim)
    tw = w[safe] * valid
    loss = -picked * tw
    if reduction == "mean":
        return loss.sum() / tw.sum()
    return loss.sum() if reduction == "sum" else loss


def np_cross_entropy_probs(x, p, reduction="mean"):
    cdim = 0 if x.ndim == 1 else 1
    loss = -(np_log_softmax(x, cdim) * p).sum(cdim)
    if reduction == "mean":
        return loss.sum() / (x.size // x.shape[cdim])
    return loss.sum() if reduction == "sum" else loss


def np_smooth_l1(d, beta):
    a = np.abs(d)
    return np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)


def np_softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


_erf = np.vectorize(math.erf, otypes=[float])


def one(name, fn, args, ref=None, **flags):
    """An entry with one sample, covering the public ``F.<name>`` (``name`` may carry a ``:variant``)."""
    public = name.split(":")[0]
    return OpInfo("F." + name.replace(":", "_"), fn, [Sample(tuple(args))], ref, covers=("F." + public,), **flags)


def kinked(shape, seed, points=(0.0,), low=-2.0, high=2.0):
    (x,) = arrays(shape, low=low, high=high, seed=seed)
    return away_from(x, points, margin=0.15)


# -- layers ---------------------------------------------------------------------------------------------

LAYERS = [
    one("linear", F.linear, arrays((3, 4), (2, 4), (2,), seed=1), lambda x, w, b: x @ w.T + b),
    one("linear:nobias_1d", F.linear, arrays((4,), (2, 4), seed=2), lambda x, w: x @ w.T),
    one("linear:batched", F.linear, arrays((2, 3, 4), (5, 4), (5,), seed=3), lambda x, w, b: x @ w.T + b),
    one("conv2d", F.conv2d, arrays((2, 2, 4, 4), (3, 2, 3, 3), (3,), seed=4), np_conv2d),
    one("conv2d:strided_padded", lambda x, w: F.conv2d(x, w, stride=2, padding=1),
        arrays((1, 2, 5, 5), (2, 2, 3, 3), seed=5), lambda x, w: np_conv2d(x, w, stride=2, padding=1)),
    one("conv2d:groups_dilation", lambda x, w, b: F.conv2d(x, w, b, dilation=2, groups=2),
        arrays((1, 4, 5, 5), (2, 2, 2, 2), (2,), seed=6),
        lambda x, w, b: np_conv2d(x, w, b, dilation=2, groups=2)),
    one("conv2d:same_unbatched", lambda x, w: F.conv2d(x, w, padding="same"),
        arrays((2, 3, 4), (2, 2, 2, 2), seed=7), lambda x, w: np_conv2d(np.pad(x, ((0, 0), (0, 1), (0, 1))), w)),
    one("unfold", lambda x: F.unfold(x, 2), arrays((2, 2, 3, 3), seed=8), lambda x: np_unfold(x, 2)),
    one("unfold:strided_padded_dilated", lambda x: F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=2),
        arrays((1, 2, 4, 5), seed=9), lambda x: np_unfold(x, (2, 3), (1, 2), 1, 2)),
    one("fold", lambda x: F.fold(x, (3, 3), 2), arrays((2, 8, 4), seed=10), lambda x: np_fold(x, (3, 3), 2)),
    one("fold:strided_padded", lambda x: F.fold(x, (4, 5), 2, padding=1, stride=2),
        arrays((1, 4, 9), seed=11), lambda x: np_fold(x, (4, 5), 2, padding=1, stride=2)),
    one("embedding", F.embedding, (labels((2, 3), 4, seed=12), *arrays((4, 3), seed=12)), lambda i, w: w[i]),
    # NOTE: padding_idx and scale_grad_by_freq change the gradient on purpose (torch's semantics: no gradient
    # to the padding row, each row's gradient divided by its count), so it is not the forward's derivative and
    # only the forward (and its vmap) is checked; tests/nn covers those gradients.
    one("embedding:padding_idx", lambda i, w: F.embedding(i, w, padding_idx=1),
        (np.array([0, 1, 2, 1]), *arrays((3, 2), seed=13)), lambda i, w: w[i], differentiable=False),
    one("embedding:scale_grad_by_freq", lambda i, w: F.embedding(i, w, scale_grad_by_freq=True),
        (np.array([0, 2, 2, 1]), *arrays((3, 2), seed=14)), lambda i, w: w[i], differentiable=False),
    # NOTE: dropout is random unless it is the identity (p=0 or training=False), the only cases checked here.
    one("dropout", lambda x: F.dropout(x, p=0.0), arrays((3, 4), seed=15), lambda x: x),
    one("dropout:eval", lambda x: F.dropout(x, p=0.5, training=False), arrays((3, 4), seed=16), lambda x: x),
    one("pad", lambda x: F.pad(x, (1, 2), value=0.5), arrays((2, 3), seed=17),
        lambda x: np.pad(x, ((0, 0), (1, 2)), constant_values=0.5)),
    one("pad:crop", lambda x: F.pad(x, (-1, 1, 1, 0)), arrays((3, 4), seed=18),
        lambda x: np.pad(x, ((1, 0), (0, 1)))[:, 1:]),
    one("pad:reflect", lambda x: F.pad(x, (2, 1, 1, 1), mode="reflect"), arrays((1, 3, 4), seed=19),
        lambda x: np.pad(x, ((0, 0), (1, 1), (2, 1)), mode="reflect")),
    one("pad:replicate", lambda x: F.pad(x, (1, 2), mode="replicate"), arrays((2, 2, 3), seed=20),
        lambda x: np.pad(x, ((0, 0), (0, 0), (1, 2)), mode="edge")),
    one("pad:circular", lambda x: F.pad(x, (1, 2, 2, 0), mode="circular"), arrays((1, 1, 3, 3), seed=21),
        lambda x: np.pad(x, ((0, 0), (0, 0), (2, 0), (1, 2)), mode="wrap")),
]

# -- pooling and normalisation ----------------------------------------------------------------------------

# NOTE: max_pool2d is piecewise linear; distinct random values keep every window's maximum unique.
POOLING = [
    one("max_pool2d", lambda x: F.max_pool2d(x, 2), arrays((2, 2, 4, 4), seed=30),
        lambda x: np_max_pool2d(x, 2)),
    one("max_pool2d:overlapping_padded", lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
        arrays((1, 2, 5, 5), seed=31), lambda x: np_max_pool2d(x, 3, 2, 1)),
    one("max_pool2d:dilated_unbatched", lambda x: F.max_pool2d(x, 2, stride=1, dilation=2),
        arrays((2, 4, 4), seed=32), lambda x: np_max_pool2d(x[None], 2, 1, 0, 2)[0]),
    one("avg_pool2d", lambda x: F.avg_pool2d(x, 2), arrays((2, 2, 4, 4), seed=33), lambda x: np_avg_pool2d(x, 2)),
    one("avg_pool2d:overlapping_padded", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1),
        arrays((1, 2, 5, 5), seed=34), lambda x: np_avg_pool2d(x, 3, 2, 1)),
    one("avg_pool2d:exclude_pad_ceil", lambda x: F.avg_pool2d(x, 2, padding=1, ceil_mode=True,
                                                             count_include_pad=False),
        arrays((1, 1, 4, 5), seed=35)),
    one("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (2, 3)), arrays((2, 2, 5, 7), seed=36),
        lambda x: np_adaptive_avg_pool2d(x, (2, 3))),
    one("adaptive_avg_pool2d:unbatched", lambda x: F.adaptive_avg_pool2d(x, 3), arrays((2, 4, 4), seed=37),
        lambda x: np_adaptive_avg_pool2d(x, (3, 3))),
    one("batch_norm", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        arrays((4, 3), (3,), (3,), seed=38), np_batch_norm_train),
    one("batch_norm:spatial", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        arrays((2, 2, 2, 3), (2,), (2,), seed=39), np_batch_norm_train),
    one("batch_norm:eval", lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b, training=False),
        (*arrays((3, 2, 4), (2,), seed=40), *arrays((2,), low=0.5, high=2.0, seed=41), *arrays((2,), (2,), seed=42)),
        np_batch_norm_eval),
    one("layer_norm", lambda x, w, b: F.layer_norm(x, (3, 4), w, b), arrays((2, 3, 4), (3, 4), (3, 4), seed=43),
        lambda x, w, b: np_normalize(x, (-2, -1)) * w + b),
    one("layer_norm:plain", lambda x: F.layer_norm(x, 5), arrays((3, 5), seed=44),
        lambda x: np_normalize(x, -1)),
]

# -- activations ------------------------------------------------------------------------------------------

# NOTE: inputs of the piecewise activations stay 0.15 away from the kink at 0 so finite differences hold.
ACTIVATIONS = [
    one("relu", F.relu, (kinked((3, 4), 50),), lambda x: np.maximum(x, 0)),
    one("relu:inplace", lambda x: F.relu(x * 1.0, inplace=True), (kinked((3, 4), 51),),
        lambda x: np.maximum(x, 0)),
    one("leaky_relu", lambda x: F.leaky_relu(x, 0.2), (kinked((3, 4), 52),), lambda x: np.where(x > 0, x, 0.2 * x)),
    one("elu", lambda x: F.elu(x, 1.5), (kinked((3, 4), 53),), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x))),
    one("gelu", F.gelu, arrays((3, 4), seed=54), lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    one("gelu:tanh", lambda x: F.gelu(x, approximate="tanh"), arrays((3, 4), seed=55),
        lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    one("silu", F.silu, arrays((3, 4), seed=56), lambda x: x * _sigmoid(x)),
    # NOTE: threshold=3 with beta=2 switches to the identity where x > 1.5; inputs keep clear of that seam.
    one("softplus", lambda x: F.softplus(x, beta=2.0, threshold=3.0), (kinked((3, 4), 57, (1.5,)),),
        lambda x: np_softplus(x, 2.0, 3.0)),
    one("softmax", lambda x: F.softmax(x, dim=1), arrays((2, 3, 4), low=-4, high=4, seed=58),
        lambda x: np.exp(np_log_softmax(x, 1))),
    one("log_softmax", lambda x: F.log_softmax(x, dim=-1), arrays((3, 4), low=-4, high=4, seed=59),
        lambda x: np_log_softmax(x, -1)),
]

# -- losses -----------------------------------------------------------------------------------------------

_d = away_from(arrays((3, 4), seed=60)[0], (0.0, 0.5, -0.5), margin=0.1)  # input - target, off every kink
_t = arrays((3, 4), seed=61)[0]
PROBS = arrays((3, 4), low=0.05, high=0.6, seed=62)[0]  # NOTE: still in (0, 1) after vmap's x1.5 scaling
TARGETS = arrays((3, 4), low=0.0, high=0.6, seed=63)[0]
DIST = np.exp(np_log_softmax(arrays((3, 4), seed=64)[0], 1))

LOSSES = [
    one("mse_loss", F.mse_loss, arrays((3, 4), (3, 4), seed=65), lambda x, t: ((x - t) ** 2).mean()),
    one("mse_loss:none", lambda x, t: F.mse_loss(x, t, reduction="none"), arrays((2, 3), (2, 3), seed=66),
        lambda x, t: (x - t) ** 2),
    one("l1_loss", F.l1_loss, (_t + _d, _t), lambda x, t: np.abs(x - t).mean()),
    one("l1_loss:sum", lambda x, t: F.l1_loss(x, t, reduction="sum"), (_t - _d, _t),
        lambda x, t: np.abs(x - t).sum()),
    one("smooth_l1_loss", lambda x, t: F.smooth_l1_loss(x, t, beta=0.5), (_t + _d, _t),
        lambda x, t: np_smooth_l1(x - t, 0.5).mean()),
    one("huber_loss", lambda x, t: F.huber_loss(x, t, reduction="none", delta=0.5), (_t + _d, _t),
        lambda x, t: 0.5 * np_smooth_l1(x - t, 0.5)),
    one("binary_cross_entropy", F.binary_cross_entropy, (PROBS, TARGETS),
        lambda p, t: -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()),
    one("binary_cross_entropy:weighted_none",
        lambda p, t, w: F.binary_cross_entropy(p, t, w, reduction="none"),
        (PROBS, TARGETS, *arrays((4,), low=0.5, seed=67)),
        lambda p, t, w: -(t * np.log(p) + (1 - t) * np.log(1 - p)) * w),
    one("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
        (*arrays((3, 4), low=-4, high=4, seed=68), TARGETS),
        lambda x, t: -(t * np.log(_sigmoid(x)) + (1 - t) * np.log(1 - _sigmoid(x))).mean()),
    one("binary_cross_entropy_with_logits:pos_weight",
        lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, w, reduction="sum", pos_weight=pw),
        (*arrays((3, 4), seed=69), TARGETS, *arrays((3, 4), (4,), low=0.5, seed=70)),
        lambda x, t, w, pw: (-(pw * t * np.log(_sigmoid(x)) + (1 - t) * np.log(1 - _sigmoid(x))) * w).sum()),
    one("nll_loss", F.nll_loss, (np_log_softmax(arrays((4, 5), seed=71)[0], 1), labels(4, 5, seed=71)), np_nll),
    one("nll_loss:weighted_ignore", lambda x, t, w: F.nll_loss(x, t, w, ignore_index=2),
        (*arrays((5, 3), seed=72), np.array([0, 2, 1, 1, 2]), *arrays((3,), low=0.5, seed=73)),
        lambda x, t, w: np_nll(x, t, w, ignore_index=2)),
    one("nll_loss:spatial_none", lambda x, t: F.nll_loss(x, t, reduction="none"),
        (*arrays((2, 3, 2, 2), seed=74), labels((2, 2, 2), 3, seed=74)),
        lambda x, t: np_nll(x, t, reduction="none")),
    one("cross_entropy", F.cross_entropy, (*arrays((4, 5), seed=75), labels(4, 5, seed=75)),
        lambda x, t: np_nll(np_log_softmax(x, 1), t)),
    one("cross_entropy:unbatched", F.cross_entropy, (*arrays((5,), seed=76), np.array(3)),
        lambda x, t: np_nll(np_log_softmax(x, 0), t)),
    one("cross_entropy:weighted_smoothed",
        lambda x, t, w: F.cross_entropy(x, t, w, reduction="sum", label_smoothing=0.2),
        (*arrays((3, 4), seed=77), labels(3, 4, seed=77), *arrays((4,), low=0.5, seed=78))),
    one("cross_entropy:spatial", F.cross_entropy, (*arrays((2, 3, 2, 2), seed=79), labels((2, 2, 2), 3, seed=79)),
        lambda x, t: np_nll(np_log_softmax(x, 1), t)),
    one("cross_entropy:probabilities", F.cross_entropy, (*arrays((3, 4), seed=80), DIST),
        np_cross_entropy_probs),
    one("cross_entropy:probabilities_none", lambda x, p: F.cross_entropy(x, p, reduction="none"),
        (*arrays((2, 3, 2), seed=81), np.exp(np_log_softmax(arrays((2, 3, 2), seed=82)[0], 1))),
        lambda x, p: np_cross_entropy_probs(x, p, "none")),
    one("kl_div", lambda x, t: F.kl_div(x, t, reduction="batchmean"),
        (np_log_softmax(arrays((3, 4), seed=83)[0], 1), DIST),
        lambda x, t: (t * (np.log(t) - x)).sum() / 3),
    one("kl_div:log_target", lambda x, t: F.kl_div(x, t, reduction="none", log_target=True),
        (*arrays((3, 4), seed=84), np.log(DIST)), lambda x, t: np.exp(t) * (t - x)),
    # NOTE: the hinge has kinks where margin - x[y] + x[j] == 0; random scores hit them with probability 0.
    one("multi_margin_loss", lambda x, t: F.multi_margin_loss(x, t, reduction="sum"),
        (*arrays((4, 5), seed=85), labels(4, 5, seed=85)), lambda x, t: np_multi_margin(x, t, reduction="sum")),
]

ENTRIES = [*LAYERS, *POOLING, *ACTIVATIONS, *LOSSES]
