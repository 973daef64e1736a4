"""Intra-op threads, as ``torch.get_num_threads`` / ``torch.set_num_threads``.

chainrule computes through NumPy, whose only threads are those of its BLAS library (matrix products; NumPy's
element-wise loops are single-threaded). These functions read and limit that pool: through the OpenBLAS that
NumPy's wheels ship, called directly (found among the libraries this process has loaded, Linux), else through
``threadpoolctl`` when it is installed (MKL, BLIS, Accelerate, other systems); with neither they only remember
the setting and report it.

**The default is one thread**, set when chainrule is imported, unless the environment already chose a count
(``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` or ``MKL_NUM_THREADS``): then NumPy's pool is left as it is.
NOTE: this differs from torch (one thread per physical core) on purpose. BLAS threads hand work to each other
and spin while they wait, so on a machine whose cores are busy with other jobs a step stalls whenever one of its
threads is descheduled: a convnet step that takes 95-295 ms with one thread took 0.33-7.4 s with two on two
loaded cores (docs/benchmarks.md). One thread is steady on any machine; on an idle multi-core machine, large
products gain from more (``chainrule.set_num_threads(os.cpu_count())``). Since the pool is NumPy's, the setting
applies to NumPy calls made outside chainrule too.
"""
from __future__ import annotations

import ctypes
import functools
import os

from ._backend import xp

__all__ = ["get_num_threads", "set_num_threads", "get_num_interop_threads", "set_num_interop_threads"]

# Environment variables through which a user chooses the BLAS/OpenMP thread count before a library starts.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# The limit set by ``set_num_threads`` when no BLAS control is reachable (then it is only remembered).
_requested = [None]

# (prefix, suffix) of OpenBLAS's thread functions: NumPy's wheels (scipy-openblas, 64-bit ints), plain builds.
_OPENBLAS_NAMES = (("scipy_openblas", "64_"), ("scipy_openblas", ""), ("openblas", ""), ("openblas", "64_"))


@functools.lru_cache(maxsize=1)
def _openblas() -> tuple | None:
    """``(set_num_threads, get_num_threads, get_corename)`` of the OpenBLAS NumPy uses, or None."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:  # NOTE: not Linux
        return None
    # NOTE: other packages (SciPy) load OpenBLAS copies of their own: NumPy's sits beside it (numpy.libs) or in it
    numpy_dir = os.path.dirname(xp.__file__)
    for path in sorted(paths, key=lambda path: not path.startswith(numpy_dir)):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in _OPENBLAS_NAMES:
            setter = getattr(library, f"{prefix}_set_num_threads{suffix}", None)
            getter = getattr(library, f"{prefix}_get_num_threads{suffix}", None)
            corename = getattr(library, f"{prefix}_get_corename{suffix}", None)
            if setter is not None and getter is not None and corename is not None:
                setter.argtypes, setter.restype, getter.restype = [ctypes.c_int], None, ctypes.c_int
                corename.restype = ctypes.c_char_p
                return setter, getter, corename
    return None


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS uses (what was last set, or 1, when no BLAS control is reachable)."""
    openblas = _openblas()
    if openblas is not None:
        return openblas[1]()
    try:
        import threadpoolctl
    except ImportError:
        return _requested[0] or 1
    pools = [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool.get("user_api") == "blas"]
    return max(pools) if pools else _requested[0] or 1


def set_num_threads(num: int) -> None:
    """Limit NumPy's BLAS to ``num`` threads (a positive int), for the rest of the process."""
    _check_count(num, "set_num_threads")
    _requested[0] = num
    openblas = _openblas()
    if openblas is not None:
        openblas[0](num)
        return
    try:
        import threadpoolctl
    except ImportError:
        return
    threadpoolctl.threadpool_limits(limits=num, user_api="blas")


def blas_kernel() -> str | None:
    """The CPU kernels NumPy's OpenBLAS runs (e.g. ``"Haswell"``, ``"SkylakeX"``; ``OPENBLAS_CORETYPE`` can force
    older ones), or None when that library is not reachable. Benchmarks print it beside their figures."""
    openblas = _openblas()
    return openblas[2]().decode() if openblas is not None else None


def apply_default() -> None:
    """chainrule's default (see the module docstring): one BLAS thread, unless the environment chose a count."""
    if not any(os.environ.get(name) for name in THREAD_VARIABLES):
        set_num_threads(1)


def get_num_interop_threads() -> int:
    """1: chainrule runs ops one after another (no inter-op parallelism)."""
    return 1


def set_num_interop_threads(num: int) -> None:
    """Accepted for torch compatibility (a positive int); chainrule has no inter-op thread pool."""
    _check_count(num, "set_num_interop_threads")


def _check_count(num, op: str) -> None:
    if isinstance(num, bool) or not isinstance(num, int):
        raise TypeError(f"{op}(): argument 'int' must be int, not {type(num).__name__}")
    if num <= 0:
        raise RuntimeError(f"{op} expects a positive integer, got {num}")
