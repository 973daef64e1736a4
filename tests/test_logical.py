"""ops/logical.py and the in-place forms of the logical and bitwise ops of ops/arith.py: values, dtypes and errors
pinned against torch 2.13's."""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr

NAN, INF = math.nan, math.inf


def test_bitwise_not_and_invert():
    assert cr.bitwise_not(cr.tensor([1, 2, 3])).tolist() == [-2, -3, -4]
    assert (~cr.tensor([1, 2, 3])).tolist() == [-2, -3, -4]
    assert (~cr.tensor([True, False])).tolist() == [False, True]
    assert cr.tensor([0], dtype=cr.uint8).bitwise_not().tolist() == [255]
    with pytest.raises(TypeError, match="only implemented on integer and Boolean"):
        ~cr.tensor([1.0])
    with pytest.raises(NotImplementedError, match="bitwise_not"):
        cr.bitwise_not(cr.tensor([1.0]))


@pytest.mark.parametrize("call", [lambda: cr.bitwise_and(cr.ones(2), cr.ones(2)),
                                  lambda: cr.ones(2) | cr.ones(2), lambda: cr.bitwise_xor(cr.ones(2), 1),
                                  lambda: cr.bitwise_left_shift(cr.ones(2), 1), lambda: cr.tensor([1]) << 2.0,
                                  lambda: cr.tensor([True]) << cr.tensor([True])])
def test_bitwise_ops_refuse_floats_as_torch(call):
    with pytest.raises(NotImplementedError):
        call()


def test_shifts_as_torch():
    i = cr.tensor([1, 2, 3])
    assert (i << 1).tolist() == [2, 4, 6] and (1 << i).tolist() == [2, 4, 8] and (i >> 1).tolist() == [0, 1, 1]
    assert cr.bitwise_left_shift(2, i).tolist() == [4, 8, 16]
    assert (cr.tensor([True, False]) << 1).tolist() == [2, 0]
    # NOTE: counts that are negative or of the width or more: 0, or -1 for a right shift of a negative value.
    assert (i << 70).tolist() == [0, 0, 0] and (i << -1).tolist() == [0, 0, 0]
    assert (cr.tensor([-8]) >> 70).tolist() == [-1] and (cr.tensor([-8]) >> 1).tolist() == [-4]
    assert (cr.tensor([255], dtype=cr.uint8) >> 9).tolist() == [0]
    assert (cr.tensor([1], dtype=cr.int8) << 7).tolist() == [-128]
    assert (cr.tensor([1], dtype=cr.int32) << 3).dtype == cr.int32
    j = cr.tensor([1, 2])
    j <<= 2
    assert j.tolist() == [4, 8]
    j >>= 1
    assert j.tolist() == [2, 4]
    assert j.bitwise_right_shift_(1).tolist() == [1, 2] and j.tolist() == [1, 2]


def test_gcd_lcm():
    x, y = cr.tensor([-4, 0, 6, 0]), cr.tensor([6, 5, -4, 0])
    assert cr.gcd(x, y).tolist() == [2, 5, 2, 0] and cr.lcm(x, y).tolist() == [12, 0, 12, 0]
    assert cr.gcd(cr.tensor([4], dtype=cr.int32), cr.tensor([6])).dtype == cr.int64
    assert x.clone().gcd_(y).tolist() == [2, 5, 2, 0] and x.clone().lcm_(y).tolist() == [12, 0, 12, 0]
    with pytest.raises(NotImplementedError, match="gcd"):
        cr.gcd(cr.tensor([1.0]), cr.tensor([2.0]))
    with pytest.raises(NotImplementedError, match="lcm"):
        cr.lcm(cr.tensor([True]), cr.tensor([True]))
    with pytest.raises(TypeError, match="argument 'other' \\(position 2\\) must be Tensor"):
        cr.gcd(x, 2)


def test_heaviside():
    x = cr.tensor([-1.0, 0.0, 2.0, NAN])
    assert cr.heaviside(x, cr.tensor([0.5])).tolist() == [0.0, 0.5, 1.0, 0.0]
    assert cr.heaviside(x, cr.tensor(0.25)).tolist() == [0.0, 0.25, 1.0, 0.0]
    assert cr.heaviside(cr.tensor([-3, 0, 4]), cr.tensor([7])).tolist() == [0, 7, 1]
    assert x.clone().heaviside_(cr.tensor([0.5])).tolist() == [0.0, 0.5, 1.0, 0.0]
    with pytest.raises(RuntimeError, match="different dtypes"):
        cr.heaviside(cr.tensor([1]), cr.tensor([1.0]))
    with pytest.raises(TypeError, match="argument 'values'"):
        cr.heaviside(x, 0.5)


def test_value_tests():
    x = cr.tensor([1.0, -0.0, 0.0, -2.5, INF, -INF, NAN, -NAN])
    assert cr.signbit(x).tolist() == [False, True, False, True, False, True, bool(np.signbit(NAN)),
                                      bool(np.signbit(-NAN))]
    assert cr.isposinf(x).tolist() == [False] * 4 + [True, False, False, False]
    assert cr.isneginf(x).tolist() == [False] * 5 + [True, False, False]
    assert cr.isreal(x).tolist() == [True] * 8
    i = cr.tensor([-1, 0, 3])
    assert cr.signbit(i).tolist() == [True, False, False]
    assert cr.signbit(cr.tensor([True])).tolist() == [False]
    assert cr.isposinf(i).tolist() == [False] * 3 and cr.isneginf(i).dtype == cr.bool
    assert x.signbit().dtype == cr.bool and x.isreal().shape == (8,)


def test_isclose_allclose_equal():
    a = cr.tensor([INF, -INF, NAN, 1.0])
    b = cr.tensor([INF, INF, NAN, 1.0 + 1e-6])
    assert cr.isclose(a, b).tolist() == [True, False, False, True]
    assert cr.isclose(a, b, equal_nan=True).tolist() == [True, False, True, True]
    assert cr.isclose(a, b, rtol=0, atol=0).tolist() == [True, False, False, False]
    assert a.isclose(b).tolist() == [True, False, False, True]
    assert cr.isclose(cr.tensor([1, 2]), cr.tensor([1, 3]), atol=1).tolist() == [True, True]
    assert cr.isclose(cr.tensor([True, False]), cr.tensor([True, True])).tolist() == [True, False]
    assert cr.isclose(cr.ones(2, 1), cr.ones(3)).shape == (2, 3)
    with pytest.raises(RuntimeError, match="did not match"):
        cr.isclose(cr.ones(2), cr.ones(2, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="rtol must be greater than or equal to zero"):
        cr.isclose(a, b, rtol=-1.0)
    with pytest.raises(RuntimeError, match="atol must be greater than or equal to zero"):
        cr.isclose(a, b, atol=-1.0)
    assert cr.allclose(cr.ones(3), cr.ones(3) + 1e-9) is True
    assert cr.allclose(a, b) is False and cr.allclose(a, b, equal_nan=True) is False
    assert cr.ones(2).allclose(cr.ones(2)) is True
    with pytest.raises(RuntimeError, match="did not match"):
        cr.allclose(cr.ones(2), cr.ones(2, dtype=cr.float64))
    assert cr.equal(cr.ones(2), cr.ones(2, dtype=cr.int64)) is True
    assert cr.equal(cr.ones(2), cr.ones(3)) is False and cr.equal(cr.ones(1), cr.ones(2)) is False
    assert cr.equal(cr.tensor([NAN]), cr.tensor([NAN])) is False
    assert cr.ones(2).equal(cr.ones(2)) is True


def test_isin():
    assert cr.isin(cr.tensor([[1, 2], [3, 4]]), cr.tensor([2, 3])).tolist() == [[False, True], [True, False]]
    scalar = cr.isin(2, cr.tensor([2, 3]))
    assert scalar.shape == () and scalar.item() is True
    assert cr.isin(cr.tensor([2, 3]), 2).tolist() == [True, False]
    assert cr.isin(cr.tensor([2.0, 3.5]), cr.tensor([2, 3])).tolist() == [True, False]
    assert cr.isin(cr.tensor([2.0, 3.5]), cr.tensor([2, 3]), invert=True).tolist() == [False, True]
    assert cr.isin(cr.tensor([NAN]), cr.tensor([NAN])).tolist() == [False]
    assert cr.isin(cr.tensor([1, 5]), cr.tensor([[5, 6], [7, 8]]), assume_unique=True).tolist() == [False, True]
    with pytest.raises(TypeError, match="argument 'elements'"):
        cr.isin(2, 3)


def test_inplace_forms_of_the_arith_ops():
    f = cr.tensor([3.5, -2.5])
    assert f.clone().fmod_(2).tolist() == [1.5, -0.5] and f.clone().remainder_(2).tolist() == [1.5, 1.5]
    assert f.clone().floor_divide_(2).tolist() == [1.0, -2.0]
    g = f.clone()
    g %= 2
    assert g.tolist() == [1.5, 1.5]
    g //= 1
    assert g.tolist() == [1.0, 1.0]
    assert f.clone().logical_and_(cr.tensor([1.0, 0.0])).tolist() == [1.0, 0.0]
    assert f.clone().logical_or_(cr.tensor([0.0, 0.0])).tolist() == [1.0, 1.0]
    assert f.clone().logical_xor_(cr.tensor([1.0, 0.0])).tolist() == [0.0, 1.0]
    assert cr.tensor([3.0, 0.0]).logical_not_().tolist() == [0.0, 1.0]
    i = cr.tensor([6, 5])
    assert i.clone().bitwise_and_(3).tolist() == [2, 1] and i.clone().bitwise_or_(1).tolist() == [7, 5]
    assert i.clone().bitwise_xor_(1).tolist() == [7, 4] and i.clone().bitwise_not_().tolist() == [-7, -6]
    j = i.clone()
    j &= 3
    j |= 8
    j ^= 1
    assert j.tolist() == [11, 8]
    leaf = cr.tensor([3.5], dtype=cr.float64, requires_grad=True)
    y = leaf * 1
    y.fmod_(2)
    (g,) = cr.autograd.grad(y.sum(), leaf)
    assert g.tolist() == [1.0]


def test_inplace_dtype_checks_as_torch():
    i, f = cr.tensor([6, 4]), cr.tensor([1.5, 0.0])
    for call in (lambda: i.clone().gcd_(f), lambda: i.clone().bitwise_and_(f), lambda: cr.tensor([True]).hypot_(i),
                 lambda: i.clone().bitwise_left_shift_(f)):
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            call()
    assert i.clone().logical_and_(f).tolist() == [1, 0] and i.clone().logical_xor_(f).tolist() == [0, 1]
    with pytest.raises(RuntimeError, match="Bool"):
        cr.isin(cr.tensor([True]), cr.tensor([1]))


def test_isin_under_vmap():
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    sets = cr.tensor([[2.0, 9.0], [6.0, 4.0]])
    shared = cr.tensor([3.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NOTE: no fallback to a loop over the samples
        per_sample = cr.vmap(cr.isin)(x, sets)
        one_set = cr.vmap(lambda v: cr.isin(v, shared, invert=True))(x)
        scalar_per_sample = cr.vmap(lambda t: cr.isin(5.0, t))(sets)
    assert per_sample.tolist() == [[False, True, False], [True, False, True]]
    assert one_set.tolist() == [[True, True, False], [False, True, True]]
    assert scalar_per_sample.tolist() == [False, False]
    assert cr.vmap(lambda v, t: cr.isin(v, t, invert=True))(x, sets).tolist() == [[True, False, True],
                                                                               [False, True, False]]


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
def test_logical_ops_take_tensors_only_as_torch(name):
    x = cr.tensor([1.0, 0.0])
    assert getattr(cr, name)(x, cr.tensor([2, 0])).dtype == cr.bool
    with pytest.raises(TypeError, match=f"{name}\\(\\): argument 'other' \\(position 2\\) must be Tensor, not int"):
        getattr(cr, name)(x, 2)
    with pytest.raises(TypeError, match="argument 'input' \\(position 1\\)"):
        getattr(cr, name)(True, x)
    with pytest.raises(TypeError, match="must be Tensor"):
        getattr(x, name + "_")(2)
