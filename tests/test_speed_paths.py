"""Behaviour of the fast paths taken for speed (issue 11): the values they must keep exact."""

import warnings

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("dtype", [cr.float16, cr.float32, cr.float64])
def test_sigmoid_saturates_exactly_without_warnings(dtype):
    x = cr.tensor([-1000.0, 0.0, -0.0, 100.0, 1000.0, float("inf"), float("-inf")], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cr.sigmoid(x).numpy()
    assert out.dtype == x.numpy().dtype
    np.testing.assert_array_equal(out, [0.0, 0.5, 0.5, 1.0, 1.0, 1.0, 0.0])


def test_sigmoid_matches_extended_precision():
    rng = np.random.default_rng(0)
    for dtype, rtol in ((np.float32, 3e-7), (np.float64, 5e-16)):
        x = (rng.standard_normal(10000) * 30).astype(dtype)
        ref = 1 / (1 + np.exp(-x.astype(np.longdouble)))
        keep = ref > np.finfo(dtype).tiny
        out = cr.sigmoid(cr.tensor(x)).numpy()
        assert np.max(np.abs(out - ref)[keep] / ref[keep]) < rtol


def test_sigmoid_float64_tail_is_not_flushed():
    assert cr.sigmoid(cr.tensor([-100.0], dtype=cr.float64)).item() == pytest.approx(np.exp(-100.0), rel=1e-15)


def test_leaky_relu_float64_gradient_is_exact():
    x = cr.tensor([2.0, -3.0, -0.5], dtype=cr.float64, requires_grad=True)
    cr.nn.functional.leaky_relu(x, 0.1).sum().backward()
    assert x.grad.dtype == cr.float64
    np.testing.assert_array_equal(x.grad.numpy(), np.array([1.0, 0.1, 0.1]))


def test_leaky_relu_float32_gradient_keeps_dtype():
    x = cr.tensor([2.0, -3.0], requires_grad=True)
    cr.leaky_relu(x, 0.1).sum().backward()
    assert x.grad.dtype == cr.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.array([1.0, 0.1], dtype=np.float32))
