"""Bitwise and logical ops, shifts, integer maths and tests of values (isclose, isin, signbit, ...): none is
differentiable (their outputs are bools or integers, or piecewise constant as heaviside).

``and``/``or``/``xor`` of bits and truth values and the comparisons live in ops/arith.py with the operators;
this module adds the rest of torch's set and its ``<<``, ``>>`` and ``~``.
"""

from __future__ import annotations

import builtins

from .._backend import xp
from ..tensor import Tensor
from ._primitive import Param, Primitive, apply, batch_size, exports, materialize, public
from .arith import Binary, apply_broadcasting, eq
from .cast import promote
from .elementwise import unary
from .inplace import inplace_method
from .reduce import all as all_of
from .special import require_kinds, require_tensors


def _integral_forward(name: str, forward):
    """``forward`` refusing non-integer arrays with torch's NotImplementedError (before any computing)."""
    def checked(x):
        if x.dtype.kind not in "biu":
            raise NotImplementedError(f'"{name}" not implemented for {x.dtype} tensors: it takes integer and bool '
                                      "tensors")
        return forward(x)
    return checked


def _predicate(name: str, forward, what: str):
    return unary(name, forward, None, uses=(), to_float=False, module=__name__,
                 doc=f"A bool tensor of ``input``'s shape, True where the element {what}.")


def _floats_only(forward):
    """``forward`` on floating-point arrays; False everywhere for integer and bool ones (never inf, never
    negative zero)."""
    return lambda x: forward(x) if x.dtype.kind == "f" else xp.zeros(x.shape, dtype=bool)


bitwise_not = unary("bitwise_not", _integral_forward("bitwise_not", xp.invert), None, uses=(), to_float=False,
                    doc="``~x``: the bits flipped (logical not for bool tensors).", may_warn=False, module=__name__)
signbit = _predicate("signbit", lambda x: xp.signbit(x) if x.dtype.kind in "fi" else xp.zeros(x.shape, dtype=bool),
                     "has its sign bit set (negative, -0.0 and -NaN included)")
isposinf = _predicate("isposinf", _floats_only(xp.isposinf), "is +inf")
isneginf = _predicate("isneginf", _floats_only(xp.isneginf), "is -inf")
isreal = _predicate("isreal", lambda x: xp.ones(x.shape, dtype=bool), "is real (always, as there are no complex "
                    "dtypes)")


def _invert(self: Tensor) -> Tensor:
    if self._data.dtype.kind not in "biu":
        raise TypeError(f"~ (operator.invert) is only implemented on integer and Boolean-type tensors, got "
                        f"{self.dtype}")
    return bitwise_not(self)


Tensor.__invert__ = _invert


# -- binary ----------------------------------------------------------------------------------------------

class Exact(Binary):
    """A broadcasting binary op on integers or bits: no gradient."""

    differentiable = False


def _shift_forward(left: bool):
    def forward(ctx, x, y):
        # NOTE: as torch, shifts by a negative count or by the width or more give 0 (a right shift of a negative
        # signed value gives -1); NumPy leaves them to C, where they are undefined.
        bits = x.dtype.itemsize * 8
        valid = (y >= 0) & (y < bits)
        count = xp.where(valid, y, 0).astype(x.dtype, copy=False)
        if left:
            return xp.where(valid, xp.left_shift(x, count), 0).astype(x.dtype, copy=False)
        overflow = xp.right_shift(x, bits - 1) if x.dtype.kind == "i" else xp.zeros_like(x)
        return xp.where(valid, xp.right_shift(x, count), overflow).astype(x.dtype, copy=False)
    return staticmethod(forward)


def _heaviside_forward(ctx, x, y):
    # NOTE: as torch, NaN inputs give 0 (NumPy gives NaN).
    return xp.where(x == 0, y, x > 0).astype(xp.result_type(x, y), copy=False)


def _exact(name: str, forward, doc: str) -> type:
    return type("".join(p.title() for p in name.split("_")), (Exact,), {
        "name": name, "doc": doc, "forward": forward, "expression": "{cr}" + name + "({x}, {y})",
        "methods": (name,)})


BitwiseLeftShift = _exact("bitwise_left_shift", _shift_forward(True), "``x << y``: the bits of ``x`` shifted left.")
BitwiseRightShift = _exact("bitwise_right_shift", _shift_forward(False),
                           "``x >> y``: the bits of ``x`` shifted right (arithmetic for signed integers).")
Gcd = _exact("gcd", staticmethod(lambda ctx, x, y: xp.gcd(x, y)), "The greatest common divisor (non-negative).")
Lcm = _exact("lcm", staticmethod(lambda ctx, x, y: xp.lcm(x, y)), "The least common multiple (non-negative).")
Heaviside = _exact("heaviside", staticmethod(_heaviside_forward),
                   "The step function: 0 for ``x < 0``, ``y`` at 0, 1 for ``x > 0``.")


def _integer_binary(op: type, numbers: bool, doc: str):
    """The public function of an integer op: integer operands only (``numbers``: Python ints allowed)."""
    name = op.name

    def fn(input, other):
        if not numbers:
            require_tensors(name, ("input", input), ("other", other))
        x, y = promote(input, other, name)
        require_kinds(name, "iu", "integer", x)
        return apply_broadcasting(op, name, x, y)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{doc}\n\nShapes: ``input`` and ``other`` broadcast together; ``out`` has the broadcast shape "
                  "and their promoted integer dtype. Not differentiable.")
    return public(op)(fn)


bitwise_left_shift = _integer_binary(BitwiseLeftShift, True, "``input << other``: shifted left by ``other`` bits; "
                                     "counts below 0 or of the width or more give 0.")
bitwise_right_shift = _integer_binary(BitwiseRightShift, True, "``input >> other``: shifted right by ``other`` "
                                      "bits, keeping the sign of signed integers.")
gcd = _integer_binary(Gcd, False, "The greatest common divisor of ``input`` and ``other`` (non-negative; "
                      "``gcd(0, 0) = 0``).")
lcm = _integer_binary(Lcm, False, "The least common multiple of ``input`` and ``other`` (non-negative; 0 when "
                      "either is 0).")


@public(Heaviside)
def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """The Heaviside step function: 0 where ``input < 0`` (and where it is NaN), ``values`` where it is 0, 1 where
    it is positive. Both tensors must have one dtype, as in torch. Not differentiable.

    Shapes: ``input`` and ``values`` broadcast together."""
    require_tensors("heaviside", ("input", input), ("values", values))
    if input._data.dtype != values._data.dtype:
        raise RuntimeError(f"heaviside is not yet implemented for tensors with different dtypes (input is "
                           f"{input.dtype}, values is {values.dtype})")
    return apply_broadcasting(Heaviside, "heaviside", input, values)


def _reflected(fn):
    return lambda self, other: fn(other, self)


Tensor.__lshift__, Tensor.__rshift__ = bitwise_left_shift, bitwise_right_shift
Tensor.__rlshift__, Tensor.__rrshift__ = _reflected(bitwise_left_shift), _reflected(bitwise_right_shift)


# -- closeness and membership ----------------------------------------------------------------------------

class Isclose(Exact):
    name = "isclose"
    params = (Param("rtol", float, "relative tolerance"), Param("atol", float, "absolute tolerance"),
              Param("equal_nan", bool, "NaN equals NaN"))
    doc = "``|x - y| <= atol + rtol * |y|`` (equal infinities are close), elementwise with broadcasting."
    expression = "{cr}isclose({x}, {y}, rtol={rtol}, atol={atol}, equal_nan={equal_nan})"
    may_warn = True

    @staticmethod
    def forward(ctx, x, y, rtol, atol, equal_nan):
        if x.dtype.kind == "b":
            return xp.equal(x, y)
        return xp.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)


@public(Isclose, methods=("isclose",))
def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """True where ``|input - other| <= atol + rtol * |other|`` (equal infinities are close; NaNs only with
    ``equal_nan``). Both tensors must have one dtype, as in torch.

    Shapes: ``input`` and ``other`` broadcast together; ``out`` is a bool tensor of the broadcast shape."""
    require_tensors("isclose", ("input", input), ("other", other))
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"isclose: {input.dtype} did not match {other.dtype} (both tensors need one dtype)")
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value < 0:
            raise RuntimeError(f"isclose: {name} must be greater than or equal to zero, but got {value}")
    return apply_broadcasting(Isclose, "isclose", input, other, rtol=float(rtol), atol=float(atol),
                              equal_nan=bool(equal_nan))


@public(methods=("allclose",))
def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> builtins.bool:
    """True when every element is close (see :func:`isclose`); a Python bool."""
    return builtins.bool(all_of(isclose(input, other, rtol, atol, equal_nan)))


@public(methods=("equal",))
def equal(input: Tensor, other: Tensor) -> builtins.bool:
    """True when both tensors have the same shape and the same values (NaN never equals NaN; dtypes may differ, as
    in torch); a Python bool."""
    require_tensors("equal", ("input", input), ("other", other))
    return input._data.shape == other._data.shape and builtins.bool(all_of(eq(input, other)))


class Isin(Primitive):
    name = "isin"
    inputs = ("x", "test")
    differentiable = False
    params = (Param("assume_unique", bool, "both inputs hold unique values (a speed hint)"),
              Param("invert", bool, "True where the element is NOT in the test set"))
    doc = "True where an element of ``x`` is among the values of ``test`` (any shape)."
    expression = "{cr}isin({x}, {test}, invert={invert})"

    @staticmethod
    def forward(ctx, x, test, assume_unique, invert):
        return xp.isin(x, test, assume_unique=assume_unique, invert=invert)

    @classmethod
    def batch_rule(cls, inputs, batched, params):
        x, test = inputs
        if not batched[1]:  # NOTE: one shared set: elementwise in x, the batch dim included
            return apply(cls, (x, test), **params)
        # NOTE: a set per sample: each element against its own sample's values
        size = batch_size(inputs, batched)
        x = materialize(x, batched[0], size)
        per_sample = test.reshape((size,) + (1,) * (x.ndim - 1) + (-1,))
        hit = eq(x.unsqueeze(-1), per_sample).any(-1)
        return hit.logical_not() if params["invert"] else hit


@public(Isin)
def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """True where an element of ``elements`` equals some value of ``test_elements`` (False with ``invert``);
    either may be a Python number (not both). NaN is never in a set. Not differentiable.

    Shapes: ``out`` is a bool tensor of ``elements``' shape (0-d for a number)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        require_tensors("isin", ("elements", elements))
    if any(isinstance(v, Tensor) and v._data.dtype.kind == "b" for v in (elements, test_elements)):
        raise RuntimeError("isin: unsupported input type encountered for isin(): Bool (compare integers instead)")
    x, test = promote(elements, test_elements, "isin")
    return apply(Isin, (x, test), assume_unique=bool(assume_unique), invert=bool(invert))


# -- in-place forms ----------------------------------------------------------------------------------------

for _fn in (bitwise_not, bitwise_left_shift, bitwise_right_shift, gcd, lcm, heaviside):
    inplace_method(_fn.__name__ + "_", _fn)
Tensor.__ilshift__, Tensor.__irshift__ = Tensor.bitwise_left_shift_, Tensor.bitwise_right_shift_


__all__ = exports(__name__)
