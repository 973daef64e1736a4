"""The max_pool primitive and its backward (issue 11): window maxima and flat positions from strided views,
against a loop that follows torch's CPU kernel (the first strict maximum, the last NaN, padding never chosen), and
the gradient as a scatter-add of the upstream gradient to those positions (overlapping windows add up)."""

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd import forward_ad as fwAD
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck
from chainrule.func import grad, vjp, vmap
from tests.opdb.nn_pool import np_pool


def torch_max(values, places, cells, size):
    """torch's loop: start at -inf and the window's first in-bounds element; take a strictly greater value or
    any NaN (so the first maximum and the last NaN win)."""
    best, where = np.full(values.shape[:-1], -np.inf), np.full(values.shape[:-1], places[0])
    for j, place in enumerate(places):
        v = values[..., j]
        take = (v > best) | np.isnan(v)
        best, where = np.where(take, v, best), np.where(take, place, where)
    return best, where


def reference(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """``(out, indices, gradient of out.sum())`` by direct loops."""
    out, idx = np_pool(x, torch_max, kernel_size, stride, padding, dilation, ceil_mode)
    planes = math.prod(x.shape[:2])
    g = np.zeros((planes, math.prod(x.shape[2:])))
    for row, positions in zip(g, idx.reshape(planes, -1)):
        np.add.at(row, positions, 1.0)
    return out, idx, g.reshape(x.shape)


def pool(nd):
    return getattr(F, f"max_pool{nd}d")


def check(x_np, nd, **kw):
    """max_pool{nd}d of ``x_np`` with ``kw``: values, indices and the gradient of the sum equal the loops'."""
    x = cr.tensor(x_np, requires_grad=True)
    out, idx = pool(nd)(x, return_indices=True, **kw)
    out.sum().backward()
    want_out, want_idx, want_grad = reference(x_np, **kw)
    np.testing.assert_array_equal(out.detach().numpy(), want_out.astype(x_np.dtype))
    np.testing.assert_array_equal(idx.numpy(), want_idx)
    np.testing.assert_array_equal(x.grad.numpy(), want_grad)
    assert out.dtype == x.dtype == x.grad.dtype and idx.dtype == cr.int64
    return x.grad.numpy()


CASES = [dict(kernel_size=2), dict(kernel_size=3, stride=2, ceil_mode=True),
         dict(kernel_size=2, stride=3, ceil_mode=True), dict(kernel_size=3, stride=1, padding=1),
         dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), dict(kernel_size=2, stride=1, dilation=2),
         dict(kernel_size=3, stride=2, padding=1, dilation=2), dict(kernel_size=2, stride=1)]


@pytest.mark.parametrize("nd, size", [(1, (9,)), (2, (7, 5)), (3, (5, 4, 3))])
@pytest.mark.parametrize("kw", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_indices_and_gradients_follow_torchs_loop(nd, size, kw, dtype):
    # NOTE: few distinct values (odd sizes), so most windows hold ties and many elements win two windows
    check(np.random.default_rng(3).integers(-2, 3, (2, 3) + size).astype(dtype), nd, **kw)


def test_a_tie_gives_the_whole_gradient_to_the_first_maximum():
    grad_ = check(np.array([[[[2.0, 2.0], [2.0, 2.0]]]]), 2, kernel_size=2)
    np.testing.assert_array_equal(grad_[0, 0], [[1, 0], [0, 0]])


def test_an_element_that_is_the_maximum_of_two_overlapping_windows_gets_both_gradients():
    x = np.array([[[1.0, 5.0, 2.0, 0.0, 3.0]]])
    grad_ = check(x, 1, kernel_size=3, stride=1)
    np.testing.assert_array_equal(grad_[0, 0], [0, 2, 0, 0, 1])  # windows [1 5 2], [5 2 0], [2 0 3]


def test_nan_propagates_and_the_last_nan_of_a_window_is_its_position():
    nan = np.nan
    x = np.array([[[nan, 1.0, nan, 2.0, 4.0, nan, 3.0, 0.0]]])
    out, idx = F.max_pool1d(cr.tensor(x), 4, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), [[[nan, nan]]])
    np.testing.assert_array_equal(idx.numpy(), [[[2, 5]]])
    check(np.where(np.random.default_rng(0).random((2, 2, 6, 6)) < 0.2, nan, 1.0), 2, kernel_size=3, stride=2,
          padding=1, ceil_mode=True)


def test_padding_is_never_the_maximum_even_of_minus_infinity():
    x = np.full((1, 1, 4), -np.inf)
    out, idx = F.max_pool1d(cr.tensor(x), 3, stride=1, padding=1, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), [[[0, 0, 1, 2]]])  # torch's
    check(x, 1, kernel_size=3, stride=1, padding=1)


def test_unbatched_input_and_an_empty_batch():
    x = np.random.default_rng(1).standard_normal((3, 6, 5))
    out, idx = F.max_pool2d(cr.tensor(x), 2, return_indices=True)
    want_out, want_idx, _ = reference(x[None], 2)
    np.testing.assert_array_equal(out.numpy(), want_out[0])
    np.testing.assert_array_equal(idx.numpy(), want_idx[0])
    out, idx = F.max_pool2d(cr.zeros(0, 3, 4, 4), 2, return_indices=True)
    assert out.shape == idx.shape == (0, 3, 2, 2)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)])
def test_second_derivatives_and_forward_mode(kw):
    # NOTE: distinct, well separated values keep every maximum away from a tie (max pooling is piecewise linear)
    x_np = np.random.default_rng(2).permutation(50).reshape(1, 2, 5, 5) / 7.0
    x = cr.tensor(x_np, requires_grad=True)

    def f(t):
        return F.max_pool2d(t, **kw).square()
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))
    t = cr.tensor(np.random.default_rng(4).standard_normal(x_np.shape))
    with fwAD.dual_level():
        out_t = fwAD.unpack_dual(F.max_pool2d(fwAD.make_dual(x.detach(), t), **kw)).tangent
    _, idx = F.max_pool2d(x.detach(), return_indices=True, **kw)
    np.testing.assert_array_equal(out_t.numpy().reshape(2, -1),
                                  np.take_along_axis(t.numpy().reshape(2, -1), idx.numpy().reshape(2, -1), 1))


def test_vmap_of_values_indices_and_per_sample_gradients():
    xs = cr.tensor(np.random.default_rng(5).integers(0, 4, (3, 2, 2, 5, 5)).astype(np.float64))
    out, idx = vmap(lambda x: F.max_pool2d(x, 3, stride=1, padding=1, return_indices=True))(xs)
    for i in range(3):
        want_out, want_idx, want_grad = reference(xs.numpy()[i], 3, stride=1, padding=1)
        np.testing.assert_array_equal(out.numpy()[i], want_out)
        np.testing.assert_array_equal(idx.numpy()[i], want_idx)
    grads = vmap(grad(lambda x: F.max_pool2d(x, 3, stride=1, padding=1).sum()))(xs)
    for i in range(3):
        np.testing.assert_array_equal(grads.numpy()[i], reference(xs.numpy()[i], 3, stride=1, padding=1)[2])


def test_vmap_of_a_pullback_batches_the_cotangents_over_shared_positions():
    x = cr.tensor(np.random.default_rng(8).permutation(32).reshape(1, 2, 4, 4) / 3.0)
    out, pull = vjp(lambda t: F.max_pool2d(t, 3, stride=1, padding=1), x)
    gs = cr.tensor(np.random.default_rng(9).standard_normal((5,) + tuple(out.shape)))
    batched = vmap(pull)(gs)[0]
    for i in range(5):
        np.testing.assert_array_equal(batched.numpy()[i], pull(gs[i])[0].numpy())


@pytest.mark.parametrize("nd, kw", [(2, dict(kernel_size=2)), (2, dict(kernel_size=3, stride=2, padding=1,
                                                                         ceil_mode=True)),
                                    (1, dict(kernel_size=3, stride=1, dilation=2)), (3, dict(kernel_size=2, stride=1))])
def test_against_torch(nd, kw):
    torch = pytest.importorskip("torch")
    x_np = np.random.default_rng(6).integers(-2, 3, (2, 3) + (7,) * nd).astype(np.float32)
    x_np[0, 0].flat[3] = np.nan
    ours = cr.tensor(x_np, requires_grad=True)
    theirs = torch.tensor(x_np, requires_grad=True)
    out, idx = pool(nd)(ours, return_indices=True, **kw)
    t_out, t_idx = getattr(torch.nn.functional, f"max_pool{nd}d")(theirs, return_indices=True, **kw)
    g = np.random.default_rng(7).standard_normal(t_out.shape).astype(np.float32)
    out.backward(cr.tensor(g))
    t_out.backward(torch.tensor(g))
    np.testing.assert_array_equal(out.detach().numpy(), t_out.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_meta_tensors_get_meta_values_indices_and_gradients():
    x = cr.empty(2, 3, 9, 8, device="meta", requires_grad=True)
    out, idx = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, return_indices=True)
    assert out.device.type == idx.device.type == "meta" and out.shape == idx.shape == (2, 3, 5, 5)
    assert idx.dtype == cr.int64
    out.sum().backward()
    assert x.grad.device.type == "meta" and x.grad.shape == x.shape
