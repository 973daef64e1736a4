"""Matrix decompositions beyond the op database: reconstruction identities, closed forms, torch's shapes and
named tuples, gradients at degenerate points, errors, and (when installed) PyTorch as an oracle."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck

L = cr.linalg


def t64(a, requires_grad=False):
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def random(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def close(a, b, atol=1e-10):
    np.testing.assert_allclose(a.detach().numpy() if isinstance(a, cr.Tensor) else a,
                               b.detach().numpy() if isinstance(b, cr.Tensor) else b, atol=atol, rtol=1e-9)


def eye(n, batch=()):
    return np.broadcast_to(np.eye(n), batch + (n, n))


# -- reconstruction identities --------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (2, 3, 3), (2, 1, 4, 2)])
def test_svd_reconstructs_and_is_orthonormal(shape):
    a = random(*shape)
    U, S, Vh = L.svd(t64(a), full_matrices=False)
    k = min(shape[-2:])
    assert U.shape == shape[:-1] + (k,) and S.shape == shape[:-2] + (k,) and Vh.shape == shape[:-2] + (k, shape[-1])
    close((U * S.unsqueeze(-2)) @ Vh, a)
    close(U.mT @ U, eye(k, shape[:-2]))
    assert (S.numpy()[..., :-1] >= S.numpy()[..., 1:]).all()
    close(L.svdvals(t64(a)), S)
    Uf, Sf, Vhf = L.svd(t64(a))
    assert Uf.shape == shape[:-1] + (shape[-2],) and Vhf.shape == shape[:-2] + (shape[-1], shape[-1])
    close(Uf.mT @ Uf, eye(shape[-2], shape[:-2]))
    close(Vhf @ Vhf.mT, eye(shape[-1], shape[:-2]))


def test_legacy_svd_returns_v_and_zeros_without_uv():
    a = random(4, 3)
    U, S, V = cr.svd(t64(a))
    assert V.shape == (3, 3) and U.shape == (4, 3)
    close((U * S) @ V.mT, a)
    U0, S0, V0 = t64(a).svd(compute_uv=False)
    assert not U0.numpy().any() and not V0.numpy().any() and U0.shape == (4, 4) and V0.shape == (3, 3)
    close(S0, S)
    assert cr.svd(t64(a), some=False).U.shape == (4, 4)


def test_eigh_reconstructs_with_ascending_values():
    a = random(2, 4, 4)
    sym = a + np.swapaxes(a, -1, -2)
    values, vectors = L.eigh(t64(sym))
    assert isinstance(L.eigh(t64(sym)), L.EighResult)
    close((vectors * values.unsqueeze(-2)) @ vectors.mT, sym)
    assert (np.diff(values.numpy(), axis=-1) > 0).all()
    close(L.eigvalsh(t64(sym)), values)
    # NOTE: only the UPLO triangle is read.
    lower = np.tril(sym)
    close(L.eigvalsh(t64(lower)), values)
    close(L.eigvalsh(t64(np.triu(sym)), UPLO="U"), values)


@pytest.mark.parametrize("shape, mode", [((4, 3), "reduced"), ((4, 3), "complete"), ((3, 5), "reduced"),
                                         ((2, 3, 3), "complete")])
def test_qr_reconstructs(shape, mode):
    a = random(*shape)
    Q, R = L.qr(t64(a), mode=mode)
    m, n = shape[-2:]
    k = m if mode == "complete" else min(m, n)
    assert Q.shape == shape[:-2] + (m, k) and R.shape == shape[:-2] + (k, n)
    close(Q @ R, a)
    close(Q.mT @ Q, eye(k, shape[:-2]))
    close(R, np.triu(R.numpy()))
    Q_r, R_r = L.qr(t64(a), mode="r")
    assert Q_r.shape == (0,)
    close(R_r, np.linalg.qr(a, mode="r"))


def test_cholesky_and_its_upper_form():
    a = random(2, 3, 3)
    spd = a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3)
    lower = L.cholesky(t64(spd))
    close(lower @ lower.mT, spd)
    close(lower, np.tril(lower.numpy()))
    upper = L.cholesky(t64(spd), upper=True)
    close(upper, lower.mT)
    assert L.cholesky(t64([[4.0, 2.0], [2.0, 5.0]])).tolist() == [[2.0, 0.0], [1.0, 2.0]]


def test_cholesky_ex_reports_the_failing_minor_instead_of_raising():
    batch = t64([[[4.0, 2.0], [2.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]], [[-1.0, 0.0], [0.0, 1.0]]])
    out = L.cholesky_ex(batch)
    assert isinstance(out, L.CholeskyExResult)
    assert out.info.dtype == cr.int32 and out.info.tolist() == [2, 0, 1]
    close(out.L[0], [[2.0, 0.0], [0.0, 0.0]])  # the factor of the leading minor that worked
    close(out.L[1], np.eye(2))
    with pytest.raises(L.LinAlgError, match=r"linalg.cholesky_ex: \(Batch element 0\)"):
        L.cholesky_ex(batch, check_errors=True)


def test_lu_reconstructs_and_packs_like_lapack():
    a = random(2, 4, 4)
    P, Lo, U = L.lu(t64(a))
    close(P @ Lo @ U, a)
    close(Lo, np.tril(Lo.numpy(), -1) + np.eye(4))
    LU, pivots = L.lu_factor(t64(a))
    assert pivots.dtype == cr.int32 and pivots.shape == (2, 4)
    close(LU, np.tril(Lo.numpy(), -1) + U.numpy())
    P2, L2, U2 = cr.lu_unpack(LU, pivots)
    close(P2, P), close(L2, Lo), close(U2, U)
    # NOTE: partial pivoting: every multiplier is at most 1 in size.
    assert np.abs(Lo.numpy()).max() <= 1.0
    # a hand case: rows are swapped so that the largest pivot leads
    LU, pivots = L.lu_factor(t64([[1.0, 2.0], [3.0, 4.0]]))
    assert pivots.tolist() == [2, 2]
    close(LU, [[3.0, 4.0], [1 / 3, 2 / 3]])


def test_lu_factor_ex_and_legacy_lu():
    singular = t64([[[1.0, 2.0], [2.0, 4.0]], [[2.0, 0.0], [0.0, 3.0]]])
    LU, pivots, info = L.lu_factor_ex(singular)
    assert info.dtype == cr.int32 and info.tolist() == [2, 0]
    close(LU[1], [[2.0, 0.0], [0.0, 3.0]])
    with pytest.raises(L.LinAlgError, match=r"\(Batch element 0\): U\[2,2\] is zero"):
        L.lu_factor_ex(singular, check_errors=True)
    with pytest.warns(UserWarning, match="torch.lu is deprecated"):
        assert len(cr.lu(singular, get_infos=True)) == 3
    with pytest.raises(L.LinAlgError, match="U\\[2,2\\] is zero"), pytest.warns(UserWarning):
        singular.lu()
    a, b = random(3, 3), random(3, 2, seed=1)
    with pytest.warns(UserWarning, match="torch.lu_solve is deprecated"):
        close(cr.lu_solve(t64(b), *L.lu_factor(t64(a))), np.linalg.solve(a, b))
        close(t64(b).lu_solve(*L.lu_factor(t64(a))), np.linalg.solve(a, b))


@pytest.mark.parametrize("shape", [(4, 2), (2, 4)])
def test_lu_of_rectangular_matrices(shape):
    a = random(*shape)
    P, Lo, U = L.lu(t64(a))
    k = min(shape)
    assert P.shape == (shape[0],) * 2 and Lo.shape == (shape[0], k) and U.shape == (k, shape[1])
    close(P @ Lo @ U, a)
    LU, _ = L.lu_factor(t64(a))
    assert LU.shape == shape


@pytest.mark.parametrize("left, adjoint", [(True, False), (True, True), (False, False), (False, True)])
def test_lu_solve_matches_solve(left, adjoint):
    a, b = random(3, 3), random(3, 2) if left else random(2, 3)
    x = L.lu_solve(*L.lu_factor(t64(a)), t64(b), left=left, adjoint=adjoint)
    a_eff = a.T if adjoint else a
    close(a_eff @ x.numpy() if left else x.numpy() @ a_eff, b)


def test_legacy_cholesky_qr_and_cholesky_solve_inverse():
    a = random(2, 3, 3)
    spd = a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3)
    b = random(2, 3, 2, seed=1)
    with pytest.warns(UserWarning, match="torch.cholesky is deprecated in favor of torch.linalg.cholesky"):
        lower = cr.cholesky(t64(spd))
    close(lower, L.cholesky(t64(spd)))
    with pytest.warns(UserWarning):
        close(t64(spd).cholesky(upper=True), lower.mT)
    close(cr.cholesky_solve(t64(b), lower), np.linalg.solve(spd, b))
    close(t64(b).cholesky_solve(lower.mT, upper=True), np.linalg.solve(spd, b))
    close(cr.cholesky_inverse(lower), np.linalg.inv(spd))
    close(lower.cholesky_inverse(), np.linalg.inv(spd))
    with pytest.warns(UserWarning, match="torch.qr is deprecated"):
        Q, R = cr.qr(t64(random(4, 3)))
    assert Q.shape == (4, 3) and R.shape == (3, 3)
    with pytest.warns(UserWarning):
        assert t64(random(4, 3)).qr(some=False).Q.shape == (4, 4)
    close(cr.orgqr(t64(random(4, 3)), t64([1.0, 0.5])), L.householder_product(t64(random(4, 3)), t64([1.0, 0.5])))
    with pytest.raises(RuntimeError, match="b should have at least 2 dimensions"):
        cr.cholesky_solve(cr.ones(3), cr.eye(3))
    with pytest.raises(RuntimeError, match="each A matrix is 3 by 3 but each b matrix is 4 by 2"):
        cr.cholesky_solve(cr.ones(4, 2), cr.eye(3))


# -- closed forms ---------------------------------------------------------------------------------------------

def test_pinv_closed_forms():
    a = random(4, 3)
    close(L.pinv(t64(a)), np.linalg.solve(a.T @ a, a.T))
    close(L.pinv(t64([[2.0, 0.0], [0.0, 0.0]])), [[0.5, 0.0], [0.0, 0.0]])
    # NOTE: a singular value below the cutoff counts as zero
    close(L.pinv(t64([[2.0, 0.0], [0.0, 1e-3]]), atol=1e-2), [[0.5, 0.0], [0.0, 0.0]])
    close(L.pinv(t64([[2.0, 0.0], [0.0, 1e-3]]), rtol=1e-2), [[0.5, 0.0], [0.0, 0.0]])
    close(L.pinv(t64([[2.0, 0.0], [0.0, 1e-3]])), [[0.5, 0.0], [0.0, 1e3]])
    sym = np.diag([2.0, -4.0, 0.0])
    close(L.pinv(t64(sym), hermitian=True), np.diag([0.5, -0.25, 0.0]))
    close(cr.pinverse(t64(a)), t64(a).pinverse())
    assert L.pinv(cr.ones(0, 3)).shape == (3, 0)


def test_lstsq_outputs_per_driver():
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    b = np.array([[1.0], [2.0], [4.0]])
    x = np.linalg.solve(a.T @ a, a.T @ b)
    out = L.lstsq(t64(a), t64(b))
    assert isinstance(out, L.LstsqResult)
    close(out.solution, x)
    assert out.residuals.shape == (0,) and out.rank.item() == 2 and out.singular_values.shape == (0,)
    out = L.lstsq(t64(a), t64(b), driver="gelsd")
    close(out.residuals, ((a @ x - b) ** 2).sum(0))
    close(out.singular_values, np.linalg.svd(a, compute_uv=False))
    out = L.lstsq(t64(a), t64(b), driver="gels")
    assert out.rank.shape == (0,) and out.rank.dtype == cr.int64
    # NOTE: rank deficient: the minimum-norm solution, as gelsy/gelsd
    deficient = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    close(L.lstsq(t64(deficient), t64(b)).solution, np.linalg.pinv(deficient) @ b)
    assert L.lstsq(t64(deficient), t64(b)).rank.item() == 1
    assert L.lstsq(t64(a), t64(b[:, 0])).solution.shape == (2,)


def test_matrix_rank_and_tolerances():
    a = random(4, 2) @ random(2, 3, seed=1)
    rank = L.matrix_rank(t64(a))
    assert rank.dtype == cr.int64 and rank.item() == 2
    assert L.matrix_rank(t64(np.diag([1.0, 1e-3, 0.0]))).item() == 2
    assert L.matrix_rank(t64(np.diag([1.0, 1e-3, 0.0])), atol=1e-2).item() == 1
    assert L.matrix_rank(t64(np.diag([1.0, 1e-3, 0.0])), rtol=1e-2).item() == 1
    assert L.matrix_rank(t64(np.diag([2.0, -3.0, 0.0])), hermitian=True).item() == 2
    assert L.matrix_rank(cr.zeros(2, 3, 3)).tolist() == [0, 0]


def test_cond_and_matrix_norms_from_singular_values():
    a = np.diag([4.0, 2.0, 0.5])
    assert L.cond(t64(a)).item() == pytest.approx(8.0)
    assert L.cond(t64(a), -2).item() == pytest.approx(1 / 8)
    assert L.cond(t64(a), 1).item() == pytest.approx(8.0)
    assert L.cond(t64(a), "nuc").item() == pytest.approx(6.5 * 2.75)
    assert L.matrix_norm(t64(a), "nuc").item() == pytest.approx(6.5)
    assert L.matrix_norm(t64(a), 2).item() == pytest.approx(4.0)
    assert L.matrix_norm(t64(a), -2).item() == pytest.approx(0.5)
    assert L.norm(t64(a), 2).item() == pytest.approx(4.0)
    assert L.matrix_norm(t64(random(2, 3, 4)), "nuc", dim=(0, 2), keepdim=True).shape == (1, 3, 1)
    # a singular matrix: inf, as torch (not an error from the inverse)
    close(L.cond(t64(np.stack([np.ones((2, 2)), np.eye(2)])), "fro"), [np.inf, 2.0])


def test_matrix_exp_closed_forms():
    theta = 0.7
    rotation = L.matrix_exp(t64([[0.0, -theta], [theta, 0.0]]))
    close(rotation, [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    close(L.matrix_exp(t64(np.diag([1.0, -2.0]))), np.diag(np.exp([1.0, -2.0])))
    nilpotent = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    close(cr.matrix_exp(t64(nilpotent)), np.eye(3) + nilpotent + nilpotent @ nilpotent / 2)
    # NOTE: a large norm goes through scaling and squaring
    close(L.matrix_exp(t64(np.diag([30.0, -30.0]))), np.diag(np.exp([30.0, -30.0])), atol=1e-3)
    assert L.matrix_exp(cr.zeros(2, 2)).dtype == cr.float32
    # the gradient of exp(tA) in t is A exp(tA)
    a = random(3, 3)
    t = t64(0.3, requires_grad=True)
    L.matrix_exp(t * t64(a)).sum().backward()
    assert t.grad.item() == pytest.approx((a @ L.matrix_exp(t64(0.3 * a)).numpy()).sum())


def test_matrix_power_multi_dot_cross_vecdot():
    a = t64([[1.0, 1.0], [0.0, 1.0]])
    assert L.matrix_power(a, 5).tolist() == [[1.0, 5.0], [0.0, 1.0]]
    close(L.matrix_power(a, -2), [[1.0, -2.0], [0.0, 1.0]])
    close(a.matrix_power(0), np.eye(2))
    assert L.matrix_power(cr.ones(4, 2, 2), 0).shape == (4, 2, 2)
    assert L.multi_dot([cr.ones(3), cr.ones(3, 2), cr.ones(2)]).item() == 6.0
    assert L.multi_dot([cr.ones(3, 4), cr.ones(4)]).shape == (3,)
    assert L.cross(t64([1.0, 0.0, 0.0]), t64([0.0, 1.0, 0.0])).tolist() == [0.0, 0.0, 1.0]
    x, y = random(3, 4), random(3, 4, seed=1)
    with pytest.warns(UserWarning, match="without specifying the dim arg is deprecated"):
        close(cr.cross(t64(x), t64(y)), np.cross(x, y, axis=0))  # dim=None: the first dim of size 3
    close(t64(x).cross(t64(y), dim=0), np.cross(x, y, axis=0))
    close(L.vecdot(t64(x), t64(y), dim=0), (x * y).sum(0))


def test_tensorinv_tensorsolve_householder():
    a = random(6, 6) + 6 * np.eye(6)
    close(L.tensorinv(t64(a.reshape(2, 3, 6)), 2), np.linalg.tensorinv(a.reshape(2, 3, 6), 2))
    b = random(2, 3)
    x = L.tensorsolve(t64(a.reshape(2, 3, 2, 3)), t64(b))
    assert x.shape == (2, 3)
    close(a @ x.numpy().reshape(6), b.reshape(6))
    moved = L.tensorsolve(t64(a.reshape(2, 3, 2, 3).transpose(0, 2, 1, 3)), t64(b), dims=(1,))
    assert moved.shape == (3, 2)
    m, tau = random(4, 3), np.array([1.2, 0.5, 1.9])
    q = np.eye(4)
    for i in range(3):
        v = (np.tril(m, -1)[:, i] + np.eye(4, 3)[:, i])[:, None]
        q = q @ (np.eye(4) - tau[i] * v @ v.T)
    close(L.householder_product(t64(m), t64(tau)), q[:, :3])
    # NOTE: LAPACK's geqrf reflectors (NumPy's raw QR) give back the Q of the reduced QR
    h, tau = np.linalg.qr(m, mode="raw")
    close(L.householder_product(t64(h.T), t64(tau)), np.linalg.qr(m)[0])


def test_logdet():
    a = random(3, 3)
    spd = a @ a.T + np.eye(3)
    assert cr.logdet(t64(spd)).item() == pytest.approx(np.log(np.linalg.det(spd)))
    assert np.isnan(t64(np.diag([-1.0, 1.0])).logdet().item())
    assert cr.logdet(cr.zeros(2, 2, dtype=cr.float64)).item() == -np.inf
    x = t64(spd, requires_grad=True)
    cr.logdet(x).backward()
    close(x.grad, np.linalg.inv(spd).T)


# -- gradients ------------------------------------------------------------------------------------------------

def test_gradients_at_degenerate_points_follow_torch():
    """Repeated singular values or eigenvalues: the vectors' gradient is nan (the gauge is not unique) while the
    values' gradient stays finite, as in torch."""
    x = t64(np.eye(3), requires_grad=True)
    L.eigh(x).eigenvectors.sum().backward()
    assert np.isnan(x.grad.numpy()).all()
    x = t64(np.eye(3), requires_grad=True)
    L.eigvalsh(x).sum().backward()
    close(x.grad, np.eye(3))
    x = t64(np.eye(3), requires_grad=True)
    U, S, Vh = L.svd(x)
    (U @ Vh).sum().backward()
    assert np.isnan(x.grad.numpy()).all()
    x = t64(np.eye(3), requires_grad=True)
    L.svdvals(x).sum().backward()
    close(x.grad, np.eye(3))
    x = t64(np.eye(3), requires_grad=True)
    L.svd(x).S.sum().backward()  # U and Vh unused: no eigenvector terms
    close(x.grad, np.eye(3))
    x = t64(np.eye(3), requires_grad=True)
    L.pinv(x).sum().backward()  # pinv's own rule: finite at repeated singular values
    close(x.grad, -np.ones((3, 3)))


def test_gradients_closed_forms():
    a = random(3, 3)
    sym = a + a.T
    x = t64(sym, requires_grad=True)
    values, vectors = L.eigh(x)
    values[-1].backward()
    top = vectors.detach().numpy()[:, -1]
    close(x.grad, np.outer(top, top))  # d lambda_max / dA = v v^T
    x = t64(a, requires_grad=True)
    U, S, Vh = L.svd(x)
    S[0].backward()
    close(x.grad, np.outer(U.detach().numpy()[:, 0], Vh.detach().numpy()[0]))  # d s_1 / dA = u_1 v_1^T
    x = t64(a, requires_grad=True)
    L.cholesky(x @ x.mT + 3 * cr.eye(3, dtype=cr.float64)).diagonal().log().sum().backward()
    # log det(A A^T + 3I) / 2 is the sum of log diag(L): its gradient is (A A^T + 3I)^-1 A
    close(x.grad, np.linalg.solve(a @ a.T + 3 * np.eye(3), a))


def test_qr_mode_errors_in_backward():
    x = t64(random(4, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='r'"):
        L.qr(x, mode="r").R.sum().backward()
    x = t64(random(4, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete' and nrows > ncols"):
        L.qr(x, mode="complete").Q.sum().backward()


def test_full_svd_tangent_of_the_extra_columns_is_zero_as_torch():
    a, v = random(4, 3), random(4, 3, seed=1)
    (U, S, Vh), (U_t, S_t, Vh_t) = cr.func.jvp(L.svd, (t64(a),), (t64(v),))
    assert U_t.shape == (4, 4) and not U_t.numpy()[:, 3].any()
    reduced = cr.func.jvp(lambda x: L.svd(x, full_matrices=False), (t64(a),), (t64(v),))[1]
    close(U_t[:, :3], reduced[0])
    close(S_t, reduced[1])


def test_second_derivatives_and_forward_mode():
    a = random(3, 3)

    def f(x):
        return L.svdvals(x).sum() + L.eigvalsh(x + x.mT).pow(2).sum() + L.qr(x).R.diagonal().abs().log().sum()

    assert gradcheck(f, (t64(a, requires_grad=True),))
    assert gradgradcheck(f, (t64(a, requires_grad=True),))
    v = random(3, 3, seed=1)
    _, forward = cr.func.jvp(f, (t64(a),), (t64(v),))
    x = t64(a, requires_grad=True)
    f(x).backward()
    assert forward.item() == pytest.approx((x.grad.numpy() * v).sum())


# -- errors ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda: L.cholesky(t64([[1.0, 2.0], [2.0, 1.0]])), L.LinAlgError,
     "linalg.cholesky: The factorization could not be completed because the input is not positive-definite (the "
     "leading minor of order 2 is not positive-definite)."),
    (lambda: L.cholesky(-cr.ones(2, 3, 3)), RuntimeError, "(Batch element 0): The factorization"),
    (lambda: L.cholesky(cr.ones(2, 3)), RuntimeError, "must be batches of square matrices, but they are 2 by 3"),
    (lambda: L.cholesky(cr.ones(2, 2, dtype=cr.int64)), RuntimeError, "floating point"),
    (lambda: L.svd(cr.ones(3)), RuntimeError, "linalg.svd: The input tensor A must have at least 2 dimensions"),
    (lambda: L.qr(cr.ones(2, 2), mode="x"), RuntimeError, "qr received unrecognized mode 'x'"),
    (lambda: L.eigh(cr.ones(2, 2), UPLO="X"), RuntimeError, "Expected UPLO argument to be 'L' or 'U'"),
    (lambda: L.eig(cr.ones(2, 2)), NotImplementedError, "no complex dtypes"),
    (lambda: L.eigvals(cr.ones(2, 2)), NotImplementedError, "use linalg.eigh"),
    (lambda: L.lstsq(cr.ones(3, 2), cr.ones(3, 1), driver="foo"), RuntimeError, "parameter `driver` should be"),
    (lambda: L.lstsq(cr.ones(3, 2), cr.ones(3, 1, dtype=cr.float64)), RuntimeError, "same dtype"),
    (lambda: L.lstsq(cr.ones(3, 2), cr.ones(4, 1)), RuntimeError, "input.size(-2) should match other.size(-2)"),
    (lambda: L.matrix_power(cr.ones(2, 3), 2), RuntimeError, "must be batches of square matrices"),
    (lambda: L.matrix_power(cr.zeros(2, 2), -1), L.LinAlgError, "singular"),
    (lambda: L.matrix_power(cr.ones(2, 2), 1.5), TypeError, "n must be an int"),
    (lambda: L.cross(cr.ones(2, 4), cr.ones(2, 4)), RuntimeError, "inputs dimension -1 must have length 3"),
    (lambda: L.cross(cr.ones(2, 3), cr.ones(3)), RuntimeError, "inputs must have the same number of dimensions"),
    (lambda: L.multi_dot([cr.ones(2, 2)]), RuntimeError, "expected at least 2 tensors but got 1"),
    (lambda: L.multi_dot([cr.ones(2, 2), cr.ones(2), cr.ones(2, 2)]), RuntimeError, "tensor 1 must be 2D"),
    (lambda: L.solve_triangular(cr.eye(2), cr.ones(2), upper=True), RuntimeError,
     "The input tensor B must have at least 2 dimensions"),
    (lambda: L.tensorinv(cr.ones(2, 3, 5), ind=2), RuntimeError, "but got 5 != 6"),
    (lambda: L.lu_factor(cr.zeros(2, 2)), L.LinAlgError, "U[1,1] is zero"),
    (lambda: L.lu_factor(cr.eye(2), pivot=False), RuntimeError, "LU without pivoting is not implemented"),
    (lambda: L.householder_product(cr.ones(2, 3), cr.ones(2)), RuntimeError, "expected m >= n >= k"),
    (lambda: L.cond(cr.ones(2, 2), 3), RuntimeError, "invalid norm type"),
    (lambda: L.pinv(cr.ones(2, 2), atol="x"), TypeError, "atol must be a float"),
    (lambda: L.svd(cr.full((2, 2), float("nan"))), L.LinAlgError, "linalg.svd: The algorithm failed to converge"),
    (lambda: L.cholesky(cr.full((2, 2), float("nan"))), L.LinAlgError, "leading minor of order 1"),
    (lambda: L.svd(cr.ones(2, 2, dtype=cr.float16)), NotImplementedError, "not implemented for chainrule.float16"),
])
def test_errors(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


@pytest.mark.parametrize("call, shapes", [
    (lambda: L.svd(cr.ones(3, 0)), [(3, 3), (0,), (0, 0)]),
    (lambda: L.eigh(cr.ones(0, 0)), [(0,), (0, 0)]),
    (lambda: (L.cholesky(cr.ones(0, 0)),), [(0, 0)]),
    (lambda: (L.cholesky(cr.ones(0, 2, 2)),), [(0, 2, 2)]),
    (lambda: (L.pinv(cr.ones(3, 0)),), [(0, 3)]),
    (lambda: L.lu(cr.ones(3, 0)), [(3, 3), (3, 0), (0, 0)]),
    (lambda: L.lu_factor(cr.ones(0, 0)), [(0, 0), (0,)]),
    (lambda: L.qr(cr.ones(0, 3)), [(0, 0), (0, 3)]),
    (lambda: L.lstsq(cr.ones(3, 0), cr.ones(3, 2)), [(0, 2), (0,), (), (0,)]),
])
def test_empty_matrices_have_torchs_shapes(call, shapes):
    assert [tuple(t.shape) for t in call()] == shapes


def test_inv_ex_solve_ex_vander():
    batch = t64([[[1.0, 1.0], [1.0, 1.0]], [[2.0, 0.0], [0.0, 4.0]]])
    inverse, info = L.inv_ex(batch)
    assert info.dtype == cr.int32 and info.tolist() == [2, 0]
    assert np.isnan(inverse[0].numpy()).all()
    close(inverse[1], np.diag([0.5, 0.25]))
    result, info = L.solve_ex(batch, t64([2.0, 4.0]))
    assert np.isnan(result[0].numpy()).all() and result[1].tolist() == [1.0, 1.0]
    with pytest.raises(L.LinAlgError):
        L.inv_ex(batch, check_errors=True)
    x = t64([1.0, 2.0, 3.0], requires_grad=True)
    close(L.vander(x), [[1.0, 1.0, 1.0], [1.0, 2.0, 4.0], [1.0, 3.0, 9.0]])
    assert L.vander(cr.tensor([1, 2]), N=3).tolist() == [[1, 1, 1], [1, 2, 4]]
    L.vander(x).sum().backward()
    close(x.grad, 1 + 2 * x.detach().numpy())
    with pytest.raises(RuntimeError, match="N must be greater than 1"):
        L.vander(x, N=1)
    assert L.diagonal(cr.ones(2, 3, 4), offset=1).shape == (2, 3)


def test_linalg_functions_take_out_as_torch():
    out = cr.empty(0)
    result = L.inv(t64(np.diag([2.0, 4.0])), out=out)
    assert result is out and out.tolist() == [[0.5, 0.0], [0.0, 0.25]]
    U, S, Vh = cr.empty(0, dtype=cr.float64), cr.empty(0, dtype=cr.float64), cr.empty(0, dtype=cr.float64)
    L.svd(t64(np.diag([3.0, 1.0])), out=(U, S, Vh))
    assert S.tolist() == [3.0, 1.0] and U.shape == (2, 2)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        L.cholesky(t64(np.eye(2), requires_grad=True), out=cr.empty(0, dtype=cr.float64))


def test_linalg_error_is_a_runtime_error_raised_by_inv_too():
    assert issubclass(L.LinAlgError, RuntimeError)
    with pytest.raises(L.LinAlgError):
        L.inv(cr.zeros(2, 2))


def test_explain_walks_the_decompositions():
    """Multi-output nodes whose first output gets no gradient (svdvals, slogdet) are explained too."""
    a = t64(random(3, 3) + 3 * np.eye(3), requires_grad=True)
    text = str(cr.viz.explain(L.svdvals(a).sum() + cr.slogdet(a)[1] + L.cholesky(a @ a.mT).sum()))
    for gate in ("svd: the gradient is", "slogdet: the gradient", "cholesky: the gradient is"):
        assert gate in text


# -- against PyTorch ------------------------------------------------------------------------------------------

def weighted_gram(m, u):
    """``U diag(1, 2, 3) U^T``: unchanged by the sign of each column."""
    return (u * m.tensor([1.0, 2.0, 3.0], dtype=u.dtype)) @ u.mT


ORACLE = [
    # NOTE: singular vectors and eigenvectors are compared through gauge-invariant products: their signs are
    # LAPACK's choice and may differ from torch's.
    ("svd", lambda m, a: (lambda u, s, vh: (u * (s + 1)) @ vh)(*m.linalg.svd(a, full_matrices=False)), [(4, 3)]),
    ("svd_U", lambda m, a: weighted_gram(m, m.linalg.svd(a, full_matrices=False)[0]), [(4, 3)]),
    ("svd_Vh", lambda m, a: weighted_gram(m, m.linalg.svd(a)[2][..., :3, :].mT), [(3, 5)]),
    ("eigh", lambda m, a: (lambda w, q: (q * w.exp().unsqueeze(-2)) @ q.mT)(*m.linalg.eigh(a + a.mT)), [(2, 3, 3)]),
    ("eigh_upper", lambda m, a: (lambda w, q: (q * w.unsqueeze(-2)) @ q.mT)(*m.linalg.eigh(a, UPLO="U")), [(2, 3, 3)]),
    ("qr", lambda m, a: m.linalg.qr(a)[0] * 2 + m.linalg.qr(a)[1].sum(), [(4, 3)]),
    ("qr_wide", lambda m, a: m.linalg.qr(a)[1] + m.linalg.qr(a)[0].sum(), [(3, 5)]),
    ("cholesky", lambda m, a: m.linalg.cholesky(a @ a.mT + 3 * m.eye(3, dtype=a.dtype)), [(2, 3, 3)]),
    ("cholesky_upper", lambda m, a: m.linalg.cholesky(a @ a.mT + 0.5 * m.eye(3, dtype=a.dtype), upper=True),
     [(3, 3)]),
    ("pinv", lambda m, a: m.linalg.pinv(a), [(4, 3)]),
    ("pinv_wide", lambda m, a: m.linalg.pinv(a), [(3, 5)]),
    ("pinv_hermitian", lambda m, a: m.linalg.pinv(a, hermitian=True), [(2, 3, 3)]),
    ("lstsq", lambda m, a, b: m.linalg.lstsq(a, b).solution, [(4, 3), (4, 2)]),
    ("lu", lambda m, a: m.linalg.lu(a)[1] + m.linalg.lu(a)[2] + m.linalg.lu(a)[0], [(2, 3, 3)]),
    ("lu_factor", lambda m, a: m.linalg.lu_factor(a)[0], [(2, 3, 3)]),
    ("lu_tall", lambda m, a: m.linalg.lu(a)[1].sum() + m.linalg.lu(a)[2] ** 2, [(2, 5, 3)]),
    ("lu_wide", lambda m, a: m.linalg.lu(a)[1] + m.linalg.lu(a)[2].sum() ** 2, [(3, 5)]),
    ("lu_solve", lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(a), b, adjoint=True), [(3, 3), (3, 2)]),
    ("matrix_exp", lambda m, a: m.linalg.matrix_exp(3 * a), [(2, 3, 3)]),
    ("householder_product", lambda m, a, t: m.linalg.householder_product(a, t), [(4, 3), (3,)]),
    ("cond", lambda m, a: m.linalg.cond(a, "nuc") + m.linalg.cond(a), [(2, 3, 3)]),
    ("matrix_norm_2", lambda m, a: m.linalg.matrix_norm(a, 2) + m.linalg.matrix_norm(a, "nuc"), [(2, 3, 4)]),
    ("logdet", lambda m, a: m.logdet(a @ a.mT), [(2, 3, 3)]),
    ("cross", lambda m, a, b: m.linalg.cross(a, b), [(2, 3), (1, 3)]),
    ("solve_triangular", lambda m, a, b: m.linalg.solve_triangular(a + 3 * m.eye(3, dtype=a.dtype), b, upper=False,
                                                                   left=False), [(3, 3), (2, 3)]),
    ("matrix_power", lambda m, a: m.linalg.matrix_power(a + 3 * m.eye(3, dtype=a.dtype), -3), [(3, 3)]),
    ("cholesky_solve", lambda m, a, b: m.cholesky_solve(b, m.linalg.cholesky(a @ a.mT + m.eye(3, dtype=a.dtype)),
                                                        upper=False), [(2, 3, 3), (3, 2)]),
    ("cholesky_inverse", lambda m, a: m.cholesky_inverse(m.linalg.cholesky(a @ a.mT + m.eye(3, dtype=a.dtype),
                                                                           upper=True), upper=True), [(3, 3)]),
]


@pytest.mark.parametrize("name, fn, shapes", ORACLE, ids=[c[0] for c in ORACLE])
def test_against_torch(name, fn, shapes):
    torch = pytest.importorskip("torch")
    arrays = [random(*s, seed=i + 1) for i, s in enumerate(shapes)]
    ours = [t64(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = fn(cr, *ours), fn(torch, *theirs)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-10, rtol=1e-9)
    g = random(*ref.shape, seed=99)
    out.backward(t64(g))
    ref.backward(torch.tensor(g))
    for o, r in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o.grad.numpy(), r.grad.numpy(), atol=1e-8, rtol=1e-7)


def test_cholesky_ex_and_pivots_against_torch():
    torch = pytest.importorskip("torch")
    a = np.array([[[4.0, 2.0], [2.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]])
    ours, theirs = L.cholesky_ex(t64(a)), torch.linalg.cholesky_ex(torch.tensor(a))
    assert ours.info.tolist() == theirs.info.tolist()
    b = random(2, 4, 4)
    assert L.lu_factor(t64(b)).pivots.tolist() == torch.linalg.lu_factor(torch.tensor(b)).pivots.tolist()
