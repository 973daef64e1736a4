"""MLP training step benchmark: 784-1024-1024-10, ReLU, batch 256, float32, cross-entropy written from
elementary ops, SGD by hand. The matrix products dominate, so the aim is to stay within 1.3x of PyTorch.

Run: ``python -m benchmarks.mlp``.
"""

from __future__ import annotations

import numpy as np

import chainrule

from ._common import best_of, optional, report

SIZES = (784, 1024, 1024, 10)
BATCH = 256


def make_step(lib, x_np, onehot_np, weights_np):
    """One training step in ``lib`` (chainrule or torch): forward, cross-entropy, backward, SGD update."""
    x = lib.tensor(x_np)
    onehot = lib.tensor(onehot_np)
    params = [lib.tensor(w, requires_grad=True) for w in weights_np]

    def step():
        h = x
        for i in range(0, len(params) - 2, 2):
            h = (h @ params[i] + params[i + 1]).relu()
        logits = h @ params[-2] + params[-1]
        shifted = logits - logits.detach().amax(1, keepdim=True)
        log_probs = shifted - shifted.exp().sum(1, keepdim=True).log()
        loss = -(log_probs * onehot).sum() / BATCH
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= 0.01 * p.grad
                p.grad = None
        return loss
    return step


def main() -> None:
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    onehot_np = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], BATCH)]
    weights_np = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(fan_in)
        weights_np.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
        weights_np.append(rng.uniform(-bound, bound, (fan_out,)).astype(np.float32))
    torch = optional("torch")
    libs = [("chainrule", chainrule)] + ([("torch", torch)] if torch else [])
    rows = []
    for name, lib in libs:
        step = make_step(lib, x_np, onehot_np, weights_np)
        step()
        rows.append((name, best_of(step, repeat=5)))
    report(f"MLP training step {'-'.join(map(str, SIZES))}, batch {BATCH}, float32", rows)


if __name__ == "__main__":
    main()
