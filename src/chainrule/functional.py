"""``chainrule.functional``: the counterpart of ``torch.functional`` (``import torch.functional as F`` in old code).

torch keeps a few tensor functions in that module; this one has each of them (the same functions as
``chainrule.<name>``), so the same import works. ``stft``/``istft`` are not built (they need complex tensors);
``svd_lowrank``/``pca_lowrank`` compute the exact truncated SVD instead of torch's randomized estimate (the same
result up to the estimate's error; see docs/interop.md).

Example::

    >>> import chainrule.functional as F
    >>> F.einsum("ij,jk->ik", chainrule.ones(2, 3), chainrule.ones(3, 4)).shape
    chainrule.Size([2, 4])
"""

from __future__ import annotations

import math

from . import linalg
from .ops import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    block_diag,
    broadcast_tensors,
    cartesian_prod,
    cdist,
    einsum,
    floor_divide,
    lu,
    mean,
    meshgrid,
    norm,
    remainder,
    split,
    tensordot,
    unique,
    unique_consecutive,
)
from .ops.shape import broadcast_shapes
from .tensor import Tensor

__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "broadcast_shapes", "broadcast_tensors",
           "cartesian_prod", "cdist", "chain_matmul", "einsum", "lu", "meshgrid", "norm", "pca_lowrank", "split",
           "svd_lowrank", "tensordot", "unique", "unique_consecutive", "unravel_index"]


def chain_matmul(*matrices, out=None) -> Tensor:
    """The product of the matrices, in the cheapest order (torch's deprecated alias of ``linalg.multi_dot``)."""
    if out is not None:
        raise TypeError("chain_matmul(): out= is not supported; use chainrule.linalg.multi_dot(..., out=...)")
    if len(matrices) == 1:
        return matrices[0]
    return linalg.multi_dot(list(matrices))


def unravel_index(indices, shape) -> tuple:
    """The coordinates of flat ``indices`` in an array of ``shape``: one int64 tensor per dim, each shaped like
    ``indices`` (indices wrap around as torch's do: ``-1`` is the last element).

    Example::

        >>> unravel_index(chainrule.tensor([4, 1]), (2, 3))
        (tensor([1, 0]), tensor([1, 1]))
    """
    if not isinstance(indices, Tensor):
        raise TypeError(f"unravel_index(): argument 'indices' must be Tensor, not {type(indices).__name__}")
    if indices.dtype.category != 1 or indices._data.dtype.kind == "b":
        raise TypeError(f"unravel_index(): expected 'indices' to be integer dtype, but got {indices.dtype}")
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(not isinstance(d, int) or d < 0 for d in dims):
        raise ValueError(f"unravel_index(): 'shape' must be non-negative ints, got {shape!r}")
    if math.prod(dims) == 0 and indices.numel():
        raise ValueError(f"unravel_index(): cannot unravel indices into the empty shape {dims}")
    coords = []
    stride = 1
    for size in reversed(dims):
        coords.append(remainder(floor_divide(indices, stride), size))
        stride *= size
    return tuple(reversed(coords))


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int = 2, M: Tensor | None = None) -> tuple:
    """``(U, S, V)`` of the ``q`` largest singular values of ``A - M`` (``A ≈ U diag(S) V^T``); shapes
    ``(..., m, q)``, ``(..., q)``, ``(..., n, q)``. Exact (torch estimates it by random projections; ``niter`` is
    accepted and unused)."""
    if not isinstance(A, Tensor):
        raise TypeError(f"svd_lowrank(): argument 'A' must be Tensor, not {type(A).__name__}")
    m, n = A.shape[-2:]
    q = min(6, m, n) if q is None else q
    if not isinstance(q, int) or not 0 <= q <= min(m, n):
        raise ValueError(f"svd_lowrank(): q={q!r} must be an int in [0, min(m, n)] = [0, {min(m, n)}] for A of "
                         f"shape {tuple(A.shape)}")
    U, S, Vh = linalg.svd(A if M is None else A - M, full_matrices=False)
    return U[..., :q], S[..., :q], Vh[..., :q, :].mT


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True, niter: int = 2) -> tuple:
    """``(U, S, V)`` of the principal components of the rows of ``A`` (centred by the column means when
    ``center``): :func:`svd_lowrank` with ``q`` defaulting to ``min(6, m, n)``."""
    if not isinstance(A, Tensor):
        raise TypeError(f"pca_lowrank(): argument 'A' must be Tensor, not {type(A).__name__}")
    return svd_lowrank(A - mean(A, dim=-2, keepdim=True) if center else A, q=q, niter=niter)
