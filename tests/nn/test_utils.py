"""nn.utils: clip_grad_norm_ (value and scaling), clip_grad_value_, parameters <-> vector."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def params_with_grads(*grads):
    params = []
    for g in grads:
        p = nn.Parameter(cr.zeros(len(g)))
        p.grad = cr.tensor(g)
        params.append(p)
    return params


def test_clip_grad_norm_returns_total_norm_and_scales():
    params = params_with_grads([3.0, 0.0], [0.0, 4.0, 12.0])
    total = nn.utils.clip_grad_norm_(params, max_norm=6.5)
    assert total.item() == pytest.approx(13.0)
    coef = 6.5 / (13.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad.numpy(), [3.0 * coef, 0.0], rtol=1e-6)
    np.testing.assert_allclose(params[1].grad.numpy(), [0.0, 4.0 * coef, 12.0 * coef], rtol=1e-6)
    norm_after = math.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in params))
    assert norm_after == pytest.approx(6.5, rel=1e-5)


def test_clip_grad_norm_leaves_small_gradients_and_supports_other_norms():
    params = params_with_grads([0.3, -0.4])
    assert nn.utils.clip_grad_norm_(params, 1.0).item() == pytest.approx(0.5)
    np.testing.assert_allclose(params[0].grad.numpy(), [0.3, -0.4])
    params = params_with_grads([1.0, -5.0], [2.0])
    assert nn.utils.clip_grad_norm_(params, 10.0, norm_type=float("inf")).item() == 5.0
    assert nn.utils.clip_grad_norm_(params, 10.0, norm_type=1).item() == pytest.approx(8.0)
    assert nn.utils.clip_grad_norm_([nn.Parameter(cr.zeros(2))], 1.0).item() == 0.0  # no gradients


def test_clip_grad_norm_nonfinite():
    params = params_with_grads([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


def test_clip_grad_value():
    params = params_with_grads([-3.0, 0.5, 2.0])
    assert nn.utils.clip_grad_value_(params, 1.0) is None
    np.testing.assert_array_equal(params[0].grad.numpy(), [-1.0, 0.5, 1.0])


def test_parameters_to_vector_and_back():
    net = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(net.parameters())
    assert vec.shape == (8,)
    np.testing.assert_array_equal(vec.detach().numpy()[:6], net.weight.detach().numpy().reshape(-1))
    nn.utils.vector_to_parameters(cr.arange(8.0), net.parameters())
    np.testing.assert_array_equal(net.bias.detach().numpy(), [6.0, 7.0])
    with pytest.raises(RuntimeError, match="8 elements"):
        nn.utils.vector_to_parameters(cr.arange(7.0), net.parameters())
