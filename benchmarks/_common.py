"""Shared helpers for benchmarks: best-of timing and optional imports of the libraries we compare with."""

from __future__ import annotations

import importlib
import time

import chainrule


def best_of(fn, repeat: int = 5, number: int = 1) -> float:
    """The fastest of ``repeat`` runs of ``number`` calls of ``fn``, in seconds per call."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def best_interleaved(runs: list, rounds: int = 5, repeat: int = 5, number: int = 1) -> list:
    """``[(name, seconds per call)]`` for ``runs`` (``[(name, fn)]``): ``rounds`` rounds in which each fn in turn
    gets ``best_of(fn, repeat, number)``, keeping each one's fastest. Taking turns spreads a slow minute of a
    shared machine over every library instead of one, so the ratios hold better than back-to-back runs."""
    best = {name: float("inf") for name, _ in runs}
    for _ in range(rounds):
        for name, fn in runs:
            best[name] = min(best[name], best_of(fn, repeat, number))
    return [(name, best[name]) for name, _ in runs]


def optional(module: str):
    """The module if installed, else None (benchmarks compare against whatever is available).

    PyTorch gets chainrule's number of BLAS threads (one, unless the environment set a count), so the two
    compare on the same cores.
    """
    try:
        found = importlib.import_module(module)
    except ImportError:
        return None
    if module == "torch":
        found.set_num_threads(chainrule.get_num_threads())
    return found


def report(title: str, rows: list[tuple[str, float]], unit: str = "ms", scale: float = 1e3) -> None:
    """Print one table: each library's time and chainrule's (the first row's) time divided by it, the ratio
    issue targets are stated in (below 1: chainrule is faster)."""
    print(f"\n{title}")
    base = rows[0][1]
    for name, seconds in rows:
        print(f"  {name:<12} {seconds * scale:10.3f} {unit}   chainrule / {name}: {base / seconds:6.2f}")
