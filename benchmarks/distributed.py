"""Data-parallel scaling: a compute-bound MLP training step on 1 rank vs 2 ranks with DistributedDataParallel.

784-1024-1024-1024-10, ReLU, float32, batch 256 per rank, cross-entropy, SGD; one BLAS thread per rank, so
2 ranks use the 2 cores. Reports samples/s (weak scaling: each rank keeps its batch), also for 2 ranks that
train independently (no communication: what the cores allow), DDP with torch's default buckets and with 4 MB
buckets (``bucket_cap_mb``, the knob torch documents for this), and, from the reducer's timings, how much of
the gradient communication ran during backward: ``hidden`` is the share of the all-reduce time that
overlapped the backward pass, ``of backward`` the share of the backward pass during which an all-reduce was
in flight.

Run: ``python -m benchmarks.distributed`` (needs ``pip install 'chainrule[distributed]'``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

SIZES = (784, 1024, 1024, 1024, 10)
BATCH = 256
WARMUP, STEPS = 3, 15
ROUNDS = 5


def worker(use_ddp: bool, bucket_cap_mb: float | None = None) -> None:
    """One rank's training loop; rank 0 prints its timings as JSON."""
    import chainrule as cr
    from chainrule import nn

    world, rank = 1, 0
    if use_ddp:
        import chainrule.distributed as dist
        dist.init_process_group()
        world, rank = dist.get_world_size(), dist.get_rank()
    cr.manual_seed(0)
    layers = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    if use_ddp:
        model = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=bucket_cap_mb)
    opt = cr.optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(rank)
    x = cr.tensor(rng.standard_normal((BATCH, SIZES[0])).astype(np.float32))
    y = cr.tensor(rng.integers(0, SIZES[-1], BATCH))
    loss_fn = nn.CrossEntropyLoss()
    step_times, backward_times, stats = [], [], []
    for step in range(WARMUP + STEPS):
        start = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        backward_start = time.perf_counter()
        loss.backward()
        backward_end = time.perf_counter()
        opt.step()
        end = time.perf_counter()
        if step >= WARMUP:
            step_times.append(end - start)
            backward_times.append(backward_end - backward_start)
            if use_ddp:
                stats.append(model._get_ddp_logging_data())
    if rank == 0:
        step_time = float(np.median(step_times))
        result = {"ranks": world, "step_ms": 1e3 * step_time, "samples_per_s": world * BATCH / step_time,
                  "backward_ms": 1e3 * float(np.median(backward_times))}
        if stats:
            result.update({key + "_ms": 1e3 * float(np.median([s[key] for s in stats]))
                           for key in ("comm", "overlap", "wait")})
        print(json.dumps(result), flush=True)


def _run(nproc: int, ddp: bool, bucket_cap_mb: float | None = None) -> dict:
    """Rank 0's timings; without ``ddp`` the ranks train separate models side by side."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    command = [sys.executable, "-m", "chainrule.distributed.run", "-n", str(nproc), "-m", "benchmarks.distributed",
               "--worker"] + (["--ddp"] if ddp else []) + ([f"--bucket-mb={bucket_cap_mb}"] if bucket_cap_mb else [])
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[0])
    if not ddp:
        result.update(ranks=nproc, samples_per_s=nproc * result["samples_per_s"])
    return result


def main() -> None:
    import chainrule.distributed as dist

    if not dist.is_available():
        print("\nDistributedDataParallel scaling: skipped (pip install 'chainrule[distributed]')")
        return
    # NOTE: this machine's speed drifts by 10-20% from one minute to the next, so the configurations run in turn,
    # ROUNDS times, and each keeps its fastest round (the one least disturbed). DDP runs with torch's default
    # 25 MB buckets, where the last bucket holds the two first layers (7.2 MB) and starts only when backward
    # ends, and with 4 MB buckets, where only the first layer's 3.2 MB is left to all-reduce after backward.
    configs = {"1 rank": (1, False, None), "2 ranks, no communication": (2, False, None),
               "2 ranks, DDP": (2, True, None), "2 ranks, DDP, 4 MB buckets": (2, True, 4)}
    rounds = [[_run(*config) for config in configs.values()] for _ in range(ROUNDS)]
    best = dict(zip(configs, (max(runs, key=lambda r: r["samples_per_s"]) for runs in zip(*rounds))))
    one = best["1 rank"]
    print(f"\nDistributedDataParallel scaling: MLP {'-'.join(map(str, SIZES))}, float32, batch {BATCH} per rank, "
          f"one BLAS thread per rank, best of {ROUNDS} interleaved rounds")
    for label, r in best.items():
        print(f"  {label:<27} {r['step_ms']:8.1f} ms/step  {r['samples_per_s']:8.0f} samples/s  "
              f"backward {r['backward_ms']:.1f} ms  speed-up {r['samples_per_s'] / one['samples_per_s']:.2f}x")
    for label in ("2 ranks, DDP", "2 ranks, DDP, 4 MB buckets"):
        r = best[label]
        hidden, of_backward = r["overlap_ms"] / r["comm_ms"], r["overlap_ms"] / r["backward_ms"]
        print(f"  {label}: all-reduce {r['comm_ms']:.1f} ms per step, {r['overlap_ms']:.1f} ms of it during "
              f"backward (hidden {hidden:.0%}, of backward {of_backward:.0%}), exposed wait {r['wait_ms']:.1f} ms")

if __name__ == "__main__":
    if "--worker" in sys.argv:
        sizes = [float(arg.split("=", 1)[1]) for arg in sys.argv if arg.startswith("--bucket-mb=")]
        worker(use_ddp="--ddp" in sys.argv, bucket_cap_mb=sizes[0] if sizes else None)
    else:
        main()
