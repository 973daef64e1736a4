"""Higher derivatives: third derivatives against closed forms, by every route (create_graph, nested
transforms, nested dual levels), and forward-over-reverse Hessian-vector products for every smooth op.

Second derivatives against finite differences run for every op in tests/test_ops.py (gradgradcheck); here
the forward-over-reverse product H v of each smooth op is checked against reverse-over-reverse, two exact
computations that share no code path in their second pass.
"""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import forward_ad as fwAD
from chainrule.func import grad, jvp, vjp

from .opdb import all_entries


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


# (name, function, third derivative, points): closed forms of f'''.
THIRD = [
    ("tanh", cr.tanh, lambda x: -2 * (1 - math.tanh(x) ** 2) * (1 - 3 * math.tanh(x) ** 2), (-1.3, 0.2, 0.9)),
    ("gaussian", lambda x: (-(x * x) / 2).exp(), lambda x: (3 * x - x ** 3) * math.exp(-x * x / 2), (-1.1, 0.4, 2.0)),
    ("sin", cr.sin, lambda x: -math.cos(x), (-2.0, 0.3, 1.7)),
    ("exp", cr.exp, math.exp, (-1.0, 0.5)),
    ("log", cr.log, lambda x: 2 / x ** 3, (0.4, 2.5)),
    ("sigmoid", cr.sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x)) * (1 - 6 * _sigmoid(x) + 6 * _sigmoid(x) ** 2),
     (-0.8, 1.2)),
    ("pow", lambda x: x ** 3.5, lambda x: 3.5 * 2.5 * 1.5 * x ** 0.5, (0.7, 2.0)),
    ("erf", cr.erf, lambda x: (4 * x * x - 2) * 2 / math.sqrt(math.pi) * math.exp(-x * x), (-0.6, 1.1)),
    ("softplus", cr.softplus, lambda x: _sigmoid(x) * (1 - _sigmoid(x)) * (1 - 2 * _sigmoid(x)), (-1.5, 0.7)),
    ("reciprocal", cr.reciprocal, lambda x: -6 / x ** 4, (0.5, 1.5)),
]
THIRD_CASES = [pytest.param(f, d3, x, id=f"{name}-{x}") for name, f, d3, xs in THIRD for x in xs]


def scalar(x):
    return cr.tensor(x, dtype=cr.float64)


@pytest.mark.parametrize("f, d3, x", THIRD_CASES)
def test_third_derivative_by_autograd_grad_create_graph(f, d3, x):
    x = scalar(x).requires_grad_()
    (g1,) = cr.autograd.grad(f(x), x, create_graph=True)
    (g2,) = cr.autograd.grad(g1, x, create_graph=True)
    (g3,) = cr.autograd.grad(g2, x)
    assert float(g3) == pytest.approx(d3(float(x)), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("f, d3, x", THIRD_CASES)
def test_third_derivative_by_backward_create_graph(f, d3, x):
    x = scalar(x).requires_grad_()
    f(x).backward(create_graph=True)
    g1, x.grad = x.grad, None
    g1.backward(create_graph=True)
    g2, x.grad = x.grad, None
    g2.backward()
    assert float(x.grad) == pytest.approx(d3(float(x)), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("f, d3, x", THIRD_CASES)
def test_third_derivative_by_every_transform_nesting(f, d3, x):
    x = scalar(x)
    one = scalar(1.0)
    expected = d3(float(x))
    d1_fwd = lambda x: jvp(f, (x,), (one,))[1]
    d2_fwd = lambda x: jvp(d1_fwd, (x,), (one,))[1]
    routes = {
        "reverse^3": grad(grad(grad(f))),
        "forward^3": lambda x: jvp(d2_fwd, (x,), (one,))[1],
        "forward-over-reverse^2": lambda x: jvp(grad(grad(f)), (x,), (one,))[1],
        "reverse-over-forward^2": grad(d2_fwd),
        "reverse-forward-reverse": grad(lambda x: jvp(grad(f), (x,), (one,))[1]),
    }
    for route, d3_fn in routes.items():
        assert float(d3_fn(x)) == pytest.approx(expected, rel=1e-10, abs=1e-12), route


def test_forward_over_forward_with_nested_dual_levels():
    x = scalar(0.6)
    with fwAD.dual_level():
        x1 = fwAD.make_dual(x, scalar(1.0))
        with fwAD.dual_level():
            x2 = fwAD.make_dual(x1, scalar(1.0))
            y = cr.sin(x2) * x2
            d_inner = fwAD.unpack_dual(y).tangent           # d/dx at the inner level: cos(x) x + sin(x)
        d2 = fwAD.unpack_dual(d_inner).tangent             # its derivative: 2 cos(x) - x sin(x)
    assert float(d_inner) == pytest.approx(math.cos(0.6) * 0.6 + math.sin(0.6), rel=1e-12)
    assert float(d2) == pytest.approx(2 * math.cos(0.6) - 0.6 * math.sin(0.6), rel=1e-12)


# -- forward-over-reverse Hessian-vector products over the op database ---------------------------------

SMOOTH = [pytest.param(e, s, id=f"{e.name}-{i}") for e in all_entries() if e.differentiable and e.twice and e.jvp
          for i, s in enumerate(e.samples) if s.differentiable_positions()]


def _scalarized(entry, sample):
    """``(f, primals)``: f maps the differentiable inputs to <u, entry(inputs)> for fixed random cotangents u."""
    positions = sample.differentiable_positions()
    fixed = [cr.tensor(a) if isinstance(a, np.ndarray) else a for a in sample.args]
    outs = [o for o in _as_tuple(entry.fn(*fixed)) if isinstance(o, cr.Tensor) and o.dtype.is_floating_point]
    rng = np.random.default_rng(5)
    cotangents = [cr.tensor(rng.standard_normal(o.shape)) for o in outs]

    def f(*xs):
        args = list(fixed)
        for p, x in zip(positions, xs):
            args[p] = x
        outs = [o for o in _as_tuple(entry.fn(*args)) if isinstance(o, cr.Tensor) and o.dtype.is_floating_point]
        total = cr.tensor(0.0, dtype=cr.float64)
        for o, u in zip(outs, cotangents):
            total = total + (o * u).sum()
        return total

    return f, tuple(fixed[p] for p in positions)


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


@pytest.mark.parametrize("entry, sample", SMOOTH)
def test_forward_over_reverse_hvp_equals_reverse_over_reverse(entry, sample):
    f, primals = _scalarized(entry, sample)
    rng = np.random.default_rng(6)
    v = tuple(cr.tensor(rng.standard_normal(p.shape)) for p in primals)
    argnums = tuple(range(len(primals)))
    _, hv_forward = jvp(grad(f, argnums=argnums), primals, v)
    _, vjp_fn = vjp(grad(f, argnums=argnums), *primals)
    hv_reverse = vjp_fn(v)
    for a, b in zip(hv_forward, hv_reverse):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-8, atol=1e-10)
