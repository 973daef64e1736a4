"""Resampling: pixel shuffle round trips, interpolate in closed form for each mode, grid_sample with an identity
affine grid reproducing its input, errors, and (optional) parity with torch for the layers."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


def randn(*shape, seed=0):
    return cr.tensor(np.random.default_rng(seed).standard_normal(shape))


def test_pixel_shuffle_and_unshuffle_are_inverse_and_move_channels_to_pixels():
    x = randn(2, 3, 8, 4, 5)
    y = F.pixel_shuffle(x, 2)
    assert tuple(y.shape) == (2, 3, 2, 8, 10)
    np.testing.assert_array_equal(F.pixel_unshuffle(y, 2).numpy(), x.numpy())
    # channel c*4 + i*2 + j lands at pixel (2h + i, 2w + j)
    np.testing.assert_array_equal(y.numpy()[..., 1, 3, 4 * 2 + 1], x.numpy()[..., 1 * 4 + 1 * 2 + 1, 1, 4])
    assert repr(nn.PixelShuffle(2)) == "PixelShuffle(upscale_factor=2)"
    np.testing.assert_array_equal(nn.PixelUnshuffle(2)(y).numpy(), x.numpy())


def test_channel_shuffle_interleaves_the_groups():
    x = cr.arange(6.).reshape(1, 6, 1)
    np.testing.assert_array_equal(F.channel_shuffle(x, 2).numpy().ravel(), [0, 3, 1, 4, 2, 5])
    np.testing.assert_array_equal(nn.ChannelShuffle(3)(x).numpy().ravel(), [0, 2, 4, 1, 3, 5])
    assert repr(nn.ChannelShuffle(3)) == "ChannelShuffle(groups=3)"
    with pytest.raises(RuntimeError, match="divisible by groups"):
        F.channel_shuffle(cr.zeros(1, 5, 2), 2)


def test_interpolate_closed_forms():
    x = cr.tensor([[[1.0, 2.0]]], dtype=cr.float64)
    np.testing.assert_allclose(F.interpolate(x, scale_factor=2).numpy().ravel(), [1, 1, 2, 2])
    np.testing.assert_allclose(F.interpolate(x, scale_factor=2, mode="linear").numpy().ravel(),
                               [1, 1.25, 1.75, 2])
    np.testing.assert_allclose(F.interpolate(x, size=3, mode="linear", align_corners=True).numpy().ravel(),
                               [1, 1.5, 2])
    np.testing.assert_allclose(F.interpolate(cr.arange(4.).reshape(1, 1, 4), size=2, mode="area").numpy().ravel(),
                               [0.5, 2.5])
    # nearest: floor(i * in/out); nearest-exact: floor((i + 0.5) * in/out), the nearest pixel centre
    y = cr.arange(3.).reshape(1, 1, 3)
    np.testing.assert_allclose(F.interpolate(y, size=5).numpy().ravel(), [0, 0, 1, 1, 2])
    np.testing.assert_allclose(F.interpolate(y, size=5, mode="nearest-exact").numpy().ravel(), [0, 0, 1, 2, 2])
    # bicubic reproduces a linear ramp away from the clamped border (align_corners keeps the ends)
    ramp = cr.arange(6.).reshape(1, 1, 1, 6).expand(1, 1, 2, 6)
    out = F.interpolate(ramp, size=(2, 11), mode="bicubic", align_corners=True)
    np.testing.assert_allclose(out.numpy()[0, 0, 0, 2:-2], np.linspace(0, 5, 11)[2:-2], atol=1e-12)


def test_interpolate_gradient_of_nearest_sums_the_copies():
    x = cr.tensor([[[1.0, 2.0, 3.0]]], dtype=cr.float64, requires_grad=True)
    F.interpolate(x, scale_factor=2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy().ravel(), [2, 2, 2])


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("nd", [2, 3])
def test_grid_sample_of_the_identity_affine_grid_returns_the_input(align_corners, nd):
    x = randn(2, 3, *(4, 5, 3)[:nd])
    theta = cr.tensor(np.tile(np.eye(nd, nd + 1), (2, 1, 1)))
    grid = F.affine_grid(theta, x.shape, align_corners=align_corners)
    assert tuple(grid.shape) == (2,) + tuple(x.shape[2:]) + (nd,)
    for mode in ("bilinear", "nearest"):
        out = F.grid_sample(x, grid, mode=mode, align_corners=align_corners)
        np.testing.assert_allclose(out.numpy(), x.numpy(), atol=1e-12)


def test_grid_sample_padding_modes_outside_the_image():
    x = cr.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=cr.float64)
    far = cr.tensor([[[[5.0, 5.0]]]], dtype=cr.float64)  # far beyond the bottom-right corner
    assert F.grid_sample(x, far, align_corners=True).item() == 0
    assert F.grid_sample(x, far, padding_mode="border", align_corners=True).item() == 4
    # reflection about the corner pixels (align_corners): pixel column 2 mirrors at 1 back to 0, then 0.5 to 0.5
    mirrored = F.grid_sample(x, cr.tensor([[[[3.0, -1.0], [2.0, -1.0]]]], dtype=cr.float64),
                             padding_mode="reflection", align_corners=True)
    np.testing.assert_allclose(mirrored.numpy().ravel(), [1.0, 1.5])


def test_grid_sample_gradient_reaches_the_grid():
    x = cr.tensor([[[[0.0, 1.0], [2.0, 3.0]]]], dtype=cr.float64)  # value = x + 2y in pixels
    g = cr.tensor([[[[0.2, -0.4]]]], dtype=cr.float64, requires_grad=True)
    F.grid_sample(x, g, align_corners=True).sum().backward()
    # align_corners: pixel = (coord + 1) / 2, so d value / d coord = (1/2, 2/2)
    np.testing.assert_allclose(g.grad.numpy().ravel(), [0.5, 1.0])


def test_upsample_layers_and_reprs():
    x = randn(1, 2, 3, 4)
    np.testing.assert_allclose(nn.Upsample(scale_factor=2, mode="bilinear")(x).numpy(),
                               F.interpolate(x, scale_factor=2, mode="bilinear").numpy())
    np.testing.assert_allclose(nn.UpsamplingBilinear2d(size=(5, 7))(x).numpy(),
                               F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=True).numpy())
    np.testing.assert_allclose(nn.UpsamplingNearest2d(scale_factor=3)(x).numpy(),
                               F.interpolate(x, scale_factor=3).numpy())
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert repr(nn.UpsamplingBilinear2d(size=3)) == "UpsamplingBilinear2d(size=3, mode='bilinear')"
    assert nn.Upsample(scale_factor=(2, 3)).scale_factor == (2.0, 3.0)


def test_fold_and_unfold_layers():
    x = randn(2, 3, 4, 6)
    cols = nn.Unfold(2, stride=2)(x)
    assert tuple(cols.shape) == (2, 12, 6)
    np.testing.assert_allclose(nn.Fold((4, 6), 2, stride=2)(cols).numpy(), x.numpy())
    assert repr(nn.Unfold(3, padding=1)) == "Unfold(kernel_size=3, dilation=1, padding=1, stride=1)"
    assert repr(nn.Fold((4, 5), 2)) == "Fold(output_size=(4, 5), kernel_size=2, dilation=1, padding=0, stride=1)"


@pytest.mark.parametrize("call,error,match", [
    (lambda: F.pixel_shuffle(randn(1, 6, 2, 2), 2), RuntimeError, "divisible by the square"),
    (lambda: F.pixel_unshuffle(randn(1, 1, 3, 4), 2), RuntimeError, "divisible by downscale_factor"),
    (lambda: F.interpolate(randn(1, 1, 4), size=3, scale_factor=2), ValueError, "only one of size"),
    (lambda: F.interpolate(randn(1, 1, 4)), ValueError, "either size or scale_factor"),
    (lambda: F.interpolate(randn(1, 1, 4), size=8, mode="bilinear"), NotImplementedError, "4D"),
    (lambda: F.interpolate(randn(1, 1, 4), size=8, align_corners=True), ValueError, "align_corners option"),
    (lambda: F.interpolate(randn(1, 1, 4), size=(4, 8)), ValueError, "same number of spatial dimensions"),
    (lambda: F.interpolate(randn(1, 1, 4), size=8, mode="cubic"), NotImplementedError, "unknown mode"),
    (lambda: F.interpolate(randn(1, 1, 4), size=2, mode="linear", antialias=True), ValueError, "Anti-alias"),
    (lambda: F.interpolate(randn(1, 1, 4, 4), size=2, mode="lanczos"), ValueError, "requires antialias=True"),
    (lambda: F.interpolate(randn(1, 1, 4), size=8, mode="linear", recompute_scale_factor=True), ValueError,
     "recompute_scale_factor is not meaningful"),
    (lambda: F.grid_sample(randn(1, 1, 3, 3), randn(1, 2, 2, 3)), RuntimeError, "grid of shape"),
    (lambda: F.grid_sample(randn(1, 1, 3, 3), randn(1, 2, 2, 2), padding_mode="wrap"), ValueError, "padding_mode"),
    (lambda: F.grid_sample(randn(1, 1, 3, 3), randn(1, 2, 2, 2), mode="area"), ValueError, "expected mode"),
    (lambda: F.grid_sample(randn(1, 1, 2, 3, 3), randn(1, 2, 2, 2, 3), mode="bicubic"), RuntimeError,
     "only supports 4D"),
    (lambda: F.affine_grid(randn(2, 2, 3), (2, 1, 4)), NotImplementedError, "4D and 5D sizes"),
    (lambda: F.affine_grid(randn(2, 3, 4), (2, 1, 4, 4)), ValueError, "Nx2x3"),
])
def test_errors_are_torch_types_and_name_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("layer,shape", [
    (lambda m: m.Upsample(scale_factor=1.5, mode="bicubic"), (1, 2, 4, 5)),
    (lambda m: m.Upsample(size=(3, 7, 2), mode="trilinear", align_corners=True), (1, 2, 4, 5, 3)),
    (lambda m: m.Upsample(scale_factor=0.5, mode="nearest-exact"), (1, 2, 6)),
    (lambda m: m.PixelShuffle(3), (2, 18, 2, 3)),
    (lambda m: (lambda x: m.functional.interpolate(x, size=(3, 4), mode="bicubic", antialias=True)), (1, 2, 9, 7)),
])
def test_layers_match_torch(layer, shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(8).standard_normal(shape)
    xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    out_t, out_c = layer(torch.nn)(xt), layer(nn)(xc)
    np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), atol=1e-12)
    out_t.square().sum().backward()
    out_c.square().sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-12)
