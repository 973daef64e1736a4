"""Tensors and NumPy arrays mix as in torch (issue 17, item 5).

A NumPy array operand becomes a tensor of its own dtype (``torch.as_tensor``), so a float64 array promotes a
float32 tensor to float64 while a 0-d array does not (a 0-d tensor ranks below dimensioned ones); NumPy scalars
behave as Python numbers. ``as_tensor`` and ``from_numpy`` share the array's memory.

NOTE: torch itself computes ``tensor + ndarray`` by falling back to NumPy (NumPy's promotion, no gradient,
comparisons refused); the rule here is the one torch gives after ``torch.as_tensor(array)``, which agrees with
it for same-kind floats and keeps gradients flowing to the tensor operand.
"""

import operator

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("op, ref", [
    (operator.add, np.add), (operator.sub, np.subtract), (operator.mul, np.multiply),
    (operator.truediv, np.divide), (operator.pow, np.power),
])
def test_arithmetic_both_ways(op, ref):
    x = cr.tensor([1.0, 2.0, 3.0, 4.0])
    a = np.array([0.5, 1.5, 2.0, 3.0])
    for out, expected in ((op(x, a), ref(x.numpy().astype(np.float64), a)),
                          (op(a, x), ref(a, x.numpy().astype(np.float64)))):
        assert isinstance(out, cr.Tensor)
        assert out.dtype == cr.float64
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_issue_example_adds_ones():
    out = cr.ones(4) + np.ones(4)
    assert isinstance(out, cr.Tensor) and out.dtype == cr.float64
    np.testing.assert_array_equal(out.numpy(), [2.0, 2.0, 2.0, 2.0])


@pytest.mark.parametrize("t_dtype, a, expected", [
    (cr.float32, np.ones(3), cr.float64),                 # a dimensioned float64 array is a float64 tensor
    (cr.float32, np.ones(3, dtype=np.float32), cr.float32),
    (cr.float32, np.array(2.0), cr.float32),              # a 0-d array ranks below a dimensioned tensor
    (cr.int64, np.ones(3, dtype=np.float32), cr.float32),
    (cr.int64, np.ones(3, dtype=np.int32), cr.int64),
    (cr.int64, np.array(2.5), cr.float64),                # a 0-d float64 array still raises the category
    (cr.bool, np.ones(3, dtype=np.int64), cr.int64),
])
def test_array_promotes_like_a_tensor_of_its_dtype(t_dtype, a, expected):
    t = cr.ones(3, dtype=t_dtype)
    assert (t + a).dtype == expected
    assert (a + t).dtype == expected


@pytest.mark.parametrize("t_dtype, s, expected", [
    (cr.float32, np.float64(2.0), cr.float32), (cr.int64, np.float64(2.0), cr.float32),
    (cr.int64, np.int32(2), cr.int64), (cr.float16, np.float64(2.0), cr.float16),
])
def test_numpy_scalars_are_numbers(t_dtype, s, expected):
    t = cr.ones(3, dtype=t_dtype)
    assert (t * s).dtype == expected
    assert (s * t).dtype == expected
    np.testing.assert_array_equal((s * t).numpy(), [2, 2, 2])


def test_numpy_scalar_exponent():
    x = cr.tensor([1.0, 2.0, 3.0])
    out = x ** np.int64(2)
    assert out.dtype == cr.float32
    np.testing.assert_array_equal(out.numpy(), [1.0, 4.0, 9.0])


@pytest.mark.parametrize("op", [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge])
def test_comparisons(op):
    x = cr.tensor([1.0, 2.0, 3.0])
    a = np.array([2.0, 2.0, 2.0])
    for out, expected in ((op(x, a), op(x.numpy(), a)), (op(a, x), op(a, x.numpy()))):
        assert isinstance(out, cr.Tensor) and out.dtype == cr.bool
        np.testing.assert_array_equal(out.numpy(), expected)


def test_where_with_arrays():
    x = cr.tensor([1.0, 2.0, 3.0])
    out = cr.where(np.array([True, False, True]), x, np.zeros(3))
    assert out.dtype == cr.float64
    np.testing.assert_array_equal(out.numpy(), [1.0, 0.0, 3.0])


def test_matmul_both_ways():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.array([[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_array_equal((x @ a).numpy(), [[2.0, 1.0], [4.0, 3.0]])
    np.testing.assert_array_equal((a @ x).numpy(), [[3.0, 4.0], [1.0, 2.0]])
    assert (a @ x).dtype == cr.float64
    np.testing.assert_array_equal(cr.matmul(a, x).numpy(), (a @ x).numpy())


def test_gradient_flows_to_the_tensor_operand():
    x = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    a = np.array([4.0, 5.0, 6.0])
    (x * a + a / x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), a - a / np.array([1.0, 4.0, 9.0]))


def test_in_place_with_array_keeps_dtype():
    x = cr.ones(3)
    x += np.ones(3)
    assert x.dtype == cr.float32
    np.testing.assert_array_equal(x.numpy(), [2.0, 2.0, 2.0])


def test_operand_array_is_not_modified():
    a = np.array([1.0, 2.0])
    cr.ones(2) + a
    np.testing.assert_array_equal(a, [1.0, 2.0])


def test_unsupported_array_dtype_is_a_clear_error():
    with pytest.raises(TypeError, match="dtype"):
        cr.ones(2) + np.array([1 + 2j, 3j])


@pytest.mark.parametrize("make", [cr.as_tensor, cr.from_numpy])
def test_as_tensor_and_from_numpy_share_memory(make):
    a = np.zeros(3)
    t = make(a)
    assert t.dtype == cr.float64
    a[0] = 5.0
    assert t[0].item() == 5.0
    t[1] = 7.0
    assert a[1] == 7.0
    assert np.shares_memory(t.numpy(), a)


def test_as_tensor_with_other_dtype_copies():
    a = np.zeros(3)
    t = cr.as_tensor(a, dtype=cr.float32)
    a[0] = 5.0
    assert t.dtype == cr.float32 and t[0].item() == 0.0
