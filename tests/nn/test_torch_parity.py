"""Optional: the same layers and losses in torch give the same values and gradients (skipped without torch)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
rng = np.random.default_rng(0)


def run_both(fn_cr, fn_torch, *arrays):
    """Forward and backward (of the sum) in both libraries; returns (outputs, gradients) pairs."""
    ours = [cr.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out, ref = fn_cr(*ours), fn_torch(*theirs)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(ours, theirs):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1), dict(padding="same", dilation=2, groups=2)])
def test_conv2d(kw):
    x, w, b = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((4, 4 // kw.get("groups", 1), 3, 3)), \
        rng.standard_normal(4)
    run_both(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), x, w, b)


@pytest.mark.parametrize("name, kw", [("max_pool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
                                      ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                                          count_include_pad=False)),
                                      ("adaptive_avg_pool2d", dict(output_size=(3, 2)))])
def test_pooling(name, kw):
    x = rng.standard_normal((2, 3, 7, 6))
    run_both(lambda t: getattr(F, name)(t, **kw), lambda t: getattr(TF, name)(t, **kw), x)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_weight_ignore_index_label_smoothing(reduction):
    x, t, w = rng.standard_normal((6, 4)), np.array([0, 3, -100, 1, 3, 2]), rng.uniform(0.5, 2, 4)
    kw = dict(ignore_index=-100, label_smoothing=0.15, reduction=reduction)
    run_both(lambda a, b: F.cross_entropy(a, b, cr.tensor(w), **kw),
             lambda a, b: TF.cross_entropy(a, b, torch.tensor(w), **kw), x, t)


def test_batch_norm_running_statistics():
    ours, theirs = cr.nn.BatchNorm2d(3).double(), torch.nn.BatchNorm2d(3).double()
    for _ in range(2):
        x = rng.standard_normal((4, 3, 2, 2))
        np.testing.assert_allclose(ours(cr.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy())
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy())
