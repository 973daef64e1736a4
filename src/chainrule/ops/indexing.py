"""Indexing ops: ``x[...]``, index_select, gather, scatter_add, masked_fill, ``__setitem__``.

Three linear primitives carry the family, each the transpose of another, so every VJP and JVP is one of them:

- ``Index``: ``x[key]`` (read);
- ``IndexScatter``: zeros with ``g`` added at ``key`` (the VJP of ``Index``; repeated indices accumulate);
- ``IndexPut``: ``x`` with ``x[key]`` replaced by ``v`` (what ``x[key] = v`` records).

A key is parsed once into NumPy's vocabulary (ints, slices, None, Ellipsis, integer and bool arrays) and
checked against the shape, so errors name the dimension. The primitives take it as ``stages``: index tuples
applied one after another (one stage, except where torch's order differs from NumPy's). gather, index_select,
take_along_dim, masked_select and scatter_add are composites that build such stages.
"""

from __future__ import annotations

import math
import operator

from .. import _state
from .._backend import ndarray, xp
from ..tensor import Tensor, _normalize_dim, _wrap
from ._primitive import BatchedParam, Param, Primitive, apply, batch_size, exports, materialize, method, public
from .arith import add, where
from .cast import cast_to, clone, number_array
from .inplace import apply_inplace
from .shape import broadcast_to, reshape

_STAGES = Param("stages", tuple, "the parsed key: NumPy index tuples applied in turn")
_ACCUMULATE = Param("accumulate", bool, "integer arrays may repeat positions (the transpose adds)")

_INDEX_TYPES = ("only integers, slices (`:`), ellipsis (`...`), None, and integer or bool tensors, arrays or "
                "lists are valid indices")


# -- parsing a key -------------------------------------------------------------------------------------

def _as_index_item(item, op: str):
    """One non-basic key item as an int (0-d integer tensors and NumPy integers) or an integer/bool array."""
    if isinstance(item, Tensor):
        item = item._data
    elif isinstance(item, (list, tuple, bool, xp.generic)):
        try:
            item = xp.asarray(item)
        except ValueError:
            raise IndexError(f"{op}: {_INDEX_TYPES} (got a ragged list)") from None
        if item.size == 0 and item.dtype.kind == "f":
            item = item.astype(xp.intp)  # NOTE: [] is an empty integer index, as in NumPy and torch
    elif not isinstance(item, ndarray):
        if hasattr(type(item), "__index__"):
            return operator.index(item)
        raise IndexError(f"{op}: {_INDEX_TYPES} (got {type(item).__name__})")
    kind = item.dtype.kind
    if kind == "b":
        return item
    if kind not in "iu":
        raise IndexError(f"{op}: tensors used as indices must be integer or bool tensors, got dtype "
                         f"{item.dtype}")
    return int(item) if item.ndim == 0 else item


def check_range(index: ndarray, size: int, dim: int, op: str, error=IndexError,
                negative: bool = True) -> None:
    """Raise ``error`` unless every entry of ``index`` is a position along ``dim`` (of length ``size``)."""
    if index.size == 0 or index.__class__ is not ndarray:  # NOTE: a batched index (vmap) is checked by NumPy
        return
    low = -size if negative else 0
    lo, hi = index.min(), index.max()
    if lo < low or hi >= size:
        bad = int(lo if lo < low else hi)
        raise error(f"{op}: index {bad} is out of bounds for dimension {dim} with size {size}")


def parse_index(shape: tuple, key, op: str) -> tuple:
    """``key`` as ``(stages, basic, accumulate)`` for a tensor of ``shape``, after checking every index.

    ``stages``: index tuples for NumPy, applied in turn (see :func:`_read`); ``basic``: no arrays, so the
    result is a view (an Ellipsis is appended so that even all-int keys give a 0-d view rather than a
    scalar); ``accumulate``: integer arrays may repeat positions, so the transpose must add, not assign.
    """
    items = key if key.__class__ is tuple else (key,)
    parsed = []
    used = 0
    ellipsis = -1
    basic = True
    accumulate = used_ints = False
    for item in items:
        cls = item.__class__
        if cls is int or cls is slice:
            used += 1
            used_ints = used_ints or cls is int
            if cls is slice and item.step is not None and item.step == 0:
                raise ValueError(f"{op}: slice step cannot be zero")
        elif item is None:
            pass
        elif item is Ellipsis:
            if ellipsis >= 0:
                raise IndexError(f"{op}: an index can only have a single ellipsis ('...')")
            ellipsis = len(parsed)
        else:
            item = _as_index_item(item, op)
            if item.__class__ is int:
                used += 1
                used_ints = True
            else:
                basic = False
                if item.dtype.kind == "b":
                    used += item.ndim
                else:
                    accumulate = True
                    used += 1
        parsed.append(item)
    ndim = len(shape)
    if used > ndim:
        raise IndexError(f"{op}: too many indices for tensor of dimension {ndim} (shape {tuple(shape)})")
    dim = 0
    for pos, item in enumerate(parsed):
        cls = item.__class__
        if cls is int:
            size = shape[dim]
            if not -size <= item < size:
                raise IndexError(f"{op}: index {item} is out of bounds for dimension {dim} with size {size}")
            dim += 1
        elif cls is slice:
            dim += 1
        elif pos == ellipsis:
            dim += ndim - used
        elif cls is ndarray:
            if item.dtype.kind != "b":
                check_range(item, shape[dim], dim, op)
                dim += 1
            elif item.ndim:
                k = item.ndim
                if item.shape != tuple(shape[dim:dim + k]):
                    raise IndexError(f"{op}: the shape of the mask {list(item.shape)} at index {dim} does "
                                     f"not match the shape of the indexed tensor {list(shape)} at index "
                                     f"{dim}")
                dim += k
    if basic:
        if ellipsis < 0:
            parsed.append(Ellipsis)
        return (tuple(parsed),), True, False
    if used_ints:
        return _ints_first(parsed), False, accumulate
    return (tuple(parsed),), False, accumulate


def _ints_first(parsed: list) -> tuple:
    """Two stages: the ints alone (a view), then the arrays, slices and Nones on what remains.

    NOTE: NumPy counts ints among the advanced indices, so ``x[:, [0, 1], :, 0]`` puts the array's dimension
    first there; torch selects the ints first and keeps it in place. We follow torch.
    """
    ints, rest = [], []
    for item in parsed:
        if item.__class__ is int:
            ints.append(item)
        elif item is Ellipsis:
            ints.append(item)
            rest.append(item)
        elif item.__class__ is slice:
            ints.append(slice(None))
            rest.append(item)
        elif item is not None:  # an array; a mask spans as many dimensions as it has
            ints.extend([slice(None)] * (item.ndim if item.dtype.kind == "b" else 1))
            rest.append(item)
        else:
            rest.append(item)
    return (tuple(ints), tuple(rest))


def _read(x, stages: tuple):
    """``x`` indexed by each stage in turn."""
    for key in stages:
        x = x[key]
    return x


def _region(out, stages: tuple):
    """The view of ``out`` that the last stage indexes into (earlier stages are basic, so views)."""
    for key in stages[:-1]:
        out = out[key]
    return out


def _add_at(region, key: tuple, g) -> None:
    """``region[key] += g`` where repeated positions add up (NumPy's ``add.at``)."""
    # NOTE: add.at with a multi-dim key is slow; on flat positions (one 1-D index into a 1-D view) it takes
    # NumPy's fast path, 2.5-5x faster for gather's backward, adding in the same order (the same sums). Tiny
    # scatters and non-contiguous regions keep the plain call.
    if g.size < 1024 or not region.flags.c_contiguous:
        xp.add.at(region, key, g)
        return
    positions = xp.arange(region.size, like=region).reshape(region.shape)[key]
    xp.add.at(region.reshape(-1), positions.reshape(-1), xp.broadcast_to(g, positions.shape).reshape(-1))


def _batch_size(inputs: tuple, batched: tuple, stages: tuple) -> int:
    """The batch size: the leading dim of a batched input or, failing that, of a batched index array."""
    if True in batched:
        return batch_size(inputs, batched)
    return next(a.array.shape[0] for a in stages[-1] if a.__class__ is BatchedParam)


def _unmask(items: list, size: int) -> list:
    """``items`` with each batched bool mask as the batched integer arrays of its True positions.

    NOTE: this needs the same number of True entries in every sample; otherwise the result's shape depends
    on the values, which vmap cannot batch.
    """
    out = []
    for item in items:
        if item.__class__ is not BatchedParam or item.array.dtype.kind != "b":
            out.append(item)
            continue
        mask = item.array
        counts = mask.reshape(size, -1).sum(1)
        if size and (counts != counts[0]).any():
            raise RuntimeError(f"vmap: index with a boolean mask that differs per sample selects "
                               f"{sorted(set(counts.tolist()))} entries in different samples; a shape that "
                               "depends on the values cannot be batched")
        count = int(counts[0]) if size else 0
        out.extend(BatchedParam(a.reshape(size, count)) for a in xp.nonzero(mask)[1:])
    return out


def _batch_stages(stages: tuple, size: int, shape: tuple) -> tuple:
    """``(stages, rank, pre)``: ``stages`` (for one sample of ``shape``, with index arrays batched in vmap as
    :class:`BatchedParam`) for a batch of inputs with the batch leading.

    With index arrays, the last stage gets a leading ``arange(size)`` index that broadcasts against them, so
    sample ``b`` is indexed by its own arrays. NumPy then puts the ``rank`` dims of the broadcast arrays just
    after the batch; for one sample they sit after ``pre`` other dims (0 when the arrays are separated by a
    slice or None, as NumPy then moves them to the front): :func:`_to_sample_order` moves them back.
    """
    key = tuple((slice(None),) + k for k in stages[:-1])
    items = _unmask(list(stages[-1]), size)
    arrays = [k for k, item in enumerate(items) if isinstance(item, (ndarray, BatchedParam))]
    if not arrays:
        return key + ((slice(None),) + stages[-1],), 0, 0
    ranks = [a.array.ndim - 1 if a.__class__ is BatchedParam else 1 if a.dtype.kind == "b" else a.ndim
             for a in (items[k] for k in arrays)]
    rank = max(ranks)
    for k, r in zip(arrays, ranks):
        a = items[k]
        if a.__class__ is BatchedParam:  # NOTE: a chainrule op, so an enclosing vmap can batch it again
            a = a.array
            items[k] = a if r == rank else reshape(_wrap(a), (size,) + (1,) * (rank - r) + a.shape[1:])._data
    pre = 0
    if arrays[-1] - arrays[0] + 1 == len(arrays):
        used = sum(1 if item.__class__ is slice else item.ndim if isinstance(item, ndarray) and
                   item.dtype.kind == "b" else 0 if item is None or item is Ellipsis else 1 for item in items)
        region = _region(xp.broadcast_to(xp.zeros((), bool), shape), stages).ndim
        pre = sum(region - used if item is Ellipsis else 1 for item in items[:arrays[0]])
    arange = xp.arange(size, like=a).reshape((size,) + (1,) * rank)
    return key + ((arange,) + tuple(items),), rank, pre


def _to_sample_order(out: Tensor, rank: int, pre: int) -> Tensor:
    """A batched result of :func:`_batch_stages`'s key with the index arrays' dims where one sample has them."""
    return out.movedim(tuple(range(1, 1 + rank)), tuple(range(1 + pre, 1 + pre + rank))) if pre else out


def _to_numpy_order(g: Tensor, rank: int, pre: int) -> Tensor:
    """The inverse of :func:`_to_sample_order`: ``g`` laid out as NumPy's result for the batched key."""
    return g.movedim(tuple(range(1 + pre, 1 + pre + rank)), tuple(range(1, 1 + rank))) if pre else g


# -- primitives --------------------------------------------------------------------------------------

class Index(Primitive):
    """``x`` read at parsed index ``stages``."""

    name = "index"
    params = (_STAGES, _ACCUMULATE)
    doc = "``x`` read at the parsed key ``stages`` (``x[key]``)."
    gate = "index: the gradient goes back to the positions read (added where they repeat), zeros elsewhere"
    batches_params = True

    @staticmethod
    def forward(ctx, x, stages, accumulate):
        ctx.in_shape = x.shape
        return _read(x, stages)

    @staticmethod
    def vjp(ctx, g):
        return apply(IndexScatter, (g,), **ctx.params, shape=ctx.in_shape)

    @staticmethod
    def jvp(ctx, x_t):
        return apply(Index, (x_t,), **ctx.params)

    @staticmethod
    def batch_rule(inputs, batched, params):
        size = _batch_size(inputs, batched, params["stages"])
        x = materialize(inputs[0], batched[0], size)
        key, rank, pre = _batch_stages(params["stages"], size, x._data.shape[1:])
        return _to_sample_order(apply(Index, (x,), stages=key, accumulate=params["accumulate"]), rank, pre)


class IndexScatter(Primitive):
    """Zeros of ``shape`` with ``g`` added at ``stages``: the transpose of :class:`Index`."""

    name = "index_scatter"
    inputs = ("g",)
    may_warn = True  # NOTE: repeated indices add up: inf + -inf is nan, silently as in torch
    params = (_STAGES, _ACCUMULATE, Param("shape", tuple, "the shape of the result"))
    doc = "Zeros of ``shape`` with ``g`` added at ``stages`` (the transpose of ``index``)."
    batches_params = True

    @staticmethod
    def forward(ctx, g, stages, accumulate, shape):
        out = xp.zeros(shape, dtype=g.dtype, like=g)
        if accumulate:
            # NOTE: plain assignment keeps only the last of repeated indices; add.at sums them all.
            _add_at(_region(out, stages), stages[-1], g)
        else:
            _region(out, stages)[stages[-1]] = g
        return out

    @staticmethod
    def vjp(ctx, g):
        return apply(Index, (g,), stages=ctx.params["stages"], accumulate=ctx.params["accumulate"])

    @staticmethod
    def jvp(ctx, g_t):
        return apply(IndexScatter, (g_t,), **ctx.params)

    @staticmethod
    def batch_rule(inputs, batched, params):
        stages, shape = params["stages"], params["shape"]
        size = _batch_size(inputs, batched, stages)
        key, rank, pre = _batch_stages(stages, size, shape)
        g = _to_numpy_order(materialize(inputs[0], batched[0], size), rank, pre)
        return apply(IndexScatter, (g,), stages=key, accumulate=params["accumulate"], shape=(size,) + shape)


class IndexPut(Primitive):
    """A copy of ``x`` with the entries at ``stages`` replaced by ``v`` (already of the indexed shape)."""

    name = "index_put"
    inputs = ("x", "v")
    params = (_STAGES, _ACCUMULATE)
    doc = "A copy of ``x`` with the entries at ``stages`` replaced by ``v`` (``x[key] = v``)."
    gate = "index_put: the written positions send their gradient to v, the rest to x"
    batches_params = True

    @staticmethod
    def forward(ctx, x, v, stages, accumulate):
        ctx.v_shape = v.shape
        out = x.copy()
        _region(out, stages)[stages[-1]] = v
        return out

    @staticmethod
    def vjp(ctx, g):
        # NOTE: with repeated indices only the last write survives, yet every copy of v gets the gradient, as
        # in torch (whose result for repeated writes is unspecified).
        zeros = _wrap(xp.zeros(ctx.v_shape, dtype=g._data.dtype, like=g._data))
        gx = apply(IndexPut, (g, zeros), **ctx.params)
        return gx, apply(Index, (g,), **ctx.params)

    @staticmethod
    def jvp(ctx, x_t, v_t):
        return apply(IndexPut, (x_t, v_t), **ctx.params)

    @staticmethod
    def batch_rule(inputs, batched, params):
        size = _batch_size(inputs, batched, params["stages"])
        x, v = (materialize(t, b, size) for t, b in zip(inputs, batched))
        key, rank, pre = _batch_stages(params["stages"], size, x._data.shape[1:])
        return apply(IndexPut, (x, _to_numpy_order(v, rank, pre)), stages=key, accumulate=params["accumulate"])


# -- one class per target: nll_loss -------------------------------------------------------------------
# NOTE: primitives for speed: the one-hot composite (arange == target, where, sum) is about fifteen small ops
# forward and backward; these read and write the picked entries directly, reduced as torch's nll_loss. The target
# is a tensor *input* (not a parameter like Index's key), so a recorded program reads each call's targets
# instead of baking in the traced ones, and vmap batches it as an input.

_CLASS_DIM = Param("dim", int, "the class dim of x; the target has x's shape without it")
_IGNORE = Param("ignore_index", int, "targets equal to it pick nothing (0) and are not counted by 'mean'")
_REDUCTION = Param("reduction", str, "'none' (one term per target), 'sum' or 'mean' (over the targets counted)")


def _class_key(x_shape: tuple, dim: int, target, ignore_index: int) -> tuple:
    """``(key, valid)``: the index tuple of each target's class along ``dim`` (an ignored target reads class 0)
    and the mask of the targets that count (None: all do). Out-of-range targets raise IndexError naming one."""
    classes = x_shape[dim]
    target = target.astype(xp.int64, copy=False)
    valid = None
    # NOTE: one reduction checks both ends (a negative target is a huge unsigned one; NumPy would wrap it); when
    # every target is a class and ignore_index is none, no mask is needed (the common case, at half the calls)
    if not target.size or xp.maximum.reduce(target.view(xp.uint64), axis=None) >= classes or \
            0 <= ignore_index < classes:
        valid = target != ignore_index
        target = xp.where(valid, target, 0)
        if target.size and xp.maximum.reduce(target.view(xp.uint64), axis=None) >= classes:
            bad = target[(target < 0) | (target >= classes)].reshape(-1)[0]
            raise IndexError(f"Target {bad} is out of bounds (classes 0..{classes - 1}).")
    if len(x_shape) == 2 and dim == 1:  # NOTE: (N, C), the common case, without the general loop
        return (_positions(x_shape[0], target), target), valid
    rank = target.ndim
    key = []
    for i, n in enumerate(x_shape):
        j = i if i < dim else i - 1
        key.append(target if i == dim else _positions(n, target).reshape((1,) * j + (n,) + (1,) * (rank - j - 1)))
    return tuple(key), valid


_POSITIONS: dict = {}


def _positions(n: int, like):
    """``arange(n)`` (int64) like ``like``; NumPy's made once per length and read-only, as every call shares it."""
    if like.__class__ is not ndarray:
        return xp.arange(n, like=like)
    positions = _POSITIONS.get(n)
    if positions is None:
        if len(_POSITIONS) >= 64:  # NOTE: a bound on memory, for programs that meet many lengths
            _POSITIONS.clear()
        positions = _POSITIONS[n] = xp.arange(n, dtype=xp.int64)
        positions.flags.writeable = False
    return positions


def _counted(valid, size: int) -> int:
    return size if valid is None else int(xp.count_nonzero(valid))


def nll_forward(x, target, dim: int, ignore_index: int, reduction: str):
    """:class:`Nll`'s forward on arrays (generated code calls it directly)."""
    key, valid = _class_key(x.shape, dim, target, ignore_index)
    picked = x[key]
    if valid is not None:
        picked = xp.where(valid, picked, 0)
    if reduction == "none":
        return xp.asarray(xp.negative(picked))
    total = -xp.add.reduce(picked, axis=None)
    # NOTE: no target counted gives 0 / 0 = nan, as in torch
    return xp.asarray(total if reduction == "sum" else total / _counted(valid, picked.size), dtype=x.dtype)


def nll_scatter_forward(g, target, dim: int, ignore_index: int, reduction: str, shape: tuple):
    """:class:`NllScatter`'s forward on arrays (generated code calls it directly)."""
    key, valid = _class_key(shape, dim, target, ignore_index)
    # NOTE: like the target: a reduced ``g`` may reach here as a NumPy scalar
    out = xp.zeros(shape, dtype=g.dtype, like=target)
    if reduction == "mean":
        g = g / _counted(valid, target.size)
    g = xp.negative(g)
    # NOTE: each target position picks one entry, so a plain assignment writes each once
    out[key] = g if valid is None else xp.where(valid, g, 0)
    return out


def _class_batches(inputs: tuple, batched: tuple, params: dict) -> tuple:
    """vmap of a class pick: ``(size, x, target, params)``, both inputs with the batch leading, the class dim one
    further right and no reduction (the rules reduce per sample with ops)."""
    size = batch_size(inputs, batched)
    x, target = (materialize(t, b, size) for t, b in zip(inputs, batched))
    return size, x, target, {"dim": params["dim"] + 1, "ignore_index": params["ignore_index"], "reduction": "none"}


def _per_sample_count(target: Tensor, ignore_index: int, dtype) -> Tensor:
    dims = tuple(range(1, target._data.ndim))
    return (target != ignore_index).to(dtype).sum(dims) if dims else (target != ignore_index).to(dtype)


def _per_target(g: Tensor, target: Tensor, size: int, params: dict) -> Tensor:
    """vmap of a gradient of a reduced class pick: each sample's ``g`` (shape (size,) for 'sum' or 'mean')
    spread over its targets (the target's shape, batch leading), divided by the sample's count for 'mean': the
    per-target gradient the unreduced ('none') rule takes."""
    if params["reduction"] == "none":
        return g
    if params["reduction"] == "mean":
        g = g / _per_sample_count(target, params["ignore_index"], g.dtype)
    return g.reshape((size,) + (1,) * (target._data.ndim - 1)).expand(target._data.shape)


class Nll(Primitive):
    """``-x`` at each target's class along ``dim`` (0 where the target is ``ignore_index``), reduced."""

    name = "nll"
    inputs = ("x", "target")
    params = (_CLASS_DIM, _IGNORE, _REDUCTION)
    doc = ("``-x[n, target[n], ...]`` along the class dim ``dim`` (0 where ``target == ignore_index``), summed or "
           "averaged over the counted targets by ``reduction``; the target (int64) has x's shape without ``dim``.")
    gate = "nll: the gradient goes back, negated, to the class each target picked; zeros elsewhere"
    save_inputs = True
    may_warn = True  # NOTE: 'mean' with every target ignored is 0 / 0

    @staticmethod
    def forward(ctx, x, target, dim, ignore_index, reduction):
        ctx.in_shape = x.shape
        return nll_forward(x, target, dim, ignore_index, reduction)

    @staticmethod
    def vjp(ctx, g):
        return apply(NllScatter, (g, ctx.inputs[1]), **ctx.params, shape=ctx.in_shape), None

    @staticmethod
    def jvp(ctx, x_t, target_t):
        return apply(Nll, (x_t, ctx.inputs[1]), **ctx.params)

    @staticmethod
    def batch_rule(inputs, batched, params):
        _, x, target, none = _class_batches(inputs, batched, params)
        out = apply(Nll, (x, target), **none)
        dims = tuple(range(1, out._data.ndim))
        if params["reduction"] == "none":
            return out
        total = out.sum(dims) if dims else out
        if params["reduction"] == "sum":
            return total
        return total / _per_sample_count(target, params["ignore_index"], out.dtype)


class NllScatter(Primitive):
    """Zeros of ``shape`` with ``-g`` (per target, or shared by all as reduced) at each target's class: the
    transpose of :class:`Nll`."""

    name = "nll_scatter"
    inputs = ("g", "target")
    params = (_CLASS_DIM, _IGNORE, _REDUCTION, Param("shape", tuple, "the shape of the result (x's)"))
    doc = ("Zeros of ``shape`` with ``-g`` (divided by the count of targets for 'mean') at each target's class "
           "along ``dim`` (the transpose of ``nll``).")
    save_inputs = True
    may_warn = True

    @staticmethod
    def forward(ctx, g, target, dim, ignore_index, reduction, shape):
        return nll_scatter_forward(g, target, dim, ignore_index, reduction, shape)

    @staticmethod
    def vjp(ctx, g):
        params = {k: ctx.params[k] for k in ("dim", "ignore_index", "reduction")}
        return apply(Nll, (g, ctx.inputs[1]), **params), None

    @staticmethod
    def jvp(ctx, g_t, target_t):
        return apply(NllScatter, (g_t, ctx.inputs[1]), **ctx.params)

    @staticmethod
    def batch_rule(inputs, batched, params):
        size, g, target, none = _class_batches(inputs, batched, params)
        g = _per_target(g, target, size, params)
        return apply(NllScatter, (g, target), **none, shape=(size,) + params["shape"])


def log_softmax_nll_backward_forward(g, target, out, dim: int, ignore_index: int, reduction: str):
    """:class:`LogSoftmaxNllBackward`'s forward on arrays: ``G - exp(out) * sum(G, dim)`` with
    ``G = nll_scatter(g, target)``, bit for bit as those four steps compute it (generated code calls it directly).

    NOTE: where every target counts, the reduction is 'sum' or 'mean' and ``v`` (``g``, divided by the count for
    'mean') is positive, G holds ``-v`` at each target and zeros elsewhere, each sum over ``dim`` is ``-v`` and
    the result is ``exp(out) * v`` less ``v`` at each target: the same roundings (a product by ``-v`` is the
    negated product by ``v``; ``0 - (-a)`` is ``a``, +0 included) in three NumPy calls instead of about nine. A
    C-contiguous ``out`` keeps the result's layout the one the steps give; anything else takes the steps.
    """
    if (reduction != "none" and out.shape[dim] > 1 and out.dtype == g.dtype and out.flags.c_contiguous
            and out.__class__ is ndarray):
        key, valid = _class_key(out.shape, dim, target, ignore_index)
        if valid is None:
            v = g / target.size if reduction == "mean" else g
            if v > 0:
                result = xp.exp(out)
                result *= v
                result[key] -= v
                return result
    picked = nll_scatter_forward(g, target, dim, ignore_index, reduction, out.shape)
    return picked - xp.exp(out) * xp.add.reduce(picked, axis=dim, keepdims=True)


class LogSoftmaxNllBackward(Primitive):
    """The gradient of ``nll(log_softmax(x), target)`` with respect to ``x``, from the loss's gradient ``g`` and
    log_softmax's result ``out``: what :class:`NllScatter` then log_softmax's VJP compute, as one step.

    The compiler writes it where a traced backward has those steps (``compiler.passes``): cross-entropy's
    backward in a training step, bit for bit, at a third of their NumPy calls."""

    # NOTE: a primitive for speed, made only by the compiler's pass; eager graphs keep log_softmax and the
    # one-hot nll (chainrule.viz draws their gates), and their backward is the steps this one stands for.
    name = "log_softmax_nll_backward"
    inputs = ("g", "target", "out")
    params = (_CLASS_DIM, _IGNORE, _REDUCTION)
    doc = ("``G - exp(out) * sum(G, dim, keepdim=True)`` with ``G = nll_scatter(g, target)``: the gradient of "
           "``nll(log_softmax(x), target)`` for x, given the loss's gradient ``g`` and ``out = log_softmax(x)``.")
    gate = "cross-entropy backward: softmax(x) times the gradient, less it at each target's class"
    save_inputs = True
    may_warn = True

    @staticmethod
    def forward(ctx, g, target, out, dim, ignore_index, reduction):
        return log_softmax_nll_backward_forward(g, target, out, dim, ignore_index, reduction)

    @staticmethod
    def vjp(ctx, h):
        g, target, out = ctx.inputs
        dim = ctx.params["dim"]
        probabilities = out.exp()
        picked = apply(NllScatter, (g, target), **ctx.params, shape=tuple(out._data.shape))
        g_grad = apply(Nll, (h - (h * probabilities).sum(dim, keepdim=True), target), **ctx.params)
        return g_grad, None, -(h * picked.sum(dim, keepdim=True)) * probabilities

    @staticmethod
    def jvp(ctx, g_t, target_t, out_t):
        g, target, out = ctx.inputs
        dim = ctx.params["dim"]
        picked = apply(NllScatter, (g, target), **ctx.params, shape=tuple(out._data.shape))
        return (apply(LogSoftmaxNllBackward, (g_t, target, out), **ctx.params)
                - out.exp() * out_t * picked.sum(dim, keepdim=True))

    @staticmethod
    def batch_rule(inputs, batched, params):
        # NOTE: as NllScatter's: per-sample gradients spread over the targets, then no reduction
        size = batch_size(inputs, batched)
        g, target, out = (materialize(t, b, size) for t, b in zip(inputs, batched))
        g = _per_target(g, target, size, params)
        return apply(LogSoftmaxNllBackward, (g, target, out), dim=params["dim"] + 1,
                     ignore_index=params["ignore_index"], reduction="none")


# -- x[key] and x[key] = value -----------------------------------------------------------------------

def _index(input: Tensor, stages: tuple, basic: bool, accumulate: bool, op: str) -> Tensor:
    try:
        out = apply(Index, (input,), stages=stages, accumulate=accumulate)
    except IndexError as e:  # what parse_index leaves to NumPy: index arrays that do not broadcast together
        raise IndexError(f"{op}: {e} (indexing a tensor of shape {tuple(input._data.shape)})") from None
    if basic:
        # NOTE: a view shares its base's version counter (as in torch), so changing either invalidates saved
        # copies of both. A recorded view is read-only: writing into it would change its base behind the back
        # of the base's graph (torch rebases the base; we refuse loudly rather than give wrong gradients).
        out._vc = input._counter()
        if out.requires_grad and out._data.base is not None:
            out._readonly = True
    return out


def _getitem(self: Tensor, key) -> Tensor:
    """``x[key]`` with NumPy/torch semantics; differentiable.

    ``key`` may hold ints, slices, ``None`` (new axis), ``...``, integer index arrays (tensors, NumPy arrays
    or lists; several broadcast together, as in NumPy and torch) and bool masks (which select the positions
    where they are True). Ints, slices, None and ``...`` alone give a view that shares memory (and the version
    counter) with ``x``; index arrays and masks give a copy. Gradients of repeated indices accumulate
    (``x[[0, 0]]`` sends ``2 * g`` to ``x[0]``). A view of a tensor that requires grad is read-only.

    Unlike torch, slices may have NEGATIVE steps (``x[::-1]`` reverses, as in NumPy).

    Example::

        >>> x = chainrule.arange(6.0).reshape(2, 3).requires_grad_()
        >>> x[:, ::-1]
        tensor([[2., 1., 0.],
                [5., 4., 3.]], grad_fn=<IndexBackward0>)
        >>> x[[0, 0], [1, 1]].sum().backward(); x.grad
        tensor([[0., 2., 0.],
                [0., 0., 0.]])
    """
    stages, basic, accumulate = parse_index(self._data.shape, key, "__getitem__")
    return _index(self, stages, basic, accumulate, "__getitem__")


def _value_shape_error(op: str, value_shape: tuple, target_shape: tuple) -> RuntimeError:
    return RuntimeError(f"{op}: a value of shape {tuple(value_shape)} cannot be broadcast to the indexed "
                        f"shape {tuple(target_shape)}")


def _index_put(x: Tensor, stages: tuple, accumulate: bool, value, op: str = "__setitem__") -> Tensor:
    """``x`` with the entries at ``stages`` replaced by ``value`` (broadcast, cast to ``x``'s dtype)."""
    target = _read(x._data, stages).shape
    v = cast_to(value, x._data.dtype)
    value_shape = v._data.shape
    extra = v._data.ndim - len(target)
    if extra > 0 and all(s == 1 for s in value_shape[:extra]):
        v = reshape(v, value_shape[extra:])  # NOTE: leading size-1 dims of the value are dropped, as in torch
    try:
        if xp.broadcast_shapes(v._data.shape, target) != target:
            raise ValueError
    except ValueError:
        raise _value_shape_error(op, value_shape, target) from None
    return apply(IndexPut, (x, broadcast_to(v, target)), stages=stages, accumulate=accumulate)


def _setitem(self: Tensor, key, value) -> None:
    """``x[key] = value``: write ``value`` (a number or a tensor, broadcast and cast to ``x``'s dtype).

    Keys are those of ``x[key]``. The write is in place and bumps ``x``'s version counter, so a backward that
    saved ``x`` (or a tensor sharing its memory) raises instead of using the new values. When ``x`` or
    ``value`` requires grad (outside ``no_grad``), ``x`` is rebased onto an out-of-place ``index_put``: the
    gradient flows to ``value`` and the overwritten region of the old ``x`` gets none. A leaf that requires
    grad cannot be written to outside ``no_grad``.

    Example::

        >>> x = chainrule.zeros(2, 3)
        >>> x[0, ::2] = 1.0
        >>> x
        tensor([[1., 0., 1.],
                [0., 0., 0.]])
    """
    if not isinstance(value, (Tensor, int, float, xp.number, xp.bool_)):
        raise TypeError(f"__setitem__: can't assign a {type(value).__name__} to a tensor; assign a Python "
                        "number or a Tensor")
    if _state.vmap_level is not None:  # NOTE: the key's index tensors too: each sample would write elsewhere
        items = key if key.__class__ is tuple else (key,)
        _state.vmap_level.check_inplace("__setitem__", (self, value) + items)
    stages, _, accumulate = parse_index(self._data.shape, key, "__setitem__")
    if self._readonly or not self._data.flags.writeable:
        raise RuntimeError(f"__setitem__: the tensor of shape {tuple(self._data.shape)} is a read-only view "
                           "(an indexing view of a tensor that requires grad, or an expand); write into the "
                           "base tensor or clone() it first")
    tracking = _state.grad_enabled and (self.requires_grad or
                                        (isinstance(value, Tensor) and value.requires_grad))
    if tracking:
        apply_inplace(self, "setitem", lambda x: _index_put(x, stages, accumulate, value), value)
        return
    array = value._data if isinstance(value, Tensor) else value
    try:
        _region(self._data, stages)[stages[-1]] = array
    except ValueError:
        raise _value_shape_error("__setitem__", xp.shape(array), _read(self._data, stages).shape) from None
    self._counter()[0] += 1
    self._vc[1] = "setitem"  # NOTE: the counter exists now (made by the line above)


Tensor.__getitem__ = _getitem
Tensor.__setitem__ = _setitem


# -- index arguments of gather, index_select, scatter_add --------------------------------------------

def _index_tensor(index, op: str) -> ndarray:
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype != xp.int64 and index._data.dtype != xp.int32:
        raise RuntimeError(f"{op}(): expected dtype int32 or int64 for index, got {index.dtype}")
    return index._data


def _mesh_stages(index: ndarray, dim: int) -> tuple:
    """The stages that read ``out[i, j, ..] = x[.., index[i, j, ..], ..]`` (``index`` along ``dim``).

    Every other dimension gets an ``arange`` shaped to broadcast against ``index`` (an open mesh, no copies).
    """
    n = index.ndim
    return (tuple(index if k == dim else xp.arange(s, like=index).reshape((s,) + (1,) * (n - k - 1))
                  for k, s in enumerate(index.shape)),)


def _check_gather_shapes(op: str, index: ndarray, dim: int, input_shape: tuple, src_shape=None) -> None:
    if index.ndim != len(input_shape):
        raise RuntimeError(f"{op}: index tensor must have the same number of dimensions as the input tensor "
                           f"(got index of shape {tuple(index.shape)} and input of shape "
                           f"{tuple(input_shape)})")
    for k, s in enumerate(index.shape):
        if (k != dim and s > input_shape[k]) or (src_shape is not None and s > src_shape[k]):
            against = "" if src_shape is None else f" and to be no larger than src {list(src_shape)}"
            raise RuntimeError(f"{op}: expected index {list(index.shape)} to be no larger than input "
                               f"{list(input_shape)} apart from dimension {dim}{against}")


def _lift_scalar(input: Tensor, index: ndarray) -> tuple:
    """torch treats a 0-d input with a 0-d or 1-d index as 1-d of one element in gather and scatter_add."""
    if input._data.ndim == 0 and index.ndim <= 1:
        return reshape(input, (1,)), index.reshape(-1)
    return input, index


# -- public ops --------------------------------------------------------------------------------------

@public(methods=("index_select",))
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``input`` at positions ``index`` along ``dim``; differentiable w.r.t. ``input``.

    ``index`` is a 1-D (or 0-d) int64/int32 tensor of length k; the result has ``input``'s shape with
    ``dim`` of size k. Repeated indices accumulate gradient.

    Example::

        >>> chainrule.index_select(chainrule.tensor([[1., 2.], [3., 4.]]), 0, chainrule.tensor([1, 1]))
        tensor([[3., 4.],
                [3., 4.]])
    """
    idx = _index_tensor(index, "index_select")
    d = _normalize_dim(dim, input._data.ndim, "index_select")
    if idx.ndim > 1:
        raise IndexError(f"index_select(): index is supposed to be a vector (0-d or 1-d), got shape "
                         f"{tuple(idx.shape)}")
    if input._data.ndim == 0:
        if idx.size != 1:
            raise IndexError(f"index_select(): index to a 0-d tensor can have only 1 value, got {idx.size}")
        check_range(idx, 1, 0, "index_select", negative=False)
        return _index(input, ((Ellipsis,),), True, False, "index_select")
    check_range(idx, input._data.shape[d], d, "index_select", negative=False)
    if idx.ndim == 0:
        idx = reshape(index, (1,))._data  # NOTE: an op, not NumPy, so that vmap can batch a batched index
    return _index(input, ((slice(None),) * d + (idx,),), False, True, "index_select")


def _gather(input: Tensor, dim: int, idx: ndarray, op: str, out_shape: tuple) -> Tensor:
    check_range(idx, input._data.shape[dim], dim, op, RuntimeError, negative=False)
    out = _index(input, _mesh_stages(idx, dim), False, True, op)
    return out if out._data.shape == out_shape else reshape(out, out_shape)


@public(methods=("gather",))
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j][k] = input[index[i][j][k]][j][k]`` for ``dim=0`` (and likewise for other dims).

    ``index`` (int64/int32) has ``input``'s number of dimensions and is no larger than ``input`` in every
    dimension but ``dim``; the result has ``index``'s shape. Repeated indices accumulate gradient.

    Example::

        >>> x = chainrule.tensor([[1., 2.], [3., 4.]])
        >>> chainrule.gather(x, 1, chainrule.tensor([[0, 0], [1, 0]]))
        tensor([[1., 1.],
                [4., 3.]])
    """
    idx = _index_tensor(index, "gather")
    d = _normalize_dim(dim, input._data.ndim, "gather")
    out_shape = idx.shape
    input, idx = _lift_scalar(input, idx)
    _check_gather_shapes("gather", idx, d, input._data.shape)
    return _gather(input, d, idx, "gather", out_shape)


@public(methods=("take_along_dim",))
def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """Pick values of ``input`` at ``indices`` along ``dim`` (NumPy's ``take_along_axis``).

    With ``dim=None`` both are flattened. Otherwise they have the same number of dimensions and broadcast
    against each other in every dimension but ``dim``; the result has the broadcast shape with ``indices``'s
    size along ``dim``.

    Example::

        >>> x = chainrule.tensor([[10., 30., 20.], [60., 40., 50.]])
        >>> chainrule.take_along_dim(x, x.argmax(dim=1, keepdim=True), dim=1)
        tensor([[30.],
                [60.]])
    """
    idx = _index_tensor(indices, "take_along_dim")
    if dim is None:
        # NOTE: ops, not NumPy, on the indices here and below, so that vmap can batch a batched index
        return _gather(reshape(input, (-1,)), 0, reshape(indices, (-1,))._data, "take_along_dim", (idx.size,))
    n = input._data.ndim
    if idx.ndim != n:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {n} dimensions for input, and {idx.ndim} dimensions for indices")
    d = _normalize_dim(dim, n, "take_along_dim")
    if n == 0:
        return _gather(*_lift_scalar(input, idx), 0, "take_along_dim", ())
    in_shape, idx_shape = list(input._data.shape), list(idx.shape)
    in_shape[d] = idx_shape[d] = 1
    try:
        shape = list(xp.broadcast_shapes(tuple(in_shape), tuple(idx_shape)))
    except ValueError:
        raise RuntimeError(f"take_along_dim(): input of shape {tuple(input._data.shape)} and indices of shape "
                           f"{tuple(idx.shape)} cannot be broadcast together apart from dimension {d}"
                           ) from None
    shape[d] = input._data.shape[d]
    input = broadcast_to(input, tuple(shape))
    shape[d] = idx.shape[d]
    return _gather(input, d, broadcast_to(indices, tuple(shape))._data, "take_along_dim", tuple(shape))


def _scatter_operands(op: str, input: Tensor, dim: int, index: Tensor, src: Tensor) -> tuple:
    """``(input, d, idx, src, out_shape)`` of a scatter after torch's checks: a 0-d input (with a 0-d or 1-d
    index) lifted to 1-d, ``src`` cropped to the leading ``index.shape`` block; ``out_shape`` is the result's."""
    if not isinstance(src, Tensor):
        raise TypeError(f"{op}(): argument 'src' must be Tensor, not {type(src).__name__}")
    idx = _index_tensor(index, op)
    if src._data.dtype != input._data.dtype:
        raise RuntimeError(f"{op}(): expected input and src to have the same dtype, got {input.dtype} and "
                           f"{src.dtype}")
    d = _normalize_dim(dim, input._data.ndim, op)
    out_shape = input._data.shape
    if input._data.ndim == 0 and src._data.ndim <= 1:
        input, idx = _lift_scalar(input, idx)
        src = reshape(src, (-1,))
    if src._data.ndim != idx.ndim:
        raise RuntimeError(f"{op}(): index and src must have the same number of dimensions, got "
                           f"shapes {tuple(idx.shape)} and {tuple(src._data.shape)}")
    _check_gather_shapes(f"{op}()", idx, d, input._data.shape, src._data.shape)
    check_range(idx, input._data.shape[d], d, f"{op}()", RuntimeError, negative=False)
    if src._data.shape != idx.shape:
        src = _index(src, (tuple(slice(0, s) for s in idx.shape),), True, False, f"{op}()")
    return input, d, idx, src, out_shape


def _shaped(out: Tensor, shape: tuple) -> Tensor:
    return out if out._data.shape == shape else reshape(out, shape)


@public(methods=("scatter_add",))
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim``: for ``dim=0``,
    ``out[index[i][j]][j] += src[i][j]``; repeated indices add up.

    ``index`` (int64/int32) has ``input``'s number of dimensions, is no larger than ``src`` anywhere and no
    larger than ``input`` apart from ``dim``; only the leading ``index.shape`` block of ``src`` is used.
    ``src`` must have ``input``'s dtype. Differentiable w.r.t. ``input`` and ``src``.

    Example::

        >>> index, src = chainrule.tensor([0, 2, 0]), chainrule.tensor([1., 2., 3.])
        >>> chainrule.scatter_add(chainrule.zeros(3), 0, index, src)
        tensor([4., 0., 2.])
    """
    input, d, idx, src, out_shape = _scatter_operands("scatter_add", input, dim, index, src)
    out = add(input, apply(IndexScatter, (src,), stages=_mesh_stages(idx, d), accumulate=True,
                           shape=input._data.shape))
    return _shaped(out, out_shape)


def _scatter_source(op: str, input: Tensor, index: Tensor, src, value) -> Tensor:
    """The tensor a scatter writes: ``src``, or ``value`` (a number) filled to ``index``'s shape."""
    if isinstance(src, (int, float, bool)) and value is None:
        src, value = None, src
    if (src is None) == (value is None):
        raise TypeError(f"{op}(): pass exactly one of src (a Tensor) and value (a number)")
    if src is not None:
        if isinstance(src, Tensor) and src._data.dtype != input._data.dtype:
            raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype, got {input.dtype} and "
                               f"{src.dtype}")
        return src
    if isinstance(value, Tensor):
        value = value.item()
    return _wrap(xp.full(_index_tensor(index, op).shape, number_array(value, input._data.dtype)))


@public(methods=("scatter",))
def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce: str | None = None
            ) -> Tensor:
    """A copy of ``input`` with ``src`` (or the number ``value``) written at ``index`` along ``dim``: for
    ``dim=0``, ``out[index[i][j]][j] = src[i][j]``.

    Shapes as in :func:`scatter_add`. With repeated indices the last write wins (torch leaves it
    unspecified). ``reduce='add'`` or ``'multiply'`` combines instead of writing (as :func:`scatter_reduce`
    with ``'sum'`` / ``'prod'``). Gradients: ``src`` gets the gradient at the positions it was written to
    (every copy of a repeated index); ``input`` gets it everywhere else (0 where overwritten).

    Example::

        >>> chainrule.scatter(chainrule.zeros(2, 3), 1, chainrule.tensor([[2], [0]]), 5.0)
        tensor([[0., 0., 5.],
                [5., 0., 0.]])
    """
    src = _scatter_source("scatter", input, index, src, value)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got {reduce!r}")
        return scatter_reduce(input, dim, index, src, "sum" if reduce == "add" else "prod")
    input, d, idx, src, out_shape = _scatter_operands("scatter", input, dim, index, src)
    return _shaped(apply(IndexPut, (input, src), stages=_mesh_stages(idx, d), accumulate=True), out_shape)


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _static_index(index: Tensor, op: str) -> None:
    """Refuse an index batched by vmap where its values are read on the host (into segment tables)."""
    level = _state.vmap_level
    if level is not None and level.physical(index) is not None:
        raise RuntimeError(f"vmap: {op} with an index batched by vmap is not supported (each sample would "
                           "group the entries differently); batch only the input and src, or loop")


def _segments(idx: ndarray, d: int, shape: tuple, include_self: bool) -> tuple:
    """The entries that reduce into each output position ``p`` of a scatter, as one padded row per ``p``:
    ``(from_x, x_at, from_src, src_at, sizes)``, each table of shape ``(numel, width)``. A slot holds
    ``input.ravel()[x_at]`` where ``from_x`` (``p``'s own entry, first, when it takes part), else
    ``src.ravel()[src_at]`` where ``from_src``, else padding; ``sizes[p]`` counts the real entries."""
    n = math.prod(shape)
    mesh = _mesh_stages(idx, d)[0]
    target = xp.ravel_multi_index(tuple(xp.broadcast_to(a, idx.shape) for a in mesh), shape).ravel()
    counts = xp.bincount(target, minlength=n)
    has_self = (counts == 0) | include_self
    sizes = counts + has_self
    width = int(sizes.max()) if n else 1
    from_x, x_at = xp.zeros((n, width), dtype=bool), xp.zeros((n, width), dtype=xp.int64)
    from_src, src_at = xp.zeros((n, width), dtype=bool), xp.zeros((n, width), dtype=xp.int64)
    from_x[:, 0] = has_self
    x_at[:, 0] = xp.arange(n)
    order = xp.argsort(target, kind="stable")
    ordered = target[order]
    slot = xp.arange(target.size) - (xp.cumsum(counts) - counts)[ordered] + has_self[ordered]
    from_src[ordered, slot] = True
    src_at[ordered, slot] = order
    return from_x, x_at, from_src, src_at, sizes


def _pad_value(reduce: str, dtype):
    """The identity of ``reduce`` in ``dtype`` (what pads a segment)."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -math.inf if reduce == "amax" else math.inf
    info = xp.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


@public(methods=("scatter_reduce",))
def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """``input`` with the entries of ``src`` reduced into the positions ``index`` names along ``dim``.

    ``reduce`` is ``'sum'``, ``'prod'``, ``'mean'``, ``'amax'`` or ``'amin'``; with ``include_self`` the
    entry of ``input`` takes part, otherwise it is replaced (positions nothing is scattered to keep
    ``input``). Integer ``'mean'`` rounds down. Shapes as in :func:`scatter_add`. Gradients as torch's:
    ``'prod'`` is exact with zeros, ``'amax'``/``'amin'`` share the gradient evenly between tied entries.

    NOTE: each output position gathers its entries into one padded row, and the existing reduction (sum,
    prod, amax, ...) reduces the rows: every rule, to any order, comes from those ops.

    Example::

        >>> x = chainrule.tensor([1., 2., 3.])
        >>> chainrule.scatter_reduce(x, 0, chainrule.tensor([0, 0, 2]), chainrule.tensor([5., 7., 1.]), "amax")
        tensor([7., 2., 3.])
    """
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"scatter_reduce(): reduce argument must be one of {', '.join(_REDUCTIONS)}, got "
                           f"{reduce!r}")
    input, d, idx, src, out_shape = _scatter_operands("scatter_reduce", input, dim, index, src)
    if reduce == "sum" and include_self:
        return _shaped(add(input, apply(IndexScatter, (src,), stages=_mesh_stages(idx, d), accumulate=True,
                                        shape=input._data.shape)), out_shape)
    _static_index(index, "scatter_reduce")
    if idx.size == 0:
        return _shaped(clone(input), out_shape)
    from_x, x_at, from_src, src_at, sizes = _segments(idx, d, input._data.shape, include_self)
    dtype = input._data.dtype
    flat_x, flat_src = reshape(input, (-1,)), reshape(src, (-1,))
    rows = where(_wrap(from_x), _index(flat_x, ((x_at,),), False, True, "scatter_reduce"),
                 where(_wrap(from_src), _index(flat_src, ((src_at,),), False, True, "scatter_reduce"),
                       _pad_value(reduce, dtype)))
    if reduce in ("sum", "mean"):
        out = rows.sum(1, dtype=input.dtype)
        if reduce == "mean":
            count = _wrap(sizes.astype(dtype))
            out = out / count if dtype.kind == "f" else out.div(count, rounding_mode="floor")
    else:
        out = getattr(rows, reduce)(1)
    return reshape(out, out_shape)


def _index_operands(op: str, input: Tensor, dim: int, index: Tensor, source) -> tuple:
    """``(input, d, stages, out_shape)`` of index_add/index_copy/index_fill: ``stages`` reads the slices
    ``index`` (0-d or 1-d) names along ``dim``; a 0-d input is lifted to 1-d."""
    idx = _index_tensor(index, op)
    if idx.ndim > 1:
        raise IndexError(f"{op}(): index should have dimension 1 or 0 (got {idx.ndim})")
    out_shape = input._data.shape
    if input._data.ndim == 0:
        input = reshape(input, (1,))
    d = _normalize_dim(dim, input._data.ndim, op)
    check_range(idx, input._data.shape[d], d, op, negative=False)
    if idx.ndim == 0:
        idx = reshape(index, (1,))._data  # NOTE: an op, not NumPy, so that vmap can batch a batched index
    if op != "index_fill" and not isinstance(source, Tensor):
        raise TypeError(f"{op}(): argument 'source' must be Tensor, not {type(source).__name__}")
    if isinstance(source, Tensor):
        if source._data.dtype != input._data.dtype:
            raise RuntimeError(f"{op}(): self ({input.dtype}) and source ({source.dtype}) must have the same "
                               "scalar type")
        expected = input._data.shape[:d] + (idx.size,) + input._data.shape[d + 1:]
        if source._data.shape != expected and not (source._data.ndim == 0 and expected == (1,)):
            error = IndexError if op == "index_copy" else RuntimeError  # NOTE: torch's types differ here
            raise error(f"{op}(): source of shape {tuple(source._data.shape)} does not fit: with {idx.size} "
                        f"indices along dim {d} of an input of shape {tuple(input._data.shape)} it must have "
                        f"shape {expected}")
    return input, d, ((slice(None),) * d + (idx,),), out_shape


@public(methods=("index_add",))
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source[i]`` added to the slice ``index[i]`` along ``dim``; repeated
    indices add up. ``source`` has ``input``'s shape with ``len(index)`` along ``dim``.

    Example::

        >>> chainrule.index_add(chainrule.zeros(3), 0, chainrule.tensor([0, 0]), chainrule.tensor([1., 2.]))
        tensor([3., 0., 0.])
    """
    x, d, stages, out_shape = _index_operands("index_add", input, dim, index, source)
    added = source if alpha == 1 else source * alpha
    scattered = apply(IndexScatter, (reshape(added, x._data.shape[:d] + (-1,) + x._data.shape[d + 1:]),),
                      stages=stages, accumulate=True, shape=x._data.shape)
    return _shaped(add(x, scattered), out_shape)


@public(methods=("index_copy",))
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with the slice ``index[i]`` along ``dim`` replaced by ``source[i]`` (the last
    write wins for repeated indices). ``input`` gets no gradient at the replaced slices.

    Example::

        >>> chainrule.index_copy(chainrule.zeros(3), 0, chainrule.tensor([2]), chainrule.tensor([5.]))
        tensor([0., 0., 5.])
    """
    x, d, stages, out_shape = _index_operands("index_copy", input, dim, index, source)
    source = reshape(source, x._data.shape[:d] + (-1,) + x._data.shape[d + 1:])
    return _shaped(apply(IndexPut, (x, source), stages=stages, accumulate=True), out_shape)


@public(methods=("index_fill",))
def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of ``input`` with the slices ``index`` names along ``dim`` set to ``value`` (a number or a 0-d
    tensor, which receives the summed gradient of the filled positions).

    Example::

        >>> chainrule.index_fill(chainrule.zeros(2, 3), 1, chainrule.tensor([0, 2]), 1.0)
        tensor([[1., 0., 1.],
                [1., 0., 1.]])
    """
    x, d, stages, out_shape = _index_operands("index_fill", input, dim, index, None)
    picked = _read(xp.zeros(x._data.shape, dtype=bool), stages).shape
    mask = apply(IndexPut, (_wrap(xp.zeros(x._data.shape, dtype=bool)), _wrap(xp.ones(picked, dtype=bool))),
                 stages=stages, accumulate=True)
    return _shaped(masked_fill(x, mask, value), out_shape)


@public(methods=("index_put",))
def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` with ``values`` written at ``input[indices]`` (``indices``: a tuple of index tensors, as in
    ``x[indices] = values``); with ``accumulate=True`` they are added instead (repeated positions add up).

    Example::

        >>> x = chainrule.zeros(2, 2)
        >>> chainrule.index_put(x, (chainrule.tensor([0, 0]), chainrule.tensor([1, 1])),
        ...                     chainrule.tensor([1., 2.]), accumulate=True)
        tensor([[0., 3.],
                [0., 0.]])
    """
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put(): argument 'indices' must be a tuple of Tensors, not {type(indices).__name__}")
    stages, _, repeats = parse_index(input._data.shape, tuple(indices), "index_put")
    if not accumulate:
        return _index_put(input, stages, repeats, values, "index_put")
    target = _read(input._data, stages).shape
    v = broadcast_to(cast_to(values, input._data.dtype), target)
    return add(input, apply(IndexScatter, (v,), stages=stages, accumulate=True, shape=input._data.shape))


def _bool_mask(mask, op: str) -> Tensor:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask._data.dtype != xp.bool_:
        raise RuntimeError(f"{op}: only supports boolean masks, but got mask with dtype {mask.dtype}")
    return mask


def _broadcast_mask_shape(input: Tensor, mask: Tensor, op: str) -> tuple:
    try:
        return xp.broadcast_shapes(input._data.shape, mask._data.shape)
    except ValueError:
        raise RuntimeError(f"{op}: the mask of shape {tuple(mask._data.shape)} cannot be broadcast with the "
                           f"input of shape {tuple(input._data.shape)}") from None


@public(methods=("masked_fill",))
def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` where the bool ``mask`` is True (``mask`` and ``input`` broadcast together).

    ``value`` is a Python number or a 0-d tensor (which then receives the summed gradient of the filled
    positions); it is cast to ``input``'s dtype.

    Example::

        >>> chainrule.tensor([1., 2., 3.]).masked_fill(chainrule.tensor([True, False, True]), 0.0)
        tensor([0., 2., 0.])
    """
    _bool_mask(mask, "masked_fill")
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"masked_fill: only supports a 0-dimensional value tensor, but got a tensor "
                               f"of shape {tuple(value._data.shape)}")
    elif not isinstance(value, (int, float, xp.number, xp.bool_)):
        raise TypeError(f"masked_fill(): value must be a Python number or a 0-d Tensor, not "
                        f"{type(value).__name__}")
    _broadcast_mask_shape(input, mask, "masked_fill")
    return where(mask, cast_to(value, input._data.dtype), input)


@public(methods=("masked_select",))
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The entries of ``input`` where the bool ``mask`` is True, as a 1-D tensor (the two broadcast together).

    Example::

        >>> chainrule.masked_select(chainrule.tensor([[1., 2.], [3., 4.]]), chainrule.tensor([True, False]))
        tensor([1., 3.])
    """
    _bool_mask(mask, "masked_select")
    shape = _broadcast_mask_shape(input, mask, "masked_select")
    m = xp.broadcast_to(mask._data, shape)
    return _index(broadcast_to(input, shape), ((m,),), False, False, "masked_select")


class NonZero(Primitive):
    """NOTE: the output's length depends on the values, so a transform that needs static shapes stops here."""

    name = "nonzero"
    doc = "The int64 indices of the non-zero entries of ``x``, one row per entry in row-major order."
    differentiable = False
    dynamic_shape = True

    @staticmethod
    def forward(ctx, x):
        return xp.argwhere(x).astype(xp.int64, copy=False)

    @staticmethod
    def batch_rule(inputs, batched, params):
        raise RuntimeError("vmap: nonzero would read the values of a batched tensor: its output's length depends "
                           "on each sample's values, so it cannot be batched; use a mask with chainrule.where")


@public(methods=("nonzero",))
def nonzero(input: Tensor, *, as_tuple: bool = False):
    """The indices of the non-zero entries of ``input`` (not differentiable).

    An int64 tensor of shape (number of non-zeros, ``input.ndim``), one row per entry in row-major order; with
    ``as_tuple=True``, one 1-D index tensor per dimension (a 0-d input counts as 1-d), usable as ``x[...]``.

    Example::

        >>> chainrule.nonzero(chainrule.tensor([[0, 1], [2, 0]]))
        tensor([[0, 1],
                [1, 0]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"nonzero(): argument 'input' must be Tensor, not {type(input).__name__}")
    out = apply(NonZero, (input,))
    if as_tuple:
        # NOTE: a 0-d input has no index columns; torch gives one all-zero index per non-zero.
        return tuple(out[:, d] for d in range(out._data.shape[1])) if input._data.ndim else (out.sum(1),)
    return out


@public(methods=("masked_scatter",))
def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with the positions where the bool ``mask`` is True filled, in row-major order, by the leading
    entries of ``source`` (which needs at least that many); ``input`` and ``mask`` broadcast together.

    Example::

        >>> chainrule.masked_scatter(chainrule.zeros(3), chainrule.tensor([True, False, True]),
        ...                          chainrule.tensor([1., 2., 3.]))
        tensor([1., 0., 2.])
    """
    _bool_mask(mask, "masked_scatter")
    if not isinstance(source, Tensor):
        raise TypeError(f"masked_scatter(): argument 'source' must be Tensor, not {type(source).__name__}")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"masked_scatter(): expected self and source to have same dtypes but got "
                           f"{input.dtype} and {source.dtype}")
    shape = _broadcast_mask_shape(input, mask, "masked_scatter")
    m = xp.broadcast_to(mask._data, shape)
    count = int(m.sum())
    if source._data.size < count:
        raise RuntimeError(f"masked_scatter(): number of elements of source ({source._data.size}) < number of "
                           f"ones in mask ({count})")
    taken = reshape(source, (-1,)).narrow(0, 0, count)
    return apply(IndexPut, (broadcast_to(input, shape), taken), stages=((m,),), accumulate=False)


@public(methods=("take",))
def take(input: Tensor, index: Tensor) -> Tensor:
    """The entries of ``input``, read as 1-D, at ``index`` (any shape; negative counts from the end); the
    result has ``index``'s shape. Repeated indices accumulate gradient.

    Example::

        >>> chainrule.take(chainrule.tensor([[1., 2.], [3., 4.]]), chainrule.tensor([0, -1]))
        tensor([1., 4.])
    """
    idx = _index_tensor(index, "take")
    size = input._data.size
    if idx.size and idx.__class__ is ndarray and (idx.min() < -size or idx.max() >= size):
        bad = int(idx.min() if idx.min() < -size else idx.max())
        raise IndexError(f"take(): out of range: tried to access index {bad} on a tensor of {size} elements")
    return _index(reshape(input, (-1,)), ((idx,),), False, True, "take")


@public(methods=("argwhere",))
def argwhere(input: Tensor) -> Tensor:
    """The indices of the non-zero entries of ``input``, one row each (``nonzero(input)``); int64."""
    return nonzero(input)


def _inplace(name: str, fn):
    """The in-place method of ``fn``: ``self`` takes the value of ``fn(self, *args)``."""
    def op(self: Tensor, *args, **kwargs) -> Tensor:
        others = tuple(a for a in args + tuple(kwargs.values()) if isinstance(a, Tensor))
        return apply_inplace(self, name, lambda x: fn(x, *args, **kwargs), *others)
    op.__name__ = name
    op.__doc__ = f"In-place :func:`{fn.__name__}`: updates this tensor and returns it."
    return op


for _fn in (scatter_add, scatter, scatter_reduce, index_add, index_copy, index_fill, masked_fill, masked_scatter):
    method(_fn.__name__ + "_")(_inplace(_fn.__name__ + "_", _fn))
index_put_ = public(methods=("index_put_",))(_inplace("index_put_", index_put))  # NOTE: torch.index_put_ too

__all__ = exports(__name__)
