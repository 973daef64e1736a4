"""Code generation: a traced program as one flat Python function on raw arrays (the lecture's flat backprop).

Each equation becomes one line calling its primitive's forward on arrays, named after the user's tensors and
parameters; the forward block comes first, then the backward block (the engine's VJPs, in the order it ran
them: the lecture's backward lines in reverse), then the optimizer update. The function reads its inputs from
their sources (arguments, parameters, optimizer state, gradients, hyper-parameters), writes the new values into
the state it updated in place, assigns new gradients, and returns the arrays of the function's results.

``backend="numpy"`` compiles the source with ``compile``/``exec``; ``backend="eager"`` interprets the same
program op by op through ``apply`` (for bisecting a mismatch between compiled and eager runs).
"""

from __future__ import annotations

import keyword
import math
import re
from functools import partial

from .._backend import QUIET, ensure_array, errstate_var, xp
from ..ops._primitive import _Scratch
from ..tensor import _wrap
from . import emit
from .state import ArgSource, ArraySource, GradSource, ObjectSource, ScalarSource
from .tracer import HostOp


class Plan:
    """A traced program and what its call does besides computing: which inputs come from which source, the
    state written in place (``writes``: (source, Var)), the gradients assigned (``grads``: (source of the leaf,
    Var or None)),
    the function's results (``results``: Vars) and the phases' start positions."""

    def __init__(self, program, reads, writes, grads, results, phases, local_names):
        self.program, self.reads, self.writes, self.grads = program, reads, writes, grads
        self.results, self.phases, self.local_names = results, phases, local_names


def _identifier(text: str, used: set) -> str:
    hidden = text.startswith("_")
    base = re.sub(r"\W", "_", text).strip("_") or "t"
    if base[0].isdigit() or keyword.iskeyword(base):
        base = "v_" + base
    base = "_" + base if hidden else base
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}_{n}"
    used.add(name)
    return name


def _literal(value) -> str | None:
    """``value`` as Python source, when it is a plain literal (else None: it is bound by name)."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, tuple):
        parts = [_literal(v) for v in value]
        if all(p is not None for p in parts):
            return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    return None


class _Writer:
    def __init__(self, plan: Plan):
        self.plan = plan
        self.names: dict = {}       # id(Var) -> identifier
        self.namespace: dict = {"_ensure": ensure_array, "_wrap": _wrap, "_xp": xp, "_QUIET": QUIET,
                                "_errstate": errstate_var, "_f64": xp.float64, **emit.NAMES}
        # NOTE: the code's own names are taken: a user's variable called ``_sum`` becomes ``_sum_2``
        self.used: set = set(self.namespace) | {"_leaves", "_token"}
        self.lines: list = []
        self.forwards: dict = {}
        self.refs: dict = {}
        self.buffers: dict = {}     # equation index -> the input whose buffer its result reuses
        self.into: dict = {}        # equation index -> the state array its result is written into (source text)
        self.updates: set = set()   # the equations of ``into`` whose result nothing reads: ``w += g``

    def bind(self, value, hint: str) -> str:
        name = _identifier(hint, self.used)
        self.namespace[name] = value
        return name

    def ref(self, obj, hint: str) -> str:
        """The name bound to object ``obj`` (a tensor the code reads or writes), the same name every time."""
        if id(obj) not in self.refs:
            self.refs[id(obj)] = self.bind(obj, hint)
        return self.refs[id(obj)]

    def forward_name(self, op) -> str:
        """One name per primitive: its forward with a scratch ctx bound in (a C-level partial), so that a line
        reads as the maths, ``q = add(x, y)``. Forwards take their parameters as arguments, never from ctx."""
        if op not in self.forwards:
            self.forwards[op] = self.bind(partial(op.forward, _Scratch()), op.name)
        return self.forwards[op]

    def name(self, v, hint: str) -> str:
        if id(v) not in self.names:
            self.names[id(v)] = _identifier(hint, self.used)
        return self.names[id(v)]

    def source_line(self, v, source) -> str:
        target = self.name(v, source.name or "input")
        if isinstance(source, ArgSource):
            return f"{target} = _leaves[{source.index}]._data"
        if isinstance(source, ObjectSource):
            return f"{target} = {self.ref(source.tensor, '_' + source.name)}._data"
        if isinstance(source, GradSource):
            return f"{target} = {self.ref(source.owner, '_' + source.name)}._grad._data"
        if isinstance(source, ArraySource):
            return f"{target} = _leaves[{source.index}]"
        if isinstance(source, ScalarSource):
            # NOTE: a NumPy float64 scalar (the value the traced 0-d float64 tensor held), as 0-d values flow
            return f"{target} = _f64({self.bind(source.getter, source.name)}())"
        raise TypeError(f"unknown source {source!r}")

    def equation_line(self, k: int, eq, backward: bool) -> str:
        outs = [self.name(v, self.plan.local_names.get(id(v)) or (f"g{k}" if backward else f"t{k}"))
                for v in eq.outputs]
        args = [self.names[id(v)] for v in eq.inputs]
        lhs = ", ".join(outs) + ("," if len(outs) == 1 and len(eq.outputs) != 1 else "")
        if isinstance(eq.op, HostOp):
            call = f"{self.bind(eq.op.run, eq.op.name)}({', '.join(args)})"
            return f"{', '.join(outs)}, = {call}" if outs else call
        if getattr(eq.op, "is_function", False):
            run = self.bind(_function_runner(eq.op, eq.params), eq.op.__name__)
            return f"{lhs} = {run}({', '.join(args)})"
        if k in self.updates:
            return emit.update(eq, args, self.value, self.into[k])
        target = self.into.get(k, self.names[id(self.buffers[k])] if k in self.buffers else None)
        direct = (emit.into(eq, args, self.value, target) if target is not None else
                  emit.expression(eq, args, self.value))
        if direct is not None:
            return f"{lhs} = {direct}"
        kwargs = [f"{key}={self.value(key, value)}" for key, value in eq.params.items()]
        return f"{lhs} = {self.forward_name(eq.op)}({', '.join(args + kwargs)})"

    def value(self, key: str, value) -> str:
        """A parameter's value as source: the literal, or a name bound to it."""
        text = _literal(value)
        return text if text is not None else self.bind(value, key)

    def array(self, v) -> str:
        """``v`` where an array is required: NumPy gives 0-d results as scalars, which flow between the lines
        (as NumPy computes with them alike) and become arrays only where they leave the code."""
        return f"_ensure({self.names[id(v)]})" if v.shape == () else self.names[id(v)]


def _const_hint(array) -> str:
    """A constant's name: its value for a number (``c0_9`` for 0.9), ``const`` otherwise."""
    if array.ndim == 0 and array.dtype.kind in "biuf":
        return "c" + str(array.item()).replace(".", "_").replace("-", "m")
    return "const"


def _function_runner(op, params: dict):
    """A user ``autograd.Function`` in generated code: its forward on arrays (the engine is not involved)."""
    def run(*arrays):
        out = op.apply(*op.arguments(tuple(_wrap(ensure_array(a)) for a in arrays), params))
        return tuple(t._data for t in out) if isinstance(out, tuple) else out._data
    return run


def generate(plan: Plan, name: str = "compiled") -> tuple[str, dict, dict]:
    """``(source, namespace, names)`` of the function ``name(_leaves) -> list of result arrays``; ``names`` maps
    the ids of the program's variables to their identifiers in the code."""
    w = _Writer(plan)
    program = plan.program
    _follow_names(plan)
    for v, array in program.consts.items():
        w.names[id(v)] = w.bind(array, _const_hint(array))
    # NOTE: tensors are read on entry; a hyper-parameter right before its first use, after any callback
    # (a scheduler's step) that ran before it in the traced call.
    late = {}
    for v, source, _ in plan.reads:
        if isinstance(source, ScalarSource):
            late[id(v)] = (v, source)
        else:
            w.lines.append(w.source_line(v, source))
    memory = _Memory(plan)
    early = memory.early_writes()
    w.into = {k: _state_array(w, program.equations[k], source, into) for k, writes in early.items()
              for source, _, into in writes if into is not None}
    w.buffers = memory.buffers(set(w.into))
    written = {id(v): source for writes in early.values() for source, v, _ in writes}
    w.updates = {k for k in w.into if id(program.equations[k].outputs[0]) not in memory.readers}
    unnamed = {id(program.equations[k].outputs[0]) for k in w.updates}
    dying = {k: [v for v in vs if id(v) not in unnamed] for k, vs in _last_uses(plan, set(written)).items()}
    phases = _phase_starts(plan)
    backward = False
    if 0 not in phases:
        w.lines.append("# forward")
    for k, eq in enumerate(program.equations):
        if k in phases:
            backward = phases[k] == "backward"
            w.lines.append(f"# {phases[k]}")
        for v in eq.inputs:
            if id(v) in late:
                w.lines.append(w.source_line(*late.pop(id(v))))
        w.lines.append(w.equation_line(k, eq, backward))
        w.lines += [_write_lines(w, source, v)[0] for source, v, into in early.get(k, ()) if into is None]
        if dying.get(k):
            w.lines.append("del " + ", ".join(w.names[id(v)] for v in dying[k]))
    if plan.writes or plan.grads:
        w.lines.append("# state")
    for source, v in plan.writes:
        copy, bump = _write_lines(w, source, v)
        w.lines += [line for line in ((copy if id(v) not in written else None), bump) if line is not None]
    for source, v in plan.grads:
        owner = f"_leaves[{source.index}]" if isinstance(source, ArgSource) else w.ref(source.tensor,
                                                                                          "_" + source.name)
        w.lines.append(f"{owner}._grad = {'None' if v is None else '_wrap(' + w.array(v) + ')'}")
    results = ", ".join(w.array(v) for v in plan.results)
    body = ["_token = _errstate.set(_QUIET)", "try:"] + ["    " + line for line in w.lines]
    body += [f"    return [{results}]", "finally:", "    _errstate.reset(_token)"]
    source = f"def {name}(_leaves):\n" + "\n".join("    " + line for line in body) + "\n"
    return source, w.namespace, w.names


def _phase_starts(plan: Plan) -> dict:
    """``{equation index: phase}``: each phase begins at the first equation the passes kept from it."""
    positions = getattr(plan.program, "positions", None)
    if positions is None:
        return dict(plan.phases)
    places = [positions.get(id(eq), -1) for eq in plan.program.equations]
    starts = {}
    for position, phase in plan.phases:
        k = next((k for k, place in enumerate(places) if place >= position), None)
        if k is not None:
            starts[k] = phase
    return starts


def _follow_names(plan: Plan) -> None:
    """A value that stands for one the passes dropped (``program.aliases``) takes its name, when it has none:
    ``.grad`` values are named ``grad_<parameter>`` whichever value they are now."""
    names = plan.local_names
    for old, v in getattr(plan.program, "aliases", {}).items():
        if old in names:
            names.setdefault(id(v), names[old])
    for source, v in plan.grads:
        if v is not None and source.name:
            names.setdefault(id(v), "grad_" + source.name)


def _last_uses(plan: Plan, written: set) -> dict:
    """``{equation index: variables read there for the last time}``: deleting them there frees their buffers
    as the eager engine frees a graph's, so the generated code's peak memory is no higher than eager's.
    ``written``: ids of the state values already written where they were computed (no longer needed after)."""
    program = plan.program
    kept = {id(v) for v in plan.results} | {id(v) for _, v in plan.writes if id(v) not in written}
    kept |= {id(v) for _, v in plan.grads if v is not None} | {id(v) for v in program.consts}
    last: dict = {}
    for k, eq in enumerate(program.equations):
        for v in eq.inputs:
            last[id(v)] = (k, v)
        for v in eq.outputs:
            last.setdefault(id(v), (k, v))
    dying: dict = {}
    for key, (k, v) in last.items():
        if key not in kept:
            dying.setdefault(k, []).append(v)
    return dying


class _Memory:
    """Which values may share memory, and until when each buffer is read.

    ``roots[id(v)]``: the buffers ``v`` may be a view of: its own for a program input, a constant or a fresh
    result (:func:`~chainrule.compiler.emit.is_fresh`), its inputs' for any other (a view, a wrapper's result).
    ``end[buffer]``: the last equation that may read it (``inf``: it leaves the code, as a result, gradient or
    state written at the end)."""

    def __init__(self, plan: Plan):
        program = self.program = plan.program
        self.plan = plan
        self.layouts = emit.Layouts(program.equations, program.consts)
        self.fresh, self.producer = set(), {}
        roots = self.roots = {id(v): (id(v),) for v in [*program.inputs, *program.consts]}
        for k, eq in enumerate(program.equations):
            shared = tuple({r for v in eq.inputs for r in roots.get(id(v), ())})
            for v in eq.outputs:
                self.producer[id(v)] = k
                roots[id(v)] = (id(v),) if emit.is_fresh(eq) else shared
                if emit.is_fresh(eq):
                    self.fresh.add(id(v))
        self.readers: dict = {}
        self._free: dict | None = None
        end = self.end = {}
        for k, eq in enumerate(program.equations):
            for v in eq.inputs:
                self.readers.setdefault(id(v), []).append(k)
                end.update(dict.fromkeys(roots.get(id(v), ()), k))
        leaving = [*program.outputs, *plan.results, *(v for _, v in plan.writes), *(v for _, v in plan.grads)]
        for v in leaving:
            if v is not None:
                end.update(dict.fromkeys(roots.get(id(v), ()), math.inf))

    def early_writes(self) -> dict:
        """``{equation index: [(source, value, into)]}``: the state written right where its new value is computed
        rather than at the end, so that it does not stay alive with all the others (eager optimizers update each
        parameter in turn). That needs the state's old value read by nothing later, and its array sharing no
        memory with any other state's (checked now on the arrays: parameters are not views of each other).
        ``into``: the program input holding the old value, when the new one is computed straight into its array
        (an elementwise result whose layout nothing depends on, :meth:`layout_free`: ``w += g``); else None (a
        copy after the line)."""
        reads = [(v, source) for v, source, _ in self.plan.reads if isinstance(source, (ObjectSource, GradSource))]
        arrays = {id(source): _array_of(source) for _, source in reads}
        by_owner: dict = {}     # id(array owning the memory) -> the sources viewing it; None: a foreign buffer
        for _, s in reads:
            if arrays[id(s)] is not None:
                by_owner.setdefault(_memory_owner(arrays[id(s)]), []).append(s)
        early: dict = {}
        for source, value in self.plan.writes:
            k = self.producer.get(id(value))
            array = _array_of(source)
            if k is None or array is None or not isinstance(source, (ObjectSource, GradSource)):
                continue
            old = [v for v, s in reads if _same_source(s, source)]
            if any(self.end.get(id(v), -1) > k for v in old):
                continue
            owner = _memory_owner(array)
            suspects = [s for _, s in reads] if owner is None else by_owner.get(owner, []) + by_owner.get(None, [])
            if any(not _same_source(s, source) and arrays[id(s)] is not None
                   and xp.may_share_memory(arrays[id(s)], array) for s in suspects):
                continue
            eq = self.program.equations[k]
            into = old[0] if (old and emit.has_ufunc(eq) and self.layout_free(value)
                              and (old[0].shape, old[0].dtype) == (value.shape, value.dtype)
                              and sum(v is value for _, v in self.plan.writes) == 1) else None
            early.setdefault(k, []).append((source, value, into))
        return early

    def layout_free(self, v) -> bool:
        """Whether nothing depends on ``v``'s memory layout: it is read only by elementwise ops whose results are
        layout-free in turn, and leaves the code only by being copied into state (not as a result or gradient).
        Such a value may be computed into an array of any layout (a parameter's)."""
        if self._free is None:
            # NOTE: readers come after the values they read: one pass from the end settles every value
            taken_out = {id(r) for r in self.plan.results} | {id(g) for _, g in self.plan.grads}
            self._free = {}
            for eq in reversed(self.program.equations):
                for out in eq.outputs:
                    readers = [self.program.equations[k] for k in self.readers.get(id(out), ())]
                    self._free[id(out)] = id(out) not in taken_out and all(
                        emit.is_elementwise(r) and self._free.get(id(r.outputs[0]), False) for r in readers)
        return self._free.get(id(v), False)

    def buffers(self, taken: set) -> dict:
        """``{equation index: input variable}``: the elementwise results written into the buffer of an input
        that dies there (``_xp.add(t1, b, out=t1)``), saving an allocation and the memory of one array. The
        input must be a fresh array or a view of one (a reshape), of the result's shape and dtype, C-contiguous
        as the result would be (:class:`~chainrule.compiler.emit.Layouts`), whose memory no value (it, a view,
        a wrapper's result) reads later or takes out of the code. ``taken``: equations written into state
        already."""
        contiguous = self.layouts.contiguous
        buffers = {}
        for k, eq in enumerate(self.program.equations):
            out = eq.outputs[0] if len(eq.outputs) == 1 else None
            if k in taken or out is None or not emit.has_ufunc(eq) or id(out) not in contiguous:
                continue
            for v in eq.inputs:
                root = self.roots.get(id(v), ())
                if (len(root) == 1 and root[0] in self.fresh and self.end[root[0]] == k and id(v) in contiguous
                        and (v.shape, v.dtype) == (out.shape, out.dtype)):
                    buffers[k] = v
                    break
        return buffers


def _state_array(w: _Writer, eq, source, old) -> str:
    """The state array ``eq`` writes into: the name of its old value where ``eq`` reads it (still bound)."""
    if any(v is old for v in eq.inputs):
        return w.names[id(old)]
    if isinstance(source, ObjectSource):
        return f"{w.ref(source.tensor, '_' + source.name)}._data"
    return f"{w.ref(source.owner, '_' + source.name)}._grad._data"


def _same_source(a, b) -> bool:
    if isinstance(a, ObjectSource) and isinstance(b, ObjectSource):
        return a.tensor is b.tensor
    return isinstance(a, GradSource) and isinstance(b, GradSource) and a.owner is b.owner


def _memory_owner(array):
    """The id of the array whose memory ``array`` is (itself or its base), or None for a buffer NumPy does not
    own (two of those may overlap whatever their ids)."""
    base = array if array.base is None else array.base
    return id(base) if isinstance(base, xp.ndarray) and base.base is None and base.flags.owndata else None


def _array_of(source):
    """The array a state source holds now (None for a ``.grad`` that is None)."""
    if isinstance(source, ObjectSource):
        return source.tensor._data
    grad = source.owner._grad
    return None if grad is None else grad._data


def _write_lines(w: _Writer, source, v) -> tuple:
    """The statement copying ``v`` into ``source``'s array, and the one bumping its version (or None)."""
    value = w.array(v)
    if isinstance(source, ObjectSource):
        target = w.ref(source.tensor, "_" + source.name)
        # NOTE: a tensor keeps the version counter it has once made (views share theirs): bound by name
        version = w.ref(source.tensor._counter(), "_version_" + source.name)
        return f"{target}._data[...] = {value}", f"{version}[0] += 1"
    if isinstance(source, GradSource):
        return f"{w.ref(source.owner, '_' + source.name)}._grad._data[...] = {value}", None
    if isinstance(source, ArgSource):
        return f"_leaves[{source.index}]._data[...] = {value}", f"_leaves[{source.index}]._counter()[0] += 1"
    raise TypeError(f"cannot write into {source!r}")


def build(plan: Plan, backend: str, name: str = "compiled"):
    """The runnable form of ``plan``: ``(run(leaves) -> result arrays, code, names)`` (see generate); ``code``
    is the source to read: the one that runs less its ``del`` lines."""
    source, namespace, names = generate(plan, name)
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("del ")) + "\n"
    if backend == "eager":
        return _interpreter(plan), code, names
    exec(compile(source, f"<chainrule.compile {name}>", "exec"), namespace)  # noqa: S102
    return namespace[name], code, names


def _interpreter(plan: Plan):
    """``backend="eager"``: the same program run op by op on tensors (:meth:`Program.run`, through ``apply``)."""
    program = plan.program

    def run(leaves):
        # NOTE: the program's inputs are the plan's reads, in order; its outputs include every value used below
        values = program.run(*[_wrap(xp.asarray(source.read(leaves))) for _, source, _ in plan.reads])
        env = {id(v): t for v, t in zip(program.outputs, values)}
        for source, v in plan.writes:
            target = source.tensor_in(leaves)
            target._data[...] = env[id(v)]._data
            target._counter()[0] += 1
        for source, v in plan.grads:
            source.tensor_in(leaves)._grad = None if v is None else _wrap(env[id(v)]._data)
        return [env[id(v)]._data for v in plan.results]
    return run
