"""Indexing: x[key], x[key] = v, gather, index_select, scatter_add, masked ops and nonzero.

The op database (tests/opdb/indexing.py) runs the generic forward/gradient/JVP checks; these tests pin down
what it cannot: hand-computed gradients of repeated indices, views and the version counter, setitem's graph
rebasing, error types and messages, and agreement with NumPy's take_along_axis / add.at on random inputs.
"""

import numpy as np
import pytest

import chainrule as cr

# -- repeated indices accumulate -------------------------------------------------------------------


def test_repeated_index_list_accumulates_gradient():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x[[0, 0, 2, 0]] * cr.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert x.grad.tolist() == [7.0, 0.0, 3.0]


def test_repeated_pairs_of_broadcast_index_arrays_accumulate():
    x = cr.zeros(2, 3, requires_grad=True)
    rows, cols = cr.tensor([[0], [1]]), cr.tensor([1, 1, 2])  # broadcast to (2, 3): (0,1) twice, (1,1) twice
    (x[rows, cols] * cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    assert x.grad.tolist() == [[0.0, 3.0, 3.0], [0.0, 9.0, 6.0]]


def test_index_select_gather_take_along_dim_accumulate():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    cr.index_select(x, 1, cr.tensor([1, 1, 0])).sum().backward()
    assert x.grad.tolist() == [[1.0, 2.0], [1.0, 2.0]]
    x.grad = None
    (x.gather(0, cr.tensor([[1, 1], [1, 0]])) * cr.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert x.grad.tolist() == [[0.0, 4.0], [4.0, 2.0]]
    x.grad = None
    cr.take_along_dim(x, cr.tensor([3, 3, 0])).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0], [0.0, 2.0]]


def test_negative_step_slice_values_and_gradient():
    x = cr.arange(5.0, requires_grad=True)
    y = x[::-2]
    assert y.tolist() == [4.0, 2.0, 0.0]
    (y * cr.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [100.0, 0.0, 10.0, 0.0, 1.0]


def test_second_derivative_through_indexing():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = cr.autograd.grad((x[[0, 0, 1]] ** 3).sum(), x, create_graph=True)
    assert g.tolist() == [6.0, 12.0, 0.0]  # 2 * 3 x^2 at x0, 3 x^2 at x1
    (gg,) = cr.autograd.grad(g.sum(), x)
    assert gg.tolist() == [12.0, 12.0, 0.0]  # 2 * 6 x at x0, 6 x at x1


# -- views and the version counter -----------------------------------------------------------------


def test_basic_index_is_a_view_sharing_memory_and_version():
    x = cr.zeros(3, 4)
    row = x[1]
    x.add_(1.0)
    assert row.tolist() == [1.0] * 4
    row.fill_(5.0)
    assert x[1].tolist() == [5.0] * 4 and x._version == row._version == 2
    elem = x[2, 3]
    assert elem.shape == () and np.shares_memory(elem.numpy(), x.numpy())
    assert not np.shares_memory(x[[0, 1]].numpy(), x.numpy())


def test_setitem_on_detached_alias_breaks_saved_backward():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = x * w  # saves w for x's gradient
    w2 = w.detach()
    w2[0] = 5.0
    assert w._version == 1 and w.tolist() == [5.0, 4.0]
    with pytest.raises(RuntimeError, match="modified by the in-place op setitem"):
        y.sum().backward()


def test_setitem_through_a_view_breaks_saved_backward_of_its_base():
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = (w * w).sum()
    with cr.no_grad():
        view = w[0:1]
        view[0] = 1.0
    assert w.tolist() == [1.0, 4.0]
    with pytest.raises(RuntimeError, match="setitem"):
        y.backward()


def test_recorded_view_is_read_only():
    x = cr.ones(2, 3, requires_grad=True)
    row = x[0]
    with pytest.raises(RuntimeError, match="read-only view"):
        row[1] = 0.0
    with cr.no_grad():
        free = x[0]
        free[1] = 7.0  # outside recording a view writes through, as in torch
    assert x[0].tolist() == [1.0, 7.0, 1.0]


# -- __setitem__ ------------------------------------------------------------------------------------


def test_setitem_values_broadcast_and_cast():
    x = cr.zeros(2, 3, dtype=cr.int64)
    x[0] = 1.7
    x[:, 2] = cr.tensor([5.0, 6.0])
    x[x == 0] = -1
    assert x.tolist() == [[1, 1, 5], [-1, -1, 6]] and x.dtype == cr.int64 and x._version == 3
    y = cr.zeros(2, 3)
    y[1] = cr.ones(1, 3, dtype=cr.float64)  # leading size-1 dims are dropped
    y[..., ::-2] = cr.tensor([[1.0, 2.0]])
    assert y.tolist() == [[2.0, 0.0, 1.0], [2.0, 1.0, 1.0]] and y.dtype == cr.float32


def test_setitem_on_leaf_requiring_grad_refuses_outside_no_grad():
    w = cr.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad is being used in an in-place"):
        w[0] = 1.0
    with cr.no_grad():
        w[0] = 1.0
    assert w.tolist() == [1.0, 0.0, 0.0] and w._version == 1 and w.is_leaf


def test_setitem_rebases_non_leaf_onto_index_put():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = cr.tensor(4.0, requires_grad=True)
    h = x * 2
    h[1] = v * 3
    assert h.tolist() == [2.0, 12.0, 6.0] and h.grad_fn.name() == "IndexPutBackward0"
    (h * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 6.0]
    assert v.grad.item() == 6.0


def test_setitem_of_tracked_value_into_plain_buffer_records():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    buf = cr.zeros(2, 3)
    buf[:, [0, 2]] = w[:, None] * cr.tensor([1.0, 10.0])
    assert buf.requires_grad and buf.tolist() == [[1.0, 0.0, 10.0], [2.0, 0.0, 20.0]]
    buf.sum().backward()
    assert w.grad.tolist() == [11.0, 11.0]


def test_setitem_errors():
    x = cr.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"__setitem__: a value of shape \(2,\) cannot be broadcast.*3"):
        x[0] = cr.ones(2)
    with pytest.raises(RuntimeError, match=r"value of shape \(2,\)"):
        (x * cr.ones(1, requires_grad=True))[0] = cr.ones(2)
    with pytest.raises(TypeError, match="can't assign a list"):
        x[0] = [1.0, 2.0, 3.0]
    with pytest.raises(IndexError, match="__setitem__: index 5 is out of bounds for dimension 0 with size 2"):
        x[5] = 1.0


# -- errors of x[key] ---------------------------------------------------------------------------------

GETITEM_ERRORS = [
    (5, IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    (-4, IndexError, "index -4 is out of bounds for dimension 0 with size 3"),
    ((slice(None), 4), IndexError, "index 4 is out of bounds for dimension 1 with size 4"),
    ((Ellipsis, -5), IndexError, "index -5 is out of bounds for dimension 1 with size 4"),
    ([0, 5, 1], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ((0, [[4]]), IndexError, "index 4 is out of bounds for dimension 1 with size 4"),
    ((0, 0, 0), IndexError, "too many indices for tensor of dimension 2"),
    (1.5, IndexError, r"valid indices \(got float\)"),
    ("a", IndexError, r"valid indices \(got str\)"),
    (slice(None, None, 0), ValueError, "slice step cannot be zero"),
    ((Ellipsis, Ellipsis), IndexError, "single ellipsis"),
    (([0, 1], [0, 1, 2]), IndexError, "shape mismatch"),
]


@pytest.mark.parametrize("key, error, message", GETITEM_ERRORS)
def test_getitem_errors(key, error, message):
    x = cr.zeros(3, 4)
    with pytest.raises(error, match=message) as info:
        x[key]
    assert str(info.value).startswith("__getitem__")


def test_getitem_tensor_index_errors():
    x = cr.zeros(3, 4)
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[cr.tensor([0, 3])]
    with pytest.raises(IndexError, match="integer or bool tensors, got dtype float32"):
        x[cr.tensor([1.0])]
    with pytest.raises(IndexError, match=r"shape of the mask \[2\] at index 0 does not match .*\[3, 4\]"):
        x[cr.tensor([True, False])]
    with pytest.raises(IndexError, match=r"shape of the mask \[3\] at index 1"):
        x[:, [True, False, True]]


def test_zero_dim_integer_tensor_index_acts_as_int():
    x = cr.arange(6.0).reshape(2, 3)
    assert x[cr.tensor(1), np.int64(2)].item() == 5.0
    assert x[cr.tensor(1)].tolist() == [3.0, 4.0, 5.0]
    assert x[True].shape == (1, 2, 3) and x[False].shape == (0, 2, 3)


def test_iteration_yields_differentiable_rows():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    (rows[0] * rows[1]).sum().backward()
    assert x.grad.tolist() == [[3.0, 4.0], [1.0, 2.0]]


# -- gather / scatter_add / index_select against NumPy ----------------------------------------------

def _random_gather_case(seed):
    rng = np.random.default_rng(seed)
    ndim = int(rng.integers(1, 4))
    shape = tuple(int(s) for s in rng.integers(1, 5, ndim))
    dim = int(rng.integers(-ndim, ndim))
    index_shape = tuple(int(rng.integers(1, s + 1)) for s in shape)
    index_shape = index_shape[:dim % ndim] + (int(rng.integers(1, 6)),) + index_shape[dim % ndim + 1:]
    index = rng.integers(0, shape[dim], index_shape)
    return rng.standard_normal(shape), dim, index


def _crop(array, shape):
    return array[tuple(slice(0, s) for s in shape)]


@pytest.mark.parametrize("seed", range(8))
def test_gather_and_scatter_add_match_numpy(seed):
    x, dim, index = _random_gather_case(seed)
    crop = tuple(slice(None) if k == dim % x.ndim else slice(0, s) for k, s in enumerate(index.shape))
    expected = np.take_along_axis(x[crop], index, dim)
    xt = cr.tensor(x, requires_grad=True)
    out = cr.gather(xt, dim, cr.tensor(index))
    np.testing.assert_allclose(out.numpy(force=True), expected)

    g = np.random.default_rng(seed + 100).standard_normal(index.shape)
    out.backward(cr.tensor(g))
    mesh = tuple(index if k == dim % x.ndim else np.arange(s).reshape((s,) + (1,) * (index.ndim - k - 1))
                 for k, s in enumerate(index.shape))
    expected_grad = np.zeros_like(x)
    np.add.at(expected_grad, mesh, g)
    np.testing.assert_allclose(xt.grad.numpy(), expected_grad)

    # scatter_add is gather's transpose: adding g at the gathered positions, with src larger than index
    src = np.random.default_rng(seed + 200).standard_normal(tuple(s + 1 for s in index.shape))
    base = np.random.default_rng(seed + 300).standard_normal(x.shape)
    expected_sum = base.copy()
    np.add.at(expected_sum, mesh, _crop(src, index.shape))
    st = cr.tensor(src, requires_grad=True)
    summed = cr.tensor(base).scatter_add(dim, cr.tensor(index), st)
    np.testing.assert_allclose(summed.numpy(force=True), expected_sum)
    h = np.random.default_rng(seed + 400).standard_normal(x.shape)
    summed.backward(cr.tensor(h))
    expected_src_grad = np.zeros_like(src)
    expected_src_grad[tuple(slice(0, s) for s in index.shape)] = h[mesh]
    np.testing.assert_allclose(st.grad.numpy(), expected_src_grad)


def test_index_select_matches_numpy_take():
    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    index = np.array([4, 0, 4, 2])
    np.testing.assert_allclose(cr.tensor(x).index_select(-1, cr.tensor(index)).numpy(), np.take(x, index, -1))
    assert cr.index_select(cr.tensor(2.0), 0, cr.tensor([0])).item() == 2.0


def test_scatter_add_in_place():
    x = cr.zeros(2, 3)
    out = x.scatter_add_(1, cr.tensor([[2, 2], [0, 1]]), cr.ones(2, 2))
    assert out is x and x.tolist() == [[0.0, 0.0, 2.0], [1.0, 1.0, 0.0]] and x._version == 1
    w = cr.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="scatter_add_: a leaf tensor that requires grad"):
        w.scatter_add_(0, cr.tensor([0]), cr.ones(1))


GATHER_ERRORS = [
    (lambda x: cr.gather(x, 0, cr.tensor([[3, 0, 0, 0]])), RuntimeError,
     "gather: index 3 is out of bounds for dimension 0 with size 3"),
    (lambda x: cr.gather(x, 1, cr.tensor([[-1]])), RuntimeError, "index -1 is out of bounds for dimension 1"),
    (lambda x: cr.gather(x, 0, cr.tensor([1])), RuntimeError, "same number of dimensions"),
    (lambda x: cr.gather(x, 1, cr.tensor([[0]] * 4)), RuntimeError, r"no larger than input \[3, 4\]"),
    (lambda x: cr.gather(x, 0, cr.tensor([[0.0]])), RuntimeError, "expected dtype int32 or int64"),
    (lambda x: cr.gather(x, 2, cr.tensor([[0]])), IndexError, "dimension out of range"),
    (lambda x: cr.gather(x, 0, [[0]]), TypeError, "must be Tensor, not list"),
    (lambda x: cr.index_select(x, 0, cr.tensor([3])), IndexError,
     "index_select: index 3 is out of bounds for dimension 0 with size 3"),
    (lambda x: cr.index_select(x, 1, cr.tensor([[0]])), IndexError, "supposed to be a vector"),
    (lambda x: cr.scatter_add(x, 0, cr.tensor([[3]]), cr.ones(1, 1)), RuntimeError,
     "index 3 is out of bounds for dimension 0 with size 3"),
    (lambda x: cr.scatter_add(x, 0, cr.tensor([[0, 0]]), cr.ones(1, 1)), RuntimeError,
     r"no larger than src \[1, 1\]"),
    (lambda x: cr.scatter_add(x, 0, cr.tensor([[0]]), cr.ones(1, 1, dtype=cr.float64)), RuntimeError,
     "same dtype, got chainrule.float32 and chainrule.float64"),
    (lambda x: cr.scatter_add(x, 0, cr.tensor([[0]]), 1.0), TypeError,
     r"argument 'src' \(position 4\) must be Tensor, not float"),
    (lambda x: cr.take_along_dim(x, cr.tensor([0]), dim=0), RuntimeError, "same number of dimensions"),
]


@pytest.mark.parametrize("call, error, message", GATHER_ERRORS)
def test_gather_family_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(cr.zeros(3, 4))


# -- masks and nonzero -------------------------------------------------------------------------------


def test_masked_fill_value_tensor_gets_summed_gradient():
    x = cr.tensor([[1.0, -2.0], [-3.0, 4.0]], requires_grad=True)
    v = cr.tensor(0.5, dtype=cr.float64, requires_grad=True)
    out = x.masked_fill(x < 0, v)
    assert out.dtype == cr.float32 and out.tolist() == [[1.0, 0.5], [0.5, 4.0]]
    (out * cr.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0], [0.0, 4.0]]
    assert v.grad.item() == 5.0 and v.grad.dtype == cr.float64


def test_masked_fill_broadcasts_casts_and_checks():
    assert cr.masked_fill(cr.zeros(3), cr.tensor([[True, False, True]] * 2), 1.0).shape == (2, 3)
    assert cr.zeros(3, dtype=cr.int64).masked_fill(cr.tensor([True, False, True]), 1.7).tolist() == [1, 0, 1]
    x = cr.zeros(2, 3)
    assert x.masked_fill_(cr.tensor([True, False, True]), 2.0) is x
    assert x.tolist() == [[2.0, 0.0, 2.0]] * 2 and x._version == 1
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        cr.zeros(3).masked_fill_(cr.tensor([[True, False, True]] * 2), 1.0)
    with pytest.raises(RuntimeError, match="only supports boolean masks, but got mask with dtype .*int64"):
        cr.zeros(3).masked_fill(cr.tensor([1, 0, 1]), 1.0)
    with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
        cr.zeros(3).masked_fill(cr.tensor([True, False, True]), cr.ones(3))
    with pytest.raises(TypeError, match="value must be a Python number"):
        cr.zeros(3).masked_fill(cr.tensor([True, False, True]), "a")
    with pytest.raises(RuntimeError, match=r"mask of shape \(2,\) cannot be broadcast"):
        cr.zeros(3).masked_fill(cr.tensor([True, False]), 1.0)


def test_masked_select_and_nonzero():
    x = cr.tensor([[1.0, -2.0], [-3.0, 4.0]], requires_grad=True)
    picked = x.masked_select(cr.tensor([True, False]))
    assert picked.tolist() == [1.0, -3.0]
    picked.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0], [1.0, 0.0]]
    with pytest.raises(RuntimeError, match="only supports boolean masks"):
        cr.masked_select(x, cr.tensor([1, 0]))
    nz = cr.nonzero(x < 0)
    assert nz.dtype == cr.int64 and nz.tolist() == [[0, 1], [1, 0]]
    rows, cols = (x < 0).nonzero(as_tuple=True)
    assert x[rows, cols].tolist() == [-2.0, -3.0]
    assert cr.nonzero(cr.tensor(5.0)).shape == (1, 0)
    assert [t.tolist() for t in cr.nonzero(cr.tensor(0.0), as_tuple=True)] == [[]]


# -- torch as an oracle (optional) -------------------------------------------------------------------

TORCH_KEYS = [
    (1, 2), (slice(1, None), None, slice(None, None, 2)), (Ellipsis, 0), ([2, 0, 2], slice(1, 3)),
    (slice(None), [[3, 3], [0, 1]], [4, 4]), ([0, 2], Ellipsis, [1, 1]),
    (None, [1, 1], None, 2, slice(None)), (0, slice(None), [0, 1, 1]),  # ints first, as torch (not NumPy)
]


@pytest.mark.parametrize("key", TORCH_KEYS, ids=[str(i) for i in range(len(TORCH_KEYS))])
def test_getitem_matches_torch(key):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_c, out_t = xc[key], xt[key]
    np.testing.assert_allclose(out_c.numpy(force=True), out_t.detach().numpy())
    g = np.random.default_rng(1).standard_normal(out_t.shape)
    out_c.backward(cr.tensor(g))
    out_t.backward(torch.tensor(g))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("key", TORCH_KEYS, ids=[str(i) for i in range(len(TORCH_KEYS))])
def test_setitem_matches_torch(key):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 5))
    v = rng.standard_normal(torch.tensor(x)[key].shape)
    xc, vc = cr.tensor(x, requires_grad=True), cr.tensor(v, requires_grad=True)
    xt, vt = torch.tensor(x, requires_grad=True), torch.tensor(v, requires_grad=True)
    yc, yt = xc * 1.0, xt * 1.0
    yc[key], yt[key] = vc, vt
    np.testing.assert_allclose(yc.numpy(force=True), yt.detach().numpy())
    g = rng.standard_normal(x.shape)
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy())
    np.testing.assert_allclose(vc.grad.numpy(), vt.grad.numpy())
