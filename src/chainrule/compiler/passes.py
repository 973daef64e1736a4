"""Rewrites of a traced program before code generation: dead code, common subexpressions, constant folding.

Each pass takes a :class:`~chainrule.program.Program` whose ``outputs`` are every value the call must produce
(the function's results, the values written into state, the new gradients) and returns it rewritten; the
program is checked after each one (:meth:`~chainrule.program.Program.check`).
"""

from __future__ import annotations

from .._backend import QUIET, errstate_var, xp
from ..ops._primitive import _Scratch
from ..program import Program

_LITERALS = (int, float, bool, str, type(None))


def is_pure(eq) -> bool:
    """Whether an equation only computes (no random draw, no Python callback, no user Function): the ones
    passes may drop, merge or evaluate ahead of time."""
    op = eq.op
    return not getattr(op, "is_function", False) and not getattr(op, "random", False) and "generator" not in eq.params


def eliminate_dead_code(program: Program) -> Program:
    """Drop the equations none of whose outputs is needed (a pure one), and the inputs nothing reads."""
    live = set(map(id, program.outputs))
    kept = []
    for eq in reversed(program.equations):
        if not is_pure(eq) or any(id(v) in live for v in eq.outputs):
            kept.append(eq)
            live.update(id(v) for v in eq.inputs)
    program.equations = kept[::-1]
    program.consts = {v: a for v, a in program.consts.items() if id(v) in live}
    return program.check()


def eliminate_common_subexpressions(program: Program) -> Program:
    """Compute each pure op once per distinct (op, inputs, parameters); later copies reuse the first result.
    ``program.aliases`` maps the ids of the variables dropped to the ones that replace them."""
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
    return program.check()


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
    return program.check()


PASSES = (fold_constants, eliminate_common_subexpressions, eliminate_dead_code)


def optimize(program: Program) -> Program:
    """Every pass in turn."""
    for run in PASSES:
        program = run(program)
    return program
