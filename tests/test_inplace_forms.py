"""The in-place forms of shape-preserving methods (ceil_, log1p_, lt_, tril_, cumsum_, ...): values as the
out-of-place method, written into the same tensor, gradients through the update, torch's dtype refusal."""

import numpy as np
import pytest

import chainrule as cr

_X = np.array([[0.3, 1.7, 2.5], [0.25, 3.0, 0.9]])


@pytest.mark.parametrize("name, args, kwargs", [
    ("ceil", (), {}), ("floor", (), {}), ("trunc", (), {}), ("round", (), {"decimals": 1}), ("sign", (), {}),
    ("erf", (), {}), ("exp2", (), {}), ("expm1", (), {}), ("log10", (), {}), ("log1p", (), {}), ("log2", (), {}),
    ("rsqrt", (), {}), ("square", (), {}), ("tan", (), {}), ("negative", (), {}), ("absolute", (), {}),
    ("eq", (0.9,), {}), ("ne", (0.9,), {}), ("lt", (1.0,), {}), ("le", (0.9,), {}), ("gt", (1.0,), {}),
    ("ge", (0.9,), {}), ("greater", (1.0,), {}), ("greater_equal", (3.0,), {}), ("less", (1.0,), {}),
    ("less_equal", (0.3,), {}), ("multiply", (2.0,), {}), ("subtract", (cr.tensor(1.0),), {"alpha": 2}),
    ("divide", (4.0,), {"rounding_mode": "floor"}), ("true_divide", (4.0,), {}), ("tril", (), {}),
    ("triu", (1,), {}), ("cumsum", (1,), {}),
])
def test_inplace_matches_the_method(name, args, kwargs):
    x = cr.tensor(_X)
    expected = getattr(x, name)(*args, **kwargs).to(x.dtype).numpy()
    out = getattr(x, name + "_")(*args, **kwargs)
    assert out is x and x.dtype == cr.float64
    np.testing.assert_allclose(x.numpy(), expected, rtol=1e-6)
    assert x._version == 1


def test_gradient_through_an_inplace_update():
    w = cr.tensor([0.5, 2.0], dtype=cr.float64, requires_grad=True)
    y = w * 1
    y.log1p_().square_()
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.log1p([0.5, 2.0]) / (1 + np.array([0.5, 2.0])))


def test_dtype_refusal_and_saved_value_check():
    with pytest.raises(RuntimeError, match="divide_: result type chainrule.float32 can't be cast"):
        cr.tensor([1, 2]).divide_(2)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.log1p_()  # exp saved its output, now overwritten
    with pytest.raises(RuntimeError):
        y.sum().backward()
