"""Pytree flattening and rebuilding (chainrule.func.pytree)."""

from collections import OrderedDict, namedtuple

import pytest

from chainrule.func.pytree import tree_flatten, tree_leaves, tree_map, tree_unflatten

Point = namedtuple("Point", ["x", "y"])


@pytest.mark.parametrize("tree", [
    1,
    (1, 2),
    [1, (2, 3), {"a": 4, "b": [5, 6]}],
    {"w": (1, 2), "c": [3]},
    Point(1, (2, 3)),
    OrderedDict([("z", 1), ("a", 2)]),
    ((), [], {}),
    [[[[[[1]]]]]],
])
def test_round_trip_keeps_structure_and_order(tree):
    leaves, spec = tree_flatten(tree)
    rebuilt = tree_unflatten(leaves, spec)
    assert rebuilt == tree
    assert type(rebuilt) is type(tree)
    assert spec.num_leaves == len(leaves)


def test_leaves_are_depth_first_left_to_right():
    assert tree_leaves([1, (2, {"b": 3, "a": 4}), 5]) == [1, 2, 3, 4, 5]
    assert tree_map(lambda v: v * 10, {"a": (1, 2), "b": Point(3, 4)}) == {"a": (10, 20), "b": Point(30, 40)}


def test_specs_compare_by_structure():
    assert tree_flatten((1, [2, 3]))[1] == tree_flatten((7, [8, 9]))[1]
    assert tree_flatten((1, [2, 3]))[1] != tree_flatten((1, (2, 3)))[1]
    assert tree_flatten({"a": 1})[1] != tree_flatten({"b": 1})[1]
    assert hash(tree_flatten((1, [2]))[1]) == hash(tree_flatten((5, [6]))[1])


def test_deep_nesting_needs_no_recursion():
    tree = 0
    for _ in range(5000):
        tree = [tree]
    leaves, spec = tree_flatten(tree)
    assert leaves == [0]
    rebuilt, depth = tree_unflatten([1], spec), 0
    while isinstance(rebuilt, list):
        (rebuilt,), depth = rebuilt, depth + 1
    assert (rebuilt, depth) == (1, 5000)


def test_unflatten_checks_the_leaf_count():
    _, spec = tree_flatten((1, 2))
    with pytest.raises(ValueError, match="2 leaves but 3 values"):
        tree_unflatten([1, 2, 3], spec)


def test_spec_repr_shows_the_structure():
    assert repr(tree_flatten(({"a": 1}, [2, 3], Point(4, 5)))[1]) == "({'a': *}, [*, *], Point(*, *))"
    assert repr(tree_flatten(7)[1]) == "*"
