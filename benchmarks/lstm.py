"""LSTM training step benchmark: a 2-layer ``nn.LSTM`` (input 32, hidden 128) over 35 steps, batch 32, float32,
cross-entropy on the last step's output through a linear head (10 classes), SGD. Many small ops per time step,
so per-op overhead matters as much as the matrix products; the aim is to stay within 2x of PyTorch.

Run: ``python -m benchmarks.lstm``.
"""

from __future__ import annotations

import numpy as np

import chainrule

from ._common import best_of, optional, report

INPUT, HIDDEN, LAYERS, STEPS, BATCH, CLASSES = 32, 128, 2, 35, 32, 10


def make_step(lib, x_np, target_np, state_np):
    """One training step in ``lib`` (chainrule or torch) with the same weights: forward, loss, backward, SGD."""
    lstm, head = lib.nn.LSTM(INPUT, HIDDEN, LAYERS), lib.nn.Linear(HIDDEN, CLASSES)
    lstm.load_state_dict({k: lib.tensor(v) for k, v in state_np["lstm"].items()})
    head.load_state_dict({k: lib.tensor(v) for k, v in state_np["head"].items()})
    params = list(lstm.parameters()) + list(head.parameters())
    opt = lib.optim.SGD(params, lr=0.1)
    x, target = lib.tensor(x_np), lib.tensor(target_np)

    def step():
        out, _ = lstm(x)
        loss = lib.nn.functional.cross_entropy(head(out[-1]), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


def main() -> None:
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((STEPS, BATCH, INPUT)).astype(np.float32)
    target_np = rng.integers(0, CLASSES, BATCH)
    chainrule.manual_seed(0)
    state_np = {"lstm": {k: v.numpy() for k, v in chainrule.nn.LSTM(INPUT, HIDDEN, LAYERS).state_dict().items()},
                "head": {k: v.numpy() for k, v in chainrule.nn.Linear(HIDDEN, CLASSES).state_dict().items()}}
    torch = optional("torch")
    libs = [("chainrule", chainrule)] + ([("torch", torch)] if torch else [])
    rows = []
    for name, lib in libs:
        step = make_step(lib, x_np, target_np, state_np)
        step()
        rows.append((name, best_of(step, repeat=5)))
    report(f"LSTM training step: {LAYERS} layers, input {INPUT}, hidden {HIDDEN}, {STEPS} steps, batch {BATCH}, "
           "float32", rows)


if __name__ == "__main__":
    main()
