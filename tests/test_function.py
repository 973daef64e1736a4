"""Custom autograd.Function: the lecture's modular API on the same engine as built-in ops."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function, gradcheck, gradgradcheck
from chainrule.autograd import forward_ad as fwAD

from .helpers import Cube


class ScaleBy(Function):
    """Non-tensor argument: backward returns None for it."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x * factor

    @staticmethod
    def backward(ctx, g):
        return g * ctx.factor, None


class SplitSign(Function):
    """Two outputs, one of them non-differentiable."""

    @staticmethod
    def forward(ctx, x):
        mask = x > 0
        ctx.mark_non_differentiable(mask)
        ctx.save_for_backward(mask)
        return x * 2, mask

    @staticmethod
    def backward(ctx, g, g_mask):
        return g * 2


def test_cube_gradient_and_second_derivative():
    x = cr.tensor([1.0, -2.0], dtype=cr.float64, requires_grad=True)
    assert gradcheck(Cube.apply, (x,))
    assert gradgradcheck(Cube.apply, (x,))
    y = Cube.apply(x)
    assert "CubeBackward" in repr(y)
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 12.0]


def test_non_tensor_arguments_and_needs_input_grad():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x, y, k):
            seen["needs"] = ctx.needs_input_grad
            return x * y * k

        @staticmethod
        def backward(ctx, g):
            return g, None, None

    x = cr.tensor(1.0, requires_grad=True)
    Probe.apply(x, cr.tensor(2.0), 3).backward()
    assert seen["needs"] == (True, False, False)
    z = ScaleBy.apply(x, 4.0)
    z.backward()
    assert x.grad.item() == 5.0


def test_multiple_outputs_and_non_differentiable():
    x = cr.tensor([1.0, -1.0], requires_grad=True)
    y, mask = SplitSign.apply(x)
    assert not mask.requires_grad and mask.tolist() == [True, False]
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_function_saved_tensors_freed_after_backward():
    x = cr.tensor(2.0, requires_grad=True)
    y = Cube.apply(x)
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_function_forward_runs_without_grad():
    class Check(Function):
        @staticmethod
        def forward(ctx, x):
            assert not cr.is_grad_enabled()
            return x + 1

        @staticmethod
        def backward(ctx, g):
            return g

    assert Check.apply(cr.tensor(1.0, requires_grad=True)).requires_grad


def test_gradcheck_reports_the_bad_element():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g  # wrong: should be 2 x g

    x = cr.tensor([1.0, 3.0], dtype=cr.float64, requires_grad=True)
    with pytest.raises(cr.autograd.GradcheckError, match="input 0 at input element 0"):
        gradcheck(Wrong.apply, (x,))
    assert gradcheck(Wrong.apply, (x,), raise_exception=False) is False


def test_function_in_forward_mode():

    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_forward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            raise AssertionError("not used")

        @staticmethod
        def jvp(ctx, x_t):
            (x,) = ctx.saved_tensors
            return 2 * x * x_t

    with fwAD.dual_level():
        d = fwAD.make_dual(cr.tensor([3.0]), cr.tensor([1.0]))
        out = Square.apply(d)
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.numpy(), [6.0])


def test_jvp_gets_the_same_ctx_as_forward():
    class Exp(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x.exp()
            ctx.result = out
            return out

        @staticmethod
        def backward(ctx, g):
            return g * ctx.result

        @staticmethod
        def jvp(ctx, x_t):
            result = ctx.result
            del ctx.result
            return x_t * result

    from chainrule.autograd import forward_ad
    with forward_ad.dual_level():
        x = forward_ad.make_dual(cr.tensor([0.0, 1.0]), cr.tensor([1.0, 2.0]))
        tangent = forward_ad.unpack_dual(Exp.apply(x)).tangent
    np.testing.assert_allclose(tangent.numpy(), [1.0, 2 * np.e], rtol=1e-6)


# -- torch's newer Function styles: setup_context, mark_dirty, vmap rules --------------------------------------

class _ExpSetup(cr.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return x.exp()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)
        ctx.save_for_forward(output)

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out

    @staticmethod
    def jvp(ctx, x_t):
        (out,) = ctx.saved_tensors
        return x_t * out


def test_a_ctx_less_forward_with_setup_context_differentiates_in_both_modes():
    x = cr.tensor([0.0, 1.0, -2.0], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(_ExpSetup.apply, (x,))
    with fwAD.dual_level():
        out = _ExpSetup.apply(fwAD.make_dual(x.detach(), cr.ones(3, dtype=cr.float64)))
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.numpy(), np.exp(x.detach().numpy()))


def test_generate_vmap_rule_batches_the_forward_and_its_gradients():
    x = cr.randn(4, 3, dtype=cr.float64)
    np.testing.assert_allclose(cr.vmap(_ExpSetup.apply)(x).numpy(), np.exp(x.numpy()))
    per_sample = cr.func.vmap(cr.func.grad(lambda v: _ExpSetup.apply(v).sum()))(x)
    np.testing.assert_allclose(per_sample.numpy(), np.exp(x.numpy()))


def test_a_user_vmap_staticmethod_is_the_batching_rule():
    seen = []

    class Sin(cr.autograd.Function):
        @staticmethod
        def forward(x, scale):
            return x.sin() * scale

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])
            ctx.scale = inputs[1]

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x.cos() * ctx.scale, None

        @staticmethod
        def vmap(info, in_dims, x, scale):
            seen.append((info.batch_size, info.randomness, in_dims))
            return Sin.apply(x, scale), in_dims[0]

    x = cr.randn(5, 2)
    np.testing.assert_allclose(cr.vmap(lambda v: Sin.apply(v, 3.0))(x).numpy(), 3 * np.sin(x.numpy()), rtol=1e-6)
    assert seen == [(5, "error", (0, None))]


def test_mark_dirty_gives_the_modified_input_the_functions_history():
    class Double_(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3
    version = b._version
    out = Double_.apply(b)
    assert out is b and b.grad_fn.name() == "Double_Backward" and b._version == version + 1
    out.sum().backward()
    assert a.grad.tolist() == [6.0, 6.0]
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        Double_.apply(cr.tensor([1.0], requires_grad=True))
