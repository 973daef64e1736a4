"""Collectives and point-to-point messages on tensors, as ``torch.distributed``'s, over MPI's non-blocking calls.

Every operation starts MPI's non-blocking form and returns a :class:`Work`; ``async_op=False`` (the default)
waits on it at once, so the blocking and asynchronous paths are the same code. Results land in the callers'
tensors in place. Ranks arguments (``src``, ``dst``) are global ranks, as in torch. On a rank outside
``group`` a collective does nothing and returns None.
"""

from __future__ import annotations

import enum

from .._backend import xp
from ..tensor import Tensor
from .debug import check_same, describe
from .process_group import GroupMember, ProcessGroup, get_group
from .work import Work


class ReduceOp(enum.Enum):
    """How ``all_reduce``, ``reduce`` and ``reduce_scatter`` combine the ranks' values (``torch.distributed.ReduceOp``).

    ``AVG`` is the sum divided by the group's size, for floating tensors only.
    """

    SUM = "SUM"
    AVG = "AVG"
    PRODUCT = "PRODUCT"
    MIN = "MIN"
    MAX = "MAX"
    BAND = "BAND"
    BOR = "BOR"
    BXOR = "BXOR"


_MPI_OP_NAMES = {ReduceOp.SUM: "SUM", ReduceOp.AVG: "SUM", ReduceOp.PRODUCT: "PROD", ReduceOp.MIN: "MIN",
                 ReduceOp.MAX: "MAX", ReduceOp.BAND: "BAND", ReduceOp.BOR: "BOR", ReduceOp.BXOR: "BXOR"}


def _mpi():
    from mpi4py import MPI
    return MPI


# -- arguments ------------------------------------------------------------------------------------------------

def _member(group) -> ProcessGroup | None:
    pg = get_group(group)
    return None if pg is GroupMember.NON_GROUP_MEMBER else pg


def _array(tensor, op: str, what: str = "tensor") -> xp.ndarray:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: {what} must be a chainrule Tensor, got {type(tensor).__name__}")
    return tensor._data


def _arrays(tensors, op: str, what: str, size: int, like: xp.ndarray) -> list:
    """The arrays of a list of ``size`` tensors, each of ``like``'s shape and dtype."""
    if not isinstance(tensors, (list, tuple)) or len(tensors) != size:
        got = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ValueError(f"{op}: {what} must be a list of {size} tensors (one per rank), got {got}")
    arrays = [_array(t, op, what) for t in tensors]
    for i, a in enumerate(arrays):
        if a.shape != like.shape or a.dtype != like.dtype:
            raise ValueError(f"{op}: {what}[{i}] has {describe(a)}, expected {describe(like)} as the tensor")
    return arrays


def _mpi_op(op, array: xp.ndarray, name: str):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{name}: op must be a ReduceOp (SUM, AVG, PRODUCT, MIN, MAX, ...), got {op!r}")
    if op is ReduceOp.AVG and array.dtype.kind != "f":
        raise ValueError(f"{name}: ReduceOp.AVG needs a floating tensor, got {array.dtype}; use SUM and divide")
    return getattr(_mpi(), _MPI_OP_NAMES[op])


def _contiguous(array: xp.ndarray) -> xp.ndarray:
    return array if array.flags.c_contiguous else xp.ascontiguousarray(array)


def _store(tensors, arrays) -> None:
    """Put results computed in ``arrays`` into ``tensors`` (a no-op where MPI wrote the tensor's own memory)."""
    for t, a in zip(tensors, arrays):
        if a is not t._data:
            t._data[...] = a.reshape(t._data.shape)
        t._counter()[0] += 1


def _run(work: Work, async_op: bool):
    if async_op:
        return work
    work.wait()
    return None


def _finisher(tensors, arrays, avg_over: int = 0, then=None):
    """Once MPI is done: divide by ``avg_over`` (for ``AVG``), store ``arrays`` into ``tensors``, call ``then()``."""
    def finish():
        if avg_over:
            for a in arrays:
                xp.divide(a, avg_over, out=a)
        _store(tensors, arrays)
        if then is not None:
            then()
    return finish


# -- reductions -----------------------------------------------------------------------------------------------

def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: ProcessGroup | None = None,
               async_op: bool = False):
    """Combine ``tensor`` across the ranks with ``op``; every rank gets the result in ``tensor`` (in place).

    Shapes: ``tensor`` any shape, the same on every rank.

    Example::

        >>> t = chainrule.tensor([1.0, 2.0]) * (dist.get_rank() + 1)   # on 2 ranks
        >>> dist.all_reduce(t)
        >>> t
        tensor([3., 6.])
    """
    pg = _member(group)
    if pg is None:
        return None
    x = _array(tensor, "all_reduce")
    mpi_op = _mpi_op(op, x, "all_reduce")
    check_same(pg, "all_reduce", describe(x), op.name)
    return _run(start_all_reduce(pg, tensor, mpi_op, pg.size() if op is ReduceOp.AVG else 0), async_op)


def start_all_reduce(pg: ProcessGroup, tensor: Tensor, mpi_op, avg_over: int = 0, then=None) -> Work:
    """Start an unchecked in-place all-reduce of ``tensor`` (``DistributedDataParallel`` calls this per bucket);
    ``then()`` runs once the result is in ``tensor``, in whichever thread sees the collective complete."""
    buf = _contiguous(tensor._data)
    request = pg.comm.Iallreduce(_mpi().IN_PLACE, buf, op=mpi_op)
    return Work([request], _finisher([tensor], [buf], avg_over, then), [tensor])


def reduce(tensor: Tensor, dst: int, op: ReduceOp = ReduceOp.SUM, group: ProcessGroup | None = None,
           async_op: bool = False):
    """Combine ``tensor`` across the ranks with ``op`` into rank ``dst``'s ``tensor``; the others keep theirs."""
    pg = _member(group)
    if pg is None:
        return None
    x = _array(tensor, "reduce")
    mpi_op = _mpi_op(op, x, "reduce")
    root = pg.group_rank(dst, "reduce")
    check_same(pg, "reduce", describe(x), op.name, f"dst {dst}")
    buf = _contiguous(x)
    if pg.rank() == root:
        request = pg.comm.Ireduce(_mpi().IN_PLACE, buf, op=mpi_op, root=root)
        finish = _finisher([tensor], [buf], pg.size() if op is ReduceOp.AVG else 0)
    else:
        request = pg.comm.Ireduce(buf, None, op=mpi_op, root=root)
        finish = None
    return _run(Work([request], finish, [tensor]), async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM,
                          group: ProcessGroup | None = None, async_op: bool = False):
    """Reduce ``input`` across the ranks and give rank ``r`` the ``r``-th of ``world_size`` equal chunks.

    Shapes: ``input`` (world_size * n, ...) or (world_size, n, ...); ``output`` n elements per chunk, e.g. (n, ...).
    """
    pg = _member(group)
    if pg is None:
        return None
    out, x = _array(output, "reduce_scatter_tensor", "output"), _array(input, "reduce_scatter_tensor", "input")
    if x.size != out.size * pg.size() or x.dtype != out.dtype:
        raise ValueError(f"reduce_scatter_tensor: input ({describe(x)}) must hold world_size={pg.size()} times "
                         f"the output ({describe(out)}), with the same dtype")
    return _run(_reduce_scatter(pg, output, _contiguous(x), op, "reduce_scatter_tensor"), async_op)


def reduce_scatter(output: Tensor, input_list: list, op: ReduceOp = ReduceOp.SUM,
                   group: ProcessGroup | None = None, async_op: bool = False):
    """Reduce ``input_list[r]`` across the ranks into rank ``r``'s ``output``.

    Shapes: ``input_list`` world_size tensors of ``output``'s shape.
    """
    pg = _member(group)
    if pg is None:
        return None
    out = _array(output, "reduce_scatter", "output")
    xs = _arrays(input_list, "reduce_scatter", "input_list", pg.size(), out)
    return _run(_reduce_scatter(pg, output, xp.stack(xs), op, "reduce_scatter"), async_op)


def _reduce_scatter(pg: ProcessGroup, output: Tensor, send: xp.ndarray, op: ReduceOp, name: str) -> Work:
    mpi_op = _mpi_op(op, send, name)
    check_same(pg, name, describe(send), op.name)
    recv = _contiguous(output._data)
    request = pg.comm.Ireduce_scatter_block(send, recv, op=mpi_op)
    return Work([request], _finisher([output], [recv], pg.size() if op is ReduceOp.AVG else 0), [output])


# -- copies ---------------------------------------------------------------------------------------------------

def broadcast(tensor: Tensor, src: int, group: ProcessGroup | None = None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor`` (same shape and dtype everywhere)."""
    pg = _member(group)
    if pg is None:
        return None
    x = _array(tensor, "broadcast")
    root = pg.group_rank(src, "broadcast")
    check_same(pg, "broadcast", describe(x), f"src {src}")
    buf = _contiguous(x)
    request = pg.comm.Ibcast(buf, root=root)
    return _run(Work([request], _finisher([tensor], [buf]), [tensor]), async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group: ProcessGroup | None = None,
                           async_op: bool = False):
    """Every rank gets all ranks' ``input_tensor``, in rank order, in ``output_tensor``.

    Shapes: ``input_tensor`` (n, ...), ``output_tensor`` (world_size * n, ...) or (world_size, n, ...).
    """
    pg = _member(group)
    if pg is None:
        return None
    out = _array(output_tensor, "all_gather_into_tensor", "output_tensor")
    x = _array(input_tensor, "all_gather_into_tensor", "input_tensor")
    if out.size != x.size * pg.size() or x.dtype != out.dtype:
        raise ValueError(f"all_gather_into_tensor: output_tensor ({describe(out)}) must hold world_size="
                         f"{pg.size()} times the input_tensor ({describe(x)}), with the same dtype")
    recv = _contiguous(out)
    return _run(_all_gather(pg, x, recv, _finisher([output_tensor], [recv]), [output_tensor],
                            "all_gather_into_tensor"), async_op)


def all_gather(tensor_list: list, tensor: Tensor, group: ProcessGroup | None = None, async_op: bool = False):
    """Every rank gets rank ``r``'s ``tensor`` in ``tensor_list[r]``.

    Shapes: ``tensor`` the same on every rank; ``tensor_list`` world_size tensors of that shape.
    """
    pg = _member(group)
    if pg is None:
        return None
    x = _array(tensor, "all_gather")
    _arrays(tensor_list, "all_gather", "tensor_list", pg.size(), x)
    recv = xp.empty((pg.size(),) + x.shape, dtype=x.dtype)
    return _run(_all_gather(pg, x, recv, _finisher(tensor_list, list(recv)), list(tensor_list), "all_gather"),
                async_op)


def _all_gather(pg: ProcessGroup, x: xp.ndarray, recv: xp.ndarray, finish, outputs: list, name: str) -> Work:
    check_same(pg, name, describe(x))
    request = pg.comm.Iallgather(_contiguous(x), recv)
    return Work([request], finish, outputs)


def gather(tensor: Tensor, gather_list: list | None = None, dst: int = 0, group: ProcessGroup | None = None,
           async_op: bool = False):
    """Rank ``dst`` gets rank ``r``'s ``tensor`` in ``gather_list[r]``; the others pass ``gather_list=None``."""
    pg = _member(group)
    if pg is None:
        return None
    x = _array(tensor, "gather")
    root = pg.group_rank(dst, "gather")
    check_same(pg, "gather", describe(x), f"dst {dst}")
    if pg.rank() == root:
        _arrays(gather_list, "gather", "gather_list", pg.size(), x)
        recv = xp.empty((pg.size(),) + x.shape, dtype=x.dtype)
        request = pg.comm.Igather(_contiguous(x), recv, root=root)
        return _run(Work([request], _finisher(gather_list, list(recv)), list(gather_list)), async_op)
    if gather_list:
        raise ValueError(f"gather: gather_list must be None (or empty) on rank {pg.ranks[pg.rank()]}, "
                         f"which is not dst={dst}")
    request = pg.comm.Igather(_contiguous(x), None, root=root)
    return _run(Work([request]), async_op)


def scatter(tensor: Tensor, scatter_list: list | None = None, src: int = 0, group: ProcessGroup | None = None,
            async_op: bool = False):
    """Rank ``r`` gets rank ``src``'s ``scatter_list[r]`` in ``tensor``; the others pass ``scatter_list=None``."""
    pg = _member(group)
    if pg is None:
        return None
    out = _array(tensor, "scatter")
    root = pg.group_rank(src, "scatter")
    check_same(pg, "scatter", describe(out), f"src {src}")
    send = None
    if pg.rank() == root:
        send = xp.stack(_arrays(scatter_list, "scatter", "scatter_list", pg.size(), out))
    elif scatter_list:
        raise ValueError(f"scatter: scatter_list must be None (or empty) on rank {pg.ranks[pg.rank()]}, "
                         f"which is not src={src}")
    recv = _contiguous(out)
    request = pg.comm.Iscatter(send, recv, root=root)
    return _run(Work([request], _finisher([tensor], [recv]), [tensor]), async_op)


def all_to_all(output_tensor_list: list, input_tensor_list: list, group: ProcessGroup | None = None,
               async_op: bool = False):
    """Rank ``r`` sends ``input_tensor_list[j]`` to rank ``j``, which receives it in ``output_tensor_list[r]``.

    Shapes: world_size tensors each; sizes may differ per pair but must agree between sender and receiver.
    """
    pg = _member(group)
    if pg is None:
        return None
    size = pg.size()
    for name, tensors in (("output_tensor_list", output_tensor_list), ("input_tensor_list", input_tensor_list)):
        if not isinstance(tensors, (list, tuple)) or len(tensors) != size:
            raise ValueError(f"all_to_all: {name} must be a list of {size} tensors (one per rank)")
    outs = [_array(t, "all_to_all", "output_tensor_list") for t in output_tensor_list]
    xs = [_array(t, "all_to_all", "input_tensor_list") for t in input_tensor_list]
    send = xp.concatenate([x.ravel() for x in xs])
    recv = xp.empty(sum(o.size for o in outs), dtype=send.dtype)
    splits = xp.cumsum([o.size for o in outs])[:-1]
    return _run(_all_to_all(pg, send, [x.size for x in xs], recv, [o.size for o in outs],
                            _finisher(output_tensor_list, xp.split(recv, splits)), list(output_tensor_list)),
                async_op)


def all_to_all_single(output: Tensor, input: Tensor, output_split_sizes: list | None = None,
                      input_split_sizes: list | None = None, group: ProcessGroup | None = None,
                      async_op: bool = False):
    """``all_to_all`` on one tensor split along dim 0 (equally, or by the given split sizes) into world_size parts."""
    pg = _member(group)
    if pg is None:
        return None
    out, x = _array(output, "all_to_all_single", "output"), _array(input, "all_to_all_single", "input")
    row_out = out.size // max(out.shape[0], 1) if out.ndim else 1
    row_in = x.size // max(x.shape[0], 1) if x.ndim else 1
    send_counts = _split_counts(x, input_split_sizes, pg.size(), "input") * row_in
    recv_counts = _split_counts(out, output_split_sizes, pg.size(), "output") * row_out
    recv = _contiguous(out)
    return _run(_all_to_all(pg, _contiguous(x), list(send_counts), recv, list(recv_counts),
                            _finisher([output], [recv]), [output]), async_op)


def _split_counts(array: xp.ndarray, split_sizes, size: int, what: str) -> xp.ndarray:
    rows = array.shape[0] if array.ndim else 1
    if split_sizes is None:
        if rows % size:
            raise ValueError(f"all_to_all_single: the {what}'s first dimension ({rows}) must divide by world_size "
                             f"{size}, or give {what}_split_sizes")
        return xp.full(size, rows // size)
    if len(split_sizes) != size or sum(split_sizes) != rows:
        raise ValueError(f"all_to_all_single: {what}_split_sizes {list(split_sizes)} must have {size} entries "
                         f"summing to the {what}'s first dimension {rows}")
    return xp.asarray(split_sizes)


def _all_to_all(pg: ProcessGroup, send: xp.ndarray, send_counts: list, recv: xp.ndarray, recv_counts: list,
                finish, outputs: list) -> Work:
    check_same(pg, "all_to_all", str(send.dtype))
    send_displs = [0, *xp.cumsum(send_counts)[:-1].tolist()]
    recv_displs = [0, *xp.cumsum(recv_counts)[:-1].tolist()]
    request = pg.comm.Ialltoallv([send, ([int(c) for c in send_counts], send_displs)],
                                 [recv, ([int(c) for c in recv_counts], recv_displs)])
    return Work([request], finish, outputs)


def barrier(group: ProcessGroup | None = None, async_op: bool = False, device_ids=None):
    """Wait until every rank of ``group`` has reached this call."""
    pg = _member(group)
    if pg is None:
        return None
    return _run(Work([pg.comm.Ibarrier()]), async_op)


# -- point to point -------------------------------------------------------------------------------------------

def isend(tensor: Tensor, dst: int, group: ProcessGroup | None = None, tag: int = 0) -> Work:
    """Start sending ``tensor`` to rank ``dst``; the returned Work's ``wait()`` says when it may be changed."""
    pg = get_group(group)
    x = _contiguous(_array(tensor, "send"))
    return Work([pg.comm.Isend(x, dest=pg.group_rank(dst, "send"), tag=tag)])


def send(tensor: Tensor, dst: int, group: ProcessGroup | None = None, tag: int = 0) -> None:
    """Send ``tensor`` to rank ``dst``, which must ``recv`` a tensor of the same shape and dtype."""
    isend(tensor, dst, group, tag).wait()


def irecv(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None, tag: int = 0) -> Work:
    """Start receiving into ``tensor`` from rank ``src`` (None: any rank)."""
    pg = get_group(group)
    buf = _contiguous(_array(tensor, "recv"))
    MPI = _mpi()
    source = MPI.ANY_SOURCE if src is None else pg.group_rank(src, "recv")
    return Work([pg.comm.Irecv(buf, source=source, tag=tag)], _finisher([tensor], [buf]), [tensor])


def recv(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None, tag: int = 0) -> int:
    """Receive into ``tensor`` from rank ``src`` (None: any rank); returns the sender's rank."""
    work = irecv(tensor, src, group, tag)
    status = _mpi().Status()
    work._requests[0].Wait(status)
    work.wait()
    return get_group(group).ranks[status.Get_source()]


# -- Python objects -------------------------------------------------------------------------------------------

def broadcast_object_list(object_list: list, src: int = 0, group: ProcessGroup | None = None, device=None) -> None:
    """Replace ``object_list``'s items on every rank by rank ``src``'s (any picklable objects)."""
    pg = _member(group)
    if pg is None:
        return
    object_list[:] = pg.comm.bcast(list(object_list), root=pg.group_rank(src, "broadcast_object_list"))


def all_gather_object(object_list: list, obj, group: ProcessGroup | None = None) -> None:
    """Fill ``object_list`` (world_size items) with every rank's ``obj``, in rank order."""
    pg = _member(group)
    if pg is None:
        return
    object_list[:] = pg.comm.allgather(obj)
