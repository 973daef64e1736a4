"""Module hooks: forward pre-hooks and forward hooks (with_kwargs, prepend, always_call), full backward
pre-hooks and full backward hooks, in torch's order with torch's arguments (the expected logs were recorded
from torch 2.13), replacing values, and removal."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(4, 2)

    def forward(self, x, scale=1.0):
        return self.b(self.a(x).relu()) * scale


def shapes(grads):
    return tuple(None if g is None else tuple(g.shape) for g in grads)


def register_all(net, log):
    for name, m in (("net", net), ("a", net.a), ("b", net.b)):
        m.register_forward_pre_hook(lambda mod, args, n=name: log.append(("pre", n, len(args))))
        m.register_forward_pre_hook(lambda mod, args, kwargs, n=name: log.append(("prekw", n, sorted(kwargs))),
                                    with_kwargs=True, prepend=True)
        m.register_forward_hook(lambda mod, args, out, n=name: log.append(("fwd", n, tuple(out.shape))))
        m.register_full_backward_pre_hook(lambda mod, gout, n=name: log.append(("bpre", n, shapes(gout))))
        m.register_full_backward_hook(lambda mod, gin, gout, n=name: log.append(("bwd", n, shapes(gin),
                                                                                 shapes(gout))))


# What torch 2.13 logs for the same module, hooks and call.
TORCH_LOG = [
    ("prekw", "net", ["scale"]), ("pre", "net", 1), ("prekw", "a", []), ("pre", "a", 1), ("fwd", "a", (5, 4)),
    ("prekw", "b", []), ("pre", "b", 1), ("fwd", "b", (5, 2)), ("fwd", "net", (5, 2)),
    ("bpre", "net", ((5, 2),)), ("bwd", "net", (None,), ((5, 2),)), ("bpre", "b", ((5, 2),)),
    ("bwd", "b", ((5, 4),), ((5, 2),)), ("bpre", "a", ((5, 4),)), ("bwd", "a", (None,), ((5, 4),)),
]


def test_hooks_fire_in_torchs_order_with_torchs_arguments():
    net, log = Net(), []
    register_all(net, log)
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        net(cr.ones(5, 3), scale=2.0).sum().backward()
    assert log == TORCH_LOG


def test_hooks_match_torch_live():
    torch = pytest.importorskip("torch")
    theirs, their_log = torch.nn.Module(), []
    theirs.a, theirs.b = torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)
    theirs.forward = lambda x, scale=1.0: theirs.b(theirs.a(x).relu()) * scale
    register_all(theirs, their_log)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs(torch.ones(5, 3), scale=2.0).sum().backward()
    assert their_log == TORCH_LOG


def test_forward_pre_hook_replaces_args_and_kwargs():
    layer = nn.Linear(2, 2)
    layer.register_forward_pre_hook(lambda m, args: args[0] * 0)  # a single value is wrapped in a tuple
    np.testing.assert_allclose(layer(cr.ones(1, 2)).detach().numpy(), layer.bias.detach().numpy()[None])
    net = Net()
    net.register_forward_pre_hook(lambda m, args, kwargs: (args, {"scale": 0.0}), with_kwargs=True)
    assert np.all(net(cr.ones(5, 3), scale=3.0).detach().numpy() == 0)
    net.register_forward_pre_hook(lambda m, args, kwargs: args, with_kwargs=True)
    with pytest.raises(RuntimeError, match="new_kwargs"):
        net(cr.ones(5, 3))


def test_forward_hook_with_kwargs_prepend_and_always_call():
    net, order = Net(), []
    net.register_forward_hook(lambda m, args, out: order.append("first"))
    net.register_forward_hook(lambda m, args, out: order.append("prepended"), prepend=True)
    net.register_forward_hook(lambda m, args, kwargs, out: out + kwargs["scale"], with_kwargs=True)
    out = net(cr.zeros(5, 3), scale=10.0)
    assert order == ["prepended", "first"]
    base = net.b(net.a(cr.zeros(5, 3)).relu()) * 10.0
    np.testing.assert_allclose(out.detach().numpy(), (base + 10.0).detach().numpy())
    broken, seen = nn.Linear(3, 2), []
    broken.register_forward_hook(lambda m, args, out: seen.append(out), always_call=True)
    broken.register_forward_hook(lambda m, args, out: seen.append("not always"))
    with pytest.raises(RuntimeError):
        broken(cr.ones(5, 4))
    assert seen == [None]


def test_backward_hooks_replace_gradients():
    layer = nn.Linear(3, 2)
    x = cr.ones(4, 3, requires_grad=True)
    layer.register_full_backward_pre_hook(lambda m, gout: (gout[0] * 0,))
    layer(x).sum().backward()
    assert np.all(x.grad.numpy() == 0) and np.all(layer.weight.grad.numpy() == 0)
    layer, x = nn.Linear(3, 2), cr.ones(4, 3, requires_grad=True)
    seen = []
    layer.register_full_backward_hook(lambda m, gin, gout: (gin[0] * 3,))
    layer.register_full_backward_hook(lambda m, gin, gout: seen.append(gin[0].clone()))
    layer(x).sum().backward()
    expected = np.tile(layer.weight.detach().numpy().sum(0), (4, 1))
    np.testing.assert_allclose(x.grad.numpy(), 3 * expected, rtol=1e-6)
    np.testing.assert_allclose(seen[0].numpy(), 3 * expected, rtol=1e-6)  # the later hook sees the new value
    # parameters' gradients are not affected by grad_input
    np.testing.assert_allclose(layer.weight.grad.numpy(), np.full((2, 3), 4.0))


def test_backward_hook_sees_none_for_non_tensor_and_frozen_inputs():
    class Mix(nn.Module):
        def forward(self, x, y, factor):
            return x * y * factor

    mix, seen = Mix(), []
    mix.register_full_backward_hook(lambda m, gin, gout: seen.append(shapes(gin)))
    x, y = cr.ones(2, requires_grad=True), cr.ones(2)
    mix(x, y, 3.0).sum().backward()
    assert seen == [((2,), None, None)]
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_backward_hook_wrong_number_of_gradients_is_an_error():
    layer = nn.Linear(3, 2)
    layer.register_full_backward_hook(lambda m, gin, gout: (gin[0], gin[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input"):
        layer(cr.ones(4, 3, requires_grad=True)).sum().backward()


def test_handles_remove_hooks():
    net, log = Net(), []
    handles = [net.register_forward_hook(lambda m, a, o: log.append("fwd")),
               net.register_forward_pre_hook(lambda m, a: log.append("pre")),
               net.register_full_backward_hook(lambda m, gi, go: log.append("bwd")),
               net.register_full_backward_pre_hook(lambda m, go: log.append("bpre"))]
    for h in handles:
        h.remove()
    net(cr.ones(5, 3, requires_grad=True)).sum().backward()
    assert log == []
    assert not (net._forward_hooks or net._forward_pre_hooks or net._backward_hooks or net._backward_pre_hooks)
    hook = net.register_forward_hook(lambda m, a, o: log.append("once"))
    twice = net.register_forward_hook(hook._hook.fn)  # the same function registered twice: two entries
    hook.remove()
    net(cr.ones(5, 3))
    assert log == ["once"]
    twice.remove()


def test_hooks_under_no_grad_and_with_tuple_outputs():
    mha, seen = nn.MultiheadAttention(4, 2), []
    mha.register_full_backward_pre_hook(lambda m, gout: seen.append(shapes(gout)))
    x = cr.randn(3, 2, 4, requires_grad=True)
    out, weights = mha(x, x, x)
    assert isinstance(out, cr.Tensor) and weights.shape == (2, 3, 3)
    out.sum().backward()
    assert seen and seen[0][0] == (3, 2, 4)
    with cr.no_grad():
        assert mha(x, x, x)[0].grad_fn is None


def test_forward_mode_and_pickling_of_modules_with_hooks():
    from chainrule.autograd import forward_ad as fwAD

    layer = nn.Linear(3, 2)
    layer.register_full_backward_hook(lambda m, gin, gout: None)
    x = cr.randn(4, 3, requires_grad=True)
    with fwAD.dual_level():
        out = layer(fwAD.make_dual(x, cr.ones(4, 3)))
        tangent = fwAD.unpack_dual(out).tangent
    expected = np.tile(layer.weight.detach().numpy().sum(1), (4, 1))
    np.testing.assert_allclose(tangent.detach().numpy(), expected, rtol=1e-6)
    # a module pickled before a hook kind existed loads with an empty list of it
    state = dict(nn.Linear(2, 2).__dict__)
    del state["_backward_pre_hooks"]
    restored = nn.Linear.__new__(nn.Linear)
    restored.__setstate__(state)
    assert restored(cr.ones(2)).shape == (2,) and restored._backward_pre_hooks == []


def test_state_dict_hooks():
    """The order and arguments torch 2.13 gives for the same hooks."""
    net, log = nn.Sequential(nn.Linear(2, 2)), []

    def drop_bias(module, state_dict, prefix, local_metadata):
        log.append(("post", "net", prefix))
        del state_dict[prefix + "0.bias"]

    net.register_state_dict_pre_hook(lambda m, prefix, keep_vars: log.append(("pre", "net", prefix)))
    net[0].register_state_dict_pre_hook(lambda m, prefix, keep_vars: log.append(("pre", "0", prefix)))
    net[0].register_state_dict_post_hook(lambda m, sd, prefix, meta: log.append(("post", "0", prefix)))
    net.register_state_dict_post_hook(drop_bias)
    assert list(net.state_dict(prefix="model.")) == ["model.0.weight"]
    assert log == [("pre", "net", "model."), ("pre", "0", "model.0."), ("post", "0", "model.0."),
                   ("post", "net", "model.")]
    net[0].register_state_dict_post_hook(lambda m, sd, prefix, meta: 1)
    with pytest.raises(RuntimeError, match="must return None"):
        net.state_dict()


def test_load_state_dict_hooks_rename_keys_and_excuse_missing_ones():
    net = nn.Sequential(nn.Linear(2, 2))
    source = {"0.w": cr.ones(2, 2), "0.bias": cr.zeros(2)}

    def rename(module, state_dict, prefix, *args):
        if prefix + "w" in state_dict:
            state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")

    handle = net[0].register_load_state_dict_pre_hook(rename)
    net.load_state_dict(source)
    assert net[0].weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    handle.remove()
    net[0].register_load_state_dict_post_hook(lambda m, keys: keys.missing_keys.clear())
    result = net.load_state_dict({"0.bias": cr.ones(2)})  # the missing weight is excused by the hook
    assert result.missing_keys == [] and net[0].bias.tolist() == [1.0, 1.0]
    net[0].register_load_state_dict_post_hook(lambda m, keys: "not None")
    with pytest.raises(AssertionError, match="not expected to return new values"):
        net.load_state_dict({"0.bias": cr.ones(2)})


def test_weight_norm_loads_legacy_weight_g_and_weight_v_keys():
    from chainrule.nn.utils import parametrizations

    layer = parametrizations.weight_norm(nn.Linear(3, 2))
    g, v = cr.full((2, 1), 2.0), cr.randn(2, 3)
    layer.load_state_dict({"weight_g": g, "weight_v": v, "bias": cr.zeros(2)})
    expected = 2.0 * v.numpy() / np.linalg.norm(v.numpy(), axis=1, keepdims=True)
    np.testing.assert_allclose(layer.weight.detach().numpy(), expected, rtol=1e-5)
