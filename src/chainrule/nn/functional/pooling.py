"""Pooling: ``max_pool2d`` and ``avg_pool2d`` (unfold, then a reduction over each window) and
``adaptive_avg_pool2d`` (two averaging matrices), all vectorised over batch, channels and pixels."""

from __future__ import annotations

from ..._backend import xp
from ...ops.arith import where
from ...ops.conv import as_tuple, im2col, im2col_array, window_counts
from ...ops.indexing import gather
from ...ops.linalg import matmul
from ...ops.reduce import argmax
from ...ops.shape import broadcast_to
from ...tensor import Tensor, _wrap

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


def _pool_geometry(op: str, input: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool) -> tuple:
    """Validated ``(kernel, stride, dilation, per-side padding)``; ``ceil_mode`` adds bottom/right padding."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.ndim not in (3, 4):
        raise RuntimeError(f"{op}: expected 3D (C, H, W) or 4D (N, C, H, W) input, got shape "
                           f"{tuple(input._data.shape)}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point input, got {input.dtype}")
    kernel = as_tuple(kernel_size, 2, "kernel_size", op)
    stride = kernel if stride is None or stride == () or stride == [] else as_tuple(stride, 2, "stride", op)
    padding, dilation = as_tuple(padding, 2, "padding", op), as_tuple(dilation, 2, "dilation", op)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise RuntimeError(f"{op}: kernel_size, stride and dilation must be positive and padding "
                           f"non-negative, got kernel_size={kernel}, stride={stride}, dilation={dilation}, "
                           f"padding={padding}")
    for p, k, d in zip(padding, kernel, dilation, strict=True):
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k} and dilation={d}")
    size = input._data.shape[-2:]
    pads = []
    for i in (0, 1):
        extent = dilation[i] * (kernel[i] - 1) + 1
        count = (size[i] + 2 * padding[i] - extent + (stride[i] - 1 if ceil_mode else 0)) // stride[i] + 1
        if ceil_mode and (count - 1) * stride[i] >= size[i] + padding[i]:
            count -= 1  # NOTE: the last window must start inside the input or the left padding, as in torch
        extra = max(0, (count - 1) * stride[i] + extent - size[i] - 2 * padding[i])
        pads.append((padding[i], padding[i] + extra))
    counts = window_counts(size, kernel, dilation, pads, stride)
    if min(counts) < 1:
        raise RuntimeError(f"{op}: given input of shape {tuple(input._data.shape)}, the calculated output "
                           f"size {counts} is too small (kernel_size={kernel}, stride={stride}, "
                           f"padding={padding}, dilation={dilation})")
    return kernel, stride, dilation, tuple(pads), counts


def _windows(op, input, kernel, stride, dilation, pads, value) -> Tensor:
    """(N, C, kH*kW, L): every pooling window of every channel."""
    x = input if input._data.ndim == 4 else input.unsqueeze(0)
    n, c = x._data.shape[:2]
    cols = im2col(x, kernel, dilation, pads, stride, value, op=op)
    return cols.reshape(n, c, kernel[0] * kernel[1], -1)


def _image(out: Tensor, input: Tensor, counts: tuple) -> Tensor:
    shape = tuple(input._data.shape[:-2]) + tuple(counts)
    return out.reshape(shape)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """The maximum of each ``kernel_size`` window: (N, C, H, W) -> (N, C, H_out, W_out).

    ``stride`` defaults to ``kernel_size``; padding counts as ``-inf``. The gradient flows to the first
    maximum of each window, as in torch. ``return_indices=True`` also returns the flat ``H*W`` position of
    each maximum. Unbatched (C, H, W) input works too.

    Example::

        >>> max_pool2d(chainrule.arange(16.).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    kernel, stride, dilation, pads, counts = _pool_geometry("max_pool2d", input, kernel_size, stride, padding,
                                                            dilation, ceil_mode)
    cols = _windows("max_pool2d", input, kernel, stride, dilation, pads, -xp.inf)
    k = cols._data.shape[2]
    # NOTE: a one-hot mask of each window's argmax routes the gradient to a single element, like torch's
    # max_pool2d (amax would split it between ties, which are common after a ReLU). Built from ops (argmax,
    # eq), so vmap batches it and a recorded program recomputes it for new inputs.
    arg = argmax(cols, 2, keepdim=True)
    mask = arg == _wrap(xp.arange(k)[:, None])
    out = _image(where(mask, cols, 0.0).sum(2), input, counts)
    if not return_indices:
        return out
    h, w = input._data.shape[-2:]
    positions = im2col_array(xp.arange(h * w).reshape(1, 1, h, w), kernel, dilation, pads, stride, -1)
    positions = broadcast_to(_wrap(positions.reshape(1, 1, k, -1)), cols._data.shape)
    return out, _image(gather(positions, 2, arg), input, counts)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The mean of each ``kernel_size`` window: (N, C, H, W) -> (N, C, H_out, W_out).

    ``stride`` defaults to ``kernel_size``. Padding is zeros; ``count_include_pad`` says whether those
    zeros count in the divisor (windows overhanging the padding in ``ceil_mode`` never count the overhang).
    ``divisor_override`` replaces the divisor.
    """
    kernel, stride, dilation, pads, counts = _pool_geometry("avg_pool2d", input, kernel_size, stride, padding,
                                                            1, ceil_mode)
    sums = _windows("avg_pool2d", input, kernel, stride, dilation, pads, 0).sum(2)
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("avg_pool2d: divisor must be not zero")
        return _image(sums / divisor_override, input, counts)
    h, w = input._data.shape[-2:]
    if count_include_pad:
        (top, bottom), (left, right) = pads
        ones = xp.ones((1, 1, h + 2 * top, w + 2 * left))
        inside = ((0, bottom - top), (0, right - left))
    else:
        ones, inside = xp.ones((1, 1, h, w)), pads
    divisor = im2col_array(ones, kernel, dilation, inside, stride, 0).sum(1)
    return _image(sums / _wrap(divisor.astype(input._data.dtype)), input, counts)


def _adaptive_matrix(size: int, out: int, dtype) -> Tensor:
    """(out, size): row i averages input positions ``floor(i*size/out)`` to ``ceil((i+1)*size/out)``."""
    i = xp.arange(out)
    start, end = (i * size) // out, -((-(i + 1) * size) // out)
    j = xp.arange(size)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return _wrap((inside / (end - start)[:, None]).astype(dtype))


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed ``output_size`` (an int, a pair; None keeps that input size).

    Window i along a dimension of size ``H`` covers ``floor(i*H/H_out)`` up to ``ceil((i+1)*H/H_out)``, as
    in torch. Computed as ``A_h @ x @ A_w.T`` with two small averaging matrices.

    Example::

        >>> adaptive_avg_pool2d(chainrule.ones(2, 3, 7, 5), 1).shape
        chainrule.Size([2, 3, 1, 1])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"adaptive_avg_pool2d(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.ndim not in (3, 4) or 0 in input._data.shape[-2:]:
        raise RuntimeError("adaptive_avg_pool2d: expected 3D or 4D input with non-zero spatial sizes, got "
                           f"shape {tuple(input._data.shape)}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"adaptive_avg_pool2d: expected a floating point input, got {input.dtype}")
    size = input._data.shape[-2:]
    pair = (output_size, output_size) if not isinstance(output_size, (tuple, list)) else tuple(output_size)
    if len(pair) != 2:
        raise TypeError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}")
    out = tuple(size[i] if pair[i] is None else pair[i] for i in (0, 1))
    if min(out) < 1:
        raise RuntimeError(f"adaptive_avg_pool2d: output_size must be positive, got {out}")
    a_h, a_w = (_adaptive_matrix(size[i], out[i], input._data.dtype) for i in (0, 1))
    return matmul(matmul(a_h, input), a_w.t())
