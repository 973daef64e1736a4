"""Peak memory of one MLP training step (issue 11): 20 layers of 1024x1024 plus a 1024->10 output, ReLU, batch
512, float32, the step of ``benchmarks.mlp``. Each library runs in its own process; the figure is the step's peak
resident memory above the memory held just before it (Linux: the peak is reset through /proc/self/clear_refs).

Run: ``python -m benchmarks.memory``.
"""

from __future__ import annotations

import os
import subprocess
import sys

from ._common import optional, report

SIZES = (1024,) * 21 + (10,)
BATCH = 512

_CHILD = """
import gc, importlib, sys
from benchmarks.mlp import make_step, problem
from benchmarks.memory import BATCH, SIZES
lib = importlib.import_module(sys.argv[1])
step = make_step(lib, *problem(SIZES, BATCH))
gc.collect()
def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key))
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status("VmRSS:")
step()
print((status("VmHWM:") - before) / 1024, status("VmHWM:") / 1024)
"""


def peak_mib(module: str) -> tuple[float, float]:
    """The step's peak resident memory above what was held before it, and the process's whole peak resident
    memory (library, weights and step), in MiB, measured in a fresh process."""
    # NOTE: glibc keeps freed blocks below its (adaptive) mmap threshold resident, so memory freed while setting up
    # would be reused unseen; a fixed low threshold gives every array its own mapping, returned when freed.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    out = subprocess.run([sys.executable, "-c", _CHILD, module], capture_output=True, text=True, check=True, env=env)
    step, process = out.stdout.split()[-2:]
    return float(step), float(process)


def main() -> None:
    if not sys.platform.startswith("linux"):
        print("\nmemory benchmark: needs Linux (/proc/self/clear_refs)")
        return
    libs = ["chainrule"] + (["torch"] if optional("torch") else [])
    peaks = {name: peak_mib(name) for name in libs}
    title = f"an MLP step, {len(SIZES) - 1} layers (20 of 1024x1024), batch {BATCH}, float32"
    report(f"peak memory of {title}, above what was held before the step", [(n, p[0]) for n, p in peaks.items()],
           "MiB", 1)
    # NOTE: the step's own peak cannot fall below its 84 MiB of weight gradients, which all exist once backward
    # ends; the process's peak (the figure issue 11 first quoted) also counts each library's own footprint.
    report(f"peak resident memory of the whole process for {title}", [(n, p[1]) for n, p in peaks.items()],
           "MiB", 1)


if __name__ == "__main__":
    main()
