"""``chainrule.viz.record()``: keep every forward value, and which composite function or layer made each node.

A graph keeps only what its backward rules need, so after the forward most intermediate values are gone
(``x*y`` feeding an add is never saved). Inside ``with chainrule.viz.record():`` every op application is
remembered: its output values, its constant inputs (``1`` in ``1 + exp(-t)``) and the stack of composite
functions (softmax, cross_entropy, ...) and layers (``nn.Module`` calls) it ran under. ``explain``, ``draw``
and ``html`` read these afterwards, so every edge shows its value and a cross-entropy can be shown as one
gate. The records live as long as the nodes (weak keys), and nothing is recorded outside the block.

Recording is an interpreter on the stack (:class:`chainrule.ops._primitive.Interpreter`): the per-op hot path
pays nothing for it when no one is explaining. The composites an op ran under are the frames of those
functions on the Python stack when it is applied.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import weakref

from ..autograd.graph import Node
from ..nn import functional as F
from ..nn.modules.module import Module
from ..ops import composites
from ..ops._primitive import Interpreter
from ..tensor import Tensor

_VALUES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # node -> output arrays
_CONSTANTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # node -> {input index: array}
_SCOPES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # node -> (Scope, ...) outermost first


class Scope:
    """One call of a composite function or a layer: its ``name``, its arguments ``args`` ((parameter name,
    value) in order), the ``module`` for a layer, and its result ``out`` once it returned.

    A call recognised from the graph's structure (:mod:`chainrule.viz.patterns`) has no tensors: ``wires``
    gives ``(parameter name, wire key)`` for its tensor arguments and ``result`` the wire it returned."""

    __slots__ = ("name", "args", "module", "out", "wires", "result", "__weakref__")

    def __init__(self, name: str, args: tuple, module=None, wires=None, result=None):
        self.name, self.args, self.module, self.out = name, args, module, None
        self.wires, self.result = wires, result

    def collapsible(self) -> bool:
        """A function always; a layer only when it has no sub-layers (a Sequential shows its parts)."""
        return self.module is None or not any(True for _ in self.module.children())

    def tensor_args(self) -> list:
        return [(k, v) for k, v in self.args if isinstance(v, Tensor)]


@functools.cache
def _scope_codes() -> dict:
    """Code object -> the name of the composite it runs (the user-facing functions, not their helpers)."""
    codes = {Module.__call__.__code__: None}
    for fn in (F.softmax, F.log_softmax, F.cross_entropy, F.nll_loss, F.multi_margin_loss, F.mse_loss,
               F.linear, F.multiclass_svm_loss, composites.softmax, composites.log_softmax,
               composites.multi_margin_loss, composites.multiclass_svm_loss):
        name = "svm_loss" if fn.__name__ == "multi_margin_loss" else fn.__name__
        # NOTE: the public functions may be wrappers (argument checks) sharing one code object: the frame on
        # the stack that names the composite is the wrapped function's.
        codes.setdefault(inspect.unwrap(fn).__code__, name)
    return codes


class _Recorder(Interpreter):
    """Keeps each recorded node's output values, constant inputs and the composite calls it ran under."""

    def __init__(self):
        self.scopes: dict = {}   # id(frame) -> (frame, Scope) of the composite calls seen so far

    def process(self, op, inputs: tuple, params: dict) -> tuple:
        result, ctx = self.lower(op, inputs, params)
        if isinstance(ctx, Node):
            self._keep(ctx, inputs, result)
        return result, ctx

    def _keep(self, ctx, inputs: tuple, result) -> None:
        outs = result if isinstance(result, tuple) else (result,)
        _VALUES[ctx] = tuple(t._data for t in outs if isinstance(t, Tensor))
        constants = {i: t._data for i, t in enumerate(inputs) if i < len(ctx.next) and ctx.next[i] is None}
        if constants:
            _CONSTANTS[ctx] = constants
        scopes = self._scopes()
        if scopes:
            _SCOPES[ctx] = scopes
            for scope in scopes:
                # NOTE: a composite returns what its last op made, so the latest result stands for its output.
                scope.out = result

    def _scopes(self) -> tuple:
        """The composite calls on the Python stack now, outermost first."""
        codes, found = _scope_codes(), []
        frame = sys._getframe(3)
        while frame is not None:
            name = codes.get(frame.f_code, False)
            if name is not False:
                entry = self.scopes.get(id(frame))
                if entry is None or entry[0] is not frame:
                    entry = self.scopes[id(frame)] = (frame, _open(name, frame.f_code, frame.f_locals))
                found.append(entry[1])
            frame = frame.f_back
        return tuple(reversed(found))


def _open(name, code, f_locals) -> Scope:
    if name is None:   # Module.__call__
        module = f_locals["self"]
        return Scope(type(module).__name__, tuple(("input", a) for a in f_locals.get("args", ())), module)
    names = code.co_varnames[:code.co_argcount]
    return Scope(name, tuple((n, f_locals[n]) for n in names if n in f_locals and f_locals[n] is not None))


@contextlib.contextmanager
def record():
    """Remember every forward value and composite call made inside the block, for explain/draw/html.

    Example::

        >>> with chainrule.viz.record():
        ...     f = 2 * (x * y + chainrule.maximum(z, w))
        >>> print(chainrule.explain(f))     # every line shows its value: t3 = t1 + t2 = -10 ...
    """
    with _Recorder() as recorder:
        yield recorder


def recorded_value(node, index: int):
    values = _VALUES.get(node)
    return values[index] if values is not None and index < len(values) else None


def recorded_constant(node, index: int):
    return _CONSTANTS.get(node, {}).get(index)


def scopes_of(node) -> tuple:
    return _SCOPES.get(node, ())


def was_recorded(node) -> bool:
    """True when ``node`` was made inside ``record()`` (its composite calls, if any, are known)."""
    return node in _VALUES
