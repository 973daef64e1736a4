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

from .._backend import MetaArray, meta_array, xp
from ..tensor import Tensor, _wrap
from ._primitive import Param, Primitive, apply, batch_size, materialize
from .indexing import gather
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


def _same_size(size: tuple, kernel, dilation, padding, stride) -> bool:
    """Whether the windows sit at stride 1 and as many as the input's elements ('same' padding): then a window
    element is its window's position shifted by a constant in the flat plane (see :func:`_flat_shifts`)."""
    return all(s == 1 for s in stride) and window_counts(size, kernel, dilation, padding, stride) == tuple(size)


def _flat_shifts(size: tuple, kernel, dilation, padding):
    """For :func:`_same_size` windows, per kernel offset (row-major) ``(shift, start, stop, outside)``: the element
    at this offset of window ``l`` is the input's flat position ``l + shift`` for ``start <= l < stop``, except in
    the ``outside`` slabs of windows (index tuples over (N, C, *size)), which reach into the padding.

    NOTE: a shift of the flat plane moves whole contiguous runs, where the strided windows move rows of a few
    elements each (NumPy's per-row overhead made col2im of 14x14 images three times slower)."""
    total = math.prod(size)
    plane = tuple(math.prod(size[d + 1:]) for d in range(len(size)))
    for offset in itertools.product(*(range(k) for k in kernel)):
        moves = tuple(i * d - lo for i, d, (lo, _) in zip(offset, dilation, padding, strict=True))
        shift = sum(m * p for m, p in zip(moves, plane))
        start = max(0, -shift)
        outside = tuple((slice(None),) * (2 + d) + (slice(0, -m) if m < 0 else slice(max(0, n - m), n),)
                        for d, (m, n) in enumerate(zip(moves, size)) if m)
        yield shift, start, max(start, min(total, total - shift)), outside


def _fill(part, outside: tuple, value, shape: tuple):
    """``part`` (N, C, prod(size)), a view or a copy, with its ``outside`` slabs (see :func:`_flat_shifts`) set
    to ``value`` in place, seen as the (N, C, *size) ``shape``; returns ``part``."""
    image = part.reshape(shape)
    for slab in outside:
        image[slab] = value
    return part


def im2col_array(x, kernel, dilation, padding, stride, value=0):
    """The columns (N, C*prod(kernel), prod(counts)) of the raw array ``x`` (N, C, *S); see :func:`unfold`."""
    n, c, size = x.shape[0], x.shape[1], tuple(x.shape[2:])
    if _same_size(size, kernel, dilation, padding, stride):
        total = math.prod(size)
        flat = x.reshape(n, c, total)
        cols = xp.empty((n, c, math.prod(kernel), total), dtype=x.dtype)
        for k, (shift, start, stop, outside) in enumerate(_flat_shifts(size, kernel, dilation, padding)):
            cols[:, :, k, start:stop] = flat[:, :, start + shift:stop + shift]
            _fill(cols[:, :, k], outside, value, (n, c) + size)
        return cols.reshape(n, c * math.prod(kernel), total)
    win = _windows(x, kernel, dilation, padding, stride, value)
    n, c = win.shape[:2]
    return win.reshape(n, c * math.prod(kernel), math.prod(win.shape[2 + len(kernel):]))


def _batch_into_n(op, inputs: tuple, batched: tuple, params: dict):
    """The batching rule of the window ops: vmap's batch and the op's own leading batch N merge into one (a
    shared input is broadcast to the batch first)."""
    size = batch_size(inputs, batched)
    n = inputs[batched.index(True)]._data.shape[1]
    merged = tuple(materialize(t, b, size).reshape(size * n, *t._data.shape[1 + b:])
                   for t, b in zip(inputs, batched, strict=True))
    out = apply(op, merged, **params)
    outs = tuple(o.reshape(size, n, *o._data.shape[1:]) for o in (out if isinstance(out, tuple) else (out,)))
    return outs if isinstance(out, tuple) else outs[0]


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
        n, c = cols.shape[0], cols.shape[1] // math.prod(kernel)
        if _same_size(size, kernel, dilation, padding, stride):
            total = math.prod(size)
            out = xp.zeros((n, c, total), dtype=cols.dtype)
            cols = cols.reshape(n, c, math.prod(kernel), total)
            for k, (shift, start, stop, outside) in enumerate(_flat_shifts(size, kernel, dilation, padding)):
                # NOTE: the columns' entries that fall in the padding are zeroed in a copy, never in the input
                part = _fill(cols[:, :, k].copy(), outside, 0, (n, c) + tuple(size)) if outside else cols[:, :, k]
                out[:, :, start + shift:stop + shift] += part[:, :, start:stop]
            return out.reshape((n, c) + tuple(size))
        counts = window_counts(size, kernel, dilation, padding, stride)
        # NOTE: a negative ``after`` padding leaves zeros past the windows' reach, so the buffer covers both.
        extent = tuple(max(lo + m + hi, lo + m) for m, (lo, hi) in zip(size, padding, strict=True))
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


# -- max pooling: each window's maximum and where it is --------------------------------------------------------

def _origins(size: tuple, dilation: tuple, padding: tuple, stride: tuple, counts: tuple) -> tuple:
    """Per spatial dim, the input coordinate of each window's first element (negative in the padding) and of the
    step between a window's elements, and the dim's stride in a flat input plane."""
    plane = tuple(math.prod(size[d + 1:]) for d in range(len(size)))
    return tuple((xp.arange(m) * s - lo, d, p)
                 for m, s, (lo, _), d, p in zip(counts, stride, padding, dilation, plane, strict=True))


def _broadcast_dim(values, d: int, nd: int):
    """The 1-d ``values`` of spatial dim ``d`` shaped to broadcast against (*counts)."""
    return values.reshape(tuple(-1 if e == d else 1 for e in range(nd)))


class MaxPool(Primitive):
    """NOTE: a primitive for speed (issue 11). Built from ops (argmax over im2col columns, a one-hot mask, a masked
    sum), max pooling took a third of a small convnet's training step; here a few passes over strided views of
    the windows (no copy) give the maxima and their positions, and the backward is one scatter."""

    name = "max_pool"
    params = _GEOMETRY
    doc = ("The maximum of each window of the (N, C, *S) input ``x`` (the padding holds -inf) and its flat "
           "position in the S plane (int64; the first maximum of a window, the last NaN when it holds any, as "
           "torch).")
    gate = "max pool: each window's gradient goes to the position of its maximum (max_pool_backward)"
    n_outputs = 2
    save_output = True
    batch_rule = classmethod(_batch_into_n)

    @staticmethod
    def forward(ctx, x, kernel, dilation, padding, stride):
        ctx.materialize_grads = False  # NOTE: the indices never receive a gradient; no zeros made for them
        ctx.size = x.shape[2:]
        if x.__class__ is MetaArray:  # NOTE: the meta device: the outputs' shapes and dtypes, no values
            shape = x.shape[:2] + window_counts(x.shape[2:], kernel, dilation, padding, stride)
            return meta_array(shape, x.dtype), meta_array(shape, xp.int64)
        win = _windows(x, kernel, dilation, padding, stride, -xp.inf)
        nd, every = len(kernel), (slice(None), slice(None))
        offsets = list(itertools.product(*(range(k) for k in kernel)))
        out = xp.array(win[every + offsets[0]])
        for offset in offsets[1:]:
            xp.maximum(out, win[every + offset], out=out)  # NOTE: propagates NaN, as torch
        axes = _origins(x.shape[2:], dilation, padding, stride, out.shape[2:])
        padded = any(lo or hi > 0 for lo, hi in padding)
        # NOTE: the first maximum is the number of window elements before it that miss; padding always misses
        # (an input of -inf must win over the padding's -inf).
        first = xp.zeros(out.shape, dtype=xp.uint8 if len(offsets) <= 256 else xp.int32)
        missed = None
        for offset in offsets[:-1]:
            miss = win[every + offset] != out
            if padded:
                for d, ((origin, step, _), i) in enumerate(zip(axes, offset)):
                    at = origin + i * step
                    miss |= _broadcast_dim((at < 0) | (at >= x.shape[2 + d]), d, nd)
            missed = miss if missed is None else xp.logical_and(missed, miss, out=missed)
            first += missed
        if xp.isnan(out).any():
            for j, offset in enumerate(offsets):  # NOTE: a later NaN wins, as in torch's loop
                value = win[every + offset]
                first[value != value] = j
        step = xp.array([sum(i * d * p for i, (_, d, p) in zip(offset, axes)) for offset in offsets], dtype=xp.int64)
        start = sum(_broadcast_dim(origin * p, d, nd) for d, (origin, _, p) in enumerate(axes))
        # NOTE: indexing, and adding in place: several times faster than step.take(first) + start
        indices = step[first]
        indices += start
        return out, indices

    @staticmethod
    def vjp(ctx, g, g_indices):
        return apply(MaxPoolBackward, (g, _wrap(ctx.out[1])), size=ctx.size, accumulate=_overlapping(ctx.params))

    @staticmethod
    def jvp(ctx, x_t):
        return take_positions(x_t, ctx.outputs[1]), None


def _overlapping(params: dict) -> bool:
    """Whether two windows can share an input element (then a scatter into the input must add)."""
    return any(s < d * (k - 1) + 1 for k, d, s in zip(params["kernel"], params["dilation"], params["stride"]))


def take_positions(x: Tensor, indices: Tensor) -> Tensor:
    """The entries of ``x`` (N, C, *S) at the flat S-plane positions ``indices`` (N, C, *counts)."""
    n, c = indices._data.shape[:2]
    return gather(x.reshape(n, c, -1), 2, indices.reshape(n, c, -1)).reshape(indices._data.shape)


class MaxPoolBackward(Primitive):
    """The VJP of :class:`MaxPool`: a scatter-add of the gradient to the maxima. Linear in ``g``: its JVP is itself
    on the tangent, its VJP reads the gradient back at the same positions (:func:`take_positions`)."""

    name = "max_pool_backward"
    inputs = ("g", "indices")
    params = (Param("size", tuple, "the input's spatial size S"),
              Param("accumulate", bool, "windows overlap: a position may repeat and its gradients add"))
    doc = ("The gradient ``g`` (N, C, *counts) of a max pool routed to its (N, C, *S) input: each entry added at "
           "the flat S-plane position ``indices`` names.")
    gate = "max pool backward: each position's gradient is read back at the window maximum (a gather)"
    save_inputs = True
    batch_rule = classmethod(_batch_into_n)

    @staticmethod
    def forward(ctx, g, indices, size, accumulate):
        n, c = g.shape[:2]
        plane = math.prod(size)
        flat = (indices.reshape(n * c, -1) + xp.arange(0, n * c * plane, plane)[:, None]).ravel()
        if accumulate:
            out = xp.bincount(flat, weights=g.ravel(), minlength=n * c * plane).astype(g.dtype)
        else:
            out = xp.zeros(n * c * plane, dtype=g.dtype)
            out[flat] = g.ravel()
        return out.reshape((n, c) + tuple(size))

    @staticmethod
    def vjp(ctx, g):
        return take_positions(g, ctx.inputs[1]), None

    @staticmethod
    def jvp(ctx, g_t, indices_t):
        return apply(MaxPoolBackward, (g_t, ctx.inputs[1]), **ctx.params)


def max_pool(x: Tensor, kernel: tuple, dilation: tuple, padding: tuple, stride: tuple) -> tuple:
    """``(out, indices)``: the maximum of each window of the (N, C, *S) tensor ``x`` and its flat S-plane
    position (int64); padding per side ``((before, after), ...)`` holds -inf. The caller checks the geometry."""
    return apply(MaxPool, (x,), kernel=kernel, dilation=dilation, padding=padding, stride=stride)


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
