"""A wide Jacobian (issue 11): ``jacrev`` of ``tanh(linear(x, weight, bias))`` with 2048 outputs and 32 inputs,
weight, bias and x as arguments and ``argnums=2``, against ``torch.func.jacrev``; float32.

Run: ``python -m benchmarks.jacobian``.
"""

from __future__ import annotations

import numpy as np

import chainrule
from chainrule.func import jacrev

from ._common import best_interleaved, optional, report

OUTPUTS, INPUTS = 2048, 32


def make_run(lib, jacobian, arrays):
    weight, bias, x = (lib.tensor(a) for a in arrays)
    f = jacobian(lambda w, b, v: lib.nn.functional.linear(v, w, b).tanh(), argnums=2)
    return lambda: f(weight, bias, x)


def main() -> None:
    rng = np.random.default_rng(0)
    arrays = ((rng.standard_normal((OUTPUTS, INPUTS)) / np.sqrt(INPUTS)).astype(np.float32),
              rng.standard_normal(OUTPUTS).astype(np.float32), rng.standard_normal(INPUTS).astype(np.float32))
    torch = optional("torch")
    libs = [("chainrule", chainrule, jacrev)] + ([("torch", torch, torch.func.jacrev)] if torch else [])
    runs = [(name, make_run(lib, jacobian, arrays)) for name, lib, jacobian in libs]
    for _, run in runs:
        run()
    rows = best_interleaved(runs, repeat=4)
    report(f"jacrev of tanh(linear(x)), {OUTPUTS} outputs x {INPUTS} inputs (argnums=2), float32", rows)


if __name__ == "__main__":
    main()
