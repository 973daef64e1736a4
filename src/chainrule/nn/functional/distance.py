"""Distances and similarities: cosine_similarity, pairwise_distance, pdist."""

from __future__ import annotations

from ..._backend import xp
from ...ops.reduce import norm
from ...tensor import Tensor, _normalize_dim, _wrap

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def clamp_min_value(x: Tensor, floor: float) -> Tensor:
    """``max(x, floor)`` as a value, with the gradient of ``x`` itself: torch clamps these in place under
    ``no_grad`` (cosine_similarity's norms, gaussian_nll_loss's variance), so the clamp has no derivative."""
    return x + (x.clamp(min=floor) - x).detach()


def _check(op: str, **tensors) -> None:
    for name, t in tensors.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(t).__name__}")


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps))`` along ``dim`` (inputs broadcast).

    Each input is divided by its norm first (torch's order), so the result stays within [-1, 1].

    Example::

        >>> cosine_similarity(chainrule.tensor([[1.0, 0.0]]), chainrule.tensor([[1.0, 1.0]]))
        tensor([0.7071])
    """
    _check("cosine_similarity", x1=x1, x2=x2)
    ndim = max(x1._data.ndim, x2._data.ndim)
    d = _normalize_dim(dim, ndim, "cosine_similarity") - ndim  # NOTE: counted from the end, for broadcasting
    n1 = clamp_min_value(norm(x1, 2, d, keepdim=True), eps)
    n2 = clamp_min_value(norm(x2, 2, d, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(d)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dimension (inputs broadcast; 0-d inputs give their distance).

    Example::

        >>> pairwise_distance(chainrule.tensor([[0.0, 0.0]]), chainrule.tensor([[3.0, 4.0]]), eps=0.0)
        tensor([5.])
    """
    _check("pairwise_distance", x1=x1, x2=x2)
    diff = x1 - x2 + eps
    return norm(diff, p, -1 if diff._data.ndim else None, keepdim)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """The p-norm distance between every pair of rows ``i < j`` of ``input`` (N, M): shape (N * (N - 1) / 2,),
    in the order of the upper triangle of the distance matrix."""
    _check("pdist", input=input)
    if input._data.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input._data.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    rows, cols = xp.triu_indices(input._data.shape[0], 1)
    diff = input.index_select(0, _wrap(rows.astype(xp.int64))) - input.index_select(0, _wrap(cols.astype(xp.int64)))
    return norm(diff, p, -1)
