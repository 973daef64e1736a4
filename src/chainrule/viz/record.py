"""``chainrule.viz.record()``: keep every forward value, and which composite function or layer made each node.

A graph keeps only what its backward rules need, so after the forward most intermediate values are gone
(``x*y`` feeding an add is never saved). Inside ``with chainrule.viz.record():`` every op application is
remembered: its output values, its constant inputs (``1`` in ``1 + exp(-t)``) and the stack of composite
functions (softmax, cross_entropy, ...) and layers (``nn.Module`` calls) it ran under. ``explain``, ``draw``
and ``html`` read these afterwards, so every edge shows its value and a cross-entropy can be shown as one
gate. The records live as long as the nodes (weak keys), and nothing is recorded outside the block.

NOTE: recording is a profile function (as in ``flat_backprop``), not a hook in ``apply``: the per-op hot
path pays nothing for it when no one is explaining.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import weakref

from ..autograd.function import Function
from ..autograd.graph import Node
from ..ops import _primitive
from ..tensor import Tensor

_VALUES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # node -> output arrays
_CONSTANTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # node -> {input index: array}
_SCOPES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # node -> (Scope, ...) outermost first


class Scope:
    """One call of a composite function or a layer: its ``name``, its arguments ``args`` ((parameter name,
    value) in order), the ``module`` for a layer, and its result ``out`` once it returned."""

    __slots__ = ("name", "args", "module", "out", "__weakref__")

    def __init__(self, name: str, args: tuple, module=None):
        self.name, self.args, self.module, self.out = name, args, module, None

    def collapsible(self) -> bool:
        """A function always; a layer only when it has no sub-layers (a Sequential shows its parts)."""
        return self.module is None or not any(True for _ in self.module.children())

    def tensor_args(self) -> list:
        return [(k, v) for k, v in self.args if isinstance(v, Tensor)]


@functools.cache
def _scope_codes() -> dict:
    """Code object -> the name of the composite it runs (the user-facing functions, not their helpers)."""
    from ..nn import functional as F
    from ..nn.modules.module import Module
    from ..ops import composites
    codes = {Module.__call__.__code__: None}
    for fn in (F.softmax, F.log_softmax, F.cross_entropy, F.nll_loss, F.multi_margin_loss, F.mse_loss,
               F.linear, composites.softmax, composites.log_softmax, composites.multi_margin_loss):
        name = "svm_loss" if fn.__name__ == "multi_margin_loss" else fn.__name__
        codes.setdefault(fn.__code__, name)
    return codes


_APPLY = (_primitive.apply.__code__, Function.apply.__func__.__code__)


class _Recorder:
    def __init__(self, previous):
        self.previous = previous
        self.stack: list = []   # (frame, Scope)
        self.depth = 0

    def __call__(self, frame, event, arg):
        if self.previous is not None:
            self.previous(frame, event, arg)
        if event != "call" and event != "return":
            return
        code = frame.f_code
        if code in _APPLY:
            self.depth += 1 if event == "call" else -1
            if event == "return" and arg is not None:
                self._keep(code, frame.f_locals, arg)
            return
        codes = _scope_codes()
        if code not in codes:
            return
        if event == "call":
            if self.depth:
                return
            self.stack.append((frame, _open(codes[code], code, frame.f_locals)))
        elif self.stack and self.stack[-1][0] is frame:
            self.stack.pop()[1].out = arg

    def _keep(self, code, f_locals, result):
        ctx = f_locals.get("ctx")
        if not isinstance(ctx, Node):
            return
        outs = result if isinstance(result, tuple) else (result,)
        _VALUES[ctx] = tuple(t._data for t in outs if isinstance(t, Tensor))
        inputs = f_locals["inputs"] if code is _APPLY[0] else tuple(
            a for a in f_locals["args"] if isinstance(a, Tensor))
        constants = {i: t._data for i, t in enumerate(inputs) if i < len(ctx.next) and ctx.next[i] is None}
        if constants:
            _CONSTANTS[ctx] = constants
        if self.stack:
            _SCOPES[ctx] = tuple(scope for _, scope in self.stack)


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
    previous = sys.getprofile()
    recorder = _Recorder(previous)
    sys.setprofile(recorder)
    try:
        yield recorder
    finally:
        sys.setprofile(previous)


def recorded_value(node, index: int):
    values = _VALUES.get(node)
    return values[index] if values is not None and index < len(values) else None


def recorded_constant(node, index: int):
    return _CONSTANTS.get(node, {}).get(index)


def scopes_of(node) -> tuple:
    return _SCOPES.get(node, ())
