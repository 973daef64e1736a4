"""Convolutions in 1, 2 and 3 spatial dims on one code path: ``conv{1,2,3}d`` as unfold (im2col) and one
matrix product, ``conv_transpose{1,2,3}d`` as its adjoint, one matrix product and a fold (col2im). Groups are a
reshape, so no Python loop runs over pixels, the batch or the groups."""

from __future__ import annotations

import math

from ...ops.conv import as_tuple, col2im, im2col, window_counts
from ...ops.linalg import matmul
from ...tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]


def conv_padding(padding, kernel: tuple, dilation: tuple, stride: tuple, op: str = "conv2d") -> tuple:
    """Per-side padding ``((before, after), ...)`` from an int, a tuple, ``'valid'`` or ``'same'``.

    NOTE: 'same' with an even effective kernel pads one more after than before, as torch does.
    """
    nd = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding != "same":
            raise RuntimeError(f"{op}: invalid padding string {padding!r}, should be one of ('valid', "
                               "'same') or an int or a tuple of ints")
        if any(s != 1 for s in stride):
            raise RuntimeError(f"{op}: padding='same' is not supported for strided convolutions "
                               f"(stride={stride})")
        totals = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)
    pads = as_tuple(padding, nd, "padding", op)
    if min(pads) < 0:
        raise RuntimeError(f"{op}: negative padding is not supported, got {pads}")
    return tuple((p, p) for p in pads)


def _check_conv_args(op: str, nd: int, input: Tensor, weight: Tensor, bias: Tensor | None, groups: int,
                     transposed: bool) -> None:
    """torch's checks: ranks, groups, channels against the weight, bias shape and one floating dtype."""
    for name, t in (("input", input), ("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if input._data.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, but got input "
                           f"of shape {tuple(input._data.shape)}")
    layout = "in_channels, out_channels/groups" if transposed else "out_channels, in_channels/groups"
    if weight._data.ndim != nd + 2:
        raise RuntimeError(f"{op}: expected a {nd + 2}-D weight ({layout}, *kernel_size), got shape "
                           f"{tuple(weight._data.shape)}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise RuntimeError(f"{op}: groups must be a positive integer, got {groups!r}")
    c_in = input._data.shape[-nd - 1]
    if transposed:
        expected, c_out = weight._data.shape[0], weight._data.shape[1] * groups
    else:
        expected, c_out = weight._data.shape[1] * groups, weight._data.shape[0]
    if weight._data.shape[0] % groups:
        raise RuntimeError(f"{op}: given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of shape {tuple(weight._data.shape)}")
    if c_in != expected:
        raise RuntimeError(f"{op}: given groups={groups}, weight of shape {tuple(weight._data.shape)}, "
                           f"expected input of shape {tuple(input._data.shape)} to have {expected} channels, "
                           f"but got {c_in} channels instead")
    if bias is not None and tuple(bias._data.shape) != (c_out,):
        raise RuntimeError(f"{op}: expected bias of shape ({c_out},), got {tuple(bias._data.shape)}")
    dtypes = {t._data.dtype for t in (input, weight, bias) if t is not None}
    if len(dtypes) > 1 or input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: input, weight and bias must share one floating dtype, got input "
                           f"{input.dtype}, weight {weight.dtype}" + (f", bias {bias.dtype}" if bias is not None
                                                                     else ""))


def _positive(op: str, **values) -> None:
    for name, value in values.items():
        if min(value) < 1:
            raise RuntimeError(f"{op}: {name} must be positive, got {value}")


def _add_bias(out: Tensor, bias: Tensor | None, nd: int) -> Tensor:
    return out if bias is None else out + bias.reshape((-1,) + (1,) * nd)


def _conv(op: str, nd: int, input: Tensor, weight: Tensor, bias, stride, padding, dilation, groups) -> Tensor:
    """``nd``-D cross-correlation: im2col, then one (grouped) matrix product."""
    _check_conv_args(op, nd, input, weight, bias, groups, transposed=False)
    kernel = tuple(weight._data.shape[2:])
    stride, dilation = as_tuple(stride, nd, "stride", op), as_tuple(dilation, nd, "dilation", op)
    _positive(op, stride=stride, dilation=dilation)
    pads = conv_padding(padding, kernel, dilation, stride, op)
    x = input if input._data.ndim == nd + 2 else input.unsqueeze(0)
    cols = im2col(x, kernel, dilation, pads, stride, op=op)  # (N, C_in*prod(kernel), L)
    n, c_out, length = x._data.shape[0], weight._data.shape[0], cols._data.shape[2]
    if groups == 1:
        out = matmul(weight.reshape(c_out, -1), cols)
    else:
        w = weight.reshape(groups, c_out // groups, -1)
        out = matmul(w, cols.reshape(n, groups, w._data.shape[2], length)).reshape(n, c_out, length)
    out = _add_bias(out.reshape((n, c_out) + window_counts(x._data.shape[2:], kernel, dilation, pads, stride)),
                    bias, nd)
    return out if input._data.ndim == nd + 2 else out.squeeze(0)


def _conv_transpose(op: str, nd: int, input: Tensor, weight: Tensor, bias, stride, padding, output_padding,
                    groups, dilation) -> Tensor:
    """``nd``-D transposed convolution, the adjoint of :func:`_conv` in its input: one (grouped) matrix
    product spreads each input pixel over a kernel-sized block, and fold sums the overlapping blocks."""
    _check_conv_args(op, nd, input, weight, bias, groups, transposed=True)
    kernel = tuple(weight._data.shape[2:])
    stride, dilation = as_tuple(stride, nd, "stride", op), as_tuple(dilation, nd, "dilation", op)
    padding, output_padding = as_tuple(padding, nd, "padding", op), as_tuple(output_padding, nd,
                                                                             "output_padding", op)
    _positive(op, stride=stride, dilation=dilation)
    if min(padding) < 0 or min(output_padding) < 0:
        raise RuntimeError(f"{op}: negative padding is not supported, got padding={padding}, "
                           f"output_padding={output_padding}")
    if any(o >= max(s, d) for o, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"{op}: output padding must be smaller than either stride or dilation, but got "
                           f"output_padding={output_padding}, stride={stride}, dilation={dilation}")
    x = input if input._data.ndim == nd + 2 else input.unsqueeze(0)
    size_in = tuple(x._data.shape[2:])
    size = tuple((m - 1) * s - 2 * p + d * (k - 1) + o + 1
                 for m, s, p, d, k, o in zip(size_in, stride, padding, dilation, kernel, output_padding))
    if min(size) < 1:
        raise RuntimeError(f"{op}: given input size per channel {size_in}, the calculated output size per "
                           f"channel {size} is too small (kernel_size={kernel}, stride={stride}, "
                           f"padding={padding}, dilation={dilation}, output_padding={output_padding})")
    n, c_in = x._data.shape[:2]
    length = math.prod(size_in)
    blocks = weight.reshape(groups, c_in // groups, -1).transpose(1, 2)  # (groups, C_out/g * prod(kernel), C_in/g)
    cols = matmul(blocks, x.reshape(n, groups, c_in // groups, length)).reshape(n, groups * blocks._data.shape[1],
                                                                              length)
    # NOTE: output_padding extends the output after the last window: a smaller (possibly negative) after-padding.
    pads = tuple((p, p - o) for p, o in zip(padding, output_padding))
    out = col2im(cols, size, kernel, dilation, pads, stride)
    out = _add_bias(out, bias, nd)
    return out if input._data.ndim == nd + 2 else out.squeeze(0)


_CONV_DOC = """{nd}-D cross-correlation of ``input`` (N, C_in, {dims}) with ``weight`` (C_out, C_in/groups,
    {kdims}), as ``torch.nn.functional.conv{nd}d``.

    Returns (N, C_out, {out_dims}) where along each spatial dim
    ``out = (in + pad_before + pad_after - dilation*(k-1) - 1) // stride + 1``. ``padding`` is an int, a tuple,
    ``'valid'`` (none) or ``'same'`` (output size = input size, stride 1 only; an even effective kernel pads
    one more after than before, as torch). ``groups`` splits the channels into independent convolutions.
    Unbatched (C_in, {dims}) input works too. Computed as unfold (im2col) and one matrix product.

    Example::

        >>> x = chainrule.randn(2, 3, {example})
        >>> conv{nd}d(x, chainrule.randn(4, 3, {kexample}), padding="same").shape
        chainrule.Size([2, 4, {example}])
    """

_CONV_TRANSPOSE_DOC = """{nd}-D transposed convolution ("deconvolution") of ``input`` (N, C_in, {dims}) with
    ``weight`` (C_in, C_out/groups, {kdims}), as ``torch.nn.functional.conv_transpose{nd}d``: the gradient of
    ``conv{nd}d`` with respect to its input.

    Returns (N, C_out, {out_dims}) where along each spatial dim
    ``out = (in - 1)*stride - 2*padding + dilation*(k-1) + output_padding + 1``; ``output_padding`` (smaller
    than stride or dilation) picks among the input sizes a strided convolution maps to the same size.
    Computed as one matrix product and a fold (col2im).

    Example::

        >>> x = chainrule.randn(2, 3, {example})
        >>> conv_transpose{nd}d(x, chainrule.randn(3, 4, {kexample}), stride=2).shape
        chainrule.Size([2, 4, {transposed}])
    """


def spatial_doc(template: str, nd: int, **fields) -> str:
    """``template`` for ``nd`` spatial dims: ``{nd}``, ``{dims}`` (``D, H, W``), ``{kdims}`` (``kD, kH, kW``),
    ``{out_dims}`` (``D_out, ...``) and each of ``fields`` (a value per spatial dim, joined by commas)."""
    letters = ("L",) if nd == 1 else ("H", "W") if nd == 2 else ("D", "H", "W")
    joined = {key: ", ".join([str(value)] * nd) for key, value in fields.items()}
    return template.format(nd=nd, dims=", ".join(letters), kdims=", ".join(f"k{c}" for c in letters),
                           out_dims=", ".join(f"{c}_out" for c in letters), **joined)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


for _nd, _fn in enumerate((conv1d, conv2d, conv3d), start=1):
    _fn.__doc__ = spatial_doc(_CONV_DOC, _nd, example=5, kexample=3)
for _nd, _fn in enumerate((conv_transpose1d, conv_transpose2d, conv_transpose3d), start=1):
    _fn.__doc__ = spatial_doc(_CONV_TRANSPOSE_DOC, _nd, example=5, kexample=3, transposed=11)
