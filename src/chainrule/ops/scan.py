"""Scans and order statistics: cumprod, cummax, cummin, logcumsumexp, median, nanmedian, kthvalue, mode,
quantile, nanquantile, histc, bincount, diff, trapezoid, cumulative_trapezoid.

Two scans are primitives: ``cumprod`` (its rule must be exact with zeros in the input, where ``out / x`` is
0 / 0) and ``logcumsumexp`` (computed pairwise in log space; a shifted ``cumsum`` of ``exp`` underflows).
Results that pick entries of the input (cummax, median, kthvalue, mode, the order statistics of a quantile)
are composites: a non-differentiable primitive finds the int64 positions and ``take_along_dim`` reads them,
so the gradient goes to the position returned, as in torch.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

from .. import _dtype
from .._backend import xp
from ..tensor import Tensor, _normalize_dim, _wrap
from ._primitive import Param, Primitive, apply, exports, method, public, shift_dim
from .arith import where
from .cast import clone
from .indexing import gather, scatter_add, take_along_dim
from .inplace import apply_inplace
from .join import cat, stack
from .reduce import Cumsum, _accumulating, _nonempty, amax, sum, sum_over
from .shape import Flip, int_tuple, reshape
from .sort import sort, sort_indices

_DIM = Param("dim", int, "the dimension to run along")


def _scan_dim(input: Tensor, dim, op: str) -> int:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    return _normalize_dim(int_tuple(dim, op, "dim")[0], input._data.ndim, op)


def _reverse_cumsum(t: Tensor, dim: int) -> Tensor:
    """``out[i] = t[i] + t[i+1] + ...`` along ``dim``."""
    return apply(Flip, (apply(Cumsum, (apply(Flip, (t,), dims=(dim,)),), dim=dim),), dims=(dim,))


# -- the scan primitives: cumprod (logcumsumexp below) ---------------------------------------------

class Scan(Primitive):
    """A running reduction ``running(x, axis=dim)`` along ``dim``; its rules read the input and the output."""

    may_warn = True
    warns_from_numpy = True
    params = (_DIM,)
    save_inputs = True
    save_output = True
    batch_params = staticmethod(shift_dim)
    running = None

    @classmethod
    def forward(cls, ctx, x, dim):
        return cls.running(x, axis=dim)


class Cumprod(Scan):
    name = "cumprod"
    doc = "The running product of ``x`` along ``dim``."
    gate = "cumprod: each input's gradient is the reversed running sum of g * out over the input (exact at 0)"
    running = staticmethod(xp.cumprod)

    @staticmethod
    def vjp(ctx, g):
        x, out, dim = ctx.inputs[0], ctx.output, ctx.params["dim"]
        zero, seen = _zeros_seen(x, dim)
        before, between = seen == 0, (seen == 1) & ~zero
        first, second = zero & (seen == 1), zero & (seen == 2)
        safe = where(before | between, x, 1.0)
        others = _reverse_cumsum(g * _cumprod_without(x, first, dim), dim)
        first_zero = sum_over(where(first, x, 0.0), (dim,), True)
        # NOTE: out / x is 0 / 0 at a zero. Before a slice's first zero the usual rule holds; at the first zero
        # the gradient is that of the products with it replaced by 1. Past it each product has the first zero
        # as a factor besides the entry itself: the gradient is that factor (0, but its derivative is not)
        # times the rule without it, up to the second zero; past the second zero two zero factors remain and
        # both the gradient and its derivatives vanish. So the rule is exact to second order.
        return where(before, _reverse_cumsum(g * out, dim) / safe,
                     where(first, others,
                           where(between, first_zero * others / safe,
                                 where(second, first_zero * _reverse_cumsum(
                                     g * _cumprod_without(x, first | second, dim), dim), 0.0))))

    @staticmethod
    def jvp(ctx, x_t):
        x, out, dim = ctx.inputs[0], ctx.output, ctx.params["dim"]
        zero, seen = _zeros_seen(x, dim)
        before, first = seen == 0, zero & (seen == 1)
        # NOTE: from the first zero on only its own tangent survives, times the products without it.
        return where(before, out * apply(Cumsum, (where(before, x_t / where(before, x, 1.0), 0.0),), dim=dim),
                     _cumprod_without(x, first, dim) * apply(Cumsum, (where(first, x_t, 0.0),), dim=dim))


def _zeros_seen(x: Tensor, dim: int) -> tuple:
    """``(zero, seen)``: where ``x`` is 0, and how many zeros its slice has up to each position along ``dim``."""
    zero = x == 0
    return zero, apply(Cumsum, (zero.to(x.dtype),), dim=dim)


def _cumprod_without(x: Tensor, skip: Tensor, dim: int) -> Tensor:
    """The running product of ``x`` along ``dim`` with the entries at ``skip`` taken as 1."""
    return apply(Cumprod, (where(skip, 1.0, x),), dim=dim)


@public(methods=("cumprod",))
def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running product along ``dim``: ``out[i] = x[0] * ... * x[i]`` (integer and bool tensors give int64).

    The gradient is exact with zeros in the input (as torch's). Example::

        >>> chainrule.cumprod(chainrule.tensor([1., 2., 3.]), 0)
        tensor([1., 2., 6.])
    """
    input = _accumulating(input, dtype, "cumprod")
    d = _scan_dim(input, dim, "cumprod")
    return apply(Cumprod, (input,), dim=d) if input._data.ndim else clone(input)


@method("cumprod_")
def cumprod_(self: Tensor, dim: int, *, dtype=None) -> Tensor:
    """In-place :func:`cumprod`: updates this tensor and returns it."""
    return apply_inplace(self, "cumprod_", lambda x: cumprod(x, dim, dtype=dtype))


# -- cummax, cummin ------------------------------------------------------------------------------------

class PositionsAlong(Primitive):
    """int64 positions along ``dim`` chosen by the values of ``x`` (not differentiable)."""

    params = (_DIM,)
    differentiable = False
    batch_params = staticmethod(shift_dim)


class CummaxIndices(PositionsAlong):
    name = "cummax_indices"
    doc = "The int64 position of the running maximum of ``x`` along ``dim`` (the last of ties; NaN sticks)."
    running = staticmethod(xp.maximum.accumulate)

    @classmethod
    def forward(cls, ctx, x, dim):
        run = cls.running(x, axis=dim)
        hit = x == run
        if x.dtype.kind == "f":  # NOTE: a NaN becomes the running extreme, as in torch (and stays it)
            hit |= xp.isnan(x)
        along = tuple(-1 if k == dim else 1 for k in range(x.ndim))
        where_hit = xp.where(hit, xp.arange(x.shape[dim]).reshape(along), -1)
        return xp.maximum.accumulate(where_hit, axis=dim).astype(xp.int64, copy=False)


class CumminIndices(CummaxIndices):
    name = "cummin_indices"
    doc = "The int64 position of the running minimum of ``x`` along ``dim`` (the last of ties; NaN sticks)."
    running = staticmethod(xp.minimum.accumulate)


cummax_result = namedtuple("cummax", ("values", "indices"))
cummin_result = namedtuple("cummin", ("values", "indices"))


def _cum_extreme(input: Tensor, dim, op: str, result):
    d = _scan_dim(input, dim, op)
    x = input if input._data.ndim else reshape(input, (1,))
    indices = apply(CummaxIndices if op == "cummax" else CumminIndices, (x,), dim=d)
    values = take_along_dim(x, indices, d)
    if not input._data.ndim:
        values, indices = reshape(values, ()), reshape(indices, ())
    return result(values, indices)


@public(methods=("cummax",))
def cummax(input: Tensor, dim: int):
    """``(values, indices)``: the running maximum along ``dim`` and where it is (int64; the last position
    among ties; once a NaN is met it is the maximum). The gradient goes to the positions in ``indices``.

    Example::

        >>> chainrule.cummax(chainrule.tensor([1., 3., 2., 3.]), 0)
        cummax(values=tensor([1., 3., 3., 3.]), indices=tensor([0, 1, 1, 3]))
    """
    return _cum_extreme(input, dim, "cummax", cummax_result)


@public(methods=("cummin",))
def cummin(input: Tensor, dim: int):
    """``(values, indices)``: the running minimum along ``dim`` and where it is; see :func:`cummax`."""
    return _cum_extreme(input, dim, "cummin", cummin_result)


# -- logcumsumexp --------------------------------------------------------------------------------------

class LogCumSumExp(Scan):
    name = "logcumsumexp"
    doc = "``log(cumsum(exp(x)))`` along ``dim``, computed pairwise in log space."
    gate = "logcumsumexp: each input's gradient is exp(x) times the reversed running sum of g * exp(-out)"
    running = staticmethod(xp.logaddexp.accumulate)

    @staticmethod
    def vjp(ctx, g):
        x, out, dim = ctx.inputs[0], ctx.output, ctx.params["dim"]
        return _signed_log_scan(g, -out, x, dim, reverse=True)

    @staticmethod
    def jvp(ctx, x_t):
        x, out, dim = ctx.inputs[0], ctx.output, ctx.params["dim"]
        return _signed_log_scan(x_t, x, -out, dim, reverse=False)


def _signed_log_scan(w: Tensor, inner: Tensor, outer: Tensor, dim: int, reverse: bool) -> Tensor:
    """``exp(outer) * cumsum(w * exp(inner))`` along ``dim`` (from the end when ``reverse``), in log space.

    NOTE: as torch does, the positive and negative parts of ``w`` are scanned apart with logcumsumexp, so
    neither ``exp(inner)`` nor ``exp(outer)`` overflows on its own.
    """
    total = None
    for sign in (1.0, -1.0):
        part = w * sign
        positive = part > 0
        logs = where(positive, where(positive, part, 1.0).log() + inner, -math.inf)
        if reverse:
            logs = apply(Flip, (logs,), dims=(dim,))
        scanned = apply(LogCumSumExp, (logs,), dim=dim)
        if reverse:
            scanned = apply(Flip, (scanned,), dims=(dim,))
        # NOTE: an empty sum (scanned = -inf) is 0 whatever ``outer`` is (even +inf, where out is -inf).
        term = where(scanned == -math.inf, -math.inf, scanned + outer).exp()
        total = term if total is None else total - term
    return total


@public(methods=("logcumsumexp",))
def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(exp(x[0]) + ... + exp(x[i]))`` along ``dim``, stable for large and very negative inputs.

    Example::

        >>> chainrule.logcumsumexp(chainrule.tensor([0., 0.]), 0)
        tensor([0.0000, 0.6931])
    """
    d = _scan_dim(input, dim, "logcumsumexp")
    if input._data.dtype.kind != "f":
        input = input.to(_dtype.get_default_dtype())
    return apply(LogCumSumExp, (input,), dim=d) if input._data.ndim else clone(input)


# -- order statistics: median, nanmedian, kthvalue, mode ----------------------------------------------

median_result = namedtuple("median", ("values", "indices"))
nanmedian_result = namedtuple("nanmedian", ("values", "indices"))
kthvalue_result = namedtuple("kthvalue", ("values", "indices"))
mode_result = namedtuple("mode", ("values", "indices"))


def _nan_count(x: Tensor, dim: int) -> Tensor:
    """The number of NaNs along ``dim`` (kept as size 1), int64."""
    if x._data.dtype.kind != "f":
        shape = tuple(1 if k == dim else s for k, s in enumerate(x._data.shape))
        return _wrap(xp.zeros(shape, dtype=xp.int64))
    return sum(x.isnan(), dim, keepdim=True)


def _at_rank(op: str, input: Tensor, dim, keepdim: bool, rank, result):
    """``result(values, indices)`` of the entry of sorted rank ``rank(x, d, n)`` (an int64 tensor with ``d``
    kept) along ``dim``; among equal values the earliest position is returned."""
    x, d, order = sort_indices(input, dim, False, op)
    _nonempty(x._data.shape, (d,), f"{op}()")
    indices = gather(order, d, rank(x, d, x._data.shape[d]))
    values = take_along_dim(x, indices, d)
    if not (keepdim and input._data.ndim):
        values, indices = values.squeeze(d), indices.squeeze(d)
    return result(values, indices)


def _median_rank(x: Tensor, d: int, n: int) -> Tensor:
    nans = _nan_count(x, d)
    return where(nans > 0, n - nans, (n - 1) // 2)  # NOTE: NaN sorts last; any NaN makes the median NaN


def _nanmedian_rank(x: Tensor, d: int, n: int) -> Tensor:
    count = n - _nan_count(x, d)
    return where(count > 0, (count - 1) // 2, 0)


def _whole(input: Tensor, op: str, result_fn):
    """A median of all entries: a 0-d tensor (NaN for an empty input, as in torch) whose gradient is shared
    evenly by the entries equal to it."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.size == 0:
        return _wrap(xp.full((), xp.nan, dtype=input._data.dtype))
    flat = reshape(input, (-1,))
    value = result_fn(flat, 0, False).values
    if input._data.dtype.kind != "f":
        return value
    # NOTE: torch spreads the gradient of a median without dim evenly over the entries equal to it: the
    # maximum of those entries has exactly that rule (and the median's value, exactly).
    value = value.detach()
    hit = (flat == value) | (flat.isnan() & value.isnan())
    return amax(where(hit, flat, -math.inf))


@public(methods=("median",))
def median(input: Tensor, dim=None, keepdim: bool = False):
    """The median: the LOWER of the two middle values for an even count, as torch. Without ``dim`` a 0-d
    tensor; with ``dim`` the named tuple ``(values, indices)`` (int64) of each slice. A NaN in a slice makes
    its median NaN. The gradient goes to the returned position. Shapes: ``dim`` dropped unless ``keepdim``.

    Example::

        >>> chainrule.median(chainrule.tensor([4., 1., 3., 2.]))
        tensor(2.)
    """
    def along(x, d, keepdim):
        return _at_rank("median", x, d, keepdim, _median_rank, median_result)
    return _whole(input, "median", along) if dim is None else along(input, dim, keepdim)


@public(methods=("nanmedian",))
def nanmedian(input: Tensor, dim=None, keepdim: bool = False):
    """The median ignoring NaNs (NaN only for an all-NaN slice); see :func:`median`."""
    def along(x, d, keepdim):
        return _at_rank("nanmedian", x, d, keepdim, _nanmedian_rank, nanmedian_result)
    return _whole(input, "nanmedian", along) if dim is None else along(input, dim, keepdim)


@public(methods=("kthvalue",))
def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """``(values, indices)``: the ``k``-th smallest entry (1-based) of each slice along ``dim``.

    Example::

        >>> chainrule.kthvalue(chainrule.tensor([3., 1., 2.]), 2)
        kthvalue(values=tensor(2.), indices=tensor(2))
    """
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"kthvalue(): argument 'k' must be int, not {type(k).__name__}")
    n = input._data.shape[_scan_dim(input, dim, "kthvalue")] if input._data.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}: k={k}, size {n}")

    def rank(x, d, n):
        return _wrap(xp.full(tuple(1 if j == d else s for j, s in enumerate(x._data.shape)), k - 1, xp.int64))
    return _at_rank("kthvalue", input, dim, keepdim, rank, kthvalue_result)


class ModeIndices(PositionsAlong):
    name = "mode_indices"
    doc = "The int64 position of the most frequent value along ``dim`` (kept as size 1)."

    @staticmethod
    def forward(ctx, x, dim):
        moved = xp.moveaxis(x, dim, -1)
        n = moved.shape[-1]
        rows = moved.reshape(-1, n)
        out = xp.empty(rows.shape[0], dtype=xp.int64)
        for r, row in enumerate(rows):
            order = xp.argsort(row, kind="stable")
            ordered = row[order]
            starts = xp.flatnonzero(xp.concatenate(([True], ordered[1:] != ordered[:-1])))
            lengths = xp.diff(xp.append(starts, n))
            best = int(xp.argmax(lengths))  # NOTE: the first longest run: the smallest of the most frequent
            out[r] = order[starts[best]:starts[best] + lengths[best]].max()  # its last position, as torch
        return xp.expand_dims(out.reshape(moved.shape[:-1]), dim)


@public(methods=("mode",))
def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """``(values, indices)``: the most frequent value of each slice along ``dim`` (the smallest of equally
    frequent ones) and its last position (int64). The gradient goes to that position.

    Example::

        >>> chainrule.mode(chainrule.tensor([1., 2., 2., 1., 3.]))
        mode(values=tensor(1.), indices=tensor(3))
    """
    d = _scan_dim(input, dim, "mode")
    x = input if input._data.ndim else reshape(input, (1,))
    _nonempty(x._data.shape, (d,), "mode()")
    indices = apply(ModeIndices, (x,), dim=d)
    values = take_along_dim(x, indices, d)
    if not (keepdim and input._data.ndim):
        values, indices = values.squeeze(d), indices.squeeze(d)
    return mode_result(values, indices)


# -- quantiles -----------------------------------------------------------------------------------------

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(op: str, input: Tensor, q, dim, keepdim: bool, interpolation: str, ignore_nan: bool) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype, got {input.dtype}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{op}() interpolation must be one of {', '.join(_INTERPOLATIONS)}. Got "
                         f"{interpolation!r}")
    if isinstance(q, Tensor):
        if q._data.ndim > 1:
            raise RuntimeError(f"{op}() q must be a scalar or 1D tensor, got shape {tuple(q._data.shape)}")
        if q._data.dtype != input._data.dtype:
            raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor, got {q.dtype} and "
                               f"{input.dtype}")
        qs = q._data
    elif isinstance(q, (int, float)) and not isinstance(q, bool):
        qs = xp.asarray(float(q))
    else:
        raise TypeError(f"{op}(): argument 'q' must be a float or a Tensor, not {type(q).__name__}")
    if qs.size and not ((qs >= 0) & (qs <= 1)).all():  # NOTE: validation only; q's values pick nothing
        raise RuntimeError(f"{op}() q values must be in the range [0, 1], got {qs.tolist()}")
    if input._data.size == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty")
    x = reshape(input, (-1,)) if dim is None else input if input._data.ndim else reshape(input, (1,))
    d = 0 if dim is None else _normalize_dim(int_tuple(dim, op, "dim")[0], x._data.ndim, op)
    n = x._data.shape[d]
    q_t = q if isinstance(q, Tensor) else _wrap(qs.astype(input._data.dtype))
    q_t = reshape(q_t, (-1,) + (1,) * x._data.ndim)  # (Q, 1, ..., 1): one slice of results per q
    values = sort(x, d).values.unsqueeze(0)
    count = n - _nan_count(x, d)
    if ignore_nan:
        pos = where(count > 0, q_t * (count - 1), 0.0)
    else:  # NOTE: NaN sorts last, so any NaN gives NaN (the entry at n - 1)
        pos = where(count < n, float(n - 1), q_t * (n - 1))
    if interpolation == "nearest":
        pos = pos.round()
    lower, upper = pos.floor(), pos.ceil()

    def at(p):
        return take_along_dim(values, p.to(_dtype.int64), d + 1)
    if interpolation in ("lower", "nearest"):
        out = at(lower)
    elif interpolation == "higher":
        out = at(upper)
    else:
        low, high = at(lower), at(upper)
        out = (low + high) / 2 if interpolation == "midpoint" else low + (pos - lower) * (high - low)
    if dim is None:
        out = reshape(out, (-1,) + (1,) * input._data.ndim if keepdim else (-1,))
    elif not (keepdim and input._data.ndim):
        out = out.squeeze(d + 1)
    return out if isinstance(q, Tensor) and q._data.ndim else out.squeeze(0)


@public(methods=("quantile",))
def quantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear") -> Tensor:
    """The ``q``-th quantiles of ``input`` along ``dim`` (of all entries when None), for ``q`` in [0, 1].

    ``q`` is a float or a 0-d/1-D tensor of ``input``'s dtype; a 1-D ``q`` adds a leading dimension, one
    result per ``q``. Between two order statistics ``i < j`` the result is ``interpolation``: ``'linear'``
    (``a + (b - a) * frac``), ``'lower'``, ``'higher'``, ``'midpoint'`` or ``'nearest'`` (half to even).
    A NaN in a slice gives NaN. Differentiable w.r.t. ``input`` (and a tensor ``q``).

    Example::

        >>> chainrule.quantile(chainrule.tensor([1., 2., 3., 4.]), 0.5)
        tensor(2.5000)
    """
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@public(methods=("nanquantile",))
def nanquantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear") -> Tensor:
    """:func:`quantile` ignoring NaNs (NaN only for an all-NaN slice)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


# -- histograms and differences ------------------------------------------------------------------------

class Histc(Primitive):
    name = "histc"
    params = (Param("bins", int, "the number of equal-width bins"), Param("min", float, "the lower end"),
              Param("max", float, "the upper end (min == max: the data's range)"))
    doc = "The histogram of ``x``: counts in ``bins`` equal bins over [min, max], in ``x``'s dtype."
    differentiable = False

    @staticmethod
    def forward(ctx, x, bins, min, max):
        values = x[~xp.isnan(x)].ravel()
        low, high = min, max
        if low == high and values.size:
            low, high = float(values.min()), float(values.max())
        if low == high:
            low, high = low - 1, high + 1
        if not (math.isfinite(low) and math.isfinite(high)):
            raise RuntimeError(f"histc(): range of [{low}, {high}] is not finite")
        return xp.histogram(values, bins=bins, range=(low, high))[0].astype(x.dtype)

    @staticmethod
    def batch_rule(inputs, batched, params):
        # NOTE: each sample's range may come from its own data, so each is binned on its own.
        return stack([apply(Histc, (row,), **params) for row in inputs[0].unbind(0)])


@public(methods=("histc",))
def histc(input: Tensor, bins: int = 100, min=0, max=0) -> Tensor:
    """The histogram of ``input``: ``bins`` equal-width bins over ``[min, max]`` (the data's own range when
    ``min == max``); entries outside are ignored, the last bin includes ``max``. Floating input; the counts
    have its dtype. Not differentiable.

    Example::

        >>> chainrule.histc(chainrule.tensor([1., 2., 1.]), bins=4, min=0, max=3)
        tensor([0., 2., 1., 0.])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"histc(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"histc(): \"histogram_cpu\" not implemented for '{input.dtype}'; convert first, "
                           "e.g. x.float()")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins <= 0:
        raise RuntimeError(f"histc(): bins must be > 0, but got {bins}")
    if min > max:
        raise RuntimeError(f"histc(): max must be larger than min, got min={min} and max={max}")
    return apply(Histc, (input,), bins=bins, min=float(min), max=float(max))


@public(methods=("bincount",))
def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value ``0, 1, ...`` occurs in the 1-D non-negative integer ``input`` (int64), or, with
    ``weights`` (``input``'s shape), the sum of the weights of each value (float64 for integer weights).

    The result has length ``max(input) + 1`` or ``minlength`` if larger. Differentiable w.r.t. ``weights``.

    Example::

        >>> chainrule.bincount(chainrule.tensor([1, 1, 3]))
        tensor([0, 2, 0, 1])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"bincount(): argument 'input' must be Tensor, not {type(input).__name__}")
    data = input._data
    if data.dtype.kind not in "iu":
        raise NotImplementedError(f"bincount(): \"bincount_cpu\" not implemented for '{input.dtype}'; it counts "
                                  "integers")
    if data.ndim != 1 or (data.size and data.min() < 0):
        raise RuntimeError(f"bincount(): only supports 1-d non-negative integral inputs, got {input.dtype} of "
                           f"shape {tuple(data.shape)}")
    if minlength < 0:
        raise RuntimeError(f"bincount(): minlength should be >= 0, got {minlength}")
    length = builtins.max(int(data.max()) + 1 if data.size else 0, minlength)
    if weights is None:
        counts = _wrap(xp.ones(data.shape, dtype=xp.int64))
    else:
        if not isinstance(weights, Tensor) or weights._data.shape != data.shape:
            raise RuntimeError(f"bincount(): weights should be 1-d and have the same length as input, got "
                               f"{getattr(weights, 'shape', type(weights).__name__)} for input of shape "
                               f"{tuple(data.shape)}")
        counts = weights if weights._data.dtype.kind == "f" else weights.to(_dtype.float64)
    zeros = _wrap(xp.zeros((length,), dtype=counts._data.dtype))
    return scatter_add(zeros, 0, input.to(_dtype.int64), counts)


@public(methods=("diff",))
def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference ``x[i+1] - x[i]`` along ``dim`` (``!=`` for bool tensors), after
    concatenating ``prepend`` and ``append`` along ``dim``. Shapes: ``dim`` shrinks by ``n`` (to 0 at least).

    Example::

        >>> chainrule.diff(chainrule.tensor([1, 3, 6]))
        tensor([2, 3])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"diff(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.ndim == 0:
        raise RuntimeError("diff(): expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"diff(): order must be non-negative but got {n}")
    d = _normalize_dim(dim, input._data.ndim, "diff")
    parts = [t for t in (prepend, input, append) if t is not None]
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        length = x._data.shape[d]
        if length == 0:
            break
        later, earlier = x.narrow(d, 1, length - 1), x.narrow(d, 0, length - 1)
        x = later != earlier if x._data.dtype.kind == "b" else later - earlier
    return x


def _trapezoids(y: Tensor, x, dx, dim: int, op: str) -> tuple:
    """``(areas, d)``: the area of each trapezoid between neighbouring samples of ``y`` along ``d``."""
    if not isinstance(y, Tensor):
        raise TypeError(f"{op}(): argument 'y' must be Tensor, not {type(y).__name__}")
    if x is not None and dx is not None:
        raise TypeError(f"{op}(): pass either the sample points x or their spacing dx, not both")
    if y._data.dtype.kind != "f":
        y = y.to(_dtype.get_default_dtype())
    d = _normalize_dim(dim, y._data.ndim, op)
    length = y._data.shape[d]
    if length == 0:
        return y, d
    heights = y.narrow(d, 1, length - 1) + y.narrow(d, 0, length - 1)
    if x is None:
        return heights * ((1 if dx is None else dx) / 2), d
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'x' must be Tensor, not {type(x).__name__}")
    if x._data.ndim == 1:
        if x._data.shape[0] != length:
            raise RuntimeError(f"{op}(): there must be one `x` value for each sample point, got "
                               f"{x._data.shape[0]} for {length} samples along dim {d}")
        widths = reshape(diff(x), (length - 1,) + (1,) * (y._data.ndim - 1 - d))
    else:
        widths = diff(x, dim=d - y._data.ndim)
    return widths * heights / 2, d


@public(aliases=("trapz",))
def trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: ``sum((x[i+1] - x[i]) * (y[i+1] + y[i]) / 2)``.

    ``x`` holds the sample points (1-D of ``y.shape[dim]`` entries, or broadcasting with ``y``); without it
    the points are ``dx`` apart (1 by default). Integer ``y`` gives a floating result. Shapes: ``dim`` dropped.

    Example::

        >>> chainrule.trapezoid(chainrule.tensor([1., 2., 3.]))
        tensor(4.)
    """
    areas, d = _trapezoids(y, x, dx, dim, "trapezoid")
    return sum(areas, d)


@public()
def cumulative_trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """The running trapezoidal rule along ``dim`` (see :func:`trapezoid`): ``dim`` shrinks by one.

    Example::

        >>> chainrule.cumulative_trapezoid(chainrule.tensor([1., 2., 3.]))
        tensor([1.5000, 4.0000])
    """
    areas, d = _trapezoids(y, x, dx, dim, "cumulative_trapezoid")
    return apply(Cumsum, (areas,), dim=d)


__all__ = exports(__name__)
