"""``DataLoader``: iterate over a dataset in (shuffled) mini-batches, collated into tensors."""

from __future__ import annotations

import collections.abc

from ... import _dtype, ops
from ..._backend import xp
from ...creation import as_tensor, tensor
from ...tensor import Tensor
from .dataset import TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate"]


def default_collate(batch: list):
    """Merge a list of samples into a batch, as torch's ``default_collate``.

    Tensors and NumPy arrays are stacked along a new dimension 0; Python floats become a float64 tensor,
    ints an int64 tensor (bools a bool tensor); strings stay a list. Dicts, named tuples, tuples and lists
    are collated field by field (tuples come back as lists, as in torch).

    Example::

        >>> default_collate([(chainrule.zeros(2), 0), (chainrule.ones(2), 1)])
        [tensor([[0., 0.],
                [1., 1.]]), tensor([0, 1])]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return ops.stack(batch, 0)
    if isinstance(elem, xp.ndarray):
        return ops.stack([as_tensor(b) for b in batch], 0)
    if isinstance(elem, float):
        return tensor(batch, dtype=_dtype.float64)
    if isinstance(elem, (int, xp.generic)):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch, strict=True)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError(f"default_collate: each element in list of batch should be of equal size, got "
                               f"sizes {sorted({len(sample) for sample in batch})}")
        return [default_collate(list(field)) for field in zip(*batch, strict=True)]
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                    f"found {type(elem).__name__}")


class DataLoader:
    """Iterate over ``dataset`` in mini-batches, as ``torch.utils.data.DataLoader``.

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``).
        batch_size: samples per batch (default 1); None yields single samples, passed through ``collate_fn``
            when one is given and unchanged otherwise.
        shuffle: visit the samples in a new random order each epoch (default False).
        sampler: an iterable of indices to use instead of ``shuffle``.
        batch_sampler: an iterable of index lists (excludes ``batch_size``, ``shuffle``, ``sampler``,
            ``drop_last``).
        num_workers: accepted for compatibility; samples are always loaded in the calling process.
        collate_fn: merges a list of samples into a batch (default :func:`default_collate`).
        pin_memory: accepted for compatibility (there is no GPU memory to pin).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator: the source of randomness for ``shuffle``; by default the global one, so
            ``chainrule.manual_seed(s)`` makes the order reproducible.

    ``len(loader)`` is the number of batches per epoch.

    Example::

        >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
        >>> for xb, yb in loader:
        ...     loss = loss_fn(model(xb), yb)
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn=None, pin_memory: bool = False,
                 drop_last: bool = False, generator=None):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size = None
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_sampler is None and batch_size is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else _as_is
        self.collate_fn = collate_fn
        # NOTE: gathering a TensorDataset's rows with one index per tensor gives exactly what default_collate
        # makes of the per-sample tuples (a list of stacked tensors), at a fraction of the cost.
        self._gather = isinstance(dataset, TensorDataset) and collate_fn is default_collate

    def __iter__(self):
        if self.batch_sampler is None:
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])
            return
        for indices in self.batch_sampler:
            if self._gather:
                yield [t[indices] for t in self.dataset.tensors]
            else:
                yield self.collate_fn([self.dataset[i] for i in indices])

    def __len__(self) -> int:
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)


def _as_is(sample):
    return sample
