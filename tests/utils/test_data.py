"""Datasets, samplers and the DataLoader: order, seeding, batching, collation and random splits."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    default_collate,
    random_split,
)


def make_dataset(n=10):
    return TensorDataset(cr.arange(2 * n).reshape(n, 2).float(), cr.arange(n))


class Records(Dataset):
    """Samples as dicts of mixed types, to exercise the generic collation path."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": cr.full((2,), float(i)), "label": i, "weight": i / 2, "name": f"r{i}",
                "pair": (np.array([i, i + 1]), i % 2 == 0)}


def test_tensor_dataset_items_and_errors():
    ds = make_dataset()
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3 and len(ds) == 10
    with pytest.raises(ValueError, match=r"Size mismatch between tensors.*\(3,\), \(4,\)"):
        TensorDataset(cr.zeros(3), cr.zeros(4))


def test_sequential_batches_and_len():
    loader = DataLoader(make_dataset(), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert isinstance(batches[0], list)
    assert batches[0][0].shape == (4, 2) and batches[0][0].dtype == cr.float32


def test_drop_last():
    loader = DataLoader(make_dataset(), batch_size=4, drop_last=True)
    assert len(loader) == 2 and [len(b[1]) for b in loader] == [4, 4]


def test_shuffle_is_a_fresh_permutation_each_epoch_and_reproducible_with_manual_seed():
    loader = DataLoader(make_dataset(), batch_size=3, shuffle=True)
    cr.manual_seed(0)
    first = [i for _, y in loader for i in y.tolist()]
    second = [i for _, y in loader for i in y.tolist()]
    cr.manual_seed(0)
    again = [i for _, y in loader for i in y.tolist()]
    assert sorted(first) == list(range(10)) and first != list(range(10))
    assert first != second and first == again


def test_shuffle_with_a_generator_ignores_the_global_seed():
    def order(seed, global_seed):
        cr.manual_seed(global_seed)
        generator = cr.Generator().manual_seed(seed)
        loader = DataLoader(make_dataset(), batch_size=10, shuffle=True, generator=generator)
        return next(iter(loader))[1].tolist()
    assert order(1, 0) == order(1, 5) and order(1, 0) != order(2, 0)


def test_gathered_batches_equal_collated_samples():
    ds = make_dataset(7)
    fast = DataLoader(ds, batch_size=3, shuffle=True, generator=cr.Generator().manual_seed(3))
    slow = DataLoader(ds, batch_size=3, shuffle=True, generator=cr.Generator().manual_seed(3),
                      collate_fn=lambda batch: default_collate(batch))
    for (x1, y1), (x2, y2) in zip(fast, slow, strict=True):
        assert cr.equal(x1, x2) and cr.equal(y1, y2) and x1.dtype == x2.dtype and y1.dtype == y2.dtype


def test_default_collate_recurses_into_dicts_and_tuples():
    batch = next(iter(DataLoader(Records(), batch_size=3)))
    assert batch["x"].tolist() == [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]
    assert batch["label"].tolist() == [0, 1, 2] and batch["label"].dtype == cr.int64
    assert batch["weight"].dtype == cr.float64 and batch["weight"].tolist() == [0.0, 0.5, 1.0]
    assert batch["name"] == ["r0", "r1", "r2"]
    arrays, flags = batch["pair"]
    assert arrays.tolist() == [[0, 1], [1, 2], [2, 3]] and flags.dtype == cr.bool


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])


def test_custom_collate_sampler_and_batch_sampler():
    ds = make_dataset()
    loader = DataLoader(ds, batch_size=2, sampler=[9, 0, 5], collate_fn=lambda b: [int(y) for _, y in b])
    assert list(loader) == [[9, 0], [5]]
    loader = DataLoader(ds, batch_sampler=[[1, 2], [3]])
    assert [y.tolist() for _, y in loader] == [[1, 2], [3]] and len(loader) == 2
    unbatched = list(DataLoader(ds, batch_size=None))
    assert len(unbatched) == 10 and unbatched[4][1].item() == 4


@pytest.mark.parametrize("kwargs, message", [
    (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "mutually exclusive with drop_last"),
    (dict(batch_size=0), "batch_size should be a positive integer value"),
    (dict(num_workers=-1), "num_workers option should be non-negative"),
])
def test_invalid_loader_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(make_dataset(), **kwargs)


def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    cr.manual_seed(1)
    draws = list(RandomSampler(range(4), replacement=True, num_samples=50))
    assert len(draws) == 50 and set(draws) <= {0, 1, 2, 3}
    longer = list(RandomSampler(range(4), num_samples=10, generator=cr.Generator().manual_seed(0)))
    assert len(longer) == 10 and sorted(longer[:4]) == [0, 1, 2, 3] and sorted(longer[4:8]) == [0, 1, 2, 3]
    assert sorted(SubsetRandomSampler([7, 8, 9])) == [7, 8, 9]
    assert list(BatchSampler(range(5), 2, drop_last=False)) == [[0, 1], [2, 3], [4]]
    assert len(BatchSampler(range(5), 2, drop_last=True)) == 2
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(4), num_samples=0)


def test_random_split_lengths_and_fractions():
    ds = make_dataset(10)
    a, b = random_split(ds, [7, 3], generator=cr.Generator().manual_seed(0))
    assert (len(a), len(b)) == (7, 3) and sorted(a.indices + b.indices) == list(range(10))
    assert isinstance(a, Subset) and a[0][1].item() == a.indices[0]
    parts = random_split(ds, [0.5, 0.3, 0.2], generator=cr.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [5, 3, 2]
    # floor(10 * 0.33) = 3 each; the one left over goes to the first subset
    assert [len(p) for p in random_split(ds, [0.33, 0.33, 0.34])] == [4, 3, 3]
    same = random_split(ds, [7, 3], generator=cr.Generator().manual_seed(0))
    assert same[0].indices == a.indices


def test_random_split_errors():
    with pytest.raises(ValueError, match=r"sum of input lengths \(9\) does not equal the length"):
        random_split(make_dataset(10), [5, 4])
    with pytest.raises(ValueError, match="fraction at index 1 is not between 0 and 1"):
        random_split(make_dataset(10), [0.5, -0.5, 1.0])


def test_subset_and_concat():
    ds = make_dataset(4)
    sub = Subset(ds, [3, 1])
    assert sub[0][1].item() == 3 and len(sub) == 2
    both = ds + sub
    assert isinstance(both, ConcatDataset) and len(both) == 6
    assert [both[i][1].item() for i in range(6)] == [0, 1, 2, 3, 3, 1] and both[-1][1].item() == 1
    with pytest.raises(IndexError, match="out of range"):
        both[6]
