"""Scans, order statistics and the NaN-ignoring reductions: what the op database cannot pin.

The index rules among ties (cummax's last, median's lower middle, mode's smallest value at its last
position), NaN handling, cumprod's gradient at zeros, logcumsumexp's range, quantile interpolation, dtypes
and errors; hand values throughout (taken from torch 2.13), plus an optional cross-check against PyTorch.
"""

import math

import numpy as np
import pytest

import chainrule as cr

NAN = math.nan


def values(t):
    return t.detach().numpy().tolist()


def grad_of(fn, data):
    x = cr.tensor(data, dtype=cr.float64, requires_grad=True)
    out = fn(x)
    (out[0] if isinstance(out, tuple) else out).sum().backward()
    return x.grad.numpy()


# -- cumprod -------------------------------------------------------------------------------------------------

def test_cumprod_values_and_dtypes():
    assert values(cr.cumprod(cr.tensor([1, 2, 3]), 0)) == [1, 2, 6]
    assert cr.cumprod(cr.tensor([True, True]), 0).dtype == cr.int64
    assert cr.tensor([1.0, 2.0]).cumprod(0, dtype=cr.float64).dtype == cr.float64
    assert values(cr.cumprod(cr.tensor(3.0), 0)) == 3.0
    y = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert y.cumprod_(1) is y and values(y) == [[1, 2], [3, 12]]


@pytest.mark.parametrize("data", [[2.0, 0.0, 3.0, 4.0], [0.0, 2.0, 0.0, 5.0], [2.0, 3.0, 4.0, 0.0],
                                  [0.0, 0.0, 1.0, 1.0]])
def test_cumprod_gradient_is_exact_with_zeros(data):
    x = np.array(data)
    n = len(x)
    # d/dx_i sum_j cumprod_j = sum_{j >= i} prod_{k <= j, k != i} x_k
    expected = [sum(np.prod(np.delete(x[:j + 1], i)) for j in range(i, n)) for i in range(n)]
    np.testing.assert_allclose(grad_of(lambda t: cr.cumprod(t, 0), data), expected)


def test_cumprod_forward_mode_at_zeros_matches_reverse():
    x = cr.tensor([2.0, 0.0, 3.0, 0.0, 5.0], dtype=cr.float64)
    jac_rev = cr.func.jacrev(lambda t: cr.cumprod(t, 0))(x)
    jac_fwd = cr.func.jacfwd(lambda t: cr.cumprod(t, 0))(x)
    np.testing.assert_allclose(jac_fwd.numpy(), jac_rev.numpy())


# -- cummax, cummin --------------------------------------------------------------------------------------------

def test_cummax_cummin_take_the_last_tied_position_and_nan_sticks():
    y = cr.tensor([2.0, 1.0, 2.0, 1.0, 3.0, 2.0])
    out = cr.cummax(y, 0)
    assert type(out).__name__ == "cummax" and out._fields == ("values", "indices")
    assert values(out.values) == [2, 2, 2, 2, 3, 3] and values(out.indices) == [0, 0, 2, 2, 4, 4]
    low = y.cummin(0)
    assert values(low.values) == [2, 1, 1, 1, 1, 1] and values(low.indices) == [0, 1, 1, 3, 3, 3]
    nan = cr.cummax(cr.tensor([3.0, 1.0, NAN, 4.0, NAN, 5.0]), 0)
    np.testing.assert_array_equal(nan.values.numpy(), [3, 3, NAN, NAN, NAN, NAN])
    assert values(nan.indices) == [0, 0, 2, 2, 4, 4]
    assert nan.indices.dtype == cr.int64
    assert values(cr.cummax(cr.tensor([[1, 3], [2, 0]]), 1).values) == [[1, 3], [2, 2]]


def test_cummax_gradient_goes_to_the_returned_positions():
    np.testing.assert_array_equal(grad_of(lambda t: cr.cummax(t, 0), [1.0, 3.0, 2.0, 3.0]), [1, 2, 0, 1])


# -- logcumsumexp ----------------------------------------------------------------------------------------------

def test_logcumsumexp_is_stable_far_from_zero():
    out = cr.logcumsumexp(cr.tensor([-1000.0, 0.0, 1000.0], dtype=cr.float64), 0)
    np.testing.assert_allclose(out.numpy(), [-1000.0, 0.0, 1000.0])
    assert values(cr.logcumsumexp(cr.tensor([-math.inf, -math.inf]), 0)) == [-math.inf, -math.inf]
    np.testing.assert_allclose(grad_of(lambda t: cr.logcumsumexp(t, 0), [-1000.0, 0.0, 1000.0]), [1, 1, 1])
    assert cr.logcumsumexp(cr.tensor([1, 2]), 0).dtype == cr.float32


# -- median, nanmedian, kthvalue, mode --------------------------------------------------------------------------

def test_median_is_the_lower_middle_value_and_nan_wins():
    y = cr.tensor([2.0, 1.0, 2.0, 1.0, 3.0, 2.0])
    assert cr.median(y).item() == 2.0 and cr.median(cr.tensor([4.0, 1.0, 3.0, 2.0])).item() == 2.0
    out = cr.median(cr.tensor([1.0, 2.0, 2.0, 1.0]), 0)
    assert type(out).__name__ == "median" and out.values.item() == 1.0 and out.indices.item() == 3
    x = cr.tensor([3.0, 1.0, 2.0, 1.0, 3.0, NAN, 2.0])
    assert math.isnan(cr.median(x).item())
    assert math.isnan(cr.median(x, 0).values.item()) and cr.median(x, 0).indices.item() == 5
    assert cr.nanmedian(x).item() == 2.0 and cr.nanmedian(x, 0).indices.item() == 2
    all_nan = cr.nanmedian(cr.tensor([NAN, NAN]), 0)
    assert math.isnan(all_nan.values.item()) and all_nan.indices.item() == 0
    assert math.isnan(cr.median(cr.tensor([])).item())
    rows = cr.tensor([[1.0, 5.0, 3.0], [9.0, 7.0, 8.0]]).median(1, keepdim=True)
    assert values(rows.values) == [[3], [8]] and values(rows.indices) == [[2], [2]]
    with pytest.raises(IndexError, match="non-zero size"):
        cr.median(cr.zeros(0, 3), 0)


def test_kthvalue_and_mode():
    y = cr.tensor([2.0, 1.0, 2.0, 1.0, 3.0, 2.0])
    first = cr.kthvalue(y, 2)
    assert type(first).__name__ == "kthvalue" and first.values.item() == 1.0 and first.indices.item() == 3
    assert cr.kthvalue(y, 6).values.item() == 3.0
    with pytest.raises(RuntimeError, match="k out of range"):
        cr.kthvalue(y, 7)
    out = cr.mode(y)
    assert type(out).__name__ == "mode" and out.values.item() == 2.0 and out.indices.item() == 5
    out = cr.mode(cr.tensor([[1.0, 2.0, 2.0, 1.0, 3.0], [4.0, 4.0, 3.0, 3.0, 3.0]]), 1)
    assert values(out.values) == [1, 3] and values(out.indices) == [3, 4]
    scalar = cr.mode(cr.tensor(3.0))
    assert scalar.values.item() == 3.0 and scalar.indices.item() == 0


def test_median_gradient_goes_to_the_returned_position():
    np.testing.assert_array_equal(grad_of(lambda t: cr.median(t, 0), [5.0, 1.0, 3.0, 3.0]), [0, 0, 1, 0])
    np.testing.assert_array_equal(grad_of(cr.median, [5.0, 1.0, 4.0, 3.0]), [0, 0, 0, 1])
    # without dim, torch shares the gradient evenly between the entries equal to the median
    np.testing.assert_allclose(grad_of(cr.median, [1.0, 2.0, 2.0, 3.0, 2.0]), [0, 1 / 3, 1 / 3, 0, 1 / 3])


# -- quantile ---------------------------------------------------------------------------------------------------

def test_quantile_interpolations_shapes_and_nan():
    x = cr.tensor([1.0, 2.0, 3.0, 4.0])
    assert cr.quantile(x, 0.5).item() == 2.5
    assert values(cr.quantile(x, cr.tensor([0.25, 0.5]))) == [1.75, 2.5]
    assert cr.quantile(x, 0.4, interpolation="nearest").item() == 2.0
    six = cr.arange(6.0)
    assert values(cr.quantile(six, cr.tensor([0.1, 0.3, 0.5, 0.7, 0.9]), interpolation="nearest")) == [0, 2, 2, 4, 4]
    for method, expected in (("lower", 2.0), ("higher", 3.0), ("midpoint", 2.5), ("linear", 2.2)):
        assert cr.quantile(x, 0.4, interpolation=method).item() == pytest.approx(expected)  # position 1.2
    m = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert cr.quantile(m, cr.tensor([0.2, 0.5]), dim=1, keepdim=True).shape == (2, 2, 1)
    assert cr.quantile(m, 0.5, keepdim=True).shape == (1, 1)
    assert m.quantile(0.5, dim=0).shape == (3,)
    nan = cr.tensor([1.0, NAN, 3.0])
    assert math.isnan(cr.quantile(nan, 0.5).item()) and cr.nanquantile(nan, 0.5).item() == 2.0
    assert math.isnan(cr.nanquantile(cr.tensor([NAN, NAN]), 0.5).item())


def test_quantile_errors():
    with pytest.raises(RuntimeError, match=r"range \[0, 1\]"):
        cr.quantile(cr.zeros(3), 1.5)
    with pytest.raises(RuntimeError, match="non-empty"):
        cr.quantile(cr.zeros(0), 0.5)
    with pytest.raises(RuntimeError, match="same dtype"):
        cr.quantile(cr.zeros(3), cr.tensor([0.5], dtype=cr.float64))
    with pytest.raises(RuntimeError, match="float or double"):
        cr.quantile(cr.tensor([1, 2]), 0.5)
    with pytest.raises(ValueError, match="interpolation"):
        cr.quantile(cr.zeros(3), 0.5, interpolation="cubic")


# -- histc, bincount, diff, trapezoid ---------------------------------------------------------------------------

def test_histc_and_bincount():
    assert values(cr.histc(cr.tensor([1.0, 2.0, 1.0]), bins=4, min=0, max=3)) == [0, 2, 1, 0]
    assert values(cr.histc(cr.tensor([1.0, 1.0]), bins=3)) == [0, 2, 0]
    wide = cr.histc(cr.tensor([1.0, 2.0, 1.0, 5.0]))
    assert wide.shape == (100,) and wide[0].item() == 2 and wide[99].item() == 1 and wide.sum().item() == 4
    with pytest.raises(RuntimeError, match="not implemented"):
        cr.histc(cr.tensor([1, 2]))
    assert values(cr.bincount(cr.tensor([1, 1, 3]))) == [0, 2, 0, 1]
    weighted = cr.bincount(cr.tensor([1, 1, 3]), cr.tensor([0.5, 1.0, 2.0]), minlength=6)
    assert values(weighted) == [0, 1.5, 0, 2, 0, 0] and weighted.dtype == cr.float32
    assert cr.bincount(cr.tensor([1, 1, 3]), cr.tensor([1, 2, 3])).dtype == cr.float64
    with pytest.raises(RuntimeError, match="non-negative"):
        cr.bincount(cr.tensor([-1, 2]))
    with pytest.raises(NotImplementedError, match="float32"):
        cr.bincount(cr.tensor([1.0]))


def test_diff_and_trapezoid():
    assert values(cr.diff(cr.tensor([1, 3, 6]), prepend=cr.tensor([0]))) == [1, 2, 3]
    assert values(cr.diff(cr.tensor([True, False, False]))) == [True, False]
    assert cr.diff(cr.tensor([[1, 4], [2, 8]]), n=2, dim=0).shape == (0, 2)
    assert values(cr.tensor([1, 4, 9, 16]).diff(n=2)) == [2, 2]
    with pytest.raises(RuntimeError, match="one-dimensional"):
        cr.diff(cr.tensor(1.0))
    assert cr.trapezoid(cr.tensor([1.0, 2.0, 3.0])).item() == 4.0
    assert cr.trapezoid(cr.tensor([1, 2, 3])).item() == 4.0
    assert cr.trapezoid(cr.tensor([1.0, 2.0, 3.0]), cr.tensor([0.0, 1.0, 3.0])).item() == 6.5
    assert cr.trapezoid(cr.tensor([1.0, 2.0, 3.0]), dx=2).item() == 8.0
    assert cr.trapz(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), dim=0).tolist() == [2.0, 3.0]
    assert values(cr.cumulative_trapezoid(cr.tensor([1.0, 2.0, 3.0]), cr.tensor([0.0, 1.0, 3.0]))) == [1.5, 6.5]
    assert values(cr.cumulative_trapezoid(cr.tensor([1, 2, 3]), dx=2)) == [3.0, 8.0]
    assert cr.cumulative_trapezoid(cr.zeros(3, 0)).shape == (3, 0)
    assert values(cr.trapezoid(cr.zeros(3, 0))) == [0, 0, 0]


# -- the NaN-ignoring reductions, aminmax, count_nonzero, std_mean --------------------------------------------

def test_nan_reductions_and_counts():
    x = cr.tensor([1.0, NAN, 2.0], requires_grad=True)
    total = cr.nansum(x)
    total.backward()
    assert total.item() == 3.0 and values(x.grad) == [1, 0, 1]
    assert cr.nanmean(cr.tensor([1.0, NAN])).item() == 1.0 and math.isnan(cr.nanmean(cr.tensor([NAN])).item())
    assert cr.nansum(cr.tensor([1, 2])).dtype == cr.int64
    assert values(cr.count_nonzero(cr.tensor([[0, 1], [2, 0]]), dim=0)) == [1, 1]
    assert cr.tensor([[0, 1], [2, 0]]).count_nonzero().item() == 2


def test_aminmax_and_std_mean():
    out = cr.aminmax(cr.tensor([[1.0, 5.0], [3.0, 2.0]]), dim=1)
    assert type(out).__name__ == "aminmax" and out._fields == ("min", "max")
    assert values(out.min) == [1, 2] and values(out.max) == [5, 3]
    assert cr.tensor([[1.0, 2.0]]).aminmax(keepdim=True).max.shape == (1, 1)
    with pytest.raises(RuntimeError, match="empty"):
        cr.aminmax(cr.tensor([]))
    std, mean = cr.std_mean(cr.tensor([[1.0, 5.0], [3.0, 2.0]]), dim=1, correction=0)
    assert values(std) == [2.0, 0.5] and values(mean) == [3.0, 2.5]
    var, _ = cr.var_mean(cr.tensor([1.0, 2.0, 3.0, 4.0]))
    assert var.item() == pytest.approx(5 / 3)
    np.testing.assert_allclose(grad_of(lambda t: cr.aminmax(t).max, [1.0, 3.0, 3.0]), [0, 0.5, 0.5])


# -- optional cross-check against PyTorch ---------------------------------------------------------------------

@pytest.mark.parametrize("name, args", [
    ("cummax", (0,)), ("cummin", (0,)), ("median", (0,)), ("nanmedian", (0,)), ("kthvalue", (3,)),
    ("mode", (0,)), ("logcumsumexp", (0,)), ("cumprod", (0,)), ("nanquantile", (0.3,))])
def test_matches_torch_on_ties_and_nan(name, args):
    torch = pytest.importorskip("torch")
    data = [2.0, NAN, 1.0, 2.0, 0.0, 1.0, 3.0, 2.0, 0.0]
    ours = getattr(cr, name)(cr.tensor(data), *args)
    theirs = getattr(torch, name)(torch.tensor(data), *args)
    ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
    if name == "kthvalue":  # NOTE: torch's quickselect returns any one of tied positions; we the first
        ours, theirs = ours[:1], theirs[:1]
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-6)
