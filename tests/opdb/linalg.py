"""Op database entries: linear algebra (see opdb/__init__.py)."""

import warnings

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays, rng


def products(*pairs, seed=0):
    return [Sample(arrays(*shapes, seed=seed)) for shapes in pairs]


def well_conditioned(*shape, seed=0, sign=1.0):
    """Random square matrices plus n * I: far from singular, so finite differences of inv/det/solve hold."""
    n = shape[-1]
    return sign * (rng(seed).uniform(-1, 1, shape) + n * np.eye(n))


def einsum_entry(name, equation, *shape_sets):
    return OpInfo(name, lambda *xs: cr.einsum(equation, *xs), products(*shape_sets),
                  lambda *xs: np.einsum(equation, *xs), covers=("einsum",))


def np_solve(a, b, left=True):
    """NumPy's solve with torch's rules: b holds vectors when 1-D or shaped like a without its last dim."""
    if not left:
        return np.swapaxes(np_solve(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2)), -1, -2)
    if b.ndim == 1 or b.shape == a.shape[:-1]:
        return np_solve(a, b[..., None])[..., 0]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return np.linalg.solve(np.broadcast_to(a, batch + a.shape[-2:]), np.broadcast_to(b, batch + b.shape[-2:]))


def np_matrix_norm(a, ord):
    if ord == "fro":
        return np.sqrt((a * a).sum((-2, -1)))
    sums = np.abs(a).sum(-2 if abs(ord) == 1 else -1)
    return sums.max(-1) if ord > 0 else sums.min(-1)


# -- decompositions: the samples are generic (distinct singular values and eigenvalues), and what is compared is
# gauge invariant (U diag(w) Vh, Q diag(w) Q^T) so that finite differences hold whatever signs LAPACK picks.

def legacy(fn):
    """``fn`` without the deprecation warning torch's legacy linear-algebra functions give."""
    def quiet(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(*args)
    return quiet


def weights(n):
    return np.arange(1.0, n + 1.0)


def cr_weights(n):
    return cr.tensor(weights(n))


def np_sym(a):
    return a + np.swapaxes(a, -1, -2)


def np_spd(a):
    return a @ np.swapaxes(a, -1, -2) + a.shape[-1] * np.eye(a.shape[-1])


def cr_spd(a):
    return a @ a.mT + a.shape[-1] * cr.eye(a.shape[-1], dtype=a.dtype)


def np_eigh(a, uplo="L"):
    w, q = np.linalg.eigh(np_sym(a), UPLO=uplo)
    return w, (q * weights(w.shape[-1])[None, :]) @ np.swapaxes(q, -1, -2)


def cr_eigh(a, uplo="L"):
    w, q = cr.linalg.eigh(a + a.mT, UPLO=uplo)
    return w, (q * cr_weights(w.shape[-1])) @ q.mT


def np_svd(a, full_matrices=False):
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    k = s.shape[-1]
    return s, (u[..., :k] * weights(k)) @ vh[..., :k, :]


def cr_svd(a, full_matrices=False):
    u, s, vh = cr.linalg.svd(a, full_matrices=full_matrices)
    k = s.shape[-1]
    return s, (u[..., :k] * cr_weights(k)) @ vh[..., :k, :]


def np_expm(a):
    """exp(a) by a Taylor series on a / 2^8, squared back: independent of chainrule's Pade approximant."""
    scaled = a / 256.0
    term = np.broadcast_to(np.eye(a.shape[-1]), a.shape).copy()
    out = term.copy()
    for k in range(1, 20):
        term = term @ scaled / k
        out = out + term
    for _ in range(8):
        out = out @ out
    return out


def np_householder_product(a, tau):
    m, n = a.shape[-2:]
    v = np.tril(a, -1) + np.eye(m, n)
    q = np.broadcast_to(np.eye(m), a.shape[:-2] + (m, m)).copy()
    for i in range(tau.shape[-1]):
        vi = v[..., :, i:i + 1]
        q = q - tau[..., i, None, None] * (q @ vi) @ np.swapaxes(vi, -1, -2)
    return q[..., :, :n]


def np_lu_solve(a, b, left, adjoint):
    a = np.swapaxes(a, -1, -2) if adjoint else a
    return np_solve(a, b, left=left)


def np_lstsq_gelsd(a, b):
    vector = b.ndim == a.ndim - 1
    b2 = b[..., None] if vector else b
    x = np.linalg.pinv(a) @ b2
    residuals = ((a @ x - b2) ** 2).sum(-2)
    return x[..., 0] if vector else x, residuals, np.linalg.matrix_rank(a), np.linalg.svd(a, compute_uv=False)


def np_cond(a, p):
    if p in (None, 2, -2):
        s = np.linalg.svd(a, compute_uv=False)
        return s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
    return np_matrix_norm_any(a, p) * np_matrix_norm_any(np.linalg.inv(a), p)


def np_matrix_norm_any(a, ord):
    if ord in ("nuc", 2, -2):
        s = np.linalg.svd(a, compute_uv=False)
        return s.sum(-1) if ord == "nuc" else (s.max(-1) if ord == 2 else s.min(-1))
    return np_matrix_norm(a, ord)


SHAPES_TALL_WIDE = ((4, 3), (3, 5), (2, 3, 3), (1, 1))


INF = float("inf")

ENTRIES = [
    OpInfo("matmul", cr.matmul, [Sample(arrays(a, b)) for a, b in (
        ((3, 4), (4, 2)), ((4,), (4,)), ((4,), (4, 2)), ((3, 4), (4,)), ((2, 3, 4), (4, 5)),
        ((2, 1, 3, 4), (5, 4, 2)), ((0, 4), (4, 2)))], np.matmul),
    OpInfo("mm", cr.mm, products(((3, 4), (4, 2)), ((1, 1), (1, 3)), ((0, 2), (2, 3))), np.matmul),
    OpInfo("bmm", cr.bmm, products(((2, 3, 4), (2, 4, 5)), ((1, 2, 2), (1, 2, 1))), np.matmul),
    OpInfo("dot", cr.dot, products(((4,), (4,)), ((1,), (1,)), ((0,), (0,))), np.dot),
    OpInfo("outer", cr.outer, products(((3,), (4,)), ((1,), (2,))), np.outer),
    OpInfo("addmm", lambda c, a, b: cr.addmm(c, a, b, beta=0.5, alpha=2.0),
           products(((2, 4), (2, 3), (3, 4)), ((4,), (2, 3), (3, 4)), ((1, 1), (1, 2), (2, 1))),
           lambda c, a, b: 0.5 * c + 2.0 * (a @ b)),
    OpInfo("mv", cr.mv, products(((3, 4), (4,)), ((1, 2), (2,))), np.matmul),
    OpInfo("addmv", lambda c, a, b: cr.addmv(c, a, b, beta=0.5, alpha=2.0), products(((3,), (3, 4), (4,)),
                                                                                      ((1,), (2, 2), (2,))),
           lambda c, a, b: 0.5 * c + 2.0 * (a @ b)),
    OpInfo("addr", lambda c, a, b: cr.addr(c, a, b, alpha=3.0), products(((3, 4), (3,), (4,)), ((4,), (2,), (4,))),
           lambda c, a, b: c + 3.0 * np.outer(a, b)),
    OpInfo("baddbmm", lambda c, a, b: cr.baddbmm(c, a, b, beta=2.0), products(((2, 3, 4), (2, 3, 5), (2, 5, 4)),
                                                                               ((4,), (2, 3, 2), (2, 2, 4))),
           lambda c, a, b: 2.0 * c + a @ b),
    OpInfo("addbmm", lambda c, a, b: cr.addbmm(c, a, b, alpha=0.5), products(((3, 4), (2, 3, 5), (2, 5, 4))),
           lambda c, a, b: c + 0.5 * (a @ b).sum(0)),
    OpInfo("ger", cr.ger, products(((3,), (2,))), np.outer),
    OpInfo("vdot", cr.vdot, products(((4,), (4,))), np.dot),
    OpInfo("inner", cr.inner, products(((2, 3), (4, 3)), ((3,), (3,)), ((2, 1, 3), (3,)), ((), (2, 3))), np.inner),
    OpInfo("trace", cr.trace, products(((3, 3),), ((2, 4),), ((1, 1),)), np.trace),
    # einsum: every feature of the equation language, each as its own entry so failures name it.
    einsum_entry("einsum", "ij,jk->ik", ((2, 3), (3, 4)), ((0, 3), (3, 2))),
    einsum_entry("einsum_batched", "bij,bjk->bik", ((2, 3, 4), (2, 4, 5))),
    einsum_entry("einsum_implicit", "ij,kj", ((2, 3), (4, 3))),
    einsum_entry("einsum_transpose", "ba", ((2, 3),)),
    einsum_entry("einsum_dot", "i,i", ((4,), (4,))),
    einsum_entry("einsum_outer", "i,j->ij", ((3,), (2,))),
    einsum_entry("einsum_sum", "ij->", ((2, 3),)),
    einsum_entry("einsum_row_sum", "ij->i", ((2, 3),)),
    einsum_entry("einsum_diagonal", "ii->i", ((3, 3),)),
    einsum_entry("einsum_trace", "ii", ((3, 3),)),
    einsum_entry("einsum_diagonal_mixed", "iij,jk->ik", ((3, 3, 2), (2, 4))),
    einsum_entry("einsum_ellipsis", "...ij,...jk", ((5, 2, 3), (3, 4)), ((2, 3), (2, 3, 4))),
    einsum_entry("einsum_ellipsis_reduce", "...i,...i->...", ((2, 1, 3), (4, 3))),
    einsum_entry("einsum_broadcast_size1", "ij,ij->ij", ((2, 3), (1, 3)), ((2, 1), (1, 3))),
    einsum_entry("einsum_three", "ij,jk,kl->il", ((2, 3), (3, 4), (4, 2))),
    OpInfo("linalg.inv", cr.linalg.inv,
           [Sample((well_conditioned(*s),)) for s in ((3, 3), (2, 3, 3), (1, 1), (0, 2, 2))],
           np.linalg.inv, covers=("inverse",)),
    OpInfo("det", cr.det, [Sample((well_conditioned(*s, sign=sign),)) for s, sign in (
        ((3, 3), 1.0), ((3, 3), -1.0), ((2, 3, 3), 1.0), ((1, 1), 1.0), ((0, 2, 2), 1.0))],
        np.linalg.det, covers=("linalg.det",)),
    OpInfo("slogdet", lambda a: tuple(cr.slogdet(a)),
           [Sample((well_conditioned(*s, sign=sign),)) for s, sign in (((3, 3), 1.0), ((3, 3), -1.0),
                                                                         ((2, 2, 2), 1.0))],
           lambda a: tuple(np.linalg.slogdet(a)), covers=("linalg.slogdet",)),
    OpInfo("linalg.solve", cr.linalg.solve, [
        Sample((well_conditioned(3, 3), *arrays((3, 2)))),
        Sample((well_conditioned(3, 3), *arrays((3,)))),
        Sample((well_conditioned(2, 3, 3), *arrays((2, 3)))),
        Sample((well_conditioned(2, 3, 3), *arrays((3, 1)))),
        Sample((well_conditioned(3, 3), *arrays((2, 1, 3, 2)))),
    ], np_solve),
    OpInfo("linalg.solve_left_false", lambda a, b: cr.linalg.solve(a, b, left=False),
           [Sample((well_conditioned(3, 3), *arrays((2, 3))))], lambda a, b: np_solve(a, b, left=False)),
    OpInfo("linalg.norm", cr.linalg.norm, products(((3, 4),), ((2, 3, 4),), ((5,),)),
           lambda a: np.sqrt((a * a).sum())),
    OpInfo("linalg.norm_vector_dim", lambda a: cr.linalg.norm(a, 3, dim=-1, keepdim=True),
           products(((2, 3),)), lambda a: (np.abs(a) ** 3).sum(-1, keepdims=True) ** (1 / 3)),
    OpInfo("linalg.norm_matrix_inf", lambda a: cr.linalg.norm(a, INF), products(((3, 4),)),
           lambda a: np_matrix_norm(a, INF)),
    OpInfo("linalg.vector_norm", lambda a: cr.linalg.vector_norm(a, 1, dim=(0, 2)), products(((2, 3, 4),)),
           lambda a: np.abs(a).sum((0, 2))),
    OpInfo("linalg.vector_norm_inf", lambda a: cr.linalg.vector_norm(a, -INF, dim=1), products(((3, 4),)),
           lambda a: np.abs(a).min(1)),
    OpInfo("linalg.matrix_norm", lambda a: cr.linalg.matrix_norm(a), products(((2, 3, 4),)),
           lambda a: np_matrix_norm(a, "fro")),
    *[OpInfo(f"linalg.matrix_norm_{ord}", lambda a, ord=ord: cr.linalg.matrix_norm(a, ord),
             products(((2, 3, 4),)), lambda a, ord=ord: np_matrix_norm(a, ord))
      for ord in (1, -1, INF, -INF)],
    # -- decompositions (see the note above the helpers) --
    OpInfo("linalg.eigh", cr_eigh, products(((3, 3),), ((2, 3, 3),), ((1, 1),)), np_eigh),
    OpInfo("linalg.eigh_upper", lambda a: cr_eigh(a, "U"), products(((3, 3),)), lambda a: np_eigh(a, "U")),
    OpInfo("linalg.eigvalsh", lambda a: cr.linalg.eigvalsh(a + a.mT), products(((3, 3),), ((2, 4, 4),)),
           lambda a: np.linalg.eigvalsh(np_sym(a))),
    OpInfo("linalg.svd", cr_svd, products(*((s,) for s in SHAPES_TALL_WIDE)), np_svd),
    OpInfo("linalg.svd_full_square", lambda a: cr_svd(a, True), products(((3, 3),), ((2, 2, 2),)),
           lambda a: np_svd(a, True)),
    OpInfo("linalg.svd_full", lambda a: cr_svd(a, True), products(((4, 3),), ((2, 4),)),
           lambda a: np_svd(a, True)),
    OpInfo("linalg.svdvals", cr.linalg.svdvals, products(*((s,) for s in SHAPES_TALL_WIDE)),
           lambda a: np.linalg.svd(a, compute_uv=False)),
    OpInfo("svd", lambda a: (lambda u, s, v: (s, (u * cr_weights(s.shape[-1])) @ v.mT))(*cr.svd(a)),
           products(((4, 3),), ((3, 5),)), np_svd),
    OpInfo("linalg.qr", lambda a: tuple(cr.linalg.qr(a)), products(((4, 3),), ((3, 3),), ((3, 5),), ((2, 4, 3),)),
           lambda a: tuple(np.linalg.qr(a))),
    OpInfo("linalg.qr_complete", lambda a: tuple(cr.linalg.qr(a, "complete")), products(((3, 3),), ((2, 4),)),
           lambda a: tuple(np.linalg.qr(a, "complete"))),
    OpInfo("linalg.qr_r", lambda a: cr.linalg.qr(a, "r").R, products(((4, 3),)),
           lambda a: np.linalg.qr(a, "r"), differentiable=False),
    OpInfo("linalg.cholesky", lambda a: cr.linalg.cholesky(cr_spd(a)), products(((3, 3),), ((2, 3, 3),), ((1, 1),)),
           lambda a: np.linalg.cholesky(np_spd(a))),
    OpInfo("linalg.cholesky_upper", lambda a: cr.linalg.cholesky(cr_spd(a), upper=True), products(((3, 3),)),
           lambda a: np.swapaxes(np.linalg.cholesky(np_spd(a)), -1, -2)),
    OpInfo("linalg.cholesky_ex", lambda a: tuple(cr.linalg.cholesky_ex(cr_spd(a))), products(((2, 3, 3),)),
           lambda a: (np.linalg.cholesky(np_spd(a)), np.zeros(a.shape[:-2], np.int32))),
    OpInfo("cholesky", legacy(lambda a: cr.cholesky(cr_spd(a), upper=True)), products(((3, 3),)),
           lambda a: np.swapaxes(np.linalg.cholesky(np_spd(a)), -1, -2)),
    OpInfo("cholesky_solve", lambda a, b: cr.cholesky_solve(b, cr.linalg.cholesky(cr_spd(a))),
           products(((3, 3), (3, 2)), ((2, 3, 3), (3, 1))), lambda a, b: np_solve(np_spd(a), b)),
    OpInfo("cholesky_solve_upper", lambda a, b: cr.cholesky_solve(b, cr.linalg.cholesky(cr_spd(a), upper=True), True),
           products(((3, 3), (3, 2))), lambda a, b: np_solve(np_spd(a), b)),
    OpInfo("cholesky_inverse", lambda a: cr.cholesky_inverse(cr.linalg.cholesky(cr_spd(a))),
           products(((3, 3),), ((2, 2, 2),)), lambda a: np.linalg.inv(np_spd(a))),
    OpInfo("qr", legacy(lambda a: tuple(cr.qr(a, some=False))), products(((3, 3),), ((2, 4),)),
           lambda a: tuple(np.linalg.qr(a, "complete"))),
    OpInfo("linalg.pinv", cr.linalg.pinv, products(*((s,) for s in SHAPES_TALL_WIDE)), np.linalg.pinv),
    OpInfo("linalg.pinv_hermitian", lambda a: cr.linalg.pinv(a + a.mT, hermitian=True), products(((3, 3),)),
           lambda a: np.linalg.pinv(np_sym(a))),
    OpInfo("pinverse", cr.pinverse, products(((4, 3),)), np.linalg.pinv),
    OpInfo("linalg.pinv_tolerances", lambda a: cr.linalg.pinv(a, atol=1e-3, rtol=1e-6), products(((2, 4, 3),)),
           np.linalg.pinv),
    OpInfo("svd_no_uv", lambda a: cr.svd(a, compute_uv=False), products(((4, 3),)),
           lambda a: (np.zeros((4, 4)), np.linalg.svd(a, compute_uv=False), np.zeros((3, 3)))),
    OpInfo("linalg.lstsq", lambda a, b: tuple(cr.linalg.lstsq(a, b, driver="gelsd")),
           products(((4, 3), (4, 2)), ((2, 4, 3), (1, 4, 2)), ((4, 3), (4,))),
           np_lstsq_gelsd),
    OpInfo("linalg.lstsq_wide", lambda a, b: cr.linalg.lstsq(a, b).solution, products(((2, 3), (2, 2))),
           lambda a, b: np.linalg.pinv(a) @ b),
    OpInfo("linalg.matrix_rank", cr.linalg.matrix_rank,
           [Sample(arrays((4, 3))), Sample((arrays((4, 2))[0] @ arrays((2, 3), seed=1)[0],)),
            Sample((np.zeros((2, 2)),))],
           np.linalg.matrix_rank, differentiable=False),
    OpInfo("linalg.matrix_rank_hermitian", lambda a: cr.linalg.matrix_rank(a @ a.mT, hermitian=True),
           products(((4, 2),)), lambda a: np.linalg.matrix_rank(a @ a.T, hermitian=True), differentiable=False),
    *[OpInfo(f"linalg.cond_{p}", lambda a, p=p: cr.linalg.cond(a, p), [Sample((well_conditioned(*s),))
                                                                     for s in ((3, 3), (2, 3, 3))],
             lambda a, p=p: np_cond(a, p)) for p in (None, -2, "fro", "nuc", 1, INF)],
    OpInfo("linalg.cond_tall", cr.linalg.cond, products(((4, 3),)), lambda a: np_cond(a, None)),
    *[OpInfo(f"linalg.matrix_norm_{ord}", lambda a, ord=ord: cr.linalg.matrix_norm(a, ord),
             products(((2, 3, 4),), ((4, 3),)), lambda a, ord=ord: np_matrix_norm_any(a, ord))
      for ord in ("nuc", 2, -2)],
    *[OpInfo(f"linalg.solve_triangular_{name}", lambda a, b, kw=kw: cr.linalg.solve_triangular(a, b, **kw),
             [Sample((well_conditioned(3, 3), *arrays(shape))), Sample((well_conditioned(2, 3, 3), *arrays(shape)))],
             lambda a, b, kw=kw: np_solve((np.triu(a, 1) if kw["upper"] else np.tril(a, -1)) + np.eye(3)
                                          if kw.get("unitriangular") else
                                          (np.triu(a) if kw["upper"] else np.tril(a)), b, left=kw.get("left", True)))
      for name, kw, shape in (("upper", {"upper": True}, (3, 2)), ("lower", {"upper": False}, (3, 2)),
                              ("right", {"upper": True, "left": False}, (2, 3)),
                              ("unit", {"upper": False, "unitriangular": True}, (3, 1)))],
    OpInfo("linalg.lu", lambda a: tuple(cr.linalg.lu(a)), products(((3, 3),), ((2, 4, 4),))),
    OpInfo("linalg.lu_rectangular", lambda a: tuple(cr.linalg.lu(a))[1:], products(((4, 3),), ((2, 4),),
                                                                                   ((2, 3, 5),))),
    OpInfo("linalg.lu_factor_rectangular", lambda a: cr.linalg.lu_factor(a).LU, products(((4, 3),), ((2, 4),))),
    OpInfo("linalg.lu_factor", lambda a: tuple(cr.linalg.lu_factor(a)), products(((3, 3),), ((2, 4, 4),))),
    OpInfo("linalg.lu_factor_ex", lambda a: tuple(cr.linalg.lu_factor_ex(a)), products(((3, 3),), ((2, 4, 4),))),
    OpInfo("lu", legacy(lambda a: tuple(cr.lu(a, get_infos=True))), products(((3, 3),))),
    OpInfo("lu_solve", legacy(lambda a, b: cr.lu_solve(b, *cr.linalg.lu_factor(a))),
           [Sample((well_conditioned(3, 3), *arrays((3, 2))))], np_solve),
    OpInfo("lu_unpack", lambda a: tuple(cr.lu_unpack(*cr.linalg.lu_factor(a))), products(((3, 3),), ((2, 4, 4),))),
    *[OpInfo(f"linalg.lu_solve_{'left' if left else 'right'}{'_adjoint' if adjoint else ''}",
             lambda a, b, left=left, adjoint=adjoint: cr.linalg.lu_solve(*cr.linalg.lu_factor(a), b, left=left,
                                                                         adjoint=adjoint),
             [Sample((well_conditioned(3, 3), *arrays((3, 2) if left else (2, 3)))),
              Sample((well_conditioned(2, 3, 3), *arrays((2, 3, 1) if left else (2, 1, 3))))],
             lambda a, b, left=left, adjoint=adjoint: np_lu_solve(a, b, left, adjoint))
      for left in (True, False) for adjoint in (False, True)],
    OpInfo("linalg.matrix_exp", cr.linalg.matrix_exp, products(((3, 3),), ((2, 2, 2),), ((1, 1),)), np_expm,
           covers=("matrix_exp",)),
    OpInfo("linalg.matrix_exp_large", cr.linalg.matrix_exp, [Sample((4 * arrays((3, 3))[0],))], np_expm),
    *[OpInfo(f"linalg.matrix_power_{n}", lambda a, n=n: cr.linalg.matrix_power(a, n),
             [Sample((well_conditioned(3, 3),)), Sample((well_conditioned(2, 2, 2),))],
             lambda a, n=n: np.linalg.matrix_power(a, n), covers=("matrix_power",)) for n in (0, 1, 3, -2)],
    OpInfo("linalg.multi_dot", lambda *xs: cr.linalg.multi_dot(xs),
           products(((3, 4), (4, 2), (2, 5)), ((4,), (4, 2), (2,)), ((3, 4), (4,))),
           lambda *xs: np.linalg.multi_dot(xs)),
    OpInfo("linalg.cross", cr.linalg.cross, products(((3,), (3,)), ((2, 3), (1, 3)), ((4, 1, 3), (1, 2, 3))),
           lambda a, b: np.cross(a, b)),
    OpInfo("cross", lambda a, b: cr.cross(a, b, dim=0), products(((3, 2), (3, 2)), ((3, 4), (3, 1))),
           lambda a, b: np.cross(a, b, axis=0)),
    OpInfo("linalg.vecdot", lambda a, b: cr.linalg.vecdot(a, b, dim=-1), products(((2, 3), (3,)), ((4,), (4,))),
           lambda a, b: (a * b).sum(-1)),
    OpInfo("linalg.tensorinv", lambda a: cr.linalg.tensorinv(a, 1),
           [Sample((well_conditioned(6, 6).reshape(6, 2, 3),))],
           lambda a: np.linalg.tensorinv(a, 1)),
    OpInfo("linalg.tensorsolve", cr.linalg.tensorsolve,
           [Sample((well_conditioned(6, 6).reshape(2, 3, 6), *arrays((2, 3))))], np.linalg.tensorsolve),
    OpInfo("linalg.tensorsolve_dims", lambda a, b: cr.linalg.tensorsolve(a, b, dims=(0,)),
           [Sample((well_conditioned(6, 6).reshape(2, 3, 6).transpose(2, 0, 1), *arrays((2, 3))))],
           lambda a, b: np.linalg.tensorsolve(a, b, axes=(0,))),
    OpInfo("linalg.householder_product", cr.linalg.householder_product,
           products(((4, 3), (2,)), ((2, 3, 3), (2, 3)), ((3, 2), (0,))), np_householder_product),
    OpInfo("linalg.inv_ex", lambda a: tuple(cr.linalg.inv_ex(a)),
           [Sample((well_conditioned(*s),)) for s in ((3, 3), (2, 3, 3))],
           lambda a: (np.linalg.inv(a), np.zeros(a.shape[:-2], np.int32))),
    OpInfo("linalg.solve_ex", lambda a, b: tuple(cr.linalg.solve_ex(a, b)),
           [Sample((well_conditioned(2, 3, 3), *arrays((3, 2)))), Sample((well_conditioned(3, 3), *arrays((3,))))],
           lambda a, b: (np_solve(a, b), np.zeros(a.shape[:-2], np.int32))),
    OpInfo("linalg.vander", lambda x: cr.linalg.vander(x, N=4), products(((3,),), ((2, 3),)),
           lambda x: x[..., None] ** np.arange(4)),
    OpInfo("linalg.diagonal", lambda a: cr.linalg.diagonal(a, offset=1), products(((2, 3, 4),)),
           lambda a: np.diagonal(a, 1, -2, -1)),
    OpInfo("orgqr", cr.orgqr, products(((4, 3), (2,))), np_householder_product),
    OpInfo("triangular_solve", legacy(lambda b, a: tuple(cr.triangular_solve(b, a, upper=False,
                                                                                          transpose=True))),
           [Sample((*arrays((3, 2)), well_conditioned(3, 3)))],
           lambda b, a: (np_solve(np.tril(a).T, b), a)),
    OpInfo("logdet", lambda a: cr.logdet(cr_spd(a)), products(((3, 3),), ((2, 2, 2),)),
           lambda a: np.linalg.slogdet(np_spd(a))[1]),
    OpInfo("logdet_method", lambda a: a.logdet(), [Sample((well_conditioned(3, 3),))],
           lambda a: np.log(np.linalg.det(a))),
]
