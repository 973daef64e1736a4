"""Copies and dtype conversion: ``clone``, ``to(dtype)``, ``float()``, ``double()``, ... and the promotion of
operands to torch's result dtype that every binary op starts with (differentiable between floats)."""

from __future__ import annotations

import functools

from .. import _backend, _dtype
from .._backend import xp
from ..tensor import Tensor, _wrap
from ._primitive import Param, Primitive, apply, batch_elementwise, method, public

__all__ = ["clone"]


class Cast(Primitive):
    name = "to_copy"
    may_warn = True
    backward_view = True
    params = (Param("dtype", object, "the NumPy dtype of the result"),)
    doc = "``x`` converted to ``dtype`` (a copy)."
    local = ("1",)
    backward_code = ("{g}.to({x_dtype})",)
    expression = "{x}.to({dtype})"
    gate = "cast: the gradient is cast back to the input's dtype"
    batch_rule = classmethod(batch_elementwise)

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def vjp(ctx, g):
        # NOTE: a float input gets its gradient back in its own dtype; integer inputs never need one.
        return apply(Cast, (g,), dtype=ctx.in_dtype)

    @staticmethod
    def jvp(ctx, x_t):
        return apply(Cast, (x_t,), dtype=ctx.params["dtype"])


class Clone(Primitive):
    name = "clone"
    doc = "A copy of ``x`` that stays in the graph."
    local = ("1",)
    expression = "{x}.clone()"
    gate = "copy: the gradient passes unchanged"
    methods = ("clone",)
    batch_rule = classmethod(batch_elementwise)

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def vjp(ctx, g):
        return g

    @staticmethod
    def jvp(ctx, x_t):
        return x_t


class ToDevice(Primitive):
    name = "to_device"
    params = (Param("device", str, "the device of the result, e.g. 'cpu' or 'meta'"),)
    doc = "``x`` on another device (a copy there; to ``meta``, its shape and dtype only)."
    local = ("1",)
    expression = "{x}.to({device})"
    gate = "device copy: the gradient goes back to the input's device"
    batch_rule = classmethod(batch_elementwise)

    @staticmethod
    def forward(ctx, x, device):
        ctx.in_device = str(_backend.device_of(x))
        return _backend.to_device(x, _backend.device(device))

    @staticmethod
    def vjp(ctx, g):
        return apply(ToDevice, (g,), device=ctx.in_device)

    @staticmethod
    def jvp(ctx, x_t):
        return apply(ToDevice, (x_t,), device=ctx.params["device"])


def to_device(x: Tensor, device) -> Tensor:
    """``x`` on ``device`` (itself when already there); differentiable."""
    target = _backend.as_device(device)
    if _backend.device_of(x._data) == target:
        return x
    return apply(ToDevice, (x,), device=str(target))


@public(Clone)
def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of the data that stays in the graph (``memory_format`` is accepted and ignored, as layouts are
    always contiguous here)."""
    return apply(Clone, (input,))


def _cast(x: Tensor, d: _dtype.dtype) -> Tensor:
    if x._data.dtype == d.np:
        return x
    return apply(Cast, (x,), dtype=d.np)


def number_array(value, np_dtype):
    """A Python number as a 0-d array of ``np_dtype``; one beyond that dtype (``10**20``) is a RuntimeError with
    torch's "without overflow" message (torch itself lets an OverflowError out here; chainrule's boundary errors
    are TypeError/ValueError/RuntimeError/IndexError only)."""
    try:
        return xp.asarray(value, dtype=np_dtype)
    except OverflowError:
        raise RuntimeError(f"value cannot be converted to type {xp.dtype(np_dtype).name} without overflow: "
                           f"{value!r}") from None


def cast_to(x, np_dtype) -> Tensor:
    """``x`` (tensor or number) with NumPy dtype ``np_dtype``; differentiable for tensors needing grad."""
    if not isinstance(x, Tensor):
        return _wrap(number_array(x, np_dtype))
    if x._data.dtype == np_dtype:
        return x
    return apply(Cast, (x,), dtype=np_dtype)


def from_array(value) -> Tensor:
    """A NumPy array operand as a tensor of its own dtype, sharing its memory (``torch.as_tensor``'s rule: it
    promotes like a tensor of that dtype, not like a Python number)."""
    _dtype.from_numpy_dtype(value.dtype)
    return _wrap(value)


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """``value`` as a tensor; Python numbers take ``like``'s dtype (callers promote first)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, _backend.ndarray):
        return from_array(value)
    if like is not None:
        return _wrap(number_array(value, like._data.dtype))
    return _wrap(number_array(value, _dtype.result_type(value).np))


def promote(x, y, op: str) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of torch's result dtype; casts of tensors that need grad stay differentiable."""
    # NOTE: fast paths first: same-dtype tensors, and a float tensor with a Python number (the common cases).
    if isinstance(x, Tensor):
        if isinstance(y, Tensor):
            if x._data.__class__ is not y._data.__class__:
                check_same_device(op, x, y)
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
    elif not isinstance(x, _backend.ndarray) and not isinstance(y, _backend.ndarray):
        raise TypeError(f"{op}: expected at least one tensor operand, got {type(x).__name__} and "
                        f"{type(y).__name__}")
    # NOTE: a NumPy array operand is a tensor of its dtype (torch.as_tensor), so float64 arrays promote as
    # float64 tensors; NumPy scalars (np.float64(2.0)) stay numbers, as in torch.
    if isinstance(x, _backend.ndarray):
        x = from_array(x)
    if isinstance(y, _backend.ndarray):
        y = from_array(y)
    try:
        d = _dtype.result_type(x, y).np
    except TypeError:
        raise TypeError(f"{op}: unsupported operand types {type(x).__name__} and {type(y).__name__}; "
                        "expected tensors or Python numbers") from None
    return cast_to(x, d), cast_to(y, d)


def check_same_device(op: str, *tensors: Tensor) -> None:
    """torch's error for tensors on different devices in one op (a 0-d CPU tensor goes with any device)."""
    devices = {str(_backend.device_of(t._data)) for t in tensors
               if not (t._data.ndim == 0 and _backend.device_of(t._data).type == "cpu")}
    if len(devices) > 1:
        first, second = sorted(devices, key=lambda d: d == "cpu")[:2]
        raise RuntimeError(f"{op}: Expected all tensors to be on the same device, but found at least two devices, "
                           f"{first} and {second}!")


@functools.lru_cache(maxsize=256, typed=True)
def _constant(value, np_dtype) -> Tensor:
    """A 0-d tensor for a Python number operand, shared between ops.

    NOTE: reusing it saves an allocation per scalar operand, and objects the garbage collector must track in
    deep graphs. It is safe because it only ever enters binary primitives, whose outputs are fresh arrays, and
    it is read-only.
    """
    t = _wrap(xp.asarray(value, np_dtype))
    t._readonly = True
    return t


@method("to")
def to(self: Tensor, *args, **kwargs) -> Tensor:
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``; returns self when nothing changes."""
    kwargs.pop("non_blocking", None)
    copy = kwargs.pop("copy", False)
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    if kwargs:
        raise TypeError(f"to: unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, Tensor):
            dtype, device = arg.dtype, arg.device
        elif isinstance(arg, (_backend.device, str)) and not (isinstance(arg, str) and arg in _dtype._BY_NAME):
            device = arg
        else:
            dtype = arg
    out = self if dtype is None else _cast(self, _dtype.as_dtype(dtype))
    if device is not None:
        out = to_device(out, device)
    if copy and out is self:
        out = clone(self)
    return out


@method("type")
def type_(self: Tensor, dtype=None):
    """Without an argument, the type name (``'chainrule.FloatTensor'``); with one, ``to(dtype)``."""
    if dtype is None:
        names = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int", "bool": "Bool",
                 "float16": "Half", "int16": "Short", "int8": "Char", "uint8": "Byte"}
        return f"chainrule.{names[self.dtype.name]}Tensor"
    return _cast(self, _dtype.as_dtype(dtype))


def _converter(d: _dtype.dtype, name: str):
    def convert(self: Tensor) -> Tensor:
        return _cast(self, d)
    convert.__name__ = name
    convert.__doc__ = f"``self.to({d})``."
    return convert


for _name, _d in (("float", _dtype.float32), ("double", _dtype.float64), ("half", _dtype.float16),
                  ("long", _dtype.int64), ("int", _dtype.int32), ("bool", _dtype.bool), ("short", _dtype.int16),
                  ("byte", _dtype.uint8), ("char", _dtype.int8)):
    setattr(Tensor, _name, _converter(_d, _name))


@method("cpu")
def cpu(self: Tensor, memory_format=None) -> Tensor:
    """This tensor on the CPU (itself when it is there)."""
    return to_device(self, "cpu")


@method("cuda")
def cuda(self: Tensor, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
    """This tensor on a GPU (``device``: an index or ``"cuda:i"``; the current one by default)."""
    return to_device(self, "cuda" if device is None else device if not isinstance(device, int) else f"cuda:{device}")


@method("type_as")
def type_as(self: Tensor, other: Tensor) -> Tensor:
    if not isinstance(other, Tensor):
        raise TypeError(f"type_as(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
    return _cast(self, other.dtype)
