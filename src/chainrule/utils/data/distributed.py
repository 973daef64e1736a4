"""DistributedSampler: each rank's share of a dataset's indices, as ``torch.utils.data.DistributedSampler``."""

from __future__ import annotations

import math

from ... import distributed
from ...creation import randperm
from ...random import Generator
from .sampler import Sampler


class DistributedSampler(Sampler):
    """Rank ``rank``'s share of the indices: every ``num_replicas``-th index, starting at ``rank``.

    With ``shuffle`` the indices are first permuted by a generator seeded with ``seed + epoch``, the same on every
    rank, so the shares are disjoint; call ``set_epoch(epoch)`` before each epoch for a new order. Each rank gets
    ``ceil(len(dataset) / num_replicas)`` indices, the list padded by repeating its start to divide evenly, or,
    with ``drop_last``, ``floor(len(dataset) / num_replicas)`` with the tail dropped (torch's rules).

    Args:
        dataset: the dataset (only its length is used).
        num_replicas: the number of ranks (default: ``chainrule.distributed.get_world_size()``).
        rank: this rank (default: ``chainrule.distributed.get_rank()``).
        shuffle: permute the indices each epoch (default True).
        seed: the shuffle's seed, the same on every rank.
        drop_last: drop the tail instead of padding.

    Example::

        >>> sampler = DistributedSampler(dataset)            # after dist.init_process_group()
        >>> loader = DataLoader(dataset, batch_size=32, sampler=sampler)
        >>> for epoch in range(10):
        ...     sampler.set_epoch(epoch)
        ...     for x, y in loader: ...
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = randperm(n, generator=Generator().manual_seed(self.seed + self.epoch)).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            padding = self.total_size - len(indices)
            indices += (indices * math.ceil(padding / len(indices)))[:padding] if padding else []
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Make the next shuffle use ``seed + epoch`` (call it with the same epoch on every rank)."""
        self.epoch = epoch
