"""``embedding`` (a lookup table of rows) and ``one_hot`` (class indices to indicator vectors)."""

from __future__ import annotations

from ... import _dtype
from ..._backend import xp
from ...ops.arith import where
from ...ops.indexing import index_select
from ...tensor import Tensor, _wrap

__all__ = ["embedding", "one_hot"]


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
    weight._vc[0] += 1


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
