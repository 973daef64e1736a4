"""Resampling: ``pixel_shuffle``/``pixel_unshuffle`` (reshapes), ``interpolate`` (and the ``upsample*`` aliases),
``grid_sample`` and ``affine_grid``.

``interpolate`` is separable in every mode: nearest modes pick input positions along each spatial dim with
``index_select`` (whose gradient scatters back), the linear and cubic modes multiply each spatial dim by a small
(out, in) interpolation matrix built from the sizes alone, and ``area`` is adaptive average pooling. So each
mode is a few differentiable ops, with torch's coordinate conventions (``align_corners``, scale factors).
``grid_sample`` gathers the corners around each sampling point with one index per corner; its weights are
tensor expressions of the grid, so the gradient flows to the input and to the grid.
"""

from __future__ import annotations

import math

from ..._backend import xp
from ...creation import linspace, ones, zeros
from ...ops.arith import where
from ...ops.indexing import gather, index_select
from ...ops.join import cat, stack
from ...ops.linalg import matmul
from ...tensor import Tensor, _wrap
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "interpolate", "upsample", "upsample_nearest",
           "upsample_bilinear", "grid_sample", "affine_grid"]


# -- pixel shuffle ----------------------------------------------------------------------------------------

def _shuffle_factor(op: str, input: Tensor, factor, name: str) -> int:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise RuntimeError(f"{op}: {name} must be a positive integer, got {factor!r}")
    if input._data.ndim < 3:
        raise RuntimeError(f"{op}: expected an input with at least 3 dims (*, C, H, W), got shape "
                           f"{tuple(input._data.shape)}")
    return factor


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange (*, C*r*r, H, W) into (*, C, H*r, W*r) with ``r = upscale_factor`` (sub-pixel convolution),
    as ``torch.nn.functional.pixel_shuffle``.

    Example::

        >>> pixel_shuffle(chainrule.arange(8.).reshape(1, 4, 1, 2), 2)
        tensor([[[[0., 2., 1., 3.],
                  [4., 6., 5., 7.]]]])
    """
    r = _shuffle_factor("pixel_shuffle", input, upscale_factor, "upscale_factor")
    *lead, c, h, w = input._data.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
                           f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    k = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Rearrange (*, C, H*r, W*r) into (*, C*r*r, H, W) with ``r = downscale_factor``: the inverse of
    :func:`pixel_shuffle`, as ``torch.nn.functional.pixel_unshuffle``.

    Example::

        >>> pixel_unshuffle(chainrule.ones(1, 1, 4, 6), 2).shape
        chainrule.Size([1, 4, 2, 3])
    """
    r = _shuffle_factor("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    *lead, c, h, w = input._data.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by downscale_factor, but "
                           f"input.size(-2)={h} and input.size(-1)={w} are not both divisible by {r}")
    k = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups: (N, C, *) with channel ``g*(C/groups) + k`` moved to
    ``k*groups + g`` (ShuffleNet), as ``torch.nn.functional.channel_shuffle``.

    Example::

        >>> channel_shuffle(chainrule.arange(6.).reshape(1, 6, 1), 2).flatten()
        tensor([0., 3., 1., 4., 2., 5.])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"channel_shuffle(): argument 'input' must be Tensor, not {type(input).__name__}")
    shape = tuple(input._data.shape)
    if len(shape) <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes {list(shape)}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    if shape[1] % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {shape[1]} channels and {groups} "
                           "groups.")
    return input.reshape(shape[0], groups, shape[1] // groups, *shape[2:]).transpose(1, 2).reshape(shape)


# -- interpolate ------------------------------------------------------------------------------------------

_MODES = {"nearest": 0, "nearest-exact": 0, "area": 0, "linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3,
          "lanczos": 2}


def _output_sizes(input: Tensor, nd: int, size, scale_factor, recompute_scale_factor) -> tuple:
    """``(output sizes, scales)``: each scale is the factor that maps output to input coordinates when it comes
    from the user's ``scale_factor`` (None: the ratio of the sizes), as torch."""
    spatial = input._data.shape[2:]
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * nd
        if len(sizes) != nd:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {list(spatial)} and output size of {size}.")
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in sizes):
            raise TypeError(f"expected size to be one of int or Tuple[int] or Tuple[int, int] or Tuple[int, "
                            f"int, int], but got size with types {[type(s) for s in sizes]}")
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        return sizes, (None,) * nd
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    scales = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * nd
    if len(scales) != nd:
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                         f"with spatial dimensions of {list(spatial)} and scale_factor of shape {scale_factor}.")
    sizes = tuple(int(math.floor(n * float(s))) for n, s in zip(spatial, scales))
    return sizes, (None,) * nd if recompute_scale_factor else tuple(float(s) for s in scales)


def _coordinate_scale(n_in: int, n_out: int, align_corners: bool, scale) -> float:
    """torch's ``area_pixel_compute_scale``: input pixels per output pixel."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _source(n_in: int, n_out: int, align_corners: bool, scale, cubic: bool):
    """The input coordinate of each output position (torch's ``area_pixel_compute_source_index``)."""
    ratio = _coordinate_scale(n_in, n_out, align_corners, scale)
    dst = xp.arange(n_out, dtype=xp.float64)
    if align_corners:
        return ratio * dst
    src = ratio * (dst + 0.5) - 0.5
    return src if cubic else xp.maximum(src, 0.0)


def _nearest_index(n_in: int, n_out: int, scale, exact: bool):
    # NOTE: float32 as torch computes it, so that the picked pixels agree at ties.
    ratio = xp.float32(1.0 / scale if scale is not None and scale > 0 else n_in / n_out)
    dst = xp.arange(n_out, dtype=xp.float32) + (xp.float32(0.5) if exact else xp.float32(0))
    return xp.minimum(xp.floor(dst * ratio).astype(xp.int64), n_in - 1)


def _pick(x: Tensor, axis: int, index) -> Tensor:
    """``x`` at positions ``index`` along ``axis``.

    NOTE: an integer upscale repeats each entry k times: expand + reshape then, whose gradient is a sum, much
    faster than index_select's scatter-add.
    """
    n = x._data.shape[axis]
    k = len(index) // n
    if k * n == len(index) and (index == xp.arange(len(index)) // k).all():
        if k == 1:
            return x
        shape = tuple(x._data.shape)
        spread = x.unsqueeze(axis + 1).expand(*shape[:axis + 1], k, *shape[axis + 1:])
        return spread.reshape(*shape[:axis], n * k, *shape[axis + 1:])
    return index_select(x, axis, _wrap(index))


def _cubic_weights(t):
    """The four weights of Keys' cubic convolution (A = -0.75, as torch) at offsets -1, 0, 1, 2 from ``t``."""
    a = -0.75

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _interpolation_matrix(n_in: int, n_out: int, mode: str, align_corners: bool, scale, dtype) -> Tensor:
    """(n_out, n_in): row i holds the weights that mode gives the input pixels for output pixel i."""
    matrix = xp.zeros((n_out, n_in))
    rows = xp.arange(n_out)
    src = _source(n_in, n_out, align_corners, scale, cubic=mode == "bicubic")
    base = xp.floor(src).astype(xp.int64)
    t = src - base
    if mode == "bicubic":
        for offset, weight in zip((-1, 0, 1, 2), _cubic_weights(t)):
            xp.add.at(matrix, (rows, xp.clip(base + offset, 0, n_in - 1)), weight)
    else:
        base = xp.minimum(base, n_in - 1)
        xp.add.at(matrix, (rows, base), 1 - t)
        xp.add.at(matrix, (rows, xp.minimum(base + 1, n_in - 1)), t)
    return _wrap(matrix.astype(dtype))


def _antialias_matrix(n_in: int, n_out: int, mode: str, align_corners: bool, scale, dtype) -> Tensor:
    """(n_out, n_in): torch's antialiased weights: when shrinking, the filter (triangle, Keys' cubic with
    A = -0.5, or Lanczos-3) is stretched by the scale so that every input pixel contributes; rows sum to one."""
    ratio = _coordinate_scale(n_in, n_out, align_corners, scale)
    half = {"bilinear": 1.0, "bicubic": 2.0, "lanczos": 3.0}[mode]
    support = half * ratio if ratio >= 1.0 else half
    stretch = 1.0 / ratio if ratio >= 1.0 else 1.0
    width = int(math.ceil(support)) * 2 + 1
    center = ratio * (xp.arange(n_out) + 0.5)
    low = xp.maximum((center - support + 0.5).astype(xp.int64), 0)
    count = xp.clip(xp.minimum((center + support + 0.5).astype(xp.int64), n_in) - low, 0, width)
    j = xp.arange(width)
    x = xp.abs((j + low[:, None] - center[:, None] + 0.5) * stretch)
    if mode == "bilinear":
        weights = xp.maximum(1 - x, 0.0)
    elif mode == "lanczos":
        weights = xp.where(x < 3, xp.sinc(x) * xp.sinc(x / 3), 0.0)
    else:
        a = -0.5
        weights = xp.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                           xp.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))
    weights = xp.where(j < count[:, None], weights, 0.0)
    total = weights.sum(1, keepdims=True)
    weights = weights / xp.where(total == 0, 1.0, total)
    matrix = xp.zeros((n_out, n_in + width))
    xp.add.at(matrix, (xp.arange(n_out)[:, None], low[:, None] + j), weights)
    return _wrap(matrix[:, :n_in].astype(dtype))


def _along(x: Tensor, axis: int, matrix: Tensor) -> Tensor:
    """``matrix`` (out, in) applied along ``axis`` of ``x``."""
    return matmul(x.movedim(axis, -1), matrix.t()).movedim(-1, axis)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False) -> Tensor:
    """Resample (N, C, *spatial) input to ``size`` or by ``scale_factor``, as
    ``torch.nn.functional.interpolate``.

    ``mode``: ``'nearest'`` (torch's: ``floor(i * in/out)``), ``'nearest-exact'`` (pixel centres), ``'linear'``
    (3-D input), ``'bilinear'``, ``'bicubic'`` and ``'lanczos'`` (4-D), ``'trilinear'`` (5-D) and ``'area'``
    (adaptive average pooling). ``align_corners`` (interpolating modes only; default False) maps the corner pixels'
    centres onto each other. With ``scale_factor`` the output size is ``floor(in * scale_factor)`` and the
    coordinates use ``1/scale_factor`` unless ``recompute_scale_factor=True`` (then ``in/out``). Gradients flow
    to the input (nearest modes: summed over the copies). ``antialias=True`` (bilinear, bicubic and
    ``'lanczos'``, which requires it; 4-D) widens the filter when shrinking so every input pixel contributes,
    with torch's weights.

    Example::

        >>> x = chainrule.tensor([[[1., 2.]]])
        >>> interpolate(x, scale_factor=2, mode="linear")
        tensor([[[1.0000, 1.2500, 1.7500, 2.0000]]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate(): argument 'input' must be Tensor, not {type(input).__name__}")
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: unknown mode {mode!r}; valid modes: {', '.join(_MODES)}")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: linear | "
                             "bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    nd = input._data.ndim - 2
    if nd not in (1, 2, 3) or _MODES[mode] not in (0, nd):
        raise NotImplementedError(f"interpolate: got {input._data.ndim}D input, but mode {mode!r} needs "
                                  + ("3D, 4D or 5D" if not _MODES[mode] else f"{_MODES[mode] + 2}D") + " input")
    if antialias and (mode not in ("bilinear", "bicubic", "lanczos") or nd != 2):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a "
                         "4-D tensor as input")
    if mode == "lanczos" and align_corners:
        raise ValueError("Lanczos mode does not support align_corners=True")
    if mode == "lanczos" and not antialias:
        raise ValueError("Lanczos mode requires antialias=True")
    if input._data.dtype.kind != "f" and mode != "nearest":
        raise RuntimeError(f"interpolate: mode {mode!r} needs a floating point input, got {input.dtype}")
    if mode == "area" and size is None:
        recompute_scale_factor = True
    sizes, scales = _output_sizes(input, nd, size, scale_factor, recompute_scale_factor)
    if min(sizes) < 1:
        raise RuntimeError(f"interpolate: input of spatial size {tuple(input._data.shape[2:])} and "
                           f"size={size}, scale_factor={scale_factor} give the output size {sizes}; each must be "
                           "positive")
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[nd - 1](input, sizes)
    out = input
    for axis, n_in, n_out, scale in zip(range(2, nd + 2), input._data.shape[2:], sizes, scales):
        if mode in ("nearest", "nearest-exact"):
            out = _pick(out, axis, _nearest_index(n_in, n_out, scale, mode == "nearest-exact"))
        else:
            weights = _antialias_matrix if antialias else _interpolation_matrix
            out = _along(out, axis, weights(n_in, n_out, mode, align_corners, scale, input._data.dtype))
    return out.clone() if out is input else out  # NOTE: a new tensor even when nothing moved, as torch


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None) -> Tensor:
    """Deprecated in torch in favour of :func:`interpolate`, which it calls."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """``interpolate(input, size, scale_factor, mode='nearest')`` (deprecated in torch)."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """``interpolate(input, size, scale_factor, mode='bilinear', align_corners=True)`` (deprecated in torch)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# -- grid_sample and affine_grid ---------------------------------------------------------------------------

def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """torch's ``reflect_coordinates``: fold ``coord`` back into ``[low, high]`` by mirroring at both ends."""
    if twice_low == twice_high:
        return coord * 0.0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    dist = (coord - low).abs()
    extra = dist.fmod(span)
    flips = (dist / span).floor()
    return where(flips.fmod(2) == 0, extra + low, span - extra + low)


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    """A normalised grid coordinate in [-1, 1] as an input pixel coordinate."""
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _fold_inside(pixel: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """A pixel coordinate moved inside the input as ``padding_mode`` says (``'zeros'`` leaves it)."""
    if padding_mode == "reflection":
        pixel = _reflect(pixel, 0, 2 * (size - 1)) if align_corners else _reflect(pixel, -1, 2 * size - 1)
    if padding_mode in ("border", "reflection"):
        pixel = pixel.clamp(0, size - 1)
    return pixel


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners=None) -> Tensor:
    """Sample ``input`` (N, C, H_in, W_in) at the points ``grid`` (N, H_out, W_out, 2) gives, as
    ``torch.nn.functional.grid_sample``; 5-D input with a (N, D_out, H_out, W_out, 3) grid samples volumes.

    Grid values are normalised: ``(x, y) = (-1, -1)`` is the top-left of the input and ``(1, 1)`` the
    bottom-right (the corner pixels' centres with ``align_corners=True``, their outer edges otherwise; default
    False). ``mode``: ``'bilinear'`` (trilinear for volumes), ``'nearest'`` (round half to even) or ``'bicubic'``;
    ``padding_mode`` for points outside: ``'zeros'``, ``'border'`` (clamp) or ``'reflection'``. ``'bicubic'``
    (4-D only) weighs 4x4 taps with Keys' cubic (A = -0.75), each tap folded inside by the padding mode, as
    torch. The gradient flows to ``input`` and, except for ``'nearest'``, to ``grid``.

    Example::

        >>> x = chainrule.arange(4.).reshape(1, 1, 2, 2)
        >>> grid_sample(x, chainrule.zeros(1, 1, 1, 2), align_corners=True)
        tensor([[[[1.5000]]]])
    """
    for name, t in (("input", input), ("grid", grid)):
        if not isinstance(t, Tensor):
            raise TypeError(f"grid_sample(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    nd = input._data.ndim - 2
    shape, grid_shape = tuple(input._data.shape), tuple(grid._data.shape)
    if nd not in (2, 3) or grid._data.ndim != nd + 2 or grid_shape[-1] != nd or grid_shape[0] != shape[0]:
        raise RuntimeError(f"grid_sample(): expected a 4-D input with a (N, H_out, W_out, 2) grid or a 5-D input "
                           f"with a (N, D_out, H_out, W_out, 3) grid and the same N, but got input of shape "
                           f"{shape} and grid of shape {grid_shape}")
    if mode == "bicubic" and nd != 2:
        raise RuntimeError("grid_sample(): bicubic interpolation only supports 4D input")
    if input._data.dtype != grid._data.dtype or input._data.dtype.kind != "f":
        raise RuntimeError(f"grid_sample(): expected input and grid to have the same floating dtype, but input "
                           f"has {input.dtype} and grid has {grid.dtype}")
    align_corners = bool(align_corners)
    n, c = shape[:2]
    spatial = shape[2:]
    points = math.prod(grid_shape[1:-1])
    # NOTE: the grid's last dim lists x (width) first, so coordinate k addresses spatial dim nd - 1 - k.
    pixels = [_unnormalize(grid[..., nd - 1 - d].reshape(n, 1, points), spatial[d], align_corners)
              for d in range(nd)]
    flat = input.reshape(n, c, math.prod(spatial))
    strides = [math.prod(spatial[d + 1:]) for d in range(nd)]
    corners = []  # per dim: the (position, weight) pairs of the taps
    for size, pixel in zip(spatial, pixels):
        if mode == "bicubic":
            # NOTE: torch folds each of the 4 taps inside (not the point), with the weights of the unfolded point
            low = pixel.floor()
            weights = _cubic_weights(pixel - low)
            corners.append([(_fold_inside(low + k, size, padding_mode, align_corners), w)
                            for k, w in zip((-1, 0, 1, 2), weights)])
            continue
        pixel = _fold_inside(pixel, size, padding_mode, align_corners)
        if mode == "nearest":
            corners.append([(pixel.round(), None)])
        else:
            low = pixel.floor()
            corners.append([(low, low + 1 - pixel), (low + 1, pixel - low)])
    # NOTE: all taps in one gather: each dim's taps along its own axis, broadcast into (N, 1, T_0, ..., P)
    index, weight, inside = 0, None, None
    for d, taps in enumerate(corners):
        shape = (n, 1) + tuple(len(t) if e == d else 1 for e, t in enumerate(corners)) + (points,)
        position = stack([p for p, _ in taps], 2).reshape(shape)
        ok = (position >= 0) & (position <= spatial[d] - 1)
        inside = ok if inside is None else inside & ok
        index = index + position.clamp(0, spatial[d] - 1).long() * strides[d]
        if taps[0][1] is not None:
            w = stack([w for _, w in taps], 2).reshape(shape)
            weight = w if weight is None else weight * w
    count = math.prod(len(taps) for taps in corners)
    index = index.reshape(n, 1, count * points).expand(n, c, count * points)
    values = gather(flat, 2, index).reshape(n, c, count, points)
    if padding_mode == "zeros":
        values = where(inside.reshape(n, 1, count, points), values, 0.0)
    out = values.sum(2) if weight is None else (values * weight.reshape(n, 1, count, points)).sum(2)
    return out.reshape((n, c) + grid_shape[1:-1])


def affine_grid(theta: Tensor, size, align_corners=None) -> Tensor:
    """The sampling grid (N, H, W, 2) of the affine maps ``theta`` (N, 2, 3) for an output of ``size`` (N, C, H,
    W) (or (N, D, H, W, 3) from (N, 3, 4) for ``size`` (N, C, D, H, W)), as
    ``torch.nn.functional.affine_grid``: each output pixel's normalised coordinates ``(x, y, 1)`` times
    ``theta``'s transpose. Use with :func:`grid_sample` for spatial transformers.

    Example::

        >>> theta = chainrule.tensor([[[1., 0., 0.], [0., 1., 0.]]])
        >>> affine_grid(theta, (1, 1, 2, 2), align_corners=True)[0, :, :, 0]
        tensor([[-1.,  1.],
                [-1.,  1.]])
    """
    if not isinstance(theta, Tensor):
        raise TypeError(f"affine_grid(): argument 'theta' must be Tensor, not {type(theta).__name__}")
    if theta._data.dtype.kind != "f":
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(size)
    nd = len(size) - 2
    if nd not in (2, 3):
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {list(size)}.")
    if theta._data.ndim != 3 or tuple(theta._data.shape[1:]) != (nd, nd + 1) or theta._data.shape[0] != size[0]:
        raise ValueError(f"Expected a batch of {nd}D affine matrices of shape Nx{nd}x{nd + 1} for size "
                         f"{list(size)}. Got {list(theta._data.shape)}.")
    if min(size[2:]) < 1:
        raise ValueError(f"Expected non-zero, positive output size. Got {list(size)}")
    spatial = size[2:]
    axes = []
    for n in reversed(spatial):  # x (width) first, as the grid lists coordinates
        if n == 1:  # NOTE: a single pixel sits at the centre, 0, as in torch
            axes.append(zeros(1, dtype=theta.dtype))
        else:
            line = linspace(-1.0, 1.0, n, dtype=theta.dtype)
            axes.append(line if align_corners else line * ((n - 1) / n))
    columns = []
    for k, line in enumerate(axes):
        shape = [1] * nd
        shape[nd - 1 - k] = spatial[nd - 1 - k]
        columns.append(line.reshape(*shape, 1).expand(*spatial, 1))
    base = cat(columns + [ones(*spatial, 1, dtype=theta.dtype)], dim=-1).reshape(1, -1, nd + 1)
    return matmul(base, theta.transpose(1, 2)).reshape(size[0], *spatial, nd)
