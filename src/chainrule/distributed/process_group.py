"""Process groups on MPI: joining the job, who is who, sub-groups, and ending the job when a rank fails.

MPI is imported on ``init_process_group`` only (importing ``mpi4py.MPI`` starts MPI), so ``import chainrule``
stays free of it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback

_DEFAULT_GROUP_MESSAGE = ("Default process group has not been initialized, please make sure to call "
                          "init_process_group.")
_ABORT_CODE = 1
# NOTE: the variables the MPI launchers (MPICH/Intel Hydra, Open MPI, Slurm's srun) set in each rank;
# SLURM_NTASKS would not do, since a batch script has it before srun starts any rank.
_LAUNCHER_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS")


class ProcessGroup:
    """A set of ranks that run collectives together: an MPI communicator and the global ranks in it.

    ``rank()`` and ``size()`` are this process's rank within the group and the group's size, as torch's.
    """

    def __init__(self, comm, ranks: list[int]):
        self.comm = comm
        self.ranks = ranks

    def rank(self) -> int:
        return self.comm.Get_rank()

    def size(self) -> int:
        return self.comm.Get_size()

    def group_rank(self, global_rank: int, op: str) -> int:
        """The rank within this group of the process ``global_rank`` (torch's collectives take global ranks)."""
        try:
            return self.ranks.index(global_rank)
        except ValueError:
            raise ValueError(f"{op}: rank {global_rank} is not part of the group (its ranks are {self.ranks})") \
                from None

    def __repr__(self) -> str:
        return f"ProcessGroup(backend='mpi', ranks={self.ranks})"


class group:
    """``group.WORLD``: the default group of every rank (None before ``init_process_group``), as torch's."""

    WORLD: ProcessGroup | None = None


class GroupMember:
    """``GroupMember.NON_GROUP_MEMBER``: what ``new_group`` returns on ranks left out of the new group."""

    WORLD = None
    NON_GROUP_MEMBER = object()


def is_available() -> bool:
    """Whether this installation can run distributed: mpi4py (``pip install 'chainrule[distributed]'``)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_initialized() -> bool:
    """Whether ``init_process_group`` has been called (and not undone by ``destroy_process_group``)."""
    return group.WORLD is not None


def is_mpi_available() -> bool:
    """The MPI backend is the only one, so the same as :func:`is_available`."""
    return is_available()


def launched_by_mpi() -> bool:
    """Whether this process was started by an MPI launcher (``mpiexec``, ``srun``) as one of several ranks."""
    return any(int(os.environ.get(name, "1") or 1) > 1 for name in _LAUNCHER_SIZE_VARIABLES)


def init_process_group(backend: str | None = "mpi", init_method=None, timeout=None, world_size: int = -1,
                       rank: int = -1, store=None, group_name: str = "", pg_options=None, device_id=None) -> None:
    """Join the job started by ``mpiexec`` (or ``srun``) as the default process group, as ``torch.distributed``.

    MPI knows each process's rank and the world size, so no arguments are needed; ``world_size`` and ``rank``,
    when given, are checked against MPI's. ``init_method``, ``store`` and ``timeout`` have no MPI meaning: the
    launcher connects the ranks (give ``python -m chainrule.distributed.run --timeout`` a limit for the whole job).
    Run without a launcher, the process is a world of one.

    Also installs an exception hook that aborts the whole job when this rank dies of an uncaught exception,
    so the other ranks never wait forever in a collective.

    Example::

        $ python -m chainrule.distributed.run -n 2 train.py
        # in train.py
        >>> import chainrule.distributed as dist
        >>> dist.init_process_group()
        >>> dist.get_rank(), dist.get_world_size()
        (0, 2)
    """
    if backend not in (None, "mpi"):
        raise ValueError(f"init_process_group: chainrule runs on MPI only, so backend must be 'mpi' (or None), "
                         f"got {backend!r}")
    if is_initialized():
        raise ValueError("trying to initialize the default process group twice!")
    if not is_available():
        raise RuntimeError("init_process_group: chainrule.distributed needs mpi4py and an MPI: "
                           "pip install 'chainrule[distributed]'")
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    for name, given, actual in (("world_size", world_size, comm.Get_size()), ("rank", rank, comm.Get_rank())):
        if given not in (-1, None) and given != actual:
            raise ValueError(f"init_process_group: {name}={given} but the MPI launcher started this process with "
                             f"{name} {actual}; leave it out (MPI knows it)")
    comm.Set_errhandler(MPI.ERRORS_RETURN)
    group.WORLD = GroupMember.WORLD = ProcessGroup(comm, list(range(comm.Get_size())))
    _install_abort_hook(comm)


def destroy_process_group(group_: ProcessGroup | None = None) -> None:
    """Leave the default group (``group_`` None) or free a sub-group's communicator."""
    if group_ is None or group_ is group.WORLD:
        group.WORLD = GroupMember.WORLD = None
        sys.excepthook = sys.__excepthook__
    elif group_ is not GroupMember.NON_GROUP_MEMBER:
        group_.comm.Free()


def get_group(group_: ProcessGroup | None) -> ProcessGroup:
    """``group_`` or the default group; raises torch's error before ``init_process_group``."""
    if group.WORLD is None:
        raise ValueError(_DEFAULT_GROUP_MESSAGE)
    return group.WORLD if group_ is None else group_


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (default: the world), or -1 if it is not in ``group``."""
    pg = get_group(group)
    return -1 if pg is GroupMember.NON_GROUP_MEMBER else pg.rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    """The number of ranks in ``group`` (default: the world), or -1 if this process is not in ``group``."""
    pg = get_group(group)
    return -1 if pg is GroupMember.NON_GROUP_MEMBER else pg.size()


def get_backend(group: ProcessGroup | None = None) -> str:
    get_group(group)
    return "mpi"


def new_group(ranks: list[int] | None = None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization=False, group_desc=None) -> ProcessGroup:
    """A group of the global ``ranks`` (default: all). Every rank of the world must call it, as in torch.

    Ranks outside ``ranks`` get ``GroupMember.NON_GROUP_MEMBER``; collectives on it are no-ops there.
    """
    world = get_group(None)
    ranks = sorted(set(range(world.size()) if ranks is None else ranks))
    for r in ranks:
        if not 0 <= r < world.size():
            raise ValueError(f"new_group: rank {r} is out of range for a world of size {world.size()}")
    from mpi4py import MPI

    member = world.rank() in ranks
    comm = world.comm.Split(0 if member else MPI.UNDEFINED, world.rank())
    if not member:
        return GroupMember.NON_GROUP_MEMBER
    comm.Set_errhandler(MPI.ERRORS_RETURN)
    return ProcessGroup(comm, ranks)


def _install_abort_hook(comm) -> None:
    """Print the uncaught exception, then abort every rank: the others may be blocked in a collective."""
    if comm.Get_size() == 1:
        return

    def abort_job(exc_type, exc, tb):
        try:
            # NOTE: one write, flushed before the abort: mpiexec may stop forwarding a rank's output as soon as
            # the job is aborted, and a traceback printed in pieces was sometimes cut after its first line.
            text = "".join(traceback.format_exception(exc_type, exc, tb))
            sys.stderr.write(f"chainrule.distributed: rank {comm.Get_rank()} raised an uncaught exception; "
                             f"aborting the job\n{text}")
            sys.stderr.flush()
        finally:
            comm.Abort(_ABORT_CODE)

    sys.excepthook = abort_job
