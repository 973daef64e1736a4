"""torch's way of walking and hooking the recorded graph: ``grad_fn.next_functions``, ``name()``, ``metadata``,
``register_hook`` and ``register_prehook`` (expected values as torch 2 gives them)."""

import pytest

import chainrule as cr
from chainrule.autograd.graph import AccumulateGrad


def test_next_functions_walks_back_to_accumulate_grad_nodes():
    x = cr.ones(2, requires_grad=True)
    a = cr.ones(2)
    loss = (x * a).sum()
    assert loss.grad_fn.name() == "SumBackward0"
    (mul, index), = loss.grad_fn.next_functions
    assert index == 0 and mul.name() == "MulBackward0"
    (acc, acc_index), (none, none_index) = mul.next_functions
    assert isinstance(acc, AccumulateGrad) and acc.variable is x and acc_index == 0
    assert acc.name() == "torch::autograd::AccumulateGrad" and acc.next_functions == ()
    assert none is None and none_index == 0
    assert mul.next_functions[0][0] is acc  # NOTE: one node per leaf, so graphs can be walked by identity.


class Pair(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g_double, g_triple):
        return g_double * 2 + g_triple * 3


def test_next_functions_of_a_multi_output_op_name_the_output():
    x = cr.arange(3.0).requires_grad_()
    double, triple = Pair.apply(x)
    y = triple.sum() + double.sum()
    (left, _), (right, _) = y.grad_fn.next_functions
    assert left.next_functions[0][1] == 1 and right.next_functions[0][1] == 0
    assert left.next_functions[0][0] is right.next_functions[0][0]
    assert left.next_functions[0][0].name() == "PairBackward"


def test_walking_the_whole_graph_visits_every_op():
    x = cr.ones(3, requires_grad=True)
    loss = (x.exp() * 2 + x).sum()
    seen, stack = [], [loss.grad_fn]
    while stack:
        node = stack.pop()
        seen.append(node.name())
        stack.extend(n for n, _ in node.next_functions if n is not None)
    assert sorted(seen) == sorted(["SumBackward0", "AddBackward0", "MulBackward0", "ExpBackward0",
                                   "torch::autograd::AccumulateGrad", "torch::autograd::AccumulateGrad"])


def test_metadata_is_a_dict_kept_on_the_node():
    y = cr.ones(2, requires_grad=True) * 2
    y.grad_fn.metadata["note"] = "scaled"
    assert y.grad_fn.metadata == {"note": "scaled"}


def test_post_hook_sees_and_replaces_grad_inputs():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor(3.0)
    y = x * c  # NOTE: broadcast: the hook sees the gradient already reduced to each input's shape.
    calls = []

    def hook(grad_inputs, grad_outputs):
        calls.append(([None if g is None else g.tolist() for g in grad_inputs], [g.tolist() for g in grad_outputs]))
        return (grad_inputs[0] * 10, None)

    handle = y.grad_fn.register_hook(hook)
    y.sum().backward(retain_graph=True)
    assert calls == [([[3.0, 3.0], None], [[1.0, 1.0]])]
    assert x.grad.tolist() == [30.0, 30.0]
    handle.remove()
    x.grad = None
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0] and len(calls) == 1


def test_prehook_replaces_grad_outputs_before_the_vjp():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    seen = []
    y.grad_fn.register_prehook(lambda grad_outputs: seen.append(grad_outputs) or (grad_outputs[0] * 0,))
    y.sum().backward()
    assert [g.tolist() for g in seen[0]] == [[1.0, 1.0]] and x.grad.tolist() == [0.0, 0.0]


def test_hooks_run_under_autograd_grad_and_bad_returns_are_named():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0] + 1, grad_inputs[1] + 1))
    g, = cr.autograd.grad(y.sum(), x)
    assert g.tolist() == [4.0, 6.0]  # NOTE: (x + 1) from each factor of x * x.
    z = x * 2
    z.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (1, 2, 3))
    with pytest.raises(RuntimeError, match=r"MulBackward0: hook '<lambda>' returned 3 grad_inputs, expected 2"):
        z.sum().backward()
    with pytest.raises(TypeError, match="a hook must be callable"):
        z.grad_fn.register_prehook("not a function")
