"""MLP training step benchmarks: 784-1024-1024-10 at batch 256 (the matrix products dominate; issue 11's aim
is 1.1x PyTorch) and 64-64-10 at batch 32 (per-op overhead dominates; aim 1.5x). ReLU, float32, cross-entropy
written from elementary ops, SGD by hand.

The header names the OpenBLAS kernels that ran. When this machine's ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE``
are set (they force older kernels and slow the products), the large step is measured again in a fresh process
with both unset, so both figures appear in one run.

Run: ``python -m benchmarks.mlp``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

import chainrule
from chainrule._threads import blas_kernel

from ._common import best_interleaved, optional, report

# Variables that make OpenBLAS pick other kernels than its own choice for this CPU.
KERNEL_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

SIZES = (784, 1024, 1024, 10)
BATCH = 256
CONFIGS = ((SIZES, BATCH), ((64, 64, 10), 32))


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
        loss = -(log_probs * onehot).sum() / len(x_np)
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= 0.01 * p.grad
                p.grad = None
        return loss
    return step


def problem(sizes: tuple, batch: int, seed: int = 0) -> tuple:
    """``(x, onehot, weights)`` as float32 NumPy arrays: a batch, its one-hot labels, uniform-initialised layers."""
    rng = np.random.default_rng(seed)
    x_np = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    onehot_np = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]
    weights_np = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        weights_np.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
        weights_np.append(rng.uniform(-bound, bound, (fan_out,)).astype(np.float32))
    return x_np, onehot_np, weights_np


def main(configs=CONFIGS) -> None:
    torch = optional("torch")
    libs = [("chainrule", chainrule)] + ([("torch", torch)] if torch else [])
    setting = ", ".join(f"{name}={os.environ[name]}" for name in KERNEL_VARIABLES if os.environ.get(name))
    kernels = f"OpenBLAS {blas_kernel() or '(unknown)'} kernels, {setting or 'both unset'}"
    for sizes, batch in configs:
        data = problem(sizes, batch)
        steps = [(name, make_step(lib, *data)) for name, lib in libs]
        for _, step in steps:
            step()
        rows = best_interleaved(steps, repeat=1 if batch > 64 else 10)
        report(f"MLP training step {'-'.join(map(str, sizes))}, batch {batch}, float32; {kernels}", rows)
    if setting and configs == CONFIGS:
        env = {k: v for k, v in os.environ.items() if k not in KERNEL_VARIABLES}
        subprocess.run([sys.executable, "-c", "from benchmarks import mlp; mlp.main(mlp.CONFIGS[:1])"], env=env,
                       check=True)


if __name__ == "__main__":
    main()
