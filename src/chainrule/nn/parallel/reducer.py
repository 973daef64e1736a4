"""Gradient buckets for DistributedDataParallel: all-reduce each bucket as soon as its gradients are accumulated.

Parameters are packed, in reverse registration order (roughly the order backward produces their gradients),
into flat buckets of one dtype and at most ``bucket_cap`` bytes (the first one smaller, so communication
starts early). A post-accumulate-grad hook on every parameter counts down its bucket; a full bucket is copied
into its flat buffer, divided by the number of ranks on the way (so the sum is the average), and its
non-blocking all-reduce started. Buckets start strictly in order, because MPI matches collectives by the order
they are called in, and backward may finish them in a different order on different ranks. A bucket whose
all-reduce is seen complete hands its gradients back at once; when the last bucket has started, the reducer
waits for the rest.

MPI implementations such as MPICH move a non-blocking collective forward only inside MPI calls, so without
help a bucket's all-reduce would mostly run in that final wait. A progress thread tests the started buckets
every millisecond while backward computes (sleeping in between, so it costs microseconds of CPU); it needs an
MPI initialised with ``MPI_THREAD_MULTIPLE`` (mpi4py's default), else the hooks test them instead.
"""

from __future__ import annotations

import functools
import threading
import time

from ..._backend import xp
from ...distributed.collectives import start_all_reduce
from ...tensor import Tensor, _wrap

FIRST_BUCKET_BYTES = 1024 * 1024
POLL_SECONDS = 1e-3


class Bucket:
    """Parameters whose gradients are all-reduced together through one flat buffer.

    With ``as_view`` (DDP's ``gradient_as_bucket_view``) the averaged gradients are left in the buffer and each
    ``.grad`` becomes a view of its slice, so unpacking copies nothing, and a gradient accumulated in place
    into that view (``zero_grad(set_to_none=False)``) is already packed. A bucket of one parameter (a large
    one: see :func:`assign_buckets`) all-reduces a contiguous gradient where it is, copying nothing either way.
    """

    def __init__(self, params: list, dtype, as_view: bool = False):
        self.params = params
        self.dtype = dtype
        self.offsets = xp.cumsum([0] + [p.numel() for p in params]).tolist()
        self.as_view = as_view
        self.in_place = False  # whether the last pack left a lone gradient to be all-reduced where it is
        self.buffer = None  # what the all-reduce runs on: the flat buffer, or that gradient's own array
        self.work = None

    @functools.cached_property
    def flat(self):
        """The flat buffer, made when first needed (a lone large gradient reduced in place never needs it)."""
        return xp.zeros(self.offsets[-1], dtype=self.dtype)

    @functools.cached_property
    def views(self) -> list:
        """Each parameter's slice of :attr:`flat`, in its shape."""
        return [self.flat[start:stop].reshape(p._data.shape)
                for p, start, stop in zip(self.params, self.offsets, self.offsets[1:])]

    def pack(self, world_size: int, in_place: bool = True) -> None:
        """Copy the gradients in, already divided by ``world_size`` (one pass: the sum is then the average);
        a lone gradient is divided where it is when ``in_place`` allows (no rank can have left it unused)."""
        self.in_place = False
        if in_place and len(self.params) == 1 and not self.as_view:
            grad = self.params[0]._grad
            array = None if grad is None else grad._data
            if (array is not None and array.__class__ is xp.ndarray and array.dtype == self.dtype
                    and array.flags.c_contiguous and array.flags.writeable):
                xp.divide(array, world_size, out=array)
                self.buffer, self.in_place = array.reshape(-1), True
                return
        self.buffer = self.flat
        for p, start, stop, view in zip(self.params, self.offsets, self.offsets[1:], self.views):
            if p._grad is None:
                self.flat[start:stop] = 0
            else:
                xp.divide(p._grad._data, world_size, out=view)

    def unpack(self, used: xp.ndarray | None = None) -> None:
        """Hand the averaged gradients to the parameters (``used``: which of them some rank used; None: all)."""
        if self.in_place:
            self.params[0]._grad._counter()[0] += 1  # NOTE: averaged where it was
            return
        for i, (p, view) in enumerate(zip(self.params, self.views)):
            if used is not None and not used[i]:
                continue  # NOTE: no rank used it, so it keeps the gradient it had, as in torch
            if p._grad is not None and p._grad._data is view:
                p._grad._counter()[0] += 1
            elif self.as_view:
                p._grad = _wrap(view)
            elif p._grad is None:
                p._grad = _wrap(view.copy())
            else:
                p._grad._data[...] = view
                p._grad._counter()[0] += 1


def assign_buckets(params: list, cap_bytes: int, first_cap_bytes: int = FIRST_BUCKET_BYTES,
                   as_view: bool = False) -> list[Bucket]:
    """Pack ``params`` (in reverse order) into buckets of one dtype and at most ``cap_bytes`` each; a parameter
    of ``first_cap_bytes`` or more has a bucket of its own, reduced in its gradient's array (no copies)."""
    buckets, open_ = [], {}  # open_: dtype -> (params, bytes) of the bucket being filled
    for p in reversed(params):
        if p._data.nbytes >= first_cap_bytes:
            # NOTE: the bucket being filled goes first, so buckets keep the order backward fills them in
            members, _ = open_.pop(p._data.dtype, ([], 0))
            buckets += [Bucket(members, p._data.dtype, as_view)] if members else []
            buckets.append(Bucket([p], p._data.dtype, as_view))
            continue
        members, size = open_.get(p._data.dtype, ([], 0))
        members.append(p)
        size += p._data.nbytes
        limit = min(first_cap_bytes, cap_bytes) if not buckets else cap_bytes
        if size >= limit:
            buckets.append(Bucket(members, p._data.dtype, as_view))
            members, size = [], 0
        open_[p._data.dtype] = (members, size)
    buckets += [Bucket(members, members[0]._data.dtype, as_view) for members, _ in open_.values() if members]
    return buckets


class Progress(threading.Thread):
    """Tests ``works`` (a list that grows as buckets start) every ``POLL_SECONDS`` until ``stop`` is set;
    ``done_at`` records when it saw each one complete."""

    def __init__(self, works: list):
        super().__init__(name="chainrule-ddp-progress", daemon=True)
        self.works = works
        self.done_at = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for work in list(self.works):
                if work not in self.done_at and work.is_completed():
                    self.done_at[work] = time.perf_counter()
            self.stop.wait(POLL_SECONDS)


class Reducer:
    """Averages the gradients of ``params`` over ``pg`` during backward, overlapping the all-reduces with it.

    ``prepare(unused)`` arms it for the next backward (``unused``: ids of parameters the forward did not use);
    ``stats`` holds the last reduction's timings (seconds): ``comm`` from the first bucket's start to the last
    one's completion, ``overlap`` the part of it before backward's last gradient, ``wait`` the time from that
    last gradient until the averaged gradients are in place (the communication backward waits for).
    """

    def __init__(self, params: list, names: dict, pg, bucket_cap_bytes: int, as_view: bool = False):
        from mpi4py import MPI

        self.pg = pg
        self.names = names
        self.sum = MPI.SUM
        self.threaded = MPI.Query_thread() == MPI.THREAD_MULTIPLE
        self.buckets = assign_buckets(params, bucket_cap_bytes, as_view=as_view)
        self.where = {id(p): (b, i) for b, bucket in enumerate(self.buckets) for i, p in enumerate(bucket.params)}
        self.handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]
        self.armed = False
        self.stats = {}

    def prepare(self, unused: set) -> None:
        if self.armed:
            missing = [self.names[id(p)] for b in self.buckets for p in b.params if not self.ready[id(p)]]
            raise RuntimeError(
                "DistributedDataParallel: expected to have finished reduction in the prior iteration before "
                "starting a new one. This error indicates that your module has parameters that were not used in "
                "producing loss (here: " + ", ".join(missing) + "). Pass find_unused_parameters=True to "
                "DistributedDataParallel, or make sure every forward output takes part in the loss.")
        self.armed = True
        self.ready = {id(p): False for b in self.buckets for p in b.params}
        self.pending = [len(b.params) for b in self.buckets]
        self.next_bucket = 0
        self.started = []
        self.progress = None
        self.started_at = None
        self.used = None
        if unused is not None:
            # NOTE: started before any bucket, so every rank calls the collectives in the same order
            self.used = xp.array([id(p) not in unused for b in self.buckets for p in b.params], dtype=xp.int64)
            self.used_work = start_all_reduce(self.pg, _wrap(self.used), self.sum)
        for key in unused or ():
            if key in self.where:
                self._mark(key)

    def _grad_ready(self, param: Tensor) -> None:
        if not self.armed:
            return  # NOTE: under no_sync (or a forward without grad) gradients only accumulate locally
        # NOTE: the all-reduce reads gradients in Python and calls MPI, which no recorded program can replay: a
        # chainrule.compile trace of the whole step stops here and runs it eagerly (a graph break, warned once)
        param._grad._check_read("DistributedDataParallel's gradient all-reduce")
        if self.ready.get(id(param)):
            raise RuntimeError(f"DistributedDataParallel: parameter {self.names[id(param)]} got its gradient twice in "
                               "one iteration (a second backward without a new forward?)")
        self._mark(id(param))

    def _mark(self, key: int) -> None:
        self.ready[key] = True
        b, _ = self.where[key]
        self.pending[b] -= 1
        while self.next_bucket < len(self.buckets) and self.pending[self.next_bucket] == 0:
            self._start(self.buckets[self.next_bucket])
            self.next_bucket += 1
        if self.progress is None:
            for work in self.started:
                work.is_completed()
        if self.next_bucket == len(self.buckets):
            self._finish()

    def _start(self, bucket: Bucket) -> None:
        if self.started_at is None:
            self.started_at = time.perf_counter()
        bucket.pack(self.pg.size(), in_place=self.used is None)
        # NOTE: unpacked as soon as its all-reduce is seen complete (by the progress thread, mostly during
        # backward), unless which parameters were used is still to be learnt
        bucket.work = start_all_reduce(self.pg, _wrap(bucket.buffer), self.sum,
                                       then=bucket.unpack if self.used is None else None)
        self.started.append(bucket.work)
        if self.threaded and self.progress is None:
            self.progress = Progress(self.started)
            self.progress.start()

    def _finish(self) -> None:
        waited_at = time.perf_counter()
        if self.progress is not None:
            # NOTE: MPI forbids two threads completing one request, so the thread ends before the waits
            self.progress.stop.set()
            self.progress.join()
        used = None
        if self.used is not None:
            self.used_work.wait()
            used = xp.split(self.used, xp.cumsum([len(b.params) for b in self.buckets])[:-1])
        ends = {} if self.progress is None else dict(self.progress.done_at)
        for b, bucket in enumerate(self.buckets):
            bucket.work.wait()
            ends.setdefault(bucket.work, time.perf_counter())
            if used is not None:
                bucket.unpack(used[b])
        done_at, comm_end = time.perf_counter(), max(ends.values())
        self.stats = {"comm": comm_end - self.started_at, "overlap": min(comm_end, waited_at) - self.started_at,
                      "wait": done_at - waited_at}
        self.armed = False
