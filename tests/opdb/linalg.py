"""Op database entries: linear algebra (see opdb/__init__.py)."""

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
]
