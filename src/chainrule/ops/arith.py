"""Binary elementwise arithmetic, comparisons and the Python operators that reach them.

All of these broadcast; the engine sums each gradient back to its input's shape (``broadcasts = True``).
"""

from __future__ import annotations

from .. import _dtype
from .._backend import xp
from ..tensor import Tensor, _wrap
from ._primitive import Primitive, _camel, apply, as_tensor, batch_elementwise, cast_to, method, promote

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow", "maximum",
           "minimum", "where", "eq", "ne", "lt", "le", "gt", "ge", "floor_divide", "remainder", "fmod"]


def check_broadcast(op: str, *tensors: Tensor) -> None:
    """Raise torch's RuntimeError, naming ``op`` and the shapes, when ``tensors`` do not broadcast together."""
    shapes = [tuple(t._data.shape) for t in tensors]
    try:
        xp.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(s) for s in shapes)
        raise RuntimeError(f"{op}: the shapes {listed} cannot be broadcast together (trailing dimensions must be "
                           "equal or 1)") from None


def apply_broadcasting(op_cls, name: str, *tensors: Tensor) -> Tensor:
    """``apply`` for a broadcasting op; a shape mismatch becomes our error instead of NumPy's."""
    # NOTE: the check runs only after NumPy refuses, so the happy path pays nothing for it.
    try:
        return apply(op_cls, tensors)
    except ValueError:
        check_broadcast(name, *tensors)
        raise


def _binary(op_cls, name: str):
    """The public function of a broadcasting binary primitive: promotes operands, then applies."""
    def fn(input, other):
        x, y = promote(input, other, name)
        return apply_broadcasting(op_cls, name, x, y)
    fn.__name__ = name
    return fn


class Add(Primitive):
    name = "add"
    batch_rule = classmethod(batch_elementwise)
    broadcasts = True

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def vjp(ctx, g):
        return g, g

    @staticmethod
    def jvp(ctx, x_t, y_t):
        return x_t + y_t


class Sub(Primitive):
    name = "sub"
    batch_rule = classmethod(batch_elementwise)
    broadcasts = True

    @staticmethod
    def forward(ctx, x, y):
        return x - y

    @staticmethod
    def vjp(ctx, g):
        return g, -g

    @staticmethod
    def jvp(ctx, x_t, y_t):
        return x_t - y_t


class Mul(Primitive):
    name = "mul"
    batch_rule = classmethod(batch_elementwise)
    broadcasts = True
    save_inputs = True

    @staticmethod
    def forward(ctx, x, y):
        return x * y

    @staticmethod
    def vjp(ctx, g):
        x, y = ctx.inputs
        gx_needed, gy_needed = ctx.next
        return g * y if gx_needed is not None else None, g * x if gy_needed is not None else None

    @staticmethod
    def jvp(ctx, x_t, y_t):
        x, y = ctx.inputs
        return x_t * y + x * y_t


class Div(Primitive):
    name = "div"
    batch_rule = classmethod(batch_elementwise)
    broadcasts = True
    save_inputs = True

    @staticmethod
    def forward(ctx, x, y):
        return x / y

    @staticmethod
    def vjp(ctx, g):
        x, y = ctx.inputs
        gx = g / y
        return gx, -gx * x / y

    @staticmethod
    def jvp(ctx, x_t, y_t):
        x, y = ctx.inputs
        return (x_t - x / y * y_t) / y


class Pow(Primitive):
    """``x ** y`` for a tensor exponent."""

    name = "pow"
    batch_rule = classmethod(batch_elementwise)
    broadcasts = True
    save_inputs = True

    @staticmethod
    def forward(ctx, x, y):
        return xp.power(x, y)

    @staticmethod
    def vjp(ctx, g):
        x, y = ctx.inputs
        return g * y * x ** (y - 1), g * _pow_log_term(x, y)

    @staticmethod
    def jvp(ctx, x_t, y_t):
        x, y = ctx.inputs
        return x_t * y * x ** (y - 1) + y_t * _pow_log_term(x, y)


def _pow_log_term(x: Tensor, y: Tensor) -> Tensor:
    # NOTE: d(x**y)/dy = x**y log x; at x == 0 with y >= 0 the limit is 0 (torch masks it the same way).
    safe = where((x == 0) & (y >= 0), 1.0, x)
    return where((x == 0) & (y >= 0), 0.0, safe ** y * safe.log())


class PowScalar(Primitive):
    """``x ** p`` for a Python-number exponent ``p``."""

    name = "pow_scalar"
    batch_rule = classmethod(batch_elementwise)
    save_inputs = True

    @staticmethod
    def forward(ctx, x, p):
        ctx.p = p
        return xp.power(x, p) if p != 2 else x * x

    @staticmethod
    def vjp(ctx, g):
        return g * _pow_scalar_local(ctx.inputs[0], ctx.p)

    @staticmethod
    def jvp(ctx, x_t):
        return x_t * _pow_scalar_local(ctx.inputs[0], ctx.p)


def _pow_scalar_local(x: Tensor, p) -> Tensor:
    if p == 0:
        return x * 0
    if p == 1:
        return x * 0 + 1
    if p == 2:
        return x * 2
    return x ** (p - 1) * p


def _extremum(name: str, ufunc, wins):
    """maximum/minimum: ``wins(x, y)`` says where x is picked; ties share the gradient equally, as in torch."""
    def vjp(ctx, g):
        x, y = ctx.inputs
        gx = _tie_split(g, x, y, wins(x, y))
        return gx, g - gx

    def jvp(ctx, x_t, y_t):
        x, y = ctx.inputs
        return _tie_mix(x_t, y_t, x, y, wins(x, y))

    return type(_camel(name), (Primitive,), {
        "name": name, "broadcasts": True, "save_inputs": True, "batch_rule": classmethod(batch_elementwise),
        "forward": staticmethod(lambda ctx, x, y: ufunc(x, y)), "vjp": staticmethod(vjp), "jvp": staticmethod(jvp)})


Maximum = _extremum("maximum", xp.maximum, lambda x, y: x > y)
Minimum = _extremum("minimum", xp.minimum, lambda x, y: x < y)


def _tie_split(g: Tensor, x: Tensor, y: Tensor, x_wins: Tensor) -> Tensor:
    # NOTE: where x == y the gradient is shared equally, as torch does for maximum/minimum.
    return where(x_wins, g, where(x == y, g * 0.5, g * 0))


def _tie_mix(x_t: Tensor, y_t: Tensor, x: Tensor, y: Tensor, x_wins: Tensor) -> Tensor:
    return where(x_wins, x_t, where(x == y, (x_t + y_t) * 0.5, y_t))


class Where(Primitive):
    """``where(condition, x, y)``: the condition routes the gradient, it gets none itself."""

    name = "where"
    batch_rule = classmethod(batch_elementwise)
    broadcasts = True
    save_inputs = True

    @staticmethod
    def forward(ctx, c, x, y):
        return xp.where(c, x, y)

    @staticmethod
    def vjp(ctx, g):
        c = ctx.inputs[0]
        zero = g * 0
        return None, where(c, g, zero), where(c, zero, g)

    @staticmethod
    def jvp(ctx, c_t, x_t, y_t):
        return where(ctx.inputs[0], x_t, y_t)


_add = _binary(Add, "add")
_sub = _binary(Sub, "sub")
mul = multiply = _binary(Mul, "mul")
maximum = _binary(Maximum, "maximum")
minimum = _binary(Minimum, "minimum")


def add(input, other, *, alpha=1):
    """``input + alpha * other`` with broadcasting and torch's type promotion."""
    return _add(input, other if alpha == 1 else mul(other, alpha))


def sub(input, other, *, alpha=1):
    """``input - alpha * other``."""
    return _sub(input, other if alpha == 1 else mul(other, alpha))


subtract = sub


def div(input, other, *, rounding_mode=None):
    """True division (integers give floats, as in torch); ``rounding_mode`` 'trunc' or 'floor' rounds."""
    if rounding_mode is not None:
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
        x, y = promote(input, other, "div")
        q = xp.floor_divide(x._data, y._data) if rounding_mode == "floor" else xp.trunc(x._data / y._data)
        return _wrap(q.astype(x._data.dtype))
    x, y = promote(input, other, "div")
    if x._data.dtype.kind != "f":
        default = _dtype.get_default_dtype().np
        x, y = cast_to(x, default), cast_to(y, default)
    return apply_broadcasting(Div, "div", x, y)


divide = true_divide = div


def pow(input, exponent):
    """``input ** exponent``; a Python-number exponent keeps the tensor's dtype (a float one makes ints float)."""
    if isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        if isinstance(exponent, bool) or not isinstance(exponent, (int, float)):
            raise TypeError(f"pow: exponent must be a tensor or a Python number, got {type(exponent).__name__}")
        x = input
        if x._data.dtype.kind != "f" and isinstance(exponent, float):
            x = cast_to(x, _dtype.get_default_dtype().np)
        return apply(PowScalar, (x,), exponent)
    x, y = promote(input, exponent, "pow")
    return apply_broadcasting(Pow, "pow", x, y)


def where(condition, input, other):
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (numbers allowed for either)."""
    c = as_tensor(condition)
    if c._data.dtype != xp.bool_:
        raise TypeError(f"where: expected condition to be a bool tensor, got {c.dtype}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = _wrap(xp.asarray(input, dtype=_dtype.result_type(input, other).np))
    x, y = promote(input, other, "where")
    return apply_broadcasting(Where, "where", c, x, y)


# -- integer-valued and comparison ops: not differentiable ---------------------------------------------

def _nondiff_binary(name: str, ufunc):
    op = type(_camel(name), (Primitive,), {
        "name": name, "differentiable": False, "forward": staticmethod(lambda ctx, x, y: ufunc(x, y)),
        "batch_rule": classmethod(batch_elementwise)})

    def fn(input, other):
        x, y = promote(input, other, name)
        return apply_broadcasting(op, name, x, y)
    fn.__name__ = name
    return fn


eq = _nondiff_binary("eq", xp.equal)
ne = _nondiff_binary("ne", xp.not_equal)
lt = less = _nondiff_binary("lt", xp.less)
le = less_equal = _nondiff_binary("le", xp.less_equal)
gt = greater = _nondiff_binary("gt", xp.greater)
ge = greater_equal = _nondiff_binary("ge", xp.greater_equal)
logical_and = _nondiff_binary("logical_and", xp.logical_and)
logical_or = _nondiff_binary("logical_or", xp.logical_or)
logical_xor = _nondiff_binary("logical_xor", xp.logical_xor)
floor_divide = _nondiff_binary("floor_divide", xp.floor_divide)
remainder = _nondiff_binary("remainder", xp.remainder)
fmod = _nondiff_binary("fmod", xp.fmod)


def _bitwise(name: str, ufunc):
    inner = _nondiff_binary(name, ufunc)

    def fn(input, other):
        for v in (input, other):
            if isinstance(v, Tensor) and v._data.dtype.kind not in "biu":
                raise TypeError(f"{name}: only integer and bool tensors are supported, got {v.dtype}")
        return inner(input, other)
    fn.__name__ = name
    return fn


bitwise_and = _bitwise("bitwise_and", xp.bitwise_and)
bitwise_or = _bitwise("bitwise_or", xp.bitwise_or)
bitwise_xor = _bitwise("bitwise_xor", xp.bitwise_xor)

_SHAPES = ("Shapes: ``input`` and ``other`` (tensors or Python numbers) broadcast together; ``out`` has the "
           "broadcast shape and torch's promoted dtype.")
for _fn, _what in ((mul, "input * other; local derivatives d out/d input = other, d out/d other = input (mul swaps)"),
                   (maximum, "the larger of the two; the gradient goes to the larger input (max routes), shared "
                             "equally on ties"),
                   (minimum, "the smaller of the two; the gradient goes to the smaller input, shared equally on "
                             "ties")):
    _fn.__doc__ = f"``{_fn.__name__}(input, other)``: {_what}.\n\n{_SHAPES}"
for _fn, _what in ((eq, "input == other"), (ne, "input != other"), (lt, "input < other"), (le, "input <= other"),
                   (gt, "input > other"), (ge, "input >= other"), (logical_and, "input and other"),
                   (logical_or, "input or other"), (logical_xor, "input xor other")):
    _fn.__doc__ = (f"``{_fn.__name__}(input, other)``: a bool tensor, True where {_what} (not differentiable)."
                   f"\n\n{_SHAPES}")
for _fn, _what in ((floor_divide, "input // other, rounded toward -inf"),
                   (remainder, "input - floor_divide(input, other) * other (the sign of other, as Python's %)"),
                   (fmod, "the C remainder (the sign of input)"), (bitwise_and, "input & other (integers, bools)"),
                   (bitwise_or, "input | other (integers, bools)"), (bitwise_xor, "input ^ other (integers, bools)")):
    _fn.__doc__ = f"``{_fn.__name__}(input, other)``: {_what}; piecewise constant, so not differentiable.\n\n{_SHAPES}"


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

for _fn in (add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, floor_divide, remainder, fmod,
            logical_and, logical_or, logical_xor, bitwise_and, bitwise_or, bitwise_xor):
    method(_fn.__name__)(_fn)
method("multiply")(mul)
method("subtract")(sub)
method("divide", "true_divide")(div)
method("greater")(gt)
method("less")(lt)
method("greater_equal")(ge)
method("less_equal")(le)


@method("where")
def _where_method(self, condition, y):
    return where(condition, self, y)
