"""Run a worker script on N MPI ranks through chainrule's launcher, for the tests in this folder."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

WORKERS = Path(__file__).parent / "workers"

needs_mpi = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None,
                               reason="needs mpi4py and an MPI: pip install 'chainrule[distributed]'")


def run_ranks(nproc: int, worker: str, *args, timeout: float = 60) -> subprocess.CompletedProcess:
    """``python -m chainrule.distributed.run -n nproc workers/<worker> args``, its output captured."""
    command = [sys.executable, "-m", "chainrule.distributed.run", "-n", str(nproc), str(WORKERS / worker),
               *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)
