"""Reductions over dimensions (``dim`` as None, an int or a tuple; ``keepdim``) and the running sum.

Smooth reductions are composites where that is exact and stable (mean, var, logsumexp); primitives hold the
rules that need care: ``prod`` (zeros in the input), ``amax``/``amin`` (ties share the gradient, as in torch),
``max``/``min`` with a dim (the gradient goes to the returned index) and ``norm`` (subgradient 0 at 0).
"""

from __future__ import annotations

import builtins
import math
import warnings
from collections import namedtuple

from .. import _dtype
from .._backend import xp
from ..tensor import Tensor, _normalize_dim, _wrap
from ._primitive import BatchedParam, Param, Primitive, apply, exports, materialize, public, shift, shift_dim
from .arith import maximum, minimum, where
from .cast import clone
from .shape import Flip, broadcast_to, flag, int_tuple, reshape, unique_dims

_DIMS = Param("dims", tuple, "the dimensions reduced (normalised, sorted)")
_KEEPDIM = Param("keepdim", bool, "keep the reduced dimensions as size 1")


def normalize_dims(dim, ndim: int, op: str) -> tuple:
    """``dim`` (None, int, or a sequence) as a sorted tuple of non-negative axes; None and () mean all."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    out = tuple(sorted(unique_dims(int_tuple(dim, op, "dim"), ndim, op)))
    return out if ndim else ()


def keep(t: Tensor, in_shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Reduction result ``t`` with the reduced ``dims`` back as size-1 axes (it broadcasts with the input)."""
    return t if keepdim else reshape(t, tuple(1 if i in dims else s for i, s in enumerate(in_shape)))


def unreduce(g: Tensor, in_shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Put the reduced ``dims`` back into ``g`` as size-1 axes (if dropped), then broadcast to in_shape."""
    return broadcast_to(keep(g, in_shape, dims, keepdim), in_shape)


def _accumulating(input: Tensor, dtype, op: str) -> Tensor:
    """``input`` in the dtype a product or running sum accumulates in: ``dtype``, else int64 for ints."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if dtype is not None:
        return input.to(dtype)
    return input.to(_dtype.int64) if input._data.dtype.kind in "biu" else input


def _shift_dims(size: int, p: dict) -> dict:
    return {**p, "dims": shift(p["dims"])}


class Sum(Primitive):
    name = "sum"
    may_warn = True
    warns_from_numpy = True
    params = (_DIMS, _KEEPDIM, Param("dtype", (object, None), "the NumPy dtype to sum in (None: the input's)"))
    doc = "The sum of ``x`` over ``dims``."
    gate = "sum: copies the upstream gradient back to every element it summed"
    methods = ("sum",)
    batch_params = staticmethod(_shift_dims)

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.in_shape = x.shape
        return xp.asarray(x.sum(axis=dims, keepdims=keepdim, dtype=dtype))

    @staticmethod
    def vjp(ctx, g):
        return unreduce(g, ctx.in_shape, ctx.params["dims"], ctx.params["keepdim"])

    @staticmethod
    def jvp(ctx, x_t):
        return apply(Sum, (x_t,), **{**ctx.params, "dtype": None})

    @classmethod
    def code(cls, names: dict, params: dict) -> str:
        dims, keepdim = params["dims"], params["keepdim"]
        if keepdim or len(dims) != len(names.get("x_shape", ())):
            return f"{names['cr']}sum({names['x']}, dim={dims}, keepdim={keepdim})"
        return f"{names['cr']}sum({names['x']})"

    @classmethod
    def gradient_code(cls, params: dict, shapes: tuple) -> tuple:
        dims, keepdim, shape = params["dims"], params["keepdim"], shapes[0]
        kept = "{g}" if keepdim or len(dims) == len(shape) else \
            "{g}.reshape(" + repr(tuple(1 if d in dims else n for d, n in enumerate(shape))) + ")"
        return ("{cr}ones_like({x}) * " + kept,)


def sum_over(x: Tensor, dims: tuple, keepdim: bool) -> Tensor:
    """``x`` summed over exactly ``dims`` (normalised axes; ``()`` sums nothing), for the rules below."""
    # NOTE: not sum(): there () means every dim, which is wrong when a rule runs on a batch (vmap).
    return apply(Sum, (x,), dims=dims, keepdim=keepdim, dtype=None)


@public(Sum)
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (all dimensions by default); integer and bool tensors sum to int64, as in torch."""
    dims = normalize_dims(dim, input._data.ndim, "sum")
    if dtype is not None:
        np_dtype = _dtype.as_dtype(dtype).np
    elif input._data.dtype.kind in "biu":
        np_dtype = _dtype.int64.np
    else:
        np_dtype = None
    return apply(Sum, (input,), dims=dims, keepdim=flag(keepdim, "sum", "keepdim"), dtype=np_dtype)


@public(methods=("mean",))
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over ``dim`` (all dimensions by default); only floating tensors, as in torch."""
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"mean: could not infer output dtype; input dtype must be floating point, got "
                           f"{input.dtype}; convert first, e.g. x.float().mean()")
    dims, keepdim = normalize_dims(dim, input._data.ndim, "mean"), flag(keepdim, "mean", "keepdim")
    count = 1
    for d in dims:
        count *= input._data.shape[d]
    return sum(input, dims, keepdim) / count if count else sum(input, dims, keepdim) * float("nan")




# -- products ----------------------------------------------------------------------------------------

class LocalReduction(Primitive):
    """A reduction over ``dims`` declared by its local derivative ``local_derivative(ctx)`` = d out / d x (x's
    shape).

    As ``unary`` does for elementwise ops: the VJP is the upstream gradient, broadcast back over the reduced
    dims, times the local derivative; the JVP is the tangent times it, summed over the dims.
    """

    save_inputs = True
    save_output = True
    batch_params = staticmethod(_shift_dims)
    local_derivative = None

    @classmethod
    def vjp(cls, ctx, g):
        return keep(g, ctx.inputs[0]._data.shape, ctx.params["dims"], ctx.params["keepdim"]) * cls.local_derivative(ctx)

    @classmethod
    def jvp(cls, ctx, x_t):
        return sum_over(x_t * cls.local_derivative(ctx), ctx.params["dims"], ctx.params["keepdim"])


class Prod(LocalReduction):
    name = "prod"
    may_warn = True
    warns_from_numpy = True
    params = (_DIMS, _KEEPDIM)
    doc = "The product of ``x`` over ``dims``."
    gate = "prod: each element's local gradient is the product of the others"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        return xp.asarray(x.prod(axis=dims, keepdims=keepdim))

    local_derivative = staticmethod(lambda ctx: _prod_local(ctx))


def _prod_local(ctx) -> Tensor:
    """d prod / d x: ``out / x`` without zeros; the product of the other entries where ``x`` is 0."""
    x, dims = ctx.inputs[0], ctx.params["dims"]
    out = keep(ctx.output, x._data.shape, dims, ctx.params["keepdim"])
    # NOTE: out / x would be 0 / 0 at a zero. With one zero in the slice its derivative is the product of the
    # non-zeros; with two it is the other zero's value (0) times that product, written so that the second
    # derivative stays exact; with more, derivatives up to the second all vanish.
    zero = x == 0
    safe = where(zero, 1.0, x)
    count = sum_over(zero, dims, True)
    others = apply(Prod, (safe,), dims=dims, keepdim=True)
    other_zero = sum_over(where(zero, x, 0.0), dims, True) - x
    at_zero = where(count == 1, others, where(count == 2, other_zero * others, 0.0))
    return where(zero, at_zero, out / safe)


@public(methods=("prod",))
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of all elements, or over the single dimension ``dim`` (integer and bool tensors give int64).

    The gradient is exact with zeros in the input (the product of the other entries). Shapes: ``dim`` is
    dropped unless ``keepdim``. Example::

        >>> chainrule.prod(chainrule.tensor([[1., 2.], [3., 4.]]), 1)
        tensor([ 2., 12.])
    """
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int)):
        raise TypeError(f"prod: dim must be an int, got {type(dim).__name__} {dim!r}; like torch's prod it "
                        "reduces one dimension (or all of them without dim), so reduce one dim at a time")
    input = _accumulating(input, dtype, "prod")
    return apply(Prod, (input,), dims=normalize_dims(dim, input._data.ndim, "prod"),
                 keepdim=flag(keepdim, "prod", "keepdim"))


# -- extremes ----------------------------------------------------------------------------------------

class AMax(LocalReduction):
    name = "amax"
    may_warn = True
    params = (_DIMS, _KEEPDIM)
    doc = "The maximum of ``x`` over ``dims``; tied maxima share the gradient evenly."
    gate = "max: routes the gradient to the largest element (ties share it)"
    reduce = staticmethod(xp.amax)

    @classmethod
    def forward(cls, ctx, x, dims, keepdim):
        return xp.asarray(cls.reduce(x, axis=dims, keepdims=keepdim))

    local_derivative = staticmethod(lambda ctx: _tie_share(ctx))


class AMin(AMax):
    name = "amin"
    doc = "The minimum of ``x`` over ``dims``; tied minima share the gradient evenly."
    gate = "min: routes the gradient to the smallest element (ties share it)"
    reduce = staticmethod(xp.amin)


def _tie_share(ctx) -> Tensor:
    """``1/k`` at each of the ``k`` entries equal to their slice's extreme, 0 elsewhere (a constant)."""
    x, dims = ctx.inputs[0], ctx.params["dims"]
    hit = (x == keep(ctx.output, x._data.shape, dims, ctx.params["keepdim"])).to(x.dtype)
    # NOTE: torch shares the gradient of tied extremes evenly; the share is piecewise constant in x.
    return hit / sum_over(hit, dims, True)


class MaxAt(Primitive):
    """The entries of ``x`` at ``indices`` along ``dim`` (``max(dim)``'s values); only they get gradient."""

    name = "max"
    params = (Param("indices", object, "the int64 index of each slice's maximum along dim (kept dims)"),
              Param("dim", int, "the dimension reduced"), _KEEPDIM)
    doc = "The entries of ``x`` at ``indices`` along ``dim`` (``max(dim)``'s values)."
    gate = "max along a dim: routes each slice's gradient to its returned index"
    batches_params = True

    @staticmethod
    def forward(ctx, x, indices, dim, keepdim):
        ctx.in_shape = x.shape
        out = xp.take_along_axis(x, indices, dim)
        return out if keepdim else out.squeeze(dim)

    @staticmethod
    def vjp(ctx, g):
        indices, dim, keepdim = ctx.params["indices"], ctx.params["dim"], ctx.params["keepdim"]
        n = ctx.in_shape[dim]
        along = tuple(n if i == dim else 1 for i in range(len(ctx.in_shape)))
        hit = _wrap(xp.arange(n).reshape(along)) == _wrap(indices)
        return where(hit, keep(g, ctx.in_shape, (dim,), keepdim), 0.0)

    @classmethod
    def jvp(cls, ctx, x_t):
        return apply(cls, (x_t,), **ctx.params)

    @classmethod
    def batch_rule(cls, inputs, batched, params):
        indices = params["indices"]
        if isinstance(indices, BatchedParam):
            indices = indices.array
            x = materialize(inputs[0], batched[0], indices.shape[0])
        else:  # NOTE: take_along_axis broadcasts a size-1 leading dim of the indices
            indices, x = indices[None], inputs[0]
        return apply(cls, (x,), indices=indices, dim=params["dim"] + 1, keepdim=params["keepdim"])


class MinAt(MaxAt):
    name = "min"
    doc = "The entries of ``x`` at ``indices`` along ``dim`` (``min(dim)``'s values)."
    gate = "min along a dim: routes each slice's gradient to its returned index"


_max_result = namedtuple("max", ("values", "indices"))
_min_result = namedtuple("min", ("values", "indices"))


class ArgMax(Primitive):
    """Index (int64) of the first maximum along ``dim``, or of the flattened tensor when ``dim`` is None."""

    name = "argmax"
    params = (Param("dim", (int, None), "the dimension searched (None: the flattened tensor)"), _KEEPDIM)
    doc = "The index (int64) of the first maximum along ``dim``."
    differentiable = False
    find = staticmethod(xp.argmax)

    @classmethod
    def forward(cls, ctx, x, dim, keepdim):
        if dim is None:
            return xp.asarray(cls.find(x), dtype=xp.int64).reshape((1,) * x.ndim if keepdim else ())
        return xp.asarray(cls.find(x, axis=dim, keepdims=keepdim), dtype=xp.int64)

    @classmethod
    def batch_rule(cls, inputs, batched, params):
        (x,), dim, keepdim = inputs, params["dim"], params["keepdim"]
        if dim is not None:
            return apply(cls, (x,), dim=dim + 1, keepdim=keepdim)
        size = x._data.shape[0]
        flat = apply(cls, (x.reshape(size, -1),), dim=1, keepdim=False)
        return flat.reshape((size,) + (1,) * (x._data.ndim - 1)) if keepdim else flat


class ArgMin(ArgMax):
    name = "argmin"
    doc = "The index (int64) of the first minimum along ``dim``."
    find = staticmethod(xp.argmin)


_EXTREMES = {"max": (AMax, MaxAt, ArgMax, _max_result), "min": (AMin, MinAt, ArgMin, _min_result)}


def _nonempty(shape: tuple, dims: tuple, op: str) -> None:
    for d in dims:
        if shape[d] == 0:
            raise IndexError(f"{op}: expected reduction dim {d} to have non-zero size, but the input has "
                             f"shape {tuple(shape)}; reduce over non-empty dims")


def _extreme(op: str, input: Tensor, dim, keepdim: bool):
    reduce_op, at_op, arg, result = _EXTREMES[op]
    shape = input._data.shape
    if dim is None:
        if input._data.size == 0:
            raise RuntimeError(f"{op}: expected reduction dim to be specified for an empty input (shape "
                               f"{tuple(shape)}); pass dim=")
        return apply(reduce_op, (input,), dims=tuple(range(len(shape))), keepdim=False)
    (dim,) = int_tuple(dim, op, "dim")
    d = _normalize_dim(dim, len(shape), op)
    x = input if shape else reshape(input, (1,))
    _nonempty(x._data.shape, (d,), op)
    keepdim = bool(keepdim and shape)
    indices = apply(arg, (x,), dim=d, keepdim=True)
    values = apply(at_op, (x,), indices=indices._data, dim=d, keepdim=keepdim)
    return result(values, indices if keepdim else indices.squeeze(d))


@public(methods=("max",))
def max(input: Tensor, dim=None, keepdim: bool = False):
    """The largest element; with ``dim``, the named tuple ``(values, indices)`` of each slice's maximum.

    ``max(input, other_tensor)`` is :func:`maximum`. Without ``dim``, tied maxima share the gradient
    evenly; with ``dim`` it goes to the returned index (the first maximum). ``indices`` are int64, with no
    gradient.
    Shapes: ``dim`` is dropped from both outputs unless ``keepdim``. Example::

        >>> chainrule.max(chainrule.tensor([[1., 5.], [7., 2.]]), 1)
        max(values=tensor([5., 7.]), indices=tensor([1, 0]))
    """
    return maximum(input, dim) if isinstance(dim, Tensor) else _extreme("max", input, dim, keepdim)


@public(methods=("min",))
def min(input: Tensor, dim=None, keepdim: bool = False):
    """The smallest element, or ``(values, indices)`` along ``dim``; see :func:`max`."""
    return minimum(input, dim) if isinstance(dim, Tensor) else _extreme("min", input, dim, keepdim)


@public(methods=("amax",))
def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """The maximum over ``dim`` (an int or a tuple; all dims by default); ties share the gradient evenly."""
    dims = normalize_dims(dim, input._data.ndim, "amax")
    _nonempty(input._data.shape, dims, "amax")
    return apply(AMax, (input,), dims=dims, keepdim=flag(keepdim, "amax", "keepdim"))


@public(methods=("amin",))
def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """The minimum over ``dim`` (an int or a tuple; all dims by default); ties share the gradient evenly."""
    dims = normalize_dims(dim, input._data.ndim, "amin")
    _nonempty(input._data.shape, dims, "amin")
    return apply(AMin, (input,), dims=dims, keepdim=flag(keepdim, "amin", "keepdim"))


def _arg_extreme(op: str, input: Tensor, dim, keepdim: bool) -> Tensor:
    arg, shape = _EXTREMES[op[3:]][2], input._data.shape
    if dim is None:
        if input._data.size == 0:
            raise IndexError(f"{op}: expected reduction dim to be specified for an empty input (shape "
                             f"{tuple(shape)}); pass dim=")
        return apply(arg, (input,), dim=None, keepdim=keepdim)
    (dim,) = int_tuple(dim, op, "dim")
    d = _normalize_dim(dim, len(shape), op)
    x = input if shape else reshape(input, (1,))
    _nonempty(x._data.shape, (d,), op)
    return apply(arg, (x,), dim=d, keepdim=bool(keepdim and shape))


@public(methods=("argmax",))
def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the (first) maximum, of the flattened tensor without ``dim``; int64, not differentiable."""
    return _arg_extreme("argmax", input, dim, keepdim)


@public(methods=("argmin",))
def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the (first) minimum, of the flattened tensor without ``dim``; int64, not differentiable."""
    return _arg_extreme("argmin", input, dim, keepdim)


# -- moments, logsumexp, norms -----------------------------------------------------------------------

def _moment(op: str, input: Tensor, dim, unbiased, keepdim: bool, correction) -> Tensor:
    if isinstance(dim, bool):  # torch's var(input, unbiased) overload
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{op}: can't specify both unbiased={unbiased} and correction={correction}; use "
                           "correction (unbiased=True is correction=1, unbiased=False is correction=0)")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: std and var only support floating point dtypes, got {input.dtype}; "
                           f"convert first, e.g. x.float().{op}()")
    if correction is None:
        correction = 1 if unbiased is None else int(bool(unbiased))
    dims, keepdim = normalize_dims(dim, input._data.ndim, op), flag(keepdim, op, "keepdim")
    n = math.prod(input._data.shape[d] for d in dims)
    dof = builtins.max(n - correction, 0)
    if dof == 0:
        warnings.warn(f"{op}: degrees of freedom is <= 0 (correction {correction} with {n} elements per "
                      "reduction), so the result is inf or nan", RuntimeWarning, stacklevel=3)
    centred = input - mean(input, dims, keepdim=True)
    with xp.errstate(divide="ignore", invalid="ignore"):
        if op == "std":
            # NOTE: the 2-norm of the deviations has gradient 0 at a constant input, as torch's std does.
            return norm(centred, 2, dims, keepdim) / math.sqrt(dof)
        return sum(centred * centred, dims, keepdim) / dof


@public(methods=("var",))
def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Variance over ``dim``: ``sum((x - mean)**2) / (N - correction)``, ``correction=1`` (Bessel) by default.

    Accepts torch's older ``unbiased=`` keyword too (``unbiased=False`` is ``correction=0``). Floating input
    only. Shapes: ``dim`` dropped unless ``keepdim``. Example::

        >>> chainrule.var(chainrule.tensor([1., 2., 3., 4.]))
        tensor(1.6667)
    """
    return _moment("var", input, dim, unbiased, keepdim, correction)


@public(methods=("std",))
def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Standard deviation ``sqrt(var)`` over ``dim`` (see :func:`var`); gradient 0 at a constant input."""
    return _moment("std", input, dim, unbiased, keepdim, correction)


@public(methods=("logsumexp",))
def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim``, computed stably (finite for inputs of 1e4); its gradient is softmax.

    Shapes: ``dim`` dropped unless ``keepdim``; an empty reduction gives ``-inf``.
    """
    if input._data.dtype.kind != "f":
        input = input.to(_dtype.get_default_dtype())
    dims, keepdim = normalize_dims(dim, input._data.ndim, "logsumexp"), flag(keepdim, "logsumexp", "keepdim")
    top = shift_for_exp(input, dims)
    total = sum((input - top).exp(), dims, keepdim)
    with xp.errstate(divide="ignore"):  # an all -inf (or empty) slice sums to 0: its log is -inf, as in torch
        return total.log() + (top if keepdim else reshape(top, total._data.shape))


def shift_for_exp(x: Tensor, dims: tuple) -> Tensor:
    """The max of ``x`` over ``dims`` (kept as size-1 dims), detached: subtracting it keeps ``exp`` from
    overflowing. An infinite or empty max gives no shift (inf - inf would be nan). Results that do not depend
    on the shift (logsumexp, softmax) treat it as a constant."""
    shape = x._data.shape
    if not builtins.all(shape[d] for d in dims):
        return _wrap(xp.zeros(tuple(1 if i in dims else n for i, n in enumerate(shape)), dtype=x._data.dtype))
    top = apply(AMax, (x.detach(),), dims=dims, keepdim=True)
    return where(top.isfinite(), top, 0.0)


def log_softmax_forward(x, dim: int):
    """log_softmax of array ``x`` along ``dim`` (which has at least one entry); compiled code calls it directly.

    NOTE: torch's CPU kernel's order, ``(x - max) - log(sum(exp(x - max)))``, so infinite and nan slices give
    torch's values (a slice holding +inf, or only -inf, is all nan) in four NumPy calls and one subtraction.
    """
    shifted = x - xp.maximum.reduce(x, axis=dim, keepdims=True)
    return shifted - xp.log(xp.add.reduce(xp.exp(shifted), axis=dim, keepdims=True))


class LogSoftmax(Primitive):
    # NOTE: a primitive for speed: ``x - logsumexp(x)`` composed records 9 ops forward and 6 backward, more than
    # a small classifier's products cost. Its forward uses ufunc reductions, so NumPy's reports come from this
    # frame (the warnings filter drops them).
    name = "log_softmax"
    may_warn = True
    save_output = True
    params = (Param("dim", int, "the dimension whose slices become log-probabilities"),)
    doc = "``x - log(sum(exp(x)))`` along ``dim``: the log of softmax, shifted by the slice's max for stability."
    gate = "log_softmax gate: x - logsumexp(x); local gradient I - softmax(x)"
    batch_params = staticmethod(shift_dim)

    @staticmethod
    def forward(ctx, x, dim):
        return log_softmax_forward(x, dim)

    @staticmethod
    def vjp(ctx, g):
        # NOTE: d out_i / d x_j = [i == j] - softmax_j, and softmax is exp(out)
        return g - ctx.output.exp() * g.sum(ctx.params["dim"], keepdim=True)

    @staticmethod
    def jvp(ctx, x_t):
        return x_t - (ctx.output.exp() * x_t).sum(ctx.params["dim"], keepdim=True)


class Norm(LocalReduction):
    """``||x||_p`` over ``dims`` for ``p`` other than 0, 1 and +-inf (composites of abs, amax and sum)."""

    # NOTE: a primitive for stability: sqrt(sum(x * x)) composed would give 0 * inf = nan at x = 0, where
    # torch's subgradient is 0.
    name = "norm"
    may_warn = True
    params = (Param("p", float, "the order"), _DIMS, _KEEPDIM)
    doc = "``sum(|x|^p)^(1/p)`` over ``dims``."
    gate = "norm: local gradient sign(x) |x|^(p-1) / ||x||^(p-1) (0 at 0)"

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        if p == 2:
            return xp.sqrt(xp.sum(x * x, axis=dims, keepdims=keepdim))
        return xp.sum(xp.abs(x) ** p, axis=dims, keepdims=keepdim) ** (1 / p)

    local_derivative = staticmethod(lambda ctx: _norm_local(ctx))


def _norm_local(ctx) -> Tensor:
    """d ||x||_p / d x = sign(x) |x|^(p-1) / ||x||^(p-1), taken as 0 where x or the norm is 0 (as torch)."""
    x, p = ctx.inputs[0], ctx.params["p"]
    out = keep(ctx.output, x._data.shape, ctx.params["dims"], ctx.params["keepdim"])
    nonzero = out != 0
    safe_out = where(nonzero, out, 1.0)
    if p == 2:
        return x / safe_out  # x is 0 wherever its norm is
    zero = x == 0
    scaled = where(zero, 0.0, x.sign() * where(zero, 1.0, x.abs()) ** (p - 1))
    return where(nonzero, scaled / safe_out ** (p - 1), 0.0)


@public(methods=("norm",))
def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, out=None, dtype=None) -> Tensor:
    """The vector p-norm ``sum(|x|^p)^(1/p)`` over ``dim`` (all elements by default), as ``torch.norm``.

    ``p``: ``'fro'`` or 2 (Euclidean/Frobenius), 1, ``inf`` (max abs), ``-inf`` (min abs), 0 (count of
    non-zeros) or any other number. At ``x = 0`` the gradient is 0 (torch's subgradient); tied ``inf``-norm
    maxima share it. The nuclear norm ``'nuc'`` is not supported. Example::

        >>> chainrule.norm(chainrule.tensor([3., 4.]))
        tensor(5.)
    """
    if out is not None:
        raise TypeError("norm: out= is not supported; use the returned tensor")
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"norm: expected a floating point tensor as input, got {input.dtype}; convert "
                           "first, e.g. x.float()")
    if isinstance(p, str):
        if p != "fro":
            raise RuntimeError(f"norm: p={p!r} is not supported; use 'fro' or a number (the nuclear norm "
                               "'nuc' needs an SVD, which chainrule does not have)")
        p = 2
    dims, keepdim = normalize_dims(dim, input._data.ndim, "norm"), flag(keepdim, "norm", "keepdim")
    if p == math.inf:
        return amax(input.abs(), dims, keepdim)
    if p == -math.inf:
        return amin(input.abs(), dims, keepdim)
    if p == 0:
        return sum(input.abs().sign(), dims, keepdim)  # the count of non-zeros, with zero gradient
    if p == 1:
        return sum(input.abs(), dims, keepdim)
    return apply(Norm, (input,), p=float(p), dims=dims, keepdim=keepdim)


# -- NaN-ignoring reductions, moments with the mean, counts -------------------------------------------

def _without_nan(input: Tensor, op: str) -> Tensor:
    """``input`` with its NaNs as 0 (their gradient is 0, as in torch)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    return where(input.isnan(), 0.0, input) if input._data.dtype.kind == "f" else input


@public(methods=("nansum",))
def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """:func:`sum` treating NaN as 0 (NaN entries get gradient 0). Example::

        >>> chainrule.nansum(chainrule.tensor([1., float("nan"), 2.]))
        tensor(3.)
    """
    return sum(_without_nan(input, "nansum"), dim, keepdim, dtype=dtype)


@public(methods=("nanmean",))
def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """:func:`mean` of the non-NaN entries (NaN where there are none). Example::

        >>> chainrule.nanmean(chainrule.tensor([1., float("nan"), 2.]))
        tensor(1.5000)
    """
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"nanmean(): expected input to have floating point dtype but got {input.dtype}")
    dims = normalize_dims(dim, input._data.ndim, "nanmean")
    count = sum(~input.isnan(), dims, keepdim).to(input.dtype)
    with xp.errstate(divide="ignore", invalid="ignore"):
        return nansum(input, dims, keepdim) / count


@public()
def var_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> tuple:
    """``(var, mean)`` over ``dim`` in one call; see :func:`var` (``correction=1`` by default)."""
    if isinstance(dim, bool):  # torch's var_mean(input, unbiased) overload
        dim, unbiased = None, dim
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


@public()
def std_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> tuple:
    """``(std, mean)`` over ``dim`` in one call; see :func:`std`."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


_aminmax_result = namedtuple("aminmax", ("min", "max"))


@public(methods=("aminmax",))
def aminmax(input: Tensor, *, dim=None, keepdim: bool = False):
    """``(min, max)``: :func:`amin` and :func:`amax` over ``dim`` (an int; all dims when None) in one call.
    Tied extremes share the gradient evenly. Example::

        >>> chainrule.aminmax(chainrule.tensor([[1., 5.], [3., 2.]]), dim=1)
        aminmax(min=tensor([1., 2.]), max=tensor([5., 3.]))
    """
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int)):
        raise TypeError(f"aminmax(): argument 'dim' must be int, not {type(dim).__name__}")
    dims, keepdim = normalize_dims(dim, input._data.ndim, "aminmax"), flag(keepdim, "aminmax", "keepdim")
    if builtins.any(input._data.shape[d] == 0 for d in dims) or input._data.size == 0:
        raise RuntimeError(f"aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                           f"identity (input of shape {tuple(input._data.shape)})")
    return _aminmax_result(apply(AMin, (input,), dims=dims, keepdim=keepdim),
                           apply(AMax, (input,), dims=dims, keepdim=keepdim))


@public(methods=("count_nonzero",))
def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """The number of non-zero entries over ``dim`` (an int or a tuple; all dims when None), int64."""
    return sum(input != 0, normalize_dims(dim, input._data.ndim, "count_nonzero"))


# -- running sums and truth tests --------------------------------------------------------------------

class Cumsum(Primitive):
    name = "cumsum"
    may_warn = True
    warns_from_numpy = True
    params = (Param("dim", int, "the dimension to run along"),)
    doc = "The running sum of ``x`` along ``dim``."
    gate = "cumsum: each input's gradient is the reversed running sum of the upstream gradient"
    batch_params = staticmethod(shift_dim)

    @staticmethod
    def forward(ctx, x, dim):
        return xp.cumsum(x, axis=dim)

    @staticmethod
    def vjp(ctx, g):
        # NOTE: each input feeds every later output, so its gradient is the reversed running sum of g.
        dim = ctx.params["dim"]
        flipped = apply(Flip, (g,), dims=(dim,))
        return apply(Flip, (apply(Cumsum, (flipped,), dim=dim),), dims=(dim,))

    @staticmethod
    def jvp(ctx, x_t):
        return apply(Cumsum, (x_t,), **ctx.params)


@public(methods=("cumsum",))
def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sum along ``dim``: ``out[i] = x[0] + ... + x[i]`` (integer and bool tensors give int64).

    Example::

        >>> chainrule.cumsum(chainrule.tensor([1, 2, 3]), 0)
        tensor([1, 3, 6])
    """
    input = _accumulating(input, dtype, "cumsum")
    d = _normalize_dim(int_tuple(dim, "cumsum", "dim")[0], input._data.ndim, "cumsum")
    return apply(Cumsum, (input,), dim=d) if input._data.ndim else clone(input)


class AllOf(Primitive):
    name = "all"
    params = (_DIMS, _KEEPDIM)
    doc = "True where every element of ``x`` over ``dims`` is non-zero."
    differentiable = False
    test = staticmethod(xp.all)
    batch_params = staticmethod(_shift_dims)

    @classmethod
    def forward(cls, ctx, x, dims, keepdim):
        return xp.asarray(cls.test(x, axis=dims, keepdims=keepdim))


class AnyOf(AllOf):
    name = "any"
    doc = "True where some element of ``x`` over ``dims`` is non-zero."
    test = staticmethod(xp.any)


@public(methods=("all",))
def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where every element over ``dim`` (all dims by default) is non-zero; a bool tensor, no gradient."""
    return apply(AllOf, (input,), dims=normalize_dims(dim, input._data.ndim, "all"),
                 keepdim=flag(keepdim, "all", "keepdim"))


@public(methods=("any",))
def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where some element over ``dim`` (all dims by default) is non-zero; a bool tensor, no gradient."""
    return apply(AnyOf, (input,), dims=normalize_dims(dim, input._data.ndim, "any"),
                 keepdim=flag(keepdim, "any", "keepdim"))


__all__ = exports(__name__)
