"""Sorting, searching and the scatter/index families: what the op database cannot pin.

Ties and NaN ordering, named-tuple results, index dtypes, gradients at overwritten and tied positions, the
in-place forms and the errors; hand values throughout (taken from torch 2.13), plus an optional cross-check
against PyTorch when it is installed.
"""

import math

import numpy as np
import pytest

import chainrule as cr

NAN = math.nan


def values(t):
    return t.detach().numpy().tolist()


# -- sort, argsort, topk ---------------------------------------------------------------------------------

def test_sort_is_stable_and_puts_nan_last_ascending_first_descending():
    x = cr.tensor([3.0, 1.0, 2.0, 1.0, 3.0, NAN, 2.0])
    out = cr.sort(x)
    assert type(out).__name__ == "sort" and out._fields == ("values", "indices")
    np.testing.assert_array_equal(out.values.numpy(), [1, 1, 2, 2, 3, 3, NAN])
    assert values(out.indices) == [1, 3, 2, 6, 0, 4, 5]
    assert out.indices.dtype == cr.int64
    down = x.sort(descending=True, stable=True)
    np.testing.assert_array_equal(down.values.numpy(), [NAN, 3, 3, 2, 2, 1, 1])
    assert values(down.indices) == [5, 0, 4, 2, 6, 1, 3]
    assert values(cr.argsort(x, descending=True)) == [5, 0, 4, 2, 6, 1, 3]
    assert values(x.argsort()) == [1, 3, 2, 6, 0, 4, 5]


def test_sort_along_a_dim_integers_and_zero_d():
    x = cr.tensor([[2, 1, 2], [0, 0, -1]])
    out = cr.sort(x, dim=0, descending=True)
    assert values(out.values) == [[2, 1, 2], [0, 0, -1]] and out.values.dtype == cr.int64
    assert values(cr.sort(x).indices) == [[1, 0, 2], [2, 0, 1]]
    scalar = cr.sort(cr.tensor(3.0))
    assert scalar.values.shape == () and scalar.indices.shape == () and scalar.indices.item() == 0
    assert values(cr.msort(cr.tensor([[3.0, 0.0], [1.0, 2.0]]))) == [[1, 0], [3, 2]]


def test_sort_gradient_goes_back_to_the_source_positions():
    x = cr.tensor([3.0, 1.0, 2.0], requires_grad=True)
    (cr.sort(x).values * cr.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert values(x.grad) == [100.0, 1.0, 10.0]


def test_topk_largest_smallest_and_ties_keep_the_earlier_position():
    x = cr.tensor([1.0, 5.0, 3.0, 5.0, 0.0])
    top = cr.topk(x, 3)
    assert type(top).__name__ == "topk"
    assert values(top.values) == [5, 5, 3] and values(top.indices) == [1, 3, 2]
    low = x.topk(2, largest=False)
    assert values(low.values) == [0, 1] and values(low.indices) == [4, 0]
    rows = cr.topk(cr.tensor([[1.0, 4.0], [3.0, 2.0]]), 1, dim=0)
    assert values(rows.values) == [[3, 4]] and values(rows.indices) == [[1, 0]]
    with pytest.raises(RuntimeError, match="k out of range"):
        cr.topk(x, 6)


# -- unique ----------------------------------------------------------------------------------------------

def test_unique_sorted_inverse_counts_and_nan_distinct():
    out, inverse, counts = cr.unique(cr.tensor([3, 1, 2, 1, 3]), return_inverse=True, return_counts=True)
    assert values(out) == [1, 2, 3] and values(inverse) == [2, 0, 1, 0, 2] and values(counts) == [2, 1, 2]
    assert inverse.dtype == cr.int64 and counts.dtype == cr.int64
    assert values(cr.tensor([2, 2, 0]).unique(sorted=False)) == [0, 2]
    out, counts = cr.unique(cr.tensor([1.0, NAN, NAN, 0.0]), return_counts=True)
    np.testing.assert_array_equal(out.numpy(), [0, 1, NAN, NAN])
    assert values(counts) == [1, 1, 1, 1]
    out, inverse = cr.unique(cr.tensor(5), return_inverse=True)
    assert values(out) == [5] and inverse.shape == () and inverse.item() == 0
    two_d, inverse = cr.unique(cr.tensor([[3, 1], [1, 3]]), return_inverse=True)
    assert values(two_d) == [1, 3] and values(inverse) == [[1, 0], [0, 1]]


def test_unique_along_a_dim_and_unique_consecutive():
    out, inverse, counts = cr.unique(cr.tensor([[1, 2], [1, 2], [0, 5]]), dim=0, return_inverse=True,
                                     return_counts=True)
    assert values(out) == [[0, 5], [1, 2]] and values(inverse) == [1, 1, 0] and values(counts) == [1, 2]
    out, inverse, counts = cr.unique_consecutive(cr.tensor([1, 1, 2, 2, 3, 1, 1]), return_inverse=True,
                                                 return_counts=True)
    assert values(out) == [1, 2, 3, 1] and values(inverse) == [0, 0, 1, 1, 2, 3, 3]
    assert values(counts) == [2, 2, 1, 2]
    rows = cr.tensor([[1, 1, 2], [1, 1, 2]]).unique_consecutive(dim=1)
    assert values(rows) == [[1, 2], [1, 2]]


def test_unique_output_does_not_require_grad():
    x = cr.tensor([2.0, 1.0, 2.0], requires_grad=True)
    assert not cr.unique(x).requires_grad


# -- searchsorted, bucketize -----------------------------------------------------------------------------

def test_searchsorted_sides_sorter_scalars_and_rows():
    seq = cr.tensor([1, 3, 5, 7])
    assert values(cr.searchsorted(seq, cr.tensor([3, 6, 9]))) == [1, 3, 4]
    assert values(cr.searchsorted(seq, cr.tensor([3, 6, 9]), right=True)) == [2, 3, 4]
    assert values(cr.searchsorted(seq, cr.tensor([3]), side="right")) == [2]
    scalar = cr.searchsorted(seq, 3, right=True)
    assert scalar.shape == () and scalar.item() == 2 and scalar.dtype == cr.int64
    assert cr.searchsorted(seq, cr.tensor([4]), out_int32=True).dtype == cr.int32
    unsorted, sorter = cr.tensor([5, 1, 7, 3]), cr.tensor([1, 3, 0, 2])
    assert values(cr.searchsorted(unsorted, cr.tensor([4, 8]), sorter=sorter)) == [2, 4]
    rows = cr.tensor([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])
    assert values(cr.searchsorted(rows, cr.tensor([[3.0], [3.0]]))) == [[1], [1]]
    assert values(cr.searchsorted(seq, cr.tensor([2.5]))) == [1]  # int sequence, float values
    with pytest.raises(RuntimeError, match="opposites"):
        cr.searchsorted(seq, cr.tensor([1]), right=True, side="left")
    with pytest.raises(RuntimeError, match="first N-1 dimensions"):
        cr.searchsorted(rows, cr.tensor([1.0, 2.0, 3.0]))


def test_bucketize_is_searchsorted_with_the_arguments_swapped():
    boundaries = cr.tensor([1, 3, 5, 7])
    assert values(cr.bucketize(cr.tensor([[3, 6], [9, 1]]), boundaries)) == [[1, 3], [4, 0]]
    assert values(cr.bucketize(cr.tensor([3, 6, 9]), boundaries, right=True)) == [2, 3, 4]
    assert cr.bucketize(3, boundaries).item() == 1
    with pytest.raises(RuntimeError, match="1 dimension"):
        cr.bucketize(cr.tensor([1]), cr.tensor([[1, 2]]))


# -- take, argwhere, nonzero -------------------------------------------------------------------------------

def test_take_argwhere_and_nonzero_as_tuple():
    x = cr.tensor([[1, 2], [3, 4]])
    assert values(cr.take(x, cr.tensor([[0, -1]]))) == [[1, 4]]
    with pytest.raises(IndexError, match="out of range"):
        cr.take(x, cr.tensor([4]))
    assert values(cr.argwhere(cr.tensor([[0, 1], [1, 0]]))) == [[0, 1], [1, 0]]
    rows, cols = cr.tensor([[0, 1], [1, 0]]).nonzero(as_tuple=True)
    assert values(rows) == [0, 1] and values(cols) == [1, 0]


# -- scatter and scatter_reduce ----------------------------------------------------------------------------

def test_scatter_src_value_and_reduce():
    x = cr.zeros(3, 4)
    index = cr.tensor([[0, 1], [2, 2]])
    assert values(cr.scatter(x, 1, index, 5.0)) == [[5, 5, 0, 0], [0, 0, 5, 0], [0, 0, 0, 0]]
    assert values(x.scatter(1, index, value=5.0)) == [[5, 5, 0, 0], [0, 0, 5, 0], [0, 0, 0, 0]]
    added = cr.scatter(x, 1, index, cr.ones(2, 2), reduce="add")
    assert values(added) == [[1, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0]]
    multiplied = cr.scatter(cr.full((2,), 3.0), 0, cr.tensor([1, 1]), cr.tensor([2.0, 4.0]), reduce="multiply")
    assert values(multiplied) == [3, 24]
    with pytest.raises(RuntimeError, match="dtype"):
        cr.scatter(x, 1, index, cr.ones(2, 2, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="add or multiply"):
        cr.scatter(x, 1, index, 1.0, reduce="mean")
    with pytest.raises(RuntimeError, match="out of bounds"):
        cr.scatter(x, 1, cr.tensor([[4]]), 1.0)


def test_scatter_gradient_is_zero_where_input_was_overwritten():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    src = cr.tensor([10.0, 20.0], requires_grad=True)
    (cr.scatter(x, 0, cr.tensor([2, 0]), src) * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert values(x.grad) == [0, 2, 0] and values(src.grad) == [3, 1]


def test_scatter_reduce_integer_mean_rounds_down_and_include_self():
    x, index = cr.tensor([1, 2, 3]), cr.tensor([0, 0, 1])
    assert values(cr.scatter_reduce(x, 0, index, cr.tensor([-4, -5, 6]), "mean")) == [-3, 4, 3]
    assert values(cr.scatter_reduce(x, 0, index, cr.tensor([4, 5, -6]), "mean", include_self=False)) == [4, -6, 3]
    f = cr.tensor([1.0, 2.0, 3.0])
    src = cr.tensor([5.0, 7.0, 1.0])
    assert values(cr.scatter_reduce(f, 0, index, src, "sum", include_self=False)) == [12, 1, 3]
    assert values(cr.scatter_reduce(f, 0, index, src, "prod")) == [35, 2, 3]
    assert values(cr.scatter_reduce(f, 0, index, src, "amin", include_self=False)) == [5, 1, 3]
    assert values(f.scatter_reduce(0, index, src, "amax")) == [7, 2, 3]
    with pytest.raises(RuntimeError, match="reduce argument must be one of"):
        cr.scatter_reduce(f, 0, index, src, "max")


def test_scatter_reduce_amax_splits_tied_gradient_evenly_as_torch():
    x = cr.tensor([3.0, 2.0, 3.0], requires_grad=True)
    src = cr.tensor([3.0, 0.5, 3.0], requires_grad=True)
    out = cr.scatter_reduce(x, 0, cr.tensor([0, 0, 0]), src, "amax")
    out.sum().backward()
    assert values(out) == [3, 2, 3]
    np.testing.assert_allclose(x.grad.numpy(), [1 / 3, 1, 1])
    np.testing.assert_allclose(src.grad.numpy(), [1 / 3, 0, 1 / 3])


def test_scatter_reduce_prod_gradient_is_exact_with_zeros():
    x = cr.tensor([2.0, 5.0], requires_grad=True)
    src = cr.tensor([0.0, 3.0, 4.0], requires_grad=True)
    out = cr.scatter_reduce(x, 0, cr.tensor([0, 0, 1]), src, "prod")
    out.sum().backward()
    assert values(out) == [0, 20]
    assert values(x.grad) == [0, 4] and values(src.grad) == [6, 0, 5]


# -- index_add, index_copy, index_fill, index_put, masked_scatter ---------------------------------------

def test_index_family_values():
    x = cr.zeros(3, 4)
    added = cr.index_add(x, 0, cr.tensor([2, 0, 2]), cr.ones(3, 4), alpha=2)
    assert values(added) == [[2] * 4, [0] * 4, [4] * 4]
    assert values(cr.index_copy(x, 0, cr.tensor([2, 0]), cr.ones(2, 4))) == [[1] * 4, [0] * 4, [1] * 4]
    assert values(cr.index_fill(x, 1, cr.tensor([0, 2]), 2.0)) == [[2, 0, 2, 0]] * 3
    put = cr.index_put(x, (cr.tensor([0, 0]), cr.tensor([1, 1])), cr.tensor([1.0, 2.0]), accumulate=True)
    assert values(put)[0] == [0, 3, 0, 0]
    masked = cr.masked_scatter(cr.zeros(2, 3), cr.tensor([True, False, True]), cr.arange(10.0))
    assert values(masked) == [[0, 0, 1], [2, 0, 3]]
    assert values(cr.index_add(cr.tensor(1.0), 0, cr.tensor([0]), cr.tensor(5.0))) == 6.0


def test_index_family_errors():
    x = cr.zeros(3, 4)
    with pytest.raises(IndexError, match="source of shape"):
        cr.index_copy(x, 0, cr.tensor([2, 0]), cr.ones(3, 4))
    with pytest.raises(RuntimeError, match="same scalar type"):
        cr.index_add(x, 0, cr.tensor([2, 0]), cr.ones(2, 4, dtype=cr.float64))
    with pytest.raises(IndexError, match="out of bounds"):
        cr.index_add(x, 0, cr.tensor([3]), cr.ones(1, 4))
    with pytest.raises(RuntimeError, match="number of ones in mask"):
        cr.masked_scatter(cr.zeros(3), cr.tensor([True, True, True]), cr.arange(2.0))


def test_index_fill_value_tensor_gets_the_summed_gradient():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    value = cr.tensor(0.5, requires_grad=True)
    cr.index_fill(x, 1, cr.tensor([1, 1]), value).sum().backward()
    assert values(x.grad) == [[1, 0], [1, 0]] and value.grad.item() == 2.0


def test_in_place_forms_update_and_record():
    y = cr.zeros(3)
    assert y.index_add_(0, cr.tensor([0, 0]), cr.tensor([1.0, 2.0])) is y
    y.scatter_(0, cr.tensor([2]), cr.tensor([7.0]))
    y.masked_scatter_(cr.tensor([False, True, False]), cr.tensor([9.0]))
    y.index_fill_(0, cr.tensor([0]), -1.0)
    assert values(y) == [-1, 9, 7]
    y.scatter_reduce_(0, cr.tensor([1, 1]), cr.tensor([1.0, 2.0]), "sum", include_self=False)
    y.index_copy_(0, cr.tensor([2]), cr.tensor([4.0]))
    cr.index_put_(y, (cr.tensor([0]),), cr.tensor(8.0), accumulate=True)
    y.scatter_add_(0, cr.tensor([0]), cr.tensor([1.0]))
    assert values(y) == [8, 3, 4]
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    z = w * 1.0
    z.scatter_(0, cr.tensor([0]), cr.tensor([5.0]))
    z.sum().backward()
    assert values(w.grad) == [0, 1]


# -- optional cross-check against PyTorch -------------------------------------------------------------------

def test_matches_torch_on_ties_and_nan():
    torch = pytest.importorskip("torch")
    data = [2.0, NAN, 1.0, 2.0, 1.0, 3.0, 2.0]
    for descending in (False, True):
        ours, theirs = cr.sort(cr.tensor(data), descending=descending), torch.sort(torch.tensor(data),
                                                                                    descending=descending)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    x, index = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[0, 0, 2], [1, 1, 1]]
    src = [[7.0, 0.0, 1.0], [2.0, 9.0, 4.0]]
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            ours = cr.scatter_reduce(cr.tensor(x), 1, cr.tensor(index), cr.tensor(src), reduce,
                                     include_self=include_self)
            theirs = torch.scatter_reduce(torch.tensor(x), 1, torch.tensor(index), torch.tensor(src), reduce,
                                          include_self=include_self)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_vmap_with_a_batched_index():
    vmap = cr.func.vmap
    x, index, src = cr.zeros(2, 3), cr.tensor([[0, 2], [1, 1]]), cr.ones(2, 2)
    assert values(vmap(lambda x, i, s: cr.scatter(x, 0, i, s))(x, index, src)) == [[1, 0, 1], [0, 1, 0]]
    assert values(vmap(lambda x, i: cr.index_fill(x, 0, i, 5.0))(x, index)) == [[5, 0, 5], [0, 5, 0]]
    with pytest.raises(RuntimeError, match="index batched by vmap"):
        vmap(lambda x, i, s: cr.scatter_reduce(x, 0, i, s, "amax"))(x, index, src)


def test_searchsorted_under_vmap_with_rows_of_sequences():
    vmap = cr.func.vmap
    seq = cr.tensor([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])
    values_batch = cr.tensor([[[3.0], [3.0]], [[5.5], [1.0]]])
    assert values(vmap(lambda v: cr.searchsorted(seq, v))(values_batch)) == [[[1], [1]], [[3], [0]]]
    shifted = cr.stack([seq, seq + 1])
    assert values(vmap(lambda s: cr.searchsorted(s, cr.tensor([[3.0], [3.0]])))(shifted)) == [[[1], [1]], [[1], [0]]]
