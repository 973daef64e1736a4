"""Forward mode (chainrule.autograd.forward_ad): dual levels, no reverse graph unless asked, custom Functions
with jvp, composition with reverse mode, and clean-up of tangents when a level closes."""

import gc
import math
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function
from chainrule.autograd import forward_ad as fwAD
from chainrule.func import jacfwd, jvp

from .helpers import t64


def composite(x, w):
    return cr.tanh(w @ x).exp() / (1 + (x * x).sum()) + x.sum()


def test_tangent_is_the_directional_derivative():
    x, v, w = t64(4), t64(4, seed=1), t64(3, 4, seed=2)
    with fwAD.dual_level():
        out = composite(fwAD.make_dual(x, v), w)
        primal, tangent = fwAD.unpack_dual(out)
    eps = 1e-6
    numeric = (composite(x + eps * v, w) - composite(x - eps * v, w)) / (2 * eps)
    np.testing.assert_allclose(tangent.numpy(), numeric.numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(primal.numpy(), composite(x, w).numpy(), rtol=1e-15)


def test_forward_mode_builds_no_reverse_graph_unless_an_input_requires_grad():
    x, v, w = t64(4), t64(4, seed=1), t64(3, 4, seed=2)
    with fwAD.dual_level():
        out = composite(fwAD.make_dual(x, v), w)
        primal, tangent = fwAD.unpack_dual(out)
        assert out.grad_fn is None and primal.grad_fn is None and tangent.grad_fn is None
        assert not out.requires_grad
    out, tangent = jvp(lambda x: composite(x, w), (x,), (v,))
    assert out.grad_fn is None and tangent.grad_fn is None
    # asked for: an input that requires grad records the graph, tangents included (reverse-over-forward)
    xr = x.clone().requires_grad_()
    with fwAD.dual_level():
        out = composite(fwAD.make_dual(xr, v), w)
        tangent = fwAD.unpack_dual(out).tangent
        assert out.grad_fn is not None and tangent.grad_fn is not None
        (g,) = cr.autograd.grad(tangent.sum(), xr)
    assert g.shape == x.shape


def test_tangents_are_dropped_when_the_level_closes():
    x = t64(3)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, cr.ones_like(x))
        y = d * 2
        assert fwAD.unpack_dual(y).tangent is not None
    assert fwAD.unpack_dual(y).tangent is None
    assert fwAD.unpack_dual(d) == (d, None)


def test_make_dual_checks_its_arguments():
    with pytest.raises(RuntimeError, match="no forward-AD level is active"):
        fwAD.make_dual(t64(2), t64(2))
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="must match"):
            fwAD.make_dual(t64(2), t64(3))
        with pytest.raises(TypeError, match="floating point"):
            fwAD.make_dual(cr.tensor([1, 2]), cr.tensor([1, 2]))


class Square(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g

    @staticmethod
    def jvp(ctx, x_t):
        (x,) = ctx.saved_tensors
        return 2 * x * x_t


class NoJvp(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, g):
        return 3 * g


def test_custom_function_jvp_in_transforms():
    x, v = t64(3), t64(3, seed=1)
    out, tangent = jvp(Square.apply, (x,), (v,))
    np.testing.assert_allclose(tangent.numpy(), 2 * x.numpy() * v.numpy(), rtol=1e-15)
    np.testing.assert_allclose(jacfwd(lambda x: Square.apply(x).sin())(x).numpy(),
                               np.diag(np.cos(x.numpy() ** 2) * 2 * x.numpy()), rtol=1e-12)
    # the custom rule composes with reverse mode: the derivative of the tangent with respect to x
    xr = x.clone().requires_grad_()
    _, tangent = jvp(Square.apply, (xr,), (v,))
    (g,) = cr.autograd.grad(tangent.sum(), xr)
    np.testing.assert_allclose(g.numpy(), 2 * v.numpy(), rtol=1e-15)


def test_function_without_jvp_raises_naming_it():
    with pytest.raises(RuntimeError, match="NoJvp: this op has no forward-mode"):
        jvp(NoJvp.apply, (t64(2),), (t64(2),))


@pytest.mark.parametrize("op, d2", [
    (cr.tanh, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    (cr.exp, np.exp),
    (cr.sigmoid, lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s) * (1 - 2 * s)),
    (cr.sqrt, lambda x: -0.25 * x ** -1.5),
])
def test_forward_over_reverse_through_ops_whose_backward_reads_their_output(op, d2):
    # these VJPs use the saved output (1 - out^2, out, ...); its tangent must flow too
    x = cr.tensor([0.3, 0.8, 1.7], dtype=cr.float64)
    v = cr.tensor([1.0, -2.0, 0.5], dtype=cr.float64)
    with fwAD.dual_level():
        xd = fwAD.make_dual(x, v).requires_grad_()
        (g,) = cr.autograd.grad(op(xd).sum(), xd)
        hv = fwAD.unpack_dual(g).tangent
    np.testing.assert_allclose(hv.numpy(), d2(x.numpy()) * v.numpy(), rtol=1e-12)


def test_forward_over_reverse_graph_is_freed_without_the_cycle_collector():
    gc.collect()
    gc.disable()
    try:
        x = t64(3)
        with fwAD.dual_level():
            xd = fwAD.make_dual(x, cr.ones_like(x)).requires_grad_()
            y = cr.tanh(xd)
            node = weakref.ref(y.grad_fn)
            z = (y * 2).sum()
            del y   # the node now holds the only reference to y's tangent
            (g,) = cr.autograd.grad(z, xd, create_graph=True)
            hv = fwAD.unpack_dual(g).tangent
            del z, g
        t = np.tanh(x.numpy())
        np.testing.assert_allclose(hv.detach().numpy(), -4 * t * (1 - t * t), rtol=1e-12)
        del hv, xd
        assert node() is None
    finally:
        gc.enable()


def test_nested_levels_keep_perturbations_apart():
    # d/dx [x * (d/dy (x + y))] = 1 with two forward levels; confusing them would give 2
    x = cr.tensor(2.0, dtype=cr.float64)
    with fwAD.dual_level():
        xd = fwAD.make_dual(x, cr.tensor(1.0, dtype=cr.float64))
        with fwAD.dual_level():
            yd = fwAD.make_dual(xd, cr.tensor(1.0, dtype=cr.float64))
            inner = fwAD.unpack_dual(xd + yd).tangent
        out = fwAD.unpack_dual(xd * inner).tangent
    assert float(out) == pytest.approx(1.0)
    assert math.isclose(float(inner), 1.0)


def test_forward_over_reverse_sees_through_an_in_place_update():
    """A Hessian-vector product through ``exp_`` (the in-place op rebases the tensor's history and tangent)."""
    x = cr.tensor([0.5, 1.0], dtype=cr.float64)
    v = cr.tensor([1.0, -2.0], dtype=cr.float64)
    _, hvp = jvp(cr.func.grad(lambda t: (t * 1.0).exp_().sum()), (x,), (v,))
    np.testing.assert_allclose(hvp.numpy(), np.exp(x.numpy()) * v.numpy())
