"""Unary elementwise ops, each declared by its local derivative alone.

``unary(name, forward, local)`` makes a primitive whose VJP is ``g * local`` and whose JVP is
``x_t * local``: the local derivative d out / d x, written in chainrule ops from the input ``x``, the output
``out`` and the op's parameters. That is the lecture's "local gradient times upstream gradient", once.
"""

from __future__ import annotations

import math

from .. import _backend, _dtype
from .._backend import xp
from ..tensor import Tensor
from ._primitive import Primitive, _camel, apply, batch_elementwise, cast_to, method
from .arith import maximum, minimum, where

__all__ = ["neg", "negative", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "abs", "sign", "sin", "cos", "tan",
           "tanh", "sigmoid", "relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "reciprocal", "clamp",
           "clip", "square", "log2", "log10", "exp2", "floor", "ceil", "round", "trunc", "isnan", "isinf",
           "isfinite", "logical_not", "erf"]


def unary(name: str, forward, local, *, uses: tuple = ("x",), to_float: bool = True):
    """Declare an elementwise primitive by its forward on arrays and its local derivative.

    ``forward(x, *params) -> array``; ``local(x, out, *params) -> Tensor`` (d out / d x). ``uses`` says which
    of ``x`` and ``out`` the local derivative reads (only those are kept for backward). ``to_float``: integer
    inputs are computed in the default float dtype, as torch does for exp, log, sin, ...
    Returns the public function ``fn(input, *params)``.
    """
    save_x, save_out = "x" in uses, "out" in uses

    def local_of(ctx) -> Tensor:
        return local(ctx.inputs[0] if save_x else None, ctx.output if save_out else None, *ctx.params)

    def op_forward(ctx, x, *params):
        ctx.params = params
        return forward(x, *params)

    op = type(_camel(name), (Primitive,), {
        "name": name, "save_inputs": save_x, "save_output": save_out,
        "differentiable": local is not None,
        "forward": staticmethod(op_forward),
        "vjp": staticmethod(lambda ctx, g: g * local_of(ctx)),
        "jvp": staticmethod(lambda ctx, x_t: x_t * local_of(ctx)),
        "batch_rule": classmethod(batch_elementwise),
    })

    def fn(input, *params):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
        if to_float and input._data.dtype.kind != "f":
            input = cast_to(input, _dtype.get_default_dtype().np)
        return apply(op, (input,), *params)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.op = op
    return fn


def _sigmoid_array(x):
    # NOTE: exp(-log(1 + exp(-x))) never overflows, so sigmoid(+-1000) is exactly 1 or 0.
    return xp.exp(-xp.logaddexp(0, -x)).astype(x.dtype, copy=False)


neg = negative = unary("neg", xp.negative, lambda x, out: -1, uses=(), to_float=False)
exp = unary("exp", xp.exp, lambda x, out: out, uses=("out",))
exp2 = unary("exp2", xp.exp2, lambda x, out: out * math.log(2), uses=("out",))
log = unary("log", xp.log, lambda x, out: x.reciprocal())
log2 = unary("log2", xp.log2, lambda x, out: (x * math.log(2)).reciprocal())
log10 = unary("log10", xp.log10, lambda x, out: (x * math.log(10)).reciprocal())
log1p = unary("log1p", xp.log1p, lambda x, out: (x + 1).reciprocal())
expm1 = unary("expm1", xp.expm1, lambda x, out: out + 1, uses=("out",))
sqrt = unary("sqrt", xp.sqrt, lambda x, out: 0.5 / out, uses=("out",))
rsqrt = unary("rsqrt", lambda x: 1 / xp.sqrt(x), lambda x, out: -0.5 * out * out * out, uses=("out",))
reciprocal = unary("reciprocal", lambda x: 1 / x, lambda x, out: -(out * out), uses=("out",))
square = unary("square", xp.square, lambda x, out: 2 * x, to_float=False)
abs = unary("abs", xp.abs, lambda x, out: x.sign(), to_float=False)
sign = unary("sign", xp.sign, lambda x, out: x * 0, to_float=False)
sin = unary("sin", xp.sin, lambda x, out: x.cos())
cos = unary("cos", xp.cos, lambda x, out: -x.sin())
tan = unary("tan", xp.tan, lambda x, out: 1 + out * out, uses=("out",))
tanh = unary("tanh", xp.tanh, lambda x, out: 1 - out * out, uses=("out",))
sigmoid = unary("sigmoid", _sigmoid_array, lambda x, out: out * (1 - out), uses=("out",))
erf = unary("erf", _backend.erf, lambda x, out: (-(x * x)).exp() * (2 / math.sqrt(math.pi)))
relu = unary("relu", lambda x: xp.maximum(x, 0).astype(x.dtype, copy=False), lambda x, out: x > 0, to_float=False)


def _leaky_relu_forward(x, slope):
    return xp.where(x > 0, x, x * slope).astype(x.dtype, copy=False)


_leaky_relu = unary("leaky_relu", _leaky_relu_forward, lambda x, out, slope: where(x > 0, 1.0, slope))


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return _leaky_relu(input, float(negative_slope))


def _elu_forward(x, alpha):
    return xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0))).astype(x.dtype, copy=False)


_elu = unary("elu", _elu_forward, lambda x, out, alpha: where(x > 0, 1.0, out + alpha), uses=("x", "out"))


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    return _elu(input, float(alpha))


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _gelu_forward(x, approximate):
    if approximate == "tanh":
        return (0.5 * x * (1 + xp.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))).astype(x.dtype)
    return (0.5 * x * (1 + _backend.erf(x * _SQRT_HALF))).astype(x.dtype, copy=False)


def _gelu_local(x, out, approximate):
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        inner = k * (x + 0.044715 * x * x * x)
        t = inner.tanh()
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
    cdf = 0.5 * (1 + erf(x * _SQRT_HALF))
    return cdf + x * (-(x * x) * 0.5).exp() * _INV_SQRT_2PI


_gelu = unary("gelu", _gelu_forward, _gelu_local)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit ``x * Phi(x)``; ``approximate='tanh'`` uses the tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _gelu(input, approximate)


def _silu_local(x, out):
    s = x.sigmoid()
    return s * (1 + x * (1 - s))


silu = unary("silu", lambda x: x * _sigmoid_array(x), _silu_local)


def _softplus_forward(x, beta, threshold):
    scaled = x * beta
    return xp.where(scaled > threshold, x, xp.logaddexp(0, scaled) / beta).astype(x.dtype, copy=False)


_softplus = unary("softplus", _softplus_forward,
                  lambda x, out, beta, threshold: where(x * beta > threshold, 1.0, (x * beta).sigmoid()))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold`` (stable for large inputs)."""
    return _softplus(input, float(beta), float(threshold))


def _clamp_forward(x, lo, hi):
    return xp.clip(x, lo, hi).astype(x.dtype, copy=False)


def _clamp_local(x, out, lo, hi):
    inside = x == x
    if lo is not None:
        inside = inside & (x >= lo)
    if hi is not None:
        inside = inside & (x <= hi)
    return inside


_clamp = unary("clamp", _clamp_forward, _clamp_local, to_float=False)


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Limit ``input`` to ``[min, max]`` (either may be None or a tensor); the gradient passes inside the range."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input if min is None else maximum(input, min)
        return out if max is None else minimum(out, max)
    return _clamp(input, min, max)


clip = clamp


def _piecewise_constant(name: str, forward):
    # NOTE: flat almost everywhere, so the local derivative is 0 (torch gives zero gradients too).
    return unary(name, forward, lambda x, out: 0, uses=(), to_float=False)


def _predicate(name: str, forward):
    return unary(name, forward, None, uses=(), to_float=False)


floor = _piecewise_constant("floor", xp.floor)
ceil = _piecewise_constant("ceil", xp.ceil)
trunc = _piecewise_constant("trunc", xp.trunc)
_round = _piecewise_constant("round", xp.round)
isnan = _predicate("isnan", xp.isnan)
isinf = _predicate("isinf", xp.isinf)
isfinite = _predicate("isfinite", xp.isfinite)
logical_not = _predicate("logical_not", xp.logical_not)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even, as torch (zero gradient)."""
    return _round(input) if decimals == 0 else _round(input * 10 ** decimals) / 10 ** decimals


# What each op computes and its local derivative d out / d x: the factor backward multiplies the upstream
# gradient by (and forward mode the tangent).
_DOCS = {
    neg: ("-x", "-1"), exp: ("e ** x", "out"), exp2: ("2 ** x", "out * ln 2"), log: ("the natural logarithm", "1 / x"),
    log2: ("the base-2 logarithm", "1 / (x ln 2)"), log10: ("the base-10 logarithm", "1 / (x ln 10)"),
    log1p: ("log(1 + x), accurate near 0", "1 / (1 + x)"), expm1: ("e ** x - 1, accurate near 0", "out + 1"),
    sqrt: ("the square root", "0.5 / out"), rsqrt: ("1 / sqrt(x)", "-0.5 * out ** 3"),
    reciprocal: ("1 / x", "-out ** 2"), square: ("x * x", "2 x"), abs: ("|x|", "sign(x) (0 at 0)"),
    sign: ("-1, 0 or 1", "0"), sin: ("sin x", "cos x"), cos: ("cos x", "-sin x"), tan: ("tan x", "1 + out ** 2"),
    tanh: ("tanh x", "1 - out ** 2"), sigmoid: ("1 / (1 + e ** -x), stable for large |x|", "out * (1 - out)"),
    erf: ("the error function", "2 / sqrt(pi) * e ** -x**2"), relu: ("max(x, 0)", "1 where x > 0, else 0"),
    silu: ("x * sigmoid(x)", "s * (1 + x * (1 - s)) with s = sigmoid(x)"),
    floor: ("the largest integer <= x", "0"), ceil: ("the smallest integer >= x", "0"),
    trunc: ("x rounded toward zero", "0"),
}
for _fn, (_what, _local) in _DOCS.items():
    _fn.__doc__ = (f"``{_fn.__name__}(input)``: {_what}, elementwise.\n\nShape: ``out`` has ``input``'s shape (any).\n"
                   f"Local derivative d out / d x = {_local}.")
for _fn, _what in ((isnan, "is NaN"), (isinf, "is +-inf"), (isfinite, "is finite"), (logical_not, "is false")):
    _fn.__doc__ = f"``{_fn.__name__}(input)``: a bool tensor of ``input``'s shape, True where the element {_what}."

for _fn in (neg, exp, exp2, log, log2, log10, log1p, expm1, sqrt, rsqrt, reciprocal, square, abs, sign, sin, cos,
            tan, tanh, sigmoid, relu, floor, ceil, trunc, round, isnan, isinf, isfinite, logical_not, clamp, erf):
    method(_fn.__name__)(_fn)
method("negative")(neg)
method("clip")(clamp)
method("absolute")(abs)
Tensor.__neg__ = neg
Tensor.__abs__ = abs
Tensor.__invert__ = logical_not
