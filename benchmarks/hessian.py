"""Hessian benchmark: f(x) = sum(tanh(A @ x)), x in R^200, float64, the full 200 x 200 Hessian.

chainrule's ``func.hessian`` is ``jacfwd(jacrev(f))``: one batched (vmap) forward-mode pass carries the 200 basis
tangents through f and its backward pass, as ``torch.func.hessian`` and ``jax.hessian`` do (the per-row version
it replaced is timed in ``benchmarks.per_sample_grads``).
Each library's result is checked against the closed form A^T diag(-2 tanh(Ax) (1 - tanh(Ax)^2)) A.

Run: ``python -m benchmarks.hessian``.
"""

from __future__ import annotations

import numpy as np

import chainrule

from ._common import best_of, optional, report

N = 200


def closed_form(a_np, x_np):
    t = np.tanh(a_np @ x_np)
    return a_np.T @ ((-2 * t * (1 - t * t))[:, None] * a_np)


def chainrule_hessian(a_np, x_np):
    a, x = chainrule.tensor(a_np), chainrule.tensor(x_np)
    hess = chainrule.func.hessian(lambda x: chainrule.tanh(a @ x).sum())
    return lambda: hess(x).numpy()


def torch_hessian(torch, a_np, x_np):
    a, x = torch.from_numpy(a_np), torch.from_numpy(x_np)
    hess = torch.func.hessian(lambda x: torch.tanh(a @ x).sum())
    return lambda: hess(x).numpy()


def jax_hessian(jax, a_np, x_np):
    jax.config.update("jax_enable_x64", True)
    a, x = jax.numpy.asarray(a_np), jax.numpy.asarray(x_np)
    hess = jax.jit(jax.hessian(lambda x: jax.numpy.tanh(a @ x).sum()))
    return lambda: np.asarray(hess(x).block_until_ready())


def main() -> None:
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((N, N)) / np.sqrt(N)
    x_np = rng.standard_normal(N)
    expected = closed_form(a_np, x_np)
    candidates = [("chainrule", lambda: chainrule_hessian(a_np, x_np))]
    torch = optional("torch")
    if torch is not None:
        candidates.append(("torch.func", lambda: torch_hessian(torch, a_np, x_np)))
    jax = optional("jax")
    if jax is not None:
        candidates.append(("jax (jit)", lambda: jax_hessian(jax, a_np, x_np)))
    rows = []
    for name, make in candidates:
        run = make()
        np.testing.assert_allclose(run(), expected, rtol=1e-9, atol=1e-12, err_msg=f"{name}: wrong Hessian")
        rows.append((name, best_of(run, repeat=5)))
    missing = [m for m, lib in (("torch", torch), ("jax", jax)) if lib is None]
    suffix = f" ({', '.join(missing)} not installed)" if missing else ""
    report(f"Hessian of sum(tanh(A @ x)), x in R^{N}, float64{suffix}", rows)


if __name__ == "__main__":
    main()
