"""vmap benchmarks: per-sample gradients of a 2-layer MLP, and the 200 x 200 Hessian batched vs per row.

1. Per-sample gradients of a 2-layer MLP (20 -> 64 -> 10, tanh, softmax cross-entropy against one-hot
   targets, float64) for 64 samples: ``vmap(grad(loss))`` over ``functional_call``, against a Python loop of
   64 forward + backward passes, and ``torch.func.vmap(torch.func.grad(...))`` when torch is installed.
2. The Hessian of f(x) = sum(tanh(A @ x)), x in R^200: ``func.hessian`` (``jacfwd(jacrev(f))``, one
   batched forward-mode pass) and ``jacrev(jacrev(f))`` (one batched backward pass), against the per-row
   version they replace (the gradient's graph, then one backward pass per row).

Every variant is checked against the first before it is timed. Run: ``python -m benchmarks.per_sample_grads``.
"""

from __future__ import annotations

import numpy as np

import chainrule
from chainrule.func import functional_call, grad, hessian, jacrev, vmap

from ._common import best_of, optional, report

SAMPLES, IN, HIDDEN, CLASSES = 64, 20, 64, 10
N = 200


def _data():
    rng = np.random.default_rng(0)
    weights = {"0.weight": rng.standard_normal((HIDDEN, IN)) / np.sqrt(IN), "0.bias": np.zeros(HIDDEN),
               "2.weight": rng.standard_normal((CLASSES, HIDDEN)) / np.sqrt(HIDDEN), "2.bias": np.zeros(CLASSES)}
    x = rng.standard_normal((SAMPLES, IN))
    onehot = np.eye(CLASSES)[rng.integers(0, CLASSES, SAMPLES)]
    return weights, x, onehot


def chainrule_model(weights):
    model = chainrule.nn.Sequential(chainrule.nn.Linear(IN, HIDDEN), chainrule.nn.Tanh(),
                                    chainrule.nn.Linear(HIDDEN, CLASSES)).double()
    with chainrule.no_grad():
        for name, p in model.named_parameters():
            p.copy_(chainrule.tensor(weights[name]))
    return model


def chainrule_vmap(weights, x_np, onehot_np):
    model = chainrule_model(weights)
    params = {name: p.detach() for name, p in model.named_parameters()}
    x, onehot = chainrule.tensor(x_np), chainrule.tensor(onehot_np)

    def loss(params, x, y):
        logits = functional_call(model, params, (x,))
        return -(chainrule.log_softmax(logits, -1) * y).sum()

    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))
    return lambda: {k: g.numpy() for k, g in per_sample(params, x, onehot).items()}


def chainrule_loop(weights, x_np, onehot_np):
    model = chainrule_model(weights)
    x, onehot = chainrule.tensor(x_np), chainrule.tensor(onehot_np)

    def run():
        rows = {name: [] for name, _ in model.named_parameters()}
        for b in range(SAMPLES):
            model.zero_grad()
            (-(chainrule.log_softmax(model(x[b]), -1) * onehot[b]).sum()).backward()
            for name, p in model.named_parameters():
                rows[name].append(p.grad.numpy().copy())
        return {name: np.stack(r) for name, r in rows.items()}
    return run


def torch_vmap(torch, weights, x_np, onehot_np):
    model = torch.nn.Sequential(torch.nn.Linear(IN, HIDDEN), torch.nn.Tanh(), torch.nn.Linear(HIDDEN, CLASSES))
    params = {name: torch.from_numpy(w) for name, w in weights.items()}
    x, onehot = torch.from_numpy(x_np), torch.from_numpy(onehot_np)

    def loss(params, x, y):
        logits = torch.func.functional_call(model, params, (x,))
        return -(torch.log_softmax(logits, -1) * y).sum()

    per_sample = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))
    return lambda: {k: g.numpy() for k, g in per_sample(params, x, onehot).items()}


def per_row_hessian(f, x):
    """The Hessian as before vmap: the gradient's graph once, then one backward pass through it per row."""
    x = x.detach().requires_grad_()
    (g,) = chainrule.autograd.grad(f(x), x, create_graph=True)
    basis = chainrule.eye(x.numel(), dtype=x.dtype)
    return chainrule.stack([chainrule.autograd.grad(g, x, e, retain_graph=True)[0] for e in basis])


def per_sample_gradients() -> None:
    weights, x, onehot = _data()
    candidates = [("vmap(grad)", chainrule_vmap), ("Python loop", chainrule_loop)]
    torch = optional("torch")
    if torch is not None:
        candidates.append(("torch.func", lambda *a: torch_vmap(torch, *a)))
    rows, expected = [], None
    for name, make in candidates:
        run = make(weights, x, onehot)
        got = run()
        expected = expected or got
        for key, value in expected.items():
            np.testing.assert_allclose(got[key], value, rtol=1e-9, atol=1e-12, err_msg=f"{name}: {key}")
        rows.append((name, best_of(run, repeat=7)))
    suffix = "" if torch is not None else " (torch not installed)"
    report(f"per-sample gradients, 2-layer MLP {IN}-{HIDDEN}-{CLASSES}, {SAMPLES} samples, float64{suffix}", rows)


def hessians() -> None:
    rng = np.random.default_rng(0)
    a = chainrule.tensor(rng.standard_normal((N, N)) / np.sqrt(N))
    x = chainrule.tensor(rng.standard_normal(N))
    f = lambda x: chainrule.tanh(a @ x).sum()
    candidates = [("jacfwd(rev)", lambda: hessian(f)(x)), ("jacrev(rev)", lambda: jacrev(jacrev(f))(x)),
                  ("per row", lambda: per_row_hessian(f, x))]
    expected = candidates[0][1]().numpy()
    rows = []
    for name, run in candidates:
        np.testing.assert_allclose(run().numpy(), expected, rtol=1e-9, atol=1e-12, err_msg=name)
        rows.append((name, best_of(run, repeat=5)))
    report(f"Hessian of sum(tanh(A @ x)), x in R^{N}, float64: batched (vmap) vs per row", rows)


def main() -> None:
    per_sample_gradients()
    hessians()


if __name__ == "__main__":
    main()
