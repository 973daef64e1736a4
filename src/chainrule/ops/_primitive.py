"""How a primitive op is declared and applied: the one place that records the graph.

A primitive is a class holding, in one spot, its ``name``, its ``forward`` on raw arrays, its ``vjp`` (reverse
mode) and its ``jvp`` (forward mode), the last two written in chainrule ops so that they are differentiable
themselves. ``apply`` runs the forward, and only when a gradient is wanted records a :class:`Node`; it also
hands tangents to the JVP rule when a forward-AD level is active. User ``autograd.Function`` classes run
on the same nodes and engine.

Rules see their context ``ctx`` (the node): ``ctx.inputs`` (the input tensors, when ``save_inputs``),
``ctx.output`` (when ``save_output``), ``ctx.saved_tensors`` and any parameter the forward stored on it.
"""

from __future__ import annotations

import re

from .. import _dtype, _state
from .._backend import as_array, ndarray, xp
from ..autograd.graph import Node
from ..tensor import Tensor, _wrap

# Every primitive by name: the op database's meta-test and the tools that walk the graph read this.
PRIMITIVES: dict[str, type] = {}


class Primitive:
    """Base class of built-in ops. Subclasses set ``name`` and define ``forward``, ``vjp`` and ``jvp``.

    - ``forward(ctx, *arrays, *params) -> array`` (or a tuple of arrays when ``n_outputs > 1``)
    - ``vjp(ctx, g) -> gradient per tensor input`` (a tuple, or one tensor for one input; None = no gradient)
    - ``jvp(ctx, *tangents) -> output tangent`` (one tangent per tensor input; absent ones are zeros)

    Flags: ``save_inputs`` / ``save_output`` (what the rules read), ``broadcasts`` (inputs broadcast against
    each other; gradients are summed back to each input's shape by the engine, the one place that does it),
    ``differentiable`` (False for comparisons, argmax, ...), ``n_outputs``.
    """

    name = "primitive"
    backward_name = "PrimitiveBackward0"
    save_inputs = False
    save_output = False
    broadcasts = False
    differentiable = True
    n_outputs = 1
    jvp = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            cls.backward_name = _camel(cls.name) + "Backward0"
            PRIMITIVES[cls.name] = cls


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\s]+", name))


class _Scratch:
    """The ``ctx`` of a forward that records nothing: parameters land here and are dropped with it."""

    inputs = None
    out = None
    saved = None

    def save_for_backward(self, *values) -> None:
        self.saved = values


def apply(op, inputs: tuple, *params):
    """Run primitive ``op`` on tensors ``inputs`` (plus non-tensor ``params``) and record it if needed."""
    record = False
    if _state.grad_enabled and op.differentiable:
        for t in inputs:
            if t.requires_grad:
                record = True
                break
    if record:
        ctx = Node(op)
        out = op.forward(ctx, *[t.data for t in inputs], *params)
        if out.__class__ is not ndarray and op.n_outputs == 1:
            out = as_array(out)
        ctx.next = tuple(
            None if not t.requires_grad else t if t.grad_fn is None else (t.grad_fn, t._out_nr) for t in inputs)
        if op.save_inputs:
            ctx.inputs = inputs
            ctx.versions = tuple([(t._vc, t._vc[0]) for t in inputs]) + (ctx.versions or ())
        if op.broadcasts:
            ctx.in_shapes = tuple([t.data.shape for t in inputs])
        if op.n_outputs == 1:
            result = _wrap(out, ctx) if out.dtype.kind == "f" else _wrap(out)
            if op.save_output:
                ctx.out = out
                ctx.versions = (ctx.versions or ()) + ((result._vc, 0),)
        else:
            result = tuple(_wrap(a, ctx, i) if a.dtype.kind == "f" else _wrap(a) for i, a in enumerate(out))
            ctx.out_meta = tuple((a.shape, a.dtype) for a in out)
            if op.save_output:
                ctx.out = out
    else:
        ctx = _Scratch()
        out = op.forward(ctx, *[t.data for t in inputs], *params)
        if out.__class__ is not ndarray and op.n_outputs == 1:
            out = as_array(out)
        result = _wrap(out) if op.n_outputs == 1 else tuple(_wrap(a) for a in out)
    if _state.forward_levels:
        from ..autograd.forward_ad import propagate
        propagate(op, ctx, inputs, out, result)
    return result


# -- helpers shared by the op modules -----------------------------------------------------------------

def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """``value`` as a tensor; Python numbers take ``like``'s dtype (callers promote first)."""
    if isinstance(value, Tensor):
        return value
    if like is not None:
        return _wrap(xp.asarray(value, dtype=like.data.dtype))
    return _wrap(xp.asarray(value, dtype=_dtype.result_type(value).np))


def promote(x, y, op: str) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of torch's result dtype; casts of tensors that need grad stay differentiable."""
    if x.__class__ is Tensor and y.__class__ is Tensor and x.data.dtype == y.data.dtype:
        return x, y
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        raise TypeError(f"{op}: expected at least one tensor operand, got {type(x).__name__} and "
                        f"{type(y).__name__}")
    try:
        d = _dtype.result_type(x, y).np
    except TypeError:
        raise TypeError(f"{op}: unsupported operand types {type(x).__name__} and {type(y).__name__}; "
                        "expected tensors or Python numbers") from None
    return cast_to(x, d), cast_to(y, d)


def cast_to(x, np_dtype) -> Tensor:
    """``x`` (tensor or number) with NumPy dtype ``np_dtype``; differentiable for tensors needing grad."""
    if not isinstance(x, Tensor):
        return _wrap(xp.asarray(x, dtype=np_dtype))
    if x.data.dtype == np_dtype:
        return x
    from .cast import Cast
    return apply(Cast, (x,), np_dtype)


def zeros_like_tensor(t: Tensor) -> Tensor:
    return _wrap(xp.zeros_like(t.data))


def method(*names: str):
    """Attach the decorated function to :class:`Tensor` under each name (``@method("exp")``)."""
    def attach(fn):
        for name in names:
            setattr(Tensor, name, fn)
        return fn
    return attach
