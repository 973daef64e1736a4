"""How ``vmap`` batches: an interpreter runs the function on one example and batches every op as it goes.

While ``vmap(f)`` runs ``f``, the tensors ``f`` sees are *examples*: one sample of each batched argument.
The active :class:`Level` is an interpreter on the stack (see :class:`chainrule.ops._primitive.Interpreter`);
every op applied to an example reaches its :meth:`Level.process`, which

1. runs the op eagerly on the examples, so shapes, dtypes and the op's parameters come out exactly as for
   one sample (and any graph a transform inside ``f`` needs is recorded on the examples), then
2. runs the op's ``batch_rule`` on the *physical* values, the whole batch with the batch as the leading dim,
   at the interpreter below: the batched computation is an ordinary computation, differentiable and visible
   to an enclosing transform.

Each example is tied to its physical value by the identity of its data array (a fresh view per result), so
aliases of an example (``ctx.output`` in a VJP rule, a primal unpacked from a dual) find the same batch.
Reading an example's values (``.item()``, ``if x > 0:``, ``.numpy()``, printing) raises, since one sample's
values would silently stand for the whole batch.

This is JAX's batching interpreter run eagerly, without storing the trace: transforms inside ``f`` (grad,
jvp, an inner vmap) call ops through ``apply`` too, so their work is batched, and transforms outside ``vmap``
see the physical computation.
"""

from __future__ import annotations

import warnings

from .. import _state
from .._backend import xp
from ..ops._primitive import BatchedParam, Interpreter, _Scratch, apply, eager
from ..ops.join import stack
from ..tensor import Tensor, _wrap
from .pytree import tree_flatten, tree_unflatten

__all__ = ["Level", "loop"]

VALUE_ERROR = (
    "vmap: {what} read the values of a batched tensor. Inside vmap a tensor stands for a whole batch of "
    "values, so data-dependent Python control flow (`if x > 0:`), .item(), .tolist(), .numpy(), printing and "
    "NumPy calls on tensor data are not supported. Write the computation with chainrule ops instead (e.g. "
    "chainrule.where for a data-dependent choice), or move it out of the vmapped function.")


# Ops seen without a batching rule (each warns once, naming itself).
_looped: set = set()


def loop(name: str, fn, physical: tuple, batched: tuple, size: int, like: tuple):
    """``fn(i, *inputs)`` sample by sample (``i`` and slices of the batched inputs), the results stacked along
    a new leading dim: correct for any op, but one call per sample. ``like``: the example's outputs."""
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


class VmapInfo:
    """What a Function's own ``vmap`` rule is told: ``batch_size`` and ``randomness`` (as torch's info)."""

    __slots__ = ("batch_size", "randomness")

    def __init__(self, batch_size: int, randomness: str):
        self.batch_size, self.randomness = batch_size, randomness


class Level(Interpreter):
    """One active ``vmap``: the batch size, the randomness mode and each example's physical value.

    Entering pushes it on the interpreter stack; ``vmap_parent`` is the enclosing vmap level (or None), active
    while batching rules run, so an enclosing vmap batches the batched computation again.
    """

    def __init__(self, size: int, randomness: str, same_draws: list):
        self.size = size
        self.randomness = randomness
        self.vmap_parent = None
        self.values: dict = {}  # id(example data) -> (example data, physical tensor with the batch leading)
        self.same_draws = same_draws  # randomness='same': one draw per random call, shared by every chunk
        self.draws = 0

    def __enter__(self) -> Level:
        super().__enter__()
        self.vmap_parent = _state.vmap_level
        _state.vmap_level = self
        return self

    def __exit__(self, *exc) -> bool:
        _state.vmap_level = self.vmap_parent
        return super().__exit__(*exc)

    # -- examples and physical values ------------------------------------------------------------------
    def _bind(self, array, physical: Tensor):
        example = array.view()  # NOTE: a fresh array object: its identity is what ties it to the batch
        self.values[id(example)] = (example, physical)
        return example

    def example(self, physical: Tensor) -> Tensor:
        """The tensor standing for the batch ``physical`` (batch leading) inside the function: its first sample.

        It requires grad when the batch does (or carries forward-AD tangents), so that transforms inside the
        function keep their results differentiable for the transforms outside, as they would without vmap.
        """
        data = physical._data
        sample = data[0, ...] if len(data) else xp.zeros(data.shape[1:], dtype=data.dtype)  # NOTE: empty batch
        t = _wrap(self._bind(sample, physical))
        t.requires_grad = physical.requires_grad or bool(physical._fw)
        return t

    def physical(self, t: Tensor) -> Tensor | None:
        """The physical value of ``t`` if it is batched at this level, else None (shared by every sample)."""
        entry = self.values.get(id(t._data))
        if entry is None or entry[0] is not t._data:
            return None
        return entry[1]

    def _outside(self) -> _Outside:
        """A context in which batching rules run: at the interpreter below, with the enclosing vmap level."""
        return _Outside(self)

    # -- the interpreter -------------------------------------------------------------------------------
    def process(self, op, inputs: tuple, params: dict) -> tuple:
        """Batch ``op`` when an input (or a parameter array) is batched at this level and tie its results to
        the batch; otherwise run it below, where an enclosing level may batch it."""
        if getattr(op, "is_function", False):
            return self._process_function(op, inputs, params)
        physical, batched = [], []
        for t in inputs:
            p = self.physical(t)
            batched.append(p is not None)
            physical.append(t if p is None else p)
        batched_params = self._batched_params(params)
        if True not in batched and batched_params is None:
            return self.lower(op, inputs, params)
        result, ctx = eager(op, inputs, params)
        results = result if isinstance(result, tuple) else (result,)
        with self._outside():
            if op.batch_rule is not None and (batched_params is None or op.batches_params):
                outs = op.batch_rule(tuple(physical), tuple(batched), params if batched_params is None
                                     else batched_params)
            else:
                _warn_loop(op.name, self.size)
                per_sample = batched_params or params

                def one(i, *xs):
                    return apply(op, xs, **_sample_params(per_sample, i))
                outs = loop(op.name, one, tuple(physical), tuple(batched), self.size, results)
        self._tie(op.name, results, outs if isinstance(outs, tuple) else (outs,))
        if ctx.out is not None:
            ctx.out = results[0]._data if op.n_outputs == 1 else tuple(r._data for r in results)
        return result, ctx

    def _batched_params(self, params: dict):
        """``params`` with each array of a tensor batched here (an index) as a :class:`BatchedParam` holding
        the batch, or None when there is none."""
        values = self.values
        stack_ = list(params.values())
        while stack_:
            item = stack_.pop()
            if id(item) in values and values[id(item)][0] is item:
                break
            if isinstance(item, (tuple, list)):
                stack_.extend(item)
        else:
            return None
        leaves, spec = tree_flatten(params)
        for k, item in enumerate(leaves):
            entry = values.get(id(item))
            if entry is not None and entry[0] is item:
                leaves[k] = BatchedParam(entry[1]._data)
        return tree_unflatten(leaves, spec)

    def _process_function(self, fn, inputs: tuple, params: dict) -> tuple:
        """A user ``autograd.Function``: its forward's ops are batched as they run (at this level), but with
        grad mode off. When the batch is differentiated from outside vmap, re-run it sample by sample through
        ``fn.apply``, so that its backward (and jvp) apply to the batch. A Function with its own static ``vmap``
        rule runs that instead, on the whole batch."""
        if fn.has_vmap_rule():
            return self._user_vmap_rule(fn, inputs, params)
        result, ctx = fn.eager(inputs, params)
        results = result if isinstance(result, tuple) else (result,)
        physical = [self.physical(t) for t in inputs]
        if any(p is not None and (p.requires_grad or p._fw) for p in physical):
            args = fn.arguments(inputs, params)
            arg_physical = [self.physical(a) if isinstance(a, Tensor) else None for a in args]
            batched = tuple(p is not None for p in arg_physical)
            values = tuple(a if p is None else p for a, p in zip(args, arg_physical))
            with self._outside():
                _warn_loop(fn.__name__, self.size)
                outs = loop(fn.__name__, lambda i, *xs: fn.apply(*xs), values, batched, self.size, results)
            self._tie(fn.__name__, results, outs)
        return result, ctx

    def _user_vmap_rule(self, fn, inputs: tuple, params: dict) -> tuple:
        """``fn.vmap(info, in_dims, *args) -> (output, out_dims)`` on the physical batch (batch dim 0 or None)."""
        args = fn.arguments(inputs, params)
        physical = [self.physical(a) if isinstance(a, Tensor) else None for a in args]
        in_dims = tuple(None if p is None else 0 for p in physical)
        values = tuple(a if p is None else p for a, p in zip(args, physical))
        with self._outside():
            out, out_dims = fn.vmap(VmapInfo(self.size, self.randomness), in_dims, *values)
            outs = out if isinstance(out, tuple) else (out,)
            dims = out_dims if isinstance(out_dims, tuple) else (out_dims,) * len(outs)
            if len(dims) != len(outs):
                raise RuntimeError(f"{fn.__name__}.vmap returned {len(outs)} outputs but {len(dims)} out_dims")
            outs = tuple(o.unsqueeze(0).expand(self.size, *o.shape) if d is None else o.movedim(d, 0)
                         for o, d in zip(outs, dims))
        results = tuple(self.example(o) for o in outs)
        return (results if isinstance(out, tuple) else results[0]), _Scratch()

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
            if self.vmap_parent is not None:
                self.vmap_parent.detached(source, out)
            return
        with self._outside():
            out._data = self._bind(out._data, p.detach())

    def batched_anywhere(self, t: Tensor) -> bool:
        """Whether ``t`` is batched at this level or an enclosing one."""
        level = self
        while level is not None:
            if level.physical(t) is not None:
                return True
            level = level.vmap_parent
        return False

    def check_read(self, t: Tensor, what: str) -> None:
        """Refuse ``what`` (a read of ``t``'s values, e.g. ``.numpy()``) when ``t`` is batched at any level."""
        if self.batched_anywhere(t):
            raise RuntimeError(VALUE_ERROR.format(what=what))

    def check_inplace(self, name: str, values: tuple) -> None:
        for v in values:
            if isinstance(v, Tensor) and self.batched_anywhere(v):
                raise RuntimeError(
                    f"vmap: {name} would modify a tensor in place with a batched tensor involved (shape "
                    f"{tuple(v._data.shape)} per sample), which is not supported inside vmap; use the "
                    "out-of-place form (e.g. x = x + y instead of x.add_(y), chainrule.where instead of x[m] = v)")

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
        with self._outside():
            if self.randomness == "same":
                if self.draws == len(self.same_draws):
                    self.same_draws.append(factory(*args, **kwargs))
                self.draws += 1
                return self.same_draws[self.draws - 1]
            like = factory(*args, **kwargs)
            if self.size:
                physical = stack([like] + [factory(*args, **kwargs) for _ in range(self.size - 1)])
            else:
                physical = _wrap(xp.zeros((0,) + like._data.shape, like._data.dtype))
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
            level = level.vmap_parent


class _Outside:
    __slots__ = ("level", "saved")

    def __init__(self, level: Level):
        self.level = level

    def __enter__(self):
        self.saved = (_state.interpreter, _state.vmap_level)
        _state.interpreter, _state.vmap_level = self.level.parent, self.level.vmap_parent

    def __exit__(self, *exc) -> bool:
        _state.interpreter, _state.vmap_level = self.saved
        return False


def _sample_params(params: tuple, i: int) -> tuple:
    """``params`` for sample ``i``: each :class:`BatchedParam` replaced by that sample's array."""
    leaves, spec = tree_flatten(params)
    return tree_unflatten([p.array[i] if isinstance(p, BatchedParam) else p for p in leaves], spec)


def _warn_loop(name: str, size: int) -> None:
    if name not in _looped:
        _looped.add(name)
        warnings.warn(f"vmap: {name} has no batching rule, so it runs as a loop over the {size} samples (correct "
                      "results, but slow); add a batch_rule to its primitive", UserWarning, stacklevel=4)
