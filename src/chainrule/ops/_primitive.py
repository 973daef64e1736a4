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

import functools
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

    - ``batch_rule(inputs, batched, params) -> output(s)`` (vmap): the op on whole batches. ``batched[i]`` says
      whether ``inputs[i]`` carries the batch as its leading dim (the others are shared by every sample); the
      outputs carry it as their leading dim. None: ``vmap`` falls back to a loop over the samples. Shorthand
      for single-input ops that only need their parameters adjusted: ``batch_params(size, *params) ->
      params`` (the op is then applied to the batch with those). Parameters that come from a batched tensor
      (an index) reach the rule as :class:`BatchedParam` only when ``batches_params`` is set; otherwise such
      an op runs as a loop over the samples.

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
    batch_rule = None
    batches_params = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            cls.backward_name = _camel(cls.name) + "Backward0"
            PRIMITIVES[cls.name] = cls
        if "batch_params" in cls.__dict__:
            cls.batch_rule = classmethod(_batch_with_params)


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
    level = _state.vmap_level
    if level is not None:
        out = level.forward(op, ctx, inputs, params)
    elif len(inputs) == 1:
        out = op.forward(ctx, inputs[0]._data, *params)
    elif len(inputs) == 2:
        out = op.forward(ctx, inputs[0]._data, inputs[1]._data, *params)
    else:
        out = op.forward(ctx, *[t._data for t in inputs], *params)
    single = op.n_outputs == 1
    if single and out.__class__ is not ndarray:
        out = as_array(out)
    if not record:
        result = _wrap(out) if single else tuple([_wrap(a) for a in out])
        if single and (out.base is not None or out is inputs[0]._data):
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
            # NOTE: one flat tuple (counter, version, counter, version, ...): fewer objects for the GC to track.
            versions = []
            for t in inputs:
                versions += (t._vc, t._vc[0])
            ctx.versions = tuple(versions) + ctx.versions if ctx.versions else tuple(versions)
        if op.broadcasts:
            shapes = tuple([t._data.shape for t in inputs])
            if shapes.count(shapes[0]) != len(shapes):  # NOTE: equal shapes never need unbroadcasting
                ctx.in_shapes = shapes
        if single:
            result = _wrap(out, ctx) if out.dtype.kind == "f" else _wrap(out)
            if out.base is not None or out is inputs[0]._data:
                _share_version_counter(result, inputs)
            if op.save_output:
                ctx.out = out
                ctx.versions = (ctx.versions or ()) + (result._vc, result._vc[0])
        else:
            result = tuple([_wrap(a, ctx, i) if a.dtype.kind == "f" else _wrap(a) for i, a in enumerate(out)])
            ctx.out_meta = tuple([(a.shape, a.dtype) for a in out])
            if op.save_output:
                ctx.out = out
    if level is not None:
        level.finish(op, ctx, inputs, params, result)
    elif _state.forward_levels:
        from ..autograd.forward_ad import propagate
        propagate(op, ctx, inputs, out, result)
    return result


def _share_version_counter(result: Tensor, inputs: tuple) -> None:
    # NOTE: a view shares its base's version counter (as in torch), so an in-place change through either one
    # invalidates what backward saved of the other.
    for t in inputs:
        if xp.may_share_memory(result._data, t._data):
            result._vc = t._vc
            return


# -- helpers shared by the op modules -----------------------------------------------------------------

def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """``value`` as a tensor; Python numbers take ``like``'s dtype (callers promote first)."""
    if isinstance(value, Tensor):
        return value
    if like is not None:
        return _wrap(xp.asarray(value, dtype=like._data.dtype))
    return _wrap(xp.asarray(value, dtype=_dtype.result_type(value).np))


def promote(x, y, op: str) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of torch's result dtype; casts of tensors that need grad stay differentiable."""
    # NOTE: fast paths first: same-dtype tensors, and a float tensor with a Python number (the common cases).
    if isinstance(x, Tensor):
        if isinstance(y, Tensor):
            if x._data.dtype is y._data.dtype or x._data.dtype == y._data.dtype:
                return x, y
            # NOTE: a bool mask with a float tensor (relu's local derivative, masks in losses): NumPy already
            # computes it in the float dtype, as torch would, so casting the mask first would be a wasted pass.
            if (x._data.dtype.kind == "b" and y._data.dtype.kind == "f" and not x.requires_grad) or (
                    y._data.dtype.kind == "b" and x._data.dtype.kind == "f" and not y.requires_grad):
                return x, y
        elif (y.__class__ is float or y.__class__ is int) and x._data.dtype.kind == "f":
            return x, _constant(y, x._data.dtype)
    elif isinstance(y, Tensor):
        if (x.__class__ is float or x.__class__ is int) and y._data.dtype.kind == "f":
            return _constant(x, y._data.dtype), y
    else:
        raise TypeError(f"{op}: expected at least one tensor operand, got {type(x).__name__} and "
                        f"{type(y).__name__}")
    try:
        d = _dtype.result_type(x, y).np
    except TypeError:
        raise TypeError(f"{op}: unsupported operand types {type(x).__name__} and {type(y).__name__}; "
                        "expected tensors or Python numbers") from None
    return cast_to(x, d), cast_to(y, d)


@functools.lru_cache(maxsize=256, typed=True)
def _constant(value, np_dtype) -> Tensor:
    """A 0-d tensor for a Python number operand, shared between ops.

    NOTE: reusing it saves an allocation per scalar operand, and objects the garbage collector must track in
    deep graphs. It is safe because it only ever enters binary primitives, whose outputs are fresh arrays.
    """
    array = xp.asarray(value, np_dtype)
    array.flags.writeable = False
    return _wrap(array)


def cast_to(x, np_dtype) -> Tensor:
    """``x`` (tensor or number) with NumPy dtype ``np_dtype``; differentiable for tensors needing grad."""
    if not isinstance(x, Tensor):
        return _wrap(xp.asarray(x, dtype=np_dtype))
    if x._data.dtype == np_dtype:
        return x
    from .cast import Cast
    return apply(Cast, (x,), np_dtype)


def zeros_like_tensor(t: Tensor) -> Tensor:
    return _wrap(xp.zeros_like(t._data))


def method(*names: str):
    """Attach the decorated function to :class:`Tensor` under each name (``@method("exp")``)."""
    def attach(fn):
        for name in names:
            setattr(Tensor, name, fn)
        return fn
    return attach


# -- batching rules (vmap) shared by the op modules ------------------------------------------------
# A rule sees the physical inputs: batched ones carry the batch as their leading dim, shared ones are as the
# samples see them. Rules call ``apply`` again, so what they compute is recorded (and differentiable) as usual.

class BatchedParam:
    """A parameter array that differs per sample inside vmap (e.g. an index): ``array`` holds the whole batch,
    the batch leading."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array


def batch_size(inputs: tuple, batched: tuple) -> int:
    """The batch size: the leading dim of any batched input."""
    for t, b in zip(inputs, batched):
        if b:
            return t._data.shape[0]
    raise RuntimeError("batch_size: no input is batched")


def with_rank(t: Tensor, ndim: int) -> Tensor:
    """Batched ``t`` with size-1 dims inserted after the batch dim so that each sample has ``ndim`` dims."""
    shape = t._data.shape
    extra = ndim - (len(shape) - 1)
    return t.reshape(shape[:1] + (1,) * extra + shape[1:]) if extra > 0 else t


def align(inputs: tuple, batched: tuple) -> tuple:
    """Batched inputs lifted to the samples' common rank, so that they broadcast against each other; shared
    inputs broadcast from the right, so they never reach the batch dim."""
    rank = max(t._data.ndim - b for t, b in zip(inputs, batched))
    return tuple(with_rank(t, rank) if b else t for t, b in zip(inputs, batched))


def batch_elementwise(op, inputs: tuple, batched: tuple, params: tuple):
    """The batching rule of elementwise and broadcasting ops: align the ranks, then apply the op itself."""
    return apply(op, align(inputs, batched), *params)


def _batch_with_params(op, inputs: tuple, batched: tuple, params: tuple):
    return apply(op, inputs, *op.batch_params(inputs[0]._data.shape[0], *params))


def materialize(t: Tensor, b: bool, size: int) -> Tensor:
    """``t`` with a leading batch dim of ``size``; a shared input is broadcast (a view whose gradient sums back)."""
    return t if b else t.unsqueeze(0).expand(size, *t._data.shape)


def shift(dims: tuple) -> tuple:
    """Dims of a sample as dims of the batch (one further right, past the leading batch dim)."""
    return tuple(d + 1 for d in dims)
