"""Every loss: forward against a NumPy reference (each reduction), gradcheck in float64, the module form."""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]


def reduce(loss, reduction):
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def log_softmax_ref(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


# -- references ------------------------------------------------------------------------------------

def mse_ref(x, y, reduction):
    return reduce((x - y) ** 2, reduction)


def l1_ref(x, y, reduction):
    return reduce(np.abs(x - y), reduction)


def smooth_l1_ref(x, y, reduction, beta=1.0):
    d = np.abs(x - y)
    return reduce(np.where(d < beta, 0.5 * d ** 2 / beta, d - 0.5 * beta), reduction)


def huber_ref(x, y, reduction, delta=1.0):
    d = np.abs(x - y)
    return reduce(np.where(d < delta, 0.5 * d ** 2, delta * (d - 0.5 * delta)), reduction)


def bce_ref(p, t, reduction, weight=None):
    loss = -(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log(1 - p), -100))
    return reduce(loss if weight is None else loss * weight, reduction)


def bce_logits_ref(x, t, reduction, pos_weight=None):
    sig = 1 / (1 + np.exp(-x))
    pw = 1 if pos_weight is None else pos_weight
    return reduce(-(pw * t * np.log(sig) + (1 - t) * np.log(1 - sig)), reduction)


def nll_ref(logp, target, reduction, weight=None, ignore_index=-100):
    """Loops over samples: the textbook definition (class dim 1, any trailing dims)."""
    c = logp.shape[1]
    w = np.ones(c) if weight is None else weight
    lp = np.moveaxis(logp, 1, -1).reshape(-1, c)
    t = target.reshape(-1)
    losses, weights = np.zeros(len(t)), np.zeros(len(t))
    for i, k in enumerate(t):
        if k != ignore_index:
            losses[i], weights[i] = -w[k] * lp[i, k], w[k]
    if reduction == "mean":
        return losses.sum() / weights.sum()
    return losses.sum() if reduction == "sum" else losses.reshape(target.shape)


def cross_entropy_probs_ref(x, p, reduction, label_smoothing=0.0):
    c = x.shape[1]
    p = p * (1 - label_smoothing) + label_smoothing / c
    loss = -(log_softmax_ref(x, 1) * p).sum(axis=1)
    return reduce(loss, reduction)


def kl_ref(logq, p, reduction):
    pointwise = np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0) - p * logq
    if reduction == "batchmean":
        return pointwise.sum() / logq.shape[0]
    return reduce(pointwise, reduction)


def multi_margin_ref(x, y, reduction, p=1, margin=1.0):
    n, c = x.shape
    losses = np.array([sum(max(0, margin - x[i, y[i]] + x[i, j]) ** p for j in range(c) if j != y[i]) / c
                       for i in range(n)])
    return reduce(losses, reduction)


X, Y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
P, T = rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))
LOGITS, CLASSES = rng.standard_normal((5, 4)), np.array([0, 3, -100, 1, 3])

REGRESSION = [
    ("mse_loss", {}, mse_ref), ("l1_loss", {}, l1_ref), ("smooth_l1_loss", {}, smooth_l1_ref),
    ("smooth_l1_loss", {"beta": 0.5}, smooth_l1_ref), ("huber_loss", {}, huber_ref),
    ("huber_loss", {"delta": 0.5}, huber_ref),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, kw, ref", REGRESSION)
def test_regression_losses_match_reference(name, kw, ref, reduction):
    out = getattr(F, name)(cr.tensor(X), cr.tensor(Y), reduction=reduction, **kw)
    np.testing.assert_allclose(out.numpy(), ref(X, Y, reduction, **kw), rtol=1e-12)


@pytest.mark.parametrize("name, kw, ref", REGRESSION)
def test_regression_losses_gradcheck(name, kw, ref):
    # NOTE: inputs away from the kinks (|d| = 0, beta, delta), where finite differences are invalid.
    x = cr.tensor([[0.3, -1.7, 2.2], [1.4, 0.6, -0.45]], dtype=cr.float64, requires_grad=True)
    y = cr.tensor([[0.1, 0.2, -0.1], [0.0, -0.5, 0.4]], dtype=cr.float64, requires_grad=True)
    assert gradcheck(lambda a, b: getattr(F, name)(a, b, **kw), (x, y))


def test_weighted_regression_means_follow_torch():
    w = rng.uniform(0.1, 2, X.shape)
    mse = F.mse_loss(cr.tensor(X), cr.tensor(Y), weight=cr.tensor(w))
    assert mse.item() == pytest.approx(((X - Y) ** 2 * w).sum() / w.sum())
    huber = F.huber_loss(cr.tensor(X), cr.tensor(Y), weight=cr.tensor(w))
    assert huber.item() == pytest.approx((huber_ref(X, Y, "none") * w).mean())
    with pytest.raises(ValueError, match="same size"):
        F.l1_loss(cr.tensor(X), cr.tensor(Y), weight=cr.ones(3, dtype=cr.float64))


def test_broadcasting_target_warns_like_torch():
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(cr.tensor(X), cr.tensor(Y[0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction):
    w = rng.uniform(0.5, 2, 3)
    out = F.binary_cross_entropy(cr.tensor(P), cr.tensor(T), cr.tensor(w), reduction=reduction)
    np.testing.assert_allclose(out.numpy(), bce_ref(P, T, reduction, w), rtol=1e-12)


def test_binary_cross_entropy_clamps_log_at_minus_100_with_finite_gradients():
    p = cr.tensor([0.0, 1.0, 0.5], dtype=cr.float64, requires_grad=True)
    loss = F.binary_cross_entropy(p, cr.tensor([1.0, 0.0, 1.0], dtype=cr.float64), reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [100.0, 100.0, math.log(2)])
    loss.sum().backward()
    assert np.isfinite(p.grad.numpy()).all()
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(cr.tensor([1.5]), cr.tensor([1.0]))
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy(cr.tensor([0.5]), cr.tensor([1.0, 0.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(reduction):
    x, pw = X * 5, rng.uniform(0.5, 3, 3)
    out = F.binary_cross_entropy_with_logits(cr.tensor(x), cr.tensor(T), pos_weight=cr.tensor(pw),
                                             reduction=reduction)
    np.testing.assert_allclose(out.numpy(), bce_logits_ref(x, T, reduction, pw), rtol=1e-10)


def test_binary_cross_entropy_with_logits_is_stable_and_smooth_at_zero():
    x = cr.tensor([-1000.0, 0.0, 1000.0], dtype=cr.float64, requires_grad=True)
    t = cr.tensor([1.0, 1.0, 0.0], dtype=cr.float64)
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [1000.0, math.log(2), 1000.0])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-1.0, -0.5, 1.0])  # sigmoid(x) - t


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_and_cross_entropy_with_weight_and_ignore_index(reduction):
    w = rng.uniform(0.5, 2, 4)
    logp = log_softmax_ref(LOGITS, 1)
    expected = nll_ref(logp, CLASSES, reduction, w)
    nll = F.nll_loss(cr.tensor(logp), cr.tensor(CLASSES), cr.tensor(w), reduction=reduction)
    ce = F.cross_entropy(cr.tensor(LOGITS), cr.tensor(CLASSES), cr.tensor(w), reduction=reduction)
    np.testing.assert_allclose(nll.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(ce.numpy(), expected, rtol=1e-12)


def test_cross_entropy_spatial_targets():
    x, t = rng.standard_normal((2, 3, 2, 2)), rng.integers(0, 3, (2, 2, 2))
    out = F.cross_entropy(cr.tensor(x), cr.tensor(t))
    assert out.item() == pytest.approx(nll_ref(log_softmax_ref(x, 1), t, "mean"))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_label_smoothing_formula(reduction):
    eps, w = 0.2, rng.uniform(0.5, 2, 4)
    logp = log_softmax_ref(LOGITS, 1)
    valid = CLASSES != -100
    smooth = -(logp * w).sum(1) * valid
    if reduction == "mean":
        smooth_red = smooth.sum() / w[CLASSES[valid]].sum()
    else:
        smooth_red = reduce(smooth, reduction)
    expected = (1 - eps) * nll_ref(logp, CLASSES, reduction, w) + eps / 4 * smooth_red
    out = F.cross_entropy(cr.tensor(LOGITS), cr.tensor(CLASSES), cr.tensor(w), reduction=reduction,
                          label_smoothing=eps)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_class_probabilities(reduction):
    p = rng.dirichlet(np.ones(4), 5)
    out = F.cross_entropy(cr.tensor(LOGITS), cr.tensor(p), reduction=reduction, label_smoothing=0.1)
    np.testing.assert_allclose(out.numpy(), cross_entropy_probs_ref(LOGITS, p, reduction, 0.1), rtol=1e-12)


def test_cross_entropy_values_and_edge_cases():
    assert F.cross_entropy(cr.zeros(2, 4), cr.tensor([1, 3])).item() == pytest.approx(math.log(4))
    assert math.isnan(F.cross_entropy(cr.zeros(2, 4), cr.tensor([-100, -100])).item())  # as torch: 0 / 0
    assert F.cross_entropy(cr.tensor([2.0, 0.5, -1.0]), cr.tensor(0)).item() == pytest.approx(0.2413, abs=1e-4)


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.cross_entropy(cr.randn(2, 3), cr.tensor([0.0, 1.0])), RuntimeError, "expected target size"),
    (lambda: F.cross_entropy(cr.randn(2, 3), cr.tensor([0, 1], dtype=cr.int32)), RuntimeError, "Long or Byte"),
    (lambda: F.cross_entropy(cr.randn(2, 3), cr.tensor([0, 1, 1])), ValueError, "batch_size"),
    (lambda: F.nll_loss(cr.randn(2, 3), cr.tensor([0, 5])), IndexError, "Target 5 is out of bounds"),
    (lambda: F.cross_entropy(cr.randn(2, 3), cr.rand(2, 3), ignore_index=1), RuntimeError, "ignore_index"),
    (lambda: F.cross_entropy(cr.randn(2, 3), cr.tensor([0, 1]), weight=cr.ones(4)), RuntimeError, "all 3"),
    (lambda: F.mse_loss(cr.randn(2), cr.randn(2), reduction="avg"), ValueError, "not a valid value"),
])
def test_classification_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_classification_losses_gradcheck():
    x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    t = cr.tensor([1, -100, 3])
    w = cr.tensor([0.5, 1.0, 2.0, 1.5], dtype=cr.float64)
    assert gradcheck(lambda a: F.cross_entropy(a, t, w, label_smoothing=0.1), (x,))
    assert gradgradcheck(lambda a: F.cross_entropy(a, t, w), (x,))
    assert gradcheck(lambda a: F.nll_loss(a, t, reduction="none"), (x,))
    probs = cr.tensor(rng.dirichlet(np.ones(4), 3), requires_grad=True)
    assert gradcheck(lambda a, p: F.cross_entropy(a, p), (x, probs))
    assert gradcheck(lambda a: F.multi_margin_loss(a, cr.tensor([0, 1, 3]), p=2), (x,))


def test_binary_losses_gradcheck():
    p = cr.tensor(rng.uniform(0.1, 0.9, (2, 3)), requires_grad=True)
    t = cr.tensor(rng.uniform(0, 1, (2, 3)), requires_grad=True)
    assert gradcheck(F.binary_cross_entropy, (p, t))
    x = cr.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    pw = cr.tensor([1.0, 2.0, 0.5], dtype=cr.float64)
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw), (x, t))
    assert gradgradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b), (x, t))


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
def test_kl_div(reduction):
    logq, p = log_softmax_ref(X, 1), rng.dirichlet(np.ones(3), 4)
    p[0, 0] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = F.kl_div(cr.tensor(logq), cr.tensor(p), reduction=reduction)
        log_target = F.kl_div(cr.tensor(logq), cr.tensor(np.log(p + 0.1)), reduction=reduction, log_target=True)
    np.testing.assert_allclose(out.numpy(), kl_ref(logq, p, reduction), rtol=1e-12)
    np.testing.assert_allclose(log_target.numpy(), kl_ref(logq, p + 0.1, reduction), rtol=1e-12)


def test_kl_div_mean_warns_and_gradcheck():
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(cr.randn(2, 3), cr.rand(2, 3))
    logq = cr.tensor(log_softmax_ref(X, 1), requires_grad=True)
    p = cr.tensor(rng.dirichlet(np.ones(3), 4), requires_grad=True)
    assert gradcheck(lambda a, b: F.kl_div(a, b, reduction="batchmean"), (logq, p))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss(reduction):
    y = np.array([0, 2, 1, 2])
    out = F.multi_margin_loss(cr.tensor(X), cr.tensor(y), p=2, margin=0.5, reduction=reduction)
    np.testing.assert_allclose(out.numpy(), multi_margin_ref(X, y, reduction, p=2, margin=0.5), rtol=1e-12)


def test_legacy_size_average_and_reduce_map_to_reduction():
    with pytest.warns(UserWarning, match="reduction='sum'"):
        out = F.mse_loss(cr.tensor(X), cr.tensor(Y), size_average=False)
    assert out.item() == pytest.approx(((X - Y) ** 2).sum())
    with pytest.warns(UserWarning):
        assert nn.L1Loss(reduce=False).reduction == "none"


MODULES = [
    (nn.MSELoss(), F.mse_loss, X, Y), (nn.L1Loss(reduction="sum"), lambda a, b: F.l1_loss(a, b, reduction="sum"), X, Y),
    (nn.SmoothL1Loss(beta=0.5), lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), X, Y),
    (nn.HuberLoss(delta=2.0), lambda a, b: F.huber_loss(a, b, delta=2.0), X, Y),
    (nn.BCELoss(), F.binary_cross_entropy, P, T), (nn.BCEWithLogitsLoss(), F.binary_cross_entropy_with_logits, X, T),
    (nn.CrossEntropyLoss(label_smoothing=0.1), lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1), LOGITS,
     CLASSES),
    (nn.NLLLoss(ignore_index=3), lambda a, b: F.nll_loss(a, b, ignore_index=3), LOGITS, CLASSES % 4),
    (nn.MultiMarginLoss(margin=2.0), lambda a, b: F.multi_margin_loss(a, b, margin=2.0), LOGITS, CLASSES % 4),
    (nn.KLDivLoss(reduction="batchmean", log_target=True),
     lambda a, b: F.kl_div(a, b, reduction="batchmean", log_target=True), X, Y),
]


@pytest.mark.parametrize("module, fn, a, b", MODULES, ids=[type(m[0]).__name__ for m in MODULES])
def test_loss_modules_call_their_functional_form(module, fn, a, b):
    np.testing.assert_allclose(module(cr.tensor(a), cr.tensor(b)).numpy(), fn(cr.tensor(a), cr.tensor(b)).numpy())
    assert repr(module) == f"{type(module).__name__}()"


def test_loss_weights_are_buffers():
    loss = nn.CrossEntropyLoss(weight=cr.tensor([1.0, 2.0]))
    assert list(loss.state_dict()) == ["weight"]
    assert list(nn.BCEWithLogitsLoss(pos_weight=cr.ones(2)).state_dict()) == ["pos_weight"]
    with pytest.raises(ValueError, match="p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
