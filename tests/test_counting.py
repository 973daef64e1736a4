"""Counting containers (chainrule._counting): every change through any method advances the counter, and they
stay the builtin types in every other respect. Modules' stores and optimizers' groups and state are made of them
(chainrule.compile's guard relies on the counts)."""

import copy
import pickle
from collections import defaultdict

import pytest

import chainrule as cr
from chainrule import _state
from chainrule._counting import CountingDefaultDict, CountingDict, CountingList

COUNTER = [0]


class Dict(CountingDict):
    counter = COUNTER


class List(CountingList):
    counter = COUNTER


class State(CountingDefaultDict):
    counter = COUNTER


DICT_CHANGES = [lambda d: d.__setitem__("a", 2), lambda d: d.__delitem__("a"), lambda d: d.__ior__({"c": 1}),
                lambda d: d.pop("a"), lambda d: d.popitem(), lambda d: d.clear(), lambda d: d.update(c=3),
                lambda d: d.setdefault("c", 4)]
LIST_CHANGES = [lambda v: v.__setitem__(0, 9), lambda v: v.__delitem__(0), lambda v: v.__iadd__([4]),
                lambda v: v.__imul__(2), lambda v: v.append(4), lambda v: v.extend([4]), lambda v: v.insert(0, 4),
                lambda v: v.pop(), lambda v: v.remove(1), lambda v: v.clear(), lambda v: v.sort(),
                lambda v: v.reverse()]


@pytest.mark.parametrize("change", DICT_CHANGES)
@pytest.mark.parametrize("kind", [Dict, lambda items: State(Dict, items)])
def test_every_change_of_a_dict_counts(kind, change):
    d = kind({"a": 1, "b": 2})
    before = COUNTER[0]
    change(d)
    assert COUNTER[0] == before + 1


@pytest.mark.parametrize("change", LIST_CHANGES)
def test_every_change_of_a_list_counts(change):
    v = List([3, 1, 2])
    before = COUNTER[0]
    change(v)
    assert COUNTER[0] == before + 1


def test_they_are_the_builtin_types_otherwise():
    d, v, s = Dict(a=1), List([1, 2]), State(Dict)
    s["x"]["y"] = 1  # NOTE: the missing key's default is stored (counted), and counts its own changes
    assert isinstance(s["x"], Dict) and isinstance(s, defaultdict)
    assert d == {"a": 1} and v == [1, 2] and repr(d) == "{'a': 1}" and repr(v) == "[1, 2]"
    assert repr(s) == "defaultdict(<class 'dict'>, {'x': {'y': 1}})"
    for value in (d, v, s):
        for again in (pickle.loads(pickle.dumps(value)), copy.deepcopy(value)):
            assert type(again) is type(value) and again == value
    before = COUNTER[0]
    assert (d["a"], d.get("b"), len(v), v[0], list(s), "x" in s) == (1, None, 2, 1, ["x"], True)
    assert COUNTER[0] == before  # reads count nothing


def test_modules_and_optimizers_are_made_of_them():
    model = cr.nn.Linear(3, 2)
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(cr.ones(1, 3)).sum().backward()
    opt.step()
    for o in (opt, cr.optim.SGD(model.parameters(), lr=0.1)):
        o.load_state_dict(opt.state_dict())
        assert isinstance(o.param_groups, CountingList) and isinstance(o.state, CountingDefaultDict)
        assert all(isinstance(g, CountingDict) and isinstance(g["params"], CountingList) for g in o.param_groups)
        assert all(isinstance(entry, CountingDict) for entry in o.state.values())
    changes = _state.optimizer_changes[0]
    opt.param_groups[0]["lr"] = 0.05
    opt.state[model.weight]["momentum_buffer"] = cr.zeros(2, 3)
    assert _state.optimizer_changes[0] == changes + 2
    changes = _state.module_changes[0]
    model._parameters["bias"] = cr.nn.Parameter(cr.zeros(2))
    assert _state.module_changes[0] == changes + 1
