"""dtypes and PyTorch's type-promotion rules.

A ``chainrule.dtype`` wraps a NumPy dtype. Promotion follows torch, not NumPy: Python scalars and
zero-dimensional tensors only raise the *category* (bool < integer < floating) of a result, never its
width, so ``int64_tensor * 2.5`` is float32 (the default dtype) and ``float32_tensor + float64_scalar_tensor``
stays float32.
"""

from __future__ import annotations

import builtins

from ._backend import xp

__all__ = [
    "dtype", "float16", "half", "float32", "float", "float64", "double", "int8", "int16", "short",
    "int32", "int", "int64", "long", "uint8", "bool", "get_default_dtype", "set_default_dtype",
    "promote_types", "result_type", "is_floating_point",
]

_BOOL, _INT, _FLOAT = 0, 1, 2


class dtype:
    """A tensor element type, e.g. ``chainrule.float32``; ``.np`` is the NumPy dtype behind it."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "category")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = xp.dtype(np_dtype)
        self.category = category
        self.is_floating_point = category == _FLOAT
        self.is_signed = self.np.kind in "if"
        self.itemsize = self.np.itemsize

    def __repr__(self) -> str:
        return f"chainrule.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


float16 = half = dtype("float16", xp.float16, _FLOAT)
float32 = float = dtype("float32", xp.float32, _FLOAT)
float64 = double = dtype("float64", xp.float64, _FLOAT)
int8 = dtype("int8", xp.int8, _INT)
int16 = short = dtype("int16", xp.int16, _INT)
int32 = int = dtype("int32", xp.int32, _INT)
int64 = long = dtype("int64", xp.int64, _INT)
uint8 = dtype("uint8", xp.uint8, _INT)
bool = dtype("bool", xp.bool_, _BOOL)

_ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool)
_FROM_NUMPY = {d.np: d for d in _ALL}
_BY_NAME = {d.name: d for d in _ALL}

_default = [float32]


def _by_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The chainrule dtype of a NumPy dtype; a clear TypeError for types chainrule does not support."""
    try:
        return _FROM_NUMPY[np_dtype]
    except KeyError:
        try:
            return _FROM_NUMPY[xp.dtype(np_dtype)]
        except (KeyError, TypeError):
            valid = ", ".join(d.name for d in _ALL)
            raise TypeError(f"chainrule does not support the NumPy dtype {np_dtype!r}; valid dtypes: {valid}") from None


def as_dtype(value) -> dtype:
    """Accept a chainrule dtype, a NumPy dtype, a Python type (float, int, bool) or a dtype name."""
    if value.__class__ is dtype:
        return value
    if value is builtins.float:
        return _default[0]
    if value is builtins.int:
        return int64
    if value is builtins.bool:
        return bool
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]
    return from_numpy_dtype(value)


def get_default_dtype() -> dtype:
    """The dtype of tensors made from Python floats (float32 unless changed)."""
    return _default[0]


def set_default_dtype(d) -> None:
    """Set the dtype used for Python floats; like torch, only float32 and float64 (or float16) are allowed."""
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default[0] = d


def is_floating_point(t) -> builtins.bool:
    """True when tensor ``t`` has a floating dtype (only those can require gradients)."""
    return t.dtype.is_floating_point


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to without losing category (torch.promote_types)."""
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == _INT and a.is_signed != b.is_signed:
        # NOTE: uint8 with a signed type needs the next signed width up, as in torch (uint8 + int8 -> int16).
        signed, unsigned = (a, b) if a.is_signed else (b, a)
        return signed if signed.itemsize > unsigned.itemsize else int16 if signed.itemsize == 1 else signed
    return a if a.itemsize >= b.itemsize else b


def _scalar_dtype(value) -> dtype:
    if value.__class__ is builtins.bool or isinstance(value, xp.bool_):
        return bool
    if isinstance(value, (builtins.int, xp.integer)):
        return int64
    if isinstance(value, (builtins.float, xp.floating)):
        return _default[0]
    raise TypeError(f"expected a tensor or a Python number, got {type(value).__name__}")


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    # torch's combine_categories: a lower-priority operand only matters if it raises the category.
    if higher is None:
        return lower
    if lower is None or higher.category == _FLOAT:
        return higher
    if higher.category == _BOOL or lower.category > higher.category:
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> dtype:
    """The dtype torch gives an op on these tensors and Python numbers."""
    dim = zero = scalar = None
    for op in operands:
        data = getattr(op, "_data", None)
        if data is not None and hasattr(data, "dtype"):
            d = _FROM_NUMPY[data.dtype]
            if data.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        else:
            d = _scalar_dtype(op)
            scalar = d if scalar is None else promote_types(scalar, d)
    return _combine(dim, _combine(zero, scalar))
