"""chainrule.func: grad, grad_and_value, vjp, jvp and linearize (values, structure, nesting, errors)."""

import math
from collections import namedtuple

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import grad, grad_and_value, jvp, linearize, vjp

RNG = np.random.default_rng(0)


def t64(*shape, seed=None):
    rng = RNG if seed is None else np.random.default_rng(seed)
    return cr.tensor(rng.standard_normal(shape))


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a.detach().numpy() if isinstance(a, cr.Tensor) else a),
                               np.asarray(b.detach().numpy() if isinstance(b, cr.Tensor) else b), rtol=tol, atol=tol)


W = t64(3, 4, seed=1)
B = t64(3, seed=2)


def composition(x, y):
    """matmul, tanh, exp, sum, broadcasting add and division in one function R^4 x R^(2,3) -> R^(2,3)."""
    h = cr.tanh(W @ x + B)                       # (3,)
    return (y * h + h.exp()) / (1 + (x * x).sum())   # (2, 3): broadcasting against h


def numeric_directional(f, args, tangents, eps=1e-6):
    plus = f(*[a + eps * t for a, t in zip(args, tangents)])
    minus = f(*[a - eps * t for a, t in zip(args, tangents)])
    return (plus - minus) / (2 * eps)


# -- grad --------------------------------------------------------------------------------------------

def test_grad_matches_closed_form_and_value():
    x = t64(5)
    g, v = grad_and_value(lambda x: (x ** 3).sum())(x)
    close(g, 3 * x.numpy() ** 2)
    close(v, (x.numpy() ** 3).sum())
    assert g.grad_fn is None and v.grad_fn is None and not g.requires_grad


def test_grad_leaves_the_callers_tensors_untouched():
    x = t64(4).requires_grad_()
    g = grad(lambda x: (x.sin() * x).sum())(x)
    assert x.grad is None
    # the caller's tensor required grad, so the result stays differentiable with respect to it
    g.sum().backward()
    xn = x.detach().numpy()
    close(x.grad, 2 * np.cos(xn) - xn * np.sin(xn))


def test_grad_argnums_tuple_negative_and_kwargs():
    x, y = t64(3), t64(3)
    gx, gy = grad(lambda x, y, scale=1.0: (scale * x * y.exp()).sum(), argnums=(0, 1))(x, y, scale=2.0)
    close(gx, 2 * y.exp())
    close(gy, 2 * x * y.exp())
    close(grad(lambda x, y: (x * y).sum(), argnums=-1)(x, y), x)


def test_grad_of_pytree_inputs_keeps_their_structure():
    Params = namedtuple("Params", ["w", "b"])
    p = {"layer": Params(t64(3, 2), t64(3)), "scale": [t64()]}
    x = t64(2)

    def loss(p, x):
        layer = p["layer"]
        return (p["scale"][0] * cr.tanh(layer.w @ x + layer.b)).sum()

    g = grad(loss)(p, x)
    assert isinstance(g, dict) and isinstance(g["layer"], Params) and isinstance(g["scale"], list)
    pre = p["layer"].w.numpy() @ x.numpy() + p["layer"].b.numpy()
    s = p["scale"][0].numpy()
    close(g["layer"].b, s * (1 - np.tanh(pre) ** 2))
    close(g["layer"].w, np.outer(s * (1 - np.tanh(pre) ** 2), x.numpy()))
    close(g["scale"][0], np.tanh(pre).sum())


def test_grad_has_aux():
    x = t64(3)
    g, aux = grad(lambda x: ((x ** 2).sum(), {"double": 2 * x, "n": 3}), has_aux=True)(x)
    close(g, 2 * x)
    close(aux["double"], 2 * x)
    assert aux["n"] == 3 and aux["double"].grad_fn is None
    g, (value, aux) = grad_and_value(lambda x: ((x ** 2).sum(), x.exp()), has_aux=True)(x)
    close(value, (x.numpy() ** 2).sum())
    close(aux, np.exp(x.numpy()))


def test_unused_inputs_and_constant_outputs_get_zero_gradients():
    x, y = t64(2), t64(3)
    gx, gy = grad(lambda x, y: (2 * x).sum(), argnums=(0, 1))(x, y)
    close(gx, [2.0, 2.0])
    close(gy, np.zeros(3))
    close(grad(lambda x: cr.tensor(1.0, dtype=cr.float64))(x), np.zeros(2))


@pytest.mark.parametrize("f, message", [
    (lambda x: x * 2, "scalar"),
    (lambda x: (x * 2).sum().reshape(1), "scalar"),
    (lambda x: 1.0, "return a Tensor"),
])
def test_grad_needs_a_scalar_tensor_output(f, message):
    with pytest.raises(RuntimeError, match=message):
        grad(f)(t64(2))


def test_grad_errors_name_the_problem():
    x = t64(2)
    with pytest.raises(RuntimeError, match="only floating point"):
        grad(lambda x: x.sum())(cr.tensor([1, 2]))
    with pytest.raises(ValueError, match="must be a Tensor"):
        grad(lambda x: x * 2)(3.0)
    with pytest.raises(RuntimeError, match="argnums=2, but f was called with only 1"):
        grad(lambda x: x.sum(), argnums=2)(x)
    with pytest.raises(RuntimeError, match="non-empty"):
        grad(lambda x: x.sum(), argnums=())(x)
    with pytest.raises(RuntimeError, match="unique"):
        grad(lambda x: x.sum(), argnums=(0, 0))(x)
    with pytest.raises(RuntimeError, match="must be int or Tuple"):
        grad(lambda x: x.sum(), argnums=0.0)(x)
    for bad in (lambda x: x.sum(), lambda x: (x.sum(), 1, 2), lambda x: [x.sum(), x]):
        with pytest.raises(RuntimeError, match=r"should be a tuple: \(output, aux\)"):
            grad(bad, has_aux=True)(x)


def test_grad_works_under_no_grad_and_ignores_it():
    x = t64(3).requires_grad_()
    with cr.no_grad():
        g = grad(lambda x: (x ** 2).sum())(x)
    close(g, 2 * x.detach())
    assert g.grad_fn is None


# -- nesting -----------------------------------------------------------------------------------------

def test_third_derivatives_by_nesting_grad():
    x = cr.tensor(0.7, dtype=cr.float64)
    t = math.tanh(0.7)
    close(grad(grad(grad(cr.tanh)))(x), -2 * (1 - t * t) * (1 - 3 * t * t))
    gaussian = lambda x: (-(x * x) / 2).exp()
    close(grad(grad(grad(gaussian)))(x), (3 * 0.7 - 0.7 ** 3) * math.exp(-0.49 / 2))
    close(grad(grad(grad(grad(cr.sin))))(x), math.sin(0.7))


def test_nested_grads_do_not_confuse_perturbations():
    # d/dx [x * d/dy (x + y)] = 1; confusing the two derivatives would give 2
    x = cr.tensor(3.0, dtype=cr.float64)
    close(grad(lambda x: x * grad(lambda y: x + y)(x))(x), 1.0)
    # the same with an inner function that closes over x: d/dx [d/dy (x * y)] = 1
    close(grad(lambda x: grad(lambda y: x * y)(x))(x), 1.0)
    close(jvp(lambda x: x * jvp(lambda y: x + y, (x,), (cr.ones_like(x),))[1], (x,), (cr.ones_like(x),))[1], 1.0)


def test_mixed_second_derivative_through_a_closure():
    x, y = t64(seed=3), t64(seed=4)
    f = lambda x, y: (x * x * y).sin()
    d2 = grad(lambda x: grad(lambda y: f(x, y))(y))(x)   # d2 f / dx dy
    xn, yn = float(x), float(y)
    close(d2, 2 * xn * math.cos(xn * xn * yn) - 2 * xn ** 3 * yn * math.sin(xn * xn * yn))


def test_forward_over_reverse_and_reverse_over_forward():
    x, v = t64(4), t64(4)
    f = lambda x: (cr.tanh(W @ x) * x.sum()).sum()
    _, hv = jvp(grad(f), (x,), (v,))                                       # forward-over-reverse
    rv = grad(lambda x: jvp(f, (x,), (v,))[1])(x)                            # reverse-over-forward
    numeric = numeric_directional(grad(f), [x], [v])
    close(hv, numeric, 1e-7)
    close(rv, hv)
    assert hv.grad_fn is None and rv.grad_fn is None


def test_derivative_with_respect_to_a_tangent():
    # d/dv (H v) = H: the tangent's own graph must survive the inner backward pass
    x, v = t64(3), t64(3)
    f = lambda x: (cr.tanh(x) * x.sum()).sum()
    hessian_by_tangent = cr.func.jacrev(lambda v: jvp(grad(f), (x,), (v,))[1])(v)
    close(hessian_by_tangent, cr.func.hessian(f)(x))


# -- vjp ---------------------------------------------------------------------------------------------

def test_vjp_is_linear_and_reusable():
    x, y = t64(4), t64(2, 3)
    out, vjp_fn = vjp(composition, x, y)
    close(out, composition(x, y))
    u1, u2 = t64(2, 3), t64(2, 3)
    a1 = vjp_fn(u1)
    a2 = vjp_fn(u2)
    combined = vjp_fn(2.0 * u1 - 3.0 * u2)          # the graph is kept: any number of calls
    for c, g1, g2 in zip(combined, a1, a2):
        close(c, 2.0 * g1 - 3.0 * g2)
    # dot test against forward mode: <u, J v> == <J^T u, v>
    vx, vy = t64(4), t64(2, 3)
    _, jv = jvp(composition, (x, y), (vx, vy))
    lhs = float((u1 * jv).sum())
    rhs = float((a1[0] * vx).sum() + (a1[1] * vy).sum())
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_vjp_pytrees_in_and_out_and_aux():
    x = {"a": t64(2), "b": t64(2)}
    out, vjp_fn, aux = vjp(lambda d: ((d["a"] * d["b"], d["a"].sum()), d["b"] * 3), x, has_aux=True)
    (gx,) = vjp_fn((cr.ones(2, dtype=cr.float64), cr.tensor(2.0, dtype=cr.float64)))
    close(gx["a"], x["b"] + 2)
    close(gx["b"], x["a"])
    close(aux, 3 * x["b"])
    assert isinstance(out, tuple) and out[0].grad_fn is None


def test_vjp_errors():
    out, vjp_fn = vjp(lambda x: (x * 2, x.sum()), t64(2))
    with pytest.raises(RuntimeError, match="pytree structure of cotangents"):
        vjp_fn(cr.ones(2))
    with pytest.raises(RuntimeError, match="mismatch in shape"):
        vjp_fn((cr.ones(3), cr.tensor(1.0)))
    with pytest.raises(RuntimeError, match="return only tensors"):
        vjp(lambda x: 3.0, t64(2))
    with pytest.raises(RuntimeError, match="at least one primal"):
        vjp(lambda: cr.ones(2))


def test_vjp_cotangent_that_requires_grad_gives_a_differentiable_result():
    x = t64(3)
    _, vjp_fn = vjp(cr.sin, x)
    u = t64(3).requires_grad_()
    (g,) = vjp_fn(u)
    (gu,) = cr.autograd.grad(g.sum(), u)
    close(gu, np.cos(x.numpy()))


# -- jvp and linearize -------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_jvp_matches_finite_differences(seed):
    x, y = t64(4, seed=seed), t64(2, 3, seed=seed + 10)
    vx, vy = t64(4, seed=seed + 20), t64(2, 3, seed=seed + 30)
    out, jv = jvp(composition, (x, y), (vx, vy))
    close(out, composition(x, y))
    close(jv, numeric_directional(composition, [x, y], [vx, vy]), 1e-7)


def test_jvp_is_linear_and_builds_no_graph():
    x, v1, v2 = t64(4), t64(4), t64(4)
    f = lambda x: composition(x, t64(2, 3, seed=5))
    out, j1 = jvp(f, (x,), (v1,))
    _, j2 = jvp(f, (x,), (v2,))
    _, j12 = jvp(f, (x,), (0.5 * v1 + 4.0 * v2,))
    close(j12, 0.5 * j1 + 4.0 * j2)
    assert out.grad_fn is None and j1.grad_fn is None and not out.requires_grad


def test_jvp_pytrees_aux_and_independent_outputs():
    p = ({"a": t64(2)}, [t64(2)])
    t = ({"a": cr.ones(2, dtype=cr.float64)}, [2 * cr.ones(2, dtype=cr.float64)])
    out, jv, aux = jvp(lambda d, l: ({"prod": d["a"] * l[0], "const": cr.ones(3)}, l[0] * 2), p, t, has_aux=True)
    close(jv["prod"], p[1][0] + 2 * p[0]["a"])
    close(jv["const"], np.zeros(3))
    close(aux, 2 * p[1][0])
    assert aux.grad_fn is None


def test_jvp_errors():
    x = t64(2)
    with pytest.raises(RuntimeError, match="expected primals to be a tuple"):
        jvp(lambda x: x * 2, x, cr.ones(2))
    with pytest.raises(RuntimeError, match="same structure"):
        jvp(lambda x, y: x * y, (x, x), (x,))
    with pytest.raises(RuntimeError, match="tangent 0 has shape"):
        jvp(lambda x: x * 2, (x,), (cr.ones(3),))
    with pytest.raises(ValueError, match="floating point"):
        jvp(lambda x: x * 2, (cr.tensor([1, 2]),), (cr.tensor([1, 2]),))
    with pytest.raises(RuntimeError, match="independent"):
        jvp(lambda x: cr.ones(2), (x,), (x,), strict=True)


def test_linearize_pushes_many_tangents_without_rerunning_f():
    calls = []

    def f(x, y):
        calls.append(1)
        return composition(x, y)

    x, y = t64(4), t64(2, 3)
    out, jvp_fn = linearize(f, x, y)
    assert len(calls) == 1
    for seed in range(3):
        vx, vy = t64(4, seed=40 + seed), t64(2, 3, seed=50 + seed)
        close(jvp_fn(vx, vy), jvp(composition, (x, y), (vx, vy))[1])
    assert len(calls) == 1
    close(out, composition(x, y))
    with pytest.raises(RuntimeError, match="structure of the primals"):
        jvp_fn(vx)
