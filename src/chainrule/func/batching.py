"""How ``vmap`` batches: a level runs the function on one example and batches every op as it goes.

While ``vmap(f)`` runs ``f``, the tensors ``f`` sees are *examples*: one sample of each batched argument.
Every primitive ``apply`` reports to the active :class:`Level`, which

1. runs the op's forward on the examples, so shapes, dtypes and the op's parameters come out exactly as for
   one sample (and any graph a transform inside ``f`` needs is recorded on the examples), then
2. runs the op's ``batch_rule`` on the *physical* values, the whole batch with the batch as the leading dim,
   through ``apply`` again: the batched computation is an ordinary recorded computation, differentiable and
   visible to an enclosing ``vmap``.

Each example is tied to its physical value by the identity of its data array (a :class:`BatchedArray`), so
aliases of an example (``ctx.output`` in a VJP rule, a primal unpacked from a dual) find the same batch.
Reading an example's values anywhere but an op's forward (``.item()``, ``if x > 0:``, NumPy on ``.data``)
raises, since one sample's values would silently stand for the whole batch.

This is JAX's batching interpreter run eagerly, without storing the trace: transforms inside ``f`` (grad,
jvp, an inner vmap) call ops through ``apply`` too, so their work is batched, and transforms outside ``vmap``
see the physical computation.
"""

from __future__ import annotations

import warnings

from .. import _state
from .._backend import ndarray, xp
from ..autograd.forward_ad import propagate
from ..ops import _primitive  # NOTE: a module, not names: ops may still be initialising
from ..tensor import Tensor, _wrap
from .pytree import tree_flatten, tree_unflatten

__all__ = ["BatchedArray", "Level", "loop"]

# True while an op's forward runs: it may compute on examples (its results are rebound to the batch).
_reading = False

_VALUE_ERROR = (
    "vmap: {what} read the values of a batched tensor. Inside vmap a tensor stands for a whole batch of "
    "values, so data-dependent Python control flow (`if x > 0:`), .item(), .tolist(), .numpy(), printing and "
    "NumPy calls on tensor data are not supported. Write the computation with chainrule ops instead (e.g. "
    "chainrule.where for a data-dependent choice), or move it out of the vmapped function.")

# NumPy functions that read only shapes and dtypes (or make arrays ``like=`` one), so examples allow them.
_SHAPE_ONLY = {xp.zeros_like, xp.ones_like, xp.empty_like, xp.full_like, xp.shape, xp.ndim, xp.size,
               xp.may_share_memory, xp.shares_memory, xp.result_type, xp.zeros, xp.ones, xp.empty, xp.full,
               xp.eye, xp.identity, xp.arange}


def plain(array):
    """The ordinary array behind an example's data (a view, no copy)."""
    return array.view(ndarray) if array.__class__ is BatchedArray else array


def _plain_args(items):
    """``items`` (a tuple or list, possibly holding tuples and lists of arrays) with examples made plain."""
    out = []
    for item in items:
        if item.__class__ is BatchedArray:
            item = item.view(ndarray)
        elif isinstance(item, (tuple, list)):
            item = type(item)(plain(a) if isinstance(a, ndarray) else a for a in item)
        out.append(item)
    return out


class BatchedArray(ndarray):
    """The data of an example inside vmap: a normal array to ops' forwards and for shapes and dtypes, but
    reading its values anywhere else raises (they are one sample's, not the batch's)."""

    def __array_finalize__(self, obj):
        self.level = getattr(obj, "level", None)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if not _reading:
            raise RuntimeError(_VALUE_ERROR.format(what=f"numpy.{ufunc.__name__}"))
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain_args(kwargs["out"]))
        return getattr(ufunc, method)(*_plain_args(inputs), **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if not _reading and func not in _SHAPE_ONLY:
            raise RuntimeError(_VALUE_ERROR.format(what=f"numpy.{func.__name__}"))
        return func(*_plain_args(args), **dict(zip(kwargs, _plain_args(list(kwargs.values())))))

    def __getitem__(self, key):
        out = ndarray.__getitem__(self, key)
        if not _reading and not isinstance(out, ndarray):
            raise RuntimeError(_VALUE_ERROR.format(what="indexing out a single element"))
        return out


def _guarded(name: str, what: str):
    base = getattr(ndarray, name)

    def method(self, *args, **kwargs):
        if not _reading:
            raise RuntimeError(_VALUE_ERROR.format(what=what))
        return base(self.view(ndarray), *args, **kwargs)
    method.__name__ = name
    return method


_READS = {"__bool__": "data-dependent control flow (bool(tensor), `if tensor:`)",
          "__float__": "float(tensor)", "__int__": "int(tensor)", "__index__": "using a tensor as an int",
          "__complex__": "complex(tensor)", "__iter__": "iterating over a tensor's data",
          "__setitem__": "writing into a tensor's data", "__repr__": "printing", "__str__": "printing",
          "__format__": "formatting", "__reduce__": "pickling", "__reduce_ex__": "pickling", "item": ".item()",
          "tolist": ".tolist()", "tobytes": ".tobytes()", "fill": ".fill()"}
for _name in ("argmax", "argmin", "argsort", "sort", "nonzero", "searchsorted", "dot"):
    _READS[_name] = f"array.{_name}()"
for _name, _what in _READS.items():
    setattr(BatchedArray, _name, _guarded(_name, _what))

# Ops seen without a batching rule (each warns once, naming itself).
_looped: set = set()


def loop(name: str, fn, physical: tuple, batched: tuple, size: int, like: tuple):
    """``fn(i, *inputs)`` sample by sample (``i`` and slices of the batched inputs), the results stacked along
    a new leading dim: correct for any op, but one call per sample. ``like``: the example's outputs."""
    from ..ops.join import stack  # NOTE: func sits above ops; imported on use
    rows = []
    for i in range(size):
        out = fn(i, *[t[i] if b else t for t, b in zip(physical, batched)])
        rows.append(out if isinstance(out, tuple) else (out,))
        for o, r in zip(rows[-1], like, strict=True):
            if o._data.shape != r._data.shape:
                raise RuntimeError(f"vmap: {name} gives outputs of different shapes for different samples "
                                   f"({tuple(r._data.shape)} and {tuple(o._data.shape)}); a shape that depends on "
                                   "the values (e.g. a batched boolean mask) cannot be batched")
    if not rows:
        return tuple(_wrap(xp.zeros((0,) + r._data.shape, dtype=r._data.dtype)) for r in like)
    return tuple(stack([row[k] for row in rows]) for k in range(len(rows[0])))


class Level:
    """One active ``vmap``: the batch size, the randomness mode and each example's physical value.

    Entering makes it the level that ``apply`` reports to; its parent (an enclosing vmap, or None) is active
    while batching rules run, so an enclosing vmap batches the batched computation again.
    """

    def __init__(self, size: int, randomness: str, same_draws: list):
        self.size = size
        self.randomness = randomness
        self.parent = _state.vmap_level
        self.values: dict = {}  # id(example data) -> (example data, physical tensor with the batch leading)
        self.same_draws = same_draws  # randomness='same': one draw per random call, shared by every chunk
        self.draws = 0

    def __enter__(self) -> Level:
        _state.vmap_level = self
        return self

    def __exit__(self, *exc) -> bool:
        _state.vmap_level = self.parent
        return False

    # -- examples and physical values ------------------------------------------------------------------
    def _bind(self, array, physical: Tensor) -> BatchedArray:
        example = plain(array).view(BatchedArray)
        example.level = self
        self.values[id(example)] = (example, physical)
        return example

    def example(self, physical: Tensor) -> Tensor:
        """The tensor standing for the batch ``physical`` (batch leading) inside the function: its first sample.

        It requires grad when the batch does (or carries forward-AD tangents), so that transforms inside the
        function keep their results differentiable for the transforms outside, as they would without vmap.
        """
        data = plain(physical._data)
        sample = data[0, ...] if len(data) else xp.zeros(data.shape[1:], dtype=data.dtype)  # NOTE: empty batch
        t = _wrap(self._bind(sample, physical))
        t.requires_grad = physical.requires_grad or bool(physical._fw)
        return t

    def physical(self, t: Tensor) -> Tensor | None:
        """The physical value of ``t`` if it is batched at this level, else None (shared by every sample)."""
        data = t._data
        if data.__class__ is not BatchedArray or data.level is not self:
            return None
        entry = self.values.get(id(data))
        if entry is None or entry[0] is not data:
            raise RuntimeError(
                f"vmap: a tensor of shape {tuple(data.shape)} was made from a batched tensor's data without a "
                "chainrule op (e.g. from .data or .numpy()), so it cannot be batched; build it with chainrule ops")
        return entry[1]

    def _outside(self):
        """Make the enclosing level the active one (batching rules run there); returns the active level, which
        is not always this one: an inner level hands on the ops that are not batched there."""
        active = _state.vmap_level
        _state.vmap_level = self.parent
        return active

    # -- what apply and Function.apply report ----------------------------------------------------------
    def forward(self, op, ctx, inputs: tuple, params: tuple):
        """``op``'s forward on the examples (for shapes, dtypes and the parameters it stores on ``ctx``)."""
        global _reading
        _reading = True
        try:
            return op.forward(ctx, *[plain(t._data) for t in inputs], *params)
        finally:
            _reading = False

    def finish(self, op, ctx, inputs: tuple, params: tuple, result) -> None:
        """Batch ``op`` when an input (or a parameter array) is batched at this level and tie its results to
        the batch; otherwise hand it to the enclosing level, where it may be batched. Then push tangents."""
        physical, batched = [], []
        for t in inputs:
            p = self.physical(t)
            batched.append(p is not None)
            physical.append(t if p is None else p)
        batched_params = self._batched_params(params)
        if True not in batched and batched_params is None:
            if self.parent is not None:
                self.parent.finish(op, ctx, inputs, params, result)
            elif _state.forward_levels:
                propagate(op, ctx, inputs, None, result)
            return
        results = result if isinstance(result, tuple) else (result,)
        active = self._outside()
        try:
            if op.batch_rule is not None and (batched_params is None or op.batches_params):
                outs = op.batch_rule(tuple(physical), tuple(batched), params if batched_params is None
                                     else batched_params)
            else:
                _warn_loop(op.name, self.size)
                per_sample = batched_params or params

                def one(i, *xs):
                    return _primitive.apply(op, xs, *_sample_params(per_sample, i))
                outs = loop(op.name, one, tuple(physical), tuple(batched), self.size, results)
        finally:
            _state.vmap_level = active
        self._tie(op.name, results, outs if isinstance(outs, tuple) else (outs,))
        if ctx.out is not None:
            ctx.out = results[0]._data if op.n_outputs == 1 else tuple(r._data for r in results)
        if _state.forward_levels:
            propagate(op, ctx, inputs, None, result)

    def _batched_params(self, params: tuple):
        """``params`` with each array of a tensor batched here (an index) as a :class:`BatchedParam` holding
        the batch, or None when there is none."""
        stack = list(params)
        while stack:
            item = stack.pop()
            if item.__class__ is BatchedArray and item.level is self:
                break
            if isinstance(item, (tuple, list)):
                stack.extend(item)
        else:
            return None
        leaves, spec = tree_flatten(params)
        for k, item in enumerate(leaves):
            if item.__class__ is BatchedArray and item.level is self:
                leaves[k] = _primitive.BatchedParam(self.physical(_wrap(item))._data)
        return tree_unflatten(leaves, spec)

    def finish_function(self, fn, ctx, args: tuple, results: list) -> None:
        """A user ``autograd.Function``: its forward's ops were batched as they ran, but with grad mode off.
        When the batch is differentiated from outside vmap, re-run it sample by sample through ``fn.apply``,
        so that its backward (and jvp) apply to the batch."""
        physical = [self.physical(a) if isinstance(a, Tensor) else None for a in args]
        if all(p is None for p in physical) and self.parent is not None:
            self.parent.finish_function(fn, ctx, args, results)
            return
        if any(p is not None and (p.requires_grad or p._fw) for p in physical):
            batched = tuple(p is not None for p in physical)
            values = tuple(a if p is None else p for a, p in zip(args, physical))
            active = self._outside()
            try:
                _warn_loop(fn.__name__, self.size)
                outs = loop(fn.__name__, lambda i, *xs: fn.apply(*xs), values, batched, self.size, tuple(results))
            finally:
                _state.vmap_level = active
            self._tie(fn.__name__, tuple(results), outs)
        if _state.forward_levels:
            propagate(fn, ctx, tuple(a for a in args if isinstance(a, Tensor)), None, tuple(results))

    def _tie(self, name: str, results: tuple, outs: tuple) -> None:
        for r, o in zip(results, outs, strict=True):
            expected = (self.size,) + r._data.shape
            if o._data.shape != expected or o._data.dtype != r._data.dtype:
                raise RuntimeError(f"vmap: the batching rule of {name} gave shape {tuple(o._data.shape)} "
                                   f"{o._data.dtype}, expected {expected} {r._data.dtype} (a bug in the rule)")
            r._data = self._bind(r._data, o)

    def detached(self, source: Tensor, out: Tensor) -> None:
        """``out = source.detach()``: tie ``out`` to the detached batch, so the stop-gradient holds for it too."""
        p = self.physical(source)
        if p is None:
            if self.parent is not None:
                self.parent.detached(source, out)
            return
        active = self._outside()
        try:
            out._data = self._bind(out._data, p.detach())
        finally:
            _state.vmap_level = active

    def check_read(self, t: Tensor, what: str) -> None:
        """Refuse ``what`` (a read of ``t``'s values, e.g. ``.numpy()``) when ``t`` is batched at any level."""
        level = self
        while level is not None:
            if level.physical(t) is not None:
                raise RuntimeError(_VALUE_ERROR.format(what=what))
            level = level.parent

    def check_inplace(self, name: str, values: tuple) -> None:
        level = self
        while level is not None:
            for v in values:
                if isinstance(v, Tensor) and level.physical(v) is not None:
                    raise RuntimeError(
                        f"vmap: {name} would modify a tensor in place with a batched tensor involved (shape "
                        f"{tuple(v._data.shape)} per sample), which is not supported inside vmap; use the "
                        "out-of-place form (e.g. x = x + y instead of x.add_(y), chainrule.where instead of x[m] = v)")
            level = level.parent

    # -- randomness ------------------------------------------------------------------------------------
    def random(self, factory, args: tuple, kwargs: dict) -> Tensor:
        """A random factory called inside the function, following ``randomness``."""
        name = getattr(factory, "__name__", "a random op")
        if self.randomness == "error":
            raise RuntimeError(f"vmap: called random operation {name} while in randomness error mode. Please "
                               "either use the 'same' or 'different' randomness flags on vmap or perform the "
                               "randomness operation out of vmap")
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, Tensor) and self.physical(a) is not None:
                raise RuntimeError(f"vmap: {name} with a batched tensor argument is not supported; draw "
                                   "standard samples and scale them with chainrule ops instead")
        active = self._outside()
        try:
            if self.randomness == "same":
                if self.draws == len(self.same_draws):
                    self.same_draws.append(factory(*args, **kwargs))
                self.draws += 1
                return self.same_draws[self.draws - 1]
            from ..ops.join import stack
            like = factory(*args, **kwargs)
            if self.size:
                physical = stack([like] + [factory(*args, **kwargs) for _ in range(self.size - 1)])
            else:
                physical = _wrap(xp.zeros((0,) + like._data.shape, like._data.dtype))
        finally:
            _state.vmap_level = active
        return _wrap(self._bind(like._data, physical))

    def check_raw_draw(self) -> None:
        """A random draw straight from NumPy (not through a chainrule random factory) inside the function."""
        level = self
        while level is not None:
            if level.randomness != "same":
                raise RuntimeError(
                    f"vmap: a random draw made directly with NumPy (not through chainrule.rand/randn/...; e.g. "
                    f"nn.functional.dropout) inside vmap with randomness={level.randomness!r}: it cannot be drawn "
                    "per sample. Use randomness='same' (one draw shared by the batch) or draw it out of vmap")
            level = level.parent


def _sample_params(params: tuple, i: int) -> tuple:
    """``params`` for sample ``i``: each :class:`BatchedParam` replaced by that sample's array."""
    leaves, spec = tree_flatten(params)
    return tree_unflatten([p.array[i] if isinstance(p, _primitive.BatchedParam) else p for p in leaves], spec)


def _warn_loop(name: str, size: int) -> None:
    if name not in _looped:
        _looped.add(name)
        warnings.warn(f"vmap: {name} has no batching rule, so it runs as a loop over the {size} samples (correct "
                      "results, but slow); add a batch_rule to its primitive", UserWarning, stacklevel=4)
