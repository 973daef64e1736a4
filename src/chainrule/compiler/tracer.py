"""The compiler's tracer: an interpreter that records one whole call of the user's function.

It extends the program :class:`~chainrule.program.Recorder` (which records every op applied at its level) with
what a training step does outside ops: the state it reads (parameters, buffers, optimizer state, gradients,
hyper-parameters), the in-place writes into that state, gradients assigned to ``.grad``, constants made by
factories, random draws, Python callbacks that must run again on every call (a scheduler's ``step``), and the
places where Python reads tensor values (a *graph break*: the call finishes eagerly, unrecorded).
"""

from __future__ import annotations

import linecache
import os
import sys

from .. import _state
from .._backend import xp
from ..program import Equation, Recorder, Var
from ..tensor import Tensor, _wrap
from .state import GradSource, ScalarSource

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Unsupported(RuntimeError):
    """What ``fullgraph=True`` raises where the function cannot be compiled whole (a graph break)."""


class HostOp:
    """A pseudo-op of a traced program that runs Python, not a primitive: a random draw or a callback.

    ``run(*arrays) -> arrays`` on raw arrays; the program checker skips its schema (``is_function``)."""

    is_function = True

    def __init__(self, name: str, run, n_outputs: int):
        self.name, self.run, self.n_outputs = name, run, n_outputs

    def arguments(self, args: tuple, params: dict) -> tuple:
        return args

    def apply(self, *tensors):
        outs = self.run(*[t._data for t in tensors])
        return tuple(_wrap(a) for a in outs) if self.n_outputs != 1 else _wrap(outs[0])


class Tracer(Recorder):
    """Records a call of ``fn`` (see the module docstring); ``state`` maps the ids of the tensors the function
    can reach (found by :func:`~chainrule.compiler.state.find_state`) to their sources."""

    def __init__(self, state, fullgraph: bool, watch=None):
        super().__init__(watch)
        self.state = state
        self.fullgraph = fullgraph
        self.grad_owner = {id(p.grad): p for p in state.leaves if p.grad is not None}
        self.by_array: dict = {}    # id(array) -> Var of the value that array holds now
        self.reads: list = []       # (Var, source, position): program inputs and where they are first read
        self.writes: dict = {}      # id(source) -> (source, Var): the final value written into a state tensor
        self.phases: list = []      # (position, phase)
        self.broken = None          # (reason, "file:line") of the first graph break

    # -- variables ---------------------------------------------------------------------------------------------
    def _var(self, t: Tensor) -> Var:
        v = super()._var(t)
        self.by_array[id(t._data)] = v
        return v

    def var_of(self, t: Tensor) -> Var:
        v = self.vars.get(id(t))
        if v is not None:
            return v
        v = self.by_array.get(id(t._data))
        if v is not None:
            # NOTE: a new tensor over an array the program made (``detach()``, ``.data``, a rule's ctx.output).
            self.vars[id(t)] = v
            self.alive.append(t)
            return v
        source = self._source_for(t)
        if source is not None:
            return self.read(t, source)
        if t.requires_grad and t.grad_fn is None:
            self.graph_break(f"a tensor of shape {tuple(t._data.shape)} that requires grad is neither an argument "
                             "nor a parameter of a module or optimizer the function refers to")
        v = self._var(t)
        self.program.consts[v] = t._data.copy()
        return v

    def read(self, t: Tensor, source) -> Var:
        """Make ``t`` a program input, read from ``source`` on every call."""
        v = self._var(t)
        self.program.inputs.append(v)
        self.reads.append((v, source, len(self.program.equations)))
        return v

    def scalar(self, value: float, getter, name: str) -> Tensor:
        """A 0-d float64 tensor of ``value``, read anew on every call through ``getter()`` (a hyper-parameter)."""
        t = _wrap(xp.asarray(float(value), dtype=xp.float64))
        self.read(t, ScalarSource(getter, name))
        return t

    # -- what happens outside ops --------------------------------------------------------------------------
    def process(self, op, inputs: tuple, params: dict) -> tuple:
        if getattr(op, "dynamic_shape", False):
            self.graph_break(f"{op.name} returns a shape that depends on the values of its input")
            return self.lower(op, inputs, params)
        return super().process(op, inputs, params)

    def check_read(self, t: Tensor, what: str) -> None:
        self.graph_break(f"{what} reads a tensor's values in Python")

    def created(self, t: Tensor) -> None:
        v = self._var(t)
        self.program.consts[v] = t._data.copy()

    def wrote(self, target: Tensor, value: Tensor) -> None:
        v = self.var_of(value)
        # NOTE: a new tensor over a source's array (``p.data``) writes into that source
        source = self._source_for(target) or self._source_of(self.vars.get(id(target)))
        self.vars[id(target)] = v
        self.by_array[id(target._data)] = v
        self.alive.append(target)
        if source is not None:
            self.writes[id(target)] = (target, source, v)

    def _source_for(self, t: Tensor):
        """The source ``t`` is read from: a tensor the function refers to, an argument, or a leaf's ``.grad``."""
        source = self.state.sources.get(id(t))
        if source is None and id(t) in self.grad_owner:
            source = GradSource(self.grad_owner[id(t)])
        return source

    def _source_of(self, v: Var | None):
        """The source of program input ``v`` (None when ``v`` is not one)."""
        for read, source, _ in self.reads:
            if read is v:
                return source
        return None

    def draw(self, factory, args: tuple, kwargs: dict) -> Tensor:
        if any(isinstance(a, Tensor) for a in list(args) + list(kwargs.values())):
            self.graph_break(f"{getattr(factory, '__name__', 'a random factory')} draws with tensor arguments")
            return factory(*args, **kwargs)
        with self.below():
            out = factory(*args, **kwargs)
        name = getattr(factory, "__name__", "draw")
        op = HostOp(name, lambda: (factory(*args, **kwargs)._data,), 1)
        self.record_host(op, (), (out,))
        return out

    def call_on_host(self, fn, args: tuple, kwargs: dict):
        """Run ``fn`` now, unrecorded, and again at this point of every replay (its result must hold no tensors)."""
        with self.below():
            result = fn(*args, **kwargs)
        name = getattr(fn, "__qualname__", getattr(fn, "__name__", "callback"))

        def run():
            fn(*args, **kwargs)
            return ()
        self.record_host(HostOp(name, run, 0), (), ())
        return result

    def record_host(self, op: HostOp, inputs: tuple, outputs: tuple) -> None:
        self.program.equations.append(Equation(op, tuple(self.var_of(t) for t in inputs), {},
                                               tuple(self._var(t) for t in outputs)))

    def mark(self, phase: str) -> None:
        if not self.phases or self.phases[-1][1] != phase:
            self.phases.append((len(self.program.equations), phase))

    def graph_break(self, reason: str) -> None:
        """Stop recording: the rest of the call runs eagerly. With ``fullgraph``, raise :class:`Unsupported`."""
        if self.broken is None:
            self.broken = (reason, user_line())
        if self.fullgraph:
            raise Unsupported(f"chainrule.compile(fullgraph=True): {self.broken[1]}: {reason}; this cannot be "
                              "compiled into one program (run it outside the compiled function, or drop "
                              "fullgraph=True to run such calls eagerly)")
        self.remove()


def active_tracer() -> Tracer | None:
    """The innermost recording tracer on the interpreter stack, if any."""
    interpreter = _state.interpreter
    while interpreter is not None:
        if isinstance(interpreter, Tracer):
            return interpreter
        interpreter = interpreter.parent
    return None


def user_line() -> str:
    """``file:line: source`` of the innermost frame outside chainrule (where the user's code is)."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno} ({code})" if code else \
        f"{frame.f_code.co_filename}:{frame.f_lineno}"

