"""Tensor basics: factories, devices, seeds, conversions, operators and errors."""

import numpy as np
import pytest

import chainrule as cr


def test_factories_shapes_and_keywords():
    assert cr.zeros(2, 3).shape == (2, 3)
    assert cr.ones((2, 3)).tolist() == [[1, 1, 1], [1, 1, 1]]
    assert cr.empty(4).shape == (4,)
    assert cr.eye(2).tolist() == [[1, 0], [0, 1]]
    assert cr.linspace(0, 1, 5).tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert cr.arange(1, 7, 2).tolist() == [1, 3, 5]
    assert cr.full((2, 2), 7.0, requires_grad=True).requires_grad
    x = cr.randn(3, 4, dtype=cr.float64)
    for like in (cr.zeros_like, cr.ones_like, cr.rand_like, cr.randn_like):
        y = like(x)
        assert y.shape == x.shape and y.dtype is cr.float64
    assert cr.full_like(x, 2.0).tolist() == np.full((3, 4), 2.0).tolist()
    r = cr.randint(0, 5, (100,))
    assert r.dtype is cr.int64 and set(r.tolist()) <= set(range(5))


def test_seeded_runs_are_reproducible():
    cr.manual_seed(0)
    a = cr.randn(5)
    cr.manual_seed(0)
    b = cr.randn(5)
    assert cr.equal(a, b)
    g = cr.Generator().manual_seed(3)
    c = cr.rand(4, generator=g)
    g.manual_seed(3)
    assert cr.equal(c, cr.rand(4, generator=g))


def test_devices():
    x = cr.zeros(2, device="cpu")
    assert x.device == cr.device("cpu") and str(x.device) == "cpu"
    assert x.to("cpu") is x and x.cpu() is x
    assert not cr.cuda.is_available()
    with pytest.raises(RuntimeError, match="not available"):
        cr.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="not available"):
        x.to("cuda")
    cr.set_default_device("cpu")
    assert cr.get_default_device() == "cpu"


def test_comparisons_return_bool_tensors():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype is cr.bool and m.tolist() == [False, True, True] and not m.requires_grad
    assert (x == 2).tolist() == [False, True, False]
    assert cr.allclose(x, x + 1e-9) and not cr.allclose(x, x + 1)
    assert cr.isclose(x, x).tolist() == [True] * 3


def test_metadata_and_conversions():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.ndim == 2 and x.size() == (2, 2) and x.size(-1) == 2 and x.numel() == 4 and len(x) == 2
    assert [row.tolist() for row in x] == [[1.0, 2.0], [3.0, 4.0]]
    assert isinstance(x.numpy(), np.ndarray)
    assert cr.tensor(3.5).item() == 3.5 and float(cr.tensor(2.0)) == 2.0
    with pytest.raises(RuntimeError, match="4 elements"):
        x.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)
    with pytest.raises(TypeError, match="0-d"):
        len(cr.tensor(1.0))
    with pytest.raises(RuntimeError, match="detach"):
        cr.tensor([1.0], requires_grad=True).numpy()


def test_detach_and_clone():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    c = x.clone()
    assert c.grad_fn is not None
    c.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_reflected_operators():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = 2 - x + 1 / x * 3 + 2 ** x
    y.sum().backward()
    expected = -1 - 3 / np.array([1.0, 2.0]) ** 2 + np.log(2) * 2 ** np.array([1.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)
    assert (-x).tolist() == [-1.0, -2.0]
    assert (np.float64(2.0) * cr.tensor([1.0])).tolist() == [2.0]


def test_matmul_operator_and_error():
    a = cr.randn(3, 4)
    assert (a @ cr.randn(4, 2)).shape == (3, 2)
    with pytest.raises(RuntimeError, match=r"matmul: cannot multiply shapes \(3, 4\) and \(5, 2\)"):
        a @ cr.randn(5, 2)


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"add: the shapes \(3,\) and \(4,\) cannot be broadcast"):
        cr.ones(3) + cr.ones(4)


def test_operand_type_error():
    with pytest.raises(TypeError, match="mul"):
        cr.ones(2) * "a"


def test_grad_assignment_checks_shape():
    w = cr.zeros(2, requires_grad=True)
    w.grad = cr.ones(2)
    with pytest.raises(RuntimeError, match="different size"):
        w.grad = cr.ones(3)
    w.grad = None
    assert w.grad is None


def test_sgd_update_by_hand_under_no_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    data = w._data
    with cr.no_grad():
        w -= 0.1 * w.grad
    assert w._data is data and w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.numpy(force=True), [0.8, 1.6])


def test_inplace_on_leaf_requiring_grad_raises():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w.add_(1)


def test_inplace_after_save_raises_naming_the_op():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = h * h
    h.mul_(3)
    with pytest.raises(RuntimeError, match="mul_"):
        y.sum().backward()


def test_inplace_on_non_leaf_rebases_history():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.add_(1).mul_(3)
    h.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    assert h.tolist() == [9.0, 15.0]


@pytest.mark.parametrize("op, args, expected", [
    ("zero_", (), [0.0, 0.0]), ("fill_", (7,), [7.0, 7.0]), ("copy_", (cr.tensor([5.0, 6.0]),), [5.0, 6.0]),
    ("clamp_", (0, 1.5), [1.0, 1.5]), ("sub_", (1,), [0.0, 1.0]), ("div_", (2,), [0.5, 1.0]),
])
def test_inplace_ops(op, args, expected):
    x = cr.tensor([1.0, 2.0])
    before = x._version
    assert getattr(x, op)(*args) is x
    assert x.tolist() == expected and x._version == before + 1


def test_views_share_the_version_counter():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 1
    y = (h * h).sum()  # saves h
    with cr.no_grad():
        h.reshape(3, 1).mul_(2)  # modifies h through a view
    with pytest.raises(RuntimeError, match="modified by the in-place op mul_"):
        y.backward()
    base = cr.tensor([1.0, 2.0])
    view = base.reshape(2, 1)
    view.add_(1)
    assert base.tolist() == [2.0, 3.0] and base._version == view._version == 1


def test_data_is_a_tensor_sharing_storage_without_history():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    d = w.data
    assert isinstance(d, cr.Tensor) and not d.requires_grad and d.grad_fn is None
    w.data -= 0.5 * w.grad          # the lecture's manual SGD step
    assert w.tolist() == [0.0, 0.0] and w.requires_grad and w.is_leaf
    w.data.add_(1.0)
    assert w.tolist() == [1.0, 1.0]
    w.data = cr.tensor([5.0, 6.0])
    assert w.tolist() == [5.0, 6.0] and w.requires_grad
    with pytest.raises(TypeError, match="data"):
        w.data = [1.0]
