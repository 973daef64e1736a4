"""``python -m chainrule.distributed.run -n 2 script.py [args]``: start a script on N ranks, as ``torchrun``.

It runs ``mpiexec -n N python script.py args`` with the MPI that ``pip install 'chainrule[distributed]'``
installed (or ``$MPIEXEC``), and gives each rank one BLAS/OpenMP thread unless ``OMP_NUM_THREADS`` is set,
since N ranks already keep N cores busy. On a cluster, call the site's ``mpiexec`` or ``srun`` directly.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .._threads import THREAD_VARIABLES


def find_mpiexec() -> str:
    """``$MPIEXEC``, else the ``mpiexec`` next to this Python (pip's mpich puts it there), else the one on PATH."""
    candidates = [os.environ.get("MPIEXEC"), str(Path(sys.executable).parent / "mpiexec"), shutil.which("mpiexec")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("chainrule.distributed.run: no mpiexec found; pip install 'chainrule[distributed]' "
                       "(or set MPIEXEC to your MPI's launcher)")


def launch(nproc: int, argv: list[str], timeout: float | None = None) -> int:
    """Run ``python argv...`` on ``nproc`` ranks under mpiexec; returns the job's exit status.

    ``timeout`` (seconds) ends the whole job with a non-zero status if it runs longer.
    """
    env = dict(os.environ)
    if nproc > 1:
        for name in THREAD_VARIABLES:
            env.setdefault(name, "1")
    command = [find_mpiexec(), "-n", str(nproc), sys.executable, *argv]
    try:
        return subprocess.run(command, env=env, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        print(f"chainrule.distributed.run: the job ran past --timeout {timeout:g} s and was stopped", file=sys.stderr)
        return 124


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chainrule.distributed.run",
        description="Run a Python script (or -m module) on N MPI ranks, each calling "
                    "chainrule.distributed.init_process_group().")
    parser.add_argument("-n", "--nproc", "--nproc-per-node", type=int, default=1, dest="nproc",
                        help="number of ranks (default: 1)")
    parser.add_argument("--timeout", type=float, help="stop the whole job after this many seconds")
    parser.add_argument("-m", dest="module", nargs=argparse.REMAINDER, metavar="MODULE ...",
                        help="run a module (as python -m) with the arguments that follow, instead of a script")
    parser.add_argument("script", nargs="?", help="the script to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    args = parser.parse_args(argv)
    if args.nproc < 1:
        parser.error(f"-n must be at least 1, got {args.nproc}")
    if args.module:
        return launch(args.nproc, ["-m", *args.module], args.timeout)
    if args.script is None:
        parser.error("give a script to run, or -m module")
    return launch(args.nproc, [args.script, *args.args], args.timeout)


if __name__ == "__main__":
    sys.exit(main())
