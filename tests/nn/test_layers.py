"""Layers: forward against NumPy references, gradcheck w.r.t. input and parameters, train/eval behaviour."""

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd import gradcheck

rng = np.random.default_rng(0)


def params_of(module):
    return tuple(module.parameters())


def check_module_grads(module, x):
    """gradcheck of ``module(x)`` w.r.t. the input and every parameter (the parameters are the inputs' leaves)."""
    return gradcheck(lambda x_, *params: module(x_), (x,) + params_of(module))


def as64(a, requires_grad=True):
    return cr.tensor(a, dtype=cr.float64, requires_grad=requires_grad)


def test_linear_forward_init_bounds_and_gradcheck():
    cr.manual_seed(0)
    layer = nn.Linear(20, 30)
    assert layer.weight.shape == (30, 20) and layer.bias.shape == (30,)
    bound = 1 / math.sqrt(20)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.detach().numpy()).max() <= bound
        assert np.abs(p.detach().numpy()).max() > 0.9 * bound  # uniform on the whole interval
    x = rng.standard_normal((4, 20)).astype(np.float32)
    expected = x @ layer.weight.detach().numpy().T + layer.bias.detach().numpy()
    np.testing.assert_allclose(layer(cr.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    small = nn.Linear(3, 2, dtype=cr.float64)
    assert small.weight.dtype == cr.float64
    assert check_module_grads(small, as64(rng.standard_normal((4, 3))))
    assert nn.Linear(3, 2, bias=False).bias is None


def test_linear_on_batched_leading_dims_and_errors():
    layer = nn.Linear(3, 2)
    assert layer(cr.randn(5, 4, 3)).shape == (5, 4, 2)
    with pytest.raises(RuntimeError, match="in_features=3"):
        layer(cr.randn(4, 5))


def test_conv2d_module_matches_functional_and_init_bounds():
    cr.manual_seed(1)
    conv = nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    assert conv.weight.shape == (6, 2, 3, 2)
    bound = 1 / math.sqrt(2 * 3 * 2)
    assert np.abs(conv.weight.detach().numpy()).max() <= bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound
    x = cr.randn(2, 4, 7, 6)
    expected = F.conv2d(x, conv.weight, conv.bias, (2, 1), 1, (1, 2), 2)
    np.testing.assert_array_equal(conv(x).detach().numpy(), expected.detach().numpy())
    assert repr(conv) == "Conv2d(4, 6, kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2), groups=2)"


def test_conv2d_module_gradcheck_and_padding_modes():
    conv = nn.Conv2d(2, 3, 3, padding="same", dtype=cr.float64)
    assert check_module_grads(conv, as64(rng.standard_normal((1, 2, 4, 4))))
    reflect = nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect", bias=False)
    x = cr.randn(1, 1, 5, 5)
    expected = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), reflect.weight)
    np.testing.assert_allclose(reflect(x).detach().numpy(), expected.detach().numpy())
    assert "padding_mode=reflect" in repr(reflect) and "bias=False" in repr(reflect)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(groups=0), ValueError, "positive"), (dict(groups=3), ValueError, "in_channels must be divisible"),
    (dict(padding="full"), ValueError, "Invalid padding string"),
    (dict(padding="same", stride=2), ValueError, "strided"), (dict(padding_mode="mirror"), ValueError, "padding_mode"),
])
def test_conv2d_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.Conv2d(4, 6, 3, **kwargs)


def batch_norm_ref(x, mean, var, eps, weight, bias):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * weight.reshape(shape) + bias.reshape(shape)


@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm1d, (6, 3)), (nn.BatchNorm1d, (4, 3, 5)),
                                        (nn.BatchNorm2d, (4, 3, 2, 5))])
def test_batch_norm_train_updates_running_stats_and_eval_uses_them(cls, shape):
    bn = cls(3, momentum=0.2, dtype=cr.float64)
    with cr.no_grad():
        bn.weight.copy_(cr.tensor([1.0, 2.0, 0.5]))
        bn.bias.copy_(cr.tensor([0.0, -1.0, 3.0]))
    axes = (0,) + tuple(range(2, len(shape)))
    running_mean, running_var = np.zeros(3), np.ones(3)
    for step in range(3):
        x = rng.standard_normal(shape) * 2 + step
        out = bn(cr.tensor(x)).detach().numpy()
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        np.testing.assert_allclose(out, batch_norm_ref(x, mean, var, 1e-5, bn.weight.detach().numpy(),
                                                       bn.bias.detach().numpy()), rtol=1e-10, atol=1e-12)
        n = x.size // 3
        running_mean = 0.8 * running_mean + 0.2 * mean
        running_var = 0.8 * running_var + 0.2 * var * n / (n - 1)  # unbiased for the running estimate
        np.testing.assert_allclose(bn.running_mean.numpy(), running_mean, rtol=1e-12)
        np.testing.assert_allclose(bn.running_var.numpy(), running_var, rtol=1e-12)
    assert bn.num_batches_tracked.item() == 3 and bn.num_batches_tracked.dtype == cr.int64
    bn.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(bn(cr.tensor(x)).detach().numpy(),
                               batch_norm_ref(x, running_mean, running_var, 1e-5, bn.weight.detach().numpy(),
                                              bn.bias.detach().numpy()), rtol=1e-10)
    np.testing.assert_allclose(bn.running_mean.numpy(), running_mean)  # eval leaves the statistics alone


def test_batch_norm_cumulative_average_without_stats_and_errors():
    bn = nn.BatchNorm1d(2, momentum=None, dtype=cr.float64)
    xs = [rng.standard_normal((5, 2)) for _ in range(3)]
    for x in xs:
        bn(cr.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([x.mean(0) for x in xs], axis=0))
    free = nn.BatchNorm1d(2, affine=False, track_running_stats=False).eval()
    x = rng.standard_normal((5, 2)).astype(np.float32)
    np.testing.assert_allclose(free(cr.tensor(x)).numpy(), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-5)
    assert list(free.state_dict()) == []
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(cr.randn(2, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(cr.randn(1, 3))


def test_batch_norm_gradcheck_in_train_mode():
    bn = nn.BatchNorm2d(2, dtype=cr.float64)
    with cr.no_grad():
        bn.weight.copy_(cr.tensor([1.5, -0.5]))
    assert check_module_grads(bn, as64(rng.standard_normal((3, 2, 2, 2))))


def test_layer_norm_forward_and_gradcheck():
    ln = nn.LayerNorm((3, 4), dtype=cr.float64)
    with cr.no_grad():
        ln.weight.copy_(cr.tensor(rng.uniform(0.5, 2, (3, 4))))
        ln.bias.copy_(cr.tensor(rng.standard_normal((3, 4))))
    x = rng.standard_normal((2, 3, 4))
    mean, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * ln.weight.detach().numpy() + ln.bias.detach().numpy()
    np.testing.assert_allclose(ln(cr.tensor(x)).detach().numpy(), expected, rtol=1e-10)
    assert check_module_grads(ln, as64(rng.standard_normal((2, 3, 4))))
    with pytest.raises(RuntimeError, match="expected input with shape \\[\\*, 3, 4\\]"):
        ln(cr.randn(2, 4, 3))


def test_dropout_scaling_statistics_and_eval_identity():
    cr.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = cr.ones(200, 100)
    out = drop(x).numpy()
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.75])
    assert abs((out == 0).mean() - 0.25) < 0.02
    assert abs(out.mean() - 1.0) < 0.03  # rescaling keeps the expectation
    drop.eval()
    assert drop(x) is x
    cr.manual_seed(0)
    again = nn.Dropout(0.25)(x).numpy()
    np.testing.assert_array_equal(out, again)  # the default generator makes it reproducible
    assert (F.dropout(x, 1.0).numpy() == 0).all()
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout_gradient_is_the_mask():
    x = cr.ones(50, dtype=cr.float64, requires_grad=True)
    out = F.dropout(x, 0.5)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.detach().numpy())


def test_embedding_lookup_padding_and_gradients():
    cr.manual_seed(0)
    emb = nn.Embedding(5, 3, padding_idx=0, dtype=cr.float64)
    np.testing.assert_array_equal(emb.weight.detach().numpy()[0], 0)
    idx = cr.tensor([[0, 2, 2], [4, 0, 1]])
    out = emb(idx)
    np.testing.assert_array_equal(out.detach().numpy(), emb.weight.detach().numpy()[idx.numpy()])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[:, 0], [0, 1, 2, 0, 1])  # padding row: none
    assert gradcheck(lambda w: F.embedding(idx, w), (as64(rng.standard_normal((5, 3))),))
    assert repr(emb) == "Embedding(5, 3, padding_idx=0)"


def test_embedding_options():
    w = as64(rng.standard_normal((4, 2)) * 3)
    idx = cr.tensor([1, 1, 2])
    F.embedding(idx, w, scale_grad_by_freq=True).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:, 0], [0, 1, 1, 0])  # row 1 seen twice: 2 / 2
    table = cr.tensor([[3.0, 4.0], [0.3, 0.4]])
    F.embedding(cr.tensor([0]), table, max_norm=1.0)
    np.testing.assert_allclose(np.linalg.norm(table.numpy(), axis=1), [1.0, 0.5], rtol=1e-5)
    frozen = nn.Embedding.from_pretrained(cr.eye(3))
    assert not frozen.weight.requires_grad
    with pytest.raises(IndexError, match="out of range"):
        F.embedding(cr.tensor([5]), cr.randn(3, 2))
    with pytest.raises(RuntimeError, match="Long, Int"):
        F.embedding(cr.tensor([1.0]), cr.randn(3, 2))


def test_one_hot():
    np.testing.assert_array_equal(F.one_hot(cr.tensor([0, 2, 1])).numpy(), np.eye(3, dtype=np.int64)[[0, 2, 1]])
    assert F.one_hot(cr.tensor([[1]]), 4).shape == (1, 1, 4)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(cr.tensor([-1]))
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(cr.tensor([3]), 3)


def test_flatten_unflatten_identity():
    x = cr.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    assert nn.Identity(54, unused="argument")(x) is x
    assert repr(nn.Unflatten(1, (2, 5))) == "Unflatten(dim=1, unflattened_size=(2, 5))"


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.Sigmoid(), sigmoid),
    (nn.Tanh(), np.tanh),
    (nn.GELU(), lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
    (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    (nn.SiLU(), lambda x: x * sigmoid(x)),
    (nn.ELU(0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    (nn.Softplus(beta=2.0), lambda x: np.log1p(np.exp(2 * x)) / 2),
    (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (nn.LogSoftmax(dim=0), lambda x: x - np.log(np.exp(x).sum(0, keepdims=True))),
]


@pytest.mark.parametrize("module, ref", ACTIVATIONS, ids=[repr(a[0]) for a in ACTIVATIONS])
def test_activations_match_reference_and_gradcheck(module, ref):
    x = rng.standard_normal((3, 4))
    x[np.abs(x) < 0.1] = 0.5  # away from the kinks
    np.testing.assert_allclose(module(cr.tensor(x)).numpy(), ref(x), rtol=1e-10, atol=1e-12)
    assert gradcheck(module, (as64(x),))


def test_inplace_activations_modify_the_input():
    x = cr.tensor([-1.0, 2.0])
    assert nn.ReLU(inplace=True)(x) is x
    np.testing.assert_array_equal(x.numpy(), [0.0, 2.0])
    y = cr.tensor([-1.0, 2.0])
    nn.LeakyReLU(0.5, inplace=True)(y)
    np.testing.assert_array_equal(y.numpy(), [-0.5, 2.0])
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"


def test_softmax_without_dim_uses_torchs_legacy_choice_with_a_warning():
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = nn.Softmax()(cr.zeros(2, 4))
    np.testing.assert_allclose(out.numpy(), 0.25)
