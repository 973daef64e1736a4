"""Engine semantics: the lecture's worked examples, fan-out, accumulation, freeing, retain_graph, hooks, grad()."""

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr


def test_lecture_add_mul_example():
    x = cr.tensor(-2.0, requires_grad=True)
    y = cr.tensor(5.0, requires_grad=True)
    z = cr.tensor(-4.0, requires_grad=True)
    f = (x + y) * z
    f.backward()
    assert f.item() == -12
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4, -4, 3)


def test_lecture_sigmoid_neuron():
    w = cr.tensor([2.0, -3.0, -3.0], requires_grad=True)
    x = cr.tensor([-1.0, -2.0], requires_grad=True)
    f = 1 / (1 + cr.exp(-(w[0] * x[0] + w[1] * x[1] + w[2]))) if hasattr(cr.Tensor, "__getitem__") else None
    if f is None:  # indexing arrives with the indexing family; use dot products meanwhile
        f = 1 / (1 + cr.exp(-((w * cr.tensor([1.0, 0, 0])).sum() * (x * cr.tensor([1.0, 0])).sum()
                               + (w * cr.tensor([0, 1.0, 0])).sum() * (x * cr.tensor([0, 1.0])).sum()
                               + (w * cr.tensor([0, 0, 1.0])).sum())))
    f.backward()
    np.testing.assert_allclose(w.grad.numpy(), [-0.2, -0.39, 0.2], atol=0.005)
    np.testing.assert_allclose(x.grad.numpy(), [0.39, -0.59], atol=0.005)


def test_fan_out_sums_gradients():
    x = cr.tensor(3.0, requires_grad=True)
    y = x * x + x  # x fans out three times
    y.backward()
    assert x.grad.item() == 7.0


def test_leaf_gradients_accumulate_across_calls():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_grad_is_a_copy_not_an_alias():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.tensor([1.0, 2.0], requires_grad=True)
    (x + y).sum().backward()
    x.grad.zero_()
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 1.0])


def test_linear_weight_gradient_is_row_major_and_owns_its_buffer():
    # The product behind weight.t() is computed transposed, so .grad takes it over (no copy), laid out as the
    # weight; a gradient another tensor still holds is copied instead, so neither aliases the other.
    layer = cr.nn.Linear(5, 3)
    x = cr.randn(4, 5)
    layer(x).sum().backward()
    grad = layer.weight.grad.numpy()
    assert grad.flags.c_contiguous and grad.shape == (3, 5)
    np.testing.assert_allclose(grad, np.tile(x.numpy().sum(0), (3, 1)), rtol=1e-6)
    kept = []
    w = cr.randn(3, 5, requires_grad=True)
    wt = w.t()
    wt.register_hook(kept.append)  # the hook keeps the transposed product that w's gradient is a view of
    (x @ wt).sum().backward()
    assert len(kept) == 1 and not np.shares_memory(w.grad.numpy(), kept[0].numpy())
    np.testing.assert_array_equal(w.grad.numpy(), kept[0].numpy().T)


def test_non_leaf_grad_is_none_unless_retained():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    k = x * 3
    k.retain_grad()
    (h * k).sum().backward()
    assert h.grad is None
    np.testing.assert_array_equal(k.grad.numpy(), [2.0, 4.0])
    assert k.retains_grad and not h.retains_grad


def test_graph_is_freed_without_the_cycle_collector():
    gc.disable()
    try:
        x = cr.randn(100, requires_grad=True)
        y = (x * 2).exp().sum()
        node = weakref.ref(y.grad_fn)
        del y
        assert node() is None
    finally:
        gc.enable()


def test_saved_tensors_released_and_second_backward_raises():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])


def test_backward_on_non_scalar_needs_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        y.backward()
    y.backward(cr.tensor([1.0, -1.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, -2.0])


def test_backward_gradient_shape_mismatch():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="mismatch in shape"):
        (x * 2).backward(cr.tensor([1.0, 2.0, 3.0]))


def test_backward_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor(1.0).backward()


def test_autograd_grad_returns_without_accumulating():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    gx, gw = cr.autograd.grad((x * w).sum(), (x, w))
    np.testing.assert_array_equal(gx.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(gw.numpy(), [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_autograd_grad_unused_inputs():
    x = cr.tensor(1.0, requires_grad=True)
    u = cr.tensor(2.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        cr.autograd.grad(x * 2, (x, u))
    gx, gu = cr.autograd.grad(x * 2, (x, u), allow_unused=True)
    assert gu is None and gx.item() == 2.0
    _, gu = cr.autograd.grad(x * 2, (x, u), materialize_grads=True)
    assert gu.item() == 0.0


def test_autograd_grad_of_intermediate():
    x = cr.tensor(2.0, requires_grad=True)
    h = x * x
    y = h * 3
    (gh,) = cr.autograd.grad(y, h)
    assert gh.item() == 3.0


def test_create_graph_gives_second_derivative():
    x = cr.tensor(2.0, requires_grad=True)
    y = x ** 3
    (g,) = cr.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad and g.item() == 12.0
    (g2,) = cr.autograd.grad(g, x)
    assert g2.item() == 12.0
    x.grad = None
    z = x.exp()
    z.backward(create_graph=True)
    assert x.grad.requires_grad
    x.grad.backward()


def test_backward_inputs_restricts_accumulation():
    x = cr.tensor(1.0, requires_grad=True)
    w = cr.tensor(2.0, requires_grad=True)
    (x * w).backward(inputs=[x])
    assert x.grad.item() == 2.0 and w.grad is None


def test_hooks_replace_gradients_and_run_in_order():
    calls = []
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: calls.append("first") or g * 10)
    handle = h.register_hook(lambda g: calls.append("second"))
    x.register_hook(lambda g: calls.append("leaf") or g + 1)
    h.sum().backward()
    assert calls == ["first", "second", "leaf"]
    np.testing.assert_array_equal(x.grad.numpy(), [21.0, 21.0])
    handle.remove()
    calls.clear()
    x.grad = None
    (x * 2).sum().backward()
    assert calls == ["leaf"]


def test_register_hook_requires_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        cr.tensor(1.0).register_hook(lambda g: g)


def test_grad_modes():
    x = cr.tensor(1.0, requires_grad=True)
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        assert (x * 2).grad_fn is None
        with cr.enable_grad():
            assert (x * 2).grad_fn is not None
    assert cr.is_grad_enabled()

    @cr.no_grad()
    def f():
        return x * 2

    @cr.no_grad
    def g():
        return x * 2

    assert f().grad_fn is None and g().grad_fn is None
    with cr.set_grad_enabled(False):
        assert (x * 2).grad_fn is None
    assert cr.is_grad_enabled()
    cr.set_grad_enabled(False)
    assert not cr.is_grad_enabled()
    cr.set_grad_enabled(True)

    @cr.set_grad_enabled(False)
    def h():
        return x * 2
    assert cr.is_grad_enabled() and h().grad_fn is None


def test_repr_names_grad_fn():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=<MulBackward0>" in repr(x * 2)
    assert repr(cr.tensor([1.0, 2.0], dtype=cr.float64)).endswith("dtype=chainrule.float64)")


def test_only_float_tensors_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        cr.tensor([1, 2], requires_grad=True)


def test_deep_chain_of_a_million_ops():
    x = cr.tensor(1.0, dtype=cr.float64, requires_grad=True)
    y = x
    for _ in range(1_000_000):
        y = y * 1.0000001
    ref = weakref.ref(y.grad_fn)
    y.backward()
    assert x.grad.item() == pytest.approx(1.0000001 ** 1_000_000, rel=1e-3)
    del y
    assert ref() is None
