"""In-place ops (``add_``, ``mul_``, ``zero_``, ...) and the augmented operators (``x -= y``).

The data is updated in place (views and aliases see the change) and the tensor's version counter is bumped,
so a backward that saved the old value raises instead of silently using the new one. When a gradient is
being recorded, the op runs out of place on a snapshot of the old value and the tensor adopts the result's
history, as torch rebases a modified tensor's ``grad_fn``.
"""

from __future__ import annotations

from .. import _dtype, _state
from .._backend import MetaArray, xp
from ..tensor import Tensor, _wrap
from . import arith, elementwise
from ._primitive import method
from .shape import broadcast_to


def apply_inplace(self: Tensor, name: str, compute, *others, any_dtype: bool = False) -> Tensor:
    """Replace ``self``'s value with ``compute(self)``; ``others`` are the other operands (for checks).

    A result of a higher dtype category than ``self`` (float into an int tensor) is refused, as in torch,
    unless ``any_dtype`` (``copy_`` converts whatever it is given).
    """
    if _state.vmap_level is not None:
        _state.vmap_level.check_inplace(name, (self,) + others)
    tracking = _state.grad_enabled and (self.requires_grad or any(
        isinstance(o, Tensor) and o.requires_grad for o in others))
    if tracking and self.requires_grad and self.grad_fn is None:
        raise RuntimeError(f"{name}: a leaf tensor that requires grad is being used in an in-place operation; "
                           "wrap the update in `with chainrule.no_grad():` (as optimizers do) or use the "
                           "out-of-place form")
    meta = self._data.__class__ is MetaArray
    if self._readonly or not (self._data.flags.writeable or meta):
        raise RuntimeError(f"{name}: this tensor (shape {tuple(self._data.shape)}) is a read-only view (of an "
                           "expanded tensor, or a slice of a tensor whose gradient is being recorded), so it cannot "
                           "be modified in place; clone() it first or use the out-of-place form")
    if tracking:
        snapshot = _wrap(self._data.copy(), self.grad_fn, self._out_nr)
        snapshot.requires_grad = self.requires_grad
        snapshot._fw = self._fw  # NOTE: the old value's tangents, so forward mode sees through the update
        result = compute(snapshot)
    else:
        with _state.no_grad():
            result = compute(self)
    target = self.dtype
    if result._data.dtype != self._data.dtype:
        if not any_dtype:
            check_castable(name, result.dtype, target)
        result = result.to(target)
    if result._data.shape != self._data.shape:
        raise RuntimeError(f"{name}: output with shape {tuple(self._data.shape)} doesn't match the broadcast shape "
                           f"{tuple(result._data.shape)}")
    if not meta:  # NOTE: a meta tensor has no values to write; its shape and dtype are checked above
        self._data[...] = result._data
    self._counter()[0] += 1
    if _state.interpreter is not None:
        _state.interpreter.wrote(self, result)
    self._vc[1] = name  # NOTE: the counter exists now (made above)
    if tracking:
        self.grad_fn, self._out_nr, self.requires_grad = result.grad_fn, result._out_nr, result.requires_grad
    # NOTE: forward-mode tangents follow the new value (none when the result has none: the old ones are stale)
    self._fw = result._fw
    return self


def check_castable(name: str, got, target) -> None:
    """Refuse, as torch, a result of a higher dtype category than the tensor modified in place (float into int)."""
    if got.category > target.category:
        raise RuntimeError(f"{name}: result type {got} can't be cast to the desired output type {target} of the "
                           "tensor modified in place")


def _inplace_binary(name: str, fn):
    def op(self: Tensor, other, *args, **kwargs) -> Tensor:
        return apply_inplace(self, name, lambda x: fn(x, other, *args, **kwargs), other)
    op.__name__ = name
    op.__doc__ = f"In-place ``{name[:-1]}``: updates this tensor and returns it."
    return op


add_ = _inplace_binary("add_", arith.add)
sub_ = _inplace_binary("sub_", arith.sub)
mul_ = _inplace_binary("mul_", arith.mul)
div_ = _inplace_binary("div_", arith.div)
pow_ = _inplace_binary("pow_", arith.pow)


def clamp_(self: Tensor, min=None, max=None) -> Tensor:
    """In-place ``clamp``."""
    return apply_inplace(self, "clamp_", lambda x: elementwise.clamp(x, min, max), min, max)


def zero_(self: Tensor) -> Tensor:
    """Fill with zeros in place."""
    return fill_(self, 0)


def fill_(self: Tensor, value) -> Tensor:
    """Fill with ``value`` (a number or a one-element tensor) in place."""
    if isinstance(value, Tensor) and value._data.size != 1:
        raise RuntimeError(f"fill_: only supports a 0-dimensional value tensor, got shape {tuple(value.shape)}")
    name = "fill_" if not (not isinstance(value, Tensor) and value == 0) else "zero_"
    return apply_inplace(self, name, lambda x: broadcast_to(_fill_value(value, x), x._data.shape), value)


def _fill_value(value, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value.reshape(()).to(like.dtype)
    return _wrap(xp.asarray(value, dtype=like._data.dtype))


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor in place."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_: expected a Tensor as the source, got {type(src).__name__}")

    def compute(x):
        return broadcast_to(src, x._data.shape)
    try:
        xp.broadcast_shapes(src._data.shape, self._data.shape)
    except ValueError:
        raise RuntimeError(f"copy_: the source of shape {tuple(src._data.shape)} cannot be broadcast to "
                           f"{tuple(self._data.shape)}") from None
    return apply_inplace(self, "copy_", compute, src, any_dtype=True)


for _fn in (add_, sub_, mul_, div_, pow_, clamp_, zero_, fill_, copy_):
    method(_fn.__name__)(_fn)
method("clip_")(clamp_)
Tensor.__iadd__ = lambda self, other: add_(self, other)
Tensor.__isub__ = lambda self, other: sub_(self, other)
Tensor.__imul__ = lambda self, other: mul_(self, other)
Tensor.__itruediv__ = lambda self, other: div_(self, other)
Tensor.__ipow__ = lambda self, other: pow_(self, other)


def _unary_inplace(name: str, fn):
    def op(self: Tensor) -> Tensor:
        return apply_inplace(self, name, fn)
    op.__name__ = name
    return op


for _name in ("neg", "exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu", "sin", "cos", "reciprocal"):
    method(_name + "_")(_unary_inplace(_name + "_", getattr(elementwise, _name)))


def inplace_method(name: str, fn) -> None:
    """Attach ``Tensor.<name>``: ``fn(self, *args, **kwargs)`` written back into ``self`` (see apply_inplace)."""
    def op(self: Tensor, *args, **kwargs) -> Tensor:
        tensors = [a for a in args if isinstance(a, Tensor)]
        if tensors:  # NOTE: torch checks the promoted dtype before its kernel refuses a dtype
            check_castable(name, _dtype.result_type(self, *tensors), self.dtype)
        return apply_inplace(self, name, lambda x: fn(x, *args, **kwargs), *args, *kwargs.values())
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"In-place ``{name[:-1]}``: updates this tensor and returns it."
    method(name)(op)


for _name in ("fmod", "remainder", "floor_divide", "bitwise_and", "bitwise_or", "bitwise_xor"):
    inplace_method(_name + "_", getattr(arith, _name))
# NOTE: a truth value fits any dtype, so the logical ops skip the promoted-dtype check.
for _name in ("logical_and", "logical_or", "logical_xor"):
    method(_name + "_")(_inplace_binary(_name + "_", getattr(arith, _name)))
method("logical_not_")(_unary_inplace("logical_not_", elementwise.logical_not))
for _name, _fn in (("__imod__", "remainder_"), ("__ifloordiv__", "floor_divide_"), ("__iand__", "bitwise_and_"),
                   ("__ior__", "bitwise_or_"), ("__ixor__", "bitwise_xor_")):
    setattr(Tensor, _name, getattr(Tensor, _fn))


def _late_inplace(name: str) -> None:
    """``Tensor.<name>_`` from the method ``name``, looked up when called (its family may load after this one)."""
    inplace_method(name + "_", lambda x, *args, **kwargs: getattr(x, name)(*args, **kwargs))


# NOTE: torch's in-place forms of shape-preserving methods (a comparison writes 1/0 in the tensor's dtype).
for _name in ("ceil", "floor", "trunc", "round", "sign", "erf", "exp2", "expm1", "log10", "log1p", "log2", "rsqrt",
              "square", "tan", "negative", "absolute", "eq", "ne", "lt", "le", "gt", "ge", "greater",
              "greater_equal", "less", "less_equal", "multiply", "subtract", "divide", "true_divide", "tril", "triu",
              "cumsum"):
    _late_inplace(_name)

