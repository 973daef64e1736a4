"""Sliding-window ops for convolution and pooling in any number of spatial dims: ``unfold`` (im2col) and
``fold`` (col2im).

``unfold`` copies every ``k1 x ... x kd`` window of an (N, C, S1, ..., Sd) input into a column, so a
convolution becomes one matrix product and a pooling one reduction over the window axis. ``fold`` sums columns
back into an image (where windows overlap, their values add up), so a transposed convolution is a matrix
product and one fold. Both are linear and each is the other's adjoint: the VJP of one is the other, and the JVP
of each is itself applied to the tangent, so everything built on them is differentiable to any order. Batch and
pixels are vectorised; only the few kernel offsets are looped over (in ``fold``).

Internally padding is per side, ``((before, after), ...)`` per spatial dim, so 'same' convolutions with even
kernels, ``ceil_mode`` pooling and ``output_padding`` need no separate padding op. An ``after`` padding may be
negative: the windows then stop short of the end, and ``fold`` leaves zeros there (a transposed convolution's
``output_padding`` beyond its padding). ``im2col`` also takes the padding value (``-inf`` for max pooling).
"""

from __future__ import annotations

import itertools
import math

from .._backend import xp
from ..tensor import Tensor
from ._primitive import Param, Primitive, apply
from .shape import int_tuple

__all__: list = []

_GEOMETRY = (Param("kernel", tuple, "the window size per spatial dim"),
             Param("dilation", tuple, "the spacing of a window's elements per spatial dim"),
             Param("padding", tuple, "((before, after), ...) per spatial dim"),
             Param("stride", tuple, "the step between windows per spatial dim"))


def window_counts(size: tuple, kernel: tuple, dilation: tuple, padding: tuple, stride: tuple) -> tuple:
    """How many window positions fit along each spatial dimension of an input of spatial ``size``."""
    return tuple((n + lo + hi - d * (k - 1) - 1) // s + 1
                 for n, k, d, (lo, hi), s in zip(size, kernel, dilation, padding, stride, strict=True))


def _windows(x, kernel, dilation, padding, stride, value):
    """A strided (N, C, *kernel, *counts) view of every window of the padded (N, C, *S) array ``x``."""
    counts = window_counts(x.shape[2:], kernel, dilation, padding, stride)
    if any(lo or hi > 0 for lo, hi in padding):
        x = xp.pad(x, ((0, 0), (0, 0)) + tuple((lo, max(hi, 0)) for lo, hi in padding), constant_values=value)
    spatial = x.strides[2:]
    return xp.lib.stride_tricks.as_strided(
        x, x.shape[:2] + tuple(kernel) + counts,
        x.strides[:2] + tuple(s * d for s, d in zip(spatial, dilation)) + tuple(s * t for s, t in zip(spatial, stride)),
        writeable=False)


def im2col_array(x, kernel, dilation, padding, stride, value=0):
    """The columns (N, C*prod(kernel), prod(counts)) of the raw array ``x`` (N, C, *S); see :func:`unfold`."""
    win = _windows(x, kernel, dilation, padding, stride, value)
    n, c = win.shape[:2]
    return win.reshape(n, c * math.prod(kernel), math.prod(win.shape[2 + len(kernel):]))


def _batch_into_n(op, inputs: tuple, batched: tuple, params: dict):
    """The batching rule of unfold and fold: vmap's batch and the op's own leading batch N merge into one."""
    (x,) = inputs
    size, n = x._data.shape[:2]
    out = apply(op, (x.reshape(size * n, *x._data.shape[2:]),), **params)
    return out.reshape(size, n, *out._data.shape[1:])


class Unfold(Primitive):
    """im2col: (N, C, *S) -> (N, C*prod(kernel), L); padding holds ``value`` (affine in x; linear for 0)."""

    name = "im2col"
    params = _GEOMETRY + (Param("value", (int, float), "what the padding holds"),)
    doc = "The windows of the (N, C, *S) input ``x`` as columns (N, C*prod(kernel), L)."
    gate = "unfold: each column's gradient is summed back into the pixels of its window (fold)"
    batch_rule = classmethod(_batch_into_n)

    @staticmethod
    def forward(ctx, x, kernel, dilation, padding, stride, value):
        ctx.size = x.shape[2:]
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
    """col2im: (N, C*prod(kernel), L) -> (N, C, *size), summing overlaps; the adjoint of :class:`Unfold`."""

    name = "col2im"
    may_warn = True
    inputs = ("cols",)
    params = (Param("size", tuple, "the output's spatial size"),) + _GEOMETRY
    doc = "The columns ``cols`` (N, C*prod(kernel), L) summed back into an (N, C, *size) image."
    gate = "fold: each column's gradient is read back out of its window (unfold)"
    batch_rule = classmethod(_batch_into_n)

    @staticmethod
    def forward(ctx, cols, size, kernel, dilation, padding, stride):
        counts = window_counts(size, kernel, dilation, padding, stride)
        # NOTE: a negative ``after`` padding leaves zeros past the windows' reach, so the buffer covers both.
        extent = tuple(max(lo + n + hi, lo + n) for n, (lo, hi) in zip(size, padding, strict=True))
        n, c = cols.shape[0], cols.shape[1] // math.prod(kernel)
        cols = cols.reshape((n, c) + tuple(kernel) + counts)
        out = xp.zeros((n, c) + extent, dtype=cols.dtype)
        for offset in itertools.product(*(range(k) for k in kernel)):
            index = tuple(slice(i * d, i * d + s * (m - 1) + 1, s)
                          for i, d, s, m in zip(offset, dilation, stride, counts))
            out[(slice(None), slice(None)) + index] += cols[(slice(None), slice(None)) + offset]
        crop = tuple(slice(lo, lo + m) for m, (lo, _) in zip(size, padding))
        return xp.ascontiguousarray(out[(slice(None), slice(None)) + crop])

    @staticmethod
    def vjp(ctx, g):
        return apply(Unfold, (g,), **_geometry(ctx.params), value=0)

    @staticmethod
    def jvp(ctx, x_t):
        return apply(Fold, (x_t,), **ctx.params)


# -- public functions (exported as chainrule.nn.functional.unfold / fold) -----------------------------------

def as_tuple(value, n: int, name: str, op: str) -> tuple:
    """An int or ``n`` ints (torch's ``_single``/``_pair``/``_triple``) as a tuple of ``n`` ints, or a
    TypeError naming ``op``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return int_tuple(value, op, name) * n
    values = tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(values) != n or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        kind = {1: "an int or a 1-tuple", 2: "an int or a pair of ints"}.get(n, f"an int or {n} ints")
        raise TypeError(f"{op}: {name} must be {kind}, got {value!r}")
    return int_tuple(values, op, name)


def _check_geometry(op: str, kernel, dilation, padding, stride) -> None:
    for name, values, least in (("kernel_size", kernel, 1), ("dilation", dilation, 1), ("stride", stride, 1),
                                ("padding", padding, 0)):
        if min(values) < least:
            raise RuntimeError(f"{op}: {name} must be {'positive' if least else 'non-negative'}, got {values}")


def im2col(x: Tensor, kernel: tuple, dilation: tuple, padding: tuple, stride: tuple, value=0,
           op: str = "unfold") -> Tensor:
    """The windows of an (N, C, *S) tensor as columns (N, C*prod(kernel), prod(counts)), padding per side
    ``((before, after), ...)``; a RuntimeError naming ``op`` when no window fits."""
    size = tuple(x._data.shape[2:])
    counts = window_counts(size, kernel, dilation, padding, stride)
    if min(counts) < 1:
        raise RuntimeError(f"{op}: input with spatial size {size} is too small for kernel_size={kernel}, "
                           f"dilation={dilation}, padding={padding}, stride={stride}: the output would be "
                           f"{counts}; every output size must be at least one")
    return apply(Unfold, (x,), kernel=kernel, dilation=dilation, padding=padding, stride=stride, value=value)


def col2im(cols: Tensor, size: tuple, kernel: tuple, dilation: tuple, padding: tuple, stride: tuple) -> Tensor:
    """Columns (N, C*prod(kernel), L) summed back into an (N, C, *size) tensor; the adjoint of :func:`im2col`."""
    return apply(Fold, (cols,), size=size, kernel=kernel, dilation=dilation, padding=padding, stride=stride)


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
    kernel, dilation = as_tuple(kernel_size, 2, "kernel_size", "unfold"), as_tuple(dilation, 2, "dilation", "unfold")
    padding, stride = as_tuple(padding, 2, "padding", "unfold"), as_tuple(stride, 2, "stride", "unfold")
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
    size = as_tuple(output_size, 2, "output_size", "fold")
    kernel, dilation = as_tuple(kernel_size, 2, "kernel_size", "fold"), as_tuple(dilation, 2, "dilation", "fold")
    padding, stride = as_tuple(padding, 2, "padding", "fold"), as_tuple(stride, 2, "stride", "fold")
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
