"""Unary elementwise ops, each declared by its local derivative alone.

``unary(name, forward, local, ...)`` declares a primitive whose VJP is ``g * local`` and whose JVP is
``x_t * local``: the local derivative d out / d x, written in chainrule ops from the input ``x``, the output
``out`` and the op's parameters. That is the lecture's "local gradient times upstream gradient", once. The
same call gives the op's doc, the local derivative as the lecture writes it (``text``), the gradient as flat
code (``code``) and the Tensor methods; everything that shows or generates the op reads them from there.
"""

from __future__ import annotations

import math

from .. import _backend, _dtype
from .._backend import ensure_array, xp
from ..tensor import Tensor, _wrap
from ._primitive import Param, Primitive, _camel, apply, batch_elementwise, describe, exports, public, records_nothing
from .arith import maximum, minimum, where
from .cast import as_tensor, cast_to, number_array
from .shape import int_arg

_SHAPE = "Shape: ``out`` has ``input``'s shape (any)."


def unary(name: str, forward, local, *, doc: str, text: str | None = None, code: str | None = None,
          gate: str | None = None, uses: tuple = ("x",), to_float: bool = True, params: tuple = (),
          methods: tuple | None = None, may_warn: bool = True, arithmetic: bool = False, module: str = __name__):
    """Declare an elementwise primitive by its forward on arrays and its local derivative.

    ``forward(x, **params) -> array``; ``local(x, out, **params) -> Tensor`` (d out / d x; None: not
    differentiable). ``uses`` says which of ``x`` and ``out`` the local derivative reads (only those are kept
    for backward). ``to_float``: integer inputs are computed in the default float dtype, as torch does for
    exp, log, sin, ... ``doc``: what it computes; ``text``: the local derivative as the lecture writes it
    (``{x}``, ``{out}`` and parameters as placeholders); ``code``: the downstream gradient as chainrule code in
    ``{g}``, ``{x}``, ``{out}``; ``methods``: the Tensor methods (default: the name); ``may_warn``: the forward
    can meet inf/nan (see :class:`Primitive`; False only for ops that never compute, such as ``neg``);
    ``arithmetic``: ``local`` is arithmetic of ``x``, ``out`` and numbers alone (no chainrule ops), so it runs on
    arrays too, and a backward pass that records nothing computes ``g * local`` on the arrays in one step;
    ``module``: the family module whose ``__all__`` lists the function (the caller's ``__name__``).
    Returns the function ``fn(input, **params)`` (``fn.op`` is the primitive); one without parameters is the
    op's public function, one with parameters is called by a public wrapper that validates them.
    """
    save_x, save_out = "x" in uses, "out" in uses

    def local_of(ctx) -> Tensor:
        return local(ctx.inputs[0] if save_x else None, ctx.output if save_out else None, **ctx.params)

    def vjp(ctx, g: Tensor) -> Tensor:
        if arithmetic and not params and records_nothing(g):
            # NOTE: the same products in the same order as the ops below, without dispatching each of them.
            local_array = local(ctx.inputs[0]._data if save_x else None, ctx.out if save_out else None)
            return _wrap(ensure_array(g._data * local_array))
        return g * local_of(ctx)

    op = type(_camel(name), (Primitive,), {
        "name": name, "save_inputs": save_x, "save_output": save_out, "params": params,
        "differentiable": local is not None, "doc": doc, "local": None if text is None else (text,),
        "backward_code": None if code is None else (code,), "gate": gate,
        "expression": "{cr}" + name + "({x}" + "".join(f", {p.name}={{{p.name}}}" for p in params) + ")",
        "methods": (name,) if methods is None else methods,
        # NOTE: the parameterless form skips a keyword-argument pass on the per-op hot path.
        "forward": staticmethod(lambda ctx, x, **p: forward(x, **p)) if params else
        staticmethod(lambda ctx, x: forward(x)),
        "vjp": staticmethod(vjp), "arithmetic_local": local if arithmetic and not params else None,
        "jvp": staticmethod(lambda ctx, x_t: x_t * local_of(ctx)),
        "batch_rule": classmethod(batch_elementwise), "may_warn": may_warn,
    })

    def fn(input, **p):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
        if to_float and input._data.dtype.kind != "f":
            input = cast_to(input, _dtype.get_default_dtype().np)
        return apply(op, (input,), **p)

    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = module
    fn.__doc__ = f"``{name}(input)``: {describe(op)}\n\n{_SHAPE}"
    fn.op = op
    return public(op)(fn) if not params else fn


def _sigmoid_array(x):
    # NOTE: e = exp(-|x|) lies in (0, 1], so nothing overflows: sigmoid(x) = 1 / (1 + e) for x >= 0 and
    # e / (1 + e) below, exactly 1 and 0 at +-1000. About 4x faster than exp(-logaddexp(0, -x)), and more accurate.
    e = xp.exp(-xp.abs(x))
    r = 1 / (1 + e)
    return xp.where(x >= 0, r, e * r).astype(x.dtype, copy=False)


neg = negative = unary("neg", xp.negative, lambda x, out: -1, uses=(), to_float=False, doc="``-x``.", text="-1",
                      code="-{g}", gate="*-1 gate: flips the sign of the gradient", methods=("neg", "negative"),
                      may_warn=False, arithmetic=True)
exp = unary("exp", xp.exp, lambda x, out: out, uses=("out",), doc="``e ** x``.", text="exp({x})",
            code="{out} * {g}", gate="exp gate: the local gradient is the output itself", arithmetic=True)
exp2 = unary("exp2", xp.exp2, lambda x, out: out * math.log(2), uses=("out",), doc="``2 ** x``.",
             text="2^{x} ln 2", arithmetic=True)
log = unary("log", xp.log, lambda x, out: x.reciprocal(), doc="The natural logarithm.", text="1/{x}",
            code="{g} / {x}", gate="log gate: local gradient 1/x")
log2 = unary("log2", xp.log2, lambda x, out: (x * math.log(2)).reciprocal(), doc="The base-2 logarithm.",
             text="1/({x} ln 2)")
log10 = unary("log10", xp.log10, lambda x, out: (x * math.log(10)).reciprocal(), doc="The base-10 logarithm.",
              text="1/({x} ln 10)")
log1p = unary("log1p", xp.log1p, lambda x, out: (x + 1).reciprocal(), doc="``log(1 + x)``, accurate near 0.",
              text="1/(1 + {x})")
expm1 = unary("expm1", xp.expm1, lambda x, out: out + 1, uses=("out",), doc="``e ** x - 1``, accurate near 0.",
              text="exp({x})", arithmetic=True)
sqrt = unary("sqrt", xp.sqrt, lambda x, out: 0.5 / out, uses=("out",), doc="The square root.",
             text="1/(2 sqrt({x}))", code="0.5 / {out} * {g}", gate="sqrt gate: local gradient 1/(2 sqrt(x))",
             arithmetic=True)
rsqrt = unary("rsqrt", lambda x: 1 / xp.sqrt(x), lambda x, out: -0.5 * out * out * out, uses=("out",),
              doc="``1 / sqrt(x)``.", text="-1/(2 {x}^(3/2))", arithmetic=True)
reciprocal = unary("reciprocal", lambda x: 1 / x, lambda x, out: -(out * out), uses=("out",), doc="``1 / x``.",
                   text="-1/{x}^2", code="-{g} / {x} ** 2", gate="1/x gate: local gradient -1/x^2", arithmetic=True)
square = unary("square", xp.square, lambda x, out: 2 * x, to_float=False, doc="``x * x``.", text="2 {x}",
               code="2 * {x} * {g}", arithmetic=True)
abs = unary("abs", xp.abs, lambda x, out: x.sign(), to_float=False, doc="``|x|``.", text="sign({x})",
            code="{cr}sign({x}) * {g}", methods=("abs", "absolute"))
sign = unary("sign", xp.sign, lambda x, out: x * 0, to_float=False, doc="-1, 0 or 1.", text="0", arithmetic=True)
sin = unary("sin", xp.sin, lambda x, out: x.cos(), doc="``sin x``.", text="cos({x})", code="{cr}cos({x}) * {g}")
cos = unary("cos", xp.cos, lambda x, out: -x.sin(), doc="``cos x``.", text="-sin({x})",
            code="-{cr}sin({x}) * {g}")
tan = unary("tan", xp.tan, lambda x, out: 1 + out * out, uses=("out",), doc="``tan x``.", text="1 + tan^2({x})",
            arithmetic=True)
tanh = unary("tanh", xp.tanh, lambda x, out: 1 - out * out, uses=("out",), doc="``tanh x``.", text="1 - {out}^2",
             code="(1 - {out} ** 2) * {g}", gate="tanh gate: local gradient 1 - tanh^2, read off the output",
             arithmetic=True)
sigmoid = unary("sigmoid", _sigmoid_array, lambda x, out: out * (1 - out), uses=("out",),
                doc="``1 / (1 + e ** -x)``, stable for large ``|x|``.", text="{out} * (1 - {out})",
                code="{out} * (1 - {out}) * {g}",
                gate="sigmoid gate: local gradient sigma * (1 - sigma), read off the output", arithmetic=True)
erf = unary("erf", _backend.erf, lambda x, out: (-(x * x)).exp() * (2 / math.sqrt(math.pi)),
            doc="The error function.", text="2/sqrt(pi) exp(-{x}^2)")
relu = unary("relu", lambda x: xp.maximum(x, 0).astype(x.dtype, copy=False), lambda x, out: out > 0, uses=("out",),
             to_float=False,
             doc="``max(x, 0)``.", text="[{x} > 0]", code="({x} > 0) * {g}",
             gate="relu gate: routes the gradient where the input is positive (a max with 0)", arithmetic=True)


def _leaky_relu_forward(x, negative_slope):
    return xp.where(x > 0, x, x * negative_slope).astype(x.dtype, copy=False)


_leaky_relu = unary("leaky_relu", _leaky_relu_forward,
                    # NOTE: the slope as a tensor of x's dtype: two Python numbers would make a float32 where,
                    # rounding float64 gradients.
                    lambda x, out, negative_slope: where(x > 0, 1.0, as_tensor(negative_slope, like=x)),
                    params=(Param("negative_slope", float, "the slope for x < 0"),),
                    doc="``x`` where positive, ``negative_slope * x`` elsewhere.",
                    text="1 if {x} > 0 else {negative_slope}")


@public(_leaky_relu.op)
def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return _leaky_relu(input, negative_slope=float(negative_slope))


def _elu_forward(x, alpha):
    return xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0))).astype(x.dtype, copy=False)


_elu = unary("elu", _elu_forward, lambda x, out, alpha: where(x > 0, 1.0, out + alpha), uses=("x", "out"),
             params=(Param("alpha", float, "the scale of the negative part"),),
             doc="``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere.", text="1 if {x} > 0 else {out} + {alpha}")


@public(_elu.op)
def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    return _elu(input, alpha=float(alpha))


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


_gelu = unary("gelu", _gelu_forward, _gelu_local, params=(Param("approximate", str, "'none' or 'tanh'"),),
              doc="Gaussian error linear unit ``x * Phi(x)``.", text="Phi({x}) + {x} phi({x})")


@public(_gelu.op)
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit ``x * Phi(x)``; ``approximate='tanh'`` uses the tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _gelu(input, approximate=approximate)


def _silu_local(x, out):
    s = x.sigmoid()
    return s * (1 + x * (1 - s))


silu = unary("silu", lambda x: x * _sigmoid_array(x), _silu_local, doc="``x * sigmoid(x)``.",
             text="s (1 + {x} (1 - s)), s = sigmoid({x})")


def _softplus_forward(x, beta, threshold):
    scaled = x * beta
    return xp.where(scaled > threshold, x, xp.logaddexp(0, scaled) / beta).astype(x.dtype, copy=False)


_softplus = unary("softplus", _softplus_forward,
                  lambda x, out, beta, threshold: where(x * beta > threshold, 1.0, (x * beta).sigmoid()),
                  params=(Param("beta", float, "the sharpness"), Param("threshold", float, "linear above it")),
                  doc="``log(1 + exp(beta * x)) / beta``, linear above ``threshold``.",
                  text="sigmoid({beta} {x})")


@public(_softplus.op)
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold`` (stable for large inputs)."""
    return _softplus(input, beta=float(beta), threshold=float(threshold))


def _clamp_forward(x, min, max):
    return xp.clip(x, min, max).astype(x.dtype, copy=False)


def _clamp_local(x, out, min, max):
    inside = x == x
    if min is not None:
        inside = inside & (x >= min)
    if max is not None:
        inside = inside & (x <= max)
    return inside


_NUMBER = (int, float, None)
_clamp = unary("clamp", _clamp_forward, _clamp_local, to_float=False,
               params=(Param("min", _NUMBER, "the lower bound"), Param("max", _NUMBER, "the upper bound")),
               doc="``x`` limited to ``[min, max]``.", text="[{x} inside the range]", methods=("clamp", "clip"))


@public(_clamp.op, aliases=("clip",))
def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Limit ``input`` to ``[min, max]`` (either may be None or a tensor); the gradient passes inside the range."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input if min is None else maximum(input, min)
        return out if max is None else minimum(out, max)
    for name, bound in (("min", min), ("max", max)):
        if isinstance(bound, int):
            number_array(bound, xp.int64)  # NOTE: refuses a bound beyond int64 (10**20) before NumPy overflows
        elif bound is not None and not isinstance(bound, (float, xp.number)):
            raise TypeError(f"clamp(): argument '{name}' must be Number or Tensor, not {type(bound).__name__}")
    return _clamp(input, min=min, max=max)


clip = clamp


def _piecewise_constant(name: str, forward, doc: str):
    # NOTE: flat almost everywhere, so the local derivative is 0 (torch gives zero gradients too).
    return unary(name, forward, lambda x, out: 0, uses=(), to_float=False, doc=doc, text="0")


def _predicate(name: str, forward, what: str):
    return unary(name, forward, None, uses=(), to_float=False,
                 doc=f"A bool tensor of ``input``'s shape, True where the element {what}.")


floor = _piecewise_constant("floor", xp.floor, "The largest integer <= ``x``.")
ceil = _piecewise_constant("ceil", xp.ceil, "The smallest integer >= ``x``.")
trunc = _piecewise_constant("trunc", xp.trunc, "``x`` rounded toward zero.")
isnan = _predicate("isnan", xp.isnan, "is NaN")
isinf = _predicate("isinf", xp.isinf, "is +-inf")
isfinite = _predicate("isfinite", xp.isfinite, "is finite")
logical_not = _predicate("logical_not", xp.logical_not, "is false")
_round = unary("round", lambda x, decimals: _round_half_even(x, decimals), lambda x, out, decimals: 0, uses=(),
               to_float=False, params=(Param("decimals", int, "how many decimal places"),),
               doc="Round half to even, as torch (zero gradient).", text="0")


def _round_half_even(x, decimals: int):
    return xp.round(x) if decimals == 0 else (xp.round(x * 10.0 ** decimals) / 10.0 ** decimals).astype(x.dtype)


@public(_round.op)
def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even, as torch (zero gradient); ``decimals`` places after the point."""
    return _round(input, decimals=int_arg(decimals, "round", "decimals"))


Tensor.__neg__ = neg
Tensor.__abs__ = abs

__all__ = exports(__name__)
