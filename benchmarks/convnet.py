"""Small convnet training step (issue 11): batch 64 of 1x28x28, conv3x3 1->16 pad 1, ReLU, maxpool 2, conv3x3
16->32 pad 1, ReLU, maxpool 2, linear 1568->10, cross-entropy, SGD; float32, the same code for both libraries.

Run: ``python -m benchmarks.convnet``.
"""

from __future__ import annotations

import numpy as np

import chainrule

from ._common import best_interleaved, optional, report

BATCH = 64


def make_step(lib, x_np, target_np, seed: int = 0):
    """One training step in ``lib`` (chainrule or torch): forward, cross-entropy, backward, SGD update."""
    lib.manual_seed(seed)
    nn = lib.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01)
    x, target = lib.tensor(x_np), lib.tensor(target_np)

    def step():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), target)
        loss.backward()
        optimizer.step()
        return loss
    return step


def inputs():
    rng = np.random.default_rng(0)
    return rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, BATCH)


def main() -> None:
    x_np, target_np = inputs()
    torch = optional("torch")
    libs = [("chainrule", chainrule)] + ([("torch", torch)] if torch else [])
    steps = [(name, make_step(lib, x_np, target_np)) for name, lib in libs]
    for _, step in steps:
        step()
    report(f"convnet training step, batch {BATCH}, 1x28x28, float32", best_interleaved(steps, repeat=3))


if __name__ == "__main__":
    main()
