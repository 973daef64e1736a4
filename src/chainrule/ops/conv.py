"""Sliding-window ops for convolution and pooling: ``unfold`` (im2col) and ``fold`` (col2im).

``unfold`` copies every ``kh x kw`` window of an image into a column, so a convolution becomes one matrix
product and a pooling one reduction over the window axis. ``fold`` sums columns back into an image (where
windows overlap, their values add up). Both are linear and each is the other's adjoint: the VJP of one is
the other, and the JVP of each is itself applied to the tangent, so everything built on them is
differentiable to any order. Batch and pixels are vectorised; only the few kernel offsets are looped over.

Internally padding is per side, ``((top, bottom), (left, right))``, so 'same' convolutions with even kernels
and ``ceil_mode`` pooling need no separate padding op; ``im2col`` also takes the padding value (``-inf`` for
max pooling).
"""

from __future__ import annotations

from .._backend import xp
from ..tensor import Tensor
from ._primitive import Param, Primitive, apply

__all__: list = []

_GEOMETRY = (Param("kernel", tuple, "(kh, kw)"), Param("dilation", tuple, "(dh, dw)"),
             Param("padding", tuple, "((top, bottom), (left, right))"), Param("stride", tuple, "(sh, sw)"))


_NO_PADDING = ((0, 0), (0, 0))


def window_counts(size: tuple, kernel: tuple, dilation: tuple, padding: tuple, stride: tuple) -> tuple:
    """``(OH, OW)``: how many window positions fit along each spatial dimension of an image of ``size``."""
    return tuple((size[i] + sum(padding[i]) - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
                 for i in (0, 1))


def _windows(x, kernel, dilation, padding, stride, value):
    """A strided (N, C, kh, kw, OH, OW) view of every window of the padded (N, C, H, W) array ``x``."""
    (kh, kw), (dh, dw), (sh, sw) = kernel, dilation, stride
    if any(padding[0]) or any(padding[1]):
        x = xp.pad(x, ((0, 0), (0, 0)) + tuple(padding), constant_values=value)
    n, c = x.shape[:2]
    oh, ow = window_counts(x.shape[2:], kernel, dilation, _NO_PADDING, stride)
    sn, sc, s_h, s_w = x.strides
    return xp.lib.stride_tricks.as_strided(
        x, (n, c, kh, kw, oh, ow), (sn, sc, s_h * dh, s_w * dw, s_h * sh, s_w * sw), writeable=False)


def im2col_array(x, kernel, dilation, padding, stride, value=0):
    """The columns (N, C*kh*kw, OH*OW) of the raw array ``x`` (N, C, H, W); see :func:`unfold`."""
    win = _windows(x, kernel, dilation, padding, stride, value)
    n, c, kh, kw, oh, ow = win.shape
    return win.reshape(n, c * kh * kw, oh * ow)


def _batch_into_n(op, inputs: tuple, batched: tuple, params: dict):
    """The batching rule of unfold and fold: vmap's batch and the op's own leading batch N merge into one."""
    (x,) = inputs
    size, n = x._data.shape[:2]
    out = apply(op, (x.reshape(size * n, *x._data.shape[2:]),), **params)
    return out.reshape(size, n, *out._data.shape[1:])


class Unfold(Primitive):
    """im2col: (N, C, H, W) -> (N, C*kh*kw, L); padding holds ``value`` (affine in x; linear for 0)."""

    name = "im2col"
    params = _GEOMETRY + (Param("value", (int, float), "what the padding holds"),)
    doc = "The windows of the (N, C, H, W) image ``x`` as columns (N, C*kh*kw, L)."
    gate = "unfold: each column's gradient is summed back into the pixels of its window (fold)"
    batch_rule = classmethod(_batch_into_n)

    @staticmethod
    def forward(ctx, x, kernel, dilation, padding, stride, value):
        ctx.size = x.shape[-2:]
        return im2col_array(x, kernel, dilation, padding, stride, value)

    @staticmethod
    def vjp(ctx, g):
        return apply(Fold, (g,), size=ctx.size, **_geometry(ctx.params))

    @staticmethod
    def jvp(ctx, x_t):
        return apply(Unfold, (x_t,), **{**ctx.params, "value": 0})


def _geometry(params: dict) -> dict:
    return {p.name: params[p.name] for p in _GEOMETRY}


class Fold(Primitive):
    """col2im: (N, C*kh*kw, L) -> (N, C, H, W), summing overlaps; the adjoint of :class:`Unfold`."""

    name = "col2im"
    may_warn = True
    inputs = ("cols",)
    params = (Param("size", tuple, "the image's (H, W)"),) + _GEOMETRY
    doc = "The columns ``cols`` (N, C*kh*kw, L) summed back into an (N, C, H, W) image."
    gate = "fold: each column's gradient is read back out of its window (unfold)"
    batch_rule = classmethod(_batch_into_n)

    @staticmethod
    def forward(ctx, cols, size, kernel, dilation, padding, stride):
        (kh, kw), (dh, dw), (sh, sw) = kernel, dilation, stride
        (top, bottom), (left, right) = padding
        h, w = size[0] + top + bottom, size[1] + left + right
        oh, ow = window_counts((h, w), kernel, dilation, _NO_PADDING, stride)
        n, c = cols.shape[0], cols.shape[1] // (kh * kw)
        cols = cols.reshape(n, c, kh, kw, oh, ow)
        out = xp.zeros((n, c, h, w), dtype=cols.dtype)
        for i in range(kh):
            for j in range(kw):
                rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
                out[:, :, rows, j * dw:j * dw + sw * (ow - 1) + 1:sw] += cols[:, :, i, j]
        return xp.ascontiguousarray(out[:, :, top:top + size[0], left:left + size[1]])

    @staticmethod
    def vjp(ctx, g):
        return apply(Unfold, (g,), **_geometry(ctx.params), value=0)

    @staticmethod
    def jvp(ctx, x_t):
        return apply(Fold, (x_t,), **ctx.params)


# -- public functions (exported as chainrule.nn.functional.unfold / fold) -----------------------------------

def as_pair(value, name: str, op: str) -> tuple:
    """An int or a pair of ints (torch's ``_pair``) as a pair of ints, or a TypeError naming ``op``."""
    if isinstance(value, int):
        value = (value, value)
    pair = tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return pair


def _check_geometry(op: str, kernel, dilation, padding, stride) -> None:
    for name, pair, least in (("kernel_size", kernel, 1), ("dilation", dilation, 1), ("stride", stride, 1),
                              ("padding", padding, 0)):
        if min(pair) < least:
            raise RuntimeError(f"{op}: {name} must be {'positive' if least else 'non-negative'}, got {pair}")


def im2col(x: Tensor, kernel: tuple, dilation: tuple, padding: tuple, stride: tuple, value=0,
           op: str = "unfold") -> Tensor:
    """The windows of a 4-D tensor as columns (N, C*kh*kw, OH*OW), padding per side ``((t, b), (l, r))``."""
    size = tuple(x._data.shape[-2:])
    oh, ow = window_counts(size, kernel, dilation, padding, stride)
    if oh < 1 or ow < 1:
        raise RuntimeError(f"{op}: input with spatial size {size} is too small for kernel_size={kernel}, "
                           f"dilation={dilation}, padding={padding}, stride={stride}: the output would be "
                           f"{(oh, ow)}; every output size must be at least one")
    return apply(Unfold, (x,), kernel=kernel, dilation=dilation, padding=padding, stride=stride, value=value)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding local blocks (im2col), as ``torch.nn.functional.unfold``.

    ``input`` (N, C, H, W) or unbatched (C, H, W) -> (N, C*kh*kw, L) or (C*kh*kw, L), where L is the number
    of window positions. Column ``l`` holds the window at output position ``l`` (row-major), channel-major
    inside, so ``conv2d(x, w) == (w.view(C_out, -1) @ unfold(x, k)).view(N, C_out, OH, OW)``. :func:`fold`
    is its adjoint.

    Example::

        >>> x = chainrule.arange(16.).reshape(1, 1, 4, 4)
        >>> unfold(x, 2, stride=2).shape
        chainrule.Size([1, 4, 4])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"unfold: argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.ndim not in (3, 4):
        raise RuntimeError(f"unfold: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                           f"{tuple(input._data.shape)}")
    kernel, dilation = as_pair(kernel_size, "kernel_size", "unfold"), as_pair(dilation, "dilation", "unfold")
    padding, stride = as_pair(padding, "padding", "unfold"), as_pair(stride, "stride", "unfold")
    _check_geometry("unfold", kernel, dilation, padding, stride)
    x = input if input._data.ndim == 4 else input.unsqueeze(0)
    out = im2col(x, kernel, dilation, ((padding[0],) * 2, (padding[1],) * 2), stride)
    return out if input._data.ndim == 4 else out.squeeze(0)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Combine sliding local blocks into an image (col2im), summing overlaps, as ``torch.nn.functional.fold``.

    ``input`` (N, C*kh*kw, L) or unbatched (C*kh*kw, L) -> (N, C, H, W) or (C, H, W) with ``(H, W) =
    output_size``. The adjoint of :func:`unfold`: ``fold(unfold(x))`` multiplies each pixel by the number of
    windows covering it.

    Example::

        >>> fold(chainrule.ones(1, 4, 4), (4, 4), 2, stride=2).shape
        chainrule.Size([1, 1, 4, 4])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"fold: argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.ndim not in (2, 3):
        raise RuntimeError(f"fold: expected a 2-D (C*kh*kw, L) or 3-D (N, C*kh*kw, L) input, got shape "
                           f"{tuple(input._data.shape)}")
    size = as_pair(output_size, "output_size", "fold")
    kernel, dilation = as_pair(kernel_size, "kernel_size", "fold"), as_pair(dilation, "dilation", "fold")
    padding, stride = as_pair(padding, "padding", "fold"), as_pair(stride, "stride", "fold")
    _check_geometry("fold", kernel, dilation, padding, stride)
    cols = input if input._data.ndim == 3 else input.unsqueeze(0)
    k = kernel[0] * kernel[1]
    if cols._data.shape[1] % k:
        raise RuntimeError(f"fold: expected size of input's dimension 1 to be divisible by the product of "
                           f"kernel_size {kernel}, but got input.size(1)={cols._data.shape[1]}")
    pads = ((padding[0],) * 2, (padding[1],) * 2)
    blocks = window_counts(size, kernel, dilation, pads, stride)
    if cols._data.shape[2] != blocks[0] * blocks[1] or min(blocks) < 1:
        raise RuntimeError(f"fold: given output_size={size}, kernel_size={kernel}, dilation={dilation}, "
                           f"padding={padding}, stride={stride}, expected size of input's last dimension to "
                           f"match the number of sliding blocks {blocks[0]} * {blocks[1]} = "
                           f"{blocks[0] * blocks[1]}, but got {cols._data.shape[2]}")
    out = apply(Fold, (cols,), size=size, kernel=kernel, dilation=dilation, padding=pads, stride=stride)
    return out if input._data.ndim == 3 else out.squeeze(0)
