"""The recorded graph: one :class:`Node` per op application that needs a gradient.

A node points *backwards* to where its inputs came from (``next``: a producing node and output index, a
leaf tensor, or None for inputs that need no gradient). Nothing points forwards, and a node never holds a
strong reference to its own outputs, so the graph has no reference cycles: it is freed the moment the
last tensor that refers to it is dropped. Saved outputs are kept as raw arrays and re-wrapped on demand.
"""

from __future__ import annotations

import itertools
import weakref

from .. import _state
from .._hooks import RemovableHandle
from ..tensor import _wrap

_sequence = itertools.count()

FREED_MESSAGE = (
    "{name}: trying to backward through the graph a second time (or to read tensors it saved after they were "
    "freed). Saved values are freed when you call .backward() or autograd.grad(); pass retain_graph=True to the "
    "first call if you need to backward through the graph again.")


class Node:
    """One recorded op application; also the ``ctx`` its forward, VJP and JVP rules read and write.

    ``op`` is the primitive (or user Function) class, ``next`` one edge per tensor input, ``inputs`` the input
    tensors when the op keeps them, ``out`` the output array(s) when the op keeps them, ``saved`` what
    ``save_for_backward`` stored, ``params`` the op's parameters (its declared mapping). Residuals a forward
    derives for its own rules (``ctx.in_shape = x.shape``) go into the instance dict.
    """

    __slots__ = ("op", "params", "next", "inputs", "out", "out_fw", "saved", "versions", "seq", "in_shapes",
                 "hooks", "retained", "out_meta", "freed", "__dict__", "__weakref__")

    def __init__(self, op):
        self.op = op
        self.params = None
        self.next = ()
        self.inputs = None
        self.out = None
        self.out_fw = None
        self.saved = None
        self.versions = None
        self.seq = next(_sequence)
        self.in_shapes = None
        self.hooks = None
        self.retained = None
        self.out_meta = None
        self.freed = False

    # -- what the rules read -------------------------------------------------------------------------
    def name(self) -> str:
        """The op name, e.g. ``"mul"``: errors, drawings and the compiler read it."""
        return self.op.name

    @property
    def output(self):
        """The op's (single) output as a tensor; differentiable (with this node as grad_fn) under create_graph."""
        return self._wrap_output(self.out, 0)

    @property
    def outputs(self) -> tuple:
        """All outputs of a multi-output op, as tensors."""
        return tuple(self._wrap_output(a, i) for i, a in enumerate(self.out))

    def _wrap_output(self, array, index):
        if array is None:
            raise RuntimeError(FREED_MESSAGE.format(name=self.op.name))
        t = _wrap(array, self, index) if _state.grad_enabled else _wrap(array)
        if self.out_fw is not None and self.out_fw[index]:
            # NOTE: the output's forward-AD tangents, so a VJP rule reading ctx.output is differentiated in
            # forward mode too (forward-over-reverse: hessian-vector products through tanh, exp, ...).
            t._fw = {k: v for k, v in self.out_fw[index].items() if k in _state.forward_levels} or None
        return t

    @property
    def saved_tensors(self) -> tuple:
        """What ``save_for_backward`` stored (torch's ``ctx.saved_tensors``)."""
        if self.freed:
            raise RuntimeError(FREED_MESSAGE.format(name=self.op.name))
        self.check_versions()
        return self.saved or ()

    def save_for_backward(self, *values) -> None:
        """Keep ``values`` (tensors or arrays) for the VJP; tensors are checked for later in-place changes."""
        self.saved = values
        versions = []
        for v in values:
            if getattr(v, "_vc", None) is not None:
                versions += (v._vc, v._vc[0])
        if versions:
            self.versions = (self.versions or ()) + tuple(versions)

    def check_versions(self) -> None:
        versions = self.versions or ()
        for counter, expected in zip(versions[::2], versions[1::2]):
            if counter[0] != expected:
                raise RuntimeError(
                    f"{self.op.name}: one of the tensors needed for its gradient was modified by the in-place "
                    f"op {counter[1]} after it was saved (it is at version {counter[0]}; expected {expected}). "
                    "Use the out-of-place form (e.g. x = x + 1 instead of x.add_(1)) or clone it first.")

    def release(self) -> None:
        """Drop saved values after backward (unless the graph is retained)."""
        if self.inputs is not None or self.out is not None or self.saved is not None:
            self.freed = True
        self.inputs = self.out = self.saved = None

    # -- hooks on non-leaf tensors -------------------------------------------------------------------
    def add_hook(self, index: int, hook):
        if self.hooks is None:
            self.hooks = {}
        hooks = self.hooks.setdefault(index, [])
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def retain(self, index: int, tensor) -> None:
        if self.retained is None:
            self.retained = {}
        self.retained[index] = weakref.ref(tensor)

    def __repr__(self) -> str:
        return f"<{self.op.backward_name} object at {id(self):#x}>"
