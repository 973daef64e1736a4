"""A recorded program in typed form: a flat list of equations, as JAX's jaxpr.

An :class:`Equation` is one op application: the primitive (or user Function), its input variables, its
parameters (the declared mapping) and its output variables, each :class:`Var` typed by shape and dtype.
A :class:`Program` holds the inputs, the constants it captured, the equations in order and the outputs; it
prints one line per equation, and :meth:`Program.check` validates it: every variable defined before use,
parameters as the primitive's schema declares them, and each equation's output types as the primitive
computes them from its input types. :func:`record` builds one by running a function under a
:class:`Recorder`, an interpreter on the stack that sees every op the function applies (and only those:
the ops inside rules run below it).

Example::

    >>> program, out = chainrule.program.record(lambda x, y: (x + y) * y, chainrule.ones(2), chainrule.ones(2))
    >>> print(program)
    { lambda ; a:f32[2] b:f32[2]. let
        c:f32[2] = add a b
        d:f32[2] = mul c b
      in (d) }
"""

from __future__ import annotations

import itertools
import string
import sys

from ._backend import xp
from ._dtype import from_numpy_dtype
from .ops._primitive import Interpreter, _Scratch, apply
from .ops.linalg import LinAlgError
from .tensor import Tensor, _wrap

__all__ = ["Var", "Equation", "Program", "Recorder", "record", "trace", "ProgramError"]


class ProgramError(RuntimeError):
    """A program failed its check: the message names the equation, its op and what is wrong."""


class Var:
    """A value of a program: its ``shape`` and NumPy ``dtype``; ``name`` is given when printed."""

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape: tuple, dtype, name: str = ""):
        self.shape, self.dtype, self.name = tuple(shape), dtype, name

    def type_text(self) -> str:
        short = from_numpy_dtype(self.dtype).name.replace("float", "f").replace("uint", "u").replace("int", "i")
        return f"{short}[{','.join(str(s) for s in self.shape)}]"

    def __repr__(self) -> str:
        return f"{self.name}:{self.type_text()}"


class Equation:
    """``outputs = op(inputs, **params)``."""

    __slots__ = ("op", "inputs", "params", "outputs")

    def __init__(self, op, inputs: tuple, params: dict, outputs: tuple):
        self.op, self.inputs, self.params, self.outputs = op, inputs, params, outputs

    def __repr__(self) -> str:
        outs = " ".join(repr(v) for v in self.outputs)
        shown = {k: v for k, v in self.params.items() if k not in ("args", "positions")}
        params = "[" + " ".join(f"{k}={_short(v)}" for k, v in shown.items()) + "] " if shown else ""
        return f"{outs} = {self.op.name} {params}{' '.join(v.name for v in self.inputs)}"


def _short(value) -> str:
    text = repr(value) if not hasattr(value, "shape") else f"<array {tuple(value.shape)}>"
    return text if len(text) <= 60 else text[:57] + "..."


class Program:
    """Inputs, captured constants (``consts``: Var -> array), equations and outputs; see the module docstring."""

    def __init__(self):
        self.inputs: list = []
        self.consts: dict = {}
        self.equations: list = []
        self.outputs: list = []

    def __str__(self) -> str:
        self._name_vars()
        consts = " ".join(repr(v) for v in self.consts)
        inputs = " ".join(repr(v) for v in self.inputs)
        lines = [f"{{ lambda {consts + ' ' if consts else ''}; {inputs}. let"]
        lines += [f"    {eq!r}" for eq in self.equations]
        lines.append(f"  in ({', '.join(v.name for v in self.outputs)}) }}")
        return "\n".join(lines)

    __repr__ = __str__

    def _name_vars(self) -> None:
        names = _names()
        for v in itertools.chain(self.consts, self.inputs, *(eq.outputs for eq in self.equations)):
            v.name = next(names)

    def check(self) -> Program:
        """Validate the program (see the module docstring); raise :class:`ProgramError` or return it."""
        defined = set(map(id, itertools.chain(self.inputs, self.consts)))
        for k, eq in enumerate(self.equations):
            where = f"equation {k} ({eq.op.name})"
            for v in eq.inputs:
                if id(v) not in defined:
                    raise ProgramError(f"{where}: input {v!r} is used before it is defined")
            if not getattr(eq.op, "is_function", False):
                _check_params(eq, where)
                _check_types(eq, where)
            for v in eq.outputs:
                if id(v) in defined:
                    raise ProgramError(f"{where}: output {v!r} is defined twice")
                defined.add(id(v))
        for v in self.outputs:
            if id(v) not in defined:
                raise ProgramError(f"program output {v!r} is never defined")
        return self

    def run(self, *inputs) -> tuple:
        """Evaluate the program op by op on ``inputs`` (tensors); returns the output tensors."""
        if len(inputs) != len(self.inputs):
            raise TypeError(f"Program.run: expected {len(self.inputs)} inputs, got {len(inputs)}")
        env = {id(v): t for v, t in zip(self.inputs, inputs)}
        env.update({id(v): _wrap(a) for v, a in self.consts.items()})
        for eq in self.equations:
            args = tuple(env[id(v)] for v in eq.inputs)
            if getattr(eq.op, "is_function", False):
                out = eq.op.apply(*eq.op.arguments(args, eq.params))
            else:
                out = apply(eq.op, args, **eq.params)
            for v, t in zip(eq.outputs, out if isinstance(out, tuple) else (out,)):
                env[id(v)] = t
        return tuple(env[id(v)] for v in self.outputs)


def _names():
    letters = string.ascii_lowercase
    for n in itertools.count(1):
        for combo in itertools.product(letters, repeat=n):
            yield "".join(combo)


def _check_params(eq: Equation, where: str) -> None:
    schema = {p.name: p for p in eq.op.params}
    if set(schema) != set(eq.params):
        raise ProgramError(f"{where}: parameters {sorted(eq.params)} do not match the declared schema "
                           f"{sorted(schema)}")
    for name, value in eq.params.items():
        if not schema[name].accepts(value) and type(value).__name__ != "BatchedParam":
            raise ProgramError(f"{where}: parameter {name}={_short(value)} is a {type(value).__name__}; the "
                               f"schema declares {schema[name]!r}")


def _check_types(eq: Equation, where: str) -> None:
    """Run the primitive on zeros of the input types (the abstract evaluation) and compare the output types."""
    arrays = [xp.zeros(v.shape, dtype=v.dtype) for v in eq.inputs]
    try:
        with xp.errstate(all="ignore"):
            try:
                out = eq.op.forward(_Scratch(), *arrays, **eq.params)
            except LinAlgError:
                # NOTE: zero matrices are singular; a factorisation (inv, cholesky, lu) is checked on identities.
                arrays = [a + xp.eye(*a.shape[-2:], dtype=a.dtype) if a.dtype.kind == "f" and a.ndim >= 2 else a
                          for a in arrays]
                out = eq.op.forward(_Scratch(), *arrays, **eq.params)
    except Exception as e:  # NOTE: the op refusing its input types is exactly what the check reports
        raise ProgramError(f"{where}: the primitive rejects inputs of types "
                           f"{' '.join(v.type_text() for v in eq.inputs)}: {e}") from None
    outs = out if isinstance(out, tuple) else (out,)
    for v, a in zip(eq.outputs, outs, strict=True):
        a = xp.asarray(a)
        if tuple(a.shape) != v.shape or a.dtype != v.dtype:
            raise ProgramError(f"{where}: output {v!r} should be {Var(a.shape, a.dtype).type_text()} for "
                               f"inputs {' '.join(v.type_text() for v in eq.inputs)}")


class Recorder(Interpreter):
    """Records every op applied at its level into :attr:`program`, tensors tied to variables by identity.

    ``watch``: the code object of the traced function; its frame is kept, so that the names of its local
    variables can be read after it returns (:meth:`local_names`).
    """

    def __init__(self, watch=None):
        self.program = Program()
        self.vars: dict = {}    # id(tensor) -> Var
        self.alive: list = []   # the tensors seen, so that their ids stay unique while recording
        self.watch = watch
        self.frame = None

    def input(self, t: Tensor) -> Var:
        v = self._var(t)
        self.program.inputs.append(v)
        return v

    def _var(self, t: Tensor) -> Var:
        v = Var(t._data.shape, t._data.dtype)
        self.vars[id(t)] = v
        self.alive.append(t)
        return v

    def var_of(self, t: Tensor) -> Var:
        """The variable of ``t``; a tensor the program did not make is captured as a constant."""
        v = self.vars.get(id(t))
        if v is None:
            v = self._var(t)
            self.program.consts[v] = t._data
        return v

    def process(self, op, inputs: tuple, params: dict) -> tuple:
        if self.watch is not None and self.frame is None:
            self._find_frame()
        result, ctx = self.lower(op, inputs, params)
        ins = tuple(self.var_of(t) for t in inputs)
        outs = tuple(self._var(r) for r in (result if isinstance(result, tuple) else (result,)))
        self.program.equations.append(Equation(op, ins, params, outs))
        return result, ctx

    def _find_frame(self) -> None:
        frame = sys._getframe(2)
        while frame is not None and frame.f_code is not self.watch:
            frame = frame.f_back
        self.frame = frame

    def local_names(self) -> dict:
        """``{id(tensor): name}`` for the traced function's local variables that hold tensors."""
        if self.frame is None:
            return {}
        return {id(v): k for k, v in self.frame.f_locals.items() if isinstance(v, Tensor)}


def trace(fn, inputs: tuple, watch=None) -> tuple:
    """Run ``fn(*inputs)`` (tensors) under a new :class:`Recorder`; returns ``(recorder, fn's result)``. The
    program's outputs are the tensors ``fn`` returned (a tensor or a tuple of them); it is checked."""
    recorder = Recorder(watch)
    for t in inputs:
        recorder.input(t)
    with recorder:
        out = fn(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    recorder.program.outputs = [recorder.var_of(t) for t in outs if isinstance(t, Tensor)]
    recorder.program.check()
    return recorder, out


def record(fn, *inputs) -> tuple:
    """``(program, outputs)`` of ``fn(*inputs)``: the ops it applies to its tensor inputs, as a checked
    :class:`Program`."""
    recorder, out = trace(fn, inputs)
    return recorder.program, out
