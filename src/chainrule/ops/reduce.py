"""Reductions over dimensions (``dim`` as None, an int or a tuple; ``keepdim``)."""

from __future__ import annotations

from .. import _dtype
from .._backend import xp
from ..tensor import Tensor, _normalize_dim
from ._primitive import Primitive, apply, method
from .shape import broadcast_to, reshape

__all__ = ["sum", "mean"]


def normalize_dims(dim, ndim: int, op: str) -> tuple:
    """``dim`` (None, int, or a sequence) as a sorted tuple of non-negative axes; None and () mean all."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = tuple(sorted({_normalize_dim(d, ndim, op) for d in dims}))
    if len(out) != len(dims):
        raise RuntimeError(f"{op}: dim {list(dims)} appears multiple times in the list of dims")
    return out if ndim else ()


def unreduce(g: Tensor, in_shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Put the reduced ``dims`` back into ``g`` as size-1 axes (if dropped), then broadcast to ``in_shape``."""
    if not keepdim:
        g = reshape(g, tuple(1 if i in dims else s for i, s in enumerate(in_shape)))
    return broadcast_to(g, in_shape)


class Sum(Primitive):
    name = "sum"

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        ctx.in_shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return xp.asarray(x.sum(axis=dims, keepdims=keepdim, dtype=np_dtype))

    @staticmethod
    def vjp(ctx, g):
        return unreduce(g, ctx.in_shape, ctx.dims, ctx.keepdim)

    @staticmethod
    def jvp(ctx, x_t):
        return apply(Sum, (x_t,), ctx.dims, ctx.keepdim, None)


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (all dimensions by default); integer and bool tensors sum to int64, as in torch."""
    dims = normalize_dims(dim, input.data.ndim, "sum")
    if dtype is not None:
        np_dtype = _dtype.as_dtype(dtype).np
    elif input.data.dtype.kind in "biu":
        np_dtype = _dtype.int64.np
    else:
        np_dtype = None
    return apply(Sum, (input,), dims, keepdim, np_dtype)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over ``dim`` (all dimensions by default); only floating tensors, as in torch."""
    if dtype is not None:
        input = input.to(dtype)
    if input.data.dtype.kind != "f":
        raise RuntimeError(f"mean: could not infer output dtype; input dtype must be floating point, got "
                           f"{input.dtype}; convert first, e.g. x.float().mean()")
    dims = normalize_dims(dim, input.data.ndim, "mean")
    count = 1
    for d in dims:
        count *= input.data.shape[d]
    return sum(input, dims, keepdim) / count if count else sum(input, dims, keepdim) * float("nan")


method("sum")(sum)
method("mean")(mean)
