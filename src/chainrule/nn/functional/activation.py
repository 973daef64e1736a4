"""Activation functions (``relu``, ``gelu``, ``softmax``, ...) in torch's functional form."""

from __future__ import annotations

import warnings

from ...ops import composites, elementwise
from ...ops.inplace import apply_inplace
from ...tensor import Tensor

__all__ = ["relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "sigmoid", "tanh", "softmax",
           "log_softmax"]


def _maybe_inplace(input: Tensor, inplace: bool, name: str, fn) -> Tensor:
    return apply_inplace(input, name + "_", fn) if inplace else fn(input)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)`` elementwise (the gradient at 0 is 0, as in torch)."""
    return _maybe_inplace(input, inplace, "relu", elementwise.relu)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return _maybe_inplace(input, inplace, "leaky_relu", lambda x: elementwise.leaky_relu(x, negative_slope))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    return _maybe_inplace(input, inplace, "elu", lambda x: elementwise.elu(x, alpha))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (also called swish)."""
    return _maybe_inplace(input, inplace, "silu", elementwise.silu)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` with ``Phi`` the standard normal CDF; ``approximate='tanh'`` uses the tanh formula."""
    return elementwise.gelu(input, approximate)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, exactly ``x`` where ``beta * x > threshold``."""
    return elementwise.softplus(input, beta, threshold)


sigmoid = elementwise.sigmoid
tanh = elementwise.tanh


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    # NOTE: torch's legacy implicit dim: 0 for 0-, 1- and 3-D input, else 1 (with the same warning).
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                  "dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``: each slice becomes a probability distribution.

    ``dtype`` casts the input first (e.g. to float64 for accuracy).
    """
    if dim is None:
        dim = _softmax_dim("softmax", input._data.ndim, _stacklevel)
    return composites.softmax(input if dtype is None else input.to(dtype), dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: the log of :func:`softmax`, computed stably."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input._data.ndim, _stacklevel)
    return composites.log_softmax(input if dtype is None else input.to(dtype), dim)
