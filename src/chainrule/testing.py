"""Testing helpers, as ``torch.testing``: :func:`assert_close`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from . import _dtype
from ._backend import xp
from .tensor import Tensor, _wrap

__all__ = ["assert_close"]

# (rtol, atol) by dtype when neither is given, as torch's; integer and bool dtypes compare exactly.
_TOLERANCES = {_dtype.float16: (1e-3, 1e-5), _dtype.float32: (1.3e-6, 1e-5), _dtype.float64: (1e-7, 1e-7)}


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False, msg=None):
    """Raise an AssertionError unless ``actual`` and ``expected`` are close, as ``torch.testing.assert_close``.

    Tensors must match in shape (and dtype, unless ``check_dtype=False``, when both are compared in their
    promoted dtype) and elementwise satisfy ``|actual - expected| <= atol + rtol * |expected|``. Without
    ``rtol``/``atol`` (give both or neither) they default by dtype: float16 ``(1e-3, 1e-5)``, float32
    ``(1.3e-6, 1e-5)``, float64 ``(1e-7, 1e-7)``, integers and bools exact. ``equal_nan``: NaNs compare equal.
    NumPy arrays compare with arrays (not with tensors), Python numbers with numbers (floats as float64), and
    sequences and mappings item by item. ``msg``
    (a string, or a callable taking the generated message) replaces the message.

    The message names the mismatched count, and the greatest absolute and relative differences with their
    index and the allowed tolerances. Example::

        >>> chainrule.testing.assert_close(chainrule.tensor([1.0, 2.0]), chainrule.tensor([1.0, 2.0000001]))
    """
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'atol' if atol is None else 'rtol'}.")
    options = {"rtol": rtol, "atol": atol, "equal_nan": equal_nan, "check_dtype": check_dtype}
    # NOTE: an explicit stack (no recursion) walks nested sequences and mappings; ``where`` is the item path.
    pending = [(actual, expected, "")]
    while pending:
        a, e, where = pending.pop()
        failure = _compare(a, e, where, options, pending)
        if failure is not None:
            if where:
                failure += f"\n\nThe failure occurred for item {where}"
            if msg is not None:
                failure = msg(failure) if callable(msg) else msg
            raise AssertionError(failure)


def _compare(a, e, where: str, options: dict, pending: list) -> str | None:
    """The failure message of one pair (None when it matches); containers push their items onto ``pending``."""
    if isinstance(a, Tensor) and isinstance(e, Tensor):
        return _compare_tensors(a, e, options)
    if isinstance(a, xp.ndarray) and isinstance(e, xp.ndarray):
        return _compare_tensors(_wrap(a), _wrap(e), options)
    if _is_number(a) and _is_number(e):
        return _compare_scalars(a, e, options)
    if _is_sequence(a) and _is_sequence(e):
        if len(a) != len(e):
            return f"The length of the sequences mismatch: {len(a)} != {len(e)}"
        pending.extend((x, y, f"{where}[{i}]") for i, (x, y) in reversed(list(enumerate(zip(a, e)))))
        return None
    if isinstance(a, Mapping) and isinstance(e, Mapping):
        if set(a) != set(e):
            return (f"The keys of the mappings do not match:\nMissing keys in the actual mapping: "
                    f"{sorted(map(repr, set(e) - set(a)))}\nExtra keys in the actual mapping: "
                    f"{sorted(map(repr, set(a) - set(e)))}")
        pending.extend((a[k], e[k], f"{where}[{k!r}]") for k in reversed(list(e)))
        return None
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(a)} and {type(e)}.")


def _is_number(x) -> bool:
    return isinstance(x, (int, float, bool, xp.number, xp.bool_))


def _is_sequence(x) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, str)


def _tolerances(dtypes, options: dict) -> tuple:
    if options["rtol"] is not None:
        return options["rtol"], options["atol"]
    pairs = [_TOLERANCES.get(d, (0.0, 0.0)) for d in dtypes]
    return max(r for r, _ in pairs), max(t for _, t in pairs)


def _compare_tensors(a: Tensor, e: Tensor, options: dict) -> str | None:
    if a.shape != e.shape:
        return f"The values for attribute 'shape' do not match: {a.shape} != {e.shape}."
    if options["check_dtype"] and a.dtype is not e.dtype:
        return f"The values for attribute 'dtype' do not match: {a.dtype} != {e.dtype}."
    rtol, atol = _tolerances((a.dtype, e.dtype), options)
    common = _dtype.promote_types(a.dtype, e.dtype).np
    x, y = a.detach().numpy().astype(common), e.detach().numpy().astype(common)
    exact = common.kind in "iub"
    if exact:
        x, y = x.astype(xp.int64), y.astype(xp.int64)
    if not x.ndim:  # NOTE: torch reports 0-d tensors as scalars
        return _scalar_failure(x.item(), y.item(), rtol, atol, options["equal_nan"], not exact)
    with xp.errstate(all="ignore"):
        matches = _isclose(x, y, rtol, atol, options["equal_nan"])
        if matches.all():
            return None
        abs_diff = xp.abs(x - y)
        # NOTE: as torch, an integer division gives the default float dtype
        divide_as = _dtype.get_default_dtype().np if exact else x.dtype
        rel_diff = abs_diff.astype(divide_as) / xp.abs(y).astype(divide_as)
    mismatched = int((~matches).sum())
    abs_diff[matches], rel_diff[matches] = 0, 0
    kind = "equal" if rtol == 0 and atol == 0 else "close"
    total = matches.size
    lines = [f"Tensor-likes are not {kind}!", "",
             f"Mismatched elements: {mismatched} / {total} ({mismatched / total:.1%})",
             _greatest("absolute", abs_diff, atol, kind), _greatest("relative", rel_diff, rtol, kind)]
    return "\n".join(lines)


def _isclose(x, y, rtol: float, atol: float, equal_nan: bool):
    """torch's closeness: equal values (infinities included) always match; NaNs only with ``equal_nan``."""
    close = x == y
    if x.dtype.kind == "f":
        finite = xp.isfinite(x) & xp.isfinite(y)
        close |= finite & (xp.abs(x - y) <= atol + rtol * xp.abs(y))
        if equal_nan:
            close |= xp.isnan(x) & xp.isnan(y)
    elif rtol or atol:
        close |= xp.abs(x - y) <= atol + rtol * xp.abs(y)
    return close


def _greatest(name: str, diff, tolerance: float, kind: str) -> str:
    flat = diff.reshape(-1)
    # NOTE: a NaN difference is the greatest, as torch.max reports it.
    i = int(xp.argmax(xp.where(xp.isnan(flat), xp.inf, flat))) if flat.size else 0
    value = flat[i].item()
    index = tuple(int(k) for k in xp.unravel_index(i, diff.shape))
    allowed = f" (up to {tolerance} allowed)" if kind == "close" else ""
    return f"Greatest {name} difference: {value} at index {index}{allowed}"


def _compare_scalars(a, e, options: dict) -> str | None:
    if isinstance(a, (bool, xp.bool_)) and isinstance(e, (bool, xp.bool_)):
        return None if a == e else f"Booleans mismatch: {a} is not {e}"
    floating = isinstance(a, (float, xp.floating)) or isinstance(e, (float, xp.floating))
    rtol, atol = _tolerances((_dtype.float64 if floating else _dtype.int64,), options)
    return _scalar_failure(a, e, rtol, atol, options["equal_nan"], floating)


def _scalar_failure(a, e, rtol: float, atol: float, equal_nan: bool, floating: bool) -> str | None:
    if a == e or (equal_nan and floating and math.isnan(a) and math.isnan(e)):
        return None
    if floating and math.isfinite(a) and math.isfinite(e) and abs(a - e) <= atol + rtol * abs(e):
        return None
    abs_diff = abs(a - e)
    rel_diff = abs_diff / abs(e) if e else math.inf
    if rtol == 0 and atol == 0:
        return (f"Scalars are not equal!\n\nExpected {e} but got {a}.\nAbsolute difference: {abs_diff}\n"
                f"Relative difference: {rel_diff}")
    return (f"Scalars are not close!\n\nExpected {e} but got {a}.\nAbsolute difference: {abs_diff} (up to {atol} "
            f"allowed)\nRelative difference: {rel_diff} (up to {rtol} allowed)")
