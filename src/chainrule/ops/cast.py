"""dtype conversion: ``to(dtype)``, ``float()``, ``double()``, ``long()``, ... (differentiable between floats)."""

from __future__ import annotations

from .. import _backend, _dtype
from ..tensor import Tensor
from ._primitive import Primitive, apply, batch_elementwise, method


class Cast(Primitive):
    name = "to_copy"
    batch_rule = classmethod(batch_elementwise)

    @staticmethod
    def forward(ctx, x, np_dtype):
        ctx.in_dtype, ctx.out_dtype = x.dtype, np_dtype
        return x.astype(np_dtype)

    @staticmethod
    def vjp(ctx, g):
        # NOTE: a float input gets its gradient back in its own dtype; integer inputs never need one.
        return apply(Cast, (g,), ctx.in_dtype)

    @staticmethod
    def jvp(ctx, x_t):
        return apply(Cast, (x_t,), ctx.out_dtype)



def _cast(x: Tensor, d: _dtype.dtype) -> Tensor:
    if x._data.dtype == d.np:
        return x
    return apply(Cast, (x,), d.np)


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
    if device is not None:
        _backend.as_device(device)
    out = self if dtype is None else _cast(self, _dtype.as_dtype(dtype))
    if copy and out is self:
        from .shape import clone
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
                  ("long", _dtype.int64), ("int", _dtype.int32), ("bool", _dtype.bool), ("short", _dtype.int16)):
    setattr(Tensor, _name, _converter(_d, _name))


@method("cpu")
def cpu(self: Tensor) -> Tensor:
    return self


@method("cuda")
def cuda(self: Tensor, device=None) -> Tensor:
    _backend.as_device("cuda" if device is None else device)
    return self


@method("type_as")
def type_as(self: Tensor, other: Tensor) -> Tensor:
    return _cast(self, other.dtype)
