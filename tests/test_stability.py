"""Numerically stable forms: extreme inputs give finite values and finite gradients."""

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_sigmoid_and_softplus_of_plus_minus_1000(dtype):
    x = cr.tensor([-1000.0, 1000.0], dtype=dtype, requires_grad=True)
    s = cr.sigmoid(x)
    np.testing.assert_array_equal(s.detach().numpy(), [0.0, 1.0])
    s.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    x.grad = None
    p = cr.softplus(x)
    np.testing.assert_allclose(p.detach().numpy(), [0.0, 1000.0])
    p.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0])


def test_log_softmax_and_logsumexp_of_large_logits():
    x = cr.tensor([[1e4, 0.0, -1e4]], requires_grad=True)
    out = cr.log_softmax(x, 1)
    assert np.isfinite(out.detach().numpy()).all()
    out[0, 0].backward()
    assert np.isfinite(x.grad.numpy()).all()
    assert cr.logsumexp(cr.tensor([1e4, 1e4]), 0).item() == pytest.approx(1e4 + np.log(2))
