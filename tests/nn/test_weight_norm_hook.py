"""The older hook form nn.utils.weight_norm / remove_weight_norm: parameters, recomputation, removal, torch's
state_dict layout and errors."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _weight_norm(module, **kwargs):
    with pytest.warns(FutureWarning, match="torch.nn.utils.weight_norm is deprecated"):
        return nn.utils.weight_norm(module, **kwargs)


def test_parameters_and_recomputation():
    layer = _weight_norm(nn.Linear(4, 3))
    assert sorted(layer.state_dict()) == ["bias", "weight_g", "weight_v"]
    v = layer.weight_v.detach().numpy()
    np.testing.assert_allclose(layer.weight_g.detach().numpy(), np.linalg.norm(v, axis=1, keepdims=True), rtol=1e-6)
    with cr.no_grad():
        layer.weight_g.mul_(2)
    x = cr.randn(5, 4)
    np.testing.assert_allclose(layer(x).detach().numpy(), x.numpy() @ (2 * v).T + layer.bias.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    layer(x).sum().backward()
    assert layer.weight_g.grad.shape == (3, 1) and layer.weight_v.grad.shape == (3, 4)


def test_whole_tensor_norm_and_removal():
    conv = _weight_norm(nn.Conv1d(2, 3, 3), dim=None)
    assert conv.weight_g.shape == ()
    weight = conv.weight.detach().numpy().copy()
    nn.utils.remove_weight_norm(conv)
    assert sorted(conv.state_dict()) == ["bias", "weight"] and isinstance(conv.weight, nn.Parameter)
    np.testing.assert_allclose(conv.weight.detach().numpy(), weight, rtol=1e-6)
    assert not conv._forward_pre_hooks
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        nn.utils.remove_weight_norm(conv)


def test_errors():
    layer = _weight_norm(nn.Linear(2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks on the same parameter weight"):
            nn.utils.weight_norm(layer)
        with pytest.raises(ValueError, match="can't have uninitialized parameters"):
            nn.utils.weight_norm(nn.LazyLinear(2))


def test_torch_state_dict_loads():
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.nn.utils.weight_norm(torch.nn.Linear(4, 3))
        ours = nn.utils.weight_norm(nn.Linear(4, 3))
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(cr.tensor(x)).detach().numpy(), ref(torch.tensor(x)).detach().numpy(), rtol=1e-5)
