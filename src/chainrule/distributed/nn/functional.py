"""Differentiable collectives, as ``torch.distributed.nn.functional``: they return new tensors and backpropagate.

Each backward is the collective's transpose, itself a collective: the gradient of a sum all-reduce is a sum
all-reduce, of a broadcast a reduce to the source, of an all-gather a reduce-scatter, of an all-to-all the
all-to-all back. Every rank must call backward, since the backward is collective too.

Example::

    >>> x = chainrule.randn(4, requires_grad=True)
    >>> total = chainrule.distributed.nn.functional.all_reduce(x)   # sum over the ranks
    >>> total.sum().backward()    # x.grad == world_size on every rank
"""

from __future__ import annotations

from ...autograd.function import Function
from ...creation import zeros_like
from .. import collectives
from ..collectives import ReduceOp
from ..process_group import get_group


class AllReduce(Function):
    @staticmethod
    def forward(ctx, op, group, x):
        ctx.reduce_op, ctx.group = op, group
        out = x.clone()
        collectives.all_reduce(out, op, group)
        return out

    @staticmethod
    def backward(ctx, g):
        return None, None, AllReduce.apply(ctx.reduce_op, ctx.group, g)


class Broadcast(Function):
    @staticmethod
    def forward(ctx, src, group, x):
        ctx.src, ctx.group = src, group
        out = x.clone()
        collectives.broadcast(out, src, group)
        return out

    @staticmethod
    def backward(ctx, g):
        gx = g.clone()
        collectives.reduce(gx, ctx.src, ReduceOp.SUM, ctx.group)
        if get_group(ctx.group).ranks[get_group(ctx.group).rank()] != ctx.src:
            gx = zeros_like(g)
        return None, None, gx


class AllGather(Function):
    @staticmethod
    def forward(ctx, group, x):
        ctx.group = group
        outs = [zeros_like(x) for _ in range(get_group(group).size())]
        collectives.all_gather(outs, x.contiguous(), group)
        return tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        gx = zeros_like(grads[0])
        collectives.reduce_scatter(gx, [g.contiguous() for g in grads], ReduceOp.SUM, ctx.group)
        return None, gx


class AllToAll(Function):
    @staticmethod
    def forward(ctx, group, out_shapes, *xs):
        ctx.group = group
        ctx.input_shapes = [x.shape for x in xs]
        outs = [xs[0].new_zeros(shape) for shape in out_shapes]
        collectives.all_to_all(outs, list(xs), group)
        return tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        gxs = [grads[0].new_zeros(shape) for shape in ctx.input_shapes]
        collectives.all_to_all(gxs, list(grads), ctx.group)
        return (None, None, *gxs)


def all_reduce(tensor, op: ReduceOp = ReduceOp.SUM, group=None):
    """``tensor`` combined across the ranks (SUM or AVG), as a new tensor that backpropagates.

    Shapes: ``tensor`` (*), the same on every rank; returns (*).
    """
    if op not in (ReduceOp.SUM, ReduceOp.AVG):
        raise ValueError(f"all_reduce: only ReduceOp.SUM and ReduceOp.AVG are differentiable, got {op}")
    return AllReduce.apply(op, group, tensor)


def broadcast(tensor, src: int, group=None):
    """Rank ``src``'s ``tensor`` on every rank; the gradient flows back to ``src`` (summed over the ranks)."""
    return Broadcast.apply(src, group, tensor)


def all_gather(tensor, group=None) -> tuple:
    """A tuple of every rank's ``tensor``, in rank order; each rank's gradient comes back to it, summed."""
    return AllGather.apply(group, tensor)


def all_to_all(output_tensor_list: list, input_tensor_list: list, group=None) -> tuple:
    """Rank ``r``'s ``input_tensor_list[j]`` as rank ``j``'s ``r``-th output; returns the outputs as a tuple.

    ``output_tensor_list`` gives the received shapes (its values are not used, as torch).
    """
    return AllToAll.apply(group, [t.shape for t in output_tensor_list], *input_tensor_list)
