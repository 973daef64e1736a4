"""The older hook forms nn.utils.weight_norm / spectral_norm and their remove_*: parameters, recomputation,
removal, torch's state_dict layout and errors."""

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


def test_spectral_norm_hook_form():
    cr.manual_seed(0)
    layer = nn.utils.spectral_norm(nn.Linear(6, 4))
    assert sorted(layer.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    for _ in range(30):
        layer(cr.randn(2, 6))  # power iteration converges in training mode
    sigma = np.linalg.svd(layer.weight_orig.detach().numpy(), compute_uv=False)[0]
    np.testing.assert_allclose(layer.weight.detach().numpy(), layer.weight_orig.detach().numpy() / sigma, rtol=1e-4)
    u = layer.weight_u.numpy().copy()
    layer.eval()(cr.randn(2, 6))
    np.testing.assert_array_equal(layer.weight_u.numpy(), u)  # no iteration in eval
    layer.train()(cr.randn(2, 6)).sum().backward()
    assert layer.weight_orig.grad.shape == (4, 6)
    conv = nn.utils.spectral_norm(nn.ConvTranspose2d(3, 5, 2))
    assert conv.weight_u.shape == (5,) and conv.weight_v.shape == (12,)  # dim 1 for transposed convolutions
    layer.eval()(cr.randn(2, 6))
    weight = layer.weight.detach().numpy().copy()
    nn.utils.remove_spectral_norm(layer)
    assert sorted(layer.state_dict()) == ["bias", "weight"] and isinstance(layer.weight, nn.Parameter)
    np.testing.assert_allclose(layer.weight.detach().numpy(), weight, rtol=1e-6)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
        nn.utils.remove_spectral_norm(layer)
    with pytest.raises(ValueError, match="Expected n_power_iterations to be positive"):
        nn.utils.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)


def test_spectral_norm_matches_torch():
    torch = pytest.importorskip("torch")
    ref = torch.nn.utils.spectral_norm(torch.nn.Conv2d(2, 3, 3))
    ours = nn.utils.spectral_norm(nn.Conv2d(2, 3, 3))
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype(np.float32)
    for mode in ("train", "eval"):
        getattr(ref, mode)(), getattr(ours, mode)()
        np.testing.assert_allclose(ours(cr.tensor(x)).detach().numpy(), ref(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(ours.weight_u.numpy(), ref.weight_u.numpy(), rtol=1e-4, atol=1e-6)
