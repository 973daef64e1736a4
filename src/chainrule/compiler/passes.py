"""Rewrites of a traced program before code generation: dead code, common subexpressions, constant folding,
simplification (values that are already another value), and cross-entropy's backward steps as one.

Each pass takes a :class:`~chainrule.program.Program` whose ``outputs`` are every value the call must produce
(the function's results, the values written into state, the new gradients) and returns it rewritten and checked
(:meth:`~chainrule.program.Program.check`). :func:`optimize` runs them all and checks once at the end: a check
evaluates every op on zeros of its input types, seconds for a convnet step.
"""

from __future__ import annotations

from .._backend import QUIET, errstate_var, xp
from ..ops._primitive import _Scratch
from ..ops.indexing import LogSoftmaxNllBackward
from ..program import Equation, Program
from . import emit

_LITERALS = (int, float, bool, str, type(None))


def is_pure(eq) -> bool:
    """Whether an equation only computes (no random draw, no Python callback, no user Function): the ones
    passes may drop, merge or evaluate ahead of time."""
    op = eq.op
    return not getattr(op, "is_function", False) and not getattr(op, "random", False) and "generator" not in eq.params


def eliminate_dead_code(program: Program) -> Program:
    """Drop the equations none of whose outputs is needed (a pure one), and the inputs nothing reads."""
    return _drop_dead(program).check()


def _drop_dead(program: Program) -> Program:
    live = set(map(id, program.outputs))
    kept = []
    for eq in reversed(program.equations):
        if not is_pure(eq) or any(id(v) in live for v in eq.outputs):
            kept.append(eq)
            live.update(id(v) for v in eq.inputs)
    program.equations = kept[::-1]
    program.consts = {v: a for v, a in program.consts.items() if id(v) in live}
    return program


def eliminate_common_subexpressions(program: Program) -> Program:
    """Compute each pure op once per distinct (op, inputs, parameters); later copies reuse the first result.
    ``program.aliases`` maps the ids of the variables dropped to the ones that replace them."""
    return _merge_common(program).check()


def _merge_common(program: Program) -> Program:
    seen: dict = {}
    alias: dict = program.__dict__.setdefault("aliases", {})
    kept = []
    for eq in program.equations:
        eq.inputs = tuple(alias.get(id(v), v) for v in eq.inputs)
        # NOTE: a clone exists to give its result a buffer of its own (e.g. each leaf's .grad): never shared
        key = _key(eq) if is_pure(eq) and eq.op.name != "clone" else None
        first = seen.get(key) if key is not None else None
        if first is None:
            if key is not None:
                seen[key] = eq
            kept.append(eq)
            continue
        for old, new in zip(eq.outputs, first.outputs):
            alias[id(old)] = new
    program.equations = kept
    program.outputs = [alias.get(id(v), v) for v in program.outputs]
    return program


def _key(eq):
    try:
        params = tuple(sorted((k, _frozen(v)) for k, v in eq.params.items()))
        return (eq.op, tuple(map(id, eq.inputs)), params)
    except TypeError:  # NOTE: a parameter that cannot be compared cheaply: the equation is left alone
        return None


def _frozen(value):
    if isinstance(value, _LITERALS):
        return (type(value), value)
    if isinstance(value, (tuple, list)):
        return (type(value), tuple(_frozen(v) for v in value))
    if isinstance(value, xp.dtype):
        return (xp.dtype, value.str)
    raise TypeError


def fold_constants(program: Program) -> Program:
    """Evaluate, once, the pure equations whose inputs are all constants; their outputs become constants."""
    return _fold(program).check()


def _fold(program: Program) -> Program:
    kept = []
    token = errstate_var.set(QUIET)
    try:
        for eq in program.equations:
            if not is_pure(eq) or not all(v in program.consts for v in eq.inputs):
                kept.append(eq)
                continue
            ctx = _Scratch()
            ctx.params = eq.params
            out = eq.op.forward(ctx, *[program.consts[v] for v in eq.inputs], **eq.params)
            for v, a in zip(eq.outputs, out if isinstance(out, tuple) else (out,)):
                program.consts[v] = xp.asarray(a)
    finally:
        errstate_var.reset(token)
    program.equations = kept
    return program


def simplify(program: Program) -> Program:
    """Rewrite away the equations whose result is already another value, bitwise (then common subexpressions and
    dead code, until nothing changes). Their results become aliases (``program.aliases``) of:

    - the input, for an alias, a reshape, expand or sum_to to the input's own shape, a transpose of a dim with
      itself and an identity permute (views: the eager result shares the input's memory too);
    - the first transpose's input, for a transpose of a transpose of the same two dims;
    - the input, for a copy (clone, or to_copy to the same dtype) and a product with (or quotient by) a constant
      of ones, where no one can tell the buffers apart: the result is not among the program's outputs, or the
      input is read by nothing else, is not one, and has memory of its own (a fresh array, or a reshape of one
      nothing else reads); no user Function or callback reads either (it could write into it); and the input
      is C-contiguous (:class:`~chainrule.compiler.emit.Layouts`) as the copy is, or 0-d.

    Inputs of broadcasting elementwise ops that are an expand (or a reshape adding leading 1s) of a value that
    broadcasts to the same result are replaced by that value: broadcasting gives the same elements.
    """
    return _simplify_all(program).check()


def _simplify_all(program: Program) -> Program:
    while True:
        count = len(program.equations)
        program = _drop_dead(_merge_common(_simplify_once(program)))
        if len(program.equations) == count:
            return program


class _Uses:
    """Who reads each value of a program: ``readers[id(v)]`` (equations), ``kept`` (ids of its outputs)."""

    def __init__(self, program: Program):
        self.producer = {id(v): eq for eq in program.equations for v in eq.outputs}
        self.readers: dict = {}
        for eq in program.equations:
            for v in eq.inputs:
                self.readers.setdefault(id(v), []).append(eq)
        self.kept = set(map(id, program.outputs))
        self.layouts = emit.Layouts(program.equations, program.consts)

    def count(self, v) -> int:
        return len(self.readers.get(id(v), ())) + (id(v) in self.kept)

    def merge(self, old, new) -> None:
        """``old``'s readers now read ``new``."""
        self.readers.setdefault(id(new), []).extend(self.readers.get(id(old), ()))
        if id(old) in self.kept:
            self.kept.add(id(new))


def _simplify_once(program: Program) -> Program:
    alias: dict = program.__dict__.setdefault("aliases", {})
    uses = _Uses(program)
    kept = []
    for eq in program.equations:
        eq.inputs = tuple(alias.get(id(v), v) for v in eq.inputs)
        if not is_pure(eq) or getattr(eq.op, "is_function", False) or len(eq.outputs) != 1:
            kept.append(eq)
            continue
        _absorb_broadcasts(eq, uses)
        same = _same_value(eq, program, uses)
        if same is None:
            kept.append(eq)
            continue
        alias[id(eq.outputs[0])] = same
        uses.merge(eq.outputs[0], same)
    program.equations = kept
    program.outputs = [alias.get(id(v), v) for v in program.outputs]
    return program


def _same_value(eq, program: Program, uses: _Uses):
    """The value equal to ``eq``'s result, bit for bit, that may stand for it (see :func:`simplify`), or None."""
    name, out = eq.op.name, eq.outputs[0]
    x = eq.inputs[0] if eq.inputs else None
    if x is None:
        return None
    if name == "transpose":
        first = uses.producer.get(id(x))
        if first is not None and first.op.name == "transpose" and set(_swapped(first)) == set(_swapped(eq)):
            return first.inputs[0]
    if (x.shape, x.dtype) != (out.shape, out.dtype) and name not in ("mul", "div"):
        return None
    if name in ("reshape", "expand", "sum_to", "alias") or name == "transpose" and len(set(_swapped(eq))) == 1:
        return x
    if name == "permute":
        return x if tuple(d % len(x.shape) for d in eq.params["dims"]) == tuple(range(len(x.shape))) else None
    if name == "clone" or name == "to_copy" and eq.params["dtype"] == x.dtype:
        return x if _may_share(eq, x, uses) else None
    if name in ("mul", "div") and len(eq.inputs) == 2:
        a, b = eq.inputs
        for value, factor in ((a, b), (b, a)) if name == "mul" else ((a, b),):
            if (value.shape, value.dtype) == (out.shape, out.dtype) and _ones(program, factor):
                return value if _may_share(eq, value, uses) else None
    return None


def _swapped(eq) -> tuple:
    ndim = len(eq.inputs[0].shape) or 1
    return (eq.params["dim0"] % ndim, eq.params["dim1"] % ndim)


def _ones(program: Program, v) -> bool:
    array = program.consts.get(v)
    return array is not None and bool((array == 1).all())


def _may_share(eq, x, uses: _Uses) -> bool:
    """Whether ``eq``'s result (a new array equal to ``x``) may be ``x`` itself."""
    out = eq.outputs[0]
    readers = uses.readers.get(id(out), []) + uses.readers.get(id(x), [])
    if any(getattr(r.op, "is_function", False) for r in readers):
        return False
    # NOTE: a copy is C-contiguous: the value standing for it must be too (a 0-d one has no layout), so that what
    # reads it adds in the same order.
    if x.shape and id(x) not in uses.layouts.contiguous:
        return False
    return id(out) not in uses.kept or uses.count(x) == 1 and id(x) not in uses.kept and _owned(x, uses)


def _owned(x, uses: _Uses) -> bool:
    """Whether ``x``'s memory is its own: a fresh array, or a reshape of one nothing else reads."""
    eq = uses.producer.get(id(x))
    while eq is not None and eq.op.name == "reshape" and uses.count(eq.inputs[0]) == 1:
        eq = uses.producer.get(id(eq.inputs[0]))
    return eq is not None and emit.is_fresh(eq)


def _absorb_broadcasts(eq, uses: _Uses) -> None:
    """Replace the inputs of a broadcasting elementwise ``eq`` that only broadcast a value (see simplify)."""
    if not getattr(eq.op, "broadcasts", False) or not emit.is_elementwise(eq):
        return
    inputs = list(eq.inputs)
    for i, v in enumerate(inputs):
        while (source := _broadcast_source(uses.producer.get(id(v)))) is not None:
            trial = inputs[:i] + [source] + inputs[i + 1:]
            if xp.broadcast_shapes(*[u.shape for u in trial]) != eq.outputs[0].shape:
                break
            v = inputs[i] = source
            uses.readers.setdefault(id(source), []).append(eq)
    eq.inputs = tuple(inputs)


def _broadcast_source(eq):
    """The input of an expand, or of a reshape that only adds or drops leading 1s; else None."""
    if eq is None or eq.op.name not in ("expand", "reshape") or not is_pure(eq):
        return None
    x = eq.inputs[0]
    if eq.op.name == "reshape" and _strip_ones(x.shape) != _strip_ones(eq.outputs[0].shape):
        return None
    return x


def _strip_ones(shape: tuple) -> tuple:
    k = 0
    while k < len(shape) and shape[k] == 1:
        k += 1
    return tuple(shape[k:])


def fuse_cross_entropy_backward(program: Program) -> Program:
    """Write each backward of ``nll(log_softmax(x))`` as one :class:`~chainrule.ops.indexing.LogSoftmaxNllBackward`
    (the same bits, at a third of the NumPy calls): the steps the engine runs for it,

        G = nll_scatter(g, target)    E = exp(out)    S = sum(G, dim, keepdim)    M = E * S    R = G - M

    where G, E, S and M are read by nothing else, become ``R = log_softmax_nll_backward(g, target, out)``."""
    return _fuse_cross_entropy(program).check()


def _fuse_cross_entropy(program: Program) -> Program:
    uses = _Uses(program)
    for k, eq in enumerate(program.equations):
        found = _cross_entropy_backward(eq, uses)
        if found is not None:
            scatter, out = found
            params = {key: scatter.params[key] for key in ("dim", "ignore_index", "reduction")}
            fused = program.equations[k] = Equation(LogSoftmaxNllBackward, (*scatter.inputs, out), params,
                                                    eq.outputs)
            # NOTE: in the place of the first step (the backward phase may begin there; see optimize)
            positions = getattr(program, "positions", None)
            if positions is not None and id(scatter) in positions:
                positions[id(fused)] = positions[id(scatter)]
    return _drop_dead(program)


def _cross_entropy_backward(eq, uses: _Uses):
    """``(the nll_scatter equation, log_softmax's result)`` when ``eq`` is ``R = G - M`` of the steps
    :func:`fuse_cross_entropy_backward` names; else None."""
    if eq.op.name != "sub" or not is_pure(eq):
        return None
    picked, product = eq.inputs
    scatter, mul = uses.producer.get(id(picked)), uses.producer.get(id(product))
    if scatter is None or mul is None or scatter.op.name != "nll_scatter" or mul.op.name != "mul":
        return None
    factors = [uses.producer.get(id(v)) for v in mul.inputs]
    if None in factors or sorted(f.op.name for f in factors) != ["exp", "sum"]:
        return None
    exp, total = factors if factors[0].op.name == "exp" else factors[::-1]
    out, dim = exp.inputs[0], scatter.params["dim"]
    dims = total.params["dims"]
    if (total.inputs[0] is not picked or not total.params["keepdim"] or total.params.get("dtype") is not None
            or tuple(d % len(out.shape) for d in (dims if isinstance(dims, tuple) else (dims,))) != (dim,)):
        return None
    if len({v.dtype for v in (picked, out, eq.outputs[0])}) != 1 or out.shape != picked.shape:
        return None
    single = all(uses.count(v) == 1 for v in (exp.outputs[0], total.outputs[0], product))
    return (scatter, out) if single and uses.count(picked) == 2 and all(map(is_pure, (scatter, mul, exp, total))) \
        else None


def _resolve_chains(program: Program) -> Program:
    """Point every alias at the value that stands for it now (a value merged by one pass may be by a later)."""
    alias = program.__dict__.setdefault("aliases", {})
    for key, v in alias.items():
        while id(v) in alias:
            v = alias[id(v)]
        alias[key] = v
    return program


# NOTE: the passes unchecked, in order: constant folding, common subexpressions, dead code, simplification, fusion
PASSES = (_fold, _merge_common, _drop_dead, _simplify_all, _fuse_cross_entropy, _resolve_chains)


def optimize(program: Program) -> Program:
    """Every pass in turn, then the check. ``program.positions`` maps the ids of the equations to their places
    before the passes (where the traced call's phases began: forward, backward, update)."""
    program.positions = {id(eq): k for k, eq in enumerate(program.equations)}
    for run in PASSES:
        program = run(program)
    return program.check()
