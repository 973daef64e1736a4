"""The cross-rank argument check: every rank must call the same collective on tensors of the same shape and dtype.

MPI itself trusts the caller: a rank passing 4 floats where another passes 3 gets a truncation error, a wrong
result or a hang. So before each collective the ranks swap a few bytes of metadata (one small all-gather) and
all raise the same error, naming every rank's shape and dtype, when they disagree. It is on by default
(``DebugLevel.DETAIL``); ``CHAINRULE_DISTRIBUTED_DEBUG=OFF`` in the environment or ``set_debug_level(OFF)``
turns it off for the last microseconds. ``DistributedDataParallel`` checks its parameters once, at
construction, and runs its bucket all-reduces unchecked.
"""

from __future__ import annotations

import enum
import os


class DebugLevel(enum.Enum):
    """As ``torch.distributed.DebugLevel``; the checks run unless the level is ``OFF``."""

    OFF = 0
    INFO = 1
    DETAIL = 2


_level = DebugLevel[os.environ.get("CHAINRULE_DISTRIBUTED_DEBUG", "DETAIL").upper()]


def get_debug_level() -> DebugLevel:
    return _level


def set_debug_level(level: DebugLevel | str) -> None:
    """Turn the cross-rank checks off (``"OFF"``) or on (``"INFO"``, ``"DETAIL"``)."""
    global _level
    _level = level if isinstance(level, DebugLevel) else DebugLevel[level.upper()]


def describe(array) -> str:
    return f"shape {tuple(array.shape)} {array.dtype}"


def check_same(pg, op: str, *signature) -> None:
    """Raise on every rank unless all ranks of ``pg`` call ``op`` with equal ``signature`` (strings and numbers)."""
    if _level is DebugLevel.OFF or pg.size() == 1:
        return
    calls = pg.comm.allgather((op,) + signature)
    if all(call == calls[0] for call in calls):
        return
    lines = [f"rank {pg.ranks[r]} called {call[0]} with {', '.join(map(str, call[1:]))}" for r, call in
             enumerate(calls)]
    raise RuntimeError(f"{op}: the ranks disagree ({'; '.join(lines)}); every rank must call the same "
                       "collective with the same shapes, dtypes and arguments")
