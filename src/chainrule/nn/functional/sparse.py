"""``embedding`` (a lookup table of rows), ``embedding_bag`` (sums, means or maxima of bags of rows) and
``one_hot`` (class indices to indicator vectors)."""

from __future__ import annotations

from ... import _dtype, creation
from ..._backend import xp
from ...ops.arith import where
from ...ops.indexing import index_select
from ...ops.join import cat
from ...ops.shape import int_arg
from ...tensor import Tensor, _wrap

__all__ = ["embedding", "embedding_bag", "one_hot"]


def _check_indices(op: str, input: Tensor) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected tensor for argument #1 'indices' to have one of the following "
                           f"scalar types: Long, Int; but got {input.dtype} instead")


def _renorm_rows(weight: Tensor, rows, max_norm: float, norm_type: float) -> None:
    # NOTE: like torch's embedding_renorm_, rescales the looked-up rows of the weight itself, in place.
    data = weight._data
    norms = xp.linalg.norm(data[rows], ord=norm_type, axis=1)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    data[rows] *= scale[:, None].astype(data.dtype)
    weight._counter()[0] += 1


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) at the indices ``input`` (*): (*, embedding_dim).

    Row ``padding_idx`` gets no gradient. ``max_norm`` rescales, in place, looked-up rows whose
    ``norm_type``-norm exceeds it. ``scale_grad_by_freq`` divides each row's gradient by how often it occurs
    in ``input``. ``sparse`` is accepted for compatibility; gradients are always dense here.

    Example::

        >>> embedding(chainrule.tensor([[0, 2]]), chainrule.eye(3)).shape
        chainrule.Size([1, 2, 3])
    """
    _check_indices("embedding", input)
    if not isinstance(weight, Tensor) or weight._data.ndim != 2:
        raise RuntimeError("embedding: weight must be a 2-D tensor (num_embeddings, embedding_dim)")
    num, dim = weight._data.shape
    idx = input._data.reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError(f"embedding: index out of range in self (indices must be in [0, {num}), got values "
                         f"in [{idx.min()}, {idx.max()}])")
    if padding_idx is not None:
        padding_idx = int_arg(padding_idx, "embedding", "padding_idx")
        if not -num <= padding_idx < num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= num
    if max_norm is not None:
        _renorm_rows(weight, xp.unique(idx), max_norm, norm_type)
    flat = input.reshape(-1)
    rows = index_select(weight, 0, flat)
    if rows.requires_grad and (scale_grad_by_freq or padding_idx is not None):
        # NOTE: built from ops (not from the indices' values), so vmap and recorded programs handle it.
        scale = _wrap(xp.ones((), dtype=weight._data.dtype))
        if scale_grad_by_freq:
            counts = (flat.unsqueeze(1) == _wrap(xp.arange(num))).sum(0)
            scale = scale / index_select(counts, 0, flat).to(weight.dtype)
        if padding_idx is not None:
            scale = where(flat == padding_idx, 0.0, scale)
        # NOTE: rows.detach() + (rows - rows.detach()) * s equals rows exactly and has gradient s * g.
        frozen = rows.detach()
        rows = frozen + (rows - frozen) * scale.reshape(-1, 1)
    return rows.reshape(tuple(input._data.shape) + (dim,))


def _check_offsets(offsets: Tensor, length: int) -> None:
    if not isinstance(offsets, Tensor):
        raise ValueError(f"offsets has to be a 1D Tensor but got {type(offsets).__name__}")
    if offsets._data.ndim != 1:
        raise ValueError(f"offsets has to be a 1D Tensor but got {offsets.shape}")
    _check_indices("embedding_bag", offsets)
    values = offsets._data
    if values.size and values[0] != 0:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                           f"position 0. However, got {values[0]}")
    if values.size and values[-1] > length:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {length} but got offsets[-1] of "
                           f"{values[-1]}")
    if values.size > 1 and (values[1:] < values[:-1]).any():
        raise RuntimeError(f"embedding_bag: offsets must be non-decreasing, got {values.tolist()}")


def _bag_max(rows: Tensor, starts: Tensor, keep: Tensor | None) -> Tensor:
    """The feature-wise max of each bag's rows (bags are consecutive runs of ``rows`` from ``starts``), zero for
    an empty bag: the bags are laid out as a (bags, longest bag, dim) block, the missing places at -inf."""
    n, dim = rows.shape
    bags = starts.shape[0]
    ends = cat([starts[1:], creation.full((1,), n, dtype=starts.dtype)])
    lengths = ends - starts
    # NOTE: the block's shape depends on the longest bag, read from the offsets (an index input, as one_hot's
    # num_classes is read from its input).
    longest = int(lengths.max().item()) if bags else 0
    if n == 0 or longest == 0:
        return creation.zeros(bags, dim, dtype=rows.dtype)
    slot = creation.arange(longest)
    valid = slot < lengths.unsqueeze(1)
    position = where(valid, starts.unsqueeze(1) + slot, 0)
    if keep is not None:
        valid = valid.logical_and(index_select(keep, 0, position.reshape(-1)).reshape(bags, longest))
    block = index_select(rows, 0, position.reshape(-1)).reshape(bags, longest, dim)
    picked = where(valid.unsqueeze(-1), block, float("-inf")).amax(1)
    return where(valid.any(1, keepdim=True), picked, 0.0)


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """The sum, mean or max (``mode``) of the rows of ``weight`` in each bag of indices: (B, embedding_dim).

    ``input`` is (B, N) (B bags of N indices; ``offsets`` must be None) or 1-D with ``offsets`` (B) giving
    each bag's start (with ``include_last_offset``, B + 1 entries; as in torch, the last bag still runs to the
    end of ``input``).
    ``per_sample_weights`` (``input``'s shape, ``mode='sum'`` only) scales each row first. Indices equal to
    ``padding_idx`` are left out of their bag (and of a mean's count); an empty bag gives zeros.
    ``max_norm``, ``norm_type`` and ``scale_grad_by_freq`` act as in :func:`embedding`.

    Example::

        >>> weight = chainrule.arange(6.0).reshape(3, 2)
        >>> embedding_bag(chainrule.tensor([0, 1, 2]), weight, chainrule.tensor([0, 2]), mode="sum")
        tensor([[2., 4.],
                [4., 5.]])
    """
    _check_indices("embedding_bag", input)
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if input._data.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        bags, length = input._data.shape
        offsets = creation.arange(bags) * length
        include_last_offset = False
    elif input._data.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input._data.ndim}")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError("embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                      f"supported for mode='sum' (got mode='{mode}').")
        if per_sample_weights.shape != input.shape:
            raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then "
                             f"it must have the same shape as the input ({input.shape})")
    flat = input.reshape(-1)
    n = flat.shape[0]
    _check_offsets(offsets, n)
    starts = offsets[:-1] if include_last_offset else offsets
    bags = starts.shape[0]
    rows = embedding(flat, weight, None, max_norm, norm_type, scale_grad_by_freq, sparse)
    keep = None
    if padding_idx is not None:
        num = weight._data.shape[0]
        if not -num <= padding_idx < num:
            raise AssertionError("padding_idx must be within num_embeddings")
        keep = flat != padding_idx % num
    if mode == "max":
        return _bag_max(rows, starts, keep)
    # NOTE: each index's bag (how many starts are at or before it, minus one) is built from ops, not from the
    # offsets' values, so the result is a composite of embedding, scatter_add and where with no rule of its own.
    # A start equal to n (a trailing empty bag) lands in the extra last slot.
    starts_here = creation.zeros(n + 1).scatter_add(0, starts, creation.ones(bags))
    bag = starts_here.cumsum(0)[:n].long() - 1
    scale = None if keep is None else keep.to(rows.dtype)
    if per_sample_weights is not None:
        psw = per_sample_weights.reshape(-1)
        scale = psw if scale is None else psw * scale
    if scale is not None:
        rows = rows * scale.unsqueeze(1)
    dim = rows.shape[1]
    out = creation.zeros(bags, dim, dtype=rows.dtype).scatter_add(0, bag.unsqueeze(1).expand(n, dim), rows)
    if mode == "mean":
        counted = creation.ones(n, dtype=rows.dtype) if keep is None else keep.to(rows.dtype)
        counts = creation.zeros(bags, dtype=rows.dtype).scatter_add(0, bag, counted)
        out = out / counts.clamp(min=1).unsqueeze(1)
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Indicator vectors: int64 (*) -> int64 (*, num_classes) with a 1 at each class index.

    ``num_classes=-1`` uses ``tensor.max() + 1``.

    Example::

        >>> one_hot(chainrule.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"one_hot(): argument 'tensor' must be Tensor, not {type(tensor).__name__}")
    if tensor._data.dtype != _dtype.int64.np:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor, got "
                           f"{tensor.dtype}")
    data = tensor._data
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError("one_hot: can not infer total number of classes from empty tensor")
        num_classes = int(data.max()) + 1
    if data.size and data.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if data.size and data.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return (tensor.unsqueeze(-1) == _wrap(xp.arange(num_classes))).long()
