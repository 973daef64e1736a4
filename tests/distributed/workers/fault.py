"""Faults: ``raise`` (rank 1 dies while rank 0 waits in a collective) or ``shapes`` (ranks disagree on a shape)."""

import sys

import chainrule as cr
import chainrule.distributed as dist

dist.init_process_group()
rank = dist.get_rank()
if sys.argv[1] == "raise":
    if rank == 1:
        raise ValueError("rank 1 fails on purpose")
    dist.all_reduce(cr.ones(3))  # NOTE: would wait forever for rank 1 without the abort hook
else:
    dist.all_reduce(cr.ones(2 + rank))
print("unreachable: the job should have ended", flush=True)
