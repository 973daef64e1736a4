"""DistributedSampler's shares follow torch's rules (the expected lists are what torch returns without shuffle)."""

import pytest

from chainrule.utils.data import DistributedSampler


def shares(n, replicas, **kwargs):
    return [list(DistributedSampler(range(n), replicas, r, **kwargs)) for r in range(replicas)]


@pytest.mark.parametrize("n, replicas, drop_last, expected", [
    (10, 3, False, [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]),   # padded with the first indices
    (10, 3, True, [[0, 3, 6], [1, 4, 7], [2, 5, 8]]),              # the tail dropped
    (8, 2, False, [[0, 2, 4, 6], [1, 3, 5, 7]]),
    (2, 5, False, [[0], [1], [0], [1], [0]]),                       # padding longer than the dataset repeats it
    (7, 2, True, [[0, 2, 4], [1, 3, 5]]),
])
def test_shares_without_shuffle(n, replicas, drop_last, expected):
    assert shares(n, replicas, shuffle=False, drop_last=drop_last) == expected
    assert all(len(DistributedSampler(range(n), replicas, r, drop_last=drop_last)) == len(expected[r])
               for r in range(replicas))


def test_shuffled_shares_are_disjoint_agree_across_ranks_and_change_with_the_epoch():
    first = shares(12, 3, seed=7)
    assert sorted(sum(first, [])) == list(range(12))
    assert shares(12, 3, seed=7) == first
    later = []
    for r in range(3):
        sampler = DistributedSampler(range(12), 3, r, seed=7)
        sampler.set_epoch(1)
        later.append(list(sampler))
    assert sorted(sum(later, [])) == list(range(12))
    assert later != first


def test_rank_out_of_range():
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"):
        DistributedSampler(range(4), num_replicas=3, rank=3)
