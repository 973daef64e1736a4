"""Containers that count their changes: a module's stores, an optimizer's groups and state.

Each counts every change (assignment, deletion, ``pop``, ``update``, ``append``, ... alike) in its class's
``counter``, a one-element list in ``_state``. chainrule.compile's guard re-checks what a program read from
those containers only when the counter moved since its last check: the checks are most of a small training
step's cost outside its generated code. They are the builtin types in every other respect (``isinstance(d,
dict)``, equality, printing, pickling by class).
"""

from __future__ import annotations

from collections import defaultdict


def _count_changes(cls: type, base: type, methods: tuple) -> type:
    """``cls`` with each of ``base``'s ``methods`` advancing ``cls.counter`` before it runs."""
    def counted(name):
        method = getattr(base, name)

        def change(self, *args, **kwargs):
            self.counter[0] += 1
            return method(self, *args, **kwargs)
        change.__name__, change.__qualname__ = name, f"{cls.__name__}.{name}"
        return change
    for name in methods:
        setattr(cls, name, counted(name))
    return cls


_DICT_CHANGES = ("__setitem__", "__delitem__", "__ior__", "pop", "popitem", "clear", "update", "setdefault")
_LIST_CHANGES = ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend", "insert", "pop",
                 "remove", "clear", "sort", "reverse")


class CountingDict(dict):
    """A dict counting its changes in ``counter`` (set by each subclass)."""

    __slots__ = ()
    counter: list


class CountingList(list):
    """A list counting its changes in ``counter`` (set by each subclass)."""

    __slots__ = ()
    counter: list


class CountingDefaultDict(defaultdict):
    """A defaultdict counting its changes in ``counter`` (a missing key's default is stored by ``__setitem__``,
    so it counts too)."""

    counter: list

    def __repr__(self) -> str:
        # NOTE: printed as the defaultdict it stands for (an optimizer's state prints as torch's)
        factory = self.default_factory
        shown = dict if isinstance(factory, type) and issubclass(factory, dict) else factory
        return f"defaultdict({shown!r}, {dict.__repr__(self)})"


_count_changes(CountingDict, dict, _DICT_CHANGES)
_count_changes(CountingList, list, _LIST_CHANGES)
_count_changes(CountingDefaultDict, defaultdict, _DICT_CHANGES)
