"""Convolution layers and functions in 1, 2 and 3 dims: output sizes in closed form for every option, padding
modes against np.pad + a direct-loop convolution, torch's initialisation and checks, transposed convolution as
the adjoint of convolution, and (optional) parity with torch on loaded weights."""

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.func import grad, vmap
from tests.opdb.nn_conv import np_conv, np_conv_transpose

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
LAYER = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
TRANSPOSE_LAYER = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
SIZES = {1: (9,), 2: (7, 8), 3: (5, 6, 4)}


def randn(*shape, seed=0):
    return cr.tensor(np.random.default_rng(seed).standard_normal(shape))


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kw", [dict(), dict(stride=2), dict(padding=1, dilation=2), dict(stride=3, padding=2),
                                dict(padding="same"), dict(padding="same", dilation=2), dict(padding="valid")])
def test_conv_output_size_is_the_closed_form(nd, kw):
    size, k = SIZES[nd], 2  # NOTE: an even kernel: 'same' pads one more after than before
    out = CONV[nd](randn(2, 3, *size), randn(4, 3, *(k,) * nd), **kw)
    s, d, p = kw.get("stride", 1), kw.get("dilation", 1), kw.get("padding", 0)
    if p == "same":
        expected = size
    else:
        p = 0 if p == "valid" else p
        expected = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n in size)
    assert tuple(out.shape) == (2, 4) + expected


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kw", [dict(), dict(stride=2), dict(stride=2, padding=1, output_padding=1),
                                dict(dilation=2, padding=1), dict(stride=3, output_padding=2, groups=2)])
def test_conv_transpose_output_size_is_the_closed_form(nd, kw):
    size, k = tuple(n // 2 for n in SIZES[nd]), 3
    groups = kw.get("groups", 1)
    out = TRANSPOSE[nd](randn(1, 4, *size), randn(4, 6 // groups, *(k,) * nd), **kw)
    s, d, p, o = (kw.get(name, default) for name, default in (("stride", 1), ("dilation", 1), ("padding", 0),
                                                               ("output_padding", 0)))
    assert tuple(out.shape) == (1, 6) + tuple((n - 1) * s - 2 * p + d * (k - 1) + o + 1 for n in size)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_transpose_is_the_adjoint_of_conv(nd):
    """<conv(x, w), y> == <x, conv_transpose(y, w)> for the same stride, padding and dilation."""
    x, w = randn(2, 4, *SIZES[nd], seed=1), randn(6, 2, *(3,) * nd, seed=2)
    kw = dict(stride=2, padding=1, dilation=1, groups=2)
    y = randn(*CONV[nd](x, w, **kw).shape, seed=3)
    reached = [(m - 1) * 2 - 2 + 2 + 1 for m in y.shape[2:]]  # the transposed size without output_padding
    back = TRANSPOSE[nd](y, w, **kw, output_padding=tuple(n - r for n, r in zip(SIZES[nd], reached)))
    assert back.shape == x.shape
    np.testing.assert_allclose(float((CONV[nd](x, w, **kw) * y).sum()), float((x * back).sum()), rtol=1e-10)


@pytest.mark.parametrize("mode,np_mode", [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_padding_modes_pad_then_convolve(mode, np_mode, nd):
    conv = LAYER[nd](2, 3, 3, padding=1, padding_mode=mode, dtype=cr.float64)
    x = np.random.default_rng(4).standard_normal((1, 2) + SIZES[nd])
    padded = np.pad(x, ((0, 0), (0, 0)) + ((1, 1),) * nd, mode=np_mode)
    expected = np_conv(padded, conv.weight.detach().numpy(), conv.bias.detach().numpy())
    np.testing.assert_allclose(conv(cr.tensor(x)).detach().numpy(), expected, atol=1e-12)


def test_same_padding_with_a_padding_mode_pads_asymmetrically_like_torch():
    conv = nn.Conv1d(1, 1, 4, padding="same", padding_mode="circular", bias=False, dtype=cr.float64)
    assert conv._reversed_padding_repeated_twice == (1, 2)
    x = np.arange(6.0)[None, None]
    expected = np_conv(np.pad(x, ((0, 0), (0, 0), (1, 2)), mode="wrap"), conv.weight.detach().numpy())
    np.testing.assert_allclose(conv(cr.tensor(x)).detach().numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("layer,args,weight_shape", [
    (nn.Conv1d, (4, 6, 3), (6, 4, 3)), (nn.Conv3d, (4, 6, (2, 3, 1), 1, 0, 1, 2), (6, 2, 2, 3, 1)),
    (nn.ConvTranspose2d, (4, 6, 3), (4, 6, 3, 3)), (nn.ConvTranspose1d, (6, 4, 5, 1, 0, 0, 2), (6, 2, 5))])
def test_initialisation_is_uniform_within_one_over_sqrt_fan_in(layer, args, weight_shape):
    """fan_in = weight.size(1) * prod(kernel_size) (kaiming_uniform_ with a = sqrt(5)), transposed or not."""
    cr.manual_seed(0)
    m = layer(*args)
    assert tuple(m.weight.shape) == weight_shape and tuple(m.bias.shape) == (args[1],)
    bound = 1 / math.sqrt(math.prod(weight_shape[1:]))
    for p in (m.weight, m.bias):
        values = np.abs(p.detach().numpy())
        assert values.max() <= bound and values.max() > 0.5 * bound


def test_layer_attributes_and_repr_follow_torch():
    m = nn.Conv3d(4, 2, 3, stride=(1, 2, 1), padding=1, bias=False)
    assert m.kernel_size == (3, 3, 3) and m.stride == (1, 2, 1) and m.padding == (1, 1, 1)
    assert repr(m) == "Conv3d(4, 2, kernel_size=(3, 3, 3), stride=(1, 2, 1), padding=(1, 1, 1), bias=False)"
    t = nn.ConvTranspose1d(4, 2, 3, stride=2, output_padding=1, groups=2)
    assert repr(t) == "ConvTranspose1d(4, 2, kernel_size=(3,), stride=(2,), output_padding=(1,), groups=2)"
    assert t.transposed and not m.transposed
    assert repr(nn.Conv1d(4, 2, 4, padding="same", padding_mode="reflect")) == \
        "Conv1d(4, 2, kernel_size=(4,), stride=(1,), padding=same, padding_mode=reflect)"


def test_conv_transpose_output_size_picks_the_output_padding():
    m = nn.ConvTranspose2d(2, 3, 3, stride=2, dtype=cr.float64)
    x = randn(1, 2, 5, 5)
    assert tuple(m(x, output_size=[12, 11]).shape) == (1, 3, 12, 11)
    assert tuple(m(x, output_size=(1, 3, 11, 12)).shape) == (1, 3, 11, 12)
    with pytest.raises(ValueError, match="valid sizes range from"):
        m(x, output_size=[14, 14])


def test_unbatched_input_and_no_bias():
    w = randn(3, 2, 2, 2, 2)
    x = randn(2, 3, 4, 3)
    np.testing.assert_allclose(F.conv3d(x, w).numpy(), F.conv3d(x.unsqueeze(0), w)[0].numpy())
    y = randn(3, 4)
    wt = randn(3, 2, 3)
    np.testing.assert_allclose(F.conv_transpose1d(y, wt, stride=2).numpy(),
                               np_conv_transpose(y.numpy(), wt.numpy(), stride=2), atol=1e-12)


def test_per_sample_gradients_under_vmap():
    w = randn(2, 3, 3)
    xs = randn(4, 3, 6)

    def loss(w, x):
        return (F.conv1d(x.unsqueeze(0), w, padding=1) ** 2).sum()

    per_sample = vmap(grad(loss), in_dims=(None, 0))(w, xs)
    for i in range(4):
        np.testing.assert_allclose(per_sample[i].numpy(), grad(loss)(w, xs[i]).numpy(), atol=1e-12)


@pytest.mark.parametrize("call,error,match", [
    (lambda: F.conv1d(randn(1, 4, 5), randn(2, 3, 3)), RuntimeError, "to have 3 channels, but got 4"),
    (lambda: F.conv1d(randn(1, 4, 5), randn(2, 4, 7)), RuntimeError, "too small"),
    (lambda: F.conv3d(randn(4, 5, 5), randn(2, 4, 3, 3, 3)), RuntimeError, "expected 4D .* or 5D"),
    (lambda: F.conv1d(randn(1, 4, 5), randn(2, 4, 3), stride=2, padding="same"), RuntimeError, "strided"),
    (lambda: F.conv1d(randn(1, 4, 5), randn(2, 4, 3), padding="full"), RuntimeError, "invalid padding string"),
    (lambda: F.conv1d(randn(1, 4, 5), randn(2, 4, 3), padding=-1), RuntimeError, "negative padding"),
    (lambda: F.conv_transpose1d(randn(1, 4, 5), randn(3, 2, 3)), RuntimeError, "to have 3 channels"),
    (lambda: F.conv_transpose1d(randn(1, 4, 5), randn(4, 2, 3), stride=2, output_padding=2), RuntimeError,
     "output padding must be smaller"),
    (lambda: F.conv_transpose1d(randn(1, 4, 2), randn(4, 2, 3), padding=5), RuntimeError, "too small"),
    (lambda: F.conv2d(randn(1, 4, 5, 5), randn(2, 4, 3, 3), randn(3)), RuntimeError, "bias of shape"),
    (lambda: nn.Conv1d(4, 2, 3, padding_mode="foo"), ValueError, "padding_mode must be one of"),
    (lambda: nn.ConvTranspose2d(4, 2, 3, padding_mode="reflect"), ValueError, 'Only "zeros" padding mode'),
    (lambda: nn.Conv2d(4, 2, 3, stride=2, padding="same"), ValueError, "strided"),
    (lambda: nn.Conv1d(4, 3, 3, groups=2), ValueError, "out_channels must be divisible by groups"),
    (lambda: nn.Conv3d(3, 2, 3, groups=2), ValueError, "in_channels must be divisible by groups"),
])
def test_errors_are_torch_types_and_name_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("name,args,kwargs,forward", [
    ("Conv1d", (4, 6, 3), dict(stride=2, padding=1, dilation=2, groups=2), {}),
    ("Conv1d", (4, 6, 4), dict(padding="same", padding_mode="reflect"), {}),
    ("Conv2d", (4, 6, (3, 2)), dict(padding=(1, 2), padding_mode="circular"), {}),
    ("Conv3d", (2, 4, 3), dict(stride=(1, 2, 1), padding=1, padding_mode="replicate"), {}),
    ("ConvTranspose1d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2), {}),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, dilation=(1, 2)), dict(output_size=(16, 20))),
    ("ConvTranspose3d", (2, 4, 2), dict(stride=2, padding=1, bias=False), {}),
])
def test_torch_state_dict_loads_and_matches_outputs_and_gradients(name, args, kwargs, forward):
    torch = pytest.importorskip("torch")
    ref = getattr(torch.nn, name)(*args, **kwargs).double()
    m = getattr(nn, name)(*args, **kwargs, dtype=cr.float64)
    m.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    nd = int(name[-2])
    x = np.random.default_rng(5).standard_normal((2, args[0]) + SIZES[nd])
    xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    out_t, out_c = ref(xt, **forward), m(xc, **forward)
    np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), atol=1e-10)
    out_t.square().sum().backward()
    out_c.square().sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(m.weight.grad.numpy(), ref.weight.grad.numpy(), atol=1e-10)


def test_an_empty_batch_flows_through_with_the_right_shapes():
    x = cr.zeros(0, 4, 5, 5, dtype=cr.float64, requires_grad=True)
    assert tuple(F.conv2d(x, randn(4, 2, 3, 3), groups=2).shape) == (0, 4, 3, 3)
    assert tuple(F.conv_transpose2d(x, randn(4, 2, 3, 3), stride=2, groups=2).shape) == (0, 4, 11, 11)
    assert tuple(F.max_pool2d(x, 2, return_indices=True)[1].shape) == (0, 4, 2, 2)
    assert tuple(F.adaptive_max_pool2d(x, 3).shape) == (0, 4, 3, 3)
    assert tuple(F.grid_sample(x, cr.zeros(0, 2, 2, 2, dtype=cr.float64)).shape) == (0, 4, 2, 2)
    F.conv3d(cr.zeros(0, 2, 3, 3, 3, dtype=cr.float64, requires_grad=True), randn(1, 2, 2, 2, 2)).sum().backward()
