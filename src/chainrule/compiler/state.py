"""What a compiled function reads besides its arguments, and the guard that says when a program still applies.

:func:`find_state` looks at what the function refers to (its closure, the globals its code names, ``self`` of a
bound method, default values, one level into lists, tuples and dicts): modules (found by their
``named_parameters``), optimizers (``param_groups`` and ``state``) and LR schedulers (their ``optimizer``), and
plain tensors. Each tensor it finds becomes a *source*: read on every call, so the program always sees the live
values. :meth:`State.key` is the guard: everything a trace depended on besides tensor values.
"""

from __future__ import annotations

from functools import partial
from itertools import chain
from operator import attrgetter, is_, itemgetter, methodcaller

from .. import _state
from .._counting import CountingDefaultDict, CountingDict, CountingList
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
        self.slots: dict = {}      # id(optimizer state tensor) -> (the optimizer's state, its param, its key)
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
        self.tensors = [s.tensor for s in self.sources.values()]
        # NOTE: per optimizer, per param group: a getter of the settings other than ``params`` and ``lr`` (``lr``
        # is an input of the program) that are hashable now, and the names of those that are not
        self.settings = [(opt, [_settings(group) for group in opt.param_groups]) for opt in self.optimizers]

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
                    self.slots[id(value)] = (opt.state, p, key)

    def slots_of(self, sources) -> tuple:
        """``(state, param, key, tensor)`` for each optimizer state tensor among ``sources``: where its optimizer
        keeps it now (``state[param][key] is tensor``), for :func:`kept` to check on later calls."""
        found = {}
        for source in sources:
            tensor = getattr(source, "tensor", None)
            if tensor is not None and id(tensor) in self.slots:
                found[id(tensor)] = (*self.slots[id(tensor)], tensor)
        return tuple(found.values())

    def key(self, leaves: list, structure: tuple) -> tuple:
        """The guard: what a trace depended on besides tensor values; a changed key means a new trace.
        ``leaves`` are the call's flattened arguments, ``structure`` their pytree's key (``TreeSpec._key()``).
        An optimizer setting removed since the state was gathered raises KeyError, one that is no longer
        hashable makes the key unhashable (TypeError when looked up): the caller gathers the state again."""
        parts = [structure, _state.grad_enabled]
        for leaf in leaves:
            if isinstance(leaf, Tensor):
                data = leaf._data
                parts.append((data.shape, data.dtype, leaf.requires_grad, leaf._grad is None))
            else:
                parts.append(leaf if _hashable(leaf) else ("id", id(leaf)))
        # NOTE: the rest runs on every call (it is most of a small step's cost outside its generated code), so it
        # is built by C-level maps over lists gathered once: the same facts as one tuple per module and tensor.
        # Which tensors and submodules each module holds, by identity: a parameter or layer replaced after
        # tracing (model.fc.weight = Parameter(...)) is a new key, so the program never reads the old one (the
        # count per store keeps the flattened identities as exact as one tuple per module).
        subs, tensors = self.submodules, self.tensors
        stores = list(_chain(map(_stores, subs)))
        # NOTE: and each tensor's array by identity: ``p.data = other`` (which might overlap another parameter the
        # program writes in place) is a new key, and the program is checked against the arrays it will write
        arrays = list(map(_data, tensors))
        parts += (tuple(map(_training, subs)), tuple(map(len, stores)), tuple(map(id, _chain(map(_values, stores)))),
                  tuple(map(id, arrays)), tuple(map(_shape_dtype, arrays)), tuple(map(_requires_grad, tensors)),
                  tuple(map(_is_none, map(_grad, tensors))))
        for opt, getters in self.settings:
            parts.append(sum(map(len, opt.state.values())))
            # NOTE: the groups by identity (replaced ones are gathered again), then each one's settings
            parts.append(tuple(map(id, opt.param_groups)))
            for group, (hashed, others) in zip(opt.param_groups, getters):
                parts.append(tuple(group))
                # NOTE: the parameters the group updates, by identity (``group["params"] = [...]`` changes them)
                parts.append(tuple(map(id, group["params"])))
                parts.append(hashed(group))
                if others:
                    # NOTE: a setting left out of the key as unhashable changes the key when it turns hashable
                    parts.append(tuple(type(group[k]) for k in others if k in group))
        return tuple(parts)


    def guard(self, leaves: list, structure: tuple, positional: bool = False, slots: tuple = ()):
        """``check(leaves, structure) -> bool``: True only where :meth:`key` gives the key it gives now (checked by
        identity where the key holds ids), as straight-line generated code: no tuple built or hashed, so a
        call that hits the same program as the previous one costs a few attribute reads and comparisons.

        ``positional``: ``leaves`` are the call's positional arguments, all tensors (their structure is their
        count): then ``check(args, None)`` also passes for such a call, whose arguments need no flattening.
        ``slots``: the optimizer state tensors the program reads or writes (:meth:`slots_of`); the check fails
        where :func:`kept` would."""
        w = _GuardWriter()
        same = f"structure is {w.bind(structure)} or structure == {w.bind(structure)}"
        # NOTE: structure None stands for positional arguments, all tensors (each leaf's check below sees they are)
        same = f"structure is None or {same}" if positional else f"structure is not None and ({same})"
        w.line(f"if len(leaves) != {len(leaves)} or not ({same}) or _state.grad_enabled != "
               f"{_state.grad_enabled!r}: return False")
        for i, leaf in enumerate(leaves):
            if isinstance(leaf, Tensor):
                data = leaf._data
                w.line(f"l = leaves[{i}]")
                w.line("if not isinstance(l, Tensor): return False")
                w.line("d = l._data")
                w.line(f"if not (d.shape == {data.shape!r} and {w.same_dtype('d', data.dtype)} and l.requires_grad == "
                       f"{leaf.requires_grad!r} and l._grad is {'' if leaf._grad is None else 'not '}None): "
                       "return False")
            elif _hashable(leaf):
                w.line(f"if isinstance(leaves[{i}], Tensor) or not _hashable(leaves[{i}]) or leaves[{i}] != "
                       f"{w.bind(leaf)}: return False")
            else:
                w.line(f"if _hashable(leaves[{i}]) or id(leaves[{i}]) != {id(leaf)}: return False")
        if self.submodules:
            # NOTE: the modules are walked only when some module changed since the last walk that passed (every
            # change to a module's members or ``training`` advances _state.module_changes; see nn.modules.module)
            walked = w.bind([_state.module_changes[0]])
            w.line(f"if _state.module_changes[0] != {walked}[0]:")
            for sub in self.submodules:
                w.line(f"    m = {w.bind(sub)}")
                checks = [f"m.training == {sub.training!r}"]
                for store in ("_parameters", "_buffers", "_modules"):
                    members = list(getattr(sub, store).values())
                    checks.append(f"len(m.{store}) == {len(members)}")
                    if members:  # NOTE: the same members in the same order, by identity
                        checks.append(f"all(map(_is, m.{store}.values(), {w.bind(members)}))")
                w.line(f"    if not ({' and '.join(checks)}): return False")
            w.line(f"    {walked}[0] = _state.module_changes[0]")
        for t in self.tensors:
            data = t._data
            w.line(f"t = {w.bind(t)}")
            w.line("a = t._data")
            w.line(f"if not (a is {w.bind(data)} and a.shape == {data.shape!r} and {w.same_dtype('a', data.dtype)} "
                   f"and t.requires_grad == {t.requires_grad!r} and t._grad is {'' if t._grad is None else 'not '}"
                   "None): return False")
        self._guard_optimizers(w, slots)
        return w.build()

    def _guard_optimizers(self, w: _GuardWriter, slots: tuple) -> None:
        """The guard's lines for the optimizers and the state tensors a program reads (``slots``, see
        :func:`kept`). Optimizers whose groups and state count their changes (optim.optimizer) are re-checked
        only when ``_state.optimizer_changes`` moved since the last check that passed; the containers
        themselves are checked by identity on every call (replacing one is not a change they count)."""
        counting = all(map(_counts_changes, self.optimizers))
        for opt in self.optimizers if counting else ():
            w.line(f"if {w.bind(opt)}.param_groups is not {w.bind(opt.param_groups)} or {w.bind(opt)}.state is not "
                   f"{w.bind(opt.state)}: return False")
        indent = ""
        if counting and (self.settings or slots):
            walked = w.bind([_state.optimizer_changes[0]])
            w.line(f"if _state.optimizer_changes[0] != {walked}[0]:")
            indent = "    "
        for opt, getters in self.settings:
            w.line(f"{indent}o = {w.bind(opt)}")
            groups = opt.param_groups
            entries = sum(map(len, opt.state.values()))
            # NOTE: an optimizer without state (SGD without momentum) has none to count
            counted = f"sum(map(len, o.state.values())) != {entries}" if entries else \
                "(o.state and sum(map(len, o.state.values())))"
            w.line(f"{indent}if {counted} or len(o.param_groups) != {len(groups)}: return False")
            if counting:  # NOTE: a plain dict or list put in (counted) would make later changes uncounted
                w.line(f"{indent}if not _counts_changes(o): return False")
            for j, (group, (_, others)) in enumerate(zip(groups, getters)):
                params = group["params"]
                checks = [f"o.param_groups[{j}] is {w.bind(group)}", f"tuple(g) == {tuple(group)!r}",
                          f"len(g['params']) == {len(params)}", f"all(map(_is, g['params'], {w.bind(list(params))}))"]
                checks += [f"g[{k!r}] {'==' if _plain(group[k]) else 'is'} {w.bind(group[k])}" for k in group
                           if k not in ("params", "lr") and k not in others]
                if others:
                    types = tuple(type(group[k]) for k in others if k in group)
                    checks.append(f"tuple(type(g[k]) for k in {others!r} if k in g) == {w.bind(types)}")
                w.line(f"{indent}g = o.param_groups[{j}]")
                w.line(f"{indent}if not ({' and '.join(checks)}): return False")
        if slots:
            w.line(f"{indent}if not _kept({w.bind(slots)}): return False")
        if indent:
            w.line(f"    {walked}[0] = _state.optimizer_changes[0]")


def _counts_changes(opt) -> bool:
    """Whether every container of ``opt`` the guard reads counts its changes (see chainrule._counting)."""
    return (isinstance(opt.param_groups, CountingList) and isinstance(opt.state, CountingDefaultDict)
            and all(isinstance(g, CountingDict) and isinstance(g.get("params"), CountingList)
                    for g in opt.param_groups)
            and all(isinstance(e, CountingDict) for e in opt.state.values()))


def kept(slots: tuple) -> bool:
    """Whether each optimizer state tensor a program updates is still where it was traced: an optimizer (or its
    user) that puts a new tensor there (``opt.state[p]["momentum_buffer"] = ...``) needs a new program."""
    for state, param, key, tensor in slots:
        entries = state.get(param)
        if entries is None or entries.get(key) is not tensor:
            return False
    return True


def _settings(group: dict) -> tuple:
    """``(getter of the group's hashable settings, names of its unhashable ones)``, ``params`` and ``lr`` aside."""
    names = [k for k in group if k not in ("params", "lr")]
    hashed = tuple(k for k in names if _hashable(group[k]))
    return (itemgetter(*hashed) if hashed else _nothing), tuple(k for k in names if k not in hashed)


def _nothing(group: dict) -> tuple:
    return ()


_training, _data, _shape_dtype = attrgetter("training"), attrgetter("_data"), attrgetter("shape", "dtype")
_stores, _requires_grad, _grad = attrgetter("_parameters", "_buffers", "_modules"), attrgetter("requires_grad"), \
    attrgetter("_grad")
_values, _chain, _is_none = methodcaller("values"), chain.from_iterable, partial(is_, None)


class _GuardWriter:
    """The source of :meth:`State.guard`'s function: its lines and the objects they name."""

    def __init__(self):
        self.lines: list = []
        self.namespace: dict = {"_state": _state, "Tensor": Tensor, "_hashable": _hashable, "_is": is_,
                                "_kept": kept, "_counts_changes": _counts_changes}
        self.names: dict = {}

    def line(self, text: str) -> None:
        self.lines.append(text)

    def bind(self, obj) -> str:
        if id(obj) not in self.names:
            name = self.names[id(obj)] = f"_v{len(self.names)}"
            self.namespace[name] = obj
        return self.names[id(obj)]

    def same_dtype(self, array: str, dtype) -> str:
        name = self.bind(dtype)
        return f"({array}.dtype is {name} or {array}.dtype == {name})"

    def build(self):
        body = "\n".join("        " + line for line in self.lines)
        # NOTE: a setting removed or no longer comparable fails the check: the caller falls back to the full key
        source = (f"def check(leaves, structure):\n    try:\n{body}\n"
                  "    except (KeyError, TypeError, AttributeError):\n        return False\n    return True\n")
        exec(compile(source, "<chainrule.compile guard>", "exec"), self.namespace)  # noqa: S102
        check = self.namespace["check"]
        check.source = source
        return check


def _plain(value) -> bool:
    """Whether ``value`` compares by value with ``==`` and nothing more (numbers, strings, None, tuples of them);
    others (a tensor setting) are checked by identity, which implies the key's equality."""
    if isinstance(value, tuple):
        return all(map(_plain, value))
    return value is None or isinstance(value, (bool, int, float, complex, str))


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
