"""Covariance and correlation of variables observed together: ``cov`` (with torch's ``correction``,
``fweights`` and ``aweights``) and ``corrcoef``. Composites of reductions and a matrix product."""

from __future__ import annotations

import warnings

from .. import _dtype
from ..tensor import Tensor
from ._primitive import exports, public
from .cast import cast_to
from .elementwise import clamp
from .linalg import matmul
from .special import require_tensors


def _weights(name: str, w, kinds: str, what: str, observations: int) -> None:
    if not isinstance(w, Tensor):
        raise TypeError(f"cov(): argument '{name}' must be Tensor, not {type(w).__name__}")
    if w._data.ndim > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                           f"{w._data.ndim} dimensions")
    if w._data.size != observations:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in the input "
                           f"but got {w._data.size} != {observations}")
    if w._data.dtype.kind not in kinds:
        raise RuntimeError(f"cov(): expected {name} to have {what} dtype but got {name} with {w.dtype} dtype")


@public(methods=("cov",))
def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (V, N), observations in the columns: (V, V);
    a 1-D input is one variable (a 0-d result).

    ``correction``: subtracted from the (weighted) number of observations (1: Bessel's correction, 0: the
    biased estimate); ``fweights`` (N,) integer repeat counts and ``aweights`` (N,) float importance weights,
    combined as in torch and numpy. Integer input gives the default float dtype.

    Example::

        >>> chainrule.cov(chainrule.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.5]]))
        tensor([[ 1.0000, -0.7500],
                [-0.7500,  0.5833]])
    """
    require_tensors("cov", ("input", input))
    ndim = input._data.ndim
    if ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with {ndim} "
                           "dimensions")
    x = input if input._data.dtype.kind == "f" else cast_to(input, _dtype.get_default_dtype().np)
    x = x.reshape(1, -1) if ndim < 2 else x
    observations = x._data.shape[1]
    weights = None
    if fweights is not None:
        _weights("fweights", fweights, "iu", "integral", observations)
        weights = fweights.to(x.dtype)
    if aweights is not None:
        _weights("aweights", aweights, "f", "floating point", observations)
        weights = aweights.to(x.dtype) if weights is None else weights * aweights.to(x.dtype)
    if weights is None:
        mean = x.mean(1, keepdim=True)
        factor = observations - correction
        if factor <= 0:
            warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number "
                          "of observations.", stacklevel=4)
            factor = 0
    else:
        total = weights.sum()
        mean = (x * weights).sum(1, keepdim=True) / total
        factor = total - correction if aweights is None or correction == 0 else \
            total - correction * (weights * aweights.to(x.dtype)).sum() / total
        # NOTE: as torch, a non-positive weighted count is taken as 0 (no value is read to warn about it).
        factor = clamp(factor, min=0)
    centred = x - mean
    out = matmul(centred if weights is None else centred * weights, centred.transpose(0, 1)) / factor
    return out.squeeze() if ndim < 2 else out


@public(methods=("corrcoef",))
def corrcoef(input: Tensor) -> Tensor:
    """Pearson's correlation coefficients of the variables in the rows of ``input`` (V, N): (V, V), clipped to
    ``[-1, 1]``; a 1-D input gives a 0-d 1 (NaN without variance).

    Example::

        >>> chainrule.corrcoef(chainrule.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.5]]))
        tensor([[ 1.0000, -0.9820],
                [-0.9820,  1.0000]])
    """
    c = cov(input)
    if c._data.ndim == 0:
        return c / c
    std = c.diagonal().sqrt()
    return clamp(c / std.unsqueeze(1) / std.unsqueeze(0), -1, 1)


__all__ = exports(__name__)
