"""The op database: one entry per public op, driving every generic op test (tests/test_ops.py).

An entry gives the op as a function of tensors, sample inputs (as float64 NumPy arrays; a sample may also carry
integer/bool arrays that are passed through without gradients), a NumPy reference for the forward, and flags
saying which derivative checks apply. Add an entry next to its family when you add an op; the meta-test in
test_ops.py fails for a public op without one.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class Sample:
    """Positional array inputs; ``grad`` marks which of them are differentiated (default: the float ones)."""

    args: tuple
    grad: tuple | None = None

    def differentiable_positions(self) -> list:
        if self.grad is not None:
            return [i for i, g in enumerate(self.grad) if g]
        return [i for i, a in enumerate(self.args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]


@dataclass
class OpInfo:
    name: str
    fn: Callable  # (*tensors) -> tensor or tuple of tensors
    samples: list
    ref: Callable | None = None  # (*arrays) -> array or tuple of arrays
    differentiable: bool = True
    jvp: bool = True
    twice: bool = True  # second derivatives are checked (smooth ops)
    atol: float = 1e-5
    rtol: float = 1e-3
    covers: tuple = field(default_factory=tuple)  # extra public names this entry exercises (aliases)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def arrays(*shapes, low: float = -2.0, high: float = 2.0, seed: int = 0) -> tuple:
    """Random float64 arrays of the given shapes, uniform on [low, high)."""
    r = rng(seed)
    return tuple(r.uniform(low, high, s) for s in shapes)


def away_from(values: np.ndarray, points=(0.0,), margin: float = 0.1) -> np.ndarray:
    """Push entries at least ``margin`` away from kinks so finite differences are valid."""
    out = values.copy()
    for p in points:
        close = np.abs(out - p) < margin
        out[close] = p + np.where(out[close] >= p, margin, -margin) * 2
    return out


def all_entries() -> list:
    """Every family module's ``ENTRIES`` (each module of this package beside this one), in name order."""
    entries = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        entries.extend(importlib.import_module(f"{__name__}.{info.name}").ENTRIES)
    return entries
