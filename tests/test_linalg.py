"""Linear algebra beyond the op database: einsum's equation language, errors, singular matrices, norms."""

import numpy as np
import pytest

import chainrule as cr


def t64(a, requires_grad=False):
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def random(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# -- einsum ------------------------------------------------------------------------------------------------

EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij->ji", [(2, 3)]),
    ("ba", [(2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("...ij,...jk", [(2, 1, 2, 3), (4, 3, 2)]),
    ("i...i", [(3, 2, 3)]),
    ("...,...->...", [(5, 1), (3,)]),
    ("ij,ij->ij", [(2, 3), (1, 3)]),
    ("Aa,aB->AB", [(2, 3), (3, 4)]),
    ("bB,Ba", [(2, 3), (3, 4)]),
    (" i j , j k -> i k ", [(2, 3), (3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ij->", [(0, 3)]),
]


@pytest.mark.parametrize("equation, shapes", EQUATIONS, ids=[e[0] for e in EQUATIONS])
def test_einsum_matches_numpy(equation, shapes):
    arrays = [random(*s, seed=i) for i, s in enumerate(shapes)]
    out = cr.einsum(equation, *[t64(a) for a in arrays])
    expected = np.einsum(equation.replace(" ", ""), *arrays)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_einsum_accepts_a_list_and_promotes_dtypes():
    a, b = cr.ones(2, 3), cr.ones(3, 4, dtype=cr.float64)
    out = cr.einsum("ij,jk->ik", [a, b])
    assert out.dtype == cr.float64
    np.testing.assert_array_equal(out.numpy(), np.full((2, 4), 3.0))
    ints = cr.einsum("i,i", cr.tensor([1, 2, 3]), cr.tensor([4, 5, 6]))
    assert ints.dtype == cr.int64 and ints.item() == 32


def test_einsum_gradients_land_on_the_diagonal_and_only_where_needed():
    a = t64(random(3, 3), requires_grad=True)
    cr.einsum("ii", a).backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.eye(3))
    x = t64(random(2, 3), requires_grad=True)
    w = t64(random(3, 4))
    cr.einsum("ij,jk->ik", x, w).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(w.numpy().sum(1), (2, 3)))
    assert w.grad is None


def test_einsum_broadcast_gradient_is_summed_back():
    x = t64(random(2, 3), requires_grad=True)
    y = t64(random(1, 3), requires_grad=True)
    cr.einsum("ij,ij->ij", x, y).sum().backward()
    assert y.grad.shape == (1, 3)
    np.testing.assert_allclose(y.grad.numpy(), x.detach().numpy().sum(0, keepdims=True))


@pytest.mark.parametrize("equation, shapes, message", [
    ("ijk->i", [(2, 3)], "subscripts in the equation (3) does not match the number of dimensions (2)"),
    ("ij->ik", [(2, 3)], "output subscript k does not appear"),
    ("ij->ii", [(2, 3)], "output subscript i appears more than once"),
    ("i1->i", [(2, 3)], "invalid subscript '1'"),
    ("ij,jk->ik", [(2, 3)], "names 2 operand(s) but 1 were given"),
    ("ij", [(2, 3), (3, 4)], "names 1 operand(s) but 2 were given"),
    ("ii->i", [(2, 3)], "subscript i is repeated for operand 0 but the sizes don't match, 2 != 3"),
    ("ij,jk->ik", [(2, 3), (4, 4)], "subscript j has size 4 for operand 1 which does not broadcast with "
                                    "previously seen size 3"),
    ("..i->i", [(3,)], "found '.' for operand 0 that is not part of any ellipsis"),
    ("...ijk->i", [(2, 3)], "is more than the number of dimensions (2)"),
])
def test_einsum_errors(equation, shapes, message):
    with pytest.raises(RuntimeError) as info:
        cr.einsum(equation, *[cr.ones(*s) for s in shapes])
    assert message in str(info.value) and "einsum" in str(info.value)


def test_einsum_argument_types():
    with pytest.raises(TypeError, match="sublist format is not supported"):
        cr.einsum(cr.ones(2), [0], cr.ones(2), [0])
    with pytest.raises(TypeError, match="must be Tensor"):
        cr.einsum("i,i", cr.ones(2), [1.0, 2.0])
    with pytest.raises(RuntimeError, match="at least one operand"):
        cr.einsum("i")


# -- products ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn, shapes, message", [
    (cr.mm, [(3,), (3, 2)], "mm: self must be a matrix"),
    (cr.mm, [(3, 3), (3,)], "mm: mat2 must be a matrix"),
    (cr.mm, [(3, 4), (5, 2)], "mm: mat1 and mat2 shapes cannot be multiplied (3x4 and 5x2)"),
    (cr.bmm, [(3, 4), (4, 2)], "bmm: batch1 must be a 3D tensor"),
    (cr.bmm, [(2, 3, 4), (3, 5, 2)], "to be: [2, 4] but got: [3, 5]"),
    (cr.dot, [(3, 1), (3,)], "dot: 1D tensors expected, but got 2D and 1D tensors"),
    (cr.dot, [(3,), (4,)], "dot: inconsistent tensor size"),
    (cr.outer, [(3, 1), (3,)], "outer: Expected 1-D argument self, but got 2-D"),
    (cr.matmul, [(3, 4), (5, 2)], "matmul: cannot multiply shapes (3, 4) and (5, 2)"),
])
def test_product_shape_errors(fn, shapes, message):
    with pytest.raises(RuntimeError) as info:
        fn(*[cr.ones(*s) for s in shapes])
    assert message in str(info.value)


def test_product_methods_and_values():
    a, b = t64(random(2, 3)), t64(random(3, 4, seed=1))
    np.testing.assert_allclose(a.mm(b).numpy(), a.numpy() @ b.numpy())
    v, w = t64([1.0, 2.0, 3.0]), t64([4.0, 5.0])
    assert t64([1.0, 2.0]).dot(w).item() == 14.0
    np.testing.assert_array_equal(v.outer(w).numpy(), np.outer(v.numpy(), w.numpy()))
    with pytest.raises(TypeError, match="argument 'mat2' (.*)?must be Tensor"):
        cr.mm(a, [[1.0]])


def test_addmm_ignores_input_when_beta_is_zero_and_checks_broadcasting():
    nan = cr.full((2, 4), float("nan"))
    out = cr.addmm(nan, cr.ones(2, 3), cr.ones(3, 4), beta=0)
    np.testing.assert_array_equal(out.numpy(), np.full((2, 4), 3.0))
    with pytest.raises(RuntimeError, match=r"addmm: input of shape \(3,\) cannot be broadcast"):
        cr.addmm(cr.ones(3), cr.ones(2, 3), cr.ones(3, 4))


def test_more_products_closed_forms():
    m, v, w = random(3, 4), random(4, seed=1), random(3, seed=2)
    b1, b2 = random(2, 3, 4, seed=3), random(2, 4, 5, seed=4)
    np.testing.assert_allclose(cr.mv(t64(m), t64(v)).numpy(), m @ v)
    np.testing.assert_allclose(t64(m).mv(t64(v)).numpy(), m @ v)
    np.testing.assert_allclose(cr.addmv(t64(w), t64(m), t64(v), beta=2, alpha=3).numpy(), 2 * w + 3 * (m @ v))
    np.testing.assert_allclose(cr.addr(t64(m), t64(w), t64(v), beta=0).numpy(), np.outer(w, v))
    np.testing.assert_allclose(cr.baddbmm(t64([1.0]), t64(b1), t64(b2)).numpy(), 1 + b1 @ b2)
    np.testing.assert_allclose(cr.addbmm(t64(np.zeros((3, 5))), t64(b1), t64(b2)).numpy(), (b1 @ b2).sum(0))
    np.testing.assert_allclose(cr.inner(t64(m), t64(random(2, 4))).numpy(), np.inner(m, random(2, 4)))
    assert cr.vdot(t64(v), t64(v)).item() == pytest.approx(v @ v)
    assert cr.trace(cr.arange(9).reshape(3, 3)).item() == 12 and cr.trace(cr.arange(6).reshape(2, 3)).item() == 4
    assert cr.ger(cr.ones(2), cr.ones(3)).shape == (2, 3)
    # NOTE: beta=0 ignores NaNs in input, as addmm
    out = cr.addmv(cr.full((3,), float("nan")), cr.ones(3, 2), cr.ones(2), beta=0)
    assert out.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("call, error, message", [
    (lambda: cr.mv(cr.ones(2, 3), cr.ones(2)), RuntimeError, "mv: size mismatch"),
    (lambda: cr.trace(cr.ones(2, 2, 2)), RuntimeError, "trace: expected a matrix, but got tensor with dim 3"),
    (lambda: cr.trace(cr.ones(2, 2, dtype=cr.bool)), NotImplementedError, "not implemented for 'Bool'"),
    (lambda: cr.inner(cr.ones(2, 3), cr.ones(4)), RuntimeError, "the last dimension must match"),
    (lambda: cr.addr(cr.ones(3, 3), cr.ones(2), cr.ones(3)), RuntimeError, "cannot be broadcast"),
    (lambda: cr.vdot(cr.ones(2), cr.ones(3)), RuntimeError, "inconsistent tensor size"),
])
def test_more_products_errors(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_in_place_products_update_and_differentiate():
    x = cr.zeros(2, 3)
    assert x.addmm_(cr.ones(2, 4), cr.ones(4, 3), alpha=2) is x and x.tolist() == [[8.0] * 3] * 2
    y = cr.ones(3)
    y.addmv_(cr.ones(3, 2), cr.ones(2), beta=0.5)
    assert y.tolist() == [2.5] * 3
    z = cr.zeros(2, 2)
    z.addr_(cr.ones(2), cr.tensor([1.0, 2.0]))
    assert z.tolist() == [[1.0, 2.0], [1.0, 2.0]]
    b = cr.zeros(2, 2, 2)
    b.baddbmm_(cr.ones(2, 2, 3), cr.ones(2, 3, 2))
    assert b.sum().item() == 24.0
    c = cr.zeros(2, 2)
    c.addbmm_(cr.ones(2, 2, 3), cr.ones(2, 3, 2))
    assert c.tolist() == [[6.0, 6.0], [6.0, 6.0]]
    w = t64(random(4, 3), requires_grad=True)
    out = cr.zeros(2, 3, dtype=cr.float64)
    out.addmm_(t64(random(2, 4, seed=1)), w)
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.broadcast_to(random(2, 4, seed=1).sum(0)[:, None], (4, 3)))
    with pytest.raises(RuntimeError, match="can't be cast"):
        cr.zeros(2, 3, dtype=cr.int64).addmm_(cr.ones(2, 4), cr.ones(4, 3))


def test_triangular_solve_legacy_form_warns_as_torch():
    a = np.triu(random(3, 3)) + 3 * np.eye(3)
    b = random(3, 2, seed=1)
    with pytest.warns(UserWarning, match="torch.triangular_solve is deprecated"):
        solution, coefficient = cr.triangular_solve(t64(b), t64(a))
    np.testing.assert_allclose(solution.numpy(), np.linalg.solve(a, b))
    np.testing.assert_array_equal(coefficient.numpy(), a)
    with pytest.warns(UserWarning):
        transposed = t64(b).triangular_solve(t64(a.T), upper=False, transpose=True).solution
    np.testing.assert_allclose(transposed.numpy(), np.linalg.solve(a, b))


# -- inverse, det, solve -------------------------------------------------------------------------------------

def test_inverse_det_solve_values():
    A = random(2, 3, 3) + 3 * np.eye(3)
    B = random(2, 3, 2, seed=1)
    identity = np.broadcast_to(np.eye(3), (2, 3, 3))
    np.testing.assert_allclose((cr.linalg.inv(t64(A)) @ t64(A)).numpy(), identity, atol=1e-12)
    np.testing.assert_allclose(cr.det(t64(A)).numpy(), np.linalg.det(A))
    np.testing.assert_allclose((t64(A) @ cr.linalg.solve(t64(A), t64(B))).numpy(), B, atol=1e-12)
    assert cr.det(t64(np.diag([2.0, 3.0, 4.0]))).item() == pytest.approx(24.0)
    for ours, theirs in ((cr.inverse, cr.linalg.inv), (cr.det, cr.linalg.det), (cr.logdet, lambda a: cr.slogdet(a)[1])):
        np.testing.assert_allclose(ours(t64(A)).numpy(), theirs(t64(A)).numpy(), rtol=1e-12)
    assert cr.linalg.inv(cr.eye(2)).dtype == cr.float32


def test_det_gradient_is_det_times_inverse_transpose():
    A = random(3, 3) + 3 * np.eye(3)
    x = t64(A, requires_grad=True)
    x.det().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.linalg.det(A) * np.linalg.inv(A).T, rtol=1e-10)


def test_solve_vector_and_broadcast_rules():
    A = random(2, 3, 3) + 3 * np.eye(3)
    assert cr.linalg.solve(t64(A), t64(random(3))).shape == (2, 3)
    assert cr.linalg.solve(t64(A), t64(random(2, 3))).shape == (2, 3)  # a batch of vectors
    assert cr.linalg.solve(t64(A), t64(random(5, 1, 3, 2))).shape == (5, 2, 3, 2)
    X = cr.linalg.solve(t64(A[0]), t64(random(2, 3)), left=False)
    np.testing.assert_allclose((X @ t64(A[0])).numpy(), random(2, 3), atol=1e-12)
    with pytest.raises(RuntimeError, match=r"Incompatible shapes of A and B for the equation AX = B"):
        cr.linalg.solve(t64(A), t64(random(4, 3)))
    with pytest.raises(RuntimeError, match=r"equation XA = B"):
        cr.linalg.solve(t64(A[0]), t64(random(3)), left=False)


@pytest.mark.parametrize("fn, message", [
    (cr.linalg.inv, "linalg.inv: the input matrix is singular, so the inversion could not be completed "
                    "(A has shape (3, 3))"),
    (lambda a: cr.linalg.solve(a, cr.ones(3)), "linalg.solve: the input matrix is singular"),
])
def test_singular_matrices_raise(fn, message):
    with pytest.raises(RuntimeError) as info:
        fn(cr.ones(3, 3))
    assert message in str(info.value)


def test_singular_batch_element_and_det_gradient():
    batch = np.stack([np.eye(2), np.ones((2, 2))])
    with pytest.raises(RuntimeError, match=r"\(batch element 1\) is singular"):
        cr.linalg.inv(t64(batch))
    # NOTE: at a singular matrix det's gradient is the cofactor matrix (through an SVD), as in torch
    x = t64(np.ones((2, 2)), requires_grad=True)
    d = cr.det(x)
    assert d.item() == 0.0
    d.backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, -1.0], [-1.0, 1.0]], atol=1e-12)
    rank2 = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    x = t64(np.stack([rank2, np.eye(3)]), requires_grad=True)
    grad, = cr.autograd.grad(cr.det(x).sum(), x, create_graph=True)
    cofactors = [[4.0, 4.0, -4.0], [-2.0, -2.0, 2.0], [0.0, 0.0, 0.0]]
    np.testing.assert_allclose(grad.detach().numpy(), [cofactors, np.eye(3)], atol=1e-12)
    x = t64([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    grad, = cr.autograd.grad(cr.det(x), x, create_graph=True)
    np.testing.assert_allclose(cr.autograd.grad(grad.sum(), x)[0].numpy(), [[1.0, -1.0], [-1.0, 1.0]])
    sign, logabsdet = cr.slogdet(t64(np.ones((2, 2))))
    assert sign.item() == 0.0 and logabsdet.item() == -np.inf


@pytest.mark.parametrize("fn, arg, error, message", [
    (cr.linalg.inv, cr.ones(3, 4), RuntimeError, "A must be batches of square matrices, but they are 3 by 4"),
    (cr.linalg.inv, cr.ones(3), RuntimeError, "must have at least 2 dimensions"),
    (cr.det, cr.ones(3, 3, dtype=cr.int64), RuntimeError, "Expected a floating point tensor as input"),
    (cr.linalg.inv, [[1.0]], TypeError, "must be Tensor"),
])
def test_factorisation_input_errors(fn, arg, error, message):
    with pytest.raises(error) as info:
        fn(arg)
    assert message in str(info.value)


# -- norms ---------------------------------------------------------------------------------------------------

def test_norm_dispatch_values():
    a = random(3, 4)
    assert cr.linalg.norm(t64(a)).item() == pytest.approx(np.linalg.norm(a))
    for ord in ("fro", 1, -1, np.inf, -np.inf):
        assert cr.linalg.norm(t64(a), ord).item() == pytest.approx(np.linalg.norm(a, ord)), ord
    np.testing.assert_allclose(cr.linalg.norm(t64(a), dim=1).numpy(), np.linalg.norm(a, axis=1))
    np.testing.assert_allclose(cr.linalg.vector_norm(t64(a), 0.5, dim=0).numpy(),
                               (np.abs(a) ** 0.5).sum(0) ** 2)
    np.testing.assert_allclose(cr.linalg.vector_norm(t64(a), 0).numpy(), 12.0)
    batch = random(2, 3, 4)
    kept = cr.linalg.matrix_norm(t64(batch), 1, keepdim=True)
    assert kept.shape == (2, 1, 1)
    np.testing.assert_allclose(kept.numpy().reshape(2), np.linalg.norm(batch, 1, axis=(1, 2)))


def test_norm_gradient_at_zero_is_zero():
    for ord in (2, 1, 3, 0.5):
        x = cr.zeros(3, dtype=cr.float64, requires_grad=True)
        cr.linalg.vector_norm(x, ord).backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros(3))


@pytest.mark.parametrize("call, error, message", [
    (lambda: cr.linalg.norm(cr.ones(2, 3, 4), ord=2), RuntimeError, "the input must be 1D or 2D. Got 3D"),
    (lambda: cr.linalg.matrix_norm(cr.ones(3, 3), 3), RuntimeError, "Order 3 not supported"),
    (lambda: cr.linalg.matrix_norm(cr.ones(3)), RuntimeError, "at least 2 dimensions"),
    (lambda: cr.linalg.matrix_norm(cr.ones(3, 3), dim=1), RuntimeError, "dim must be a 2-tuple"),
    (lambda: cr.linalg.vector_norm(cr.ones(3), "fro"), TypeError, "ord must be a number"),
    (lambda: cr.linalg.norm(cr.ones(3), "fro"), RuntimeError, "'fro' is a matrix norm"),
    (lambda: cr.linalg.norm(cr.ones(3, dtype=cr.int64)), RuntimeError, "expected a floating point tensor"),
])
def test_norm_errors(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_against_torch():
    torch = pytest.importorskip("torch")
    A = random(2, 3, 3) + 3 * np.eye(3)
    B = random(3, 2, seed=1)
    cases = [
        (lambda m, a, b: m.linalg.solve(a, b), (A, B)),
        (lambda m, a: m.linalg.slogdet(a)[1] + m.linalg.inv(a).sum((-2, -1)), (A,)),
        (lambda m, a, b: m.einsum("bij,jk->bik", a, b), (A, B)),
        (lambda m, a, b: m.einsum("...,...->", a, b), (A, B[:, :1])),  # numpy refuses to sum an ellipsis
        (lambda m, a, b: m.linalg.norm(a, float("inf"), dim=(1, 2)) + m.linalg.vector_norm(b, 3), (A, B)),
    ]
    for fn, args in cases:
        ours = [t64(a, requires_grad=True) for a in args]
        theirs = [torch.tensor(a, requires_grad=True) for a in args]
        out, ref = fn(cr, *ours), fn(torch, *theirs)
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10)
        out.sum().backward()
        ref.sum().backward()
        for o, r in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(o.grad.numpy(), r.grad.numpy(), rtol=1e-9, atol=1e-12)
