"""The one place that chooses the array module behind a device.

Only this module imports NumPy: the rest of chainrule uses ``xp`` and the names here. ``xp`` is NumPy, whose
ufunc and ``__array_function__`` protocols already route calls on CuPy arrays to CuPy, so the same op code will
run on a future "cuda" device. What cannot dispatch that way goes through this seam: :func:`array_module` gives
the module of some arrays (ops that create arrays pass ``like=`` an input instead), :func:`device_module` the
module that creates arrays on a device, and :func:`device_of` / :func:`to_device` read and move an array's device.
CuPy is imported only once a CuPy array or a "cuda" device is actually seen.
"""

from __future__ import annotations

import importlib
import math
import warnings

import numpy

xp = numpy
ndarray = numpy.ndarray
as_array = numpy.asarray
_generic = numpy.generic


class _SeterrState:
    """Old NumPy (< 2), whose error state is not a context variable: the same ``set``/``reset`` protocol."""

    @staticmethod
    def get():
        return numpy.geterr()

    @staticmethod
    def set(_value):
        return numpy.seterr(all="ignore")

    @staticmethod
    def reset(token) -> None:
        numpy.seterr(**token)


try:
    from numpy._core.umath import _extobj_contextvar as errstate_var
except ImportError:  # pragma: no cover - NumPy < 2
    errstate_var, QUIET = _SeterrState, None
else:
    with numpy.errstate(all="ignore"):
        QUIET = errstate_var.get()
# NOTE: ``errstate_var.set(QUIET)`` ... ``errstate_var.reset(token)`` is ``numpy.errstate(all="ignore")`` at a tenth
# of its cost (one context-variable write): ops whose forward can meet inf/nan run under it, as torch warns of none.

# NOTE: cheaper still is no write at all. NumPy reports a floating-point event (log(0), x/0, overflow) as a
# RuntimeWarning raised from the frame that called the ufunc, so this filter drops exactly the reports raised in
# chainrule's own code. While NumPy is in the error state it had at import (warn or ignore, never raise) and no
# filter consulted before this one would act on those reports, an op's forward runs as it is (see
# ``ops._primitive.eager``); a user's ``numpy.errstate``/``seterr``, or a filter added later that could catch
# them ("error", "always", pytest.warns), brings back the QUIET write, so they never reach the user.
warnings.filterwarnings("ignore", message="(divide by zero|invalid value|overflow|underflow) encountered",
                        category=RuntimeWarning, module=r"chainrule\.")
OWN_FILTER = warnings.filters[0]
WARN_STATE = (errstate_var.get() if QUIET is not None and set(numpy.geterr().values()) <= {"warn", "ignore"}
              else object())
_filters_seen = [None, -1, None, False]  # the filter list, its length, its first entry, and the verdict on them


def own_warnings_dropped() -> bool:
    """Whether chainrule's warnings filter is the one that decides about NumPy's reports from chainrule code."""
    filters = warnings.filters
    seen = _filters_seen
    if filters is seen[0] and len(filters) == seen[1] and (not filters or filters[0] is seen[2]):
        return seen[3]
    dropped = False
    for entry in filters:
        if entry is OWN_FILTER:
            dropped = True
            break
        action, message, category, module, lineno = entry
        if not issubclass(RuntimeWarning, category) or action == "ignore":
            continue
        if module is None or "chainrule" in module.pattern or module.match("chainrule.ops"):
            break  # NOTE: this filter could act on them first (message and line are not worth telling apart)
    seen[:] = [filters, len(filters), filters[0] if filters else None, dropped]
    return dropped


def ensure_array(value):
    """``value`` as an array: NumPy returns scalars from some 0-d operations; any array type passes unchanged."""
    return numpy.asarray(value) if isinstance(value, _generic) else value

__all__ = ["xp", "device", "array_module", "device_module", "device_of", "to_device", "cuda_is_available"]


class device:
    """Where a tensor's data lives, as in torch: ``device("cpu")``, ``device("cuda", 0)``, ``device("cuda:0")``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index: int | None = None):
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got {type!r}")
        name, _, idx = type.partition(":")
        if name not in ("cpu", "cuda", "meta"):
            raise RuntimeError(f"device: expected one of cpu, cuda, meta device type at start of device string: "
                               f"{type}")
        if idx:
            if index is not None:
                raise RuntimeError(f"device: index given twice in device({type!r}, {index})")
            index = int(idx)
        self.type, self.index = name, index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")
META = device("meta")
_default_device = [CPU]


def cuda_is_available() -> bool:
    """Whether the "cuda" device works: CuPy is installed and sees at least one GPU."""
    return cuda_device_count() > 0


def cuda_device_count() -> int:
    """The number of GPUs CuPy sees (0 without CuPy or without a driver)."""
    if _cuda_count[0] is None:
        try:
            cupy = importlib.import_module("cupy")
            _cuda_count[0] = int(cupy.cuda.runtime.getDeviceCount())
        except Exception:  # NOTE: no CuPy, no driver, no device: CuPy raises several types; all mean "none"
            _cuda_count[0] = 0
    return _cuda_count[0]


_cuda_count: list = [None]
NO_CUDA = ("the CUDA device is not available: chainrule runs 'cuda' tensors on CuPy, which needs "
           "`pip install chainrule[cuda]` (a CuPy wheel for your CUDA version) and an NVIDIA GPU; "
           "chainrule.cuda.is_available() is False here. Use device='cpu'")


def as_device(value) -> device:
    """Normalise ``None`` (the default device), a string or a device; refuse devices that are not available."""
    if value is None:
        return _default_device[0]
    d = value if isinstance(value, device) else device(value)
    if d.type == "meta":
        return META
    if d.type == "cuda":
        if not cuda_is_available():
            raise RuntimeError(f"device {str(d)!r}: {NO_CUDA}")
        index = 0 if d.index is None else d.index
        if index >= cuda_device_count():
            raise RuntimeError(f"device {str(d)!r}: invalid device ordinal (chainrule sees {cuda_device_count()} "
                               "CUDA device(s))")
        return device("cuda", index)
    return CPU


def set_default_device(value) -> None:
    """Set the device that factories use when ``device=None``."""
    _default_device[0] = as_device(value)


def get_default_device() -> device:
    """The device factories use when ``device=None`` (the CPU unless changed)."""
    return _default_device[0]


def _is_cupy(array) -> bool:
    # NOTE: by the type's module name, so that NumPy-only installs never import CuPy.
    return type(array).__module__.partition(".")[0] == "cupy"


def _cupy():
    import cupy
    return cupy


def array_module(*arrays):
    """The array module of ``arrays``: CuPy when any of them is a CuPy array, NumPy otherwise.

    Example::

        >>> array_module(numpy.zeros(3)) is numpy
        True
    """
    return _cupy() if any(_is_cupy(a) for a in arrays) else numpy


def device_module(dev: device):
    """The array module that creates arrays on ``dev`` (CuPy for "cuda", NumPy for "cpu")."""
    return _cupy() if device(dev).type == "cuda" else numpy


def device_of(array) -> device:
    """The device ``array`` lives on: "cuda:<id>" for a CuPy array, "meta" for a :class:`MetaArray`, the CPU for
    anything else."""
    if array.__class__ is MetaArray:
        return META
    return device("cuda", array.device.id) if _is_cupy(array) else CPU


def to_device(array, dev: device):
    """``array`` on device ``dev`` (no copy when it is already there; to "meta": shape and dtype only)."""
    dev = device(dev)
    if device_of(array) == dev or (dev.index is None and device_of(array).type == dev.type):
        return array
    if dev.type == "meta":
        return meta_array(array.shape, array.dtype)
    if array.__class__ is MetaArray:
        raise NotImplementedError(f"Cannot copy out of meta tensor; no data! (to {dev}: use to_empty(device=...) "
                                  "to allocate new storage)")
    if dev.type == "cpu":
        return array.get()
    cupy = _cupy()
    with cupy.cuda.Device(dev.index or 0):
        return cupy.asarray(array)


class MetaArray(numpy.ndarray):
    """The data of a tensor on the "meta" device: a shape and a dtype, no values (a read-only zero-stride view
    of one zero). NumPy functions and ufuncs on meta arrays compute on zeros and return meta arrays, so every op
    gives its output's shape and dtype; the values are never read (reading them raises, as in torch)."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if kwargs.get("out") is not None:
            return kwargs["out"][0] if len(kwargs["out"]) == 1 else kwargs["out"]
        result = getattr(ufunc, method)(*_plain(inputs), **kwargs)
        return _as_meta(result)

    def __array_function__(self, func, types, args, kwargs):
        return _as_meta(func(*_plain(args), **_plain(kwargs)))


def meta_array(shape, dtype) -> MetaArray:
    """A :class:`MetaArray` of ``shape`` and ``dtype`` (no memory)."""
    return numpy.broadcast_to(numpy.zeros((), dtype=dtype), tuple(shape)).view(MetaArray)


def _plain(value):
    if value.__class__ is MetaArray:
        return value.view(numpy.ndarray)
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _as_meta(value):
    if isinstance(value, numpy.ndarray):
        return meta_array(value.shape, value.dtype)
    if isinstance(value, _generic):
        return meta_array((), value.dtype)
    if isinstance(value, (tuple, list)):
        return type(value)(_as_meta(v) for v in value)
    return value


def _erf_fallback():
    vectorised = numpy.frompyfunc(math.erf, 1, 1)
    return lambda x: vectorised(x).astype(x.dtype)


try:  # NOTE: NumPy has no erf; SciPy's is vectorised, the fallback is exact but slow.
    from scipy.special import erf
except ImportError:  # pragma: no cover - depends on the environment
    erf = _erf_fallback()
