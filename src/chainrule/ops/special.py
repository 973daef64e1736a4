"""Special and further elementwise maths: inverse and hyperbolic trig, the gamma family, logit, sinc, the
smooth binary ops (atan2, xlogy, hypot, logaddexp, ...) and the composites lerp, addcmul, addcdiv,
float_power, ldexp.

Unary ops are declared by their local derivative (``unary``); binary ones by their two local derivatives
(:class:`LocalBinary`). The special functions' forwards (erfc, erfinv, lgamma, digamma, polygamma) are in
``_special_math``, in NumPy alone.
"""

from __future__ import annotations

import math

from .. import _dtype
from .._backend import xp
from ..tensor import Tensor
from . import _special_math
from ._primitive import Param, exports, method, public
from .arith import Binary, add, apply_broadcasting, mul, pow, sub, where
from .cast import cast_to, promote
from .elementwise import unary
from .inplace import apply_inplace, inplace_method
from .shape import int_arg

_SQRT_PI = math.sqrt(math.pi)


# -- argument checks shared with ops/logical.py ----------------------------------------------------------

def require_tensors(op: str, *named) -> None:
    """Raise torch's TypeError for an argument that must be a tensor: ``named`` are ``(name, value)`` in
    positional order."""
    for position, (name, value) in enumerate(named, start=1):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}(): argument '{name}' (position {position}) must be Tensor, not "
                            f"{type(value).__name__}")


def require_kinds(op: str, kinds: str, what: str, *tensors: Tensor) -> None:
    """Raise torch's NotImplementedError for a dtype the op has no kernel for (``kinds``: NumPy dtype kinds)."""
    for t in tensors:
        if t._data.dtype.kind not in kinds:
            raise NotImplementedError(f'"{op}" not implemented for {t.dtype} tensors: it takes {what} tensors')


def common_dtype(op: str, input, other, *, to_float: bool = False) -> tuple:
    """``input`` and ``other`` (tensors or numbers) as tensors of torch's result dtype (promote leaves a bool mask
    beside a float tensor as it is; here both are cast); ``to_float``: integer results in the default float dtype
    (as torch computes atan2, xlogy, ... of integers)."""
    x, y = promote(input, other, op)
    target = _dtype.result_type(x, y).np
    if to_float and target.kind != "f":
        target = _dtype.get_default_dtype().np
    return cast_to(x, target), cast_to(y, target)


def _aliases(fn, *names: str) -> None:
    """List ``fn`` under torch's alias ``names`` too (``arcsin`` for ``asin``); the methods come with ``fn``."""
    for alias in names:
        public(name=alias)(fn)


# -- unary: inverse and hyperbolic trig -----------------------------------------------------------------

asin = unary("asin", xp.arcsin, lambda x, out: (1 - x * x).rsqrt(), doc="The inverse sine.",
             text="1/sqrt(1 - {x}^2)", methods=("asin", "arcsin"), module=__name__)
acos = unary("acos", xp.arccos, lambda x, out: -(1 - x * x).rsqrt(), doc="The inverse cosine.",
             text="-1/sqrt(1 - {x}^2)", methods=("acos", "arccos"), module=__name__)
atan = unary("atan", xp.arctan, lambda x, out: (1 + x * x).reciprocal(), doc="The inverse tangent.",
             text="1/(1 + {x}^2)", methods=("atan", "arctan"), module=__name__)
sinh = unary("sinh", xp.sinh, lambda x, out: x.cosh(), doc="The hyperbolic sine.", text="cosh({x})",
             module=__name__)
cosh = unary("cosh", xp.cosh, lambda x, out: x.sinh(), doc="The hyperbolic cosine.", text="sinh({x})",
             module=__name__)
asinh = unary("asinh", xp.arcsinh, lambda x, out: (x * x + 1).rsqrt(), doc="The inverse hyperbolic sine.",
              text="1/sqrt({x}^2 + 1)", methods=("asinh", "arcsinh"), module=__name__)
acosh = unary("acosh", xp.arccosh, lambda x, out: (x * x - 1).rsqrt(), doc="The inverse hyperbolic cosine.",
              text="1/sqrt({x}^2 - 1)", methods=("acosh", "arccosh"), module=__name__)
atanh = unary("atanh", xp.arctanh, lambda x, out: (1 - x * x).reciprocal(), doc="The inverse hyperbolic tangent.",
              text="1/(1 - {x}^2)", methods=("atanh", "arctanh"), module=__name__)
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
for _fn in (asin, acos, atan, asinh, acosh, atanh):
    _aliases(_fn, "arc" + _fn.__name__[1:])


# -- unary: the error and gamma families ----------------------------------------------------------------

erfc = unary("erfc", _special_math.erfc, lambda x, out: (-(x * x)).exp() * (-2 / _SQRT_PI),
             doc="The complementary error function ``1 - erf(x)`` (accurate where it is tiny).",
             text="-2/sqrt(pi) exp(-{x}^2)", module=__name__)
erfinv = unary("erfinv", _special_math.erfinv, lambda x, out: (out * out).exp() * (_SQRT_PI / 2), uses=("out",),
               doc="The inverse error function on [-1, 1] (+-inf at +-1, nan outside).",
               text="sqrt(pi)/2 exp({out}^2)", module=__name__)
lgamma = unary("lgamma", _special_math.lgamma, lambda x, out: digamma(x), doc="``log |Gamma(x)|``.",
               text="digamma({x})", module=__name__)
digamma = unary("digamma", _special_math.digamma, lambda x, out: _polygamma(x, n=1),
                doc="The digamma function ``d/dx lgamma(x)``.", text="polygamma(1, {x})", module=__name__)
_polygamma = unary("polygamma", lambda x, n: _special_math.polygamma(n, x),
                   lambda x, out, n: _polygamma(x, n=n + 1), params=(Param("n", int, "the order, >= 0"),),
                   doc="The ``n``-th derivative of digamma.", text="polygamma({n} + 1, {x})", methods=(),
                   module=__name__)


@public(_polygamma.op)
def polygamma(n: int, input: Tensor) -> Tensor:
    """The ``n``-th derivative of the digamma function, ``(-1)^(n+1) n! zeta(n + 1, x)`` for ``n >= 1``
    (``polygamma(0, x)`` is ``digamma(x)``); integer inputs give the default float dtype.

    Shape: ``out`` has ``input``'s shape. Example: ``chainrule.polygamma(1, chainrule.tensor([1.0]))`` is
    ``pi^2 / 6``."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    n = int_arg(n, "polygamma", "n")
    if n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n, got n={n}")
    return _polygamma(input, n=n)


@method("polygamma")
def _polygamma_method(self: Tensor, n: int) -> Tensor:
    return polygamma(n, self)


# -- unary: logit, sinc, frac, angles, nan_to_num -------------------------------------------------------

def _logit_forward(x, eps):
    if eps is not None and eps >= 0:
        # NOTE: torch's clamp: below eps gives eps, else above 1 - eps gives 1 - eps (also when eps > 1/2).
        x = xp.where(x < eps, eps, xp.where(x > 1 - eps, 1 - eps, x)).astype(x.dtype, copy=False)
    return xp.log(x / (1 - x)).astype(x.dtype, copy=False)


def _logit_local(x, out, eps):
    slope = (x * (1 - x)).reciprocal()
    if eps is not None and eps >= 0:
        # NOTE: as torch: zero gradient where the input was clamped or is NaN (the bounds themselves pass it).
        return where((x >= eps) & (x <= 1 - eps), slope, 0.0)
    return where((x < 0) | (x > 1), math.nan, slope)


_logit = unary("logit", _logit_forward, _logit_local, params=(Param("eps", (float, None), "the clamp, or None"),),
               doc="``log(x / (1 - x))``, the input first clamped to ``[eps, 1 - eps]`` when ``eps`` is given.",
               text="1/({x} (1 - {x}))", module=__name__)


@public(_logit.op)
def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """``log(x / (1 - x))``; with ``eps`` the input is clamped to ``[eps, 1 - eps]`` first (a negative ``eps`` is
    ignored, as in torch) and the gradient is 0 where it was clamped.

    Shape: ``out`` has ``input``'s shape; integer inputs give the default float dtype."""
    return _logit(input, eps=None if eps is None else float(eps))


_PI2 = math.pi ** 2


def _sinc_local(x, out):
    # NOTE: (cos(pi x) - sinc(x)) / x cancels near 0, so there its Taylor series (0 at x = 0, as torch) takes
    # over; the safe divisor keeps the branch not taken finite (a nan there would leak into second derivatives).
    small = x.abs() < 0.01
    x2 = x * x
    series = x * _PI2 * (-1 / 3 + x2 * _PI2 * (1 / 30 - x2 * _PI2 / 840))
    safe = where(small, 1.0, x)
    return where(small, series, ((x * math.pi).cos() - out) / safe)


def _sinc_forward(x):
    # NOTE: NumPy's sinc formula, written here so that its floating-point reports come from chainrule's frame
    y = math.pi * xp.where(x == 0, 1.0e-20, x)
    return xp.sin(y) / y


sinc = unary("sinc", _sinc_forward, _sinc_local, uses=("x", "out"), doc="``sin(pi x) / (pi x)``, 1 at 0.",
             text="(cos(pi {x}) - sinc({x})) / {x}", module=__name__)


def _frac_forward(x):
    if x.dtype.kind != "f":
        raise NotImplementedError(f'"frac" not implemented for {x.dtype} tensors: it takes floating-point tensors')
    return x - xp.trunc(x)


frac = unary("frac", _frac_forward, lambda x, out: 1, uses=(), to_float=False,
             doc="The fractional part ``x - trunc(x)`` (floating-point tensors only).", text="1", module=__name__,
             arithmetic=True)
deg2rad = unary("deg2rad", xp.deg2rad, lambda x, out: math.pi / 180, uses=(), doc="Degrees to radians.",
                text="pi/180", module=__name__, arithmetic=True)
rad2deg = unary("rad2deg", xp.rad2deg, lambda x, out: 180 / math.pi, uses=(), doc="Radians to degrees.",
                text="180/pi", module=__name__, arithmetic=True)


def _nan_to_num_forward(x, nan, posinf, neginf):
    if x.dtype.kind != "f":
        return x.copy()
    return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


_NUMBER = (int, float, None)
_nan_to_num = unary("nan_to_num", _nan_to_num_forward, lambda x, out, nan, posinf, neginf: x.isfinite(),
                    to_float=False, params=(Param("nan", (int, float), "replaces NaN"),
                                            Param("posinf", _NUMBER, "replaces +inf (None: the largest finite)"),
                                            Param("neginf", _NUMBER, "replaces -inf (None: the lowest finite)")),
                    doc="``x`` with NaN, +inf and -inf replaced by finite numbers.", text="[{x} is finite]",
                    module=__name__)


@public(_nan_to_num.op)
def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """``input`` with NaN replaced by ``nan``, +inf by ``posinf`` and -inf by ``neginf`` (None: the dtype's
    largest / lowest finite value); integer and bool tensors are returned as a copy. The gradient passes where
    the input is finite (0 elsewhere, as torch).

    Shape: ``out`` has ``input``'s shape and dtype."""
    return _nan_to_num(input, nan=nan, posinf=posinf, neginf=neginf)


# -- binary ops declared by their local derivatives ---------------------------------------------------------

class LocalBinary(Binary):
    """A broadcasting binary op declared by its two local derivatives: ``partials(x, y, out)`` returns
    ``(d out / d x, d out / d y)`` as tensors or numbers; the VJP is ``g * partial`` per input and the JVP
    ``x_t * d_x + y_t * d_y``, both in chainrule ops (so they differentiate again)."""

    save_inputs = True
    may_warn = True
    partials = None

    @classmethod
    def _partials(cls, ctx) -> tuple:
        x, y = ctx.inputs
        return cls.partials(x, y, ctx.output if cls.save_output else None)

    @classmethod
    def vjp(cls, ctx, g):
        d_x, d_y = cls._partials(ctx)
        return g * d_x, g * d_y

    @classmethod
    def jvp(cls, ctx, x_t, y_t):
        d_x, d_y = cls._partials(ctx)
        return x_t * d_x + y_t * d_y


def _local_binary(name: str, forward, partials, *, doc: str, local: tuple, uses_out: bool = False,
            methods: tuple | None = None) -> type:
    return type("".join(p.title() for p in name.split("_")), (LocalBinary,), {
        "name": name, "doc": doc, "local": local, "save_output": uses_out,
        "expression": "{cr}" + name + "({x}, {y})", "methods": (name,) if methods is None else methods,
        "forward": staticmethod(lambda ctx, x, y: forward(x, y)), "partials": staticmethod(partials)})


def _safe(t: Tensor, bad: Tensor) -> Tensor:
    """``t`` with 1 where ``bad``: a divisor for the branch of a where that is not taken."""
    return where(bad, 1.0, t)


def _atan2_partials(x, y, out):
    # NOTE: 0 at the origin, as torch.
    r2 = x * x + y * y
    origin = r2 == 0
    inv = where(origin, 0.0, _safe(r2, origin).reciprocal())
    return y * inv, -x * inv


def _xlogy_forward(x, y):
    return xp.where((x == 0) & ~xp.isnan(y), 0, x * xp.log(y)).astype(x.dtype, copy=False)


def _xlogy_partials(x, y, out):
    # NOTE: as torch: d/dx = log(y), but 0 where x = 0 and y <= 0 (the forward's limit); d/dy = x / y.
    limit = (x == 0) & (y <= 0)
    return where(limit, 0.0, _safe(y, limit).log()), x / y


Atan2 = _local_binary("atan2", xp.arctan2, _atan2_partials, methods=("atan2", "arctan2"),
                      doc="The angle of the point ``(y, x)``: ``atan(x / y)`` in the right quadrant.",
                      local=("{y}/({x}^2 + {y}^2)", "-{x}/({x}^2 + {y}^2)"))
Xlogy = _local_binary("xlogy", _xlogy_forward, _xlogy_partials,
                      doc="``x * log(y)``, 0 where ``x`` is 0 (unless y is NaN).", local=("log({y})", "{x}/{y}"))
Hypot = _local_binary("hypot", xp.hypot, lambda x, y, out: (x / out, y / out), uses_out=True,
                      doc="``sqrt(x^2 + y^2)`` without overflow.", local=("{x}/{out}", "{y}/{out}"))
Logaddexp = _local_binary("logaddexp", xp.logaddexp,
                          lambda x, y, out: ((1 + (y - x).exp()).reciprocal(), (1 + (x - y).exp()).reciprocal()),
                          doc="``log(exp(x) + exp(y))``, stable.",
                          local=("1/(1 + exp({y} - {x}))", "1/(1 + exp({x} - {y}))"))
Logaddexp2 = _local_binary("logaddexp2", xp.logaddexp2,
                           lambda x, y, out: ((1 + (y - x).exp2()).reciprocal(), (1 + (x - y).exp2()).reciprocal()),
                           doc="``log2(2^x + 2^y)``, stable.",
                           local=("1/(1 + 2^({y} - {x}))", "1/(1 + 2^({x} - {y}))"))
Copysign = _local_binary("copysign", xp.copysign, lambda x, y, out: (where(x == 0, 0.0, out / _safe(x, x == 0)), 0),
                         uses_out=True, doc="``|x|`` with the sign of ``y``.", local=("sign({x}) sign({y})", "0"))
# NOTE: as torch, the gradient passes to x except where x == y (the result is y there).
Nextafter = _local_binary("nextafter", xp.nextafter, lambda x, y, out: (x != y, 0),
                          doc="The next floating-point value after ``x`` toward ``y``.", local=("[{x} != {y}]", "0"))


def _fmax_partials(x, y, out):
    # NOTE: as torch: x gets the whole gradient where it wins, ties and y = NaN included; y gets it elsewhere.
    x_wins = (x >= y) | y.isnan()
    return x_wins, x_wins.logical_not()


def _fmin_partials(x, y, out):
    x_wins = (x <= y) | y.isnan()
    return x_wins, x_wins.logical_not()


Fmax = _local_binary("fmax", xp.fmax, _fmax_partials,
                     doc="The larger of ``x`` and ``y``, ignoring NaN (NaN only where both are).",
                     local=("[{x} >= {y} or {y} is nan]", "[{y} > {x} or {x} is nan]"))
Fmin = _local_binary("fmin", xp.fmin, _fmin_partials,
                     doc="The smaller of ``x`` and ``y``, ignoring NaN (NaN only where both are).",
                     local=("[{x} <= {y} or {y} is nan]", "[{y} < {x} or {x} is nan]"))


def binary_function(op, *, numbers: tuple = (False, False), to_float: bool = False, kinds: str | None = None,
                    kinds_doc: str = "", module: str = __name__, doc: str):
    """The public function of a broadcasting binary primitive, with torch's argument rules: ``numbers`` says
    which of ``input`` and ``other`` may be Python numbers; ``to_float`` computes integer operands in the
    default float dtype; ``kinds`` are the NumPy dtype kinds it has kernels for (``kinds_doc`` in words)."""
    name = op.name

    def fn(input, other):
        require_tensors(name, *[(arg, value) for arg, value, number in
                                (("input", input, numbers[0]), ("other", other, numbers[1])) if not number])
        if not isinstance(input, Tensor) and not isinstance(other, Tensor):
            require_tensors(name, ("input", input))
        x, y = common_dtype(name, input, other, to_float=to_float)
        if kinds is not None:
            require_kinds(name, kinds, kinds_doc, x)
        return apply_broadcasting(op, name, x, y)
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = module
    fn.__doc__ = (f"{doc}\n\nShapes: ``input`` and ``other`` broadcast together; ``out`` has the broadcast shape "
                  "and torch's promoted dtype.")
    return public(op)(fn)


atan2 = arctan2 = binary_function(Atan2, to_float=True, doc="``atan2(input, other)``: the angle of the point "
                                  "``(other, input)``, in ``(-pi, pi]``; integers give the default float dtype.")
_aliases(atan2, "arctan2")
xlogy = binary_function(Xlogy, numbers=(True, True), to_float=True,
                        doc="``input * log(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN).")
hypot = binary_function(Hypot, kinds="f", kinds_doc="floating-point",
                        doc="``sqrt(input^2 + other^2)``, computed without overflow.")
logaddexp = binary_function(Logaddexp, kinds="f", kinds_doc="floating-point",
                            doc="``log(exp(input) + exp(other))``, computed without overflow.")
logaddexp2 = binary_function(Logaddexp2, kinds="f", kinds_doc="floating-point",
                             doc="``log2(2^input + 2^other)``, computed without overflow.")
copysign = binary_function(Copysign, numbers=(False, True), to_float=True,
                           doc="``|input|`` with the sign of ``other`` (signed zeros count); the gradient goes to "
                               "``input`` only.")
nextafter = binary_function(Nextafter, kinds="f", kinds_doc="floating-point",
                            doc="The next representable value after ``input`` toward ``other``.")
fmax = binary_function(Fmax, doc="The elementwise maximum, ignoring NaN: NaN only where both are NaN.")
fmin = binary_function(Fmin, doc="The elementwise minimum, ignoring NaN: NaN only where both are NaN.")


# -- composites ---------------------------------------------------------------------------------------------

@public(methods=("ldexp",))
def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """``input * 2 ** other``; integer inputs give the default float dtype.

    Shapes: ``input`` and ``other`` broadcast together."""
    require_tensors("ldexp", ("input", input), ("other", other))
    x, y = common_dtype("ldexp", input, other, to_float=True)
    return mul(x, pow(2.0, y))


@public(methods=("float_power",))
def float_power(input, exponent) -> Tensor:
    """``input ** exponent`` computed in float64 (the result is float64 whatever the inputs).

    Shapes: ``input`` and ``exponent`` (tensors or Python numbers) broadcast together."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        require_tensors("float_power", ("input", input))
    base = cast_to(input, xp.float64) if isinstance(input, Tensor) else float(input)
    power = cast_to(exponent, xp.float64) if isinstance(exponent, Tensor) else float(exponent)
    if not isinstance(base, Tensor):
        base = cast_to(base, xp.float64)
    return pow(base, power)


@public(methods=("lerp",))
def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """``input + weight * (end - input)``; ``weight`` is a number or a tensor. ``input``, ``end`` and a tensor
    ``weight`` of more than 0 dims must share one floating dtype, as in torch.

    Shapes: ``input``, ``end`` and ``weight`` broadcast together."""
    require_tensors("lerp", ("input", input), ("end", end))
    for name, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor) and t._data.dtype != input._data.dtype and (name == "end" or t._data.ndim):
            raise RuntimeError(f"lerp: expected dtype {input.dtype} for `{name}` but got dtype {t.dtype}")
    require_kinds("lerp", "f", "floating-point", input)
    # NOTE: torch's two branches, exact at weight 0 (input) and 1 (end): input + w (end - input) for |w| < 1/2,
    # else end + (w - 1) (end - input); written as base + c * diff so that no branch not taken multiplies an
    # infinite diff by a zero gradient.
    diff = sub(end, input)
    if not isinstance(weight, Tensor):
        near_input = abs(weight) < 0.5
        return add(input if near_input else end, mul(diff, weight if near_input else weight - 1))
    weight = cast_to(weight, input._data.dtype)
    near_input = weight.abs() < 0.5
    return add(where(near_input, input, end), mul(diff, where(near_input, weight, weight - 1)))


def _scaled(t: Tensor, value, other: Tensor) -> Tensor:
    """``value * t``; ``value`` is truncated to an integer when ``t`` and ``other`` promote to an integral dtype
    (as torch)."""
    if isinstance(value, Tensor):  # NOTE: never read in Python (a compiled step keeps it a value of the program)
        return mul(t, value)
    if value == 1:
        return t
    return mul(t, int(value) if _dtype.result_type(t, other).np.kind in "biu" else value)


@public(methods=("addcmul",))
def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``input + value * tensor1 * tensor2``.

    Shapes: the three tensors broadcast together; ``out`` has the broadcast shape and their promoted dtype."""
    require_tensors("addcmul", ("input", input), ("tensor1", tensor1), ("tensor2", tensor2))
    product = mul(tensor1, tensor2)
    return add(input, _scaled(product, value, input))


@public(methods=("addcdiv",))
def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``input + value * tensor1 / tensor2`` (true division; integer ``tensor1`` and ``tensor2`` are refused, as
    in torch).

    Shapes: the three tensors broadcast together; ``out`` has the broadcast shape and their promoted dtype."""
    require_tensors("addcdiv", ("input", input), ("tensor1", tensor1), ("tensor2", tensor2))
    if tensor1._data.dtype.kind in "biu" and tensor2._data.dtype.kind in "biu":
        raise RuntimeError("addcdiv: integer division with addcdiv is not supported (tensor1 is "
                           f"{tensor1.dtype} and tensor2 is {tensor2.dtype}); use "
                           "input + value * torch.div(tensor1, tensor2, rounding_mode=...) for integer division")
    quotient = tensor1 / tensor2
    return add(input, _scaled(quotient, value, input))


# -- in-place forms ---------------------------------------------------------------------------------------

for _fn in (asin, acos, atan, sinh, cosh, asinh, acosh, atanh, erfc, erfinv, lgamma, digamma, sinc, frac,
            deg2rad, rad2deg, logit, nan_to_num, atan2, xlogy, hypot, copysign, nextafter, ldexp, lerp, addcmul,
            addcdiv):
    inplace_method(_fn.__name__ + "_", _fn)
for _fn in (asin, acos, atan, asinh, acosh, atanh, atan2):
    inplace_method("arc" + _fn.__name__[1:] + "_", _fn)
inplace_method("polygamma_", _polygamma_method)


def _float_power_(self: Tensor, exponent) -> Tensor:
    """In-place ``float_power``: only a float64 tensor can hold the result (torch's rule)."""
    if self._data.dtype != xp.float64:
        raise RuntimeError(f"float_power_: the base given to float_power_ has dtype {self.dtype} but the "
                           "operation's result requires dtype torch.float64")
    return apply_inplace(self, "float_power_", lambda x: float_power(x, exponent), exponent)


method("float_power_")(_float_power_)

__all__ = exports(__name__)
