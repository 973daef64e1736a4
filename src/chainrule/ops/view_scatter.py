"""Views and their scatters: ``Tensor.unfold`` (the sliding windows along one dimension), torch's out-of-place
embeddings into a copy of ``input``, the inverses of the views ``diagonal``, ``select`` and slicing
(``diagonal_scatter``, ``select_scatter``, ``slice_scatter``), ``Tensor.fill_diagonal_``, and the scatters
by flat index (``put``) and by index along a dimension (``index_reduce``).

Composites of ``index_select``, ``index_copy``, ``index_put`` and ``scatter_reduce`` (out of place, so vmap, forward
mode and gradients of every order come from them).
"""

from __future__ import annotations

from .. import _dtype
from ..creation import arange, full, tensor
from ..tensor import Tensor, _normalize_dim
from ._primitive import exports, method, public
from .arith import where
from .indexing import index_copy, index_put, index_select, scatter_reduce
from .inplace import apply_inplace, inplace_method
from .shape import movedim
from .special import require_tensors


def _check_src(src: Tensor, expected: tuple) -> None:
    if tuple(src._data.shape) != tuple(expected):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src._data.shape)}, slice size = {list(expected)}")


def _without(shape: tuple, *dims: int) -> tuple:
    return tuple(n for d, n in enumerate(shape) if d not in dims)


@method("unfold")
def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Every window of ``size`` elements along ``dimension``, ``step`` apart: that dimension becomes the number of
    windows ``(L - size) // step + 1`` and a last dimension of ``size`` is added (torch's ``Tensor.unfold``; a
    copy, not a view).

    Example::

        >>> chainrule.arange(6.).unfold(0, 3, 2)
        tensor([[0., 1., 2.],
                [2., 3., 4.]])
    """
    shape = tuple(self._data.shape)
    d = _normalize_dim(dimension, max(len(shape), 1), "unfold")
    length = shape[d] if shape else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    x = self.reshape(1) if not shape else self
    count = (length - size) // step + 1
    starts = arange(count, dtype=_dtype.int64, device=self.device) * step
    index = (starts.unsqueeze(1) + arange(size, dtype=_dtype.int64, device=self.device)).reshape(-1)
    windows = index_select(x, d, index).reshape(x._data.shape[:d] + (count, size) + x._data.shape[d + 1:])
    out = movedim(windows, d + 1, -1)
    return out.reshape(size) if not shape else out


@public(methods=("diagonal_scatter",))
def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` written on its diagonal ``input.diagonal(offset, dim1, dim2)`` (``src`` has
    that diagonal's shape: the other dimensions, then the diagonal's length)."""
    require_tensors("diagonal_scatter", ("input", input), ("src", src))
    shape = tuple(input._data.shape)
    d1, d2 = _normalize_dim(dim1, len(shape), "diagonal_scatter"), _normalize_dim(dim2, len(shape), "diagonal_scatter")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    length = max(0, min(shape[d1] - max(0, -offset), shape[d2] - max(0, offset)))
    _check_src(src, _without(shape, d1, d2) + (length,))
    steps = arange(length, dtype=_dtype.int64, device=input.device)
    rows, cols = steps + max(0, -offset), steps + max(0, offset)
    front = movedim(input, (d1, d2), (0, 1))
    return movedim(index_put(front, (rows, cols), movedim(src, -1, 0)), (0, 1), (d1, d2))


@public(methods=("select_scatter",))
def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``src`` written at ``input.select(dim, index)`` (``src`` has that slice's shape)."""
    require_tensors("select_scatter", ("input", input), ("src", src))
    shape = tuple(input._data.shape)
    d = _normalize_dim(dim, len(shape), "select_scatter")
    if not -shape[d] <= index < shape[d]:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(shape)} at dimension {d}")
    _check_src(src, _without(shape, d))
    position = tensor([index % shape[d]], dtype=_dtype.int64, device=input.device)
    return index_copy(input, d, position, src.unsqueeze(d))


@public(methods=("slice_scatter",))
def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
                  step: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` written at ``input[..., start:end:step, ...]`` along ``dim`` (``src`` has
    that slice's shape; ``step`` positive)."""
    require_tensors("slice_scatter", ("input", input), ("src", src))
    shape = tuple(input._data.shape)
    d = _normalize_dim(dim, len(shape), "slice_scatter")
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    positions = list(range(shape[d])[start:end:step])
    _check_src(src, shape[:d] + (len(positions),) + shape[d + 1:])
    index = tensor(positions, dtype=_dtype.int64, device=input.device)
    return index_copy(input, d, index, src)


@public(methods=("put",))
def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source``'s elements written at the flat (row-major) positions ``index``
    (``accumulate``: added instead; repeated indices then sum)."""
    require_tensors("put", ("input", input), ("index", index), ("source", source))
    if index._data.size != source._data.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                         f"source.numel() = {source._data.size}, index.numel() = {index._data.size}")
    flat = index_put(input.reshape(-1), (index.reshape(-1),), source.reshape(-1), accumulate)
    return flat.reshape(input._data.shape)


_INDEX_REDUCTIONS = ("prod", "mean", "amax", "amin")


@public(methods=("index_reduce",))
def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """A copy of ``input`` where each slice ``source.select(dim, i)`` is reduced (``'prod'``, ``'mean'``,
    ``'amax'``, ``'amin'``) into ``input.select(dim, index[i])``; ``include_self``: ``input``'s own values take
    part. :func:`scatter_reduce` with ``index`` spread along ``dim``."""
    require_tensors("index_reduce", ("input", input), ("index", index), ("source", source))
    if reduce not in _INDEX_REDUCTIONS:
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    d = _normalize_dim(dim, max(source._data.ndim, 1), "index_reduce")
    spread = index.reshape([-1 if k == d else 1 for k in range(source._data.ndim)]).expand(*source._data.shape)
    return scatter_reduce(input, d, spread, source, reduce, include_self=include_self)


for _fn in (put, index_reduce):
    inplace_method(_fn.__name__ + "_", _fn)


@method("fill_diagonal_")
def fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Write ``fill_value`` on the main diagonal, in place: ``(i, i, ..., i)`` for a tensor whose dimensions are all
    equal, ``(i, i)`` for ``i < min(rows, cols)`` of a matrix; ``wrap=True``: a tall matrix's diagonal restarts
    every ``cols + 1`` rows (as torch, which steps through the storage)."""
    shape = tuple(self._data.shape)
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    # NOTE: the diagonal's elements are every step-th element of the row-major order (step: the sum of the
    # strides), up to the diagonal's length, or to the end when a wrapped matrix's diagonal restarts.
    strides = [1]
    for n in reversed(shape[1:]):
        strides.insert(0, strides[0] * n)
    step, numel = sum(strides), int(self._data.size)
    limit = numel if wrap and len(shape) == 2 and shape[0] > shape[1] + 1 else min(shape) * step
    flat = arange(numel, dtype=_dtype.int64, device=self.device)
    mask = ((flat % step == 0) & (flat < limit)).reshape(shape)
    value = full((), fill_value, dtype=self.dtype, device=self.device)
    return apply_inplace(self, "fill_diagonal_", lambda x: where(mask, value, x))


__all__ = exports(__name__)
