"""Shape, join and product ops of issue 13 beyond the op database: views vs copies, torch's argument forms, the
error types and messages, gradients at special points."""

import warnings

import numpy as np
import pytest

import chainrule as cr


def test_select_and_narrow_are_views_and_rot90_flips_are_copies():
    x = cr.arange(6.).reshape(2, 3)
    row = cr.select(x, 0, -1)
    row.add_(10)
    assert x.tolist() == [[0., 1., 2.], [13., 14., 15.]]
    turned = cr.rot90(x, 4)
    turned.add_(1)
    assert x[0, 0].item() == 0.0
    assert cr.fliplr(x)[0].tolist() == [2., 1., 0.] and cr.flipud(x)[0].tolist() == [13., 14., 15.]


def test_aliases_and_methods():
    x = cr.ones(2, 3, 4)
    assert cr.swapdims(x, 0, 2).shape == x.swapaxes(0, 2).shape == x.swapdims(0, 2).shape == (4, 3, 2)
    assert cr.moveaxis(x, 0, -1).shape == x.moveaxis(0, -1).shape == (3, 4, 2)
    assert x.select(1, 2).shape == (2, 4) and x.rot90(1, (1, 2)).shape == (2, 4, 3)
    assert cr.row_stack is cr.vstack
    assert [p.shape for p in x.tensor_split(2, 1)] == [(2, 2, 4), (2, 1, 4)]
    assert x.kron(cr.ones(2)).shape == (2, 3, 8) and x.diag_embed().shape == (2, 3, 4, 4)
    assert cr.ones(2).diagflat().shape == (2, 2) and x.as_strided((2,), (3,)).shape == (2,)
    assert [p.shape for p in x.hsplit(3)] == [(2, 1, 4)] * 3 and len(x.vsplit(2)) == len(x.dsplit([1])) == 2
    assert [p.shape for p in x.split_with_sizes([1, 1])] == [(1, 3, 4)] * 2
    assert x.repeat_interleave(2).shape == (48,)


def test_rot90_matches_torch_turn_direction():
    x = cr.tensor([[1, 2], [3, 4]])
    assert cr.rot90(x).tolist() == [[2, 4], [1, 3]]
    assert cr.rot90(x, -1).tolist() == [[3, 1], [4, 2]] == cr.rot90(x, 3).tolist()
    assert cr.rot90(x, 1, (1, 0)).tolist() == [[3, 1], [4, 2]]


def test_tensor_split_and_numpy_style_splits():
    x = cr.arange(7)
    assert [p.tolist() for p in cr.tensor_split(x, 3)] == [[0, 1, 2], [3, 4], [5, 6]]
    assert [p.tolist() for p in cr.tensor_split(x, (1, 5, 3))] == [[0], [1, 2, 3, 4], [], [3, 4, 5, 6]]
    assert [p.tolist() for p in cr.tensor_split(x, cr.tensor(2))] == [[0, 1, 2, 3], [4, 5, 6]]
    assert [p.tolist() for p in cr.tensor_split(x, cr.tensor([2, 4]))] == [[0, 1], [2, 3], [4, 5, 6]]
    assert [p.shape for p in cr.hsplit(cr.ones(2, 6), [2])] == [(2, 2), (2, 4)]


@pytest.mark.parametrize("fn, error, match", [
    (lambda: cr.tensor_split(cr.tensor(1.), 2), RuntimeError, "at least a 1-dimensional"),
    (lambda: cr.tensor_split(cr.arange(4), 0), RuntimeError, "number of sections must be larger than 0"),
    (lambda: cr.tensor_split(cr.arange(4), cr.tensor([1.0])), RuntimeError, "dtype of long"),
    (lambda: cr.hsplit(cr.arange(6), 4), RuntimeError, "not divisible by the split_size 4"),
    (lambda: cr.vsplit(cr.arange(6), 2), RuntimeError, "at least 2 dimension"),
    (lambda: cr.dsplit(cr.ones(2, 2), 2), RuntimeError, "at least 3 dimension"),
    (lambda: cr.split_with_sizes(cr.arange(6), [2, 3]), RuntimeError, "sum exactly to 6"),
    (lambda: cr.select(cr.arange(6), 0, 7), IndexError, "index 7 out of range"),
    (lambda: cr.select(cr.tensor(1.), 0, 0), IndexError, "0-dim"),
    (lambda: cr.rot90(cr.ones(3)), RuntimeError, "total dims >= 2"),
    (lambda: cr.rot90(cr.ones(2, 2), 1, (0, 0)), RuntimeError, "rotation dims to be different"),
    (lambda: cr.rot90(cr.ones(2, 2), 1, (0, 1, 1)), RuntimeError, "total rotation dims == 2"),
    (lambda: cr.fliplr(cr.ones(3)), RuntimeError, ">= 2-d"),
    (lambda: cr.flipud(cr.tensor(1.)), RuntimeError, ">= 1-d"),
    (lambda: cr.diag_embed(cr.ones(2, 3), 0, 0, 0), RuntimeError, "cannot be identical"),
    (lambda: cr.broadcast_shapes((2, 1), (3, 2)), RuntimeError, "shape mismatch"),
    (lambda: cr.repeat_interleave(cr.ones(2, 3), cr.tensor([1, 2, 3]), dim=0), RuntimeError,
     r"repeats.size\(0\) = 3 and input.size\(0\) = 2"),
    (lambda: cr.repeat_interleave(cr.ones(2), cr.tensor([1, -2])), RuntimeError, "can not be negative"),
    (lambda: cr.repeat_interleave(cr.ones(2), -1), RuntimeError, "must be non-negative"),
    (lambda: cr.repeat_interleave(cr.ones(2), cr.tensor([1.0, 2.0])), RuntimeError, "Long or Int"),
    (lambda: cr.repeat_interleave(cr.ones(2), 2, output_size=3), RuntimeError, "does not match required size"),
    (lambda: cr.as_strided(cr.arange(6.), (2, 2), (1, 2), 5), RuntimeError, "out of bounds"),
    (lambda: cr.as_strided(cr.arange(6.), (2, 2), (1,)), RuntimeError, "mismatch in length"),
    (lambda: cr.meshgrid(cr.ones(2), cr.ones(2, dtype=cr.int64), indexing="ij"), RuntimeError, "same dtype"),
    (lambda: cr.meshgrid(cr.ones(2, 1), indexing="ij"), RuntimeError, "0D or 1D"),
    (lambda: cr.meshgrid(cr.ones(2), indexing="yx"), RuntimeError, 'one of "xy" or "ij"'),
    (lambda: cr.cartesian_prod(cr.ones(2, 1), cr.ones(2)), RuntimeError, "Expect a 1D vector"),
    (lambda: cr.meshgrid(indexing="ij"), RuntimeError, "non-empty TensorList"),
    (lambda: cr.cartesian_prod(), RuntimeError, "non-empty TensorList"),
    (lambda: cr.hstack([]), RuntimeError, "hstack expects a non-empty TensorList"),
    (lambda: cr.column_stack([]), RuntimeError, "column_stack expects a non-empty TensorList"),
    (lambda: cr.tensordot(cr.ones(2, 3), cr.ones(3, 2), dims=[1, 0]), TypeError, "pair of lists"),
    (lambda: cr.combinations(cr.ones(2, 1)), RuntimeError, "Expect a 1D vector"),
    (lambda: cr.combinations(cr.ones(2), -1), RuntimeError, "non-negative"),
    (lambda: cr.block_diag(cr.ones(2, 2, 2)), RuntimeError, "Input 0 has 3 dimensions"),
    (lambda: cr.tensordot(cr.ones(2, 3), cr.ones(4, 3), dims=([1], [0])), RuntimeError,
     "first has size 3 in dim 1 and second has size 4 in dim 0"),
    (lambda: cr.tensordot(cr.ones(2, 3), cr.ones(3, 3), dims=-1), RuntimeError, "dims >= 0"),
    (lambda: cr.tensordot(cr.ones(2, 3), cr.ones(3, 3), dims=3), RuntimeError, "dims < ndim_a or ndim_b"),
    (lambda: cr.tensordot(cr.ones(2, 3), cr.ones(3, 3), dims=([1], [0, 1])), RuntimeError, "same length"),
    (lambda: cr.tensordot(cr.ones(2, 3), cr.ones(3, 3, dtype=cr.float64), 1), RuntimeError, "same dtype"),
    (lambda: cr.cdist(cr.ones(3), cr.ones(3, 3)), RuntimeError, "at least 2D tensors, X1 got: 1D"),
    (lambda: cr.cdist(cr.ones(2, 3), cr.ones(3, 4)), RuntimeError, "same number of columns. X1: 3 X2: 4"),
    (lambda: cr.cdist(cr.ones(2, 3), cr.ones(3, 3), p=-1), RuntimeError, "non-negative p"),
    (lambda: cr.cdist(cr.ones(2, 3, dtype=cr.int64), cr.ones(3, 3)), RuntimeError, "floating-point dtypes"),
    (lambda: cr.cdist(cr.ones(2, 3), cr.ones(3, 3), compute_mode="fast"), ValueError, "not a valid value"),
])
def test_errors_follow_torch(fn, error, match):
    with pytest.raises(error, match=match):
        fn()


def test_atleast_forms():
    s, v = cr.tensor(1.), cr.ones(3)
    assert cr.atleast_1d(s).shape == (1,) and cr.atleast_1d(v) is v
    assert isinstance(cr.atleast_2d(s, v), tuple) and [t.shape for t in cr.atleast_2d([s, v])] == [(1, 1), (1, 3)]
    assert cr.atleast_3d(cr.ones(2, 3)).shape == (2, 3, 1) and cr.atleast_1d() == ()


def test_repeat_interleave_forms():
    assert cr.repeat_interleave(cr.tensor([2, 0, 1])).tolist() == [0, 0, 2]
    x = cr.tensor([[1, 2], [3, 4]])
    assert cr.repeat_interleave(x, 2, dim=1).tolist() == [[1, 1, 2, 2], [3, 3, 4, 4]]
    assert cr.repeat_interleave(x, cr.tensor(2), dim=0).shape == (4, 2)
    assert cr.repeat_interleave(x, cr.tensor([1, 2]), dim=0, output_size=3).tolist() == [[1, 2], [3, 4], [3, 4]]


def test_meshgrid_without_indexing_warns_and_is_ij():
    with pytest.warns(UserWarning, match="indexing argument"):
        gx, gy = cr.meshgrid(cr.arange(2), cr.arange(3))
    assert gx.shape == gy.shape == (2, 3) and gx[:, 0].tolist() == [0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gx, gy = cr.meshgrid([cr.arange(2), cr.arange(3)], indexing="xy")
    assert gx.shape == (3, 2) and gx[0].tolist() == [0, 1]


def test_combinations_and_cartesian_prod_small_cases():
    x = cr.tensor([1, 2, 3])
    assert cr.combinations(x).tolist() == [[1, 2], [1, 3], [2, 3]]
    assert cr.combinations(x, 2, with_replacement=True).shape == (6, 2)
    assert cr.combinations(x, 0).shape == (0,) and cr.combinations(x, 4).shape == (0, 4)
    assert cr.cartesian_prod(x) is x
    assert cr.cartesian_prod(x, cr.tensor([5, 6])).tolist()[:3] == [[1, 5], [1, 6], [2, 5]]


def test_block_diag_promotes_and_handles_no_input():
    out = cr.block_diag(cr.tensor(1), cr.ones(2, 3), cr.ones(3, dtype=cr.float64))
    assert out.shape == (4, 7) and out.dtype == cr.float64
    assert cr.block_diag().shape == (1, 0)


def test_kron_and_tensordot_closed_forms():
    a, b = np.arange(6.).reshape(2, 3), np.arange(4.).reshape(2, 2)
    np.testing.assert_array_equal(cr.kron(cr.tensor(a), cr.tensor(b)).numpy(), np.kron(a, b))
    assert cr.kron(cr.ones(2, 3), cr.arange(2)).dtype == cr.float32
    c = np.arange(24.).reshape(2, 3, 4)
    np.testing.assert_allclose(cr.tensordot(cr.tensor(c), cr.tensor(c), dims=cr.tensor([[0, 1], [0, 1]])).numpy(),
                               np.tensordot(c, c, ([0, 1], [0, 1])))


def test_cdist_values_and_zero_distance_gradient():
    x = cr.tensor([[0., 0.], [3., 4.]])
    np.testing.assert_allclose(cr.cdist(x, x).numpy(), [[0., 5.], [5., 0.]])
    np.testing.assert_allclose(cr.cdist(x, x, p=1).numpy(), [[0., 7.], [7., 0.]])
    np.testing.assert_allclose(cr.cdist(x, x, p=float("inf")).numpy(), [[0., 4.], [4., 0.]])
    np.testing.assert_allclose(cr.cdist(x, x, p=0).numpy(), [[0., 2.], [2., 0.]])
    w = cr.zeros(2, 3, requires_grad=True)
    cr.cdist(w, w).sum().backward()
    assert w.grad.tolist() == [[0.0] * 3] * 2  # torch's subgradient at zero distance
    assert cr.cdist(cr.ones(5, 2, 3), cr.ones(1, 4, 3)).shape == (5, 2, 4)


def test_as_strided_windows_and_gradient():
    x = cr.arange(5., requires_grad=True)
    windows = cr.as_strided(x, (3, 3), (1, 1))
    assert windows.tolist() == [[0., 1., 2.], [1., 2., 3.], [2., 3., 4.]]
    windows.sum().backward()
    assert x.grad.tolist() == [1., 2., 3., 2., 1.]
    assert cr.as_strided(cr.arange(6.), (2, 2), (1, 2), 1).tolist() == [[1., 3.], [2., 4.]]
    base = cr.arange(6.)
    view = cr.as_strided(base, (2, 2), (3, 1))
    view.mul_(10)  # non-overlapping: a writable view, as torch
    assert base.tolist() == [0., 10., 2., 30., 40., 5.]
    with pytest.raises(RuntimeError, match="read-only"):
        cr.as_strided(base, (2, 2), (1, 1)).add_(1)
    # a non-contiguous input is read in its own row-major order (torch reads its storage: [0., 1.])
    assert cr.as_strided(cr.arange(6.).reshape(2, 3).t(), (2,), (1,)).tolist() == [0., 3.]


def test_broadcast_shapes_and_tensors():
    assert cr.broadcast_shapes((2, 1), (3,), 1) == cr.Size([2, 3]) and cr.broadcast_shapes() == cr.Size([])
    a, b = cr.broadcast_tensors(cr.ones(2, 1), cr.arange(3.))
    assert a.shape == b.shape == (2, 3) and b[1].tolist() == [0., 1., 2.]


def test_against_torch_when_available():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((3, 4))
    pairs = [
        (lambda m, t: m.rot90(t, 3, (1, 0)), None),
        (lambda m, t: m.diag_embed(t, -1, 2, 0), None),
        (lambda m, t: m.hstack([t, t]), None),
        (lambda m, t: m.dstack([t, t]), None),
        (lambda m, t: m.column_stack([t[0], t[1]]), None),
        (lambda m, t: m.kron(t, t[:2, :2]), None),
        (lambda m, t: m.cdist(t, t * 2, p=1.5), None),
        (lambda m, t: m.tensordot(t, t.T, 1), None),
        (lambda m, t: m.combinations(t[0], 3), None),
        (lambda m, t: m.block_diag(t[0], t[:2, :2]), None),
        (lambda m, t: m.repeat_interleave(t, 2, dim=1), None),
    ]
    for f, _ in pairs:
        expected = f(torch, torch.tensor(x)).numpy()
        np.testing.assert_allclose(f(cr, cr.tensor(x)).numpy(), expected, rtol=1e-10, atol=1e-12)
