"""``chainrule.linalg``: torch.linalg's names over chainrule's ops.

The inverse, slogdet and solve are primitives in :mod:`chainrule.ops.linalg`, det and the decompositions
(svd, eigh, qr, cholesky, lu, pinv, ...) in :mod:`chainrule.ops.decomp`; the norms, ``cond``, ``inv_ex`` /
``solve_ex`` and ``vander`` are composites over them, dispatched here the way torch.linalg does. Every function
takes ``out=``, as torch's. ``eig`` and ``eigvals`` raise NotImplementedError: their outputs are complex, and
chainrule has no complex dtypes.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from .creation import eye, ones_like
from .ops._primitive import _accepting_out
from .ops.arith import where
from .ops.decomp import (
    CholeskyExResult,
    EighResult,
    LstsqResult,
    LUFactorExResult,
    LUFactorResult,
    LUResult,
    QRResult,
    SVDResult,
    cholesky,
    cholesky_ex,
    det,
    eig,
    eigh,
    eigvals,
    eigvalsh,
    householder_product,
    linalg_cross,
    lstsq,
    lu,
    lu_factor,
    lu_factor_ex,
    lu_solve,
    matrix_exp,
    matrix_rank,
    pinv,
    qr,
    svd,
    svdvals,
)
from .ops.join import stack
from .ops.linalg import (
    LinAlgError,
    SlogdetResult,
    _square,
    _tensor_arg,
    inv,
    matmul,
    matrix_power,
    multi_dot,
    slogdet,
    solve,
    solve_triangular,
    tensorinv,
    tensorsolve,
    vecdot,
)
from .ops.reduce import amax, amin
from .ops.reduce import norm as _p_norm
from .ops.shape import diagonal as _diagonal
from .ops.shape import int_arg
from .tensor import Tensor, _normalize_dim

cross = linalg_cross

__all__ = ["inv", "det", "slogdet", "solve", "norm", "vector_norm", "matrix_norm", "matmul", "svd", "svdvals", "qr",
           "cholesky", "cholesky_ex", "eigh", "eigvalsh", "eig", "eigvals", "lstsq", "pinv", "solve_triangular", "lu",
           "lu_factor", "lu_factor_ex", "lu_solve", "matrix_exp", "matrix_power", "matrix_rank", "cond", "multi_dot",
           "cross", "vecdot", "tensorinv", "tensorsolve", "householder_product", "LinAlgError", "SlogdetResult",
           "SVDResult", "QRResult", "EighResult", "CholeskyExResult", "LstsqResult", "LUResult", "LUFactorResult",
           "LUFactorExResult", "inv_ex", "solve_ex", "vander", "diagonal", "InvExResult", "SolveExResult"]


# NOTE: what no allocation can hold (2**40 elements): refused up front instead of attempted
_MAX_ELEMENTS = 2 ** 40

def _float_input(op: str, x, dtype) -> Tensor:
    _tensor_arg(op, "input", x)
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point tensor as input, got {x.dtype}; convert first "
                           "or pass dtype=chainrule.float32")
    return x


class InvExResult(NamedTuple):
    """``(inverse, info)`` of :func:`inv_ex`, as ``torch.return_types.linalg_inv_ex``."""

    inverse: Tensor
    info: Tensor


class SolveExResult(NamedTuple):
    """``(result, info)`` of :func:`solve_ex`, as ``torch.return_types.linalg_solve_ex``."""

    result: Tensor
    info: Tensor


def _nonsingular(op: str, A: Tensor) -> tuple:
    """``(A with every singular matrix replaced by the identity, the singular mask (*, 1, 1), LAPACK's info)``."""
    info = lu_factor_ex(_square(op, A).detach()).info
    singular = (info != 0).unsqueeze(-1).unsqueeze(-1)
    return where(singular, eye(A.shape[-1], dtype=A.dtype), A), singular, info


def inv_ex(A: Tensor, *, check_errors: bool = False) -> InvExResult:
    """:func:`inv` without the error: ``(inverse, info)``, ``info`` (int32, ``(*)``) LAPACK's getrf code, 0 for
    an invertible matrix, else the 1-based index of the zero pivot; that matrix's inverse is nan (torch leaves
    it undefined). ``check_errors=True`` raises as :func:`inv`."""
    if check_errors:
        return InvExResult(inv(A), lu_factor_ex(A.detach()).info)
    safe, singular, info = _nonsingular("linalg.inv_ex", A)
    return InvExResult(where(singular, math.nan, inv(safe)), info)


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False) -> SolveExResult:
    """:func:`solve` without the error: ``(result, info)`` as :func:`inv_ex`; a singular matrix's solution is
    nan."""
    if check_errors:
        return SolveExResult(solve(A, B, left=left), lu_factor_ex(A.detach()).info)
    safe, singular, info = _nonsingular("linalg.solve_ex", A)
    result = solve(safe, B, left=left)
    if result.ndim < A.ndim:  # NOTE: a batch of vectors: the mask loses a dim
        singular = singular.squeeze(-1)
    return SolveExResult(where(singular, math.nan, result), info)


def vander(x: Tensor, N: int | None = None) -> Tensor:
    """The Vandermonde matrix of ``x`` (``(*, n)``): columns ``x^0, x^1, ..., x^(N-1)``, shape ``(*, n, N)``
    (``N`` defaults to ``n``); any dtype, as torch.

    Example::

        >>> chainrule.linalg.vander(chainrule.tensor([1.0, 2.0, 3.0]))
        tensor([[1., 1., 1.],
                [1., 2., 4.],
                [1., 3., 9.]])
    """
    _tensor_arg("linalg.vander", "x", x)
    if x.ndim < 1:
        raise RuntimeError(f"linalg.vander: x must have at least one dimension, got shape {tuple(x.shape)}")
    N = x.shape[-1] if N is None else int_arg(N, "linalg.vander", "N")
    if N <= 1:
        raise RuntimeError(f"linalg.vander: N must be greater than 1, got {N}")
    if N * max(x.numel(), 1) > _MAX_ELEMENTS:
        raise RuntimeError(f"linalg.vander: N={N} for x of shape {tuple(x.shape)} asks for {N * x.numel()} elements, "
                           "more than can be allocated")
    # NOTE: successive products, not pow(x, k): exact and smooth at x = 0 to every order.
    columns = [ones_like(x), x]
    while len(columns) < N:
        columns.append(columns[-1] * x)
    return stack(columns, -1)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The ``offset`` diagonal of the matrices over ``dim1`` and ``dim2`` (the last two by default), as the last
    dim: :func:`chainrule.diagonal` with torch.linalg's defaults."""
    return _diagonal(A, offset, dim1, dim2)


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The ``ord``-norm of ``x`` over ``dim`` (all dims by default), viewing those dims as one vector.

    ``ord``: any number, ``inf`` (max |x|), ``-inf`` (min |x|), ``0`` (count of non-zeros). Shape: ``x``'s
    without ``dim`` (kept as size 1 with ``keepdim``). The gradient at a zero norm is 0, as in torch.

    Example::

        >>> chainrule.linalg.vector_norm(chainrule.tensor([3.0, 4.0]))
        tensor(5.)
    """
    if isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise TypeError(f"linalg.vector_norm: ord must be a number (2, 1, inf, ...), got {ord!r}; matrix "
                        "norms such as 'fro' are in linalg.matrix_norm")
    return _p_norm(_float_input("linalg.vector_norm", x, dtype), ord, dim, keepdim)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:
    """The ``ord``-norm of each matrix over the two dims ``dim``: ``'fro'`` (Frobenius), ``'nuc'`` (sum of the
    singular values), ``2`` / ``-2`` (largest / smallest singular value), ``1`` / ``-1`` (max / min column sum
    of |A|), ``inf`` / ``-inf`` (max / min row sum). Shape ``(*, m, n) -> (*)``."""
    A = _float_input("linalg.matrix_norm", A, dtype)
    if A._data.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: the input tensor A must have at least 2 dimensions, got "
                           f"shape {tuple(A._data.shape)}")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple, got {dim!r}")
    d0, d1 = (_normalize_dim(d, A._data.ndim, "linalg.matrix_norm") for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different, got {tuple(dim)}")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord == "nuc" or (ord in (2, -2) and not isinstance(ord, bool)):
        values = svdvals(A.movedim((d0, d1), (-2, -1)))
        out = values.sum(-1) if ord == "nuc" else (amax if ord > 0 else amin)(values, -1)
        return out.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1)) if keepdim else out
    if ord in (1, -1, math.inf, -math.inf) and not isinstance(ord, bool):
        summed, extreme = (d0, d1) if abs(ord) == 1 else (d1, d0)
        sums = A.abs().sum(summed, keepdim=True)
        out = (amax if ord > 0 else amin)(sums, extreme, keepdim=True)
        return out if keepdim else out.squeeze((d0, d1))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord!r} not supported; valid: 'fro', 'nuc', 2, -2, 1, -1, "
                       "inf, -inf")


def cond(A: Tensor, p=None) -> Tensor:
    """The condition number of each matrix in the ``p``-norm: ``(*, m, n) -> (*)``.

    ``p`` None or 2: ``s_max / s_min`` of the singular values, -2: ``s_min / s_max`` (any shape); ``'fro'``,
    ``'nuc'``, ``1``, ``-1``, ``inf``, ``-inf``: ``norm(A, p) * norm(inv(A), p)`` (square matrices; inf for a
    singular one, as torch).

    Example::

        >>> chainrule.linalg.cond(chainrule.tensor([[2.0, 0.0], [0.0, 0.5]]))
        tensor(4.)
    """
    A = _float_input("linalg.cond", A, None)
    if p is None or (p in (2, -2) and not isinstance(p, bool)):
        if A._data.ndim < 2:
            raise RuntimeError(f"linalg.cond: The input tensor A must have at least 2 dimensions, got shape "
                               f"{tuple(A._data.shape)}")
        values = svdvals(A)
        largest, smallest = values[..., 0], values[..., -1]
        return smallest / largest if p == -2 else largest / smallest
    if p not in ("fro", "nuc", 1, -1, math.inf, -math.inf) or isinstance(p, bool):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p!r}; valid: None, 2, -2, 'fro', 'nuc', 1, "
                           "-1, inf, -inf")
    A = _square("linalg.cond", A)
    # NOTE: a singular matrix (det exactly 0: a zero pivot, where inv would raise) has condition number inf, as
    # in torch; it is inverted as the identity so that neither branch of the choice raises.
    singular = det(A).detach() == 0
    safe = where(singular.unsqueeze(-1).unsqueeze(-1), eye(A.shape[-1], dtype=A.dtype), A)
    return where(singular, math.inf, matrix_norm(A, p) * matrix_norm(inv(safe), p))


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """A vector or matrix norm, chosen as ``torch.linalg.norm`` does.

    ``dim`` an int: vector norm over it; a 2-tuple: matrix norm. ``dim=None``: with ``ord=None`` the
    2-norm of all elements (the Frobenius norm of a matrix), else ``A`` must be 1-D (vector norm) or 2-D
    (matrix norm). ``ord=None`` means 2 for vectors and ``'fro'`` for matrices.

    Example::

        >>> chainrule.linalg.norm(chainrule.tensor([[3.0, 0.0], [0.0, 4.0]]))
        tensor(5.)
    """
    A = _float_input("linalg.norm", A, dtype)
    if dim is None:
        if ord is None:
            return vector_norm(A, 2, None, keepdim)
        if A._data.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or "
                               f"2D. Got {A._data.ndim}D (shape {tuple(A._data.shape)})")
        dim = (0, 1) if A._data.ndim == 2 else 0
    if isinstance(dim, int) or (isinstance(dim, (tuple, list)) and len(dim) == 1):
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.norm: ord={ord!r} is a matrix norm; it needs a 2-tuple dim, got "
                               f"{dim!r}")
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim)
    return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim)


# NOTE: as torch.linalg's (and the public ops'), every function takes out= and checks its tensor arguments.
for _name in __all__:
    if not isinstance(globals()[_name], type):
        globals()[_name] = _accepting_out(globals()[_name])
