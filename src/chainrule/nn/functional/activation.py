"""Activation functions (``relu``, ``gelu``, ``softmax``, ...) in torch's functional form.

Every one is a composite of differentiable ops. The piecewise ones are written with ``where`` on torch's own
conditions, so the gradient at a kink is torch's (e.g. ``hardtanh``'s is 0 at both bounds, ``hardswish``'s is
0 at -3 and 1 at 3). The in-place forms (``relu_``, ``elu_``, ...) and ``inplace=True`` write the result into
the input and return it.
"""

from __future__ import annotations

import math
import warnings

from ..._dtype import float64
from ...creation import rand
from ...ops import composites, elementwise
from ...ops.arith import where
from ...ops.inplace import apply_inplace
from ...tensor import Tensor, _normalize_dim

__all__ = ["relu", "relu_", "leaky_relu", "leaky_relu_", "elu", "elu_", "gelu", "silu", "softplus", "sigmoid",
           "tanh", "softmax", "log_softmax", "softmin", "relu6", "hardtanh", "hardtanh_", "hardsigmoid",
           "hardswish", "selu", "selu_", "celu", "celu_", "glu", "mish", "logsigmoid", "softsign", "softshrink",
           "hardshrink", "tanhshrink", "threshold", "threshold_", "prelu", "rrelu", "rrelu_", "gumbel_softmax"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _maybe_inplace(input: Tensor, inplace: bool, name: str, fn) -> Tensor:
    _check_tensor(name, input)
    return apply_inplace(input, name + "_", fn) if inplace else fn(input)


def _check_tensor(op: str, input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")


# -- rectifiers ----------------------------------------------------------------------------------------

def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)`` elementwise (the gradient at 0 is 0, as in torch)."""
    return _maybe_inplace(input, inplace, "relu", elementwise.relu)


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`."""
    return relu(input, inplace=True)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return _maybe_inplace(input, inplace, "leaky_relu", lambda x: elementwise.leaky_relu(x, negative_slope))


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, inplace=True)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    return _maybe_inplace(input, inplace, "elu", lambda x: elementwise.elu(x, alpha))


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`elu`."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with torch's self-normalising constants (alpha ~ 1.6733, scale ~ 1.0507)."""
    return _maybe_inplace(input, inplace, "selu", lambda x: elementwise.elu(x, _SELU_ALPHA) * _SELU_SCALE)


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x / alpha) - 1)`` elsewhere (continuously differentiable ELU)."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _maybe_inplace(input, inplace, "celu", lambda x: elementwise.elu(x / alpha, 1.0) * alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


def _hardtanh(x: Tensor, min_val: float, max_val: float) -> Tensor:
    # NOTE: torch's gradient is 1 strictly inside (min_val, max_val) and 0 at the bounds, where clamp's is 1;
    # outside, the clamped value is a constant (a detached clamp also keeps nan as nan).
    inside = (x > min_val) & (x < max_val)
    return where(inside, x, x.clamp(min_val, max_val).detach())


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` limited to ``[min_val, max_val]``; the gradient is 0 at the bounds, as in torch."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(input, inplace, "hardtanh", lambda x: _hardtanh(x, min_val, max_val))


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``: :func:`hardtanh` on ``[0, 6]``."""
    return _maybe_inplace(input, inplace, "relu6", lambda x: _hardtanh(x, 0.0, 6.0))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``: 0 below -3, 1 above 3, linear between (gradient 1/6 strictly inside)."""
    return _maybe_inplace(input, inplace, "hardsigmoid", lambda x: _hardtanh(x / 6 + 0.5, 0.0, 1.0))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``: 0 up to -3, ``x`` from 3 on (torch's gradients: 0 at -3, 1 at 3)."""
    return _maybe_inplace(input, inplace, "hardswish",
                          lambda x: where(x <= -3.0, 0.0, where(x < 3.0, x * (x + 3.0) / 6, x)))


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``."""
    return _maybe_inplace(input, inplace, "threshold", lambda x: where(x > threshold, x, value))


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`."""
    return globals()["threshold"](input, threshold, value, inplace=True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` where positive, ``weight * x`` elsewhere; ``weight`` has 1 element or one per channel (dim 1)."""
    _check_tensor("prelu", input)
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu(): argument 'weight' must be Tensor, not {type(weight).__name__}")
    if weight._data.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = "
                           f"{weight._data.ndim}")
    channels = input._data.shape[1] if input._data.ndim > 1 else 1
    count = weight._data.size
    if count != 1 and count != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                           f"{count} and channel size = {channels}.")
    if count != 1:
        weight = weight.reshape((channels,) + (1,) * (input._data.ndim - 2))
    return where(input > 0, input, weight * input)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomised leaky ReLU: slopes drawn uniformly from ``[lower, upper]`` per element in training (from
    chainrule's default generator), their mean ``(lower + upper) / 2`` in evaluation."""
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    _check_tensor("rrelu", input)
    slope = (lower + upper) / 2
    if training:
        # NOTE: drawn with chainrule.rand, so seeding and vmap's randomness modes apply as for dropout.
        slope = (rand(input._data.shape, dtype=float64) * (upper - lower) + lower).to(input.dtype)
    return _maybe_inplace(input, inplace, "rrelu", lambda x: where(x > 0, x, x * slope))


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    """In-place :func:`rrelu`."""
    return rrelu(input, lower, upper, training, inplace=True)


# -- smooth activations ---------------------------------------------------------------------------------

def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (also called swish)."""
    return _maybe_inplace(input, inplace, "silu", elementwise.silu)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` with ``Phi`` the standard normal CDF; ``approximate='tanh'`` uses the tanh formula."""
    return elementwise.gelu(input, approximate)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, exactly ``x`` where ``beta * x > threshold``."""
    return elementwise.softplus(input, beta, threshold)


def _log1p_exp(x: Tensor) -> Tensor:
    # NOTE: softplus with an infinite threshold is log(1 + exp(x)) computed without overflow everywhere.
    return elementwise.softplus(x, 1.0, math.inf)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    return _maybe_inplace(input, inplace, "mish", lambda x: x * _log1p_exp(x).tanh())


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, finite for large negative ``x``."""
    _check_tensor("logsigmoid", input)
    return -_log1p_exp(-input)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    _check_tensor("softsign", input)
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    _check_tensor("tanhshrink", input)
    return input - input.tanh()


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between (gradient 0 at ``+-lambd``)."""
    _check_tensor("softshrink", input)
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}.")
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0."""
    _check_tensor("hardshrink", input)
    return where((input > lambd) | (input < -lambd), input, 0.0)


sigmoid = elementwise.sigmoid
tanh = elementwise.tanh


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """The gated linear unit: split ``input`` in halves ``a, b`` along ``dim``, return ``a * sigmoid(b)``."""
    _check_tensor("glu", input)
    if input._data.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = _normalize_dim(dim, input._data.ndim, "glu")
    size = input._data.shape[d]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {size}")
    a, b = input.narrow(d, 0, size // 2), input.narrow(d, size // 2, size // 2)
    return a * b.sigmoid()


# -- softmax family ---------------------------------------------------------------------------------------

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


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-x)`` along ``dim``: the smallest entries get the most weight."""
    if dim is None:
        dim = _softmax_dim("softmin", input._data.ndim, _stacklevel)
    return composites.softmax(-(input if dtype is None else input.to(dtype)), dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: the log of :func:`softmax`, computed stably."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input._data.ndim, _stacklevel)
    return composites.log_softmax(input if dtype is None else input.to(dtype), dim)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """Softmax of ``(logits + g) / tau`` with Gumbel(0, 1) noise ``g`` (drawn from the default generator).

    ``hard=True`` returns one-hot vectors whose gradient is the soft sample's (the straight-through trick).
    """
    _check_tensor("gumbel_softmax", logits)
    uniform = rand(logits._data.shape, dtype=float64)
    # NOTE: -log(Exponential(1)) is Gumbel(0, 1); the exponential is -log(1 - U), U on [0, 1).
    gumbels = -(-(1 - uniform).log()).log().to(logits.dtype)
    soft = composites.softmax((logits + gumbels) / tau, dim)
    if not hard:
        return soft
    d = _normalize_dim(dim, soft._data.ndim, "gumbel_softmax")
    is_max = soft == soft.amax(d, keepdim=True)
    # NOTE: only the first maximum is set, as torch's scatter of the argmax index.
    first = is_max & (is_max.long().cumsum(d) == 1)
    hard_sample = where(first, 1.0, 0.0).to(soft.dtype)
    return hard_sample - soft.detach() + soft
