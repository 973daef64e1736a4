"""Tensor.register_post_accumulate_grad_hook and the engine finishing each leaf as soon as its last edge is done.

DistributedDataParallel relies on both: a parameter's all-reduce can only start early if its ``.grad`` is
complete before the rest of the backward pass has run.
"""

import numpy as np
import pytest

import chainrule as cr


def test_a_later_layers_gradient_is_accumulated_before_earlier_layers_are_differentiated():
    w1 = cr.tensor(np.full((3, 3), 0.5), requires_grad=True)
    w2 = cr.tensor(np.full((3, 1), 2.0), requires_grad=True)
    seen = []
    w2.register_post_accumulate_grad_hook(lambda t: seen.append(("w2", t.grad is not None, w1.grad is None)))
    w1.register_post_accumulate_grad_hook(lambda t: seen.append(("w1", t.grad is not None, w2.grad is not None)))
    x = cr.ones(4, 3)
    ((x @ w1).tanh() @ w2).sum().backward()
    assert seen == [("w2", True, True), ("w1", True, True)]


def test_the_hook_sees_the_whole_gradient_of_a_leaf_used_twice_and_the_sum_with_an_existing_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    grads = []
    w.register_post_accumulate_grad_hook(lambda t: grads.append(t.grad.numpy().copy()))
    (w * w + 3 * w).sum().backward()
    (w * 2).sum().backward()
    np.testing.assert_allclose(grads[0], [5.0, 7.0])
    np.testing.assert_allclose(grads[1], [7.0, 9.0])


def test_the_hook_may_change_grad_in_place_and_can_be_removed():
    w = cr.ones(3, requires_grad=True)
    handle = w.register_post_accumulate_grad_hook(lambda t: t.grad.mul_(0.5))
    (2 * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 1.0, 1.0])
    handle.remove()
    w.grad = None
    (2 * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 2.0, 2.0])


def test_backward_inputs_fire_the_hook_and_autograd_grad_does_not():
    w = cr.ones(2, requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(calls.append)
    cr.autograd.grad((w * 3).sum(), w)
    assert calls == []
    (w * 3).sum().backward(inputs=[w])
    assert calls == [w]


def test_non_leaves_and_tensors_without_grad_are_refused():
    with pytest.raises(RuntimeError, match="non-leaf"):
        (cr.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        cr.ones(2).register_post_accumulate_grad_hook(print)
