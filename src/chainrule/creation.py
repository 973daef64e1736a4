"""Tensor factories mirroring torch: ``tensor``, ``zeros``, ``arange``, ``randn``, ... and comparisons of whole tensors.

Each factory takes torch's ``dtype=``, ``device=`` and ``requires_grad=`` keywords.
"""

from __future__ import annotations

import builtins
import math

from . import _backend, _dtype, _state
from ._backend import xp
from .ops.shape import int_arg, int_tuple
from .random import batched_random, numpy_generator
from .tensor import Tensor, _wrap

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "frombuffer", "zeros", "ones", "full", "empty",
           "empty_strided", "arange", "linspace", "logspace", "eye", "tril_indices", "triu_indices", "rand", "randn",
           "randint", "randperm", "zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like",
           "randint_like", "is_tensor", "is_complex", "numel", "scalar_tensor",
           "hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


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
        if isinstance(s, builtins.bool) or not isinstance(s, (builtins.int, xp.integer)):
            raise TypeError(f"expected a size made of non-negative integers, got {tuple(size)}")
        int_tuple(s, "tensor creation", "size")  # NOTE: refuses a size beyond int64 (10**20) before NumPy overflows
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return tuple(builtins.int(s) for s in size)


def _number(value, op: str, arg: str) -> builtins.float:
    """``value`` (a real number or a 0-d tensor) as a float, or a TypeError naming ``op`` and ``arg``."""
    if not isinstance(value, str):
        try:
            return builtins.float(value)
        except (TypeError, ValueError):
            pass
    raise TypeError(f"{op}(): argument '{arg}' must be a number, not {type(value).__name__}")


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
    size = _size((size,))
    try:
        values = xp.full(size, fill_value, d.np)
    except OverflowError:
        raise RuntimeError(f"full: value {fill_value!r} cannot be converted to type {d} without overflow") from None
    return _finish(values, None, device, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` (default 0) up to but excluding ``end``, ``step`` apart."""
    if end is None:
        start, end = 0, start
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    try:
        finite = builtins.all(math.isfinite(v) for v in (start, end, step))
    except TypeError:
        raise TypeError(f"arange: start, end and step must be numbers, got {start!r}, {end!r}, {step!r}") from None
    if not finite:
        raise RuntimeError(f"arange: unsupported range: {start!r} -> {end!r} (step {step!r}): start, end and step "
                           "must be finite numbers")
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    d = _dtype.as_dtype(dtype) if dtype is not None else _dtype.result_type(start, end, step)
    n = int_arg(builtins.max(0, math.ceil((end - start) / step)), "arange", "the number of elements")
    try:
        values = start + xp.arange(n, dtype=xp.float64 if d.is_floating_point else xp.int64) * step
    except OverflowError:
        raise RuntimeError(f"arange: start, end and step must fit int64 (start={start}, end={end}, step={step})"
                           ) from None
    return _finish(values.astype(d.np), None, device, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    start, end = _number(start, "linspace", "start"), _number(end, "linspace", "end")
    return _finish(xp.linspace(start, end, steps).astype(_default_np(dtype)), None, device, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The ``n x m`` identity matrix."""
    return _finish(xp.eye(n, m, dtype=_default_np(dtype)), None, device, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` values ``base ** e`` for exponents ``e`` evenly spaced from ``start`` to ``end`` inclusive.

    Example::

        >>> chainrule.logspace(0, 2, 3)
        tensor([  1.,  10., 100.])
    """
    if steps < 0:
        raise RuntimeError(f"logspace: number of steps must be non-negative, got {steps}")
    start, end = _number(start, "logspace", "start"), _number(end, "logspace", "end")
    values = xp.power(_number(base, "logspace", "base"), xp.linspace(start, end, steps))
    return _finish(values.astype(_default_np(dtype)), None, device, requires_grad)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` (zeros here). ``stride`` is checked but not kept: chainrule arrays
    are laid out as NumPy chooses, and no op depends on strides."""
    size = _size((size,))
    if len(tuple(stride)) != len(size):
        raise RuntimeError(f"empty_strided: mismatch in length of strides and shape (size {list(size)}, stride "
                           f"{list(stride)})")
    return zeros(size, dtype=dtype, device=device, requires_grad=requires_grad)


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0, requires_grad: bool = False) -> Tensor:
    """A 1-D tensor over the bytes of a Python buffer (``bytearray``, ``memoryview``, ``array.array``, ...),
    sharing its memory: ``count`` elements (-1: all) of ``dtype`` from byte ``offset`` on. A read-only buffer
    (``bytes``) gives a tensor that refuses in-place writes."""
    np_dtype = _dtype.as_dtype(dtype).np
    length = builtins.len(memoryview(buffer).cast("B"))
    if length == 0 or count == 0:
        raise ValueError(f"frombuffer: both buffer length ({length}) and count ({count}) must not be 0")
    if not 0 <= offset < length:
        raise ValueError(f"frombuffer: offset ({offset} bytes) must be non-negative and no greater than buffer "
                         f"length ({length} bytes) minus 1")
    if count < 0 and (length - offset) % np_dtype.itemsize:
        raise ValueError(f"frombuffer: buffer length ({length - offset} bytes) after offset ({offset} bytes) must "
                         f"be a multiple of element size ({np_dtype.itemsize})")
    if count > 0 and count * np_dtype.itemsize > length - offset:
        raise ValueError(f"frombuffer: requested buffer length ({count} * {np_dtype.itemsize} bytes) after offset "
                         f"({offset} bytes) must not be greater than actual buffer length ({length} bytes)")
    array = xp.frombuffer(buffer, dtype=np_dtype, count=count, offset=offset)
    t = _finish(array, None, None, requires_grad)
    t._readonly = not array.flags.writeable
    return t


def asarray(obj, *, dtype=None, device=None, copy: builtins.bool | None = None,
            requires_grad: builtins.bool | None = None) -> Tensor:
    """``obj`` as a tensor, sharing memory when it can (a tensor, a NumPy array or a buffer of the right dtype).

    ``copy=None``: share when possible, else copy; ``copy=True``: always copy; ``copy=False``: share or raise a
    ValueError. A tensor keeps its ``requires_grad`` unless ``requires_grad`` is given.

    Example::

        >>> a = numpy.zeros(2)
        >>> t = chainrule.asarray(a)
        >>> a[0] = 1.0
        >>> t
        tensor([1., 0.], dtype=chainrule.float64)
    """
    target = _dtype.as_dtype(dtype) if dtype is not None else None
    if isinstance(obj, Tensor):
        out = obj
        if target is not None and target is not obj.dtype:
            if copy is False:
                raise ValueError(f"asarray: can't alias tensor with dtype {obj.dtype} into dtype {target}")
            out = obj.to(target)
        elif copy:
            out = obj.clone()
    elif isinstance(obj, xp.ndarray) or _has_buffer(obj):
        array = xp.asarray(obj)
        _dtype.from_numpy_dtype(array.dtype)
        if target is not None and array.dtype != target.np:
            if copy is False:
                raise ValueError(f"asarray: can't alias an array of dtype {array.dtype} into dtype {target}")
            array = array.astype(target.np)
        elif copy:
            array = array.copy()
        out = _finish(array, None, device, False)
    else:
        if copy is False:
            raise ValueError(f"asarray: can't alias a {type(obj).__name__} (only tensors, arrays and buffers share "
                             "memory); pass copy=None or True")
        out = tensor(obj, dtype=target)
    if requires_grad is not None and builtins.bool(requires_grad) != out.requires_grad:
        out = out.detach() if out is obj else out
        out.requires_grad_(builtins.bool(requires_grad))
    return out


def _has_buffer(obj) -> builtins.bool:
    try:
        memoryview(obj)
    except TypeError:
        return False
    return True


def _triangle_indices(row: int, col: int, offset: int, dtype, lower: builtins.bool, op: str) -> Tensor:
    d = _dtype.as_dtype(dtype) if dtype is not None else _dtype.int64
    if d.category != _dtype.int64.category:
        raise NotImplementedError(f'"{op}" not implemented for \'{d}\' (use an integer dtype)')
    row, col, offset = (int_arg(v, op, arg) for v, arg in ((row, "row"), (col, "col"), (offset, "offset")))
    if row < 0 or col < 0:
        raise RuntimeError(f"{op}: row and col must be non-negative, got row={row}, col={col}")
    # NOTE: the upper triangle on and above diagonal k is what the lower one up to k - 1 leaves out.
    below = xp.tri(row, col, offset if lower else offset - 1, dtype=builtins.bool)
    keep = below if lower else ~below
    return _finish(xp.stack(xp.nonzero(keep)).astype(d.np), None, None, False)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None) -> Tensor:
    """The (row, column) indices of the lower triangle of a ``row x col`` matrix (on and below the ``offset``
    diagonal), row-major, as a ``(2, N)`` int64 tensor."""
    return _triangle_indices(row, col, offset, dtype, True, "tril_indices")


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None) -> Tensor:
    """The (row, column) indices of the upper triangle of a ``row x col`` matrix (on and above the ``offset``
    diagonal), row-major, as a ``(2, N)`` int64 tensor."""
    return _triangle_indices(row, col, offset, dtype, False, "triu_indices")


# -- window functions --------------------------------------------------------------------------------------

def _window(op: str, length: int, periodic: builtins.bool, dtype, requires_grad: builtins.bool, symmetric):
    """``symmetric(n)`` (a NumPy array of the n-point symmetric window); a periodic window is the first
    ``length`` points of the ``length + 1``-point symmetric one (for spectral analysis)."""
    d = _dtype.as_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    if not d.is_floating_point:
        raise RuntimeError(f"{op} expects floating point dtypes, got: {d}")
    if length < 0:
        raise RuntimeError(f"{op} requires non-negative window_length, got window_length={length}")
    if length <= 1:
        values = xp.ones(length)
    else:
        values = symmetric(length + 1)[:-1] if periodic else symmetric(length)
    return _finish(values.astype(d.np), None, None, requires_grad)


def _cosine_sum(*coefficients):
    """The symmetric window ``sum_k (-1)^k a_k cos(2 pi k n / (N - 1))``."""
    def window(n):
        phase = 2 * math.pi * xp.arange(n) / (n - 1)
        return builtins.sum((-1) ** k * a * xp.cos(k * phase) for k, a in builtins.enumerate(coefficients))
    return window


def hann_window(window_length: int, periodic: builtins.bool = True, *, dtype=None, layout=None, device=None,
                requires_grad: builtins.bool = False) -> Tensor:
    """The Hann window ``0.5 - 0.5 cos(2 pi n / (N - 1))``; ``periodic`` drops the last point of the
    ``window_length + 1``-point window. Example::

        >>> chainrule.hann_window(4)
        tensor([0.0000, 0.5000, 1.0000, 0.5000])
    """
    return _window("hann_window", window_length, periodic, dtype, requires_grad, _cosine_sum(0.5, 0.5))


def hamming_window(window_length: int, periodic: builtins.bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype=None, layout=None, device=None, requires_grad: builtins.bool = False) -> Tensor:
    """The Hamming window ``alpha - beta cos(2 pi n / (N - 1))`` (periodic as :func:`hann_window`)."""
    return _window("hamming_window", window_length, periodic, dtype, requires_grad,
                   _cosine_sum(_number(alpha, "hamming_window", "alpha"), _number(beta, "hamming_window", "beta")))


def blackman_window(window_length: int, periodic: builtins.bool = True, *, dtype=None, layout=None, device=None,
                    requires_grad: builtins.bool = False) -> Tensor:
    """The Blackman window ``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``."""
    return _window("blackman_window", window_length, periodic, dtype, requires_grad, _cosine_sum(0.42, 0.5, 0.08))


def bartlett_window(window_length: int, periodic: builtins.bool = True, *, dtype=None, layout=None, device=None,
                    requires_grad: builtins.bool = False) -> Tensor:
    """The Bartlett (triangular) window ``1 - |2n / (N - 1) - 1|``."""
    return _window("bartlett_window", window_length, periodic, dtype, requires_grad,
                   lambda n: 1 - xp.abs(2 * xp.arange(n) / (n - 1) - 1))


def kaiser_window(window_length: int, periodic: builtins.bool = True, beta: float = 12.0, *, dtype=None,
                  layout=None, device=None, requires_grad: builtins.bool = False) -> Tensor:
    """The Kaiser window ``I0(beta sqrt(1 - (2n / (N - 1) - 1)^2)) / I0(beta)`` (I0: the modified Bessel
    function of order 0)."""
    return _window("kaiser_window", window_length, periodic, dtype, requires_grad,
                   lambda n: xp.kaiser(n, _number(beta, "kaiser_window", "beta")))


@batched_random
def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) of shape ``size`` (a floating ``dtype``)."""
    _floating_dtype(dtype, "rand", "check_uniform_bounds")
    array = numpy_generator(generator).random(_size(size))
    return _finish(array.astype(_default_np(dtype)), None, device, requires_grad)


@batched_random
def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples of shape ``size`` (a floating ``dtype``)."""
    _floating_dtype(dtype, "randn", "normal_kernel_cpu")
    array = numpy_generator(generator).standard_normal(_size(size))
    return _finish(array.astype(_default_np(dtype)), None, device, requires_grad)


@batched_random
def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers uniform on [low, high) (``randint(high, size)`` starts at 0); int64 by default."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=size), and randint_like(input, high)
        low, high = 0, low
    low, high = int_arg(low, "randint", "low"), int_arg(high, "randint", "high")
    if size is None:
        raise TypeError("randint: missing the size argument, e.g. randint(0, 10, (3,))")
    if high <= low:
        raise RuntimeError(f"randint: expects low < high, got low={low}, high={high}")
    array = numpy_generator(generator).integers(low, high, _size((size,)))
    d = _dtype.as_dtype(dtype) if dtype is not None else _dtype.int64
    return _finish(array.astype(d.np), None, device, requires_grad)


@batched_random
def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0..n-1`` (int64 unless ``dtype``)."""
    if n < 0:
        raise RuntimeError(f"randperm: trying to create tensor with negative dimension {n}: [{n}]")
    d = _dtype.as_dtype(dtype) if dtype is not None else _dtype.int64
    return _finish(numpy_generator(generator).permutation(n).astype(d.np), None, device, requires_grad)


def _floating_dtype(dtype, op: str, kernel: str) -> None:
    if dtype is not None and not _dtype.as_dtype(dtype).is_floating_point:
        raise NotImplementedError(f"{op}: \"{kernel}\" not implemented for '{_dtype.as_dtype(dtype)}' (random "
                                  "floats need a floating point dtype; use randint for integers)")


def _like(fn_name: str, make):
    def like(input: Tensor, *args, dtype=None, device=None, requires_grad: bool = False, **kwargs) -> Tensor:
        _check_tensor(input, fn_name)
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


def is_tensor(obj) -> builtins.bool:
    """True for chainrule tensors (Parameters included)."""
    return isinstance(obj, Tensor)


def _check_tensor(input, op: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")


def is_complex(input: Tensor) -> builtins.bool:
    """False: chainrule has no complex dtypes."""
    _check_tensor(input, "is_complex")
    return False


def numel(input: Tensor) -> builtins.int:
    """The number of elements of ``input``."""
    _check_tensor(input, "numel")
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
Tensor.is_complex = is_complex
