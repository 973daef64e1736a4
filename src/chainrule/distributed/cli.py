"""What ``chainrule train --nproc N`` needs: starting N ranks, and each rank's part in the data-parallel run.

With ``N == 1`` every method of :class:`DataParallelRun` is the single-process behaviour, so the command has
one training loop for both.
"""

from __future__ import annotations

import contextlib
import math
import os

from ..nn.parallel import DistributedDataParallel
from .process_group import get_group, get_rank, get_world_size, init_process_group, launched_by_mpi
from .run import launch


def relaunch(parser, args, nproc: int) -> int | None:
    """Start ``python -m chainrule <command> <the same options>`` on ``nproc`` ranks, unless this process is
    already one of them (or ``nproc`` is 1); returns the job's exit status, or None to go on here."""
    if nproc == 1 or launched_by_mpi():
        return None
    argv = []
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        if action.option_strings and value is not None and value != action.default:
            argv += [action.option_strings[-1], str(value)]
    return launch(nproc, ["-m", "chainrule", parser.prog.split()[-1], "--nproc", str(nproc), *argv])


class DataParallelRun:
    """This rank's part in a run on ``nproc`` ranks: a shard of the data, a DDP model, rank 0 alone reporting.

    ``batch_size`` stays the global batch (split over the ranks), so a run takes the same steps, and reaches
    the same accuracy, whatever ``nproc`` is; checkpoints hold the plain model and resume with any ``nproc``.
    """

    def __init__(self, nproc: int):
        self.nproc = nproc
        self.sampler = None
        self.rank = 0
        if nproc > 1:
            init_process_group()
            if get_world_size() != nproc:
                raise RuntimeError(f"--nproc {nproc} but MPI started {get_world_size()} ranks")
            self.rank = get_rank()
        self.is_main = self.rank == 0

    def loader(self, cr, dataset, batch_size: int, generator, seed: int):
        """A DataLoader over this rank's shard (reshuffled by ``set_epoch``), or over everything when alone."""
        if self.nproc == 1:
            return cr.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator)
        self.sampler = cr.utils.data.DistributedSampler(dataset, seed=seed)
        return cr.utils.data.DataLoader(dataset, batch_size=math.ceil(batch_size / self.nproc),
                                        sampler=self.sampler)

    def wrap(self, model):
        if self.nproc == 1:
            return model
        return DistributedDataParallel(model)

    def set_epoch(self, epoch: int) -> None:
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)

    def sum(self, *values: float) -> tuple:
        """Each value summed over the ranks (per-rank shares of an epoch's mean loss and accuracy)."""
        if self.nproc == 1:
            return values
        return tuple(get_group(None).comm.allreduce(value) for value in values)

    @contextlib.contextmanager
    def only_main_speaks(self):
        """Silence stdout and stderr on every rank but 0 (an uncaught error still prints: it leaves the block)."""
        if self.is_main:
            yield
            return
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull), \
                contextlib.redirect_stderr(devnull):
            yield
