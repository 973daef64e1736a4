"""``conv2d`` as im2col + one matrix product (groups by reshaping), and the padding it needs."""

from __future__ import annotations

from ...ops.conv import as_pair, im2col, window_counts
from ...ops.linalg import matmul
from ...tensor import Tensor

__all__ = ["conv2d"]


def conv_padding(padding, kernel: tuple, dilation: tuple, stride: tuple, op: str = "conv2d") -> tuple:
    """Per-side padding ``((top, bottom), (left, right))`` from an int, a pair, ``'valid'`` or ``'same'``.

    NOTE: 'same' with an even effective kernel pads one more on the bottom/right, as torch does.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding != "same":
            raise RuntimeError(f"{op}: invalid padding string {padding!r}, should be one of ('valid', "
                               "'same') or an int or a pair of ints")
        if stride != (1, 1):
            raise RuntimeError(f"{op}: padding='same' is not supported for strided convolutions "
                               f"(stride={stride})")
        totals = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)
    ph, pw = as_pair(padding, "padding", op)
    if ph < 0 or pw < 0:
        raise RuntimeError(f"{op}: negative padding is not supported, got {(ph, pw)}")
    return ((ph, ph), (pw, pw))


def _check_conv_args(input: Tensor, weight: Tensor, bias: Tensor | None, groups: int) -> None:
    for name, t in (("input", input), ("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"conv2d(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if input._data.ndim not in (3, 4):
        raise RuntimeError(f"conv2d: expected 3D (unbatched) or 4D (batched) input, but got input of shape "
                           f"{tuple(input._data.shape)}")
    if weight._data.ndim != 4:
        raise RuntimeError("conv2d: expected a 4-D weight (out_channels, in_channels/groups, kH, kW), got "
                           f"shape {tuple(weight._data.shape)}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise RuntimeError(f"conv2d: groups must be a positive integer, got {groups!r}")
    c_out, c_per_group = weight._data.shape[:2]
    c_in = input._data.shape[-3]
    if c_out % groups:
        raise RuntimeError(f"conv2d: given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of shape {tuple(weight._data.shape)}")
    if c_in != c_per_group * groups:
        raise RuntimeError(f"conv2d: given groups={groups}, weight of shape {tuple(weight._data.shape)}, "
                           f"expected input of shape {tuple(input._data.shape)} to have "
                           f"{c_per_group * groups} channels, but got {c_in} channels instead")
    if bias is not None and tuple(bias._data.shape) != (c_out,):
        raise RuntimeError(f"conv2d: expected bias of shape ({c_out},), got {tuple(bias._data.shape)}")
    dtypes = {t._data.dtype for t in (input, weight, bias) if t is not None}
    if len(dtypes) > 1 or input._data.dtype.kind != "f":
        raise RuntimeError("conv2d: input, weight and bias must share one floating dtype, got input "
                           f"{input.dtype}, weight "
                           f"{weight.dtype}" + (f", bias {bias.dtype}" if bias is not None else ""))


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D cross-correlation of ``input`` (N, C_in, H, W) with ``weight`` (C_out, C_in/groups, kH, kW).

    Returns (N, C_out, H_out, W_out) with
    ``H_out = (H + pad_top + pad_bottom - dilation*(kH-1) - 1) // stride + 1``. ``padding`` is an int, a
    pair, ``'valid'`` (none) or ``'same'`` (output size = input size; stride 1 only). ``groups`` splits the
    channels into independent convolutions. Unbatched (C_in, H, W) input works too. Computed as unfold
    (im2col) and a matrix product, so no Python loop runs over pixels or the batch.

    Example::

        >>> x = chainrule.randn(8, 3, 28, 28)
        >>> conv2d(x, chainrule.randn(16, 3, 3, 3), padding="same").shape
        chainrule.Size([8, 16, 28, 28])
    """
    _check_conv_args(input, weight, bias, groups)
    kernel = tuple(weight._data.shape[2:])
    stride, dilation = as_pair(stride, "stride", "conv2d"), as_pair(dilation, "dilation", "conv2d")
    if min(stride) < 1 or min(dilation) < 1:
        raise RuntimeError(f"conv2d: stride and dilation must be positive, got stride={stride}, "
                           f"dilation={dilation}")
    pads = conv_padding(padding, kernel, dilation, stride)
    x = input if input._data.ndim == 4 else input.unsqueeze(0)
    cols = im2col(x, kernel, dilation, pads, stride, op="conv2d")  # (N, C_in*kH*kW, L)
    n, c_out, length = x._data.shape[0], weight._data.shape[0], cols._data.shape[2]
    if groups == 1:
        out = matmul(weight.reshape(c_out, -1), cols)
    else:
        w = weight.reshape(groups, c_out // groups, -1)
        out = matmul(w, cols.reshape(n, groups, -1, length)).reshape(n, c_out, length)
    out = out.reshape((n, c_out) + window_counts(x._data.shape[2:], kernel, dilation, pads, stride))
    if bias is not None:
        out = out + bias.reshape(c_out, 1, 1)
    return out if input._data.ndim == 4 else out.squeeze(0)
