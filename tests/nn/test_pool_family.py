"""Pooling in 1, 2 and 3 dims: output sizes in closed form (ceil_mode, dilation, padding), indices against a
direct-loop reference and through max_unpool, tie-breaking and vmap of gradients (the argmax comes from a
primitive), adaptive windows, errors, and (optional) parity with torch's modules."""

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.func import grad, vmap
from tests.opdb.nn_pool import np_adaptive, np_max_pool

SIZES = {1: (9,), 2: (7, 8), 3: (5, 6, 4)}


def randn(*shape, seed=0):
    return cr.tensor(np.random.default_rng(seed).standard_normal(shape))


def pool(kind, nd):
    return getattr(F, f"{kind}{nd}d")


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, stride=2, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=2, stride=1, dilation=2)])
def test_max_pool_output_size_is_the_closed_form(nd, kw):
    k, s, p, d = kw["kernel_size"], kw.get("stride", kw["kernel_size"]), kw.get("padding", 0), kw.get("dilation", 1)
    out = pool("max_pool", nd)(randn(2, 3, *SIZES[nd]), **kw)
    expected = []
    for n in SIZES[nd]:
        span = n + 2 * p - d * (k - 1) - 1
        m = (-(-span // s) if kw.get("ceil_mode") else span // s) + 1
        expected.append(m - 1 if kw.get("ceil_mode") and (m - 1) * s >= n + p else m)
    assert tuple(out.shape) == (2, 3) + tuple(expected)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_indices_are_flat_positions_of_the_maxima(nd):
    x = randn(2, 3, *SIZES[nd], seed=nd)
    out, idx = pool("max_pool", nd)(x, 3, 2, 1, ceil_mode=True, return_indices=True)
    ref_out, ref_idx = np_max_pool(x.numpy(), (3,) * nd, 2, 1, 1, True)
    np.testing.assert_allclose(out.numpy(), ref_out)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    assert idx.dtype == cr.int64
    flat = x.numpy().reshape(2, 3, -1)
    np.testing.assert_allclose(np.take_along_axis(flat, idx.numpy().reshape(2, 3, -1), 2).reshape(out.shape),
                               out.numpy())


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_unpool_puts_the_maxima_back_and_zeros_elsewhere(nd):
    x = randn(1, 2, *(4,) * nd, seed=7)
    out, idx = pool("max_pool", nd)(x, 2, return_indices=True)
    back = pool("max_unpool", nd)(out, idx, 2)
    assert back.shape == x.shape
    kept = back.numpy() != 0
    assert kept.sum() == out.numel()
    np.testing.assert_allclose(back.numpy()[kept], x.numpy()[kept])
    layer = getattr(nn, f"MaxUnpool{nd}d")(2)
    np.testing.assert_allclose(layer(out, idx, output_size=x.shape).numpy(), back.numpy())


@pytest.mark.parametrize("nd", [1, 3])
def test_gradient_of_a_tie_goes_to_the_first_maximum_as_torch(nd):
    x = cr.zeros(1, 1, *(2,) * nd, dtype=cr.float64, requires_grad=True)
    pool("max_pool", nd)(x, 2).sum().backward()
    g = x.grad.numpy().ravel()
    assert g[0] == 1 and g[1:].sum() == 0
    y = cr.zeros(1, 1, *(4,) * nd, dtype=cr.float64, requires_grad=True)
    pool("adaptive_max_pool", nd)(y, 1).sum().backward()
    assert y.grad.numpy().ravel()[0] == 1 and y.grad.numpy().sum() == 1


@pytest.mark.parametrize("kind", ["max_pool", "avg_pool", "lp_pool", "adaptive_max_pool"])
def test_per_sample_gradients_under_vmap(kind):
    xs = randn(3, 2, 6, seed=9).abs() + 0.1

    def loss(x):
        if kind == "lp_pool":
            return F.lp_pool1d(x, 2, 2).square().sum()
        if kind == "adaptive_max_pool":
            return F.adaptive_max_pool1d(x, 4).square().sum()
        return pool(kind, 1)(x, 2).square().sum()

    batched = vmap(grad(loss))(xs)
    for i in range(3):
        np.testing.assert_allclose(batched[i].numpy(), grad(loss)(xs[i]).numpy(), atol=1e-12)


def test_avg_pool_count_include_pad_and_divisor_override_in_closed_form():
    x = cr.ones(1, 1, 4, dtype=cr.float64)
    # windows [pad, 1], [1, 1], [1, pad]: the padded zero counts or not
    np.testing.assert_allclose(F.avg_pool1d(x, 2, 2, 1).numpy().ravel(), [0.5, 1, 0.5])
    np.testing.assert_allclose(F.avg_pool1d(x, 2, 2, 1, count_include_pad=False).numpy().ravel(), [1, 1, 1])
    np.testing.assert_allclose(F.avg_pool3d(cr.ones(1, 1, 2, 2, 2), 2, divisor_override=3).numpy().ravel(), [8 / 3])
    # ceil_mode: the last window hangs over the end and its overhang never counts
    np.testing.assert_allclose(F.avg_pool1d(cr.arange(5.).reshape(1, 1, 5), 2, ceil_mode=True).numpy().ravel(),
                               [0.5, 2.5, 4.0])


def test_lp_pool_is_the_p_norm_of_each_window():
    x = randn(1, 2, 6, 4, seed=11).abs()
    out = F.lp_pool2d(x, 3, 2)
    win = x.numpy().reshape(1, 2, 3, 2, 2, 2)
    np.testing.assert_allclose(out.numpy(), (win ** 3).sum((3, 5)) ** (1 / 3), rtol=1e-12)
    np.testing.assert_allclose(F.lp_pool1d(randn(1, 1, 4, seed=1), math.inf, 2).numpy(),
                               np.abs(randn(1, 1, 4, seed=1).numpy()).reshape(1, 1, 2, 2).max(-1))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_adaptive_pooling_windows_and_indices(nd):
    x = randn(2, 3, *SIZES[nd], seed=nd + 20)
    size = (4, 3, 2)[:nd]
    out, idx = pool("adaptive_max_pool", nd)(x, size, return_indices=True)
    ref, ref_idx = np_adaptive(x.numpy(), size, lambda v: v.max(-1))
    np.testing.assert_allclose(out.numpy(), ref)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    avg = pool("adaptive_avg_pool", nd)(x, size)
    np.testing.assert_allclose(avg.numpy(), np_adaptive(x.numpy(), size, lambda v: v.mean(-1))[0], atol=1e-12)
    assert tuple(pool("adaptive_avg_pool", nd)(x, None).shape) == (2, 3) + SIZES[nd]


def test_with_indices_forms_always_return_indices():
    x = randn(1, 1, 6)
    assert isinstance(F.max_pool1d_with_indices(x, 2), tuple)
    assert isinstance(F.adaptive_max_pool2d_with_indices(randn(1, 1, 4, 4), 2), tuple)


def test_module_reprs_follow_torch():
    assert repr(nn.MaxPool3d(2)) == "MaxPool3d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool1d(3)) == "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"
    assert repr(nn.AvgPool2d(3)) == "AvgPool2d(kernel_size=3, stride=3, padding=0)"
    assert repr(nn.LPPool2d(2, 3)) == "LPPool2d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)"
    assert repr(nn.AdaptiveMaxPool2d((2, None))) == "AdaptiveMaxPool2d(output_size=(2, None))"
    assert repr(nn.MaxUnpool2d(2)) == "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"


@pytest.mark.parametrize("call,error,match", [
    (lambda: F.max_pool1d(randn(1, 1, 5), 3, padding=2), RuntimeError, "pad should be at most half"),
    (lambda: F.max_pool3d(randn(1, 1, 2, 2, 2), 3), RuntimeError, "too small"),
    (lambda: F.avg_pool1d(randn(5), 2), RuntimeError, r"expected 2D \(unbatched\) or 3D"),
    (lambda: F.max_pool2d(cr.ones(1, 1, 4, 4, dtype=cr.int64), 2), RuntimeError, "floating point"),
    (lambda: F.max_pool1d(randn(1, 1, 5), (2, 2)), TypeError, "kernel_size must be an int or a 1-tuple"),
    (lambda: F.avg_pool2d(randn(1, 1, 4, 4), 2, divisor_override=0), RuntimeError, "divisor must be not zero"),
    (lambda: F.adaptive_avg_pool3d(randn(1, 1, 4, 4, 4), (2, 2)), TypeError, "output_size must be"),
    (lambda: F.max_unpool1d(randn(1, 1, 3), cr.zeros(1, 1, 3, dtype=cr.int64), 2, output_size=(9,)), ValueError,
     "invalid output_size"),
    (lambda: F.max_unpool1d(randn(1, 1, 3), cr.zeros(1, 1, 2, dtype=cr.int64), 2), RuntimeError,
     "shape of indices"),
])
def test_errors_are_torch_types_and_name_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("name,args", [
    ("MaxPool1d", (3, 2, 1, 2, True, True)), ("MaxPool3d", ((2, 3, 2), 2, 1, 1, False, True)),
    ("AvgPool1d", (3, 2, 1, True, False)), ("AvgPool3d", (2, 2, 1, True, True, None)),
    ("LPPool1d", (2, 3, 2)), ("LPPool3d", (1.5, 2)), ("AdaptiveMaxPool1d", (4, True)),
    ("AdaptiveMaxPool3d", ((3, None, 2), True)), ("AdaptiveMaxPool2d", ((7, 4), True)), ("AdaptiveAvgPool1d", (4,)),
    ("AdaptiveAvgPool3d", ((3, 2, 5),)),
])
def test_modules_match_torch(name, args):
    torch = pytest.importorskip("torch")
    nd = int(name[-2])
    x = np.abs(np.random.default_rng(3).standard_normal((2, 3) + SIZES[nd])) + 0.1
    xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    out_t, out_c = getattr(torch.nn, name)(*args)(xt), getattr(nn, name)(*args)(xc)
    if isinstance(out_t, tuple):
        np.testing.assert_array_equal(out_c[1].numpy(), out_t[1].numpy())
        out_t, out_c = out_t[0], out_c[0]
    np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), atol=1e-12)
    out_t.square().sum().backward()
    out_c.square().sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("nd,kw", [(2, dict(output_size=(4, 5))), (2, dict(output_ratio=0.5)),
                                   (3, dict(output_size=(2, 3, 2)))])
def test_fractional_max_pool_matches_torch_for_the_same_samples(nd, kw):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(nd).standard_normal((2, 3) + (9, 11, 6)[:nd])
    samples = np.random.default_rng(1).uniform(0, 1, (2, 3, nd))
    name = f"FractionalMaxPool{nd}d"
    ref = getattr(torch.nn, name)(2, **kw, return_indices=True, _random_samples=torch.tensor(samples))
    m = getattr(nn, name)(2, **kw, return_indices=True, _random_samples=cr.tensor(samples))
    (out_t, idx_t), (out_c, idx_c) = ref(torch.tensor(x)), m(cr.tensor(x))
    np.testing.assert_array_equal(idx_c.numpy(), idx_t.numpy())
    np.testing.assert_allclose(out_c.numpy(), out_t.numpy())


def test_fractional_max_pool_draws_fresh_samples_and_checks_its_arguments():
    x = randn(1, 2, 10, 10)
    assert tuple(nn.FractionalMaxPool2d(3, output_ratio=0.5)(x).shape) == (1, 2, 5, 5)
    with pytest.raises(ValueError, match="either an output size, or a pooling ratio"):
        nn.FractionalMaxPool2d(2)
    with pytest.raises(ValueError, match="output_ratio must be between 0 and 1"):
        nn.FractionalMaxPool3d(2, output_ratio=1.5)
    with pytest.raises(RuntimeError, match="too large relative to input size"):
        F.fractional_max_pool2d(x, 3, output_size=9)
