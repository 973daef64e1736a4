"""Tensor factories mirroring torch: ``tensor``, ``zeros``, ``arange``, ``randn``, ... and comparisons of whole tensors.

Each factory takes torch's ``dtype=``, ``device=`` and ``requires_grad=`` keywords.
"""

from __future__ import annotations

import builtins
import math

from . import _backend, _dtype, _state
from ._backend import xp
from .random import batched_random, numpy_generator
from .tensor import Tensor, _wrap

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange", "linspace", "eye",
           "rand", "randn", "randint", "randperm", "normal", "zeros_like", "ones_like", "full_like", "empty_like",
           "rand_like", "randn_like", "randint_like", "allclose", "isclose", "equal", "is_tensor", "numel",
           "scalar_tensor"]


def _finish(array, dtype, device, requires_grad: bool) -> Tensor:
    dev = _backend.as_device(device)
    if dtype is not None:
        array = array.astype(_dtype.as_dtype(dtype).np, copy=False)
    t = _wrap(_backend.to_device(array, dev))
    if requires_grad:
        t.requires_grad_(True)
    if _state.interpreter is not None:
        _state.interpreter.created(t)
    return t


def _infer_array(data):
    """``data`` (numbers, nested lists, arrays, tensors) as an array with torch's default dtypes."""
    if isinstance(data, Tensor):
        return data.numpy(force=True).copy()
    if isinstance(data, xp.ndarray):
        _dtype.from_numpy_dtype(data.dtype)
        return data.copy()
    if isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in _flat(data)):
        data = _untensor(data)
    array = xp.array(data)
    if array.dtype == object:
        raise TypeError("tensor: could not make a tensor from ragged or non-numeric data; expected numbers or "
                        "nested lists of equal lengths")
    kind = array.dtype.kind
    if kind == "f":
        return array.astype(_dtype.get_default_dtype().np)
    if kind in "iu":
        return array.astype(xp.int64)
    if kind == "b":
        return array
    raise TypeError(f"tensor: could not infer a dtype for data of NumPy kind {array.dtype}")


def _flat(data):
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            yield item


def _untensor(data):
    if isinstance(data, Tensor):
        return data.tolist()
    if isinstance(data, (list, tuple)):
        return [_untensor(v) for v in data]
    return data


def tensor(data, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data``.

    Python floats become the default dtype (float32), ints int64, bools bool; NumPy arrays keep their dtype.

    Example::

        >>> chainrule.tensor([[1, 2], [3, 4]], dtype=chainrule.float64, requires_grad=True).shape
        chainrule.Size([2, 2])
    """
    if dtype is not None and not isinstance(data, Tensor):
        array = xp.array(_untensor(data), dtype=_dtype.as_dtype(dtype).np)
        return _finish(array, None, device, requires_grad)
    return _finish(_infer_array(data), dtype, device, requires_grad)


def scalar_tensor(value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A 0-d tensor holding ``value`` (the default float dtype unless ``dtype`` is given)."""
    return tensor(value, dtype or _dtype.get_default_dtype(), device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, without a copy when it already is one (or a NumPy array of the right dtype)."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, xp.ndarray):
        return _finish(data, dtype, device, False)
    return tensor(data, dtype, device)


def from_numpy(array) -> Tensor:
    """A tensor sharing memory with the NumPy ``array``."""
    if not isinstance(array, xp.ndarray):
        raise TypeError(f"from_numpy: expected a xp.ndarray, got {type(array).__name__}")
    _dtype.from_numpy_dtype(array.dtype)
    return _wrap(array)


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    for s in size:
        if isinstance(s, builtins.bool) or not isinstance(s, (builtins.int, xp.integer)) or s < 0:
            raise TypeError(f"expected a size made of non-negative integers, got {tuple(size)}")
    return tuple(builtins.int(s) for s in size)


def _default_np(dtype) -> xp.dtype:
    return (_dtype.as_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()).np


def zeros(*size, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    """A tensor of zeros of shape ``size``."""
    return _finish(xp.zeros(_size(size), _default_np(dtype)), None, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    """A tensor of ones of shape ``size``."""
    return _finish(xp.ones(_size(size), _default_np(dtype)), None, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    """An uninitialised tensor (zeros here, so nothing random leaks into results)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value`` (dtype inferred from it, as in torch)."""
    d = _dtype.as_dtype(dtype) if dtype is not None else _dtype.result_type(fill_value)
    return _finish(xp.full(_size((size,)), fill_value, d.np), None, device, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` (default 0) up to but excluding ``end``, ``step`` apart."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    d = _dtype.as_dtype(dtype) if dtype is not None else _dtype.result_type(start, end, step)
    n = builtins.max(0, math.ceil((end - start) / step))
    values = start + xp.arange(n, dtype=xp.float64 if d.is_floating_point else xp.int64) * step
    return _finish(values.astype(d.np), None, device, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    return _finish(xp.linspace(start, end, steps).astype(_default_np(dtype)), None, device, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The ``n x m`` identity matrix."""
    return _finish(xp.eye(n, m, dtype=_default_np(dtype)), None, device, requires_grad)


@batched_random
def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1)."""
    array = numpy_generator(generator).random(_size(size))
    return _finish(array.astype(_default_np(dtype)), None, device, requires_grad)


@batched_random
def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    array = numpy_generator(generator).standard_normal(_size(size))
    return _finish(array.astype(_default_np(dtype)), None, device, requires_grad)


@batched_random
def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers uniform on [low, high) (``randint(high, size)`` starts at 0); int64 by default."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: missing the size argument, e.g. randint(0, 10, (3,))")
    if high <= low:
        raise RuntimeError(f"randint: expects low < high, got low={low}, high={high}")
    array = numpy_generator(generator).integers(low, high, _size((size,)))
    d = _dtype.as_dtype(dtype) if dtype is not None else _dtype.int64
    return _finish(array.astype(d.np), None, device, requires_grad)


@batched_random
def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0..n-1``."""
    d = _dtype.as_dtype(dtype) if dtype is not None else _dtype.int64
    return _finish(numpy_generator(generator).permutation(n).astype(d.np), None, device, requires_grad)


@batched_random
def normal(mean, std, size=None, *, generator=None, dtype=None, device=None, requires_grad: bool = False):
    """Normal samples with the given mean and standard deviation (numbers with ``size``, or tensors)."""
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    shape = _size((size,)) if size is not None else xp.broadcast_shapes(xp.shape(m), xp.shape(s))
    array = numpy_generator(generator).normal(m, s, shape)
    ref = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    np_dtype = ref._data.dtype if ref is not None and dtype is None else _default_np(dtype)
    return _finish(xp.asarray(array).astype(np_dtype), None, device, requires_grad)


def _like(fn_name: str, make):
    def like(input: Tensor, *args, dtype=None, device=None, requires_grad: bool = False, **kwargs) -> Tensor:
        d = _dtype.as_dtype(dtype) if dtype is not None else input.dtype
        return make(input._data.shape, *args, dtype=d, device=device, requires_grad=requires_grad, **kwargs)
    like.__name__ = fn_name
    like.__doc__ = f"Like ``{fn_name[:-5]}`` with ``input``'s shape and (by default) dtype."
    return like


zeros_like = _like("zeros_like", zeros)
ones_like = _like("ones_like", ones)
empty_like = _like("empty_like", empty)
rand_like = _like("rand_like", rand)
randn_like = _like("randn_like", randn)
full_like = _like("full_like", lambda shape, fill_value, **kw: full(shape, fill_value, **kw))
randint_like = _like("randint_like", lambda shape, low, high=None, **kw: randint(low, high, shape, **kw))


def _pair(input, other, op: str):
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError(f"{op}: expected two tensors, got {type(input).__name__} and {type(other).__name__}")
    return input._data, other._data


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """Elementwise ``|input - other| <= atol + rtol * |other|``."""
    a, b = _pair(input, other, "isclose")
    return _wrap(xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """True when every element is close (see :func:`isclose`)."""
    a, b = _pair(input, other, "allclose")
    return builtins.bool(xp.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input: Tensor, other: Tensor) -> builtins.bool:
    """True when both tensors have the same shape and elements."""
    a, b = _pair(input, other, "equal")
    return a.shape == b.shape and builtins.bool(xp.array_equal(a, b))


def is_tensor(obj) -> builtins.bool:
    """True for chainrule tensors (Parameters included)."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> builtins.int:
    """The number of elements of ``input``."""
    return builtins.int(input._data.size)


Tensor.new_zeros = lambda self, *size, dtype=None, device=None, requires_grad=False: zeros(
    *size, dtype=dtype or self.dtype, requires_grad=requires_grad)
Tensor.new_ones = lambda self, *size, dtype=None, device=None, requires_grad=False: ones(
    *size, dtype=dtype or self.dtype, requires_grad=requires_grad)
Tensor.new_full = lambda self, size, fill_value, dtype=None, device=None, requires_grad=False: full(
    size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)
Tensor.new_tensor = lambda self, data, dtype=None, device=None, requires_grad=False: tensor(
    data, dtype=dtype or self.dtype, requires_grad=requires_grad)
Tensor.new_empty = Tensor.new_zeros
