"""Sorting and selection: sort, argsort, msort, topk, unique, unique_consecutive, searchsorted, bucketize.

Outputs that are a selection of the input's entries (sorted values, the top k) are composites: a
non-differentiable primitive computes the int64 indices and :func:`~chainrule.take_along_dim` reads the values,
so the gradient goes back to the selected positions and second derivatives, forward mode and vmap come from
the gather. Sorting is always stable (torch sorts stably on the CPU too); NaN sorts as the largest value, last
in ascending and first in descending order, as in torch.
"""

from __future__ import annotations

from collections import namedtuple

from .. import _dtype
from .._backend import xp
from ..tensor import Tensor, _normalize_dim, _wrap
from ._primitive import Param, Primitive, apply, batch_size, exports, materialize, public, shift_dim
from .cast import number_array
from .indexing import take_along_dim
from .shape import reshape

sort_result = namedtuple("sort", ("values", "indices"))
topk_result = namedtuple("topk", ("values", "indices"))

_DIM = Param("dim", int, "the dimension sorted along")


def _check_tensor(x, op: str, name: str = "input") -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")


def stable_argsort(x, axis: int, descending: bool):
    """The stable argsort of array ``x`` along ``axis`` (int64), NaN largest.

    NOTE: a descending stable sort keeps equal keys in their original order: sorting the reversed array
    ascending and reversing the result does that (and puts NaN, last ascending, first).
    """
    if not descending:
        return xp.argsort(x, axis=axis, kind="stable").astype(xp.int64, copy=False)
    n = x.shape[axis]
    flipped = xp.argsort(xp.flip(x, axis), axis=axis, kind="stable")
    return xp.flip(n - 1 - flipped, axis).astype(xp.int64, copy=False)


class SortIndices(Primitive):
    name = "argsort"
    params = (_DIM, Param("descending", bool, "largest first"))
    doc = "The int64 positions that sort ``x`` along ``dim`` (stable; NaN largest)."
    differentiable = False
    batch_params = staticmethod(shift_dim)

    @staticmethod
    def forward(ctx, x, dim, descending):
        return stable_argsort(x, dim, descending)


def sort_indices(input: Tensor, dim: int, descending: bool, op: str) -> tuple:
    """``(x, d, indices)``: ``input`` (a 0-d one as 1-d), the normalised ``dim`` and the sorting indices."""
    _check_tensor(input, op)
    x = input if input._data.ndim else reshape(input, (1,))
    d = _normalize_dim(dim, x._data.ndim, op)
    return x, d, apply(SortIndices, (x,), dim=d, descending=bool(descending))


def _like_input(t: Tensor, input: Tensor) -> Tensor:
    return t if input._data.ndim else reshape(t, ())


@public(methods=("sort",))
def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """``(values, indices)``: ``input`` sorted along ``dim``, and the positions the values came from.

    The sort is always stable (``stable=True`` changes nothing): equal values keep their order. NaN is the
    largest value. The gradient of ``values`` goes back to the positions ``indices`` names. Shapes: both
    outputs have ``input``'s shape; ``indices`` is int64.

    Example::

        >>> chainrule.sort(chainrule.tensor([3., 1., 2.]), descending=True)
        sort(values=tensor([3., 2., 1.]), indices=tensor([0, 2, 1]))
    """
    x, d, indices = sort_indices(input, dim, descending, "sort")
    return sort_result(_like_input(take_along_dim(x, indices, d), input), _like_input(indices, input))


@public(methods=("argsort",))
def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The int64 positions that sort ``input`` along ``dim`` (stable, NaN largest); not differentiable.

    Example::

        >>> chainrule.argsort(chainrule.tensor([3., 1., 2., 1.]))
        tensor([1, 3, 2, 0])
    """
    _, _, indices = sort_indices(input, dim, descending, "argsort")
    return _like_input(indices, input)


@public(methods=("msort",))
def msort(input: Tensor) -> Tensor:
    """``input`` sorted along its first dimension (``sort(input, dim=0).values``)."""
    return sort(input, 0).values


@public(methods=("topk",))
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """``(values, indices)`` of the ``k`` largest (or, with ``largest=False``, smallest) entries along ``dim``.

    The result is always sorted (largest first, or smallest first); among equal values the earlier position
    comes first. Shapes: ``input``'s shape with ``dim`` of size ``k``; ``indices`` is int64.

    Example::

        >>> chainrule.topk(chainrule.tensor([1., 5., 3., 4.]), 2)
        topk(values=tensor([5., 4.]), indices=tensor([1, 3]))
    """
    x, d, indices = sort_indices(input, dim, largest, "topk")
    n = x._data.shape[d]
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"topk(): argument 'k' must be int, not {type(k).__name__}")
    if not 0 <= k <= n:
        raise RuntimeError(f"topk(): selected index k out of range: k={k} for dimension {d} of size {n}")
    indices = indices.narrow(d, 0, k)
    return topk_result(_like_input(take_along_dim(x, indices, d), input), _like_input(indices, input))


# -- unique --------------------------------------------------------------------------------------------

class Unique(Primitive):
    """NOTE: the output's length depends on the values, so vmap cannot batch it (as for ``nonzero``)."""

    name = "unique"
    params = (Param("dim", (int, None), "the dimension whose slices are compared (None: the flattened input)"),
              Param("consecutive", bool, "merge only runs of equal neighbours (unique_consecutive)"))
    doc = "The distinct entries (or slices along ``dim``) of ``x``, the inverse indices and the counts."
    differentiable = False
    dynamic_shape = True
    n_outputs = 3

    @staticmethod
    def forward(ctx, x, dim, consecutive):
        if dim is None:
            rows = x.reshape(-1, 1)
            shape = x.shape
        else:
            rows = xp.moveaxis(x, dim, 0)
            rows = rows.reshape(rows.shape[0], -1)
            shape = (x.shape[dim],)
        n = rows.shape[0]
        order = xp.arange(n) if consecutive else xp.lexsort(rows.T[::-1]) if rows.shape[1] else xp.arange(n)
        ordered = rows[order]
        # NOTE: NaN != NaN, so every NaN is distinct, as in torch.
        new = xp.ones(n, dtype=bool)
        if n > 1:
            new[1:] = (ordered[1:] != ordered[:-1]).any(axis=1) if rows.shape[1] else False
        group = xp.cumsum(new) - 1
        inverse = xp.empty(n, dtype=xp.int64)
        inverse[order] = group
        starts = xp.flatnonzero(new)
        counts = xp.diff(xp.append(starts, n)).astype(xp.int64)
        values = ordered[starts]
        if dim is None:
            values = values.reshape(-1)
        else:
            values = xp.moveaxis(values.reshape((len(starts),) + xp.moveaxis(x, dim, 0).shape[1:]), 0, dim)
        return xp.ascontiguousarray(values), inverse.reshape(shape), counts

    @staticmethod
    def batch_rule(inputs, batched, params):
        raise RuntimeError("vmap: unique would read the values of a batched tensor: its output's length depends "
                           "on each sample's values, so it cannot be batched")


def _unique(op: str, input: Tensor, return_inverse: bool, return_counts: bool, dim, consecutive: bool):
    _check_tensor(input, op)
    d = None if dim is None else _normalize_dim(dim, input._data.ndim, op)
    if d is not None and input._data.ndim == 0:
        raise IndexError(f"{op}(): dim={dim} is out of range for a 0-d tensor; use dim=None")
    values, inverse, counts = apply(Unique, (input,), dim=d, consecutive=consecutive)
    if not (return_inverse or return_counts):
        return values
    return (values,) + ((inverse,) if return_inverse else ()) + ((counts,) if return_counts else ())


@public(methods=("unique",))
def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: int | None = None):
    """The distinct entries of ``input`` in ascending order (with ``dim``: the distinct slices along it).

    Returns the values alone, or a tuple ``(values, inverse, counts)`` with the parts asked for:
    ``inverse`` (int64, ``input``'s shape, or ``(input.shape[dim],)``) maps each entry to its value's
    position and ``counts`` (int64) says how often each value occurs. The result is always sorted, as on
    torch's CPU (``sorted=False`` changes nothing); every NaN is distinct. Not differentiable.

    Example::

        >>> chainrule.unique(chainrule.tensor([3, 1, 3]), return_counts=True)
        (tensor([1, 3]), tensor([1, 2]))
    """
    return _unique("unique", input, return_inverse, return_counts, dim, False)


@public(methods=("unique_consecutive",))
def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None):
    """Each run of equal neighbouring entries (or slices along ``dim``) reduced to one; see :func:`unique`.

    Example::

        >>> chainrule.unique_consecutive(chainrule.tensor([1, 1, 2, 1]))
        tensor([1, 2, 1])
    """
    return _unique("unique_consecutive", input, return_inverse, return_counts, dim, True)


# -- searching sorted sequences ----------------------------------------------------------------------

class SearchSorted(Primitive):
    name = "searchsorted"
    inputs = ("sorted_sequence", "x")
    params = (Param("right", bool, "return the last suitable position instead of the first"),
              Param("dtype", object, "the NumPy dtype of the result (int64 or int32)"))
    doc = "For each entry of ``x``, its insertion position in the rows of ``sorted_sequence``."
    differentiable = False

    @staticmethod
    def forward(ctx, seq, x, right, dtype):
        side = "right" if right else "left"
        if seq.ndim == 1:
            return xp.searchsorted(seq, x, side=side).astype(dtype)
        rows, values = seq.reshape(-1, seq.shape[-1]), x.reshape(-1, x.shape[-1])
        out = [xp.searchsorted(r, v, side=side) for r, v in zip(rows, values)]
        return xp.asarray(out, dtype=dtype).reshape(x.shape)

    @staticmethod
    def batch_rule(inputs, batched, params):
        seq, x = inputs
        if not batched[0] and seq._data.ndim == 1:  # NOTE: one shared 1-D sequence serves any shape of x
            return apply(SearchSorted, (seq, x), **params)
        size = batch_size(inputs, batched)
        seq, x = materialize(seq, batched[0], size), materialize(x, batched[1], size)
        shape = x._data.shape
        if seq._data.ndim == 2:  # NOTE: one 1-D sequence per sample: each sample's values become one row
            x = reshape(x, (size, -1))
        return reshape(apply(SearchSorted, (seq, x), **params), shape)


def _search(op: str, seq: Tensor, values, right: bool, out_int32: bool, sorter=None) -> Tensor:
    _check_tensor(seq, op, "sorted_sequence" if op == "searchsorted" else "boundaries")
    scalar = not isinstance(values, Tensor)
    x = _wrap(number_array(values, seq._data.dtype)) if scalar else values
    if sorter is not None:
        _check_tensor(sorter, op, "sorter")
        if sorter._data.shape != seq._data.shape or sorter._data.dtype.kind not in "iu":
            raise RuntimeError(f"{op}(): sorter must be an integer tensor of the sorted_sequence's shape "
                               f"{tuple(seq._data.shape)}, got {sorter.dtype} of shape "
                               f"{tuple(sorter._data.shape)}")
        seq = take_along_dim(seq, sorter, -1)
    s, v = seq._data, x._data
    if s.ndim == 0:
        raise RuntimeError(f"{op}(): the sorted sequence must have at least one dimension, got a 0-d tensor")
    if s.ndim > 1 and (v.ndim != s.ndim or v.shape[:-1] != s.shape[:-1]):
        raise RuntimeError(f"{op}(): boundaries tensor should be 1 dimension or the first N-1 dimensions of "
                           f"boundaries tensor and input value tensor must match, but we got boundaries tensor "
                           f"{list(s.shape)} and input value tensor {list(v.shape)}")
    if s.dtype != v.dtype:
        common = _dtype.promote_types(seq.dtype, x.dtype)
        seq, x = seq.to(common), x.to(common)
    dtype = xp.int32 if out_int32 else xp.int64
    return apply(SearchSorted, (seq, x), right=bool(right), dtype=dtype)


@public()
def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None) -> Tensor:
    """For each entry of ``input``, the position in the last dimension of ``sorted_sequence`` where it would
    be inserted to keep it sorted: the first such position, or the last with ``right=True`` /
    ``side='right'``. ``sorted_sequence`` is 1-D or shares ``input``'s leading dimensions; ``sorter`` holds
    the positions that sort an unsorted sequence. ``input`` may be a Python number (the result is then 0-d).
    int64 (int32 with ``out_int32``), not differentiable.

    Example::

        >>> chainrule.searchsorted(chainrule.tensor([1, 3, 5, 7]), chainrule.tensor([3, 6, 9]))
        tensor([1, 3, 4])
    """
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"searchsorted(): side can only be 'left' or 'right' but got {side!r}")
        if right and side == "left":
            raise RuntimeError("searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    return _search("searchsorted", sorted_sequence, input, right, out_int32, sorter)


@public()
def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The index of the bucket of each entry of ``input``, for 1-D ascending ``boundaries``:
    ``boundaries[i-1] < x <= boundaries[i]`` (with ``right=True``: ``boundaries[i-1] <= x < boundaries[i]``).
    Equal to ``searchsorted(boundaries, input, right=right)``. int64 (int32 with ``out_int32``).

    Example::

        >>> chainrule.bucketize(chainrule.tensor([3, 6, 9]), chainrule.tensor([1, 3, 5, 7]))
        tensor([1, 3, 4])
    """
    _check_tensor(boundaries, "bucketize", "boundaries")
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"bucketize(): boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries._data.ndim})")
    return _search("bucketize", boundaries, input, right, out_int32)


__all__ = exports(__name__)
