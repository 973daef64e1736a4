"""Padding layers in 1, 2 and 3 dims against np.pad, their gradients (reflection and replication sum back into
the pixels they copy), torch's reprs and errors, and (optional) parity with torch."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn

NP_MODE = {"Reflection": "reflect", "Replication": "edge", "Circular": "wrap"}
PADDING = {1: (1, 2), 2: (2, 0, 1, 1), 3: (1, 0, 0, 2, 1, 1)}


def np_pairs(padding):
    """torch's (left, right, top, bottom, ...) as np.pad's pairs, first spatial dim first."""
    return tuple((padding[2 * i], padding[2 * i + 1]) for i in reversed(range(len(padding) // 2)))


@pytest.mark.parametrize("kind", ["Reflection", "Replication", "Circular"])
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("batched", [True, False])
def test_non_constant_padding_matches_np_pad(kind, nd, batched):
    shape = ((2,) if batched else ()) + (3,) + (4, 3, 5)[:nd]
    x = np.random.default_rng(nd).standard_normal(shape)
    out = getattr(nn, f"{kind}Pad{nd}d")(PADDING[nd])(cr.tensor(x))
    lead = ((0, 0),) * (len(shape) - nd)
    np.testing.assert_array_equal(out.numpy(), np.pad(x, lead + np_pairs(PADDING[nd]), mode=NP_MODE[kind]))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_constant_and_zero_padding(nd):
    x = np.random.default_rng(5).standard_normal((2,) + (4, 3, 5)[:nd])
    pairs = ((0, 0),) + np_pairs(PADDING[nd])
    out = getattr(nn, f"ConstantPad{nd}d")(PADDING[nd], 2.5)(cr.tensor(x))
    np.testing.assert_array_equal(out.numpy(), np.pad(x, pairs, constant_values=2.5))
    zero = getattr(nn, f"ZeroPad{nd}d")(1)
    assert zero.padding == (1,) * (2 * nd) and isinstance(zero, getattr(nn, f"ConstantPad{nd}d"))
    np.testing.assert_array_equal(zero(cr.tensor(x)).numpy(), np.pad(x, ((0, 0),) + ((1, 1),) * nd))


def test_gradients_sum_back_into_the_copied_pixels():
    x = cr.tensor([[[1.0, 2.0, 3.0]]], dtype=cr.float64, requires_grad=True)
    nn.ReflectionPad1d(2)(x).sum().backward()  # [3, 2 | 1, 2, 3 | 2, 1]
    np.testing.assert_allclose(x.grad.numpy().ravel(), [2, 3, 2])
    x.grad = None
    nn.ReplicationPad1d((2, 1))(x).sum().backward()  # [1, 1 | 1, 2, 3 | 3]
    np.testing.assert_allclose(x.grad.numpy().ravel(), [3, 1, 2])
    x.grad = None
    nn.CircularPad1d((1, 3))(x).sum().backward()  # [3 | 1, 2, 3 | 1, 2, 3]
    np.testing.assert_allclose(x.grad.numpy().ravel(), [2, 2, 3])


def test_reprs_follow_torch():
    assert repr(nn.ConstantPad1d(2, 3.5)) == "ConstantPad1d(padding=(2, 2), value=3.5)"
    assert repr(nn.ZeroPad2d(1)) == "ZeroPad2d((1, 1, 1, 1))"
    assert repr(nn.ReflectionPad3d(1)) == "ReflectionPad3d((1, 1, 1, 1, 1, 1))"
    assert repr(nn.ReplicationPad1d((1, 2))) == "ReplicationPad1d((1, 2))"
    assert repr(nn.CircularPad2d(1)) == "CircularPad2d((1, 1, 1, 1))"


@pytest.mark.parametrize("call,error,match", [
    (lambda: nn.ReflectionPad1d(3)(cr.zeros(1, 1, 3)), RuntimeError, "should be less than the size"),
    (lambda: nn.CircularPad1d(4)(cr.zeros(1, 1, 3)), RuntimeError, "wraps around more than once"),
    (lambda: nn.CircularPad2d(1)(cr.zeros(3)), ValueError, "expected 3D or 4D input"),
    (lambda: nn.ReplicationPad2d(1)(cr.zeros(1, 1, 1, 3, 3)), NotImplementedError, "not supported"),
    (lambda: nn.ConstantPad2d((1, 2, 3), 0.0), TypeError, "padding must be"),
])
def test_errors_are_torch_types_and_name_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("name", ["ReflectionPad2d", "ReplicationPad3d", "CircularPad1d", "ConstantPad3d"])
def test_layers_match_torch(name):
    torch = pytest.importorskip("torch")
    nd = int(name[-2])
    args = (PADDING[nd], 1.5) if name.startswith("Constant") else (PADDING[nd],)
    x = np.random.default_rng(9).standard_normal((2, 3) + (4, 3, 5)[:nd])
    xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    out_t, out_c = getattr(torch.nn, name)(*args)(xt), getattr(nn, name)(*args)(xc)
    np.testing.assert_array_equal(out_c.detach().numpy(), out_t.detach().numpy())
    g = np.random.default_rng(1).standard_normal(tuple(out_t.shape))
    out_t.backward(torch.tensor(g))
    out_c.backward(cr.tensor(g))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-12)


def test_reflect_with_a_negative_pad_mirrors_about_the_input_edges_then_crops_as_torch():
    x = cr.arange(4.0).reshape(1, 1, 4)
    np.testing.assert_array_equal(nn.functional.pad(x, (-1, 3), mode="reflect").numpy().ravel(), [1, 2, 3, 2, 1, 0])
    np.testing.assert_array_equal(nn.functional.pad(x, (2, -1), mode="reflect").numpy().ravel(), [2, 1, 0, 1, 2])
    # the other modes crop first, then pad the cropped tensor
    np.testing.assert_array_equal(nn.functional.pad(x, (2, -1), mode="circular").numpy().ravel(), [1, 2, 0, 1, 2])
