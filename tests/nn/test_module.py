"""Module: registration by attribute, traversal, modes, state dicts (round trip and strict errors), repr, hooks."""

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.BatchNorm1d(3))
        self.head = nn.Linear(3, 1)
        self.scale = nn.Parameter(cr.ones(1))
        self.register_buffer("steps", cr.zeros(1))
        self.register_buffer("cache", cr.zeros(2), persistent=False)
        self.note = "plain attribute"

    def forward(self, x):
        return self.head(self.features(x)) * self.scale


def test_registration_by_attribute_and_traversal_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "features.0.weight", "features.0.bias", "features.2.weight", "features.2.bias", "head.weight",
        "head.bias"]
    assert [n for n, _ in net.named_buffers()] == [
        "steps", "cache", "features.2.running_mean", "features.2.running_var", "features.2.num_batches_tracked"]
    assert [n for n, _ in net.named_children()] == ["features", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "features", "features.0", "features.1", "features.2", "head"]
    assert len(list(net.parameters(recurse=False))) == 1
    assert net.note == "plain attribute" and "note" not in net._parameters
    assert isinstance(net.scale, nn.Parameter) and isinstance(net.scale, cr.Tensor)
    assert net.get_submodule("features.0") is net.features[0]
    assert net.get_parameter("head.bias") is net.head.bias


def test_shared_parameters_and_modules_are_listed_once():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.Tanh(), shared)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.modules())) == 3
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # as torch: every path


def test_reassignment_and_deletion():
    net = Net()
    net.head = None
    assert net.head is None and "head" in net._modules
    with pytest.raises(TypeError, match="cannot assign 'chainrule.FloatTensor' as parameter 'scale'"):
        net.scale = cr.ones(1)
    net.scale = None
    assert net.scale is None
    with pytest.raises(TypeError, match="as buffer 'steps'"):
        net.steps = 3
    net.steps = cr.ones(1)
    assert net.steps.item() == 1.0
    del net.features
    assert not hasattr(net, "features")
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'nothing'"):
        _ = net.nothing


def test_registration_errors():
    m = nn.Module()
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", cr.zeros(1))
    with pytest.raises(TypeError, match="Parameter or None"):
        m.register_parameter("w", cr.zeros(1))
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("w", _non_leaf_parameter())
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", cr.zeros(1))

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(cr.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def _non_leaf_parameter():
    p = nn.Parameter(cr.zeros(1), requires_grad=False)
    return p.add_(cr.ones(1, requires_grad=True))  # an in-place op on it gives it a history


def test_parameter_basics():
    data = cr.tensor([1.0, 2.0])
    p = nn.Parameter(data)
    assert p.requires_grad and p.is_leaf and p._data is data._data  # shares memory, as in torch
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert not nn.Parameter(data, requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    assert type(p * 2) is cr.Tensor
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(cr.tensor([1, 2]))
    clone = copy.deepcopy(p)
    assert isinstance(clone, nn.Parameter) and clone._data is not p._data
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(p)).numpy(force=True), [1.0, 2.0])


def test_train_eval_requires_grad_and_zero_grad():
    net = Net()
    assert net.training and net.features[2].training
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")
    net(cr.randn(4, 2)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all((p.grad.numpy() == 0).all() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_double_float_converts_floating_tensors_in_place():
    net = Net()
    weight = net.head.weight
    assert net.double() is net
    assert net.head.weight is weight and weight.dtype == cr.float64
    assert net.features[2].running_mean.dtype == cr.float64
    assert net.features[2].num_batches_tracked.dtype == cr.int64  # integers keep their dtype
    net.to(cr.float32)
    assert weight.dtype == cr.float32
    assert net.to("cpu") is net
    with pytest.raises(TypeError, match="floating point"):
        net.to(cr.int64)
    with pytest.raises(RuntimeError, match="not available"):
        net.to("cuda")


def test_state_dict_round_trip():
    cr.manual_seed(0)
    a, b = Net(), Net()
    a(cr.randn(5, 2))  # moves batch norm's running statistics
    sd = a.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["scale", "steps", "features.0.weight", "features.0.bias", "features.2.weight",
                        "features.2.bias", "features.2.running_mean", "features.2.running_var",
                        "features.2.num_batches_tracked", "head.weight", "head.bias"]  # "cache" is not persistent
    assert not any(t.requires_grad for t in sd.values())
    result = b.load_state_dict(sd)
    assert repr(result) == "<All keys matched successfully>"
    for key, value in b.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), sd[key].numpy())
    x = cr.randn(3, 2)
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    weight = b.head.weight
    b.load_state_dict(sd)
    assert b.head.weight is weight  # copied in place: optimizers keep working


def test_load_state_dict_strict_errors_list_everything():
    net = nn.Sequential(nn.Linear(2, 3))
    bad = {"0.weight": cr.zeros(3, 3), "0.extra": cr.zeros(1), "1.weight": cr.zeros(1)}
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(bad)
    assert str(info.value) == (
        "Error(s) in loading state_dict for Sequential:\n"
        '\tMissing key(s) in state_dict: "0.bias". \n'
        '\tUnexpected key(s) in state_dict: "1.weight", "0.extra". \n'
        "\tsize mismatch for 0.weight: copying a param with shape chainrule.Size([3, 3]) from checkpoint, the shape "
        "in current model is chainrule.Size([3, 2]).")
    result = net.load_state_dict({"0.weight": cr.ones(3, 2), "junk": cr.ones(1)}, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["junk"]
    np.testing.assert_array_equal(net[0].weight.detach().numpy(), 1.0)
    with pytest.raises(RuntimeError, match="size mismatch"):
        net.load_state_dict({"0.weight": cr.ones(2, 2)}, strict=False)
    with pytest.raises(TypeError, match="dict-like"):
        net.load_state_dict([("0.weight", cr.ones(3, 2))])


def test_load_state_dict_assign_and_batch_norm_without_counter():
    net = nn.Linear(2, 2)
    new = {"weight": cr.ones(2, 2), "bias": cr.zeros(2)}
    net.load_state_dict(new, assign=True)
    assert isinstance(net.weight, nn.Parameter) and net.weight._data is new["weight"]._data
    bn = nn.BatchNorm1d(2)
    sd = bn.state_dict()
    del sd["num_batches_tracked"]
    assert repr(bn.load_state_dict(sd)) == "<All keys matched successfully>"  # torch fills it too


def test_apply_visits_children_before_parents():
    net = Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "BatchNorm1d", "Sequential", "Linear", "Net"]


def test_forward_hooks():
    layer = nn.Linear(2, 2)
    calls = []
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = layer.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = layer(cr.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), layer.bias.detach().numpy()[None] + 1)
    assert calls == [(1, 2)]
    pre.remove(), post.remove()
    assert not layer._forward_pre_hooks and not layer._forward_hooks


def test_nested_repr_like_torch():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2)))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))\n"
        "    (1): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  )\n"
        ")")
    layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU()])
    assert repr(layers) == ("ModuleList(\n  (0-1): 2 x Linear(in_features=2, out_features=2, bias=True)\n"
                            "  (2): ReLU()\n)")
    assert repr(nn.Module()) == "Module()"


def test_sequential_container_operations():
    a, b, c = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)
    seq = nn.Sequential(a, b)
    assert len(seq) == 2 and seq[0] is a and seq[-1] is b
    seq.append(c)
    assert list(seq) == [a, b, c]
    sliced = seq[1:]
    assert isinstance(sliced, nn.Sequential) and list(sliced) == [b, c] and list(sliced._modules) == ["1", "2"]
    del seq[0]
    assert list(seq._modules) == ["0", "1"] and seq[0] is b
    seq.insert(0, a)
    assert list(seq) == [a, b, c]
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert named.fc is a and list(named.state_dict()) == ["fc.weight", "fc.bias"]
    x = cr.randn(4, 2)
    np.testing.assert_array_equal(seq(x).detach().numpy(), c(b(a(x))).detach().numpy())
    with pytest.raises(IndexError, match="out of range"):
        seq[3]


def test_module_list_and_dict():
    layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(3))
    assert len(list(layers.parameters())) == 6
    layers.append(nn.Tanh())
    assert isinstance(layers[-1], nn.Tanh) and len(layers[1:]) == 3
    layers.insert(0, nn.ReLU())
    assert isinstance(layers[0], nn.ReLU) and len(layers) == 5
    del layers[0]
    assert isinstance(layers[0], nn.Linear) and list(layers._modules) == ["0", "1", "2", "3"]
    with pytest.raises(NotImplementedError, match="forward"):
        layers(cr.randn(1, 2))
    heads = nn.ModuleDict({"cls": nn.Linear(4, 2), "box": nn.Linear(4, 4)})
    assert list(heads.keys()) == ["cls", "box"] and "cls" in heads and len(heads) == 2
    heads["extra"] = nn.Identity()
    assert [n for n, _ in heads.named_parameters()] == ["cls.weight", "cls.bias", "box.weight", "box.bias"]
    assert isinstance(heads.pop("extra"), nn.Identity) and len(heads) == 2
