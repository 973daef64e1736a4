"""``chainrule.autograd.Function``: user-defined ops with their own backward (the lecture's "modular API").

A Function runs on the same :class:`Node` and engine as the built-in primitives; the node is the ``ctx``.

Example::

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g

    y = Cube.apply(chainrule.tensor(2.0, requires_grad=True))
"""

from __future__ import annotations

from .. import _state
from .._backend import xp
from ..ops._primitive import bind
from ..tensor import Tensor, _wrap
from .graph import Node, edge_to


class FunctionCtx(Node):
    """The ``ctx`` of a user Function: a graph node with torch's ctx helpers."""

    __slots__ = ()

    def __init__(self, op):
        super().__init__(op)
        self.needs_input_grad = ()
        self.non_differentiable = ()
        self.materialize_grads = True
        self.saved_for_forward = ()
        self.dirty = ()

    def mark_non_differentiable(self, *tensors) -> None:
        """Outputs that never get a gradient (e.g. indices)."""
        self.non_differentiable = tuple(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)

    def save_for_forward(self, *tensors) -> None:
        """Keep tensors for ``jvp`` (read back with ``ctx.saved_tensors`` there)."""
        self.saved_for_forward = tensors

    @property
    def saved_tensors(self) -> tuple:
        """What ``save_for_backward`` stored; inside ``jvp``, what ``save_for_forward`` stored (as torch)."""
        if self.__dict__.get("in_jvp") and self.saved_for_forward:
            return self.saved_for_forward
        return Node.saved_tensors.fget(self)

    def mark_dirty(self, *tensors) -> None:
        """Inputs the forward modified in place (and returns): they take this node as their history."""
        self.dirty = tuple(id(t) for t in tensors)


class _FunctionMeta(type):
    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        cls.name = name
        cls.backward_name = name + "Backward"


class Function(metaclass=_FunctionMeta):
    """Base class for custom differentiable ops: define static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``.

    ``forward`` receives the arguments as given (tensors and other values) with grad mode off and returns a
    tensor or a tuple of tensors. ``backward`` receives one gradient per output and returns one per forward
    argument (None for non-tensor arguments and inputs that need none). An optional static ``jvp(ctx, *tangents)``
    gives forward mode. Call it with ``MyFunction.apply(*args)``.

    As in torch, ``forward`` may instead take only the arguments (``forward(*args)``) when the class defines
    ``setup_context(ctx, inputs, output)``, which then saves what the rules need. A forward that modifies an
    input in place calls ``ctx.mark_dirty(input)`` and returns it: the input takes the Function's node as its
    history. Under ``vmap`` the forward's ops are batched as they run (``generate_vmap_rule = True`` is accepted
    and is what happens anyway); a static ``vmap(info, in_dims, *args) -> (output, out_dims)`` replaces that with
    the user's own batching rule (``info.batch_size``, ``info.randomness``).
    """

    generate_vmap_rule = False

    is_function = True
    save_inputs = False
    save_output = False
    broadcasts = False
    differentiable = True

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("a Function subclass must define a static forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a Function subclass must define a static backward(ctx, *grad_outputs) to be "
                                  "differentiated in reverse mode")

    jvp = None

    @classmethod
    def apply(cls, *args):
        """Run the Function on ``args`` (tensors and other values) through the active transforms."""
        positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        inputs = tuple(args[i] for i in positions)
        return bind(cls, inputs, {"args": args, "positions": positions})[0]

    @classmethod
    def arguments(cls, inputs: tuple, params: dict) -> tuple:
        """The forward's arguments: ``params['args']`` with the tensors replaced by ``inputs`` (an interpreter
        may run the Function on other tensors than it was called with)."""
        args = list(params["args"])
        for p, t in zip(params["positions"], inputs):
            args[p] = t
        return tuple(args)

    @classmethod
    def eager(cls, inputs: tuple, params: dict) -> tuple:
        """Run ``forward`` with grad mode off and, when a gradient is wanted, record the node. ``(result, ctx)``."""
        args = cls.arguments(inputs, params)
        record = _state.grad_enabled and any(t.requires_grad for t in inputs)
        ctx = FunctionCtx(cls)
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx.arg_positions = params["positions"]
        edges = tuple([edge_to(t) for t in inputs])
        with _state.no_grad():
            if cls.uses_setup_context():
                raw = cls.forward(*args)
                cls.setup_context(ctx, args, raw)
            else:
                raw = cls.forward(ctx, *args)
        is_tuple = isinstance(raw, tuple)
        outs = raw if is_tuple else (raw,)
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                raise TypeError(f"{cls.__name__}.forward must return tensors; output {i} is a {type(o).__name__}")
        results = []
        for i, o in enumerate(outs):
            differentiable = record and o._data.dtype.kind == "f" and id(o) not in ctx.non_differentiable
            if id(o) in ctx.dirty:
                results.append(_modified_in_place(cls, o, ctx if differentiable else None, i, inputs))
            else:
                results.append(_wrap(o._data, ctx, i) if differentiable else _wrap(o._data))
        if record:
            ctx.next = edges
            ctx.out_meta = tuple((o._data.shape, o._data.dtype) for o in outs)
        return (tuple(results) if is_tuple else results[0]), ctx

    @classmethod
    def uses_setup_context(cls) -> bool:
        """Whether the class separates ``setup_context`` from a ctx-less ``forward`` (torch's newer style)."""
        return cls.setup_context is not Function.setup_context

    @staticmethod
    def setup_context(ctx, inputs: tuple, output):
        raise NotImplementedError("setup_context: define it to save for backward what a ctx-less forward needs")

    @classmethod
    def has_vmap_rule(cls) -> bool:
        """Whether the class defines its own static ``vmap`` batching rule."""
        return getattr(cls, "vmap", None) is not None and cls.vmap is not Function.vmap

    vmap = None

    @classmethod
    def vjp(cls, ctx, *grads):
        """Engine entry: call the user's backward, then keep the gradients of tensor arguments only."""
        result = cls.backward(ctx, *grads)
        result = result if isinstance(result, tuple) else (result,)
        n_args = len(ctx.needs_input_grad)
        if len(result) < n_args:
            result = result + (None,) * (n_args - len(result))
        if len(result) > n_args:
            raise RuntimeError(f"{cls.__name__}.backward returned {len(result)} gradients, but forward took "
                               f"{n_args} arguments")
        out = []
        for i in ctx.arg_positions:
            g = result[i]
            if g is not None and not isinstance(g, Tensor):
                g = _wrap(xp.asarray(g))
            out.append(g)
        return tuple(out)


def _modified_in_place(cls, t: Tensor, ctx, index: int, inputs: tuple) -> Tensor:
    """An input the forward changed in place (``mark_dirty``): it is the output, with the node as its history."""
    if not any(t is i for i in inputs):
        raise RuntimeError(f"{cls.__name__}: mark_dirty was given a tensor that is not an input of the forward; only "
                           "inputs modified in place may be marked dirty")
    if ctx is not None and t.requires_grad and t.grad_fn is None:
        raise RuntimeError(f"{cls.__name__}: a leaf tensor that requires grad is being used in an in-place operation "
                           "(mark_dirty); clone it first")
    if ctx is not None:
        t.grad_fn, t._out_nr, t.requires_grad = ctx, index, True
    return t


class once_differentiable:
    """Decorator for a backward that is not itself differentiable: it runs with grad mode off."""

    def __new__(cls, fn):
        def wrapper(ctx, *args):
            with _state.no_grad():
                return fn(ctx, *args)
        wrapper.__name__ = getattr(fn, "__name__", "backward")
        return wrapper
