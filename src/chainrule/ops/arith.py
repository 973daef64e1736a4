"""Binary elementwise arithmetic, comparisons and the Python operators that reach them.

All of these broadcast; the engine sums each gradient back to its input's shape (``broadcasts = True``).
"""

from __future__ import annotations

from .. import _dtype, _state
from .._backend import ensure_array, ndarray, xp
from ..tensor import Tensor, _wrap
from ._primitive import (
    _NO_PARAMS,
    Param,
    Primitive,
    _camel,
    apply,
    batch_elementwise,
    eager,
    exports,
    method,
    public,
    records_nothing,
)
from .cast import as_tensor, cast_to, number_array, promote


def check_broadcast(op: str, *tensors: Tensor) -> None:
    """Raise torch's RuntimeError, naming ``op`` and the shapes, when ``tensors`` do not broadcast together."""
    shapes = [tuple(t._data.shape) for t in tensors]
    try:
        xp.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(s) for s in shapes)
        raise RuntimeError(f"{op}: the shapes {listed} cannot be broadcast together (trailing dimensions must be "
                           "equal or 1)") from None


def apply_broadcasting(op_cls, name: str, *tensors: Tensor, **params) -> Tensor:
    """``apply`` for a broadcasting op; a shape mismatch becomes our error instead of NumPy's."""
    # NOTE: the check runs only after NumPy refuses, so the happy path pays nothing for it.
    try:
        return apply(op_cls, tensors, **params)
    except ValueError:
        check_broadcast(name, *tensors)
        raise


def _binary(op_cls, name: str):
    """The public function of a broadcasting binary primitive: promotes operands, then applies."""
    def fn(input, other):
        x, y = promote(input, other, name)
        # NOTE: ``apply_broadcasting`` written inline: these are the operators, the hottest calls there are.
        try:
            interpreter = _state.interpreter
            if interpreter is None:
                return eager(op_cls, (x, y), _NO_PARAMS)[0]
            return interpreter.process(op_cls, (x, y), _NO_PARAMS)[0]
        except ValueError:
            check_broadcast(name, x, y)
            raise
    fn.__name__ = fn.__qualname__ = name
    return fn


_SHAPES = ("Shapes: ``input`` and ``other`` (tensors or Python numbers) broadcast together; ``out`` has the "
           "broadcast shape and torch's promoted dtype.")


class Binary(Primitive):
    """A broadcasting elementwise op of two tensors."""

    inputs = ("x", "y")
    broadcasts = True
    batch_rule = classmethod(batch_elementwise)


class Add(Binary):
    name = "add"
    may_warn = True
    doc = "``x + y``, elementwise with broadcasting."
    local = ("1", "1")
    backward_code = ("1.0 * {g}", "1.0 * {g}")
    expression = "{x} + {y}"
    methods = ("add",)
    gate = "add gate: distributes the upstream gradient unchanged to every input"

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def vjp(ctx, g):
        return g, g

    @staticmethod
    def jvp(ctx, x_t, y_t):
        return x_t + y_t


class Sub(Binary):
    name = "sub"
    may_warn = True
    doc = "``x - y``, elementwise with broadcasting."
    local = ("1", "-1")
    backward_code = ("1.0 * {g}", "-1.0 * {g}")
    expression = "{x} - {y}"
    methods, aliases = ("sub", "subtract"), ("subtract",)
    gate = "sub gate: distributes the upstream gradient, negated for the subtracted input"

    @staticmethod
    def forward(ctx, x, y):
        return x - y

    @staticmethod
    def vjp(ctx, g):
        return g, -g if ctx.next[1] is not None else None

    @staticmethod
    def jvp(ctx, x_t, y_t):
        return x_t - y_t


class Mul(Binary):
    name = "mul"
    may_warn = True
    doc = "``x * y``, elementwise with broadcasting."
    local = ("{y}", "{x}")
    backward_code = ("{y} * {g}", "{x} * {g}")
    expression = "{x} * {y}"
    methods, aliases = ("mul", "multiply"), ("multiply",)
    gate = "mul gate: swaps - each input's local gradient is the other input"
    save_inputs = True

    @staticmethod
    def forward(ctx, x, y):
        return x * y

    @staticmethod
    def vjp(ctx, g):
        x, y = ctx.inputs
        gx_needed, gy_needed = ctx.next
        return _times(g, y) if gx_needed is not None else None, _times(g, x) if gy_needed is not None else None

    @staticmethod
    def jvp(ctx, x_t, y_t):
        x, y = ctx.inputs
        return x_t * y + x * y_t


def _times(g: Tensor, t: Tensor) -> Tensor:
    """``g * t`` in a rule; when nothing records (see :func:`records_nothing`) the product is taken on the arrays
    directly: the same NumPy multiplication, without dispatching an op."""
    if records_nothing(g) and t._data.__class__ is ndarray:
        return _wrap(ensure_array(g._data * t._data))
    return g * t


class Div(Binary):
    name = "div"
    may_warn = True
    doc = "``x / y`` (true division), elementwise with broadcasting."
    local = ("1/{y}", "-{x}/{y}^2")
    backward_code = ("{g} / {y}", "-{x} / {y} ** 2 * {g}")
    expression = "{x} / {y}"
    methods, aliases = ("div", "divide", "true_divide"), ("divide", "true_divide")
    gate = "div gate: 1/y for the numerator, -x/y^2 for the denominator"
    save_inputs = True

    @staticmethod
    def forward(ctx, x, y):
        return x / y

    @staticmethod
    def vjp(ctx, g):
        x, y = ctx.inputs
        gx = g / y
        return gx, -gx * x / y if ctx.next[1] is not None else None

    @staticmethod
    def jvp(ctx, x_t, y_t):
        x, y = ctx.inputs
        return (x_t - x / y * y_t) / y


class DivRounded(Binary):
    """NOTE: piecewise constant, so its derivative is 0 almost everywhere (torch gives zero gradients too)."""

    name = "div_rounded"
    may_warn = True
    params = (Param("rounding_mode", str, "'trunc' (toward zero) or 'floor' (toward -inf)"),)
    doc = "``x / y`` rounded by ``rounding_mode``, in the inputs' dtype."
    local = ("0", "0")
    expression = "{cr}div({x}, {y}, rounding_mode={rounding_mode})"

    @staticmethod
    def forward(ctx, x, y, rounding_mode):
        if rounding_mode == "floor":
            return xp.floor_divide(x, y)
        q = xp.trunc(x / y) if x.dtype.kind == "f" else xp.fix(x / y)
        return q.astype(x.dtype, copy=False)

    @staticmethod
    def vjp(ctx, g):
        return g * 0, g * 0

    @staticmethod
    def jvp(ctx, x_t, y_t):
        return x_t * 0 + y_t * 0


class Pow(Binary):
    """``x ** y`` for a tensor exponent."""

    name = "pow"
    may_warn = True
    doc = "``x ** y`` for a tensor exponent, elementwise with broadcasting."
    local = ("{y} * {x}^({y} - 1)", "{out} * log({x})")
    expression = "{x} ** {y}"
    methods = ("pow",)
    gate = "pow gate: y x^(y-1) for the base, x^y log x for the exponent"
    save_inputs = True

    @staticmethod
    def forward(ctx, x, y):
        return xp.power(x, y)

    @staticmethod
    def vjp(ctx, g):
        x, y = ctx.inputs
        return g * _pow_base_term(x, y), g * _pow_log_term(x, y)

    @staticmethod
    def jvp(ctx, x_t, y_t):
        x, y = ctx.inputs
        return x_t * _pow_base_term(x, y) + y_t * _pow_log_term(x, y)


def _pow_base_term(x: Tensor, y: Tensor) -> Tensor:
    # NOTE: d(x**y)/dx = y x**(y-1), 0 where y == 0 (torch masks it: 0 * 0**-1 would be nan at x = 0).
    return where(y == 0, 0.0, y * x ** (y - 1))


def _pow_log_term(x: Tensor, y: Tensor) -> Tensor:
    # NOTE: d(x**y)/dy = x**y log x; at x == 0 with y >= 0 the limit is 0 (torch masks it the same way).
    safe = where((x == 0) & (y >= 0), 1.0, x)
    return where((x == 0) & (y >= 0), 0.0, safe ** y * safe.log())


class PowScalar(Primitive):
    """``x ** p`` for a Python-number exponent ``p``."""

    name = "pow_scalar"
    may_warn = True
    params = (Param("p", (int, float), "the exponent"),)
    doc = "``x ** p`` for a Python-number exponent ``p``."
    local = ("{p} * {x}^({p} - 1)",)
    expression = "{x} ** {p}"
    gate = "power gate: local gradient p x^(p-1)"
    batch_rule = classmethod(batch_elementwise)
    save_inputs = True

    @staticmethod
    def forward(ctx, x, p):
        return xp.power(x, p) if p != 2 else x * x

    @staticmethod
    def vjp(ctx, g):
        return g * _pow_scalar_local(ctx.inputs[0], ctx.params["p"])

    @staticmethod
    def jvp(ctx, x_t):
        return x_t * _pow_scalar_local(ctx.inputs[0], ctx.params["p"])

    @classmethod
    def gradient_code(cls, params: dict, shapes: tuple) -> tuple:
        """The flat-code gradient for exponent ``p`` (simplest form for 0, 1 and 2)."""
        p = params["p"]
        if p == 0:
            return ("0.0 * {g}",)
        if p == 1:
            return ("1.0 * {g}",)
        return ("2 * {x} * {g}",) if p == 2 else (f"{p!r} * {{x}} ** {p - 1!r} * {{g}}",)


def _pow_scalar_local(x: Tensor, p) -> Tensor:
    if p == 0:
        return x * 0
    if p == 1:
        return x * 0 + 1
    if p == 2:
        return x * 2
    return x ** (p - 1) * p


class _Extremum(Binary):
    """maximum/minimum: ``wins(x, y)`` says where x is picked; ties share the gradient equally, as in torch."""

    save_inputs = True
    wins = None

    @classmethod
    def vjp(cls, ctx, g):
        x, y = ctx.inputs
        gx = _tie_split(g, x, y, cls.wins(x, y))
        return gx, g - gx

    @classmethod
    def jvp(cls, ctx, x_t, y_t):
        x, y = ctx.inputs
        return _tie_mix(x_t, y_t, x, y, cls.wins(x, y))


class Maximum(_Extremum):
    name = "maximum"
    doc = "The larger of ``x`` and ``y``, elementwise with broadcasting."
    local = ("[{x} > {y}]", "[{y} > {x}]")
    backward_code = ("(({x} > {y}) + 0.5 * ({x} == {y})) * {g}", "(({y} > {x}) + 0.5 * ({x} == {y})) * {g}")
    expression = "{cr}maximum({x}, {y})"
    methods = ("maximum",)
    gate = "max gate: routes the whole gradient to the larger input (a tie splits it)"
    wins = staticmethod(lambda x, y: x > y)
    forward = staticmethod(lambda ctx, x, y: xp.maximum(x, y))


class Minimum(_Extremum):
    name = "minimum"
    doc = "The smaller of ``x`` and ``y``, elementwise with broadcasting."
    local = ("[{x} < {y}]", "[{y} < {x}]")
    backward_code = ("(({x} < {y}) + 0.5 * ({x} == {y})) * {g}", "(({y} < {x}) + 0.5 * ({x} == {y})) * {g}")
    expression = "{cr}minimum({x}, {y})"
    methods = ("minimum",)
    gate = "min gate: routes the whole gradient to the smaller input (a tie splits it)"
    wins = staticmethod(lambda x, y: x < y)
    forward = staticmethod(lambda ctx, x, y: xp.minimum(x, y))


def _tie_split(g: Tensor, x: Tensor, y: Tensor, x_wins: Tensor) -> Tensor:
    # NOTE: where x == y the gradient is shared equally, as torch does for maximum/minimum.
    return where(x_wins, g, where(x == y, g * 0.5, g * 0))


def _tie_mix(x_t: Tensor, y_t: Tensor, x: Tensor, y: Tensor, x_wins: Tensor) -> Tensor:
    return where(x_wins, x_t, where(x == y, (x_t + y_t) * 0.5, y_t))


class Where(Binary):
    """``where(condition, x, y)``: the condition routes the gradient, it gets none itself."""

    name = "where"
    inputs = ("c", "x", "y")
    doc = "``x`` where the bool condition ``c`` holds, else ``y`` (broadcasting)."
    local = (None, "[{c}]", "[not {c}]")
    backward_code = (None, "{cr}where({c}, {g}, 0.0)", "{cr}where({c}, 0.0, {g})")
    expression = "{cr}where({c}, {x}, {y})"
    gate = "where: routes the gradient to the branch the condition chose; the other branch gets 0"
    save_inputs = True

    @staticmethod
    def forward(ctx, c, x, y):
        return xp.where(c, x, y)

    @staticmethod
    def vjp(ctx, g):
        # NOTE: exact zeros for the branch not taken (as torch), not g * 0, which is nan where g is infinite.
        c = ctx.inputs[0]
        return None, where(c, g, 0.0), where(c, 0.0, g)

    @staticmethod
    def jvp(ctx, c_t, x_t, y_t):
        return where(ctx.inputs[0], x_t, y_t)


_add = _binary(Add, "add")
_sub = _binary(Sub, "sub")
mul = public(Mul)(_binary(Mul, "mul"))
maximum = public(Maximum)(_binary(Maximum, "maximum"))
minimum = public(Minimum)(_binary(Minimum, "minimum"))


def _times_alpha(other, alpha):
    """``alpha * other`` for add/sub: two numbers multiply in Python (``x.sub(1, alpha=2)``), else a mul op."""
    if not isinstance(other, Tensor) and not isinstance(alpha, Tensor):
        if not isinstance(other, (int, float, xp.number, xp.ndarray)) or not isinstance(alpha, (int, float, xp.number)):
            # NOTE: a list or tuple times an int would be Python's repetition, not a product
            raise TypeError(f"add/sub: other and alpha must be numbers or tensors, got {type(other).__name__} and "
                            f"{type(alpha).__name__}")
        return other * alpha
    return mul(other, alpha)


@public(Add)
def add(input, other, *, alpha=1):
    """``input + alpha * other`` with broadcasting and torch's type promotion."""
    return _add(input, other if alpha.__class__ is not Tensor and alpha == 1 else _times_alpha(other, alpha))


@public(Sub)
def sub(input, other, *, alpha=1):
    """``input - alpha * other``."""
    return _sub(input, other if alpha.__class__ is not Tensor and alpha == 1 else _times_alpha(other, alpha))


@public(Div)
def div(input, other, *, rounding_mode=None):
    """True division (integers give floats, as in torch); ``rounding_mode`` 'trunc' or 'floor' rounds (in the
    promoted dtype, with zero gradient)."""
    x, y = promote(input, other, "div")
    if rounding_mode is not None:
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
        return apply_broadcasting(DivRounded, "div", x, y, rounding_mode=rounding_mode)
    if x._data.dtype.kind != "f":
        default = _dtype.get_default_dtype().np
        x, y = cast_to(x, default), cast_to(y, default)
    return apply_broadcasting(Div, "div", x, y)


@public(Pow)
def pow(input, exponent):
    """``input ** exponent``; a Python-number exponent keeps the tensor's dtype (a float one makes ints float)."""
    if isinstance(exponent, xp.generic):
        exponent = exponent.item()  # NOTE: a NumPy scalar exponent is a Python number, as in torch
    if isinstance(input, Tensor) and not isinstance(exponent, (Tensor, xp.ndarray)):
        if isinstance(exponent, bool) or not isinstance(exponent, (int, float)):
            raise TypeError(f"pow: exponent must be a tensor or a Python number, got {type(exponent).__name__}")
        if isinstance(exponent, int):
            number_array(exponent, xp.int64)  # NOTE: refuses an exponent beyond int64 before NumPy overflows
        x = input
        if x._data.dtype.kind != "f" and isinstance(exponent, float):
            x = cast_to(x, _dtype.get_default_dtype().np)
        return apply(PowScalar, (x,), p=exponent)
    x, y = promote(input, exponent, "pow")
    return apply_broadcasting(Pow, "pow", x, y)


@public(Where)
def where(condition, input, other):
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (numbers allowed for either)."""
    if isinstance(condition, (int, float)) and not isinstance(condition, bool):
        raise TypeError(f"where(): argument 'condition' (position 1) must be a bool Tensor, not "
                        f"{type(condition).__name__}")
    c = as_tensor(condition)
    if c._data.dtype != xp.bool_:
        raise TypeError(f"where: expected condition to be a bool tensor, got {c.dtype}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = _wrap(xp.asarray(input, dtype=_dtype.result_type(input, other).np))
    x, y = promote(input, other, "where")
    return apply_broadcasting(Where, "where", c, x, y)


@method("where")
def _where_method(self, condition, y):
    return where(condition, self, y)


# -- remainders: differentiable in both inputs, as torch -------------------------------------------------

class _Modulo(Binary):
    """``x - round(x / y) * y`` with the quotient rounded by ``rounding`` ("trunc" or "floor"): d/dx = 1,
    d/dy = -round(x / y)."""

    may_warn = True
    save_inputs = True
    rounding = "trunc"

    @classmethod
    def vjp(cls, ctx, g):
        x, y = ctx.inputs
        return g, -g * div(x, y, rounding_mode=cls.rounding)

    @classmethod
    def jvp(cls, ctx, x_t, y_t):
        x, y = ctx.inputs
        return x_t - y_t * div(x, y, rounding_mode=cls.rounding)


class Fmod(_Modulo):
    name = "fmod"
    doc = "The C remainder ``x - trunc(x / y) * y`` (the sign of ``x``), elementwise with broadcasting."
    local = ("1", "-trunc({x}/{y})")
    methods = ("fmod",)

    @staticmethod
    def forward(ctx, x, y):
        return xp.fmod(x, y)


class Remainder(_Modulo):
    name = "remainder"
    doc = "Python's ``x % y``: ``x - floor(x / y) * y`` (the sign of ``y``), elementwise with broadcasting."
    local = ("1", "-floor({x}/{y})")
    expression = "{x} % {y}"
    methods = ("remainder",)
    rounding = "floor"

    @staticmethod
    def forward(ctx, x, y):
        return xp.remainder(x, y)


fmod = public(Fmod)(_binary(Fmod, "fmod"))
remainder = public(Remainder)(_binary(Remainder, "remainder"))


# -- integer-valued and comparison ops: not differentiable ---------------------------------------------

class _Predicate(Binary):
    differentiable = False


def _nondiff_binary(name: str, ufunc, what: str, operator: str | None = None, *, aliases: tuple = (),
                    integers_only: bool = False, tensors_only: bool = False, may_warn: bool = False):
    """A broadcasting binary op that is not differentiable (a comparison, a bitwise or integer op): ``what`` it
    computes, and the Python ``operator`` that spells it, if any; ``tensors_only``: Python numbers are refused
    (torch's logical ops)."""
    op = type(_camel(name), (_Predicate,), {
        "name": name, "doc": f"``{what}``, elementwise with broadcasting.",
        "expression": f"{{x}} {operator} {{y}}" if operator else "{cr}" + name + "({x}, {y})",
        "forward": staticmethod(lambda ctx, x, y: ufunc(x, y)), "may_warn": may_warn})

    def fn(input, other):
        for position, (arg, value) in enumerate((("input", input), ("other", other)), start=1):
            if tensors_only and not isinstance(value, Tensor):
                raise TypeError(f"{name}(): argument '{arg}' (position {position}) must be Tensor, not "
                                f"{type(value).__name__}")
        x, y = promote(input, other, name)
        if integers_only and (x._data.dtype.kind not in "biu" or y._data.dtype.kind not in "biu"):
            raise NotImplementedError(f"{name}: only integer and bool tensors are supported, got {x.dtype} and "
                                      f"{y.dtype}")
        return apply_broadcasting(op, name, x, y)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``{name}(input, other)``: {what}; not differentiable.\n\n{_SHAPES}"
    return public(methods=(name,) + aliases, aliases=aliases)(fn)


eq = _nondiff_binary("eq", xp.equal, "input == other", "==")
ne = _nondiff_binary("ne", xp.not_equal, "input != other", "!=")
lt = less = _nondiff_binary("lt", xp.less, "input < other", "<", aliases=("less",))
le = less_equal = _nondiff_binary("le", xp.less_equal, "input <= other", "<=", aliases=("less_equal",))
gt = greater = _nondiff_binary("gt", xp.greater, "input > other", ">", aliases=("greater",))
ge = greater_equal = _nondiff_binary("ge", xp.greater_equal, "input >= other", ">=", aliases=("greater_equal",))
logical_and = _nondiff_binary("logical_and", xp.logical_and, "input and other", tensors_only=True)
logical_or = _nondiff_binary("logical_or", xp.logical_or, "input or other", tensors_only=True)
logical_xor = _nondiff_binary("logical_xor", xp.logical_xor, "input xor other", tensors_only=True)
floor_divide = _nondiff_binary("floor_divide", xp.floor_divide, "input // other, rounded toward -inf", "//",
                              may_warn=True)
bitwise_and = _nondiff_binary("bitwise_and", xp.bitwise_and, "input & other", "&", integers_only=True)
bitwise_or = _nondiff_binary("bitwise_or", xp.bitwise_or, "input | other", "|", integers_only=True)
bitwise_xor = _nondiff_binary("bitwise_xor", xp.bitwise_xor, "input ^ other", "^", integers_only=True)


# -- operators -------------------------------------------------------------------------------------

def _reflected(fn):
    return lambda self, other: fn(other, self)


_OPERATORS = {
    "__add__": _add, "__radd__": _reflected(_add), "__sub__": _sub, "__rsub__": _reflected(_sub),
    "__mul__": mul, "__rmul__": _reflected(mul), "__truediv__": div, "__rtruediv__": _reflected(div),
    "__pow__": pow, "__rpow__": _reflected(pow), "__floordiv__": floor_divide,
    "__rfloordiv__": _reflected(floor_divide), "__mod__": remainder, "__rmod__": _reflected(remainder),
    "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
    "__and__": bitwise_and, "__or__": bitwise_or, "__xor__": bitwise_xor,
    "__rand__": _reflected(bitwise_and), "__ror__": _reflected(bitwise_or), "__rxor__": _reflected(bitwise_xor),
}
for _name, _fn in _OPERATORS.items():
    setattr(Tensor, _name, _fn)

__all__ = exports(__name__)
