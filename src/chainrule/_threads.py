"""Intra-op threads, as ``torch.get_num_threads`` / ``torch.set_num_threads``.

chainrule computes through NumPy, whose only threads are those of its BLAS library (matrix products). With
``threadpoolctl`` installed these functions read and limit that pool; without it they report 1 and accept any
setting (NumPy's element-wise loops are single-threaded either way).
"""

from __future__ import annotations

__all__ = ["get_num_threads", "set_num_threads", "get_num_interop_threads", "set_num_interop_threads"]

# The limit set by ``set_num_threads`` when threadpoolctl is missing (then it is only remembered).
_requested = [None]


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS uses (1 without ``threadpoolctl``, or what was last set)."""
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
    try:
        import threadpoolctl
    except ImportError:
        return
    threadpoolctl.threadpool_limits(limits=num, user_api="blas")


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
