"""Forward-mode AD with dual tensors, mirroring ``torch.autograd.forward_ad``.

Inside ``with dual_level():``, ``make_dual(primal, tangent)`` gives a tensor that carries a tangent; every op
then pushes tangents forward with its JVP rule (declared next to its VJP). Each level is an interpreter on
the stack (:class:`DualLevel`): it runs the op below itself (where the outer levels push their tangents),
then pushes its own, with its JVP rule's ops running below it too, so they carry the outer tangents (what
nested transforms read) and nothing else. Tangents are tagged by level, so nested levels
(forward-over-forward) never confuse their perturbations. JVP rules are ordinary chainrule ops, so forward
mode composes with reverse mode both ways. No reverse graph is built unless some input requires grad.

Example::

    with forward_ad.dual_level():
        x = forward_ad.make_dual(chainrule.tensor(2.0), chainrule.tensor(1.0))
        y = x * x
        forward_ad.unpack_dual(y).tangent   # tensor(4.)
"""

from __future__ import annotations

import itertools
import weakref
from typing import NamedTuple

from .. import _state
from .._backend import xp
from ..ops._primitive import Interpreter, apply
from ..ops.shape import Alias, broadcast_to
from ..tensor import Tensor, _wrap
from .graph import Node

__all__ = ["dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor", "enter_dual_level", "exit_dual_level"]

_level_ids = itertools.count(1)
_duals: dict[int, list] = {}  # level -> weak references to tensors that hold a tangent at that level
_interpreters: dict[int, DualLevel] = {}  # level -> its interpreter on the stack


class UnpackedDualTensor(NamedTuple):
    primal: Tensor
    tangent: Tensor | None


def enter_dual_level() -> int:
    """Open a new (innermost) forward-AD level and return its id."""
    level = next(_level_ids)
    _state.forward_levels.append(level)
    _duals[level] = []
    _interpreters[level] = DualLevel(level).__enter__()
    return level


def exit_dual_level(*, level: int | None = None) -> None:
    """Close ``level`` (the innermost by default); tangents at that level are dropped."""
    if level is None:
        level = _current_level("exit_dual_level")
    if level not in _state.forward_levels:
        raise RuntimeError(f"exit_dual_level: level {level} is not active")
    _state.forward_levels.remove(level)
    _interpreters.pop(level).remove()
    for ref in _duals.pop(level, ()):
        t = ref()
        if t is None:
            continue
        for fw in t.out_fw if isinstance(t, Node) else (t._fw,):
            if fw:
                fw.pop(level, None)


class dual_level:
    """Context manager for a forward-AD level: ``with dual_level(): ...``."""

    def __enter__(self) -> int:
        self.level = enter_dual_level()
        return self.level

    def __exit__(self, *exc):
        exit_dual_level(level=self.level)
        return False


def _current_level(op: str) -> int:
    if not _state.forward_levels:
        raise RuntimeError(f"{op}: no forward-AD level is active; use `with chainrule.autograd.forward_ad."
                           "dual_level():`")
    return _state.forward_levels[-1]


def _set_tangent(t: Tensor, level: int, tangent: Tensor) -> None:
    t._fw = dict(t._fw) if t._fw else {}
    t._fw[level] = tangent
    _duals[level].append(weakref.ref(t))


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A view of ``tensor`` that carries ``tangent`` (same shape, floating dtype) at ``level``."""
    level = _current_level("make_dual") if level is None else level
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise TypeError("make_dual: expected a primal tensor and a tangent tensor")
    if tensor._data.dtype.kind != "f" or tangent._data.dtype.kind != "f":
        raise TypeError(f"make_dual: expected floating point primal and tangent, got {tensor.dtype} and "
                        f"{tangent.dtype}")
    if tangent._data.shape != tensor._data.shape:
        raise RuntimeError(f"make_dual: the tangent's shape {tuple(tangent._data.shape)} must match the primal's "
                           f"{tuple(tensor._data.shape)}")
    if tangent._data.dtype != tensor._data.dtype:
        tangent = tangent.to(tensor.dtype)
    out = apply(Alias, (tensor,))
    _set_tangent(out, level, tangent)
    return out


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)``: the primal as a view without this level's tangent, and the tangent (or None)."""
    if level is None:
        if not _state.forward_levels:
            return UnpackedDualTensor(tensor, None)
        level = _state.forward_levels[-1]
    tangent = tensor._fw.get(level) if tensor._fw else None
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    return UnpackedDualTensor(_primal_view(tensor, level), tangent)


def _primal_view(t: Tensor, level: int) -> Tensor:
    """``t`` at the same place in the reverse graph, carrying only the tangents of levels outside ``level``."""
    if not t._fw or all(k < level for k in t._fw):
        return t
    fw = {k: v for k, v in t._fw.items() if k < level}
    if t.requires_grad and t.grad_fn is None:
        # NOTE: a leaf's view must route its gradient to the leaf itself, so it gets an alias node.
        node = Node(Alias)
        node.next = (t,)
        view = _wrap(t._data, node)
    else:
        view = _wrap(t._data, t.grad_fn, t._out_nr)
        view.requires_grad = t.requires_grad
    view._vc = t._counter()
    view._fw = fw or None
    return view


class _JvpContext:
    """What a JVP rule sees as ``ctx``: primal inputs and outputs at the level being pushed, plus the forward ctx."""

    def __init__(self, ctx, inputs: tuple, outputs: tuple):
        self._ctx = ctx
        self.inputs = inputs
        self.outputs = outputs
        self.output = outputs[0]

    @property
    def saved_tensors(self) -> tuple:
        return self._ctx.saved or ()

    def __getattr__(self, name):
        return getattr(self._ctx, name)


class DualLevel(Interpreter):
    """The interpreter of one forward-AD level: every op also pushes the tangents of this level."""

    def __init__(self, level: int):
        self.level = level

    def process(self, op, inputs: tuple, params: dict) -> tuple:
        result, ctx = self.lower(op, inputs, params)
        level = self.level
        tangents = [t._fw.get(level) if t._fw else None for t in inputs]
        if any(tg is not None for tg in tangents):
            active = _state.forward_levels
            # NOTE: while the JVP rule runs, only the levels outside this one are active.
            _state.forward_levels = [lv for lv in active if lv < level]
            try:
                with self.below():
                    _push(op, ctx, inputs, result, level, tangents)
            finally:
                _state.forward_levels = active
        return result, ctx


def _push(op, ctx, inputs: tuple, result, level: int, tangents: list) -> None:
    """Push ``level``'s ``tangents`` of ``inputs`` through ``op`` and attach them to ``result``."""
    results = result if isinstance(result, tuple) else (result,)
    if not op.differentiable or all(r._data.dtype.kind != "f" for r in results):
        return
    if op.jvp is None:
        raise RuntimeError(f"{op.name}: this op has no forward-mode (JVP) rule, so tangents cannot flow "
                           "through it; use reverse mode (backward/autograd.grad) for it")
    tangents = [tg if tg is not None else _wrap(xp.zeros_like(t._data)) for t, tg in zip(inputs, tangents)]
    positions = getattr(ctx, "arg_positions", None)
    if positions is not None:  # a user Function: one tangent per forward argument
        per_arg = [None] * len(ctx.needs_input_grad)
        for p, tg in zip(positions, tangents):
            per_arg[p] = tg
        tangents = per_arg
    if getattr(op, "is_function", False):
        # NOTE: a user Function's jvp gets the very ctx its forward filled (it may read and delete attributes).
        ctx.in_jvp = True
        try:
            out_t = op.jvp(ctx, *tangents)
        finally:
            ctx.in_jvp = False
    else:
        primals = tuple(_primal_view(t, level) for t in inputs)
        out_t = op.jvp(_JvpContext(ctx, primals, tuple(_primal_view(r, level) for r in results)), *tangents)
    out_ts = out_t if isinstance(out_t, tuple) else (out_t,)
    for r, r_t in zip(results, out_ts):
        if r_t is None or r._data.dtype.kind != "f":
            continue
        if not isinstance(r_t, Tensor):
            r_t = _wrap(xp.asarray(r_t, dtype=r._data.dtype))
        if r_t._data.shape != r._data.shape:
            r_t = broadcast_to(r_t, r._data.shape)
        if r_t._data.dtype != r._data.dtype:
            r_t = r_t.to(r.dtype)
        _set_tangent(r, level, r_t)
    if op.save_output and isinstance(ctx, Node) and any(r._fw for r in results):
        # NOTE: the node keeps its outputs' tangents for VJP rules that read ctx.output (forward-over-reverse).
        # The tangents' graph leads back to the node, a reference cycle, so exiting the level clears them.
        ctx.out_fw = tuple(r._fw for r in results)
        _duals[level].append(weakref.ref(ctx))
