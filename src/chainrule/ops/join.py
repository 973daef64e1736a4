"""Joining, splitting and repeating along dimensions: cat, stack, split, chunk, unbind, roll, repeat, tile,
and the reflect/replicate/circular modes of ``pad``.

``Cat`` joins and ``shape.Slice`` cuts; each is the other's VJP, and everything else here is a composite of
them. Multi-output ops (split, chunk, unbind) return tuples of single-output slices, so each piece has its own
node and an unused piece costs nothing in backward.
"""

from __future__ import annotations

import itertools
import math
import warnings

from .. import _dtype
from .._backend import xp
from ..tensor import Tensor, _normalize_dim, _wrap
from ._primitive import Param, Primitive, apply, batch_size, exports, materialize, method, public
from .arith import mul, sub
from .cast import cast_to
from .indexing import index_select, scatter_add
from .linalg import matmul
from .reduce import norm
from .shape import (
    ConstantPad,
    Slice,
    _dim_of,
    broadcast_to,
    flatten,
    flip,
    int_tuple,
    narrow,
    permute,
    reshape,
    unsqueeze,
)


class Cat(Primitive):
    """Join same-dtype arrays along ``dim``; :func:`cat` checks and promotes its arguments."""

    name = "cat"
    inputs = ("xs",)
    params = (Param("dim", int, "the dimension to join along"),)
    doc = "The arrays joined along ``dim``."
    expression = "{cr}cat([{xs}], {dim})"
    gate = "cat: each input gets back its slice of the upstream gradient"

    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.sizes = [a.shape[dim] for a in arrays]
        return xp.concatenate(arrays, axis=dim)

    @staticmethod
    def vjp(ctx, g):
        lead, start, grads = (slice(None),) * ctx.params["dim"], 0, []
        for size in ctx.sizes:
            grads.append(apply(Slice, (g,), index=lead + (slice(start, start + size),)))
            start += size
        return tuple(grads)

    @staticmethod
    def jvp(ctx, *tangents):
        return apply(Cat, tangents, **ctx.params)

    @staticmethod
    def batch_rule(inputs, batched, params):
        size = batch_size(inputs, batched)
        return apply(Cat, tuple(materialize(t, b, size) for t, b in zip(inputs, batched)), dim=params["dim"] + 1)


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)):
        raise TypeError(f"{op}: argument 'tensors' must be a tuple or list of Tensors, not "
                        f"{type(tensors).__name__}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensor as element {i} of 'tensors', but got {type(t).__name__}")
    return list(tensors)


@public(Cat, aliases=("concat",))
def cat(tensors, dim: int = 0) -> Tensor:
    """Concatenate tensors along an existing dimension ``dim``, promoting their dtypes as torch does.

    Shapes: every tensor must match except in ``dim``, where the sizes add up; 1-D empty tensors of shape
    ``(0,)`` are skipped (torch's legacy rule). Example::

        >>> chainrule.cat([chainrule.zeros(2, 3), chainrule.ones(1, 3)]).shape
        chainrule.Size([3, 3])
    """
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("cat: expected a non-empty list of Tensors")
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"cat: argument 'dim' must be int, not {type(dim).__name__}")
    np_dtype = _dtype.result_type(*tensors).np
    kept = [t for t in tensors if t._data.shape != (0,)] or tensors[:1]
    first = kept[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated; "
                               "unsqueeze it first or use stack")
    d = _normalize_dim(dim, len(first), "cat")
    for i, t in enumerate(kept[1:], 1):
        shape = t._data.shape
        if len(shape) != len(first) or shape[:d] + shape[d + 1:] != first[:d] + first[d + 1:]:
            raise RuntimeError(f"cat: sizes of tensors must match except in dimension {d}, but got shapes "
                               f"{tuple(first)} (entry 0) and {tuple(shape)} (entry {i})")
    return apply(Cat, tuple(cast_to(t, np_dtype) for t in kept), dim=d)


concat = cat


@public()
def concatenate(tensors, axis: int = 0) -> Tensor:
    """NumPy-style alias of :func:`cat` (``axis`` for ``dim``)."""
    return cat(tensors, axis)


@public()
def stack(tensors, dim: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new dimension ``dim``: k of ``(a, b)``, dim 0 -> ``(k, a, b)``."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack: expects a non-empty list of Tensors")
    first = tensors[0]._data.shape
    for i, t in enumerate(tensors[1:], 1):
        if t._data.shape != first:
            raise RuntimeError(f"stack: expects each tensor to be equal size, but got {tuple(first)} at "
                               f"entry 0 and {tuple(t._data.shape)} at entry {i}")
    d = _normalize_dim(dim, len(first) + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


def _split_sizes(sizes: tuple, input: Tensor, d: int) -> tuple:
    """Cut dimension ``d`` of ``input`` into consecutive pieces of ``sizes``."""
    pieces, start = [], 0
    for size in sizes:
        pieces.append(narrow(input, d, start, size))
        start += size
    return tuple(pieces)


@public(methods=("split",))
def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Cut ``tensor`` along ``dim`` into pieces of ``split_size`` (the last may be smaller) or listed sizes.

    Returns a tuple of views (narrow slices). Example::

        >>> [p.tolist() for p in chainrule.split(chainrule.arange(5), 2)]
        [[0, 1], [2, 3], [4]]
    """
    d = _dim_of(tensor, dim, "split")
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, (tuple, list)):
        return _with_sizes(tensor, split_size_or_sections, d, "split")
    (size,) = int_tuple(split_size_or_sections, "split", "split_size")
    if size < 0 or (size == 0 and n):
        raise RuntimeError(f"split: split_size must be positive (0 only for an empty dimension), got {size} "
                           f"for dimension {d} of size {n}")
    if n == 0:
        return (narrow(tensor, d, 0, 0),)
    return _split_sizes((size,) * (n // size) + ((n % size,) if n % size else ()), tensor, d)


@public(methods=("split_with_sizes",))
def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """Cut ``input`` along ``dim`` into consecutive pieces of ``split_sizes`` (which must sum to its size)."""
    return _with_sizes(input, split_sizes, _dim_of(input, dim, "split_with_sizes"), "split_with_sizes")


def _with_sizes(input: Tensor, split_sizes, d: int, op: str) -> tuple:
    n = input._data.shape[d]
    sizes = int_tuple(split_sizes, op, "split_sizes")
    if any(s < 0 for s in sizes) or sum(sizes) != n:
        raise RuntimeError(f"{op}: split_sizes must be non-negative and sum exactly to {n} (the size of dimension "
                           f"{d} of shape {tuple(input._data.shape)}), but got {list(sizes)}")
    return _split_sizes(sizes, input, d)


@public(methods=("chunk",))
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` pieces of ``ceil(n / chunks)`` along ``dim`` (fewer if they run out)."""
    (chunks,) = int_tuple(chunks, "chunk", "chunks")
    if chunks <= 0:
        raise RuntimeError(f"chunk: expects `chunks` to be greater than 0, got {chunks}")
    d = _dim_of(input, dim, "chunk")
    n = input._data.shape[d]
    if n == 0:
        return _split_sizes((0,) * chunks, input, d)
    return split(input, -(-n // chunks), d)


@public(methods=("unbind",))
def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, that dim removed. Shapes: ``(a, n, b)``, dim 1 -> n tensors ``(a, b)``."""
    d = _dim_of(input, dim, "unbind")
    lead = (slice(None),) * d
    return tuple(apply(Slice, (input,), index=lead + (i,)) for i in range(input._data.shape[d]))


@public(methods=("roll",))
def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements along ``dims`` by ``shifts``, wrapping around; without ``dims`` the flat tensor rolls.

    Example::

        >>> chainrule.roll(chainrule.arange(5), 2)
        tensor([3, 4, 0, 1, 2])
    """
    shifts = int_tuple(shifts, "roll", "shifts")
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts {list(shifts)} and dims must align: without dims, give one "
                               "shift")
        return reshape(roll(flatten(input), shifts, 0), input._data.shape)
    dims = int_tuple(dims, "roll", "dims")
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align, got {len(shifts)} shifts and "
                           f"{len(dims)} dims")
    out = input
    for shift, dim in zip(shifts, dims, strict=True):
        d = _dim_of(input, dim, "roll")
        n = input._data.shape[d]
        s = shift % n if n else 0
        if s:
            out = apply(Cat, (narrow(out, d, n - s, s), narrow(out, d, 0, n - s)), dim=d)
    return out


@method("repeat")
def repeat(self: Tensor, *sizes) -> Tensor:
    """Tile the tensor ``sizes[i]`` times along dimension ``i`` (``sizes`` may add leading dimensions).

    Shapes: ``(s0, ..., sk)`` -> ``(r0 * s0, ..., rk * sk)`` once ``self`` is viewed with ``len(sizes)`` dims.
    Built as a broadcast then a reshape, so the gradient sums the copies.
    """
    sizes = int_tuple(sizes[0] if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes,
                      "repeat", "sizes")
    shape = self._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(f"repeat: number of dimensions of repeat dims ({len(sizes)}) can not be smaller "
                           f"than number of dimensions of tensor ({len(shape)}, shape {tuple(shape)})")
    if any(r < 0 for r in sizes):
        raise RuntimeError(f"repeat: repeats must be non-negative, got {list(sizes)}")
    shape = (1,) * (len(sizes) - len(shape)) + shape
    spread = broadcast_to(reshape(self, tuple(v for s in shape for v in (1, s))),
                          tuple(v for r, s in zip(sizes, shape, strict=True) for v in (r, s)))
    return reshape(spread, tuple(r * s for r, s in zip(sizes, shape, strict=True)))


@public()
def tile(input: Tensor, dims) -> Tensor:
    """Repeat ``input`` ``dims[i]`` times along each dimension; missing leading entries count as 1.

    Example::

        >>> chainrule.tile(chainrule.tensor([1, 2]), (2,))
        tensor([1, 2, 1, 2])
    """
    dims = int_tuple(dims, "tile", "dims")
    return repeat(input, (1,) * (input._data.ndim - len(dims)) + dims)


def pad_borders(input: Tensor, pairs: list, mode: str) -> Tensor:
    """``shape.pad``'s non-constant modes: grow each dimension ``d`` by ``pairs[d] = (before, after)``."""
    shape = input._data.shape
    for d, (lo, hi) in enumerate(pairs):
        n = shape[d]
        if mode == "reflect" and (lo >= n or hi >= n) and (lo or hi):
            raise RuntimeError(f"pad: padding ({lo}, {hi}) should be less than the size {n} of dimension {d} "
                               f"of shape {tuple(shape)} in mode 'reflect'")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError(f"pad: padding ({lo}, {hi}) at dimension {d} of shape {tuple(shape)} wraps "
                               "around more than once in mode 'circular'")
        if mode == "replicate" and n == 0 and (lo or hi):
            raise RuntimeError(f"pad: cannot replicate the edge of dimension {d} of size 0 (shape "
                               f"{tuple(shape)})")
        if lo or hi:
            pieces = [_border(input, d, lo, mode, True), input, _border(input, d, hi, mode, False)]
            input = apply(Cat, tuple(p for p in pieces if p is not None), dim=d)
    return input


def _border(x: Tensor, d: int, width: int, mode: str, before: bool):
    """The ``width`` entries that ``mode`` puts ``before`` (or after) dimension ``d`` of ``x``."""
    if not width:
        return None
    n = x._data.shape[d]
    if mode == "reflect":
        return flip(narrow(x, d, 1 if before else n - 1 - width, width), d)
    if mode == "circular":
        return narrow(x, d, n - width if before else 0, width)
    edge = narrow(x, d, 0 if before else n - 1, 1)
    return broadcast_to(edge, edge._data.shape[:d] + (width,) + edge._data.shape[d + 1:])


method("tile")(lambda self, *dims: tile(self, dims[0] if len(dims) == 1 else dims))


# -- padding -----------------------------------------------------------------------------------------

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad ``input``: ``pad = (left_last, right_last, left_second_last, ...)`` pairs, last dimension first.

    ``mode``: ``'constant'`` (fill with ``value``, default 0; negative pads crop), ``'reflect'`` (mirror
    without repeating the edge), ``'replicate'`` (repeat the edge), ``'circular'`` (wrap around). As in torch,
    the non-constant modes pad the last ``k`` dims of a ``(k+1)``- or ``(k+2)``-D input, ``k`` in 1..3.
    Shapes: dimension ``-1 - i`` grows by ``pad[2i] + pad[2i + 1]``.

    Example::

        >>> pad(chainrule.tensor([[1., 2.]]), (1, 2), value=9.)
        tensor([[9., 1., 2., 9., 9.]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pad(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    pad = int_tuple(pad, "pad", "pad")
    shape = input._data.shape
    if len(pad) % 2:
        raise RuntimeError(f"pad: padding length must be divisible by 2, got {len(pad)} ({list(pad)})")
    k = len(pad) // 2
    if k > len(shape):
        raise RuntimeError(f"pad: padding length should be at most twice the input dimension, but got "
                           f"padding length {len(pad)} for input of shape {tuple(shape)}")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}; valid modes: "
                                  f"{', '.join(_PAD_MODES)}")
    if mode != "constant":
        if value is not None:
            raise RuntimeError(f"pad: padding mode {mode!r} doesn't take a value argument (only 'constant' "
                               "does)")
        if not 1 <= k <= 3 or len(shape) not in (k + 1, k + 2):
            raise NotImplementedError(f"pad: padding size {len(pad)} is not supported for {len(shape)}D "
                                      f"input tensor in mode {mode!r} (pad the last k dims of a (k+1)- or "
                                      "(k+2)-D input)")
    pairs = [(0, 0)] * (len(shape) - k) + [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(k))]
    # NOTE: negative pads crop first, then every mode pads the cropped tensor (torch's order).
    crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(pairs, shape, strict=True))
    if any(s.start > s.stop for s in crop):
        raise RuntimeError(f"pad: negative padding {list(pad)} removes more than the size of shape "
                           f"{tuple(shape)}")
    if mode == "reflect":
        # NOTE: except 'reflect', which mirrors about the input's own edges and then crops (torch's kernel).
        grown = pad_borders(input, [(max(lo, 0), max(hi, 0)) for lo, hi in pairs], mode)
        inner = tuple(slice(max(-lo, 0), m - max(-hi, 0)) for (lo, hi), m in zip(pairs, grown._data.shape))
        return apply(Slice, (grown,), index=inner) if any(lo < 0 or hi < 0 for lo, hi in pairs) else grown
    if any(s.start or s.stop != n for s, n in zip(crop, shape, strict=True)):
        input = apply(Slice, (input,), index=crop)
        shape = input._data.shape
    pairs = [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
    if mode == "constant":
        if not any(lo or hi for lo, hi in pairs):
            return input
        index = tuple(slice(lo, lo + n) for (lo, _), n in zip(pairs, shape, strict=True))
        out_shape = tuple(lo + n + hi for (lo, hi), n in zip(pairs, shape, strict=True))
        return apply(ConstantPad, (input,), index=index, shape=out_shape, value=0 if value is None else value)
    return pad_borders(input, pairs, mode)


# -- NumPy-style stacking and splitting ----------------------------------------------------------------

def _atleast(tensors: tuple, n: int, op: str):
    """``atleast_nd``: one tensor in, one out; several (or one list) in, a tuple out."""
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    items = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)) else tensors
    out = []
    for t in _tensor_list(list(items), op):
        shape = t._data.shape
        if len(shape) < n:
            # NOTE: NumPy's (and torch's) placement: a vector becomes a row, and for 3-D a (1, k, 1) slab.
            lifted = {0: (1,) * n, 1: (1,) + shape + (1,) * (n - 2), 2: shape + (1,)}[len(shape)]
            t = reshape(t, lifted)
        out.append(t)
    return out[0] if single else tuple(out)


@public()
def atleast_1d(*tensors):
    """Each tensor with at least 1 dimension (a 0-d one becomes shape ``(1,)``); tensors of more pass as they
    are. One tensor gives a tensor, several (or a list) a tuple."""
    return _atleast(tensors, 1, "atleast_1d")


@public()
def atleast_2d(*tensors):
    """Each tensor with at least 2 dimensions: ``()`` -> ``(1, 1)``, ``(n,)`` -> ``(1, n)``."""
    return _atleast(tensors, 2, "atleast_2d")


@public()
def atleast_3d(*tensors):
    """Each tensor with at least 3 dimensions: ``()`` -> ``(1, 1, 1)``, ``(n,)`` -> ``(1, n, 1)``,
    ``(m, n)`` -> ``(m, n, 1)``."""
    return _atleast(tensors, 3, "atleast_3d")


def _stack_list(tensors, op: str) -> list:
    tensors = _tensor_list(tensors, op)
    if not tensors:
        raise RuntimeError(f"{op} expects a non-empty TensorList")
    return tensors


@public()
def hstack(tensors) -> Tensor:
    """Join column-wise: vectors end to end, higher tensors along dimension 1 (0-d ones count as vectors)."""
    tensors = atleast_1d(_stack_list(tensors, "hstack"))
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


@public(aliases=("row_stack",))
def vstack(tensors) -> Tensor:
    """Join row-wise along dimension 0, after lifting vectors to rows ``(1, n)``."""
    return cat(atleast_2d(_stack_list(tensors, "vstack")), 0)


row_stack = vstack


@public()
def dstack(tensors) -> Tensor:
    """Join depth-wise along dimension 2, after lifting each tensor to 3 dimensions (see :func:`atleast_3d`)."""
    return cat(atleast_3d(_stack_list(tensors, "dstack")), 2)


@public()
def column_stack(tensors) -> Tensor:
    """Vectors (and 0-d tensors) as columns ``(n, 1)``, joined with the 2-D ones along dimension 1."""
    tensors = _stack_list(tensors, "column_stack")
    return cat([reshape(t, (t._data.size, 1)) if t._data.ndim <= 1 else t for t in tensors], 1)


def _sections(indices_or_sections, op: str):
    """``indices_or_sections`` as an int (a number of sections) or a tuple of indices; a tensor must be integer,
    0-d (sections) or 1-d (indices)."""
    value = indices_or_sections
    if isinstance(value, Tensor):
        if value._data.dtype.kind not in "iu":
            raise RuntimeError(f"{op} expected tensor_indices_or_sections to have dtype of long, but got "
                               f"{value.dtype}")
        if value._data.ndim > 1:
            raise RuntimeError(f"{op} expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {value._data.ndim} dims")
        value = value.tolist()
    if isinstance(value, (tuple, list)):
        return int_tuple(value, op, "indices")
    return int_tuple(value, op, "sections")[0]


@public(methods=("tensor_split",))
def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Split ``input`` along ``dim`` into views: ``n`` sections (the first ``size % n`` one longer, so none is
    missing, as NumPy's ``array_split``), or at the given indices (``x[:i0], x[i0:i1], ..., x[ik:]``).

    Example::

        >>> [p.tolist() for p in chainrule.tensor_split(chainrule.arange(5), 3)]
        [[0, 1], [2, 3], [4]]
    """
    if input._data.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = _normalize_dim(dim, input._data.ndim, "tensor_split")
    n = input._data.shape[d]
    cuts = _sections(indices_or_sections, "tensor_split")
    if isinstance(cuts, int):
        if cuts <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {cuts}")
        small, extra = divmod(n, cuts)
        return _split_sizes((small + 1,) * extra + (small,) * (cuts - extra), input, d)
    bounds = (0,) + cuts + (n,)
    pieces = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        start, stop, _ = slice(lo, hi).indices(n)
        pieces.append(narrow(input, d, start, max(stop - start, 0)))
    return tuple(pieces)


def _numpy_split(input: Tensor, indices_or_sections, dim: int, least: int, op: str) -> tuple:
    if input._data.ndim < least:
        raise RuntimeError(f"torch.{op} requires a tensor with at least {least} dimension, but got a tensor with "
                           f"{input._data.ndim} dimensions!")
    cuts = _sections(indices_or_sections, op)
    n = input._data.shape[dim]
    if isinstance(cuts, int) and (cuts <= 0 or n % cuts):
        raise RuntimeError(f"torch.{op} attempted to split along dimension {dim}, but the size of the dimension "
                           f"{n} is not divisible by the split_size {cuts}!")
    return tensor_split(input, cuts, dim)


@public(methods=("hsplit",))
def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """:func:`tensor_split` along dimension 1 (0 for a vector); a number of sections must divide the size."""
    return _numpy_split(input, indices_or_sections, 0 if input._data.ndim == 1 else 1, 1, "hsplit")


@public(methods=("vsplit",))
def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """:func:`tensor_split` along dimension 0 of a tensor of at least 2 dimensions (sections must divide)."""
    return _numpy_split(input, indices_or_sections, 0, 2, "vsplit")


@public(methods=("dsplit",))
def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """:func:`tensor_split` along dimension 2 of a tensor of at least 3 dimensions (sections must divide)."""
    return _numpy_split(input, indices_or_sections, 2, 3, "dsplit")


@public(methods=("repeat_interleave",))
def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *, output_size: int | None = None):
    """Repeat each element ``repeats`` times along ``dim`` (the flattened tensor when None); ``repeats`` is an
    int or an integer tensor of one count per element. ``repeat_interleave(counts)`` alone gives the indices
    ``0..n-1`` repeated ``counts`` times.

    Shapes: ``dim`` grows to ``repeats * n`` (or ``sum(repeats)``). Example::

        >>> chainrule.repeat_interleave(chainrule.tensor([1, 2]), chainrule.tensor([1, 2]))
        tensor([1, 2, 2])
    """
    if repeats is None:
        counts = _repeat_counts(input, 0, "repeat_interleave")
        return _wrap(xp.repeat(xp.arange(counts.size), counts))
    if dim is None:
        input, d = flatten(input), 0
    else:
        d = _normalize_dim(dim, input._data.ndim, "repeat_interleave")
        if input._data.ndim == 0:
            input = reshape(input, (1,))
    n = input._data.shape[d]
    if isinstance(repeats, Tensor):
        counts = _repeat_counts(repeats, n, "repeat_interleave")
    else:
        (counts,) = int_tuple(repeats, "repeat_interleave", "repeats")
        if counts < 0:
            raise RuntimeError(f"repeat_interleave: Repeats must be non-negative, got {counts}")
    index = xp.repeat(xp.arange(n), counts)
    if output_size is not None and output_size != index.size:
        raise RuntimeError(f"repeat_interleave: allocated size does not match required size (output_size="
                           f"{output_size}, but the repeats add up to {index.size})")
    return index_select(input, d, _wrap(index))


def _repeat_counts(repeats: Tensor, n: int, op: str):
    """The counts of an integer ``repeats`` tensor: one per element (``n``; 0 for the one-argument form) or one
    for all."""
    if repeats._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: repeats has to be a Long or Int tensor, got {repeats.dtype}")
    if repeats._data.ndim > 1:
        raise RuntimeError(f"{op}: repeats must be 0-dim or 1-dim tensor, got shape {tuple(repeats.shape)}")
    counts = repeats._data.reshape(-1)
    if n and counts.size not in (1, n):
        raise RuntimeError(f"{op}: repeats must have the same size as input along dim, but got repeats.size(0) = "
                           f"{counts.size} and input.size({0}) = {n}")
    if counts.size and counts.min() < 0:
        raise RuntimeError(f"{op}: repeats can not be negative, got {counts.tolist()}")
    return counts


def _strided_index(size: tuple, stride: tuple, offset: int):
    """The flat (row-major) position each element of an ``as_strided`` result reads, as an array of ``size``."""
    index = offset + sum((xp.arange(n) * s).reshape((-1,) + (1,) * (len(size) - k - 1))
                         for k, (n, s) in enumerate(zip(size, stride)))
    return xp.broadcast_to(index, size)


class AsStrided(Primitive):
    # NOTE: a primitive rather than a gather, so that the result is a view of ``x`` (as torch's) when ``x`` is
    # contiguous; the VJP scatters the gradient back with repeated reads adding up.
    name = "as_strided"
    params = (Param("size", tuple, "the shape of the result"),
              Param("stride", tuple, "how many elements each dimension steps over"),
              Param("storage_offset", int, "the position of the first element"))
    doc = "The row-major elements of ``x`` at ``storage_offset + sum(i_k * stride[k])`` for each index ``i``."
    gate = "as_strided: each element read gets its upstream gradient; elements read several times sum them"

    @staticmethod
    def forward(ctx, x, size, stride, storage_offset):
        ctx.in_shape = x.shape
        flat = xp.ascontiguousarray(x).reshape(-1)
        return xp.lib.stride_tricks.as_strided(flat[storage_offset:], size, tuple(s * flat.itemsize for s in stride))

    @staticmethod
    def vjp(ctx, g):
        p, n = ctx.params, math.prod(ctx.in_shape)
        index = _wrap(_strided_index(p["size"], p["stride"], p["storage_offset"]).reshape(-1))
        flat = scatter_add(_wrap(xp.zeros(n, dtype=g._data.dtype)), 0, index, reshape(g, (-1,)))
        return reshape(flat, ctx.in_shape)

    @staticmethod
    def jvp(ctx, x_t):
        return apply(AsStrided, (x_t,), **ctx.params)

    @staticmethod
    def batch_rule(inputs, batched, params):
        (x,) = inputs
        return apply(AsStrided, (x,), size=x._data.shape[:1] + params["size"],
                     stride=(math.prod(x._data.shape[1:]),) + params["stride"],
                     storage_offset=params["storage_offset"])


@public(AsStrided, methods=("as_strided",))
def as_strided(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """The elements of ``input``'s row-major layout at ``storage_offset + sum(i_k * stride[k])`` for each
    index ``i`` of shape ``size``: windows, overlapping or not (the gradient sums over repeated reads). A view
    of a contiguous ``input``; overlapping windows are read-only.

    Example::

        >>> chainrule.as_strided(chainrule.arange(5), (3, 2), (1, 1))
        tensor([[0, 1],
                [1, 2],
                [2, 3]])
    """
    size, stride = int_tuple(size, "as_strided", "size"), int_tuple(stride, "as_strided", "stride")
    offset = 0 if storage_offset is None else int_tuple(storage_offset, "as_strided", "storage_offset")[0]
    if len(size) != len(stride):
        raise RuntimeError(f"as_strided: mismatch in length of strides and shape (size {list(size)}, stride "
                           f"{list(stride)})")
    if any(s < 0 for s in stride) or any(s < 0 for s in size) or offset < 0:
        raise RuntimeError(f"as_strided: negative sizes, strides or storage offset are not supported, got size "
                           f"{list(size)}, stride {list(stride)}, storage offset {offset}")
    needed = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1 if all(size) else 0
    if needed > input._data.size:
        raise RuntimeError(f"as_strided: sizes {list(size)}, strides {list(stride)}, storage offset {offset} "
                           f"require a storage of {needed} elements, out of bounds for a tensor of "
                           f"{input._data.size} elements")
    out = apply(AsStrided, (input,), size=size, stride=stride, storage_offset=offset)
    index = _strided_index(size, stride, offset)
    if xp.unique(index).size != index.size:
        out._readonly = True  # NOTE: several elements of the result are the same memory
    return out


# -- grids, blocks and products ------------------------------------------------------------------------

def _vectors(tensors: tuple, op: str) -> list:
    items = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)) else tensors
    return _tensor_list(list(items), op)


@public()
def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids: ``out[i]`` holds ``tensors[i]`` along its own dimension, broadcast over the others.

    ``indexing='ij'``: shape ``(n0, n1, ...)``; ``'xy'``: the first two dims swapped, ``(n1, n0, ...)``
    (Cartesian, as NumPy's default). Without ``indexing``, 'ij' with torch's warning. Inputs are 0-d or 1-d of
    one dtype; outputs are read-only broadcast views. Example::

        >>> gx, gy = chainrule.meshgrid(chainrule.arange(2), chainrule.arange(3), indexing="ij")
        >>> gx.shape
        chainrule.Size([2, 3])
    """
    tensors = _vectors(tensors, "meshgrid")
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got a tensor of "
                               f"shape {tuple(t._data.shape)}")
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError(f"meshgrid expects all tensors to have the same dtype, got {tensors[0].dtype} and "
                               f"{t.dtype}")
    # NOTE: the output dim of each input; 'xy' swaps the first two, a swap being its own inverse.
    order = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(tensors[i]._data.size for i in order)
    return tuple(broadcast_to(reshape(t, tuple(-1 if k == order[i] else 1 for k in range(len(shape)))), shape)
                 for i, t in enumerate(tensors))


def _check_vectors(tensors: list, op: str) -> None:
    for t in tensors:
        if t._data.ndim != 1:
            raise RuntimeError(f"{op}: Expect a 1D vector, but got shape {list(t._data.shape)}")


@public()
def cartesian_prod(*tensors) -> Tensor:
    """Every combination of one element from each vector, as rows: k vectors -> ``(n0 * n1 * ..., k)``
    (one vector is returned as it is). Example::

        >>> chainrule.cartesian_prod(chainrule.tensor([1, 2]), chainrule.tensor([3, 4]))
        tensor([[1, 3],
                [1, 4],
                [2, 3],
                [2, 4]])
    """
    tensors = _vectors(tensors, "cartesian_prod")
    _check_vectors(tensors, "cartesian_prod")
    if len(tensors) == 1:
        return tensors[0]
    return stack([flatten(g) for g in meshgrid(tensors, indexing="ij")], 1)


@public()
def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The ``r``-element combinations of a vector's elements in order, as rows ``(C, r)`` (Python's
    ``itertools.combinations``, or ``combinations_with_replacement``); ``r=0`` gives an empty vector."""
    _check_vectors([input], "combinations")
    (r,) = int_tuple(r, "combinations", "r")
    if r < 0:
        raise RuntimeError(f"combinations: Expect a non-negative number, but got {r}")
    if r == 0:
        return narrow(input, 0, 0, 0)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    index = xp.array(list(pick(range(input._data.shape[0]), r)), dtype=xp.int64).reshape(-1)
    return reshape(index_select(input, 0, _wrap(index)), (-1, r))


@public()
def block_diag(*tensors) -> Tensor:
    """The tensors (each 0-d, 1-d as a row, or 2-d) as blocks down the diagonal of one matrix, zeros elsewhere;
    dtypes promote. Shapes: ``(sum of rows, sum of columns)``."""
    blocks = []
    for i, t in enumerate(_tensor_list(list(tensors), "block_diag")):
        if t._data.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t._data.ndim} dimensions")
        blocks.append(reshape(t, (1,) * (2 - t._data.ndim) + t._data.shape))
    if not blocks:
        return _wrap(xp.zeros((1, 0), dtype=_dtype.get_default_dtype().np))
    np_dtype = _dtype.result_type(*blocks).np
    width = sum(b._data.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        cols = b._data.shape[1]
        rows.append(pad(cast_to(b, np_dtype), (left, width - left - cols)))
        left += cols
    return cat(rows, 0)


@public(methods=("kron",))
def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: block ``i`` of the result is ``input[i] * other`` (ranks aligned from the right).

    Shapes: ``(a0, a1, ...)`` and ``(b0, b1, ...)`` -> ``(a0 * b0, a1 * b1, ...)``.
    """
    if not isinstance(other, Tensor):  # NOTE: the Tensor method skips the public function's check
        raise TypeError(f"kron(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
    n = max(input._data.ndim, other._data.ndim)
    a = (1,) * (n - input._data.ndim) + input._data.shape
    b = (1,) * (n - other._data.ndim) + other._data.shape
    spread = mul(reshape(input, tuple(v for s in a for v in (s, 1))),
                 reshape(other, tuple(v for s in b for v in (1, s))))
    return reshape(spread, tuple(x * y for x, y in zip(a, b)))


def _tensordot_dims(a: Tensor, b: Tensor, dims) -> tuple:
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (tuple, list)):
        if len(dims) != 2 or not all(isinstance(d, (tuple, list)) for d in dims):
            raise TypeError(f"tensordot: dims must be an int or a pair of lists of dims (([1], [0]), not (1, 0)), "
                            f"got {dims}")
        da, db = int_tuple(dims[0], "tensordot", "dims"), int_tuple(dims[1], "tensordot", "dims")
        if len(da) != len(db):
            raise RuntimeError(f"tensordot: both dimension lists should have same length, got {list(da)} and "
                               f"{list(db)}")
        return (tuple(_normalize_dim(d, a._data.ndim, "tensordot") for d in da),
                tuple(_normalize_dim(d, b._data.ndim, "tensordot") for d in db))
    (k,) = int_tuple(dims, "tensordot", "dims")
    if k < 0:
        raise RuntimeError(f"tensordot expects dims >= 0, but got dims={k}")
    if k > min(a._data.ndim, b._data.ndim):
        raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={k}")
    return tuple(range(a._data.ndim - k, a._data.ndim)), tuple(range(k))


@public()
def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Sum of products over dims ``dims[0]`` of ``a`` and ``dims[1]`` of ``b`` (an int ``k``: the last ``k``
    of ``a`` with the first ``k`` of ``b``). Shapes: the remaining dims of ``a`` then those of ``b``.

    Example::

        >>> chainrule.tensordot(chainrule.ones(2, 3), chainrule.ones(3, 4), dims=1).shape
        chainrule.Size([2, 4])
    """
    if a.dtype is not b.dtype:
        raise RuntimeError(f"tensordot: both inputs should have same dtype, got {a.dtype} and {b.dtype}")
    da, db = _tensordot_dims(a, b, dims)
    sa, sb = a._data.shape, b._data.shape
    for x, y in zip(da, db):
        if sa[x] != sb[y]:
            raise RuntimeError(f"tensordot: contracted dimensions need to match, but first has size {sa[x]} in dim "
                               f"{x} and second has size {sb[y]} in dim {y}")
    free_a = [d for d in range(len(sa)) if d not in da]
    free_b = [d for d in range(len(sb)) if d not in db]
    inner = math.prod(sa[d] for d in da)
    left = reshape(permute(a, tuple(free_a) + da), (-1, inner)) if sa else reshape(a, (1, 1))
    right = reshape(permute(b, db + tuple(free_b)), (inner, -1)) if sb else reshape(b, (1, 1))
    return reshape(matmul(left, right), tuple(sa[d] for d in free_a) + tuple(sb[d] for d in free_b))


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


@public()
def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary"):
    """The p-norm distance between each row of ``x1`` and each row of ``x2``.

    Shapes: ``x1 (B..., P, M)``, ``x2 (B..., R, M)`` -> ``(B..., P, R)`` (batch dims broadcast). ``p`` >= 0
    (``inf`` allowed). ``compute_mode`` is accepted; distances are always computed directly (no matrix-product
    shortcut), so they are exact, and the gradient at a zero distance is 0 as in torch.

    Example::

        >>> chainrule.cdist(chainrule.tensor([[0., 0.]]), chainrule.tensor([[3., 4.]]))
        tensor([[5.]])
    """
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode (expected one of {_CDIST_MODES})")
    for name, x in (("X1", x1), ("X2", x2)):
        if x._data.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {x._data.ndim}D")
        if x._data.dtype.kind != "f":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {x.dtype}")
    if x1.dtype is not x2.dtype:
        raise RuntimeError(f"cdist: expected both inputs to have the same dtype, got {x1.dtype} and {x2.dtype}")
    if x1._data.shape[-1] != x2._data.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1._data.shape[-1]} X2: "
                           f"{x2._data.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    return norm(sub(unsqueeze(x1, -2), unsqueeze(x2, -3)), p, -1)


__all__ = exports(__name__)
