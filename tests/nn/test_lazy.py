"""Lazy modules: shapes inferred on the first forward, then the eager layer; placeholders and state dicts."""

import copy
import math
import pickle

import numpy as np
import pytest

import chainrule
from chainrule import nn
from chainrule.nn.modules.lazy import LazyModuleMixin
from chainrule.nn.parameter import is_lazy


@pytest.mark.parametrize("make, x_shape, becomes, weight_shape", [
    (lambda: nn.LazyLinear(3), (2, 4, 5), nn.Linear, (3, 5)),
    (lambda: nn.LazyConv1d(4, 3), (2, 6, 9), nn.Conv1d, (4, 6, 3)),
    (lambda: nn.LazyConv2d(4, 3, groups=2), (2, 6, 7, 7), nn.Conv2d, (4, 3, 3, 3)),
    (lambda: nn.LazyConv3d(2, 2), (3, 4, 4, 4), nn.Conv3d, (2, 3, 2, 2, 2)),
    (lambda: nn.LazyConvTranspose1d(4, 3, groups=2), (2, 6, 5), nn.ConvTranspose1d, (6, 2, 3)),
    (lambda: nn.LazyConvTranspose2d(2, 3, stride=2), (1, 3, 4, 4), nn.ConvTranspose2d, (3, 2, 3, 3)),
    (lambda: nn.LazyConvTranspose3d(2, 2), (1, 3, 2, 2, 2), nn.ConvTranspose3d, (3, 2, 2, 2, 2)),
    (lambda: nn.LazyBatchNorm1d(), (4, 3), nn.BatchNorm1d, (3,)),
    (lambda: nn.LazyBatchNorm2d(), (4, 3, 2, 2), nn.BatchNorm2d, (3,)),
    (lambda: nn.LazyBatchNorm3d(), (4, 3, 2, 2, 2), nn.BatchNorm3d, (3,)),
    (lambda: nn.LazyInstanceNorm1d(affine=True), (2, 3, 5), nn.InstanceNorm1d, (3,)),
    (lambda: nn.LazyInstanceNorm2d(affine=True), (3, 4, 4), nn.InstanceNorm2d, (3,)),
    (lambda: nn.LazyInstanceNorm3d(affine=True), (2, 3, 2, 2, 2), nn.InstanceNorm3d, (3,)),
])
def test_first_forward_materialises_and_becomes_the_eager_layer(make, x_shape, becomes, weight_shape):
    m = make()
    assert isinstance(m, LazyModuleMixin) and m.has_uninitialized_params()
    assert is_lazy(m.weight) and isinstance(m.weight, nn.UninitializedParameter)
    x = chainrule.randn(*x_shape)
    out = m(x)
    assert type(m) is becomes and type(m.weight) is nn.Parameter and not is_lazy(m.bias)
    assert tuple(m.weight.shape) == weight_shape
    assert not hasattr(m, "_initialize_hook") and not m._forward_pre_hooks
    # The same module, now eager, gives what a fresh eager layer with its state gives.
    eager = becomes.__new__(becomes)
    eager.__dict__.update(copy.deepcopy(m.__dict__))
    np.testing.assert_allclose(eager(x).detach().numpy(), out.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_linear_initialisation_bounds_and_training():
    chainrule.manual_seed(0)
    m = nn.LazyLinear(200)
    m(chainrule.zeros(1, 16))
    bound = 1 / math.sqrt(16)
    w, b = m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound
    opt = chainrule.optim.SGD(m.parameters(), lr=0.1)
    m(chainrule.ones(1, 16)).sum().backward()
    np.testing.assert_allclose(m.bias.grad.numpy(), np.ones(200))
    opt.step()
    np.testing.assert_allclose(m.bias.detach().numpy(), b - 0.1, rtol=1e-6)


def test_no_bias_and_dtype_are_kept():
    m = nn.LazyLinear(2, bias=False, dtype=chainrule.float64)
    assert m.bias is None
    m(chainrule.ones(3, 4, dtype=chainrule.float64))
    assert m.weight.dtype == chainrule.float64 and m.bias is None


def test_batchnorm_statistics_after_materialising():
    m = nn.LazyBatchNorm1d(momentum=0.5)
    x = chainrule.tensor([[1.0, 2.0], [3.0, 6.0]])
    m(x)
    np.testing.assert_allclose(m.running_mean.numpy(), [1.0, 2.0])  # 0.5 * 0 + 0.5 * [2, 4]
    np.testing.assert_allclose(m.running_var.numpy(), [1.5, 4.5])  # 0.5 * 1 + 0.5 * unbiased [2, 8]
    assert m.num_batches_tracked.item() == 1 and type(m.running_mean) is chainrule.Tensor


def test_unbatched_instance_norm_reads_channels_from_dim_0():
    m = nn.LazyInstanceNorm1d(affine=True)
    m(chainrule.randn(3, 7))
    assert tuple(m.weight.shape) == (3,)


def test_placeholder_errors():
    w = nn.UninitializedParameter()
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter"):
        _ = w.shape
    assert repr(w) == "<UninitializedParameter>" and w.requires_grad
    b = nn.UninitializedBuffer()
    assert repr(b) == "<UninitializedBuffer>" and not b.requires_grad
    with pytest.raises(RuntimeError, match="Expected 2D \\(unbatched\\) or 3D \\(batched\\) input to LazyConv1d"):
        nn.LazyConv1d(2, 3)(chainrule.randn(1, 2, 3, 4))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv1d(4, 3, groups=2)(chainrule.randn(1, 3, 8))


def test_materialize_in_place_keeps_identity_and_dtype():
    w = nn.UninitializedParameter(dtype=chainrule.float64)
    ref = w
    w.materialize((2, 3))
    assert ref is w and type(w) is nn.Parameter and w.shape == (2, 3) and w.dtype == chainrule.float64
    b = nn.UninitializedBuffer()
    b.materialize([4], dtype=chainrule.float64)
    assert type(b) is chainrule.Tensor and b.shape == (4,) and b.dtype == chainrule.float64


def test_copy_and_pickle_keep_placeholders():
    m = nn.LazyLinear(3, dtype=chainrule.float64)
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert is_lazy(clone.weight) and clone.weight.dtype == chainrule.float64
        clone(chainrule.randn(2, 4, dtype=chainrule.float64))
        assert type(clone) is nn.Linear and tuple(clone.weight.shape) == (3, 4)
    assert is_lazy(m.weight)
    for m in (nn.LazyConv2d(2, 3), nn.LazyBatchNorm1d()):
        clone = pickle.loads(pickle.dumps(m))
        assert type(clone) is type(m) and clone.has_uninitialized_params()


def test_state_dict_round_trips():
    eager = nn.Linear(5, 3)
    lazy = nn.LazyLinear(3)
    assert is_lazy(lazy.state_dict()["weight"])
    lazy.load_state_dict(eager.state_dict())
    assert not lazy.has_uninitialized_params()
    x = chainrule.randn(2, 5)
    np.testing.assert_allclose(lazy(x).detach().numpy(), eager(x).detach().numpy())
    assert type(lazy) is nn.Linear
    # A lazy module's (placeholder) state loads into another lazy module without complaint.
    other = nn.LazyBatchNorm2d()
    result = other.load_state_dict(nn.LazyBatchNorm2d().state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert other.has_uninitialized_params()
    # ...and into an eager one it cannot go: the shape is unknown.
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        nn.Linear(5, 3).load_state_dict(nn.LazyLinear(3).state_dict())


def test_in_a_sequential_model():
    model = nn.Sequential(nn.LazyConv2d(4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    out = model(chainrule.randn(2, 1, 5, 5))
    assert out.shape == (2, 2) and tuple(model[3].weight.shape) == (2, 36)
    assert sum(p.numel() for p in model.parameters()) == 4 * 9 + 4 + 2 * 36 + 2


def test_against_torch():
    torch = pytest.importorskip("torch")
    lazy_t = torch.nn.LazyConv2d(4, 3, padding=1)
    lazy_t(torch.randn(1, 2, 5, 5))
    lazy_c = nn.LazyConv2d(4, 3, padding=1)
    lazy_c.load_state_dict({k: chainrule.tensor(v.numpy()) for k, v in lazy_t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(lazy_c(chainrule.tensor(x)).detach().numpy(),
                               lazy_t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert repr(nn.LazyLinear(3)) == repr(torch.nn.LazyLinear(3))
