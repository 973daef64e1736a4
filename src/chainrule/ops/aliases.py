"""torch's further names for existing ops and their thin forms: ``absolute`` (abs), ``fix`` (trunc), ``negative``
(neg), ``not_equal`` (ne), ``rsub`` (sub reversed), ``positive``, the one-sided clamps ``clamp_min``/``clamp_max``,
``dist`` (the p-norm of a difference), ``renorm`` (slices rescaled to a maximal p-norm) and ``mvlgamma`` (the
multivariate log-gamma, torch.special's ``multigammaln``), with their Tensor methods and in-place forms.

All are composites, so gradients of every order, forward mode and vmap come from the ops they call.
"""

from __future__ import annotations

import math

from .. import _dtype
from ..creation import arange
from ..tensor import Tensor, _normalize_dim
from . import elementwise
from ._primitive import exports, public
from .arith import ne, sub, where
from .cast import cast_to
from .elementwise import clamp, neg, trunc
from .inplace import inplace_method
from .reduce import norm
from .special import lgamma, require_tensors


@public(methods=("fix",))
def fix(input: Tensor) -> Tensor:
    """:func:`trunc` under numpy's name: ``input`` rounded toward zero (same shape)."""
    return trunc(input)


@public(methods=("not_equal",))
def not_equal(input: Tensor, other) -> Tensor:
    """:func:`ne`: a bool tensor, True where ``input != other`` (shapes broadcast)."""
    return ne(input, other)


@public()
def absolute(input: Tensor) -> Tensor:
    """:func:`abs`: ``|input|`` (the method ``Tensor.absolute`` is abs's own)."""
    return elementwise.abs(input)


@public()
def rsub(input, other, *, alpha=1) -> Tensor:
    """``other - alpha * input``: :func:`sub` with the operands swapped (either may be a number)."""
    return sub(other, input, alpha=alpha)


@public()
def negative(input: Tensor) -> Tensor:
    """:func:`neg`: ``-input`` (the method ``Tensor.negative`` is neg's own)."""
    return neg(input)


@public(methods=("positive",))
def positive(input: Tensor) -> Tensor:
    """``+input``: ``input`` itself; torch's RuntimeError for a bool tensor."""
    if input._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


@public(methods=("clamp_min",))
def clamp_min(input: Tensor, min) -> Tensor:
    """:func:`clamp` with a lower bound only (a number or a tensor that broadcasts)."""
    return clamp(input, min=min)


@public(methods=("clamp_max",))
def clamp_max(input: Tensor, max) -> Tensor:
    """:func:`clamp` with an upper bound only (a number or a tensor that broadcasts)."""
    return clamp(input, max=max)


@public(methods=("dist",))
def dist(input: Tensor, other: Tensor, p=2) -> Tensor:
    """The ``p``-norm of ``input - other`` over all elements (shapes broadcast): a 0-d tensor.

    Example::

        >>> chainrule.dist(chainrule.tensor([0.0, 0.0]), chainrule.tensor([3.0, 4.0]))
        tensor(5.)
    """
    require_tensors("dist", ("input", input), ("other", other))
    return norm(sub(input, other), p)


@public(methods=("renorm",))
def renorm(input: Tensor, p, dim: int, maxnorm) -> Tensor:
    """Each slice ``input.select(dim, i)`` whose ``p``-norm exceeds ``maxnorm`` rescaled to norm ``maxnorm``
    (as torch, by ``maxnorm / (norm + 1e-7)``); the others unchanged (same shape).

    Example::

        >>> chainrule.renorm(chainrule.tensor([[3.0, 4.0], [0.3, 0.4]]), 2, 0, 1.0)
        tensor([[0.6000, 0.8000],
                [0.3000, 0.4000]])
    """
    require_tensors("renorm", ("input", input))
    ndim = input._data.ndim
    if ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {ndim} dimensions")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = _normalize_dim(dim, ndim, "renorm")
    norms = norm(input, p, tuple(k for k in range(ndim) if k != d), keepdim=True)
    # NOTE: the unselected branch sees a norm of at least maxnorm, so it never divides by a tiny number.
    over = norms > maxnorm
    return input * where(over, maxnorm / (where(over, norms, maxnorm) + 1e-7), 1.0)


@public(methods=("mvlgamma",))
def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma function of dimension ``p``:
    ``p (p - 1) / 4 * log(pi) + sum_{i<p} lgamma(x - i / 2)``, elementwise (same shape; integers give the default
    float dtype).

    Example::

        >>> chainrule.mvlgamma(chainrule.tensor([2.5]), 1)
        tensor([0.2847])
    """
    require_tensors("mvlgamma", ("input", input))
    if isinstance(p, bool) or not isinstance(p, int):
        raise TypeError(f"mvlgamma(): argument 'p' must be int, not {type(p).__name__}")
    if p < 1:
        raise RuntimeError(f"mvlgamma: p has to be greater than or equal to 1 (got p={p})")
    x = input if input._data.dtype.kind == "f" else cast_to(input, _dtype.get_default_dtype().np)
    halves = arange(p, dtype=x.dtype, device=x.device) * 0.5
    return lgamma(x.unsqueeze(-1) - halves).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)


for _fn in (fix, not_equal, clamp_min, clamp_max, renorm, mvlgamma):
    inplace_method(_fn.__name__ + "_", _fn)

__all__ = exports(__name__)
