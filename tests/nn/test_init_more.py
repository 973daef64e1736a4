"""nn.init's trunc_normal_, orthogonal_, dirac_ and sparse_: their defining properties and torch's errors."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import init


def _truncated_mean(mean, std, a, b):
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    return mean + std * (pdf(alpha) - pdf(beta)) / (cdf(beta) - cdf(alpha))


def test_trunc_normal_bounds_and_mean():
    cr.manual_seed(0)
    w = init.trunc_normal_(cr.empty(200000, dtype=cr.float64), mean=0.1, std=0.5, a=-0.4, b=1.0).numpy()
    assert w.min() >= -0.4 and w.max() <= 1.0
    assert abs(w.mean() - _truncated_mean(0.1, 0.5, -0.4, 1.0)) < 3e-3
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        init.trunc_normal_(cr.empty(3), mean=10.0)


def test_orthogonal_rows_or_columns():
    q = init.orthogonal_(cr.empty(3, 5), gain=2.0).numpy()
    np.testing.assert_allclose(q @ q.T, 4 * np.eye(3), atol=1e-5)
    q = init.orthogonal_(cr.empty(6, 2, 2)).numpy().reshape(6, 4)
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-5)
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        init.orthogonal_(cr.empty(3))


def test_dirac_passes_channels_through():
    w = init.dirac_(cr.empty(4, 2, 3, 3), groups=2)
    x = cr.randn(1, 4, 5, 5)
    out = cr.nn.functional.conv2d(x, w, padding=1, groups=2)
    np.testing.assert_allclose(out.numpy(), x.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions are supported"):
        init.dirac_(cr.empty(2, 2))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        init.dirac_(cr.empty(3, 1, 3), groups=2)


def test_sparse_zeros_per_column():
    cr.manual_seed(1)
    w = init.sparse_(cr.empty(10, 4), 0.25, std=0.1).numpy()
    assert list((w == 0).sum(0)) == [3] * 4  # ceil(0.25 * 10)
    assert 0.02 < w[w != 0].std() < 0.2
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.sparse_(cr.empty(3), 0.5)


def test_in_place_and_no_graph():
    w = cr.nn.Parameter(cr.empty(4, 4))
    assert init.orthogonal_(w) is w and w.grad_fn is None and w.requires_grad
    assert init.trunc_normal_(w) is w and init.sparse_(w, 0.5) is w
