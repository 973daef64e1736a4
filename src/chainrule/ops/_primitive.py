"""How a primitive op is declared, and how it is applied: the one place that records the graph.

A primitive is one class, the single source of truth about the op:

- ``name``, ``inputs`` (the names of its tensor inputs, as its formulas use them) and ``params``, the schema
  of its non-tensor parameters (:class:`Param`: name, accepted types, meaning);
- ``forward(ctx, *arrays, **params)`` on raw arrays; ``vjp(ctx, *grads)`` and ``jvp(ctx, *tangents)`` written
  in chainrule ops, so they are differentiable themselves; ``batch_rule`` for vmap;
- the text the rest of the library shows or generates: ``doc`` (one line: what it computes), ``local`` (per
  input, its local derivative d out / d input as a chainrule expression), ``backward_code`` (per input, the
  downstream gradient as code; ``backward_view`` when that code is a view of the upstream gradient),
  ``expression`` (the forward as code),
  ``gate`` (the backward pattern in the lecture's words), and ``methods`` / ``aliases`` (the Tensor methods
  and public names its function provides).

Rules read the parameters from the mapping ``ctx.params`` (like a jaxpr equation's params); values a forward
derives for its own rules (residuals, e.g. an input's shape) may be kept on ``ctx``.

``apply(op, inputs, **params)`` runs an op. With no transform active it runs the forward and, only when a
gradient is wanted, records a :class:`~chainrule.autograd.graph.Node` (the eager fast path). Otherwise it hands
``(op, inputs, params)`` to the innermost active :class:`Interpreter` (vmap, forward-mode AD, anomaly mode, the
program recorder): a new transform is one new interpreter, with no edit here.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import warnings

from .. import _state
from .._backend import (
    QUIET,
    WARN_STATE,
    MetaArray,
    ensure_array,
    errstate_var,
    meta_array,
    ndarray,
    own_warnings_dropped,
    xp,
)
from ..autograd.graph import Node
from ..tensor import Tensor, _wrap

# Every primitive by name: the op database's meta-test, the program checker and the tools that walk the graph
# read this.
PRIMITIVES: dict[str, type] = {}
# Every public function of the ops package by module: ``__all__`` of each family is generated from it.
PUBLIC: dict[str, dict] = {}


class Param:
    """One declared parameter of a primitive: its name, the Python types a value may have, and its meaning.

    ``types`` is a type or a tuple of types (``None`` among them: the parameter may be None).
    """

    __slots__ = ("name", "types", "doc")

    def __init__(self, name: str, types=object, doc: str = ""):
        self.name, self.types, self.doc = name, types if isinstance(types, tuple) else (types,), doc

    def accepts(self, value) -> bool:
        return any(value is None if t is None else isinstance(value, t) for t in self.types)

    def __repr__(self) -> str:
        names = " | ".join("None" if t is None else t.__name__ for t in self.types)
        return f"{self.name}: {names}"


class Primitive:
    """Base class of built-in ops; see the module docstring for what a subclass declares.

    - ``forward(ctx, *arrays, **params) -> array`` (or a tuple of arrays when ``n_outputs > 1``)
    - ``vjp(ctx, *grads) -> gradient per tensor input`` (a tuple, or one tensor for one input; None = no gradient)
    - ``jvp(ctx, *tangents) -> output tangent`` (one tangent per tensor input; absent ones are zeros)
    - ``batch_rule(inputs, batched, params) -> output(s)`` (vmap): the op on whole batches. ``batched[i]`` says
      whether ``inputs[i]`` carries the batch as its leading dim (the others are shared by every sample); the
      outputs carry it as their leading dim. None: ``vmap`` falls back to a loop over the samples. Shorthand
      for single-input ops that only need their parameters adjusted: ``batch_params(size, params) -> params``.
      Parameters that come from a batched tensor (an index) reach the rule as :class:`BatchedParam` only when
      ``batches_params`` is set; otherwise such an op runs as a loop over the samples.

    Flags: ``save_inputs`` / ``save_output`` (what the rules read), ``broadcasts`` (inputs broadcast against
    each other; gradients are summed back to each input's shape by the engine, the one place that does it),
    ``differentiable`` (False for comparisons, argmax, ...), ``dynamic_shape`` (the output's shape depends on the
    input's values, as nonzero's: a compiler cannot record it), ``random`` (the forward draws random numbers:
    never merged or folded), ``may_warn`` (the forward can meet inf/nan or a
    zero divisor: NumPy's floating-point warnings are silenced around it, as torch prints none),
    ``warns_from_numpy`` (such a forward calls NumPy functions written in Python - ``ndarray.sum``, ``einsum``,
    ``linalg`` - whose warnings come from NumPy's frames, out of reach of chainrule's warnings filter: it always
    runs under NumPy's "ignore" state), ``n_outputs``.
    """

    name = "primitive"
    backward_name = "PrimitiveBackward0"
    inputs: tuple = ("x",)
    params: tuple = ()
    doc = ""
    local: tuple | None = None
    backward_code: tuple | None = None
    backward_view = False
    expression: str | None = None
    gate: str | None = None
    methods: tuple = ()
    aliases: tuple = ()
    save_inputs = False
    save_output = False
    broadcasts = False
    differentiable = True
    dynamic_shape = False
    random = False
    may_warn = False
    warns_from_numpy = False
    n_outputs = 1
    jvp = None
    batch_rule = None
    batches_params = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            if cls.name in PRIMITIVES:
                raise RuntimeError(f"primitive {cls.name!r} is declared twice ({PRIMITIVES[cls.name].__module__} "
                                   f"and {cls.__module__})")
            cls.backward_name = _camel(cls.name) + "Backward0"
            PRIMITIVES[cls.name] = cls
        if "batch_params" in cls.__dict__:
            cls.batch_rule = classmethod(_batch_with_params)

    @classmethod
    def local_text(cls, index: int, names: dict, params: dict) -> str | None:
        """Input ``index``'s local derivative with the input ``names`` and the ``params`` filled in, or None."""
        if cls.local is None or index >= len(cls.local) or cls.local[index] is None:
            return None
        return cls.local[index].format(**names, **{k: format_param(v) for k, v in params.items()})

    @classmethod
    def gradient_code(cls, params: dict, shapes: tuple) -> tuple | None:
        """Per input, the downstream gradient as a code template (``backward_code``) over ``{g}``, the input
        names, ``{out}``, ``{cr}`` and ``{<input>_shape}``; ops whose code depends on the parameters' values or
        the input ``shapes`` override this."""
        return cls.backward_code

    @classmethod
    def code(cls, names: dict, params: dict) -> str | None:
        """The forward as a line of code over the input ``names`` (``"x + y"``), or None when not declared."""
        if cls.expression is None:
            return None
        return cls.expression.format(**names, **{k: format_param(v) for k, v in params.items()})


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\s]+", name))


def format_param(value) -> str:
    """A parameter as code: numbers as the lecture writes them (``2``, ``0.5``), anything else as ``repr``."""
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value) if math.isfinite(value) else f"float('{value}')"
    return repr(value)


# -- public functions ---------------------------------------------------------------------------------

def public(op: type | None = None, *, methods: tuple = (), aliases: tuple = (), name: str | None = None):
    """Declare the decorated function public: listed in its module's ``__all__`` (see :func:`exports`) under its
    name and ``aliases``, attached to :class:`Tensor` as ``methods``. With ``op``, the function is that
    primitive's public face: the primitive's own ``methods`` and ``aliases`` apply, and a function without a
    docstring gets one generated from the declaration (what it computes, its local derivative). ``name``: the
    public name, when it is not the function's own (``inverse`` for ``linalg.inv``). The public function also
    takes torch's ``out=`` keyword (see :func:`_accepting_out`) and checks its tensor arguments' types (see
    :func:`checking_tensors`); the library's own calls and the methods skip both."""
    def declare(fn):
        names = (name or fn.__name__,) + tuple(aliases)
        attached = tuple(methods)
        if op is not None:
            names += tuple(op.aliases)
            attached += tuple(op.methods)
            op.function = fn
            if not fn.__doc__:
                fn.__doc__ = describe(op)
        table = PUBLIC.setdefault(fn.__module__, {})
        with_out = _accepting_out(fn)
        for public_name in names:
            table[public_name] = with_out
        for method_name in attached:
            setattr(Tensor, method_name, fn)
        return fn
    return declare


def _accepting_out(fn):
    """``fn`` taking ``out=`` as torch's functions do: the result is written into the given tensor(s)."""
    name = fn.__name__
    try:
        has_out = "out" in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # NOTE: a callable without a signature is left as it is
        return fn
    checked = checking_tensors(fn)
    if has_out:
        return checked

    @functools.wraps(fn)
    def with_out(*args, out=None, **kwargs):
        if out is None:
            return checked(*args, **kwargs)
        return _write_out(name, checked, args, kwargs, out)
    return with_out


def checking_tensors(fn):
    """``fn`` refusing, with torch's message, a non-tensor where its signature declares a ``Tensor`` parameter:
    ``flip(): argument 'input' (position 1) must be Tensor, not NoneType`` instead of an error from deep inside."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return fn
    wanted = [(i, p.name) for i, p in enumerate(parameters)
              if p.annotation in ("Tensor", Tensor) and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not wanted:
        return fn
    name = fn.__name__

    @functools.wraps(fn)
    def checked(*args, **kwargs):
        for i, param in wanted:
            value = args[i] if i < len(args) else kwargs.get(param, Tensor)
            # NOTE: a NumPy array stands for a tensor of its dtype, as everywhere (issue 17, item 5)
            if not isinstance(value, (Tensor, ndarray)) and value is not Tensor:
                raise TypeError(f"{name}(): argument '{param}' (position {i + 1}) must be Tensor, not "
                                f"{type(value).__name__}")
        return fn(*args, **kwargs)
    return checked


def _write_out(name: str, fn, args: tuple, kwargs: dict, out):
    """torch's ``out=`` rules: no autograd, the result's dtype castable to ``out``'s, ``out`` resized (with a
    warning when it had elements) to the result's shape; returns ``out``."""
    given = [a for a in list(args) + list(kwargs.values()) + list(out if isinstance(out, (tuple, list)) else (out,))
             if isinstance(a, Tensor)]
    if _state.grad_enabled and any(t.requires_grad for t in given):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, but "
                           "one of the arguments requires grad.")
    result = fn(*args, **kwargs)
    results = tuple(result) if isinstance(result, tuple) else (result,)
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    if len(outs) != len(results):
        raise TypeError(f"{name}(): out= takes {len(results)} tensor(s) for this call, got {len(outs)}")
    for r, o in zip(results, outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(o).__name__}")
        if r.dtype.category > o.dtype.category:
            raise RuntimeError(f"{name}(): result type {r.dtype} can't be cast to the desired output type {o.dtype}")
        if o._data.shape != r._data.shape:
            if o._data.size:
                warnings.warn(f"{name}(): an output with one or more elements was resized since it had shape "
                              f"{list(o._data.shape)}, which does not match the required output shape "
                              f"{list(r._data.shape)}", UserWarning, stacklevel=3)
            o._data = xp.empty(r._data.shape, dtype=o._data.dtype)
        o._data[...] = r._data
        o._counter()[0] += 1
    return out


def exports(module: str) -> list:
    """The public names declared in ``module`` with :func:`public`, for its ``__all__``."""
    return list(PUBLIC.get(module, {}))


def describe(op: type) -> str:
    """A docstring from ``op``'s declaration: what it computes, its parameters and its local derivative."""
    names = {n: n for n in op.inputs} | {"out": "out"}
    lines = [f"{op.doc}" if op.doc else f"The ``{op.name}`` primitive."]
    if op.params:
        lines += ["", "Parameters: " + "; ".join(f"``{p.name}``: {p.doc or repr(p)}" for p in op.params) + "."]
    if op.local is not None:
        terms = [f"d out / d {n} = {t.format(**names, **{p.name: p.name for p in op.params})}"
                 for n, t in zip(op.inputs, op.local) if t is not None]
        lines += ["", "Local derivative: " + "; ".join(terms) + "."]
    return "\n".join(lines)


def method(*names: str):
    """Attach the decorated function to :class:`Tensor` under each name (``@method("exp")``), without making it a
    public function of its module (methods such as ``Tensor.view`` that have no function form)."""
    def attach(fn):
        for name in names:
            setattr(Tensor, name, fn)
        return fn
    return attach


# -- applying an op ---------------------------------------------------------------------------------------

class _Scratch:
    """The ``ctx`` of a forward that records nothing: residuals land here and are dropped with it."""

    inputs = None
    out = None
    saved = None
    params = None

    def save_for_backward(self, *values) -> None:
        self.saved = values


_NO_PARAMS: dict = {}


def apply(op, inputs: tuple, /, **params):
    """Run primitive ``op`` on tensors ``inputs`` with parameters ``params`` (its declared schema)."""
    interpreter = _state.interpreter
    if interpreter is None:
        return eager(op, inputs, params or _NO_PARAMS)[0]
    return interpreter.process(op, inputs, params or _NO_PARAMS)[0]


def records_nothing(g: Tensor) -> bool:
    """Whether a rule may compute on ``g``'s array directly instead of through ops: no transform is active, no
    graph is being recorded (a backward pass without ``create_graph``), and the array is a plain NumPy one."""
    return _state.interpreter is None and not _state.grad_enabled and g._data.__class__ is ndarray


def bind(op, inputs: tuple, params: dict) -> tuple:
    """``(result, ctx)`` of ``op`` at the active interpreter: what interpreters call to run an op one level down."""
    interpreter = _state.interpreter
    if interpreter is None:
        return op.eager(inputs, params)
    return interpreter.process(op, inputs, params)


def eager(op, inputs: tuple, params: dict) -> tuple:
    """Run ``op`` now and, when a gradient is wanted, record its node. Returns ``(result, ctx)``."""
    # NOTE: this is the per-op hot path; it is written out long-hand (no generators, one pass per loop).
    record = False
    if _state.grad_enabled and op.differentiable:
        for t in inputs:
            if t.requires_grad:
                record = True
                break
    ctx = Node(op) if record else _Scratch()
    ctx.params = params
    # NOTE: inf/nan are values here, as in torch: NumPy's RuntimeWarnings (log(0), x/0, overflow) never reach the
    # user. chainrule's warnings filter drops them (see _backend.own_warnings_dropped); only when a user's error
    # state or a later filter comes first do forwards declared able to meet inf/nan run under QUIET (a backward
    # pass sets it once for the whole pass).
    token = None
    if op.may_warn:
        state = errstate_var.get()
        if state is not QUIET and (state is not WARN_STATE or op.warns_from_numpy or not own_warnings_dropped()):
            token = errstate_var.set(QUIET)
    try:
        if len(inputs) == 1:
            out = op.forward(ctx, inputs[0]._data, **params)
        elif len(inputs) == 2:
            out = op.forward(ctx, inputs[0]._data, inputs[1]._data, **params)
        else:
            out = op.forward(ctx, *[t._data for t in inputs], **params)
    finally:
        if token is not None:
            errstate_var.reset(token)
    single = op.n_outputs == 1
    if single and out.__class__ is not ndarray:
        out = ensure_array(out)
    elif single and inputs and inputs[0]._data.__class__ is MetaArray:
        # NOTE: a forward that builds its result in a new array (np.asarray, np.zeros) still gives a meta output
        out = meta_array(out.shape, out.dtype)
    if not record:
        result = _wrap(out) if single else tuple([_wrap(a) for a in out])
        if single and inputs and (out.base is not None or out is inputs[0]._data):
            _share_version_counter(result, inputs)
        return result, ctx
    # NOTE: graph.edge_to written inline (the hot path): a first output's edge is its node, not (node, 0)
    edges = []
    for t in inputs:
        if not t.requires_grad:
            edges.append(None)
        elif t.grad_fn is None:
            edges.append(t)
        elif t._out_nr == 0:
            edges.append(t.grad_fn)
        else:
            edges.append((t.grad_fn, t._out_nr))
    ctx.next = tuple(edges)
    if op.save_inputs:
        ctx.inputs = inputs
        # NOTE: the versions alone, as ints: the counters are read back from ``inputs`` when checked, so this
        # tuple holds nothing Python's garbage collector tracks (it stops walking it after its first pass).
        ctx.input_versions = tuple([0 if t._vc is None else t._vc[0] for t in inputs])
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
            counter = result._counter()
            ctx.versions = (ctx.versions or ()) + (counter, counter[0])
    else:
        result = tuple([_wrap(a, ctx, i) if a.dtype.kind == "f" else _wrap(a) for i, a in enumerate(out)])
        ctx.out_meta = tuple([(a.shape, a.dtype) for a in out])
        if op.save_output:
            ctx.out = out
    return result, ctx


def _eager_method(cls, inputs: tuple, params: dict) -> tuple:
    """Run the op eagerly (see :func:`eager`); user Functions override it with their own way of running."""
    return eager(cls, inputs, params)


Primitive.eager = classmethod(_eager_method)


def _share_version_counter(result: Tensor, inputs: tuple) -> None:
    # NOTE: a view shares its base's version counter (as in torch), so an in-place change through either one
    # invalidates what backward saved of the other.
    for t in inputs:
        if xp.may_share_memory(result._data, t._data):
            result._vc = t._counter()
            return


class Interpreter:
    """One active transform on the interpreter stack (vmap, a forward-AD level, anomaly mode, a recorder).

    While it is the innermost active one, every op application reaches :meth:`process` as ``(op, inputs,
    params)``; it returns ``(result, ctx)``. :meth:`lower` runs an op at the interpreter below (the next outer
    one, or eager execution), which is how an interpreter runs the op itself and the ops of its rules. Entering
    pushes it; leaving pops it.
    """

    parent = None

    def __enter__(self):
        self.parent = _state.interpreter
        _state.interpreter = self
        return self

    def __exit__(self, *exc) -> bool:
        self.remove()
        return False

    def remove(self) -> None:
        """Take this interpreter off the stack (wherever it is: forward-AD levels may close out of order)."""
        if _state.interpreter is self:
            _state.interpreter = self.parent
            return
        inner = _state.interpreter
        while inner is not None and inner.parent is not self:
            inner = inner.parent
        if inner is not None:
            inner.parent = self.parent

    def process(self, op, inputs: tuple, params: dict) -> tuple:
        return self.lower(op, inputs, params)

    def lower(self, op, inputs: tuple, params: dict) -> tuple:
        active = _state.interpreter
        _state.interpreter = self.parent
        try:
            return bind(op, inputs, params)
        finally:
            _state.interpreter = active

    def below(self) -> _Below:
        """A context in which ops run at the interpreter below this one (for the ops a rule applies)."""
        return _Below(self)

    # -- what happens outside ops, for interpreters that record a whole computation (the compiler's tracer).
    # Each default passes the event on to the interpreter below.

    def check_read(self, t: Tensor, what: str) -> None:
        """Python is about to read ``t``'s values (``.item()``, ``bool(t)``, ``.numpy()``, printing)."""
        if self.parent is not None:
            self.parent.check_read(t, what)

    def created(self, t: Tensor) -> None:
        """A factory (``zeros``, ``tensor``, ...) made ``t`` from Python data: a constant, not an op result."""
        if self.parent is not None:
            self.parent.created(t)

    def wrote(self, target: Tensor, value: Tensor) -> None:
        """An in-place op replaced ``target``'s values with ``value``'s (``value`` is the op's result)."""
        if self.parent is not None:
            self.parent.wrote(target, value)

    def draw(self, factory, args: tuple, kwargs: dict) -> Tensor:
        """A random factory is called: ``factory(*args, **kwargs)`` draws from a generator."""
        if self.parent is not None:
            return self.parent.draw(factory, args, kwargs)
        return factory(*args, **kwargs)

    def mark(self, phase: str) -> None:
        """The computation enters a new ``phase`` (``"backward"``, ``"optimizer step"``): for readable code."""
        if self.parent is not None:
            self.parent.mark(phase)


class _Below:
    __slots__ = ("interpreter", "active")

    def __init__(self, interpreter: Interpreter):
        self.interpreter = interpreter

    def __enter__(self):
        self.active = _state.interpreter
        _state.interpreter = self.interpreter.parent

    def __exit__(self, *exc) -> bool:
        _state.interpreter = self.active
        return False


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


def batch_elementwise(op, inputs: tuple, batched: tuple, params: dict):
    """The batching rule of elementwise and broadcasting ops: align the ranks, then apply the op itself."""
    return apply(op, align(inputs, batched), **params)


def _batch_with_params(op, inputs: tuple, batched: tuple, params: dict):
    return apply(op, inputs, **op.batch_params(inputs[0]._data.shape[0], params))


def materialize(t: Tensor, b: bool, size: int) -> Tensor:
    """``t`` with a leading batch dim of ``size``; a shared input is broadcast (a view whose gradient sums back)."""
    return t if b else t.unsqueeze(0).expand(size, *t._data.shape)


def shift(dims: tuple) -> tuple:
    """Dims of a sample as dims of the batch (one further right, past the leading batch dim)."""
    return tuple(d + 1 for d in dims)


def shift_dim(size: int, params: dict) -> dict:
    """``batch_params`` of a primitive with one ``dim`` parameter: the same parameters, ``dim`` one further right."""
    return {**params, "dim": params["dim"] + 1}
