"""DistributedDataParallel: one model replica per rank, gradients averaged during backward, as torch's."""

from __future__ import annotations

import contextlib

from ... import _state
from ...autograd.graph import edge_source
from ...distributed.debug import describe
from ...distributed.process_group import get_group
from ...func.pytree import tree_leaves
from ...tensor import Tensor
from ..modules.module import Module
from .reducer import Reducer


class DistributedDataParallel(Module):
    """Train ``module`` data-parallel: each rank runs its own batch, backward averages the gradients over the ranks.

    At construction the ranks check that their parameters agree in names, shapes and dtypes, and copy rank 0's
    parameters and buffers to all. During ``backward()`` gradients are all-reduced in buckets of
    ``bucket_cap_mb`` megabytes, each started (non-blocking) as soon as its gradients are accumulated, so the
    communication overlaps the rest of the backward pass; when ``backward()`` returns, every rank holds the
    average of the ranks' gradients and any optimizer can step. With a batch of ``b`` per rank on ``N`` ranks
    this is the same update as one process on the ``N * b`` samples when the loss is a mean.

    Args:
        module: the model; every rank builds the same architecture.
        broadcast_buffers: copy rank 0's buffers (e.g. BatchNorm's running statistics) to all ranks at the start
            of every forward.
        process_group: the ranks to average over (default: the world).
        bucket_cap_mb: the bucket size in megabytes (default 25, as torch).
        find_unused_parameters: find, after each forward, the parameters its output does not depend on and
            count them as ready, so a forward that skips some parameters does not stall the reduction.
        gradient_as_bucket_view: after each reduction, every ``.grad`` is a view of its slice of the
            communication buffer instead of a copy (saves a copy per step, and with
            ``zero_grad(set_to_none=False)`` the gradients accumulate straight into the buffer); the view is
            overwritten by the next synchronised backward, as in torch.
        device_ids, output_device, dim, check_reduction, static_graph: accepted for torch compatibility; they
            change nothing on the CPU.

    Shapes: the inputs and output are those of ``module`` (a batch of this rank's samples).

    Example::

        >>> dist.init_process_group()
        >>> model = DistributedDataParallel(nn.Linear(10, 1))
        >>> opt = chainrule.optim.SGD(model.parameters(), lr=0.1)
        >>> loss = model(x).pow(2).mean()    # x: this rank's batch
        >>> loss.backward()                  # gradients averaged over the ranks
        >>> opt.step()
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group=None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False):
        super().__init__()
        self.module = module
        self.process_group = get_group(process_group)
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        named = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        self._verify_same_across_ranks(module)
        self._broadcast([p for _, p in module.named_parameters()] + list(module.buffers()))
        cap = 25 if bucket_cap_mb is None else bucket_cap_mb
        self.reducer = Reducer([p for _, p in named], {id(p): name for name, p in named}, self.process_group,
                               int(cap * 1024 * 1024), as_view=gradient_as_bucket_view)

    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers:
            self._broadcast(list(self.module.buffers()))
        out = self.module(*inputs, **kwargs)
        if _state.grad_enabled and self.require_backward_grad_sync:
            self.reducer.prepare(self._unused_parameters(out) if self.find_unused_parameters else None)
        return out

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward only accumulates gradients locally; the first synced backward averages the total.

        Example::

            >>> with model.no_sync():
            ...     model(x1).sum().backward()   # no communication
            >>> model(x2).sum().backward()       # averages the gradients of x1 and x2
        """
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def _get_ddp_logging_data(self) -> dict:
        """The last reduction's timings in seconds: ``comm`` (first start to last completion), ``overlap`` (the
        part of it during backward) and ``wait`` (the exposed rest), as in torch's logging data."""
        return dict(self.reducer.stats)

    def _broadcast(self, tensors: list) -> None:
        comm = self.process_group.comm
        root = 0
        for t in tensors:
            comm.Bcast(t._data, root=root)
            t._counter()[0] += 1

    def _verify_same_across_ranks(self, module: Module) -> None:
        pg = self.process_group
        mine = [(name, describe(t._data)) for name, t in list(module.named_parameters()) +
                list(module.named_buffers())]
        for r, theirs in enumerate(pg.comm.allgather(mine)):
            if theirs == mine:
                continue
            for (name_a, meta_a), (name_b, meta_b) in zip(mine, theirs):
                if (name_a, meta_a) != (name_b, meta_b):
                    raise RuntimeError(f"DistributedDataParallel: the ranks' models differ: {name_a} has {meta_a} "
                                       f"on rank {pg.ranks[pg.rank()]} but {name_b} has {meta_b} on rank "
                                       f"{pg.ranks[r]}; build the same model on every rank")
            raise RuntimeError(f"DistributedDataParallel: the ranks' models differ: rank {pg.ranks[pg.rank()]} has "
                               f"{len(mine)} parameters and buffers, rank {pg.ranks[r]} has {len(theirs)}")

    def _unused_parameters(self, out) -> set:
        """ids of the parameters that the forward's output does not depend on (an iterative graph walk)."""
        reached, seen = set(), set()
        stack = [t.grad_fn for t in tree_leaves(out) if isinstance(t, Tensor) and t.grad_fn is not None]
        for t in tree_leaves(out):
            if isinstance(t, Tensor) and t.grad_fn is None:
                reached.add(id(t))
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            for edge in node.next:
                source = edge_source(edge)
                if source is not None:
                    stack.append(source[0])
                elif edge is not None:
                    reached.add(id(edge))
        return {key for key in self.reducer.where if key not in reached}
