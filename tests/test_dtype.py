"""torch's type promotion: scalars and 0-d tensors raise the category, not the width."""

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("make_a, make_b, expected", [
    (lambda: cr.tensor([1, 2]), lambda: 2.5, cr.float32),
    (lambda: cr.tensor([1, 2]), lambda: 2, cr.int64),
    (lambda: cr.tensor([1, 2], dtype=cr.int32), lambda: 2, cr.int32),
    (lambda: cr.tensor([1.0]), lambda: cr.tensor([1.0], dtype=cr.float64), cr.float64),
    (lambda: cr.tensor([1.0]), lambda: cr.tensor(1.0, dtype=cr.float64), cr.float32),
    (lambda: cr.tensor([1], dtype=cr.int32), lambda: cr.tensor(1), cr.int32),
    (lambda: cr.tensor([1], dtype=cr.int32), lambda: cr.tensor([1]), cr.int64),
    (lambda: cr.tensor([True]), lambda: 1, cr.int64),
    (lambda: cr.tensor([True]), lambda: cr.tensor([1.0]), cr.float32),
    (lambda: cr.tensor([1], dtype=cr.uint8), lambda: cr.tensor([1], dtype=cr.int8), cr.int16),
    (lambda: cr.tensor(1), lambda: 1.5, cr.float32),
    (lambda: cr.tensor([1.0], dtype=cr.float64), lambda: 2, cr.float64),
])
def test_binary_promotion(make_a, make_b, expected):
    a, b = make_a(), make_b()
    assert (a * b).dtype is expected
    assert (b * a).dtype is expected
    assert cr.result_type(a, b) is expected


def test_factory_defaults():
    assert cr.tensor(1.5).dtype is cr.float32
    assert cr.tensor(1).dtype is cr.int64
    assert cr.tensor(True).dtype is cr.bool
    assert cr.tensor(np.zeros(2)).dtype is cr.float64
    assert cr.zeros(2).dtype is cr.float32
    assert cr.arange(3).dtype is cr.int64
    assert cr.arange(0, 1, 0.5).dtype is cr.float32
    assert cr.full((2,), 3).dtype is cr.int64
    assert cr.full((2,), 3.0).dtype is cr.float32


def test_default_dtype_switch():
    cr.set_default_dtype(cr.float64)
    try:
        assert cr.tensor(1.5).dtype is cr.float64
        assert (cr.tensor([1, 2]) * 0.5).dtype is cr.float64
    finally:
        cr.set_default_dtype(cr.float32)
    with pytest.raises(TypeError, match="floating"):
        cr.set_default_dtype(cr.int64)


def test_aliases_and_conversions():
    assert cr.float is cr.float32 and cr.double is cr.float64 and cr.long is cr.int64
    x = cr.tensor([1.7, -2.2])
    assert x.double().dtype is cr.float64
    assert x.long().tolist() == [1, -2]
    assert x.to(cr.int32).dtype is cr.int32
    assert x.to(x) is x
    assert repr(cr.float32) == "chainrule.float32"


def test_int_division_gives_float():
    assert (cr.tensor([3, 4]) / 2).dtype is cr.float32
    assert (cr.tensor([3, 4]) / 2).tolist() == [1.5, 2.0]


def test_cast_gradient_returns_in_input_dtype():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.tensor([3.0, 4.0], dtype=cr.float64)
    (x * y).sum().backward()
    assert x.grad.dtype is cr.float32
    assert x.grad.tolist() == [3.0, 4.0]


def test_inplace_refuses_category_escalation():
    x = cr.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        x.add_(1.5)
