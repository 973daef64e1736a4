"""ops/view_scatter.py: Tensor.unfold and diagonal/select/slice_scatter against hand cases, torch's errors and,
optionally, torch itself."""

import numpy as np
import pytest

import chainrule as cr


def test_unfold_windows_and_gradient():
    x = cr.arange(6.0, requires_grad=True)
    out = x.unfold(0, 3, 2)
    assert out.tolist() == [[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]]
    out.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 2.0, 1.0, 1.0, 0.0]  # 2 is in both windows, 5 in none
    assert cr.zeros(2, 5, 3).unfold(1, 2, 2).shape == (2, 2, 3, 2)
    assert cr.tensor(5.0).unfold(0, 1, 1).tolist() == [5.0]


def test_scatters_hand_cases():
    x = cr.zeros(3, 4)
    assert cr.diagonal_scatter(x, cr.ones(3), 1).tolist() == [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    assert cr.diagonal_scatter(x, cr.ones(2), -1).tolist() == [[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    assert x.select_scatter(cr.ones(4), 0, -1).tolist() == [[0] * 4, [0] * 4, [1] * 4]
    assert cr.slice_scatter(x, cr.ones(3, 2), 1, step=2).tolist() == [[1, 0, 1, 0]] * 3
    assert cr.slice_scatter(x, cr.ones(3, 0), 1, 5, 9).shape == (3, 4)
    assert x.tolist() == [[0] * 4] * 3  # out of place


def test_scatter_gradients_split_between_input_and_src():
    x, s = cr.ones(3, 3, requires_grad=True), cr.ones(3, requires_grad=True)
    (cr.diagonal_scatter(x, s * 2) * cr.arange(9.0).reshape(3, 3)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 2], [3, 0, 5], [6, 7, 0]])
    np.testing.assert_array_equal(s.grad.numpy(), [0, 8, 16])


def test_errors():
    x = cr.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"src size = \[2\], slice size = \[3\]"):
        cr.diagonal_scatter(x, cr.ones(2))
    with pytest.raises(IndexError, match=r"index 5 out of range for tensor of size \[3, 4\] at dimension 1"):
        cr.select_scatter(x, cr.ones(3), 1, 5)
    with pytest.raises(RuntimeError, match=r"src size = \[3, 3\], slice size = \[3, 2\]"):
        cr.slice_scatter(x, cr.ones(3, 3), 1, 0, 2)
    with pytest.raises(RuntimeError, match="maximum size for tensor at dimension 1 is 4 but size is 5"):
        x.unfold(1, 5, 1)
    with pytest.raises(RuntimeError, match="step is 0 but must be > 0"):
        x.unfold(1, 2, 0)
    with pytest.raises(RuntimeError, match="diagonal dimensions cannot be identical"):
        cr.diagonal_scatter(x, cr.ones(3), 0, 1, 1)


def test_against_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((4, 5, 6))
    for dim, size, step in ((0, 2, 1), (1, 3, 2), (-1, 6, 1), (2, 1, 4)):
        np.testing.assert_array_equal(cr.tensor(x).unfold(dim, size, step).numpy(),
                                      torch.tensor(x).unfold(dim, size, step).numpy())
    for offset, d1, d2 in ((0, 0, 1), (2, 1, 2), (-1, 2, 0), (1, -1, -3)):
        src = torch.tensor(x).diagonal(offset, d1, d2) + 1
        np.testing.assert_array_equal(
            cr.diagonal_scatter(cr.tensor(x), cr.tensor(src.numpy()), offset, d1, d2).numpy(),
            torch.diagonal_scatter(torch.tensor(x), src, offset, d1, d2).numpy())
    for start, end, step in ((None, None, 1), (1, -1, 2), (-3, None, 1), (4, 2, 1)):
        src = torch.tensor(x)[:, start:end:step] + 1
        np.testing.assert_array_equal(
            cr.slice_scatter(cr.tensor(x), cr.tensor(src.numpy()), 1, start, end, step).numpy(),
            torch.slice_scatter(torch.tensor(x), src, 1, start, end, step).numpy())


def test_fill_diagonal_():
    assert cr.zeros(7, 3).fill_diagonal_(1, wrap=True).tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0],
                                                                     [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert cr.zeros(4, 3).fill_diagonal_(1).tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert cr.zeros(2, 4).fill_diagonal_(1).tolist() == [[1, 0, 0, 0], [0, 1, 0, 0]]
    assert cr.zeros(2, 2, 2).fill_diagonal_(5).tolist() == [[[5, 0], [0, 0]], [[0, 0], [0, 5]]]
    assert cr.zeros(2, 2, dtype=cr.int64).fill_diagonal_(1.7).tolist() == [[1, 0], [0, 1]]
    x = cr.ones(3, 3, requires_grad=True)
    y = x * 2
    assert y.fill_diagonal_(float("-inf")) is y
    y.clamp(min=0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * (1 - np.eye(3)))
    with pytest.raises(RuntimeError, match="all dimensions of input must be of equal length"):
        cr.zeros(2, 3, 2).fill_diagonal_(1)
    with pytest.raises(RuntimeError, match="dimensions must larger than 1"):
        cr.zeros(3).fill_diagonal_(1)


def test_put_and_index_reduce():
    x = cr.zeros(2, 3)
    out = cr.put(x, cr.tensor([0, 5, 0]), cr.tensor([1.0, 2.0, 3.0]), accumulate=True)
    assert out.tolist() == [[4, 0, 0], [0, 0, 2]] and x.tolist() == [[0] * 3] * 2
    assert x.put_(cr.tensor([[1]]), cr.tensor([[7.0]])) is x and x.tolist() == [[0, 7, 0], [0, 0, 0]]
    with pytest.raises(IndexError, match="Expected source and index to have the same number of elements"):
        x.put(cr.tensor([1, 2]), cr.tensor([1.0]))
    with pytest.raises(IndexError, match="out of bounds"):
        x.put(cr.tensor([6]), cr.tensor([1.0]))
    y, src, index = cr.ones(3, 2), cr.tensor([[2.0, 3.0], [4.0, 5.0], [6.0, 7.0]]), cr.tensor([0, 0, 2])
    assert y.index_reduce(0, index, src, "prod").tolist() == [[8, 15], [1, 1], [6, 7]]
    assert y.index_reduce(0, index, src, "mean", include_self=False).tolist() == [[3, 4], [1, 1], [6, 7]]
    y.index_reduce_(1, cr.tensor([1]), cr.full((3, 1), 4.0), "amax")
    assert y.tolist() == [[1, 4]] * 3
    with pytest.raises(RuntimeError, match="Expected reduce to be one of prod, mean, amax or amin but got sum"):
        y.index_reduce(0, index, src, "sum")
