"""chainrule.autograd.functional: vjp, jvp, jacobian, hessian, hvp, vhp (torch.autograd.functional's API)."""

import tracemalloc

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import functional as F

from ..helpers import close, t64


def cube_sum(x):
    return (x ** 3).sum()


def test_results_nest_like_torch():
    x, y = t64(2), t64(seed=1)
    out, g = F.vjp(cube_sum, x)
    close(out, (x.numpy() ** 3).sum())
    close(g, 3 * x.numpy() ** 2)
    out, (gx, gy) = F.vjp(lambda x, y: x * y, (x, y), cr.ones(2, dtype=cr.float64))
    close(gx, np.full(2, float(y)))
    close(gy, x.sum())
    (o1, o2), (gx, gy) = F.vjp(lambda x, y: (x * y, y), (x, y), (cr.ones(2, dtype=cr.float64), cr.tensor(1.0)))
    close(gy, float(x.sum()) + 1)
    out, jv = F.jvp(lambda x: x ** 2, x, cr.ones(2, dtype=cr.float64))
    close(jv, 2 * x)
    jac = F.jacobian(lambda x, y: (x * y, y), (x, y))
    close(jac[0][0], np.eye(2) * float(y))
    close(jac[0][1], x)
    close(jac[1][0], np.zeros(2))
    close(jac[1][1], 1.0)
    close(F.jacobian(lambda x: x ** 2, x), np.diag(2 * x.numpy()))


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobian_and_hessian_strategies_agree(strategy):
    w = t64(3, 4, seed=2)
    x, y = t64(4, seed=3), t64(3, seed=4)
    f = lambda x, y: cr.tanh(w @ x) * y.exp() / (1 + (x * x).sum())
    jac = F.jacobian(f, (x, y), strategy=strategy)
    ref = cr.func.jacrev(f, argnums=(0, 1))(x, y)
    for a, b in zip(jac, ref):
        close(a, b)
    s = lambda x, y: f(x, y).sum()
    hes = F.hessian(s, (x, y), outer_jacobian_strategy=strategy)
    ref = cr.func.hessian(s, argnums=(0, 1))(x, y)
    for i in range(2):
        for j in range(2):
            close(hes[i][j], ref[i][j])
    with pytest.raises(ValueError, match="strategy"):
        F.jacobian(f, (x, y), strategy="sideways")


def test_hvp_and_vhp_equal_the_hessian_times_v():
    a = t64(5, 5, seed=5)
    f = lambda x, y: cr.tanh(a @ x).sum() * (y * y).sum()
    x, y, vx, vy = t64(5, seed=6), t64(2, seed=7), t64(5, seed=8), t64(2, seed=9)
    h = F.hessian(f, (x, y))
    expected_x = h[0][0] @ vx + h[0][1] @ vy
    expected_y = h[1][0] @ vx + h[1][1] @ vy
    for product in (F.hvp, F.vhp):
        value, (px, py) = product(f, (x, y), (vx, vy))
        close(value, f(x, y))
        close(px, expected_x)
        close(py, expected_y)


@pytest.mark.parametrize("product", [F.hvp, F.vhp])
def test_hessian_vector_products_scale_to_1e5_inputs(product):
    n = 100_000
    rng = np.random.default_rng(11)
    x, v = cr.tensor(rng.standard_normal(n)), cr.tensor(rng.standard_normal(n))
    tracemalloc.start()
    value, hv = product(lambda x: (x ** 4).sum() + cr.tanh(x).sum() * 0.5, x, v)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    xn, t = x.numpy(), np.tanh(x.numpy())
    close(hv, (12 * xn ** 2 - t * (1 - t * t)) * v.numpy(), 1e-9)
    close(value, (xn ** 4).sum() + 0.5 * t.sum(), 1e-9)
    # O(n) memory: a few dozen vectors of n float64s, far from the n^2 of a Hessian
    assert peak < 64 * n * 8


def test_create_graph_keeps_results_differentiable():
    x = t64(3).requires_grad_()
    out, g = F.vjp(lambda x: x ** 2, x, cr.ones(3, dtype=cr.float64))
    assert not out.requires_grad and not g.requires_grad
    out, g = F.vjp(lambda x: x ** 3, x, cr.ones(3, dtype=cr.float64), create_graph=True)
    g.sum().backward()
    close(x.grad, 6 * x.detach())
    h = F.hessian(cube_sum, x, create_graph=True)
    assert h.requires_grad
    _, hv = F.hvp(cube_sum, x, cr.ones(3, dtype=cr.float64), create_graph=True)
    (d,) = cr.autograd.grad(hv.sum(), x)
    close(d, np.full(3, 6.0))
    out, jv = F.jvp(lambda x: x ** 2, x, cr.ones(3, dtype=cr.float64))
    assert not out.requires_grad and not jv.requires_grad


def test_v_defaults_and_checks():
    x = t64(2)
    with pytest.raises(RuntimeError, match="v can only be None"):
        F.vjp(lambda x: x ** 2, x)
    with pytest.raises(RuntimeError, match="v can only be None"):
        F.hvp(cube_sum, x)
    _, g = F.hvp(cube_sum, cr.tensor([2.0], dtype=cr.float64))
    close(g, [12.0])
    with pytest.raises(RuntimeError, match="invalid size"):
        F.vjp(lambda x: x * 2, x, cr.ones(3))
    with pytest.raises(RuntimeError, match="one per output"):
        F.vjp(lambda x: x * 2, x, (cr.ones(2), cr.ones(2)))


def test_errors_and_strict_mode():
    x, y = t64(2), t64()
    with pytest.raises(TypeError, match="Tensor or a tuple of Tensors"):
        F.vjp(lambda x, y: x * y, [x, y], cr.ones(2))
    with pytest.raises(TypeError, match="Tensor or a tuple of Tensors"):
        F.vjp(lambda x: 3.0, x)
    with pytest.raises(RuntimeError, match="only floating point"):
        F.vjp(lambda x: x * 2, cr.tensor([1, 2]), cr.ones(2))
    with pytest.raises(RuntimeError, match="single element"):
        F.hessian(lambda x: x ** 2, x)
    # unused inputs give zeros, or an error in strict mode
    _, (gx, gy) = F.vjp(lambda x, y: x * 2, (x, y), cr.ones(2, dtype=cr.float64))
    close(gy, 0.0)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        F.vjp(lambda x, y: x * 2, (x, y), cr.ones(2, dtype=cr.float64), strict=True)
    with pytest.raises(RuntimeError, match="does not require gradients"):
        F.vjp(lambda x: cr.ones(2), x, cr.ones(2), strict=True)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        F.jacobian(lambda x, y: x * 2, (x, y), strict=True)
    with pytest.raises(RuntimeError, match="independent"):
        F.hvp(lambda x: x.sum(), x, cr.ones(2, dtype=cr.float64), strict=True)
    with pytest.raises(RuntimeError, match="independent"):
        F.jvp(lambda x: cr.ones(2), x, cr.ones(2, dtype=cr.float64), strict=True)
