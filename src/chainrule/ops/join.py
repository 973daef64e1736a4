"""Joining, splitting and repeating along dimensions: cat, stack, split, chunk, unbind, roll, repeat, tile,
and the reflect/replicate/circular modes of ``pad``.

``Cat`` joins and ``shape.Slice`` cuts; each is the other's VJP, and everything else here is a composite of
them. Multi-output ops (split, chunk, unbind) return tuples of single-output slices, so each piece has its own
node and an unused piece costs nothing in backward.
"""

from __future__ import annotations

from .. import _dtype
from .._backend import xp
from ..tensor import Tensor, _normalize_dim
from ._primitive import Param, Primitive, apply, batch_size, exports, materialize, method, public
from .cast import cast_to
from .shape import ConstantPad, Slice, _dim_of, broadcast_to, flatten, flip, int_tuple, narrow, reshape, unsqueeze


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
        sizes = int_tuple(split_size_or_sections, "split", "split_size_or_sections")
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise RuntimeError(f"split: split_sizes must be non-negative and sum exactly to {n} (the size of "
                               f"dimension {d} of shape {tuple(tensor._data.shape)}), but got {list(sizes)}")
        return _split_sizes(sizes, tensor, d)
    (size,) = int_tuple(split_size_or_sections, "split", "split_size")
    if size < 0 or (size == 0 and n):
        raise RuntimeError(f"split: split_size must be positive (0 only for an empty dimension), got {size} "
                           f"for dimension {d} of size {n}")
    if n == 0:
        return (narrow(tensor, d, 0, 0),)
    return _split_sizes((size,) * (n // size) + ((n % size,) if n % size else ()), tensor, d)


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


__all__ = exports(__name__)
