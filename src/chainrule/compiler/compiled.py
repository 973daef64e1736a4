"""``CompiledFunction``: trace a function's calls, check the trace, and replay it as generated code.

A call is looked up by its guard key (:meth:`~chainrule.compiler.state.State.key`: argument shapes, dtypes and
flags, grad mode, ``module.training``, optimizer settings, ...). For a new key:

1. the first call runs eagerly (a warm-up: optimizers create their state, lazy modules their parameters);
2. the second and third calls run eagerly *while recording* (:class:`~chainrule.compiler.tracer.Tracer`);
   the two traces must agree — same ops, same constants — or the function depends on something the trace
   cannot see (Python values that change between calls, values computed outside ops), and it stays eager;
3. from then on the optimized program runs as generated code.

A graph break (Python reading tensor values, a data-dependent shape, ...) makes that key run eagerly, with a
one-time warning naming the user's line; ``fullgraph=True`` raises instead. Results are therefore always the
eager ones or the replayed program's, never a stale trace's.
"""

from __future__ import annotations

import warnings

from .. import _state
from .._backend import xp
from ..autograd.engine import grad as autograd_grad
from ..func.pytree import tree_flatten, tree_unflatten
from ..program import Program
from ..tensor import Tensor, _wrap
from .codegen import Plan, build
from .passes import optimize
from .region import Region
from .state import ArgSource, CotangentSource, State, kept
from .tracer import HostOp, Tracer, Unsupported, active_tracer

CACHE_LIMIT = 8


class Stats:
    """Counters of a compiled function: ``traces`` recorded, ``compiles`` (programs built), ``hits`` (replayed
    calls), ``eager`` (calls run eagerly: warm-ups, graph breaks, mismatched traces) and ``graph_breaks``."""

    __slots__ = ("traces", "compiles", "hits", "eager", "graph_breaks")

    def __init__(self):
        self.traces = self.compiles = self.hits = self.eager = self.graph_breaks = 0

    def __repr__(self) -> str:
        return "Stats(" + ", ".join(f"{k}={getattr(self, k)}" for k in self.__slots__) + ")"


class _Entry:
    __slots__ = ("calls", "trace", "run", "code", "eager_reason", "plan", "check", "slots")

    def __init__(self):
        self.calls, self.trace, self.run, self.code, self.eager_reason, self.plan = 0, None, None, None, None, None
        self.check = None   # State.guard's check of the key, while this is the latest hit
        self.slots = ()     # where the optimizer state its program updates is kept (state.kept checks them)


class CompiledFunction:
    """``fn`` compiled (see the module docstring); call it as ``fn``. ``.code`` is the generated source of the
    latest program, ``.stats`` its counters, ``.program`` the optimized program; ``reset()`` forgets all."""

    def __init__(self, fn, *, fullgraph: bool = False, backend: str = "numpy", cache_limit: int = CACHE_LIMIT):
        if backend not in ("numpy", "eager"):
            raise ValueError(f"chainrule.compile: unknown backend {backend!r}; valid: 'numpy' (generated code) or "
                             "'eager' (the traced program run op by op, for bisecting a mismatch)")
        self.fn, self.fullgraph, self.backend, self.cache_limit = fn, fullgraph, backend, cache_limit
        self.__wrapped__ = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.stats = Stats()
        self._state = None
        self._cache: dict = {}
        self._structures: dict = {}  # number of tensor-only arguments -> their structure's key
        self._latest: _Entry | None = None
        self._last: _Entry | None = None   # the program of the latest hit, tried first (its guard, not the key)
        self._warned: set = set()

    @property
    def code(self) -> str | None:
        """The generated Python source of the latest compiled program (None before one exists)."""
        return None if self._latest is None else self._latest.code

    @property
    def program(self) -> Program | None:
        return None if self._latest is None or self._latest.plan is None else self._latest.plan.program

    def reset(self) -> None:
        """Forget every trace and program (the next calls warm up and trace again)."""
        self._state, self._cache, self._latest, self._last = None, {}, None, None

    def __call__(self, *args, **kwargs):
        last = self._last
        if (last is not None and not kwargs and _state.interpreter is None and _state.vmap_level is None
                and not _state.forward_levels and last.check(args, None)):
            # NOTE: the common call: positional arguments, no transform or trace running (no interpreter), and the
            # previous call's program, checked by its generated guard (State.guard, optimizer state included) on the
            # arguments as they are (structure None: positional; the guard checks each is a tensor where the key
            # had one)
            self.stats.hits += 1
            return last.run(args)
        if active_tracer() is not None or _state.vmap_level is not None or _state.forward_levels:
            # NOTE: inside another trace or a transform the function is just part of what is being recorded.
            return self.fn(*args, **kwargs)
        positional = not kwargs and all(isinstance(a, Tensor) for a in args)
        if positional:
            # NOTE: tensors only: their structure depends on their count alone, so it is built once
            leaves = list(args)
            structure = self._structures.get(len(args))
            if structure is None:
                structure = self._structures[len(args)] = tree_flatten((args, kwargs))[1]._key()
        else:
            leaves, spec = tree_flatten((args, kwargs))
            structure = spec._key()
        if last is not None and last.check(leaves, structure):
            self.stats.hits += 1
            return last.run(leaves)
        entry = None
        if self._state is not None:
            try:
                entry = self._cache.get(self._state.key(leaves, structure))
            except (TypeError, KeyError):  # NOTE: an optimizer setting turned unhashable or went: gathered anew
                entry = None
        if entry is not None and not kept(entry.slots):
            # NOTE: optimizer state its program updates was replaced (opt.state[p][k] = new): traced anew
            self._forget(entry)
            entry = None
        if entry is None:
            # NOTE: a miss gathers the state again: a replaced layer's tensors are found, then the key retried
            self._state = State(self.fn)
            key = self._state.key(leaves, structure)
            entry = self._cache.get(key)
            if entry is None:
                entry = self._new_entry(key)
        if entry.run is not None:
            self.stats.hits += 1
            if self._last is not entry:
                # NOTE: built from the values that gave this key, so it passes exactly where the key would match;
                # only the latest hit keeps one (a guard holds what it checks: replaced layers must not stay alive)
                if self._last is not None:
                    self._last.check = None
                entry.check = self._state.guard(leaves, structure, positional, entry.slots)
                self._last = entry
            return entry.run(leaves)
        entry.calls += 1
        if entry.eager_reason is not None or entry.calls == 1:
            self.stats.eager += 1
            return self.fn(*args, **kwargs)
        return self._trace(entry, args, kwargs, leaves)

    def _forget(self, entry: _Entry) -> None:
        """Drop ``entry`` from the cache (its program refers to tensors that are no longer the ones to use)."""
        self._cache = {key: e for key, e in self._cache.items() if e is not entry}
        if self._last is entry:
            entry.check, self._last = None, None
        self._state = None

    def _new_entry(self, key) -> _Entry:
        if len(self._cache) >= self.cache_limit:
            self._warn_once("cache", f"chainrule.compile: {self.__name__} has been traced for {self.cache_limit} "
                                     "different guard keys (shapes, dtypes, train/eval, ...); later keys run "
                                     "eagerly (raise the limit with options={'cache_limit': n})")
            entry = _Entry()
            entry.eager_reason = "cache limit"
            return entry
        entry = _Entry()
        self._cache[key] = entry
        return entry

    def _trace(self, entry: _Entry, args, kwargs, leaves):
        self.stats.traces += 1
        sources = dict(self._state.sources)
        arg_leaves = []
        for i, leaf in enumerate(leaves):
            if isinstance(leaf, Tensor):
                sources[id(leaf)] = ArgSource(i, f"arg{i}")
                arg_leaves.append(leaf)
        state = _TraceState(sources, self._state.leaves + arg_leaves)
        grads_before = {id(t): t._grad for t in state.leaves}
        tracer = Tracer(state, self.fullgraph, watch=getattr(getattr(self.fn, "__func__", self.fn), "__code__",
                                                             None))
        _name_args(tracer, self.fn, leaves, sources)
        with tracer:
            out = self.fn(*args, **kwargs)
            region = _trace_backward(tracer, state, out) if tracer.broken is None else None
        if tracer.broken is not None:
            reason, line = tracer.broken
            self.stats.graph_breaks += 1
            self.stats.eager += 1
            entry.eager_reason = f"{line}: {reason}"
            self._warn_once(entry.eager_reason, f"chainrule.compile: graph break in {self.__name__} at {line}: "
                                                f"{reason}; calls with these inputs run eagerly")
            return out
        plan = _plan(tracer, state, grads_before, out, region)
        if entry.trace is None:
            entry.trace = plan
            return out
        if not _same_trace(entry.trace, plan):
            entry.eager_reason = "traces differ"
            self._warn_once("differ", f"chainrule.compile: two calls of {self.__name__} with the same input shapes "
                                      "recorded different programs (Python control flow on values that change "
                                      "between calls, or values computed outside chainrule ops); it runs eagerly")
            self.stats.eager += 1
            return out
        name = _code_name(self.__name__)
        if region is None:
            _optimize(plan)
            run, entry.code, _ = build(plan, self.backend, name)
            entry.run = _finish(plan, run, _wrap)
        else:
            forward_ids = {id(eq) for eq in plan.program.equations[:region.split]}
            _optimize(plan)
            region.grads = [None if g is None else plan.program.aliases.get(id(g), g) for g in region.grads]
            compiled = Region(plan, forward_ids, region.inputs, region.grads, region.positions, self.backend, name)
            entry.run, entry.code = _finish(plan, compiled, None), compiled.code
        entry.plan, entry.trace = plan, None
        entry.slots = self._state.slots_of([source for _, source, _ in plan.reads] + [s for s, _ in plan.writes])
        self._latest = entry
        self.stats.compiles += 1
        return out

    def _warn_once(self, key: str, message: str) -> None:
        if self.fullgraph:
            raise Unsupported(message)
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, stacklevel=4)


class _TraceState:
    __slots__ = ("sources", "leaves")

    def __init__(self, sources: dict, leaves: list):
        self.sources, self.leaves = sources, leaves


def _name_args(tracer: Tracer, fn, leaves: list, sources: dict) -> None:
    """Name argument sources after the function's parameters where they map one to one."""
    target = type(fn).forward if hasattr(fn, "_compiled_module") else getattr(fn, "__func__", fn)
    code = getattr(target, "__code__", None)
    if code is None:
        return
    names = code.co_varnames[:code.co_argcount]
    if getattr(fn, "__self__", None) is not None or target is not fn:
        names = names[1:]
    for i, leaf in enumerate(leaves):
        if isinstance(leaf, Tensor) and i < len(names):
            sources[id(leaf)].name = names[i]


def _code_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name) or "compiled"


def _optimize(plan: Plan) -> None:
    """Run the passes; the plan's variables follow the ones common-subexpression elimination merged."""
    plan.program.aliases = {}
    plan.program = optimize(plan.program)
    alias = plan.program.aliases

    def resolve(v):
        return alias.get(id(v), v)
    plan.results = [resolve(v) for v in plan.results]
    plan.writes = [(s, resolve(v)) for s, v in plan.writes]
    plan.grads = [(s, None if v is None else resolve(v)) for s, v in plan.grads]


class _TracedBackward:
    """What :func:`_trace_backward` recorded: where the backward starts, the inputs that require grad (as their
    sources), their gradient variables (None: unused) and the positions of the differentiable results."""

    __slots__ = ("split", "inputs", "grads", "positions")


def _trace_backward(tracer: Tracer, state: _TraceState, out) -> _TracedBackward | None:
    """When results require grad, record their backward for placeholder cotangents (see compiler.region)."""
    results = [leaf for leaf in tree_flatten(out)[0] if isinstance(leaf, Tensor)]
    positions = [i for i, t in enumerate(results) if t.requires_grad]
    if not positions or not _state.grad_enabled:
        return None
    traced = _TracedBackward()
    inputs = [t for t in state.leaves if t.requires_grad]
    traced.split, traced.positions = len(tracer.program.equations), positions
    traced.inputs = [state.sources[id(t)] for t in inputs]
    cotangents = []
    for j, p in enumerate(positions):
        cotangent = _wrap(xp.ones_like(results[p]._data))
        tracer.read(cotangent, CotangentSource(j, f"grad_out{j}"))
        cotangents.append(cotangent)
    tracer.mark("backward")
    grads = autograd_grad([results[p] for p in positions], inputs, cotangents, retain_graph=True, allow_unused=True)
    traced.grads = [None if g is None else tracer.var_of(g) for g in grads]
    return traced


def _plan(tracer: Tracer, state: _TraceState, grads_before: dict, out, region) -> Plan:
    """The trace as a :class:`Plan`."""
    out_leaves, _ = tree_flatten(out)
    results = []
    for leaf in out_leaves:
        if isinstance(leaf, Tensor):
            results.append(tracer.var_of(leaf))
    grads = []
    for t in state.leaves:
        if t._grad is grads_before[id(t)]:
            continue
        grads.append((t, None if t._grad is None else tracer.var_of(t._grad)))
    writes = [(source, v) for _, source, v in tracer.writes.values()]
    program = tracer.program
    program.outputs = results + [v for _, v in writes] + [v for _, v in grads if v is not None]
    if region is not None:
        program.outputs += [g for g in region.grads if g is not None]
    names = {id(v): name for t_id, name in tracer.local_names().items() if (v := tracer.vars.get(t_id))}
    for t, v in grads:
        if v is not None and id(t) in state.sources:
            names[id(v)] = "grad_" + state.sources[id(t)].name
    plan = Plan(program.check(), [(v, s, p) for v, s, p in tracer.reads], writes, grads, results,
                tracer.phases, names)
    plan.grads = [(state.sources[id(t)], v) for t, v in grads]
    plan.grad_keys = [_source_identity(source) for source, _ in plan.grads]
    plan.spec = tree_flatten(out)[1]
    plan.extra = [leaf for leaf in out_leaves if not isinstance(leaf, Tensor)]
    plan.layout = [isinstance(leaf, Tensor) for leaf in out_leaves]
    return plan


def _finish(plan: Plan, run, wrap):
    """``leaves -> the function's result``: ``run(leaves)`` (the result arrays, or tensors when ``wrap`` is None)
    put back into the structure the traced call returned."""
    if plan.layout == [True] and plan.spec.is_leaf():
        # NOTE: the common result, one tensor (a loss): no structure to rebuild on every call
        if wrap is None:
            return lambda leaves: run(leaves)[0]
        return lambda leaves: wrap(run(leaves)[0])

    def finish(leaves):
        tensors = iter(run(leaves) if wrap is None else [wrap(a) for a in run(leaves)])
        extra = iter(plan.extra)
        return tree_unflatten([next(tensors) if is_tensor else next(extra) for is_tensor in plan.layout],
                              plan.spec)
    return finish


def _same_trace(a: Plan, b: Plan) -> bool:
    """Whether two traces recorded the same computation (ops, parameters, constants, sources and effects)."""
    pa, pb = a.program, b.program
    if len(pa.equations) != len(pb.equations) or len(pa.consts) != len(pb.consts):
        return False
    order_a, order_b = _ordinals(pa), _ordinals(pb)
    for ea, eb in zip(pa.equations, pb.equations):
        if isinstance(ea.op, HostOp) or isinstance(eb.op, HostOp):
            if type(ea.op) is not type(eb.op) or ea.op.name != eb.op.name:
                return False
        elif ea.op is not eb.op:
            return False
        if [order_a[id(v)] for v in ea.inputs] != [order_b[id(v)] for v in eb.inputs]:
            return False
        if [(v.shape, v.dtype) for v in ea.outputs] != [(v.shape, v.dtype) for v in eb.outputs]:
            return False
        if not _same_value(ea.params, eb.params):
            return False
    for (va, aa), (vb, ab) in zip(pa.consts.items(), pb.consts.items()):
        if order_a[id(va)] != order_b[id(vb)] or not _same_value(aa, ab):
            return False
    if [_source_identity(s) for _, s, _ in a.reads] != [_source_identity(s) for _, s, _ in b.reads]:
        return False
    return ([order_a[id(v)] for v in pa.outputs] == [order_b[id(v)] for v in pb.outputs]
            and a.grad_keys == b.grad_keys)


def _source_identity(source) -> tuple:
    what = getattr(source, "tensor", None)
    what = getattr(source, "owner", None) if what is None else what
    return (type(source).__name__, source.name, id(what) if what is not None else getattr(source, "index", None))


def _ordinals(program: Program) -> dict:
    order: dict = {}
    for v in list(program.consts) + list(program.inputs):
        order[id(v)] = len(order)
    for eq in program.equations:
        for v in eq.outputs:
            order[id(v)] = len(order)
    return order


def _same_value(a, b) -> bool:
    if isinstance(a, xp.ndarray) or isinstance(b, xp.ndarray):
        return (isinstance(a, xp.ndarray) and isinstance(b, xp.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and bool(xp.array_equal(a, b, equal_nan=a.dtype.kind in "fc")))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:  # NOTE: values that cannot compare (e.g. objects raising in __eq__) count as different
        return a is b
