"""Anomaly mode: where did the NaN come from? (``chainrule.autograd.detect_anomaly``)

With anomaly mode on, every recorded node remembers the line of user code that created it (an interpreter on
the stack, :class:`AnomalyRecorder`, notes it as each op runs), and the engine
checks each gradient a backward rule returns. The first NaN or inf raises a RuntimeError that names the op,
that line and the local-gradient term that went non-finite, in the lecture's words (``log: local gradient 1/x
is inf at x = 0``). It recognises the ``where`` trap: ``where(x > 0, x.log(), 0)`` at x = 0 sends gradient 0
into the branch not taken, whose local gradient is inf, and 0 * inf = nan.

The local-gradient table here (``LOCAL_TERMS``) and the value formatting are shared with ``chainrule.viz``,
which explains every node of a backward in the same words.
"""

from __future__ import annotations

import linecache
import math
import os
import sys
import warnings

from .. import _state
from .._backend import xp
from ..ops._primitive import Interpreter
from ..tensor import Tensor, _wrap
from .graph import Node, edge_source

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled"]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

def arg_names(node) -> tuple:
    """The name of each tensor input of ``node`` as its op's declaration writes it (``x``, ``y``; ``c`` for
    where's condition)."""
    n = len(node.next)
    names = getattr(node.op, "inputs", ())
    if len(names) == n:
        return tuple(names)
    return ("x", "y")[:n] if n <= 2 else tuple(f"x{i}" for i in range(n))


def local_term(node, index: int, names: dict) -> str | None:
    """Input ``index``'s local gradient as the op declares it (its ``local``), with ``names`` and the node's
    parameters filled in; None if the op declares none.

    Tie-aware: where the inputs of a routing gate are equal (max/min of ``x == y``) its local gradient is the
    share torch gives each input there, so the term says so: ``[x > y] + 0.5 [x == y]``.
    """
    text = getattr(node.op, "local_text", None)
    if text is None:
        return None
    term = text(index, names, node.params or {})
    share = _tie_share(node, index) if term is not None and term.startswith("[") else None
    if share is not None:
        x, y = (names.get(n, n) for n in arg_names(node))
        term = f"{term} + {format_number(share)} [{x} == {y}]"
    return term


def _tie_share(node, index: int):
    """The share input ``index`` of a two-input indicator gate gets where it ties (0.5 for max/min at
    ``x == y``), read from its VJP; None where there is no tie or the inputs were not kept."""
    if len(node.next) != 2 or node.inputs is None or node.freed:
        return None
    shape = xp.broadcast_shapes(*(t._data.shape for t in node.inputs))
    locals_ = local_gradients(node, xp.ones(shape))
    if locals_ is None or locals_[index] is None:
        return None
    values = locals_[index]
    split = values[(values != 0) & (values != 1)]
    return split.flat[0] if split.size else None


def is_elementwise(node) -> bool:
    """True when each output element depends only on the same element of the inputs (a diagonal Jacobian):
    the op declares its local derivative."""
    return getattr(node.op, "local", None) is not None


def local_gradients(node, upstream) -> tuple | None:
    """The local gradient of an elementwise node w.r.t. each input, or None for other nodes.

    It is the VJP applied to ones shaped like ``upstream`` (an array of the output's shape): for a diagonal
    Jacobian that is the diagonal, broadcast to the output's shape.
    """
    if not is_elementwise(node) or node.out_meta is not None or node.freed:
        return None
    upstream = _array(upstream)
    with _state.no_grad(), xp.errstate(all="ignore"):
        result = node.op.vjp(node, _wrap(xp.ones_like(upstream)))
    result = result if isinstance(result, tuple) else (result,)
    return tuple(None if r is None else xp.broadcast_to(_array(r), upstream.shape) for r in result)


def _array(value):
    return value._data if isinstance(value, Tensor) else xp.asarray(value)


# -- formatting, shared with chainrule.viz ----------------------------------------------------------------

def format_number(v) -> str:
    """A number as the lecture writes it: ``-4``, ``0.1966``, ``inf``."""
    v = v.item() if hasattr(v, "item") else v
    if isinstance(v, (bool, int)):
        return str(v)
    if v == 0:
        return "0"
    if math.isfinite(v) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}"


def format_value(array, max_elements: int = 4) -> str:
    """A value in full when it has at most ``max_elements`` elements, else its shape and a summary."""
    array = xp.asarray(array)
    if array.ndim == 0:
        return format_number(array)
    if array.size <= max_elements:
        return _nested(array)
    shape = shape_text(array.shape)
    if array.dtype.kind == "b":
        return f"{shape} bool, {int(array.sum())} true"
    if array.size == 0:
        return f"{shape} empty"
    if (array == array.flat[0]).all():
        return f"{shape} all {format_number(array.flat[0])}"
    with xp.errstate(all="ignore"):
        mean, low, high = (format_number(v) for v in (array.mean(), array.min(), array.max()))
    return f"{shape} mean {mean} min {low} max {high}"


def shape_text(shape) -> str:
    """A shape as Python writes the tuple: ``()``, ``(3,)``, ``(2, 4)``."""
    return str(tuple(shape))


def _nested(array) -> str:
    if array.ndim == 0:
        return format_number(array)
    return "[" + ", ".join(_nested(a) for a in array) + "]"


# -- what went non-finite, in the lecture's words ------------------------------------------------------------

def diagnose(node, upstream, grads, index: int, consumers=()) -> str:
    """Why gradient ``index`` of ``node`` (computed from ``upstream``) holds a NaN or inf, in one paragraph.

    ``upstream``: the gradient of each of the node's outputs; ``grads``: what its VJP returned per input
    (before broadcasting is undone); ``consumers``: the ops that read the node's output (to spot ``where``).
    """
    op = node.op.name
    data = _array(grads[index])
    bad = xp.flatnonzero(~xp.isfinite(data))
    k = int(bad[0])
    where_at = ""
    if data.ndim:
        where_at = f" (element {_index(k, data.shape)}, {bad.size} of {data.size} non-finite)"
    names = arg_names(node)
    term = local_term(node, index, {**{n: n for n in names}, "out": "out"})
    locals_ = None
    if term is not None and upstream and upstream[0] is not None:
        locals_ = local_gradients(node, xp.broadcast_to(_array(upstream[0]), data.shape))
    if locals_ is None:
        return f"{op}: the gradient for its input {names[index]} is {format_number(data.flat[k])}{where_at}"
    local = locals_[index].flat[k]
    g = xp.broadcast_to(_array(upstream[0]), data.shape).flat[k]
    at = _values_at(node, k, data.shape, names)
    if not xp.isfinite(g):
        return (f"{op}: the upstream gradient reaching it is already {format_number(g)}{where_at}; the "
                "NaN/inf comes from the op that consumes this value (or from the gradient given to backward)")
    if xp.isfinite(local):
        return (f"{op}: local gradient {term} = {format_number(local)}{at} times upstream {format_number(g)} "
                f"overflows to {format_number(data.flat[k])}{where_at}")
    text = f"{op}: local gradient {term} is {format_number(local)}{at}{where_at}"
    if g != 0:
        return text + f"; times upstream {format_number(g)} that gives {format_number(data.flat[k])}"
    text += f", and the upstream gradient there is 0, so 0 * {format_number(local)} = nan. "
    if "where" in consumers:
        text += ("This is the where trap: the value feeds where(...), and the branch not taken still gets "
                 "gradient 0, which times the inf local gradient is nan. ")
    else:
        text += "The value was masked out downstream (its gradient is 0 there), and 0 * inf = nan. "
    return text + "Avoid it by masking the input of the unsafe op first, so it is finite everywhere: " + \
        _advice(op)


def _advice(op: str) -> str:
    if op == "div":
        return "x / where(y != 0, y, 1) instead of where(y != 0, x / y, 0)."
    if op in ("pow", "pow_scalar"):
        return "where(x > 0, x, 1) ** p instead of where(x > 0, x ** p, 0), or x.clamp(min=eps) ** p."
    return (f"where(x > 0, x, 1).{op}() instead of where(x > 0, x.{op}(), 0), or x.clamp(min=eps).{op}() "
            "with a small eps.")


def _index(k: int, shape: tuple) -> tuple:
    return tuple(int(i) for i in xp.unravel_index(k, shape))


def _values_at(node, k: int, shape: tuple, names: tuple) -> str:
    if node.inputs is not None:
        parts = [f"{n} = {format_number(xp.broadcast_to(t._data, shape).flat[k])}"
                 for n, t in zip(names, node.inputs, strict=False)]
        return " at " + ", ".join(parts)
    if node.out is not None:
        label = f"{node.op.name}(x)" if len(node.next) == 1 else "out"
        return f" at {label} = {format_number(xp.broadcast_to(node.out, shape).flat[k])}"
    return ""


# -- recording and checking (called by apply and the engine only while anomaly mode is on) ----------------

class Creation:
    """Where a node was created: the innermost frame of user code, and the ops that consumed its output."""

    __slots__ = ("file", "line", "function", "consumers")

    def __init__(self, frame):
        self.file = frame.f_code.co_filename if frame else None
        self.line = frame.f_lineno if frame else None
        self.function = frame.f_code.co_name if frame else None
        self.consumers = []

    def source(self) -> str:
        return linecache.getline(self.file, self.line).strip() if self.file else ""

    def __str__(self) -> str:
        if self.file is None:
            return "(no user code on the stack when it was created)"
        try:
            file = os.path.relpath(self.file)
        except ValueError:
            file = self.file
        source = self.source()
        return f"{file}:{self.line} (in {self.function})" + (f":\n    {source}" if source else "")


def user_frame(frame=None):
    """The innermost frame outside the chainrule package (the user's code), or None."""
    frame = frame or sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    return frame


class AnomalyRecorder(Interpreter):
    """The interpreter of anomaly mode: each recorded node remembers the user line that created it."""

    def process(self, op, inputs: tuple, params: dict) -> tuple:
        result, ctx = self.lower(op, inputs, params)
        if isinstance(ctx, Node) and ctx.next:
            record_creation(ctx)
        return result, ctx


_recorder: list = []  # the active AnomalyRecorder, if any


def _sync_recorder() -> None:
    """Put an AnomalyRecorder on the interpreter stack exactly while anomaly mode is on."""
    if _state.anomaly_enabled and not _recorder:
        _recorder.append(AnomalyRecorder().__enter__())
    elif not _state.anomaly_enabled and _recorder:
        _recorder.pop().remove()


def record_creation(ctx) -> None:
    """Remember on a new node the user line that created it, and tell its parents which op consumed them."""
    ctx.creation = Creation(user_frame(sys._getframe(1)))
    for edge in ctx.next:
        source = edge_source(edge)
        if source is not None:
            parent = getattr(source[0], "creation", None)
            if parent is not None:
                parent.consumers.append(ctx.op.name)


def check_gradients(node, upstream, grads) -> None:
    """Raise the anomaly error if a gradient ``node``'s backward returned holds a NaN or inf."""
    if not _state.anomaly_check_nan:
        return
    for i, g in enumerate(grads):
        if g is None:
            continue
        data = _array(g)
        if data.dtype.kind == "f" and not xp.isfinite(data).all():
            raise RuntimeError(anomaly_message(node, upstream, grads, i))


def anomaly_message(node, upstream, grads, index: int) -> str:
    data = _array(grads[index])
    kind = "nan" if xp.isnan(data).any() else "inf"
    creation = getattr(node, "creation", None)
    consumers = creation.consumers if creation is not None else ()
    where = (f"It was created in the forward pass at {creation}" if creation is not None else
             "It was created before anomaly mode was enabled; enable it around the forward pass too to see "
             "the line that created it")
    return (f"Function '{node.op.backward_name}' returned {kind} values in its {index}th output.\n"
            f"{diagnose(node, upstream, grads, index, consumers)}\n{where}")


# -- the modes ------------------------------------------------------------------------------------------

class detect_anomaly(_state._ModeContext):
    """Context manager (or decorator) that turns on anomaly detection for the autograd engine.

    Inside it, ops remember the user line that created them, and the first backward rule that returns a NaN or
    inf gradient raises a RuntimeError naming the op, that line and the local-gradient term that went
    non-finite. ``check_nan=False`` only records the lines. It slows every op down: use it for debugging.

    Example::

        >>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
        >>> with chainrule.autograd.detect_anomaly():
        ...     y = chainrule.where(x > 0, x.log(), 0.0).sum()
        ...     y.backward()
        RuntimeError: Function 'LogBackward0' returned nan values in its 0th output. ...
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = bool(check_nan)
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should "
                      "only be enabled for debugging.", UserWarning, stacklevel=2)

    def _args(self) -> tuple:
        return (self.check_nan,)

    def __enter__(self):
        self._prev = (_state.anomaly_enabled, _state.anomaly_check_nan)
        _state.anomaly_enabled, _state.anomaly_check_nan = True, self.check_nan
        _sync_recorder()

    def __exit__(self, *exc):
        _state.anomaly_enabled, _state.anomaly_check_nan = self._prev
        _sync_recorder()
        return False


class set_detect_anomaly:
    """Turn anomaly detection on or off now; as a context manager, the previous setting returns at exit."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self._prev = (_state.anomaly_enabled, _state.anomaly_check_nan)
        _state.anomaly_enabled, _state.anomaly_check_nan = bool(mode), bool(check_nan)
        _sync_recorder()

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        _state.anomaly_enabled, _state.anomaly_check_nan = self._prev
        _sync_recorder()
        return False


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()`` (or after ``set_detect_anomaly(True)``)."""
    return _state.anomaly_enabled


def is_anomaly_check_nan_enabled() -> bool:
    """True when anomaly mode also checks every computed gradient for NaN and inf."""
    return _state.anomaly_check_nan
