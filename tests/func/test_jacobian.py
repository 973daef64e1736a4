"""chainrule.func: jacrev, jacfwd and hessian (agreement, structure, cost, errors)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function
from chainrule.func import grad, hessian, jacfwd, jacrev


def t64(*shape, seed=0):
    return cr.tensor(np.random.default_rng(seed).standard_normal(shape))


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a.numpy() if isinstance(a, cr.Tensor) else a),
                               np.asarray(b.numpy() if isinstance(b, cr.Tensor) else b), rtol=tol, atol=tol)


def make_compositions(seed):
    """Random compositions of matmul, tanh, exp, sum, broadcasting add and division."""
    w, b, c = t64(3, 4, seed=seed), t64(3, 1, seed=seed + 1), t64(2, seed=seed + 2)
    return [
        lambda x, y: cr.tanh(w @ x + b) / (1 + (y * y).sum()),                 # (4, 2), (2,) -> (3, 2)
        lambda x, y: (x.exp() + y).sum(0) / (x.sum() ** 2 + 1),                # broadcasting add
        lambda x, y: cr.tanh(x.t() @ w.t()) * (y / (1 + y.exp())).sum() + c.sum(),
    ]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("which", [0, 1, 2])
def test_jacfwd_equals_jacrev_on_random_compositions(seed, which):
    f = make_compositions(seed)[which]
    x, y = t64(4, 2, seed=seed + 3), t64(2, seed=seed + 4)
    rev = jacrev(f, argnums=(0, 1))(x, y)
    fwd = jacfwd(f, argnums=(0, 1))(x, y)
    out = f(x, y)
    for r, fw, inp in zip(rev, fwd, (x, y)):
        assert r.shape == out.shape + inp.shape
        close(r, fw)
    # one column of the Jacobian is a finite-difference directional derivative
    eps = 1e-6
    e = np.zeros(x.shape)
    e[1, 0] = 1.0
    numeric = (f(x + eps * cr.tensor(e), y) - f(x - eps * cr.tensor(e), y)) / (2 * eps)
    close(rev[0].numpy()[..., 1, 0], numeric, 1e-7)


def test_jacobian_shapes_for_scalars_and_pytrees_as_torch():
    x, y = t64(2), t64()
    assert jacrev(lambda x: x * 2)(y).shape == ()
    close(jacrev(lambda x: x.sum())(x), np.ones(2))
    # output structure outside, argnums tuple next, then each input's structure
    jac = jacrev(lambda x, y: (x * y, y), argnums=(0, 1))(x, y)
    close(jac[0][0], np.eye(2) * float(y))
    close(jac[0][1], x)
    close(jac[1][0], np.zeros(2))
    close(jac[1][1], 1.0)
    for transform in (jacrev, jacfwd):
        d = transform(lambda p: {"a": p["u"] * 2, "b": (p["u"] * p["v"]).sum()})({"u": x, "v": x * 3})
        assert set(d) == {"a", "b"} and set(d["a"]) == {"u", "v"}
        close(d["a"]["u"], 2 * np.eye(2))
        close(d["a"]["v"], np.zeros((2, 2)))
        close(d["b"]["u"], 3 * x)


def test_has_aux_and_unused_inputs():
    x, z = t64(3), t64(2)
    for transform in (jacrev, jacfwd):
        jac, aux = transform(lambda x, z: (x.sin(), x.cos()), argnums=(0, 1), has_aux=True)(x, z)
        close(jac[0], np.diag(np.cos(x.numpy())))
        close(jac[1], np.zeros((3, 2)))
        close(aux, np.cos(x.numpy()))
        assert aux.grad_fn is None and jac[0].grad_fn is None


def test_jacrev_and_jacfwd_run_f_once():
    # jacfwd pushes the whole tangent basis through one batched (vmap) forward-mode pass
    calls = []

    def f(x):
        calls.append(1)
        return cr.tanh(x) * x.sum()

    x = t64(5)
    jacrev(f)(x)
    assert len(calls) == 1
    calls.clear()
    jacfwd(f)(x)
    assert len(calls) == 1


def test_jacobian_errors():
    x = t64(2)
    with pytest.raises(RuntimeError, match="only floating point"):
        jacrev(lambda x: x * 2)(cr.tensor([1, 2]))
    with pytest.raises(ValueError, match="floating point"):
        jacfwd(lambda x: x * 2)(cr.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="return only tensors"):
        jacrev(lambda x: 3.0)(x)
    with pytest.raises(RuntimeError, match="argnums=1"):
        jacfwd(lambda x: x, argnums=1)(x)


class ForwardOnlyCube(Function):
    """x ** 3 with a forward-mode rule and no backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_forward(x)
        return x ** 3

    @staticmethod
    def jvp(ctx, x_t):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * x_t


def test_jacfwd_needs_only_forward_rules():
    x = t64(3)
    close(jacfwd(ForwardOnlyCube.apply)(x), np.diag(3 * x.numpy() ** 2))


# -- hessian -----------------------------------------------------------------------------------------

def test_hessian_is_symmetric_and_matches_finite_differences_of_grad():
    a = t64(6, 6, seed=7) / 3
    f = lambda x: cr.tanh(a @ x).sum() * (x * x).sum().exp() / 10
    x = t64(6, seed=8) / 2
    h = hessian(f)(x)
    assert h.shape == (6, 6) and h.grad_fn is None
    close(h, h.t(), 1e-12)
    eps, g = 1e-6, grad(f)
    numeric = np.stack([(g(x + eps * e) - g(x - eps * e)).numpy() / (2 * eps)
                        for e in cr.eye(6, dtype=cr.float64)])
    close(h, numeric, 1e-6)
    close(hessian(f)(x), jacfwd(jacrev(f))(x))


def test_hessian_closed_form_and_cost():
    calls = []
    a = t64(20, 20, seed=9) / 5
    x = t64(20, seed=10)

    def f(x):
        calls.append(1)
        return cr.tanh(a @ x).sum()

    h = hessian(f)(x)
    t = np.tanh(a.numpy() @ x.numpy())
    close(h, a.numpy().T @ ((-2 * t * (1 - t * t))[:, None] * a.numpy()))
    assert len(calls) == 1   # one forward of f, then n passes through the recorded gradient graph


def test_hessian_argnums_tuple_and_vector_output():
    x, y = t64(2), t64()
    h = hessian(lambda x, y: (x ** 3 * y).sum(), argnums=(0, 1))(x, y)
    xn, yn = x.numpy(), float(y)
    close(h[0][0], np.diag(6 * xn * yn))
    close(h[0][1], 3 * xn ** 2)
    close(h[1][0], 3 * xn ** 2)
    close(h[1][1], 0.0)
    hv = hessian(lambda x: x ** 3)(x)
    assert hv.shape == (2, 2, 2)
    close(hv[1, 1, 1], 6 * xn[1])


def test_nested_jacobians_stay_differentiable():
    x = t64(3)
    third = jacrev(jacrev(jacrev(lambda x: (x ** 4).sum())))(x)
    expected = np.zeros((3, 3, 3))
    for i in range(3):
        expected[i, i, i] = 24 * x.numpy()[i]
    close(third, expected)
    close(jacfwd(jacfwd(lambda x: x.sin()))(x).numpy()[1, 1, 1], -np.sin(x.numpy()[1]))
