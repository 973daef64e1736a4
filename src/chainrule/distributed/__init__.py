"""``chainrule.distributed``: data-parallel training across processes and machines on MPI, as ``torch.distributed``.

Start the ranks with ``python -m chainrule.distributed.run -n 2 script.py`` (or ``mpiexec``/``srun``), call
:func:`init_process_group`, then use the collectives on tensors or wrap a model in
:class:`chainrule.nn.parallel.DistributedDataParallel`. Needs ``pip install 'chainrule[distributed]'``.
See docs/distributed.md.

Example::

    >>> import chainrule, chainrule.distributed as dist
    >>> dist.init_process_group()
    >>> t = chainrule.ones(3) * dist.get_rank()
    >>> dist.all_reduce(t, op=dist.ReduceOp.MAX)
"""

from . import nn
from .collectives import (
    ReduceOp,
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    all_to_all,
    all_to_all_single,
    barrier,
    broadcast,
    broadcast_object_list,
    gather,
    irecv,
    isend,
    recv,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
    send,
)
from .debug import DebugLevel, get_debug_level, set_debug_level
from .process_group import (
    GroupMember,
    ProcessGroup,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
    new_group,
)
from .work import Work

__all__ = ["is_available", "is_initialized", "is_mpi_available", "init_process_group", "destroy_process_group",
           "get_rank", "get_world_size", "get_backend", "new_group", "group", "GroupMember", "ProcessGroup",
           "ReduceOp", "Work", "all_reduce", "reduce", "broadcast", "all_gather", "all_gather_into_tensor",
           "reduce_scatter", "reduce_scatter_tensor", "gather", "scatter", "all_to_all", "all_to_all_single",
           "barrier", "send", "recv", "isend", "irecv", "broadcast_object_list", "all_gather_object",
           "DebugLevel", "get_debug_level", "set_debug_level", "nn"]
