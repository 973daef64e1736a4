"""Matrix decompositions with gradients: svd, eigh, qr, cholesky, lu, pinv, matrix_exp, and what is built on them.

Each decomposition is a primitive whose VJP and JVP are written with chainrule ops (matmuls, triangular solves,
the decomposition's own outputs read as tensors), so they differentiate again. The formulas are torch's
(``FunctionsManual.cpp``) for real inputs. Singular vectors and eigenvectors are defined only up to sign, so
their gradients are those of the gauge LAPACK picked; at repeated singular values or eigenvalues the gauge is not
unique and the gradients of the vectors hold inf/nan, as in torch. The values alone (``svdvals``, ``eigvalsh``,
the ``S`` of ``svd`` when ``U`` and ``Vh`` get no gradient) stay finite there: their rules skip the vector terms.

chainrule has no complex dtypes, so ``eig`` and ``eigvals`` (complex outputs even for real input) raise.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

from .._backend import xp
from ..tensor import Tensor, _normalize_dim, _wrap
from ._primitive import Param, Primitive, apply, exports, public
from .arith import maximum, where
from .cast import promote
from .join import cat, roll
from .linalg import Inv, LinAlgError, _matrices, _square, _tensor_arg, deprecated, solve_triangular
from .reduce import amax
from .shape import broadcast_to, diag_embed, diagonal, narrow, tril, triu


def _same_batch(size, p):
    # NOTE: the decompositions already act on every leading dim, so a vmap batch is one more of them.
    return p


def _lapack(op: str, fn, *args, **kwargs):
    """``fn(*args)``, NumPy's LinAlgError (no convergence: NaN or inf in the input) raised as torch's."""
    try:
        return fn(*args, **kwargs)
    except xp.linalg.LinAlgError:
        raise LinAlgError(f"{op}: The algorithm failed to converge because the input matrix contained non-finite "
                          "values (or is too ill-conditioned)") from None


def _flat(a):
    """``a`` as a stack of matrices ``(batch, m, n)`` (empty batches and matrices included)."""
    return a.reshape((math.prod(a.shape[:-2]),) + a.shape[-2:])


def _eye(t: Tensor, n: int, m: int | None = None) -> Tensor:
    return _wrap(xp.eye(n, m, dtype=t._data.dtype))


def _inverse_gaps(values: Tensor) -> Tensor:
    """``F[..., j, k] = 1 / (values[k] - values[j])`` off the diagonal and 0 on it: the eigenvector terms.

    Equal values divide by zero (inf), as in torch: there the vectors' gradient depends on the gauge.
    """
    n = values._data.shape[-1]
    gaps = values.unsqueeze(-2) - values.unsqueeze(-1)
    on_diagonal = _wrap(xp.eye(n, dtype=bool))
    # NOTE: the diagonal is replaced before the division, so no 1/0 sits in the graph where second
    # derivatives would turn its masked-out inf into nan.
    return where(on_diagonal, 0.0, 1.0 / where(on_diagonal, 1.0, gaps))


# -- symmetric eigendecomposition -----------------------------------------------------------------------

class EighResult(NamedTuple):
    """``(eigenvalues, eigenvectors)`` of :func:`eigh`, as ``torch.return_types.linalg_eigh``."""

    eigenvalues: Tensor
    eigenvectors: Tensor


class Eigh(Primitive):
    name = "linalg_eigh"
    may_warn = True
    params = (Param("uplo", str, "which triangle is read: 'L' or 'U'"),)
    doc = "The eigenvalues (ascending) and orthonormal eigenvectors of each symmetric matrix in ``x``."
    gate = "eigh: the gradient is Q (diag(gL) + skew(Q^T gQ) / gaps) Q^T"
    batch_params = staticmethod(_same_batch)
    save_output = True
    n_outputs = 2

    @staticmethod
    def forward(ctx, a, uplo):
        # NOTE: an output that received no gradient arrives as None, so eigvalsh skips the eigenvector terms
        # (finite at repeated eigenvalues, as torch's).
        ctx.materialize_grads = False
        return _lapack("linalg.eigh", xp.linalg.eigh, a, UPLO=uplo)

    @staticmethod
    def vjp(ctx, g_values, g_vectors):
        values, vectors = ctx.outputs
        inner = diag_embed(g_values) if g_values is not None else None
        if g_vectors is not None:
            vg = vectors.mT @ g_vectors
            # NOTE: only the skew part of Q^T gQ moves an orthogonal Q; torch's gradient is then symmetric.
            term = 0.5 * (vg - vg.mT) * _inverse_gaps(values)
            inner = term if inner is None else inner + term
        if inner is None:
            return None
        return vectors @ inner @ vectors.mT

    @staticmethod
    def jvp(ctx, a_t):
        values, vectors = ctx.outputs
        p = vectors.mT @ a_t @ vectors
        return diagonal(p, 0, -2, -1), vectors @ (p * _inverse_gaps(values))


def _uplo(op: str, UPLO) -> str:
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"{op}: Expected UPLO argument to be 'L' or 'U', but got {UPLO!r}")
    return UPLO


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices: ``A = Q diag(L) Q^T``.

    ``A``: ``(*, n, n)``; only its ``UPLO`` triangle is read. Returns ``(eigenvalues (*, n), eigenvectors
    (*, n, n))``, vectors as columns. The gradient treats ``A`` as symmetric (it is symmetric itself); with
    repeated eigenvalues the eigenvectors' gradient is inf/nan, as in torch (use ``eigvalsh`` for values only).

    Example::

        >>> chainrule.linalg.eigh(chainrule.tensor([[2.0, 0.0], [0.0, 1.0]])).eigenvalues
        tensor([1., 2.])
    """
    A = _square("linalg.eigh", A)
    values, vectors = apply(Eigh, (A,), uplo=_uplo("linalg.eigh", UPLO))
    return EighResult(values, vectors)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues (ascending) of symmetric matrices ``(*, n, n) -> (*, n)``; its gradient ``Q diag(g) Q^T``
    is finite at repeated eigenvalues."""
    A = _square("linalg.eigvalsh", A)
    return apply(Eigh, (A,), uplo=_uplo("linalg.eigvalsh", UPLO))[0]


def _no_complex(op: str):
    raise NotImplementedError(f"{op}: the eigenvalues of a general matrix are complex, and chainrule has no "
                              "complex dtypes; for symmetric matrices use linalg.eigh / linalg.eigvalsh")


def eig(A: Tensor):
    """Not available: torch returns complex eigenvalues and eigenvectors, and chainrule has no complex dtypes."""
    _no_complex("linalg.eig")


def eigvals(A: Tensor):
    """Not available: torch returns complex eigenvalues, and chainrule has no complex dtypes."""
    _no_complex("linalg.eigvals")


# -- singular value decomposition -----------------------------------------------------------------------

class SVDResult(NamedTuple):
    """``(U, S, Vh)`` of :func:`svd`, as ``torch.return_types.linalg_svd``."""

    U: Tensor
    S: Tensor
    Vh: Tensor


class Svd(Primitive):
    name = "linalg_svd"
    may_warn = True
    params = (Param("full_matrices", bool, "U and Vh square (m x m, n x n) rather than reduced"),)
    doc = "The singular value decomposition ``U diag(S) Vh`` of each matrix in ``x`` (S descending)."
    gate = "svd: the gradient is U (skew terms / gaps + diag(gS)) Vh plus the parts outside U's and V's span"
    batch_params = staticmethod(_same_batch)
    save_output = True
    n_outputs = 3

    @staticmethod
    def forward(ctx, a, full_matrices):
        # NOTE: outputs without a gradient arrive as None, so svdvals skips the singular-vector terms.
        ctx.materialize_grads = False
        return _lapack("linalg.svd", xp.linalg.svd, a, full_matrices=full_matrices)

    @staticmethod
    def vjp(ctx, g_u, g_s, g_vh):
        u, s, vh = _reduced(ctx.outputs)
        k = s._data.shape[-1]
        if ctx.params["full_matrices"]:
            # NOTE: the extra columns of a full U or V are arbitrary; torch gives them no gradient either.
            g_u = None if g_u is None else narrow(g_u, -1, 0, k)
            g_vh = None if g_vh is None else narrow(g_vh, -2, 0, k)
        return _svd_vjp(u, s, vh, g_u, g_s, g_vh)

    @staticmethod
    def jvp(ctx, a_t):
        u, s, vh = _reduced(ctx.outputs)
        m, n = a_t._data.shape[-2:]
        v = vh.mT
        p = u.mT @ a_t @ v
        s_row, s_col = s.unsqueeze(-2), s.unsqueeze(-1)
        gaps = _inverse_gaps(s * s)
        u_t = u @ ((p * s_row + s_col * p.mT) * gaps)
        v_t = v @ ((s_col * p + p.mT * s_row) * gaps)
        k = s._data.shape[-1]
        if m > k:
            u_t = u_t + (a_t @ v - u @ p) / s_row
        if n > k:
            v_t = v_t + (a_t.mT @ u - v @ p.mT) / s_row
        vh_t = v_t.mT
        if ctx.params["full_matrices"]:
            # NOTE: the extra columns of a full U or V are arbitrary; their tangent is zero, as torch's.
            batch = a_t._data.shape[:-2]
            if m > k:
                u_t = cat([u_t, _wrap(xp.zeros(batch + (m, m - k), dtype=a_t._data.dtype))], -1)
            if n > k:
                vh_t = cat([vh_t, _wrap(xp.zeros(batch + (n - k, n), dtype=a_t._data.dtype))], -2)
        return u_t, diagonal(p, 0, -2, -1), vh_t


def _reduced(outputs: tuple) -> tuple:
    """The reduced ``(U, S, Vh)``: a full U or Vh cut to the first ``k = len(S)`` singular vectors."""
    u, s, vh = outputs
    k = s._data.shape[-1]
    if u._data.shape[-1] != k:
        u = narrow(u, -1, 0, k)
    if vh._data.shape[-2] != k:
        vh = narrow(vh, -2, 0, k)
    return u, s, vh


def _svd_vjp(u, s, vh, g_u, g_s, g_vh):
    """torch's ``svd_backward`` for real matrices, over the reduced factors."""
    if g_u is None and g_vh is None:
        return None if g_s is None else u @ (g_s.unsqueeze(-1) * vh)
    m, n, k = u._data.shape[-2], vh._data.shape[-1], s._data.shape[-1]
    v = vh.mT
    s_row, s_col = s.unsqueeze(-2), s.unsqueeze(-1)
    gaps = _inverse_gaps(s * s)
    inner = diag_embed(g_s) if g_s is not None else None
    terms = []
    if g_u is not None:
        ug = u.mT @ g_u
        terms.append((ug - ug.mT) * gaps * s_row)
    if g_vh is not None:
        g_v = g_vh.mT
        vg = v.mT @ g_v
        terms.append(s_col * ((vg - vg.mT) * gaps))
    for term in terms:
        inner = term if inner is None else inner + term
    g_a = u @ inner @ vh
    if g_u is not None and m > k:
        g_a = g_a + ((g_u - u @ ug) / s_row) @ vh
    if g_vh is not None and n > k:
        g_a = g_a + u @ ((g_v - v @ vg) / s_row).mT
    return g_a


def svd(A: Tensor, full_matrices: bool = True, *, driver=None) -> SVDResult:
    """The singular value decomposition ``A = U diag(S) Vh``, singular values descending.

    ``A``: ``(*, m, n)``, ``k = min(m, n)``. Returns ``U (*, m, m)``, ``S (*, k)``, ``Vh (*, n, n)`` with
    ``full_matrices=True`` (torch's default), else ``U (*, m, k)`` and ``Vh (*, k, n)``. ``driver`` is accepted
    and ignored (a CUDA-only option in torch). Singular vectors are unique up to sign; with repeated singular
    values their gradient is inf/nan, as in torch (``svdvals`` alone stays finite). With ``full_matrices=True``
    the columns beyond ``k`` get no gradient and a zero tangent, as in torch.

    Example::

        >>> chainrule.linalg.svd(chainrule.tensor([[3.0, 0.0], [0.0, -2.0]])).S
        tensor([3., 2.])
    """
    A = _matrices("linalg.svd", A)
    return SVDResult(*apply(Svd, (A,), full_matrices=bool(full_matrices)))


def svdvals(A: Tensor, *, driver=None) -> Tensor:
    """The singular values of each matrix, descending: ``(*, m, n) -> (*, min(m, n))``. Its gradient
    ``U diag(g) Vh`` is finite at repeated singular values."""
    A = _matrices("linalg.svdvals", A)
    return apply(Svd, (A,), full_matrices=False)[1]


class SvdLegacyResult(NamedTuple):
    """``(U, S, V)`` of the legacy :func:`chainrule.svd`, as ``torch.return_types.svd``."""

    U: Tensor
    S: Tensor
    V: Tensor


@public(methods=("svd",), name="svd")
def svd_legacy(input: Tensor, some: bool = True, compute_uv: bool = True) -> SvdLegacyResult:
    """torch.svd's legacy form: ``(U, S, V)`` with ``input = U diag(S) V^T`` (``V``, not ``Vh``); ``some=True``
    gives the reduced factors. With ``compute_uv=False``, U and V are zeros of shapes ``(*, m, m)`` and
    ``(*, n, n)``, as in torch. Prefer
    ``chainrule.linalg.svd``."""
    A = _matrices("svd", input)
    if not compute_uv:
        batch, (m, n) = A._data.shape[:-2], A._data.shape[-2:]
        zeros = [_wrap(xp.zeros(batch + (k, k), dtype=A._data.dtype)) for k in (m, n)]
        return SvdLegacyResult(zeros[0], svdvals(A), zeros[1])
    u, s, vh = apply(Svd, (A,), full_matrices=not some)
    return SvdLegacyResult(u, s, vh.mT)


# -- determinant ---------------------------------------------------------------------------------------

class Det(Primitive):
    name = "linalg_det"
    may_warn = True
    warns_from_numpy = True
    doc = "The determinant of each square matrix in ``x``."
    gate = "det: the gradient is g cof(A) = g det(A) A^-T (through an SVD at a singular A)"
    batch_params = staticmethod(_same_batch)
    save_inputs = True
    save_output = True

    @staticmethod
    def forward(ctx, a):
        return xp.asarray(xp.linalg.det(a))

    @staticmethod
    def vjp(ctx, g):
        return g.unsqueeze(-1).unsqueeze(-1) * _cofactors(ctx.inputs[0], ctx.output)

    @staticmethod
    def jvp(ctx, a_t):
        return (_cofactors(ctx.inputs[0], ctx.output) * a_t).sum((-2, -1))


def _cofactors(a: Tensor, d: Tensor) -> Tensor:
    """The cofactor matrix ``det(A) A^{-T}`` (d det / dA), also at a singular ``A``.

    NOTE: as torch: the inverse where ``det(A) != 0``, and at a singular ``A = U diag(S) Vh`` the SVD form
    ``det(U) det(Vh) U diag(prod_{j != i} S_j) Vh``. Each branch gets a stand-in where it is not used (the
    identity to invert, a matrix with distinct singular values to decompose), so neither raises nor leaks nan
    into the other's derivatives.
    """
    n = a._data.shape[-1]
    singular = (d.detach() == 0).unsqueeze(-1).unsqueeze(-1)
    eye = _eye(a, n)
    regular = d.unsqueeze(-1).unsqueeze(-1) * apply(Inv, (where(singular, eye, a),), op="linalg.det").mT
    distinct = diag_embed(_wrap(xp.arange(n, 0, -1, dtype=a._data.dtype)))
    u, s, vh = apply(Svd, (where(singular, a, distinct),), full_matrices=False)
    # NOTE: det(U) det(Vh) is +-1 and locally constant: it carries no derivative.
    sign = (apply(Det, (u,)) * apply(Det, (vh,))).detach()
    others = where(_wrap(xp.eye(n, dtype=bool)), 1.0, s.unsqueeze(-2)).prod(-1)
    adjugate_t = sign.unsqueeze(-1).unsqueeze(-1) * ((u * others.unsqueeze(-2)) @ vh)
    return where(singular, adjugate_t, regular)


@public(methods=("det",))
def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix in ``A``: shape ``(*, n, n) -> (*)``.

    Its gradient is the cofactor matrix ``det(A) A^{-T}``; at a singular ``A`` it comes from an SVD (the
    adjugate), as in torch, so it is finite there too.
    """
    return apply(Det, (_square("linalg.det", A),))


# -- QR -------------------------------------------------------------------------------------------------

class QRResult(NamedTuple):
    """``(Q, R)`` of :func:`qr`, as ``torch.return_types.linalg_qr``."""

    Q: Tensor
    R: Tensor


class Qr(Primitive):
    name = "linalg_qr"
    may_warn = True
    params = (Param("mode", str, "'reduced', 'complete' or 'r'"),)
    doc = "The QR decomposition ``Q R`` of each matrix in ``x`` (Householder, LAPACK's signs)."
    gate = "qr: the gradient is (gQ + Q copyltu(gR R^T - Q^T gQ)) R^-T"
    batch_params = staticmethod(_same_batch)
    save_inputs = True
    save_output = True
    n_outputs = 2

    @staticmethod
    def forward(ctx, a, mode):
        if mode == "r":
            # NOTE: Q is empty; its batch dims keep vmap's shapes consistent (the public function drops them).
            return xp.zeros(a.shape[:-2] + (0,), dtype=a.dtype), xp.linalg.qr(a, mode="r")
        return tuple(xp.linalg.qr(a, mode=mode))

    @staticmethod
    def vjp(ctx, g_q, g_r):
        m, n = _qr_check(ctx)
        q, r = ctx.outputs
        if m >= n:
            return _qr_vjp_tall(q, r, g_q, g_r)
        # NOTE: wide A = [X | Y]: X = Q R1 is a square QR, and R2 = Q^T Y adds Y gR2^T to Q's gradient.
        r1 = narrow(r, -1, 0, m)
        g_r1, g_r2 = narrow(g_r, -1, 0, m), narrow(g_r, -1, m, n - m)
        y = narrow(ctx.inputs[0], -1, m, n - m)
        g_x = _qr_vjp_tall(q, r1, g_q + y @ g_r2.mT, g_r1)
        return cat([g_x, q @ g_r2], -1)

    @staticmethod
    def jvp(ctx, a_t):
        m, n = _qr_check(ctx)
        q, r = ctx.outputs
        if m >= n:
            return _qr_jvp_tall(q, r, a_t)
        x_t, y_t = narrow(a_t, -1, 0, m), narrow(a_t, -1, m, n - m)
        q_t, r1_t = _qr_jvp_tall(q, narrow(r, -1, 0, m), x_t)
        y = narrow(ctx.inputs[0], -1, m, n - m)
        return q_t, cat([r1_t, q_t.mT @ y + q.mT @ y_t], -1)


def _qr_check(ctx) -> tuple:
    """``(m, n)`` of the input, or torch's error where the decomposition is not differentiable."""
    mode, (m, n) = ctx.params["mode"], ctx.inputs[0]._data.shape[-2:]
    if mode == "r":
        raise RuntimeError("linalg.qr: The derivative of linalg.qr depends on Q, which is not computed when "
                           "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                           "through linalg.qr.")
    if mode == "complete" and m > n:
        raise RuntimeError("linalg.qr: The QR decomposition is not differentiable when mode='complete' and "
                           f"nrows > ncols (A is {m} x {n}).")
    return m, n


def _copyltu(m: Tensor) -> Tensor:
    """The symmetric matrix with ``m``'s upper triangle (and diagonal): ``triu(m) + triu(m, 1)^T``."""
    return triu(m) + triu(m, 1).mT


def _qr_vjp_tall(q, r, g_q, g_r):
    """The gradient of ``A = Q R`` with ``m >= n`` (reduced): ``(gQ + Q copyltu(M)) R^{-T}``,
    ``M = gR R^T - Q^T gQ``."""
    m = g_r @ r.mT - q.mT @ g_q
    return solve_triangular(r.mT, g_q + q @ _copyltu(m), upper=False, left=False)


def _qr_jvp_tall(q, r, a_t):
    """``(dQ, dR)`` for ``m >= n``: with ``X = Q^T dA R^{-1}`` and ``W`` the skew part of its lower triangle,
    ``dR = (X - W) R`` and ``dQ = dA R^{-1} - Q (X - W)``."""
    a_t_rinv = solve_triangular(r, a_t, upper=True, left=False)
    x = q.mT @ a_t_rinv
    lower = tril(x, -1)
    upper_part = x - (lower - lower.mT)
    return a_t_rinv - q @ upper_part, upper_part @ r


def qr(A: Tensor, mode: str = "reduced") -> QRResult:
    """The QR decomposition ``A = Q R``: ``Q`` orthonormal columns, ``R`` upper triangular (LAPACK's signs).

    ``A``: ``(*, m, n)``, ``k = min(m, n)``. ``mode='reduced'``: ``Q (*, m, k)``, ``R (*, k, n)``;
    ``'complete'``: ``Q (*, m, m)``, ``R (*, m, n)``; ``'r'``: ``Q`` empty and ``R (*, k, n)``. Gradients as in
    torch: not with ``mode='r'``, nor ``'complete'`` with ``m > n``.

    Example::

        >>> Q, R = chainrule.linalg.qr(chainrule.tensor([[3.0, 1.0], [4.0, 2.0]]))
        >>> R[0, 0]
        tensor(-5.)
    """
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    A = _matrices("linalg.qr", A)
    Q, R = apply(Qr, (A,), mode=mode)
    return QRResult(Q.reshape(0) if mode == "r" else Q, R)


# -- Cholesky -------------------------------------------------------------------------------------------

class CholeskyExResult(NamedTuple):
    """``(L, info)`` of :func:`cholesky_ex`, as ``torch.return_types.linalg_cholesky_ex``."""

    L: Tensor
    info: Tensor


def _not_positive_definite(op: str, order: int, batch: int | None) -> LinAlgError:
    where_ = f"(Batch element {batch}): " if batch is not None else ""
    return LinAlgError(f"{op}: {where_}The factorization could not be completed because the input is not "
                       f"positive-definite (the leading minor of order {order} is not positive-definite).")


def _cholesky_or_none(a):
    """NumPy's Cholesky factor, or None where LAPACK's potrf fails (NumPy lets a NaN pivot through)."""
    try:
        lower = xp.linalg.cholesky(a)
    except xp.linalg.LinAlgError:
        return None
    return None if xp.isnan(xp.diagonal(lower, 0, -2, -1)).any() else lower


def _cholesky_arrays(a) -> tuple:
    """``(L, info)`` per matrix: LAPACK's ``info`` (the order of the first leading minor that is not positive
    definite, 0 on success); a failed factor holds the factor of the minors before it, zeros elsewhere."""
    lower = _cholesky_or_none(a)
    if lower is not None:
        return lower, xp.zeros(a.shape[:-2], dtype=xp.int32)
    flat = _flat(a)
    factors, infos = xp.zeros_like(flat), xp.zeros(flat.shape[0], dtype=xp.int32)
    for i, m in enumerate(flat):
        lower = _cholesky_or_none(m)
        if lower is not None:
            factors[i] = lower
            continue
        order = 1
        while order < m.shape[-1]:
            lower = _cholesky_or_none(m[:order, :order])
            if lower is None:
                break
            factors[i, :order, :order] = lower
            order += 1
        infos[i] = order
    return factors.reshape(a.shape), infos.reshape(a.shape[:-2])


class Cholesky(Primitive):
    name = "linalg_cholesky"
    may_warn = True
    params = (Param("upper", bool, "return U = L^T (A = U^T U)"),
              Param("op", (str, None), "raise, naming this op, when a matrix is not positive definite"))
    doc = "The Cholesky factor of each symmetric positive-definite matrix in ``x``, and LAPACK's ``info``."
    gate = "cholesky: the gradient is L^-T Phi(L^T gL) L^-1, symmetrised"
    batch_params = staticmethod(_same_batch)
    save_output = True
    n_outputs = 2

    @staticmethod
    def forward(ctx, a, upper, op):
        # NOTE: as LAPACK's potrf, upper=True reads A's upper triangle: the lower one of A^T.
        lower, info = _cholesky_arrays(a.swapaxes(-1, -2) if upper else a)
        if op is not None and info.any():
            flat = info.reshape(-1)
            first = int(xp.flatnonzero(flat)[0])
            raise _not_positive_definite(op, int(flat[first]), first if info.ndim else None)
        return (lower.swapaxes(-1, -2).copy() if upper else lower), info

    @staticmethod
    def vjp(ctx, g, g_info):
        lower, g = _lower_factor(ctx.outputs[0], g, ctx.params["upper"])
        # NOTE: Phi = tril(L^T gL) with its diagonal halved, mirrored into a symmetric matrix.
        phi = tril(lower.mT @ g)
        phi = 0.5 * (phi + tril(phi, -1).mT)
        g_a = solve_triangular(lower.mT, phi, upper=True)
        return solve_triangular(lower, g_a, upper=False, left=False)

    @staticmethod
    def jvp(ctx, a_t):
        lower, a_t = _lower_factor(ctx.outputs[0], a_t, ctx.params["upper"])
        x = solve_triangular(lower, a_t, upper=False)
        x = solve_triangular(lower.mT, x, upper=True, left=False)
        lower_t = lower @ (tril(x, -1) + 0.5 * diag_embed(diagonal(x, 0, -2, -1)))
        return (lower_t.mT if ctx.params["upper"] else lower_t), None


def _lower_factor(factor: Tensor, t: Tensor, upper: bool) -> tuple:
    return (factor.mT, t.mT) if upper else (factor, t)


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The Cholesky factor ``L`` of symmetric positive-definite ``A = L L^T`` (``(*, n, n)``, lower triangle
    read); ``upper=True`` gives ``U = L^T`` with ``A = U^T U`` (upper triangle read).

    Raises :class:`chainrule.linalg.LinAlgError` (a RuntimeError) when a matrix is not positive definite,
    naming the leading minor, as torch. The gradient treats ``A`` as symmetric.

    Example::

        >>> chainrule.linalg.cholesky(chainrule.tensor([[4.0, 2.0], [2.0, 5.0]]))
        tensor([[2., 0.],
                [1., 2.]])
    """
    A = _square("linalg.cholesky", A)
    return apply(Cholesky, (A,), upper=bool(upper), op="linalg.cholesky")[0]


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> CholeskyExResult:
    """:func:`cholesky` without the error: ``(L, info)``, ``info`` (int32, shape ``(*)``) LAPACK's code, 0 on
    success, else the order of the first leading minor that is not positive definite (that matrix's ``L``
    holds the factor of the minors before it). ``check_errors=True`` raises as ``cholesky`` does."""
    A = _square("linalg.cholesky_ex", A)
    op = "linalg.cholesky_ex" if check_errors else None
    return CholeskyExResult(*apply(Cholesky, (A,), upper=bool(upper), op=op))


@public(methods=("cholesky",), name="cholesky")
def cholesky_legacy(input: Tensor, upper: bool = False) -> Tensor:
    """torch.cholesky (deprecated in torch, with its warning): :func:`chainrule.linalg.cholesky`."""
    deprecated("cholesky", "cholesky")
    return cholesky(input, upper=upper)


@public(methods=("cholesky_solve",))
def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:
    """The solution ``X`` of ``A X = B`` given ``A``'s Cholesky factor ``L`` (``A = L L^T``; ``A = U^T U`` with
    ``upper=True``): ``B (*, n, k)``, ``L (*, n, n)``, batch dims broadcast. Differentiable in ``B`` and ``L``."""
    _tensor_arg("cholesky_solve", "B", B)
    L = _square("cholesky_solve", L)
    if B._data.ndim < 2:
        raise RuntimeError(f"cholesky_solve: b should have at least 2 dimensions, but has {B._data.ndim} "
                           "dimensions instead")
    n, (rows, cols) = L._data.shape[-1], B._data.shape[-2:]
    if rows != n:
        raise RuntimeError(f"cholesky_solve: Incompatible matrix sizes for cholesky_solve: each A matrix is {n} by "
                           f"{n} but each b matrix is {rows} by {cols}")
    lower = L.mT if upper else L
    y = solve_triangular(lower, B, upper=False)
    return solve_triangular(lower.mT, y, upper=True)


@public(methods=("cholesky_inverse",))
def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:
    """The inverse of ``A = L L^T`` (``U^T U`` with ``upper=True``) from its Cholesky factor: ``(*, n, n)``."""
    L = _square("cholesky_inverse", L)
    n = L._data.shape[-1]
    return cholesky_solve(broadcast_to(_eye(L, n), L._data.shape), L, upper)


class QRLegacyResult(NamedTuple):
    """``(Q, R)`` of the legacy :func:`chainrule.qr`, as ``torch.return_types.qr``."""

    Q: Tensor
    R: Tensor


@public(methods=("qr",), name="qr")
def qr_legacy(input: Tensor, some: bool = True) -> QRLegacyResult:
    """torch.qr (deprecated in torch): :func:`chainrule.linalg.qr` with mode ``'reduced'`` (``some=True``) or
    ``'complete'``; with torch's deprecation warning."""
    deprecated("qr", "qr")
    return QRLegacyResult(*qr(input, "reduced" if some else "complete"))


# -- pseudo-inverse, least squares, rank --------------------------------------------------------------

def _float_value(op: str, name: str, value) -> float | None:
    if value is None:
        return None
    if isinstance(value, Tensor):
        if value._data.size != 1:
            raise NotImplementedError(f"{op}: {name} must be a number or a one-element tensor, got shape "
                                      f"{tuple(value._data.shape)} (per-matrix tolerances are not supported)")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{op}: {name} must be a float or None, got {type(value).__name__}")
    return float(value)


def _tolerances(op: str, A: Tensor, atol, rtol) -> tuple:
    """torch's ``(atol, rtol)``: atol 0 by default; rtol ``eps * max(m, n)`` unless only a positive atol is
    given, then 0."""
    atol, rtol = _float_value(op, "atol", atol), _float_value(op, "rtol", rtol)
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else float(xp.finfo(A._data.dtype).eps) * max(A._data.shape[-2:])
    return (0.0 if atol is None else atol), rtol


def _pinv_array(a, atol: float, rtol: float, hermitian: bool):
    m, n = a.shape[-2:]
    if min(m, n) == 0:
        return xp.zeros(a.shape[:-2] + (n, m), dtype=a.dtype)
    if hermitian:
        values, left = xp.linalg.eigh(a)
        right = left.swapaxes(-1, -2)
    else:
        left, values, right = xp.linalg.svd(a, full_matrices=False)
    # NOTE: A = left diag(values) right, so pinv(A) = right^T diag(1 / values) left^T over the values kept.
    size = xp.abs(values)
    kept = size > xp.maximum(atol, rtol * size.max(-1, keepdims=True))
    inverse = xp.where(kept, 1.0 / xp.where(kept, values, 1.0), 0.0)
    return (right.swapaxes(-1, -2) * inverse[..., None, :]) @ left.swapaxes(-1, -2)


class Pinv(Primitive):
    name = "linalg_pinv"
    may_warn = True
    params = (Param("atol", float, "absolute cutoff for singular values"),
              Param("rtol", float, "cutoff relative to the largest singular value"),
              Param("hermitian", bool, "A is symmetric: use its eigendecomposition"))
    doc = "The Moore-Penrose pseudo-inverse of each matrix in ``x`` (singular values under the cutoff dropped)."
    gate = "pinv: the gradient is -P^T g P^T plus the terms from A's null spaces (constant rank)"
    batch_params = staticmethod(_same_batch)
    save_inputs = True
    save_output = True

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        return _lapack("linalg.pinv", _pinv_array, a, atol, rtol, hermitian).astype(a.dtype, copy=False)

    @staticmethod
    def vjp(ctx, g):
        # NOTE: torch's pinv_backward: exact while the rank stays constant (the cutoff does not move).
        a, p = ctx.inputs[0], ctx.output
        m, n = a._data.shape[-2:]
        p_t, g_t = p.mT, g.mT
        if m <= n:
            k = g_t @ p
            k_p_t = k @ p_t
            return -(p @ k).mT + k_p_t - (a @ p) @ k_p_t + (p_t @ p) @ (g_t - k @ a)
        k = p @ g_t
        p_t_k = p_t @ k
        return -(k @ p).mT + (g_t - a @ k) @ p @ p_t + p_t_k - p_t_k @ p @ a

    @staticmethod
    def jvp(ctx, a_t):
        a, p = ctx.inputs[0], ctx.output
        a_t_t = a_t.mT
        out = -(p @ a_t @ p)
        out = out + p @ p.mT @ (a_t_t - a_t_t @ a @ p)
        return out + (a_t_t - p @ a @ a_t_t) @ p.mT @ p


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse ``(*, m, n) -> (*, n, m)`` via the SVD (the eigendecomposition with
    ``hermitian=True``). Singular values at or below ``max(atol, rtol * s_max)`` count as zero; the defaults
    are torch's (``atol=0``, ``rtol=eps * max(m, n)``, or 0 when only a positive ``atol`` is given). The
    gradient is torch's, exact while the rank does not change.

    Example::

        >>> chainrule.linalg.pinv(chainrule.tensor([[2.0, 0.0], [0.0, 0.0]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.0000]])
    """
    A = _matrices("linalg.pinv", A)
    if hermitian:
        A = _square("linalg.pinv", A)
    atol, rtol = _tolerances("linalg.pinv", A, atol, rtol)
    return apply(Pinv, (A,), atol=atol, rtol=rtol, hermitian=bool(hermitian))


@public(methods=("pinverse",))
def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """torch.pinverse: :func:`chainrule.linalg.pinv` with ``rtol=rcond``."""
    return pinv(input, rtol=rcond)


def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The number of singular values (|eigenvalues| with ``hermitian=True``) above ``max(atol, rtol * s_max)``,
    int64 of shape ``(*)``; tolerances as in :func:`pinv`. Not differentiable."""
    A = _matrices("linalg.matrix_rank", A)
    atol, rtol = _tolerances("linalg.matrix_rank", A, atol, rtol)
    if min(A._data.shape[-2:]) == 0:
        return _wrap(xp.zeros(A._data.shape[:-2], dtype=xp.int64))
    values = eigvalsh(A).abs() if hermitian else svdvals(A)
    cutoff = maximum(amax(values, -1, keepdim=True) * rtol, atol)
    return (values > cutoff).sum(-1)


class LstsqResult(NamedTuple):
    """``(solution, residuals, rank, singular_values)`` of :func:`lstsq`, as ``torch.return_types.linalg_lstsq``."""

    solution: Tensor
    residuals: Tensor
    rank: Tensor
    singular_values: Tensor


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None) -> LstsqResult:
    """The least-squares solution ``X`` minimising ``||A X - B||`` (the minimum-norm one when ``A`` is rank
    deficient): ``A (*, m, n)``, ``B (*, m, k)`` or ``(*, m)``; batch dims broadcast.

    Computed as ``pinv(A, rtol=rcond) @ B`` (``rcond`` default ``eps * max(m, n)``), so every driver gives the
    same solution and gradient (torch's lstsq gradient is also through the pseudo-inverse). As in torch per
    ``driver`` (default ``'gelsy'``): ``rank`` for all but ``'gels'``, ``singular_values`` for ``'gelsd'`` and
    ``'gelss'``, ``residuals`` (squared column norms of ``A X - B``) when ``m > n`` and the driver is not
    ``'gelsy'`` (torch also requires every matrix to have full rank); the rest are empty.

    Example::

        >>> A = chainrule.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
        >>> chainrule.linalg.lstsq(A, chainrule.tensor([[1.0], [2.0], [3.0]])).solution
        tensor([[1.],
                [2.]])
    """
    A = _matrices("linalg.lstsq", A)
    _tensor_arg("linalg.lstsq", "B", B)
    if driver is None:
        driver = "gelsy"
    if driver not in _DRIVERS:
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of {_DRIVERS}, got {driver!r}")
    if A.dtype != B.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got "
                           f"input's dtype {A.dtype} and other's dtype {B.dtype}")
    vector = B._data.ndim == A._data.ndim - 1
    if vector:
        B = B.unsqueeze(-1)
    m, n = A._data.shape[-2:]
    if B._data.ndim < 2 or B._data.shape[-2] != m:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2) (A has shape "
                           f"{tuple(A._data.shape)}, B has shape {tuple(B._data.shape)})")
    rtol = None if rcond is None else _float_value("linalg.lstsq", "rcond", rcond)
    solution = pinv(A, rtol=rtol) @ B
    empty = _wrap(xp.zeros((0,), dtype=A._data.dtype))
    rank = empty.long() if driver == "gels" else matrix_rank(A, rtol=rtol)
    values = svdvals(A) if driver in ("gelsd", "gelss") else empty
    residuals = empty
    if m > n and driver != "gelsy":
        # NOTE: torch leaves them empty when some matrix is rank deficient; that would read the rank's value
        # (no vmap), so they are computed for every A here.
        residuals = ((A @ solution - B) ** 2).sum(-2)
    return LstsqResult(solution.squeeze(-1) if vector else solution, residuals, rank, values)


# -- LU -------------------------------------------------------------------------------------------------

class LUResult(NamedTuple):
    """``(P, L, U)`` of :func:`lu`, as ``torch.return_types.linalg_lu``."""

    P: Tensor
    L: Tensor
    U: Tensor


class LUFactorResult(NamedTuple):
    """``(LU, pivots)`` of :func:`lu_factor`, as ``torch.return_types.linalg_lu_factor``."""

    LU: Tensor
    pivots: Tensor


def _lu_arrays(a) -> tuple:
    """Partial-pivoting LU per matrix, as LAPACK's getrf: ``(LU packed, pivots (1-based, int32), perm)`` with
    ``A[perm] = L U``."""
    m, n = a.shape[-2:]
    k = min(m, n)
    lu = _flat(a).copy()
    rows = xp.arange(lu.shape[0])
    perm = xp.broadcast_to(xp.arange(m), (lu.shape[0], m)).copy()
    pivots = xp.zeros((lu.shape[0], k), dtype=xp.int32)
    for j in range(k):
        p = j + xp.argmax(xp.abs(lu[:, j:, j]), axis=-1)
        pivots[:, j] = p + 1
        lu[rows, j], lu[rows, p] = lu[rows, p], lu[rows, j].copy()
        perm[rows, j], perm[rows, p] = perm[rows, p], perm[rows, j].copy()
        pivot = lu[:, j, j]
        # NOTE: a zero pivot means the whole column below is zero too: LAPACK skips the scaling (info > 0).
        lu[:, j + 1:, j] /= xp.where(pivot == 0, 1.0, pivot)[:, None]
        lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j:j + 1] * lu[:, j:j + 1, j + 1:]
    batch = a.shape[:-2]
    return lu.reshape(a.shape), pivots.reshape(batch + (k,)), perm.reshape(batch + (m,))


class Lu(Primitive):
    name = "linalg_lu"
    may_warn = True
    params = (Param("op", (str, None), "raise, naming this op, when U has a zero on its diagonal"),)
    doc = "The partial-pivoting LU decomposition ``P L U`` of each matrix in ``x``, with LAPACK's pivots."
    gate = "lu: the gradient is P L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T"
    batch_params = staticmethod(_same_batch)
    save_output = True
    n_outputs = 5

    @staticmethod
    def forward(ctx, a, op):
        lu, pivots, perm = _lu_arrays(a)
        m, n = a.shape[-2:]
        k = min(m, n)
        zero = xp.diagonal(lu, 0, -2, -1) == 0
        # NOTE: LAPACK's info: the (1-based) first zero on U's diagonal, 0 when there is none.
        info = xp.where(zero.any(-1), xp.argmax(zero, -1) + 1, 0).astype(xp.int32) if k else \
            xp.zeros(a.shape[:-2], dtype=xp.int32)
        if op is not None and info.any():
            flat = info.reshape(-1)
            first = int(xp.flatnonzero(flat)[0])
            where_ = f"(Batch element {first}): " if info.ndim else ""
            i = int(flat[first])
            raise LinAlgError(f"{op}: {where_}U[{i},{i}] is zero and using it on lu_solve would result in a "
                              "division by zero. If you still want to perform the factorization, consider "
                              "calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")
        permutation = xp.zeros(a.shape[:-2] + (m, m), dtype=a.dtype)
        xp.put_along_axis(permutation, perm[..., :, None], 1.0, axis=-1)
        lower = xp.tril(lu[..., :, :k], -1) + xp.eye(m, k, dtype=a.dtype)
        return permutation.swapaxes(-1, -2).copy(), lower, xp.triu(lu[..., :k, :]), pivots, info

    @staticmethod
    def vjp(ctx, g_p, g_l, g_u, g_pivots, g_info):
        permutation, lower, upper, _, _ = ctx.outputs
        m, n = lower._data.shape[-2], upper._data.shape[-1]
        if m > n:
            # NOTE: tall: P^T A = [L1; L2] U with L2 = A2 U^-1, so A2 gets gL2 U^-T and U's gradient loses
            # L2^T gL2 U^-T; the top block is a square LU.
            lower1, lower2 = narrow(lower, -2, 0, n), narrow(lower, -2, n, m - n)
            g_l1, g_l2 = narrow(g_l, -2, 0, n), narrow(g_l, -2, n, m - n)
            g_a2 = solve_triangular(upper.mT, g_l2, upper=False, left=False)
            g_a1 = _lu_vjp_square(lower1, upper, g_l1, g_u - lower2.mT @ g_a2)
            return permutation @ cat([g_a1, g_a2], -2)
        if m < n:
            # NOTE: wide: P^T A = L [U1 | U2] with U2 = L^-1 B2, so B2 gets L^-T gU2 and L's gradient loses
            # L^-T gU2 U2^T; the left block is a square LU.
            upper1, upper2 = narrow(upper, -1, 0, m), narrow(upper, -1, m, n - m)
            g_u1, g_u2 = narrow(g_u, -1, 0, m), narrow(g_u, -1, m, n - m)
            g_b2 = solve_triangular(lower.mT, g_u2, upper=True, unitriangular=True)
            g_b1 = _lu_vjp_square(lower, upper1, g_l - g_b2 @ upper2.mT, g_u1)
            return permutation @ cat([g_b1, g_b2], -1)
        return permutation @ _lu_vjp_square(lower, upper, g_l, g_u)

    @staticmethod
    def jvp(ctx, a_t):
        permutation, lower, upper, _, _ = ctx.outputs
        m, n = lower._data.shape[-2], upper._data.shape[-1]
        b_t = permutation.mT @ a_t
        if m > n:
            lower1, lower2 = narrow(lower, -2, 0, n), narrow(lower, -2, n, m - n)
            lower1_t, upper_t = _lu_jvp_square(lower1, upper, narrow(b_t, -2, 0, n))
            lower2_t = solve_triangular(upper, narrow(b_t, -2, n, m - n) - lower2 @ upper_t, upper=True,
                                        left=False)
            return None, cat([lower1_t, lower2_t], -2), upper_t, None, None
        if m < n:
            upper1, upper2 = narrow(upper, -1, 0, m), narrow(upper, -1, m, n - m)
            lower_t, upper1_t = _lu_jvp_square(lower, upper1, narrow(b_t, -1, 0, m))
            upper2_t = solve_triangular(lower, narrow(b_t, -1, m, n - m) - lower_t @ upper2, upper=False,
                                        unitriangular=True)
            return None, lower_t, cat([upper1_t, upper2_t], -1), None, None
        lower_t, upper_t = _lu_jvp_square(lower, upper, b_t)
        return None, lower_t, upper_t, None, None


def _lu_vjp_square(lower: Tensor, upper: Tensor, g_l: Tensor, g_u: Tensor) -> Tensor:
    """The gradient of ``B = L U`` (square): ``L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T``."""
    phi = tril(lower.mT @ g_l, -1) + triu(g_u @ upper.mT)
    x = solve_triangular(lower.mT, phi, upper=True, unitriangular=True)
    return solve_triangular(upper.mT, x, upper=False, left=False)


def _lu_jvp_square(lower: Tensor, upper: Tensor, b_t: Tensor) -> tuple:
    """``(dL, dU)`` of ``B = L U`` (square): with ``X = L^-1 dB U^-1``, ``dL = L tril(X, -1)``, ``dU = triu(X) U``."""
    x = solve_triangular(lower, b_t, upper=False, unitriangular=True)
    x = solve_triangular(upper, x, upper=True, left=False)
    return lower @ tril(x, -1), triu(x) @ upper


def _lu_input(op: str, A, pivot: bool) -> Tensor:
    A = _matrices(op, A)
    if not pivot:
        raise RuntimeError(f"{op}: LU without pivoting is not implemented on the CPU")
    return A


def lu(A: Tensor, *, pivot: bool = True) -> LUResult:
    """The LU decomposition with partial pivoting ``A = P L U``: ``A (*, m, n)``, ``k = min(m, n)``; ``P (*, m,
    m)`` a permutation, ``L (*, m, k)`` unit lower triangular, ``U (*, k, n)`` upper triangular. ``P`` carries no
    gradient; ``L`` and ``U`` differentiate twice and in forward mode (torch's formulas, rectangular included)."""
    P, L, U, _, _ = apply(Lu, (_lu_input("linalg.lu", A, pivot),), op=None)
    return LUResult(P.detach(), L, U)


def _pack(L: Tensor, U: Tensor) -> Tensor:
    """``L`` (unit diagonal dropped) and ``U`` in one ``m x n`` matrix, as LAPACK stores them."""
    m, k, n = L._data.shape[-2], L._data.shape[-1], U._data.shape[-1]
    if m > k:
        U = cat([U, U.new_zeros(U._data.shape[:-2] + (m - k, n))], -2)
    if n > k:
        L = cat([L, L.new_zeros(L._data.shape[:-2] + (m, n - k))], -1)
    return tril(L, -1) + U


def lu_factor(A: Tensor, *, pivot: bool = True) -> LUFactorResult:
    """The LU decomposition packed as LAPACK's getrf: ``(LU (*, m, n), pivots (*, min(m, n)))``, pivots int32
    and 1-based (row ``i`` was swapped with row ``pivots[i]``). A zero on ``U``'s diagonal raises, as torch."""
    _, L, U, pivots, _ = apply(Lu, (_lu_input("linalg.lu_factor", A, pivot),), op="torch.linalg.lu_factor")
    return LUFactorResult(_pack(L, U), pivots)


class LUFactorExResult(NamedTuple):
    """``(LU, pivots, info)`` of :func:`lu_factor_ex`, as ``torch.return_types.linalg_lu_factor_ex``."""

    LU: Tensor
    pivots: Tensor
    info: Tensor


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> LUFactorExResult:
    """:func:`lu_factor` without the error: ``info`` (int32, shape ``(*)``) is LAPACK's, the 1-based index of
    the first zero on ``U``'s diagonal, 0 when there is none; ``check_errors=True`` raises as lu_factor."""
    op = "torch.linalg.lu_factor_ex" if check_errors else None
    _, L, U, pivots, info = apply(Lu, (_lu_input("linalg.lu_factor_ex", A, pivot),), op=op)
    return LUFactorExResult(_pack(L, U), pivots, info)


@public(methods=("lu",), name="lu")
def lu_legacy(A: Tensor, pivot: bool = True, get_infos: bool = False) -> tuple:
    """torch.lu (deprecated in torch): ``(LU, pivots)`` as :func:`chainrule.linalg.lu_factor`, or with
    ``get_infos=True`` ``(LU, pivots, info)`` as :func:`chainrule.linalg.lu_factor_ex` (no error then); with
    torch's deprecation warning."""
    deprecated("lu", "lu_factor / torch.linalg.lu_factor_ex")
    out = lu_factor_ex(A, pivot=pivot, check_errors=not get_infos)
    return out if get_infos else LUFactorResult(out.LU, out.pivots)


class PivotsToPermutation(Primitive):
    name = "lu_pivots_to_permutation"
    inputs = ("pivots",)
    params = (Param("m", int, "the number of rows"), Param("dtype", object, "the NumPy dtype of P"))
    doc = "The permutation matrix ``P`` of LAPACK's 1-based sequential row swaps ``pivots``."
    differentiable = False
    batch_params = staticmethod(_same_batch)

    @staticmethod
    def forward(ctx, pivots, m, dtype):
        batch = pivots.shape[:-1]
        flat = pivots.reshape((math.prod(batch), pivots.shape[-1])) - 1
        perm = xp.broadcast_to(xp.arange(m), (flat.shape[0], m)).copy()
        rows = xp.arange(flat.shape[0])
        for j in range(flat.shape[1]):
            p = flat[:, j]
            perm[rows, j], perm[rows, p] = perm[rows, p], perm[rows, j].copy()
        permutation = xp.zeros((flat.shape[0], m, m), dtype=dtype)
        permutation[rows[:, None], perm, xp.arange(m)[None, :]] = 1.0
        return permutation.reshape(batch + (m, m))


class LUUnpackResult(NamedTuple):
    """``(P, L, U)`` of :func:`lu_unpack`, as ``torch.return_types.lu_unpack``."""

    P: Tensor
    L: Tensor
    U: Tensor


@public()
def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,
              unpack_pivots: bool = True) -> LUUnpackResult:
    """``(P, L, U)`` from :func:`chainrule.linalg.lu_factor`'s ``(LU, pivots)``; ``L`` and ``U`` differentiate
    back to ``LU``. An output not unpacked is an empty tensor, as torch."""
    LU = _matrices("lu_unpack", LU_data)
    _tensor_arg("lu_unpack", "LU_pivots", LU_pivots)
    if LU_pivots._data.dtype.kind not in "iu":
        raise RuntimeError(f"lu_unpack: LU_pivots is expected to be an integer tensor, got {LU_pivots.dtype}")
    m, n = LU._data.shape[-2:]
    k = min(m, n)
    empty = _wrap(xp.zeros((0,), dtype=LU._data.dtype))
    P = apply(PivotsToPermutation, (LU_pivots,), m=m, dtype=LU._data.dtype) if unpack_pivots else empty
    if not unpack_data:
        return LUUnpackResult(P, empty, empty)
    L = tril(narrow(LU, -1, 0, k), -1) + _eye(LU, m, k)
    return LUUnpackResult(P, L, triu(narrow(LU, -2, 0, k)))


@public(methods=("lu_solve",), name="lu_solve")
def lu_solve_legacy(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """torch.lu_solve (deprecated in torch, with its warning): :func:`chainrule.linalg.lu_solve` with ``b``
    first."""
    deprecated("lu_solve", "lu_solve")
    return lu_solve(LU_data, LU_pivots, b)


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False) -> Tensor:
    """The solution of ``A X = B`` from ``lu_factor(A)`` (``X A = B`` with ``left=False``; ``A^T`` in place of
    ``A`` with ``adjoint=True``). ``LU (*, n, n)``, ``B (*, n, k)``; differentiable in ``LU`` and ``B``."""
    _square("linalg.lu_solve", LU)
    _tensor_arg("linalg.lu_solve", "B", B)
    P, L, U = lu_unpack(LU, pivots)
    if left and not adjoint:
        return solve_triangular(U, solve_triangular(L, P.mT @ B, upper=False, unitriangular=True), upper=True)
    if left:
        x = solve_triangular(L.mT, solve_triangular(U.mT, B, upper=False), upper=True, unitriangular=True)
        return P @ x
    if not adjoint:
        x = solve_triangular(L, solve_triangular(U, B, upper=True, left=False), upper=False, left=False,
                             unitriangular=True)
        return x @ P.mT
    x = B @ P
    x = solve_triangular(L.mT, x, upper=True, left=False, unitriangular=True)
    return solve_triangular(U.mT, x, upper=False, left=False)


# -- Householder product --------------------------------------------------------------------------------

def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """The first ``n`` columns of ``H_1 ... H_k``, ``H_i = I - tau_i v_i v_i^T`` with ``v_i`` column ``i`` of
    ``A`` below the diagonal (1 on it): LAPACK's orgqr. ``A (*, m, n)``, ``tau (*, k)``, ``m >= n >= k``."""
    A = _matrices("linalg.householder_product", A)
    _tensor_arg("linalg.householder_product", "tau", tau)
    m, n = A._data.shape[-2:]
    k = tau._data.shape[-1] if tau._data.ndim else -1
    if not m >= n >= k >= 0:
        raise RuntimeError(f"torch.linalg.householder_product: expected m >= n >= k for A of shape "
                           f"{tuple(A._data.shape)} and tau of shape {tuple(tau._data.shape)}")
    if tau._data.shape[:-1] != A._data.shape[:-2]:
        raise RuntimeError(f"torch.linalg.householder_product: Expected batch dimensions of tau to be equal to "
                           f"A.shape[:-2], but got {tuple(tau._data.shape[:-1])} and {tuple(A._data.shape[:-2])}")
    vectors = tril(A, -1) + _eye(A, m, n)
    q = broadcast_to(_eye(A, m), A._data.shape[:-2] + (m, m))
    for i in range(k):
        v = narrow(vectors, -1, i, 1)
        q = q - (q @ v) * narrow(tau, -1, i, 1).unsqueeze(-1) @ v.mT
    return narrow(q, -1, 0, n)


@public(methods=("orgqr",))
def orgqr(input: Tensor, tau: Tensor) -> Tensor:
    """torch.orgqr: :func:`chainrule.linalg.householder_product`."""
    return householder_product(input, tau)


# -- cross product -------------------------------------------------------------------------------------

def _cross_dim(op: str, x: Tensor, y: Tensor, dim) -> tuple:
    x, y = promote(_tensor_arg(op, "input", x), _tensor_arg(op, "other", y), op)
    if x._data.ndim != y._data.ndim:
        raise RuntimeError(f"{op}: inputs must have the same number of dimensions, got shapes "
                           f"{tuple(x._data.shape)} and {tuple(y._data.shape)}")
    try:
        shape = xp.broadcast_shapes(x._data.shape, y._data.shape)
    except ValueError:
        raise RuntimeError(f"{op}: the shapes {tuple(x._data.shape)} and {tuple(y._data.shape)} cannot be "
                           "broadcast together") from None
    if dim is None:
        dim = next((d for d, n in enumerate(shape) if n == 3), None)
        if dim is None:
            raise RuntimeError(f"{op}: no dimension of size 3 in input (shape {tuple(shape)})")
    d = _normalize_dim(dim, len(shape), op)
    if x._data.shape[d - len(shape)] != 3 or y._data.shape[d - len(shape)] != 3:
        raise RuntimeError(f"{op}: inputs dimension {dim} must have length 3. Got "
                           f"{x._data.shape[d - len(shape)]} and {y._data.shape[d - len(shape)]}")
    return broadcast_to(x, shape), broadcast_to(y, shape), d


def _cross(x: Tensor, y: Tensor, d: int) -> Tensor:
    # NOTE: out_i = x_{i+1} y_{i+2} - x_{i+2} y_{i+1} (indices mod 3): two rolls of each operand.
    return roll(x, -1, d) * roll(y, -2, d) - roll(x, -2, d) * roll(y, -1, d)


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (size 3 in both); other dims broadcast.

    Example::

        >>> chainrule.linalg.cross(chainrule.tensor([1.0, 0.0, 0.0]), chainrule.tensor([0.0, 1.0, 0.0]))
        tensor([0., 0., 1.])
    """
    return _cross(*_cross_dim("linalg.cross", input, other, dim))


@public(methods=("cross",))
def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """torch.cross: :func:`chainrule.linalg.cross` along ``dim``, whose default (None) is the first dimension
    of size 3 (torch's deprecated default, with its warning; pass ``dim`` explicitly)."""
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
                      "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=2)
    return _cross(*_cross_dim("cross", input, other, dim))


# -- matrix exponential ----------------------------------------------------------------------------------

# NOTE: Higham (2005), "The scaling and squaring method for the matrix exponential revisited": the [13/13] Pade
# approximant is accurate to double precision for ||A||_1 <= theta_13; larger matrices are scaled by 2^-s first
# and the result squared s times.
_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
           10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0,
           1.0)
_THETA13 = 5.371920351148152


def _expm(a):
    """``exp(a)`` per matrix by scaling and squaring with the [13/13] Pade approximant (one ``s`` for the batch:
    the largest any matrix needs)."""
    if a.size == 0:
        return a.copy()
    norm = float(xp.abs(a).sum(-2).max())
    s = max(0, int(math.ceil(math.log2(norm / _THETA13)))) if norm > _THETA13 and math.isfinite(norm) else 0
    a = a / 2.0 ** s
    b = _PADE13
    eye = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    out = xp.linalg.solve(v - u, v + u)
    for _ in range(s):
        out = out @ out
    return out.astype(a.dtype, copy=False)


class MatrixExp(Primitive):
    name = "linalg_matrix_exp"
    may_warn = True
    doc = "The matrix exponential of each square matrix in ``x``."
    gate = "matrix_exp: the gradient is the corner block of exp([[A^T, g], [0, A^T]])"
    batch_params = staticmethod(lambda size, p: p)  # NOTE: already batched over leading dims
    save_inputs = True

    @staticmethod
    def forward(ctx, a):
        return _expm(a)

    @staticmethod
    def vjp(ctx, g):
        return _exp_corner(ctx.inputs[0].mT, g)

    @staticmethod
    def jvp(ctx, a_t):
        return _exp_corner(ctx.inputs[0], a_t)


def _exp_corner(a: Tensor, e: Tensor) -> Tensor:
    """The Frechet derivative of exp at ``a`` in direction ``e``: the top-right block of exp([[a, e], [0, a]])
    (Najfeld and Havel), written with matrix_exp itself, so it differentiates again."""
    n = a._data.shape[-1]
    zeros = a * 0.0
    block = cat([cat([a, e], -1), cat([zeros, a], -1)], -2)
    return apply(MatrixExp, (block,))[..., :n, n:]


@public(methods=("matrix_exp",))
def matrix_exp(A: Tensor) -> Tensor:
    """The matrix exponential ``sum_k A^k / k!`` of each square matrix: ``(*, n, n)``.

    Example::

        >>> chainrule.linalg.matrix_exp(chainrule.zeros(2, 2))
        tensor([[1., 0.],
                [0., 1.]])
    """
    return apply(MatrixExp, (_square("linalg.matrix_exp", A),))


__all__ = exports(__name__)
