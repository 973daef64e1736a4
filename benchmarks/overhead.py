"""Per-op overhead and deep-graph benchmarks (issue: speed by design).

1. A chain of 200 elementwise ops on a 16-element float32 vector, forward + backward, per op.
2. 100,000 steps of ``y = y * 1.0001 + 0.0001`` on a scalar, then backward.
Run: ``python -m benchmarks.overhead``.
"""

from __future__ import annotations

import chainrule

from ._common import best_interleaved, optional, report


def chain(lib, n_ops: int = 200):
    x = lib.randn(16, requires_grad=True)

    def run():
        y = x
        for _ in range(n_ops // 4):
            y = y * 1.0001
            y = y + 0.5
            y = y.tanh()
            y = y - 0.25
        y.sum().backward()
    return run


def deep(lib, steps: int = 100_000):
    def run():
        x = lib.tensor(1.0, requires_grad=True)
        y = x
        for _ in range(steps):
            y = y * 1.0001 + 0.0001
        y.backward()
    return run


def main() -> None:
    torch = optional("torch")
    libs = [("chainrule", chainrule)] + ([("torch", torch)] if torch else [])
    rows = [(name, seconds / 201) for name, seconds in best_interleaved([(n, chain(lib)) for n, lib in libs])]
    report("per-op overhead: 200-op elementwise chain on float32[16], forward + backward, per op", rows, "us", 1e6)
    rows = best_interleaved([(name, deep(lib)) for name, lib in libs], rounds=2, repeat=1)
    report("deep chain: 100,000 steps of y = y * 1.0001 + 0.0001, forward + backward", rows, "s", 1)


if __name__ == "__main__":
    main()
