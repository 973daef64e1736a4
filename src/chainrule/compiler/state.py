"""What a compiled function reads besides its arguments, and the guard that says when a program still applies.

:func:`find_state` looks at what the function refers to (its closure, the globals its code names, ``self`` of a
bound method, default values, one level into lists, tuples and dicts): modules (found by their
``named_parameters``), optimizers (``param_groups`` and ``state``) and LR schedulers (their ``optimizer``), and
plain tensors. Each tensor it finds becomes a *source*: read on every call, so the program always sees the live
values. :meth:`State.key` is the guard: everything a trace depended on besides tensor values.
"""

from __future__ import annotations

from .. import _state
from ..tensor import Tensor


class ArgSource:
    """The ``index``-th tensor among the call's flattened arguments."""

    __slots__ = ("index", "name")

    def __init__(self, index: int, name: str):
        self.index, self.name = index, name

    def read(self, leaves: list):
        return leaves[self.index]._data

    def tensor_in(self, leaves: list) -> Tensor:
        return leaves[self.index]


class ObjectSource:
    """A tensor the function refers to (a parameter, a buffer, optimizer state): its live values."""

    __slots__ = ("tensor", "name")

    def __init__(self, tensor: Tensor, name: str):
        self.tensor, self.name = tensor, name

    def read(self, leaves: list):
        return self.tensor._data

    def tensor_in(self, leaves: list) -> Tensor:
        return self.tensor


class GradSource:
    """The ``.grad`` of a leaf, read anew on every call (the engine replaces it, so no tensor stays the same)."""

    __slots__ = ("owner", "name")

    def __init__(self, owner: Tensor, name: str = ""):
        self.owner, self.name = owner, name

    def read(self, leaves: list):
        return self.owner._grad._data

    def tensor_in(self, leaves: list) -> Tensor:
        return self.owner._grad


class ScalarSource:
    """A Python number read on every call through ``getter()`` (an optimizer's learning rate)."""

    __slots__ = ("getter", "name")

    def __init__(self, getter, name: str):
        self.getter, self.name = getter, name

    def read(self, leaves: list):
        return self.getter()


class ArraySource:
    """The ``index``-th raw array the generated function is given (residuals and cotangents)."""

    __slots__ = ("index", "name")

    def __init__(self, index: int, name: str):
        self.index, self.name = index, name

    def read(self, leaves: list):
        return leaves[self.index]


class CotangentSource(ArraySource):
    """The incoming gradient of the ``index``-th differentiable result (a placeholder while tracing)."""


def _is_module(obj) -> bool:
    return hasattr(obj, "named_parameters") and hasattr(obj, "training") and hasattr(obj, "named_buffers")


def _is_optimizer(obj) -> bool:
    return hasattr(obj, "param_groups") and hasattr(obj, "state") and hasattr(obj, "zero_grad")


def _is_scheduler(obj) -> bool:
    return hasattr(obj, "optimizer") and hasattr(obj, "get_last_lr")


def _code_names(code) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _code_names(const)
    return names


def _roots(fn) -> list:
    """``(name, object)`` of everything ``fn`` refers to."""
    roots = []
    target = getattr(fn, "__func__", fn)
    if getattr(fn, "__self__", None) is not None:
        roots.append(("self", fn.__self__))
    if _is_module(fn):
        roots.append(("self", fn))
        target = type(fn).forward
    code = getattr(target, "__code__", None)
    if code is not None:
        for name, cell in zip(code.co_freevars, target.__closure__ or ()):
            try:
                roots.append((name, cell.cell_contents))
            except ValueError:  # NOTE: an empty cell (a name assigned later in the enclosing function)
                continue
        module_globals = getattr(target, "__globals__", {})
        roots += [(name, module_globals[name]) for name in sorted(_code_names(code)) if name in module_globals]
        roots += [(f"default{i}", v) for i, v in enumerate(target.__defaults__ or ())]
    expanded = []
    for name, obj in roots:
        expanded.append((name, obj))
        if isinstance(obj, (list, tuple)):
            expanded += [(f"{name}{i}", v) for i, v in enumerate(obj)]
        elif isinstance(obj, dict):
            expanded += [(f"{name}_{k}", v) for k, v in obj.items() if isinstance(k, str)]
    return expanded


class State:
    """The modules, optimizers and tensors a function refers to, as sources (see the module docstring)."""

    def __init__(self, fn):
        self.modules, self.optimizers, self.schedulers = [], [], []
        self.sources: dict = {}    # id(tensor) -> ObjectSource
        self.names: dict = {}      # id(tensor) -> a readable name
        seen: set = set()
        for name, obj in _roots(fn):
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if isinstance(obj, Tensor):
                self._add(obj, name)
            elif _is_module(obj):
                self.modules.append(obj)
                prefix = "" if name == "self" else name + "."
                for pname, p in obj.named_parameters():
                    self._add(p, prefix + pname)
                for bname, b in obj.named_buffers():
                    self._add(b, prefix + bname)
            elif _is_scheduler(obj):
                self.schedulers.append(obj)
                if id(obj.optimizer) not in seen:
                    seen.add(id(obj.optimizer))
                    self._add_optimizer(obj.optimizer)
            elif _is_optimizer(obj):
                self._add_optimizer(obj)
        self.leaves = [s.tensor for s in self.sources.values() if s.tensor.grad_fn is None]
        self.submodules = list({id(sub): sub for m in self.modules for sub in m.modules()}.values())

    def _add(self, t: Tensor, name: str) -> None:
        if id(t) not in self.sources:
            self.sources[id(t)] = ObjectSource(t, name)

    def _add_optimizer(self, opt) -> None:
        self.optimizers.append(opt)
        for g, group in enumerate(opt.param_groups):
            for i, p in enumerate(group["params"]):
                self._add(p, f"param{g}_{i}")
        for p, entries in opt.state.items():
            owner = self.sources.get(id(p))
            for key, value in entries.items():
                if isinstance(value, Tensor):
                    self._add(value, f"{key}_{owner.name if owner else 'state'}")

    def key(self, leaves: list, structure: tuple) -> tuple:
        """The guard: what a trace depended on besides tensor values; a changed key means a new trace.
        ``leaves`` are the call's flattened arguments, ``structure`` their pytree's key (``TreeSpec._key()``)."""
        parts = [structure, _state.grad_enabled]
        for leaf in leaves:
            if isinstance(leaf, Tensor):
                parts.append((leaf._data.shape, leaf._data.dtype.str, leaf.requires_grad, leaf._grad is None))
            else:
                parts.append(leaf if _hashable(leaf) else ("id", id(leaf)))
        # NOTE: which tensors and submodules each module holds, by identity: a parameter or layer replaced after
        # tracing (model.fc.weight = Parameter(...)) is a new key, so the program never reads the old one
        for sub in self.submodules:
            parts.append((sub.training, tuple(map(id, sub._parameters.values())), tuple(map(id, sub._buffers.values())),
                          tuple(map(id, sub._modules.values()))))
        # NOTE: and each tensor's array by identity: ``p.data = other`` (which might overlap another parameter the
        # program writes in place) is a new key, and the program is checked against the arrays it will write
        for s in self.sources.values():
            t = s.tensor
            parts.append((id(t._data), t._data.shape, t._data.dtype.str, t.requires_grad, t._grad is None))
        for opt in self.optimizers:
            parts.append(sum(len(entries) for entries in opt.state.values()))
            for group in opt.param_groups:
                parts.append(tuple((k, v) for k, v in group.items() if k not in ("params", "lr") and _hashable(v)))
        return tuple(parts)


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
