"""Pooling in 1, 2 and 3 spatial dims on one code path.

Max pooling is one primitive (``max_pool`` in ops/conv.py: each window's maximum and its position, the gradient
scattered back to it); average and power-average pooling unfold the windows (im2col) and reduce over the window
axis; adaptive average pooling multiplies each spatial dim by a small averaging matrix; adaptive and fractional
max pooling gather their (uneven) windows with one index and take a one-hot mask of each window's first maximum;
max unpooling scatters back to the recorded positions. Everything is vectorised over batch, channels and pixels.
"""

from __future__ import annotations

import math

from ..._backend import xp
from ..._dtype import int64
from ...creation import arange, full, rand, zeros
from ...ops.arith import where
from ...ops.conv import as_tuple, im2col, im2col_array, max_pool, window_counts
from ...ops.elementwise import relu, sign
from ...ops.indexing import gather, index_select, scatter_add
from ...ops.join import cat
from ...ops.linalg import matmul
from ...ops.reduce import argmax
from ...ops.shape import broadcast_to, int_arg
from ...tensor import Tensor, _wrap
from .conv import spatial_doc

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d", "lp_pool1d", "lp_pool2d",
           "lp_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d"]


def _check_input(op: str, nd: int, input: Tensor) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.ndim not in (nd + 1, nd + 2) or 0 in input._data.shape[-nd:]:
        raise RuntimeError(f"{op}: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input with non-zero "
                           f"spatial sizes, got "
                           f"shape {tuple(input._data.shape)}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point input, got {input.dtype}")


def _pool_geometry(op: str, nd: int, input: Tensor, kernel_size, stride, padding, dilation,
                   ceil_mode: bool) -> tuple:
    """Validated ``(kernel, stride, dilation, per-side padding, counts)``; ``ceil_mode`` pads the end."""
    _check_input(op, nd, input)
    kernel = as_tuple(kernel_size, nd, "kernel_size", op)
    stride = kernel if stride is None or stride == () or stride == [] else as_tuple(stride, nd, "stride", op)
    padding, dilation = as_tuple(padding, nd, "padding", op), as_tuple(dilation, nd, "dilation", op)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise RuntimeError(f"{op}: kernel_size, stride and dilation must be positive and padding "
                           f"non-negative, got kernel_size={kernel}, stride={stride}, dilation={dilation}, "
                           f"padding={padding}")
    for p, k, d in zip(padding, kernel, dilation, strict=True):
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k} and dilation={d}")
    size = input._data.shape[-nd:]
    pads = []
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        extent = d * (k - 1) + 1
        count = (n + 2 * p - extent + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (count - 1) * s >= n + p:
            count -= 1  # NOTE: the last window must start inside the input or the left padding, as in torch
        pads.append((p, p + max(0, (count - 1) * s + extent - n - 2 * p)))
    counts = window_counts(size, kernel, dilation, pads, stride)
    if min(counts) < 1:
        raise RuntimeError(f"{op}: given input of shape {tuple(input._data.shape)}, the calculated output "
                           f"size {counts} is too small (kernel_size={kernel}, stride={stride}, "
                           f"padding={padding}, dilation={dilation})")
    return kernel, stride, dilation, tuple(pads), counts


def _batched(input: Tensor, nd: int) -> Tensor:
    return input if input._data.ndim == nd + 2 else input.unsqueeze(0)


def _windows(op: str, nd: int, input: Tensor, kernel, stride, dilation, pads, value) -> Tensor:
    """(N, C, prod(kernel), L): every pooling window of every channel."""
    x = _batched(input, nd)
    n, c = x._data.shape[:2]
    cols = im2col(x, kernel, dilation, pads, stride, value, op=op)
    return cols.reshape(n, c, math.prod(kernel), cols._data.shape[2])


def _image(out: Tensor, input: Tensor, nd: int, counts: tuple) -> Tensor:
    return out.reshape(tuple(input._data.shape[:-nd]) + tuple(counts))


def _max_over_windows(cols: Tensor, positions, input: Tensor, nd: int, counts: tuple, return_indices: bool):
    """The maximum of each window of ``cols`` (N, C, K, L), and with ``return_indices`` its flat input position
    (``positions``: each window element's position, a (K, L) array shared by every plane or an (N, C, K, L)
    int64 tensor)."""
    k = cols._data.shape[2]
    # NOTE: a one-hot mask of each window's first argmax routes the gradient to a single element, like torch
    # (amax would split it between ties, which are common after a ReLU). Built from ops (argmax, eq), so vmap
    # batches it and a recorded program recomputes it for new inputs.
    arg = argmax(cols, 2, keepdim=True)
    mask = arg == _wrap(xp.arange(k)[:, None])
    out = _image(where(mask, cols, 0.0).sum(2), input, nd, counts)
    if not return_indices:
        return out
    if not isinstance(positions, Tensor):
        positions = broadcast_to(_wrap(positions.reshape((1, 1) + positions.shape)), cols._data.shape)
    return out, _image(gather(positions, 2, arg), input, nd, counts)


def _max_pool(op: str, nd: int, input: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool,
              return_indices: bool):
    kernel, stride, dilation, pads, counts = _pool_geometry(op, nd, input, kernel_size, stride, padding,
                                                            dilation, ceil_mode)
    out, indices = max_pool(_batched(input, nd), kernel, dilation, pads, stride)
    out = _image(out, input, nd, counts)
    return (out, _image(indices, input, nd, counts)) if return_indices else out


def _avg_pool(op: str, nd: int, input: Tensor, kernel_size, stride, padding, ceil_mode: bool,
              count_include_pad: bool, divisor_override) -> Tensor:
    kernel, stride, dilation, pads, counts = _pool_geometry(op, nd, input, kernel_size, stride, padding, 1,
                                                            ceil_mode)
    sums = _windows(op, nd, input, kernel, stride, dilation, pads, 0).sum(2)
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError(f"{op}: divisor must be not zero")
        return _image(sums / divisor_override, input, nd, counts)
    size = input._data.shape[-nd:]
    if count_include_pad:
        # NOTE: the nominal padding counts, the ceil_mode overhang past it does not (torch's divisor).
        ones = xp.ones((1, 1) + tuple(n + 2 * lo for n, (lo, _) in zip(size, pads)))
        inside = tuple((0, hi - lo) for lo, hi in pads)
    else:
        ones, inside = xp.ones((1, 1) + tuple(size)), pads
    divisor = im2col_array(ones, kernel, dilation, inside, stride, 0).sum(1)
    return _image(sums / _wrap(divisor.astype(input._data.dtype)), input, nd, counts)


def _lp_pool(op: str, nd: int, input: Tensor, norm_type, kernel_size, stride, ceil_mode: bool) -> Tensor:
    """torch's formula: ``(sign(s) * relu(|s|) * prod(kernel)) ** (1/p)`` of ``s = avg_pool(x ** p)``;
    ``p = ±inf`` is (minus) max pooling of ``±|x|``."""
    if norm_type == math.inf:
        return _max_pool(op, nd, input.abs(), kernel_size, stride, 0, 1, ceil_mode, False)
    if norm_type == -math.inf:
        return -_max_pool(op, nd, -input.abs(), kernel_size, stride, 0, 1, ceil_mode, False)
    _check_input(op, nd, input)
    out = _avg_pool(op, nd, input.pow(norm_type), kernel_size, stride, 0, ceil_mode, True, None)
    kernel = as_tuple(kernel_size, nd, "kernel_size", op)
    return (sign(out) * relu(out.abs()) * math.prod(kernel)).pow(1.0 / norm_type)


def _adaptive_sizes(op: str, nd: int, input: Tensor, output_size) -> tuple:
    _check_input(op, nd, input)
    size = input._data.shape[-nd:]
    values = (output_size,) * nd if not isinstance(output_size, (tuple, list)) else tuple(output_size)
    if len(values) != nd:
        raise TypeError(f"{op}: output_size must be an int or {nd} ints (None keeps that size), got "
                        f"{output_size!r}")
    out = tuple(n if v is None else int_arg(v, op, "output_size") for n, v in zip(size, values))
    if min(out) < 0 or (min(out) == 0 and input._data.size):
        raise RuntimeError(f"{op}: output_size must be positive, got {out}")
    return tuple(size), out


def _adaptive_bounds(size: int, out: int) -> tuple:
    """Window i covers ``floor(i*size/out)`` up to ``ceil((i+1)*size/out)``, as in torch."""
    i = xp.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _adaptive_matrix(size: int, out: int, dtype) -> Tensor:
    """(out, size): row i averages window i."""
    start, end = _adaptive_bounds(size, out)
    j = xp.arange(size)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return _wrap((inside / (end - start)[:, None]).astype(dtype))


def _adaptive_avg_pool(op: str, nd: int, input: Tensor, output_size) -> Tensor:
    size, out_size = _adaptive_sizes(op, nd, input, output_size)
    out = input
    for axis, n, m in zip(range(-nd, 0), size, out_size):
        a = _adaptive_matrix(n, m, input._data.dtype)
        out = matmul(a, out) if axis == -2 else matmul(out.movedim(axis, -1), a.t()).movedim(-1, axis)
    return out


def _adaptive_positions(size: tuple, out_size: tuple):
    """(K, L): the flat input position of each element of each adaptive window; windows shorter than the
    longest repeat their last element (which changes neither their maximum nor its first position)."""
    axes = []
    for n, m in zip(size, out_size):
        start, end = _adaptive_bounds(n, m)
        width = int((end - start).max())
        axes.append(xp.minimum(start[:, None] + xp.arange(width), end[:, None] - 1))  # (m, width)
    strides = [math.prod(size[i + 1:]) for i in range(len(size))]
    flat = 0
    for i, (index, stride) in enumerate(zip(axes, strides)):
        shape = [1] * (2 * len(size))
        shape[2 * i], shape[2 * i + 1] = index.shape
        flat = flat + index.reshape(shape) * stride
    order = tuple(range(1, 2 * len(size), 2)) + tuple(range(0, 2 * len(size), 2))
    flat = flat.transpose(order)
    k = math.prod(flat.shape[:len(size)])
    return flat.reshape(k, -1)


def _adaptive_max_pool(op: str, nd: int, input: Tensor, output_size, return_indices: bool):
    size, out_size = _adaptive_sizes(op, nd, input, output_size)
    if all(n % m == 0 for n, m in zip(size, out_size)):
        # NOTE: even windows are plain max pooling (unfold, whose gradient is a fold, not a scatter-add)
        kernel = tuple(n // m for n, m in zip(size, out_size))
        return _max_pool(op, nd, input, kernel, kernel, 0, 1, False, return_indices)
    positions = _adaptive_positions(size, out_size)
    x = _batched(input, nd)
    n, c = x._data.shape[:2]
    flat = x.reshape(n, c, math.prod(size))
    cols = index_select(flat, 2, _wrap(positions.ravel())).reshape((n, c) + positions.shape)
    return _max_over_windows(cols, positions, input, nd, out_size, return_indices)


def _intervals(sample: Tensor, size: int, out: int, kernel: int) -> Tensor:
    """torch's pseudo-random window starts along one dim for each plane's ``sample`` in [0, 1) (N, C):
    ``floor((i + u) * alpha) - floor(u * alpha)`` with ``alpha = (size - kernel) / (out - 1)``, the last window
    ending at the edge. (N, C, out) int64."""
    last = full(tuple(sample._data.shape) + (1,), size - kernel, dtype=int64)
    if out == 1:
        return last
    alpha = (size - kernel) / (out - 1)
    i = arange(out - 1, dtype=sample.dtype)
    u = sample.unsqueeze(-1)
    return cat([((i + u) * alpha).floor().long() - (u * alpha).floor().long(), last], dim=-1)


def _fractional_max_pool(op: str, nd: int, input: Tensor, kernel_size, output_size, output_ratio,
                         return_indices: bool, _random_samples):
    _check_input(op, nd, input)
    kernel = as_tuple(kernel_size, nd, "kernel_size", op)
    size = tuple(input._data.shape[-nd:])
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        ratios = tuple(output_ratio) if isinstance(output_ratio, (tuple, list)) else (output_ratio,) * nd
        if len(ratios) != nd:
            raise ValueError(f"{op} requires output_ratio to either be a single number or a tuple of {nd}")
        out_size = tuple(int(n * r) for n, r in zip(size, ratios))
    else:
        out_size = as_tuple(output_size, nd, "output_size", op)
    for n, k, m in zip(size, kernel, out_size):
        if m < 1 or m + k - 1 > n:
            raise RuntimeError(f"{op}: kernel_size {kernel} is too large relative to input size {size} for "
                               f"output_size {out_size} (each output_size + kernel_size - 1 must be at most the "
                               "input size, and each output_size positive)")
    x = _batched(input, nd)
    n_batch, c = x._data.shape[:2]
    samples = rand(n_batch, c, nd, dtype=input.dtype) if _random_samples is None else _random_samples
    if tuple(samples._data.shape) != (n_batch, c, nd):
        raise RuntimeError(f"{op}: expected _random_samples of shape {(n_batch, c, nd)}, got "
                           f"{tuple(samples._data.shape)}")
    strides = [math.prod(size[d + 1:]) for d in range(nd)]
    # NOTE: which sample drives which dim is torch's: (W, H) in 2-D but (D, H, W) in 3-D.
    order = (1, 0) if nd == 2 else tuple(range(nd))
    start = 0
    for d in range(nd):
        seq = _intervals(samples[..., order[d]], size[d], out_size[d], kernel[d]) * strides[d]
        start = start + seq.reshape((n_batch, c) + tuple(out_size[e] if e == d else 1 for e in range(nd)))
    offsets = sum(xp.arange(k).reshape(tuple(k if e == d else 1 for e in range(nd))) * stride
                  for d, (k, stride) in enumerate(zip(kernel, strides)))
    k, length = math.prod(kernel), math.prod(out_size)
    positions = start.reshape(n_batch, c, 1, length) + _wrap(offsets.reshape(k, 1))  # (N, C, K, L)
    flat = x.reshape(n_batch, c, math.prod(size))
    cols = gather(flat, 2, positions.reshape(n_batch, c, k * length)).reshape(n_batch, c, k, length)
    return _max_over_windows(cols, positions, input, nd, out_size, return_indices)


def _max_unpool(op: str, nd: int, input: Tensor, indices: Tensor, kernel_size, stride, padding,
                output_size) -> Tensor:
    _check_input(op, nd, input)
    if not isinstance(indices, Tensor) or indices._data.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an integer Tensor, got "
                        f"{getattr(indices, 'dtype', type(indices).__name__)}")
    if tuple(indices._data.shape) != tuple(input._data.shape):
        raise RuntimeError(f"{op}: expected shape of indices to be the same as that of the input "
                           f"{tuple(input._data.shape)}, got {tuple(indices._data.shape)}")
    kernel = as_tuple(kernel_size, nd, "kernel_size", op)
    stride = kernel if stride is None else as_tuple(stride, nd, "stride", op)
    padding = as_tuple(padding, nd, "padding", op)
    default = [(m - 1) * s + k - 2 * p for m, s, k, p in zip(input._data.shape[-nd:], stride, kernel, padding)]
    if output_size is None:
        size = tuple(default)
    else:
        size = tuple(output_size)
        if len(size) == nd + 2:
            size = size[2:]
        if len(size) != nd:
            raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it "
                             f"has a length of '{len(size)}'")
        for d in range(nd):
            if not default[d] - stride[d] < size[d] < default[d] + stride[d]:
                raise ValueError(f'invalid output_size "{list(size)}" (dim {d} must be between '
                                 f"{default[d] - stride[d]} and {default[d] + stride[d]})")
    x = _batched(input, nd)
    n, c = x._data.shape[:2]
    flat = zeros((n, c, math.prod(size)), dtype=input.dtype)
    length = math.prod(input._data.shape[-nd:])
    out = scatter_add(flat, 2, _batched(indices, nd).reshape(n, c, length), x.reshape(n, c, length))
    return out.reshape(tuple(input._data.shape[:-nd]) + size)


# -- the public functions: one per dimensionality, each a line over the N-d implementation ------------------

def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """:func:`max_pool1d` returning ``(output, indices)`` whatever ``return_indices`` says."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """:func:`max_pool2d` returning ``(output, indices)`` whatever ``return_indices`` says."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """:func:`max_pool3d` returning ``(output, indices)`` whatever ``return_indices`` says."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def lp_pool1d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    return _adaptive_max_pool("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """:func:`adaptive_max_pool1d` returning ``(output, indices)`` whatever ``return_indices`` says."""
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """:func:`adaptive_max_pool2d` returning ``(output, indices)`` whatever ``return_indices`` says."""
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """:func:`adaptive_max_pool3d` returning ``(output, indices)`` whatever ``return_indices`` says."""
    return _adaptive_max_pool("adaptive_max_pool3d", 3, input, output_size, True)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    return _fractional_max_pool("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio,
                                return_indices, _random_samples)


def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    return _fractional_max_pool("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio,
                                return_indices, _random_samples)


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                                       return_indices: bool = False, _random_samples=None):
    """:func:`fractional_max_pool2d` returning ``(output, indices)`` whatever ``return_indices`` says."""
    return _fractional_max_pool("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio, True,
                                _random_samples)


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                                       return_indices: bool = False, _random_samples=None):
    """:func:`fractional_max_pool3d` returning ``(output, indices)`` whatever ``return_indices`` says."""
    return _fractional_max_pool("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio, True,
                                _random_samples)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


_DOCS = {
    "max_pool": """The maximum of each ``kernel_size`` window: (N, C, {dims}) -> (N, C, {out_dims}), as
    ``torch.nn.functional.max_pool{nd}d``.

    ``stride`` defaults to ``kernel_size``; padding counts as ``-inf`` (at most half the effective kernel);
    ``dilation`` spaces a window's elements; ``ceil_mode`` rounds the output size up (a last window must start
    inside the input or its left padding). The gradient flows to the first maximum of each window, as in
    torch. ``return_indices=True`` also returns each maximum's flat position in the ``{dims}`` plane (for
    :func:`max_unpool{nd}d`). Unbatched (C, {dims}) input works too.

    Example::

        >>> max_pool{nd}d(chainrule.randn(2, 3, {example}), 2).shape
        chainrule.Size([2, 3, {half}])
    """,
    "avg_pool": """The mean of each ``kernel_size`` window: (N, C, {dims}) -> (N, C, {out_dims}), as
    ``torch.nn.functional.avg_pool{nd}d``.

    ``stride`` defaults to ``kernel_size``. Padding is zeros; ``count_include_pad`` says whether they count in
    the divisor (a ``ceil_mode`` overhang past the padding never counts); ``divisor_override`` (2-D and 3-D)
    replaces the divisor.

    Example::

        >>> avg_pool{nd}d(chainrule.ones(2, 3, {example}), 2).shape
        chainrule.Size([2, 3, {half}])
    """,
    "lp_pool": """Power-average pooling, ``(sum of x**p over each window) ** (1/p)``, as
    ``torch.nn.functional.lp_pool{nd}d``: (N, C, {dims}) -> (N, C, {out_dims}).

    ``p = inf`` is max pooling of ``|x|``. No padding; ``stride`` defaults to ``kernel_size``. Negative window
    sums (odd ``p`` and negative inputs) give nan as in torch.

    Example::

        >>> lp_pool{nd}d(chainrule.ones(2, 3, {example}), 2, 2).shape
        chainrule.Size([2, 3, {half}])
    """,
    "adaptive_max_pool": """Max pooling to a fixed ``output_size`` (an int or {nd} ints; None keeps that size), as
    ``torch.nn.functional.adaptive_max_pool{nd}d``: (N, C, {dims}) -> (N, C, {out_dims}).

    Window i along a dim of size ``n`` covers ``floor(i*n/out)`` up to ``ceil((i+1)*n/out)``; the gradient goes
    to each window's first maximum; ``return_indices`` also returns its flat position.

    Example::

        >>> adaptive_max_pool{nd}d(chainrule.randn(2, 3, {example}), 1).shape
        chainrule.Size([2, 3, {one}])
    """,
    "adaptive_avg_pool": """Average pooling to a fixed ``output_size`` (an int or {nd} ints; None keeps that
    size), as ``torch.nn.functional.adaptive_avg_pool{nd}d``: (N, C, {dims}) -> (N, C, {out_dims}).

    Window i along a dim of size ``n`` covers ``floor(i*n/out)`` up to ``ceil((i+1)*n/out)``, as in torch;
    computed as one small averaging-matrix product per spatial dim.

    Example::

        >>> adaptive_avg_pool{nd}d(chainrule.ones(2, 3, {example}), 1).shape
        chainrule.Size([2, 3, {one}])
    """,
    "fractional_max_pool": """Fractional max pooling (Graham, 2014), as
    ``torch.nn.functional.fractional_max_pool{nd}d``: (N, C, {dims}) -> (N, C, {out_dims}) with ``output_size``
    (or ``output_ratio`` times the input size), each ``kernel_size`` window starting at pseudo-random steps
    drawn from ``_random_samples`` (N, C, {nd}) in [0, 1) (fresh uniform samples when None), as torch draws
    them, so that the steps average ``input / output``. The gradient goes to each window's first maximum;
    ``return_indices`` also returns its flat position.

    Example::

        >>> fractional_max_pool{nd}d(chainrule.randn(2, 3, {example}), 2, output_size=3).shape
        chainrule.Size([2, 3, {three}])
    """,
    "max_unpool": """The partial inverse of :func:`max_pool{nd}d`: each value of ``input`` goes to the flat
    position ``indices`` names in a zero (N, C, {out_dims}) output, as ``torch.nn.functional.max_unpool{nd}d``.

    The output size is ``(in - 1)*stride + kernel_size - 2*padding`` per dim unless ``output_size`` says
    otherwise (within ``stride`` of it).

    Example::

        >>> out, idx = max_pool{nd}d(chainrule.randn(2, 3, {example}), 2, return_indices=True)
        >>> max_unpool{nd}d(out, idx, 2).shape
        chainrule.Size([2, 3, {example}])
    """,
}

for _family, _template in _DOCS.items():
    for _nd in (2, 3) if _family == "fractional_max_pool" else (1, 2, 3):
        globals()[f"{_family}{_nd}d"].__doc__ = spatial_doc(_template, _nd, example=4, half=2, one=1, three=3)
