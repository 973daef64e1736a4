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
    # NOTE: this is the per-op hot path; it is written out long-hand (no generators, one pass per loop).
    record = False
    if _state.grad_enabled and op.differentiable:
        for t in inputs:
            if t.requires_grad:
                record = True
                break
    ctx = Node(op) if record else _Scratch()
    if len(inputs) == 1:
        out = op.forward(ctx, inputs[0].data, *params)
    elif len(inputs) == 2:
        out = op.forward(ctx, inputs[0].data, inputs[1].data, *params)
    else:
        out = op.forward(ctx, *[t.data for t in inputs], *params)
    single = op.n_outputs == 1
    if single and out.__class__ is not ndarray:
        out = as_array(out)
    if not record:
        result = _wrap(out) if single else tuple([_wrap(a) for a in out])
        if single and (out.base is not None or out is inputs[0].data):
            _share_version_counter(result, inputs)
    else:
        edges = []
        for t in inputs:
            if not t.requires_grad:
                edges.append(None)
            elif t.grad_fn is None:
                edges.append(t)
            else:
                edges.append((t.grad_fn, t._out_nr))
        ctx.next = tuple(edges)
        if _state.anomaly_enabled:
            from ..autograd.anomaly import record_creation
            record_creation(ctx)
        if op.save_inputs:
            ctx.inputs = inputs
            versions = [(t._vc, t._vc[0]) for t in inputs]
            if ctx.versions:
                versions.extend(ctx.versions)
            ctx.versions = versions
        if op.broadcasts:
            shapes = tuple([t.data.shape for t in inputs])
            if shapes.count(shapes[0]) != len(shapes):  # NOTE: equal shapes never need unbroadcasting
                ctx.in_shapes = shapes
        if single:
            result = _wrap(out, ctx) if out.dtype.kind == "f" else _wrap(out)
            if out.base is not None or out is inputs[0].data:
                _share_version_counter(result, inputs)
            if op.save_output:
                ctx.out = out
                ctx.versions = (ctx.versions or []) + [(result._vc, result._vc[0])]
        else:
            result = tuple([_wrap(a, ctx, i) if a.dtype.kind == "f" else _wrap(a) for i, a in enumerate(out)])
            ctx.out_meta = tuple([(a.shape, a.dtype) for a in out])
            if op.save_output:
                ctx.out = out
    if _state.forward_levels:
        from ..autograd.forward_ad import propagate
        propagate(op, ctx, inputs, out, result)
    return result


def _share_version_counter(result: Tensor, inputs: tuple) -> None:
    # NOTE: a view shares its base's version counter (as in torch), so an in-place change through either one
    # invalidates what backward saved of the other.
    for t in inputs:
        if xp.may_share_memory(result.data, t.data):
            result._vc = t._vc
            return


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
    # NOTE: fast paths first: same-dtype tensors, and a float tensor with a Python number (the common cases).
    if isinstance(x, Tensor):
        if isinstance(y, Tensor):
            if x.data.dtype is y.data.dtype or x.data.dtype == y.data.dtype:
                return x, y
        elif (y.__class__ is float or y.__class__ is int) and x.data.dtype.kind == "f":
            return x, _wrap(xp.asarray(y, x.data.dtype))
    elif isinstance(y, Tensor):
        if (x.__class__ is float or x.__class__ is int) and y.data.dtype.kind == "f":
            return _wrap(xp.asarray(x, y.data.dtype)), y
    else:
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
