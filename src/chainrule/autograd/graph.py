"""The recorded graph: one :class:`Node` per op application that needs a gradient.

A node points *backwards* to where its inputs came from (``next``, one edge per input: the producing node for
its first output, ``(node, index)`` for a later output, a leaf tensor, or None for inputs that need no
gradient; :func:`edge_source` reads one). Nothing points forwards, and a node never holds a strong reference
to its own outputs, so the graph has no reference cycles: it is freed the moment the last tensor that refers
to it is dropped. Saved outputs are kept as raw arrays and re-wrapped on demand.
"""

from __future__ import annotations

import itertools
import weakref

from .. import _state
from .._hooks import RemovableHandle
from ..tensor import Tensor, _wrap

_sequence = itertools.count()

FREED_MESSAGE = (
    "{name}: trying to backward through the graph a second time (or to read tensors it saved after they were "
    "freed). Saved values are freed when you call .backward() or autograd.grad(); pass retain_graph=True to the "
    "first call if you need to backward through the graph again.")


def edge_to(t: Tensor):
    """The edge a consumer records for input ``t`` (see the module docstring).

    NOTE: most producers have one output, and their edge is the node itself rather than a ``(node, 0)`` tuple:
    one object fewer per recorded op for Python's garbage collector, whose full passes walk the whole graph
    (a 100,000-step scalar chain recorded 25-30% faster).
    """
    if not t.requires_grad:
        return None
    if t.grad_fn is None:
        return t
    return t.grad_fn if t._out_nr == 0 else (t.grad_fn, t._out_nr)


def edge_source(edge) -> tuple | None:
    """``(node, output index)`` an edge of ``node.next`` leads to; None for a leaf tensor or a constant."""
    if edge is None or isinstance(edge, Tensor):
        return None
    return edge if edge.__class__ is tuple else (edge, 0)


class Node:
    """One recorded op application; also the ``ctx`` its forward, VJP and JVP rules read and write.

    ``op`` is the primitive (or user Function) class, ``next`` one edge per tensor input, ``inputs`` the input
    tensors when the op keeps them (and ``input_versions`` their versions then), ``out`` the output array(s)
    when the op keeps them, ``saved`` what ``save_for_backward`` stored, ``versions`` ``(counter, version)``
    pairs of the other tensors kept (outputs, saved values), ``params`` the op's parameters (its declared
    mapping). Residuals a forward derives for its own rules (``ctx.in_shape = x.shape``) go into the instance
    dict.
    """

    __slots__ = ("op", "params", "next", "inputs", "input_versions", "out", "saved", "versions", "seq", "freed",
                 "__dict__", "__weakref__")
    # NOTE: what most nodes never set is a class-level default (an instance sets it in its dict when needed), so
    # creating a node, once per op, assigns only the slots every node uses.
    in_shapes = None
    out_fw = None
    hooks = None
    retained = None
    out_meta = None
    fn_hooks = None

    def __init__(self, op):
        self.op = op
        self.params = None
        self.next = ()
        self.inputs = None
        self.input_versions = None
        self.out = None
        self.saved = None
        self.versions = None
        self.seq = next(_sequence)
        self.freed = False

    # -- what the rules read -------------------------------------------------------------------------
    def name(self) -> str:
        """torch's name of this node, e.g. ``"MulBackward0"`` (the op name, ``"mul"``, is ``node.op.name``)."""
        return self.op.backward_name

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
            if isinstance(v, Tensor):
                counter = v._counter()
                versions += (counter, counter[0])
        if versions:
            self.versions = (self.versions or ()) + tuple(versions)

    def check_versions(self) -> None:
        """Raise if a tensor this node kept for its gradient was changed in place after it was kept."""
        if self.input_versions is not None and self.inputs is not None:
            for t, expected in zip(self.inputs, self.input_versions):
                counter = t._vc  # NOTE: None until the tensor first needs one: still at version 0
                if counter is not None and counter[0] != expected:
                    self._stale(counter, expected)
        versions = self.versions or ()
        for counter, expected in zip(versions[::2], versions[1::2]):
            if counter[0] != expected:
                self._stale(counter, expected)

    def _stale(self, counter: list, expected: int) -> None:
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

    # -- torch's view of the graph: next_functions, metadata, node hooks ------------------------------
    @property
    def next_functions(self) -> tuple:
        """Where each input's gradient goes, as torch shows it: one ``(node, output index)`` per tensor input.

        A leaf that requires grad appears as ``(AccumulateGrad, 0)`` (its ``.variable`` is the leaf); an input
        needing no gradient as ``(None, 0)``.

        Example::

            >>> x = chainrule.ones(2, requires_grad=True)
            >>> (x * 2).sum().grad_fn.next_functions
            ((<MulBackward0 object at 0x...>, 0),)
        """
        return tuple(edge_source(edge) or ((None, 0) if edge is None else (accumulate_grad(edge), 0))
                     for edge in self.next)

    @property
    def metadata(self) -> dict:
        """A dict for the user's own notes about this node (kept as long as the node)."""
        return self.__dict__.setdefault("_metadata", {})

    def register_prehook(self, hook):
        """Call ``hook(grad_outputs)`` before this node's backward runs; a returned tuple replaces them.

        ``grad_outputs`` has one entry per output of the op (None where no gradient arrived). Returns a handle
        whose ``remove()`` unregisters the hook.
        """
        return self._add_fn_hook(0, hook)

    def register_hook(self, hook):
        """Call ``hook(grad_inputs, grad_outputs)`` after this node's backward; a returned tuple replaces
        ``grad_inputs`` (one entry per tensor input, None where the input needs no gradient).

        Example::

            >>> y = x * 3
            >>> handle = y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0] * 0,))
        """
        return self._add_fn_hook(1, hook)

    def _add_fn_hook(self, kind: int, hook):
        if not callable(hook):
            raise TypeError(f"{self.name()}: a hook must be callable, got {type(hook).__name__}")
        if self.fn_hooks is None:
            self.fn_hooks = ([], [])  # NOTE: (pre-hooks, post-hooks); None keeps the engine's check to one read.
        hooks = self.fn_hooks[kind]
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def __repr__(self) -> str:
        return f"<{self.op.backward_name} object at {id(self):#x}>"


class AccumulateGrad:
    """The node torch shows for a leaf in ``next_functions``: it accumulates the leaf's ``.grad``.

    One per live leaf (the same object each time it is asked for), so graphs can be walked by identity.
    """

    __slots__ = ("variable", "metadata", "__weakref__")

    def __init__(self, variable):
        self.variable = variable
        self.metadata = {}

    @property
    def next_functions(self) -> tuple:
        return ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


# NOTE: keyed by id(leaf): an entry lives only while something holds its node, which holds the leaf, so the id
# cannot be reused meanwhile.
_accumulators: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def accumulate_grad(leaf) -> AccumulateGrad:
    """The :class:`AccumulateGrad` node of ``leaf``."""
    node = _accumulators.get(id(leaf))
    if node is None:
        node = _accumulators[id(leaf)] = AccumulateGrad(leaf)
    return node
