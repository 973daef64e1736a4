"""The modified Bessel functions of the first kind of orders 0 and 1: ``i0`` (torch.i0, with its methods ``i0``
and ``i0_``) and, for ``chainrule.special``, ``i0e``, ``i1``, ``i1e`` (the ``e`` forms scaled by ``exp(-|x|)``).

Each is a primitive declared by its local derivative (``i0' = i1``, ``i1' = i0 - i1 / x``, and the scaled forms'
``i0e' = i1e - sign(x) i0e``, ``i1e' = i0e - i1e (sign(x) + 1 / x)``), so every derivative is again in these ops.
The forwards, in NumPy alone: up to ``|x| = 50`` the power series (all terms positive, so no cancellation; 150
terms reach double precision there), beyond it the asymptotic series of the scaled function (30 terms, error below
1e-27).
"""

from __future__ import annotations

import math

from .._backend import xp
from ._primitive import exports
from .arith import where
from .elementwise import unary
from .inplace import inplace_method

_SERIES_LIMIT = 50.0
_SERIES_TERMS = 150
_ASYMPTOTIC_TERMS = 30


def _series(x, order: int):
    """``sum_k (x/2)^(2k + order) / (k! (k + order)!)`` for ``|x| <= 50``."""
    q = x * x / 4
    term = xp.ones_like(x) if order == 0 else x / 2
    total = term.copy()
    for k in range(1, _SERIES_TERMS):
        term = term * q / (k * (k + order))
        total = total + term
    return total


def _asymptotic_scaled(a, order: int):
    """``I_order(a) exp(-a)`` for ``a > 50``: ``sum_k c_k / a^k / sqrt(2 pi a)`` with
    ``c_k = c_{k-1} ((2k - 1)^2 - 4 order^2) / (8 k)``."""
    term = xp.ones_like(a)
    total = term.copy()
    for k in range(1, _ASYMPTOTIC_TERMS):
        term = term * ((2 * k - 1) ** 2 - 4 * order * order) / (8 * k * a)
        total = total + term
    return total / xp.sqrt(2 * math.pi * a)


def _bessel(x, order: int, scaled: bool):
    """I_order(x), or I_order(x) exp(-|x|) when ``scaled``, for any float array (odd in x for order 1)."""
    z = xp.asarray(x, dtype=xp.float64)
    a = xp.abs(z)
    small = a <= _SERIES_LIMIT
    a_small, a_large = xp.where(small, a, 0.0), xp.where(small | ~xp.isfinite(a), 2 * _SERIES_LIMIT, a)
    scaled_out = xp.where(small, _series(a_small, order) * xp.exp(-a_small), _asymptotic_scaled(a_large, order))
    scaled_out = xp.where(a == xp.inf, 0.0, scaled_out)
    out = scaled_out if scaled else xp.where(small, _series(a_small, order), scaled_out * xp.exp(a))
    if not scaled:
        out = xp.where(a == xp.inf, xp.inf, out)
    out = xp.where(xp.isnan(z), xp.nan, out)
    if order == 1:
        out = xp.copysign(out, z)
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out


# NOTE: near 0, i1(x) / x cancels in the derivatives of these local derivatives; there the Taylor polynomials
# (i1' = 1/2 + 3 x^2 / 16, i1e' = 1/2 - |x| + 15 x^2 / 16) serve, their error below 1e-14.
_I1_TAYLOR, _I1E_TAYLOR = 1e-3, 1e-5


def _i1_local(x, out):
    small = x.abs() < _I1_TAYLOR
    safe = where(small, 1.0, x)
    return where(small, 0.5 + 0.1875 * x * x, i0(x) - out / safe)


def _i1e_local(x, out):
    small = x.abs() < _I1E_TAYLOR
    safe = where(small, 1.0, x)
    return where(small, 0.5 - x.abs() + 0.9375 * x * x, i0e(x) - out * (x.sign() + safe.reciprocal()))


i0 = unary("i0", lambda x: _bessel(x, 0, False), lambda x, out: i1(x),
           doc="The modified Bessel function of the first kind of order 0.", text="i1({x})", module=__name__)
# NOTE: the three below are torch.special's only (no torch.i1): declared for chainrule.special, no Tensor methods.
i0e = unary("i0e", lambda x: _bessel(x, 0, True), lambda x, out: i1e(x) - x.sign() * out, uses=("x", "out"),
            doc="``i0(x) exp(-|x|)``, finite for any x.", text="i1e({x}) - sign({x}) {out}", methods=(),
            module="chainrule.special")
i1 = unary("i1", lambda x: _bessel(x, 1, False), _i1_local, uses=("x", "out"),
           doc="The modified Bessel function of the first kind of order 1.", text="i0({x}) - {out}/{x}",
           methods=(), module="chainrule.special")
i1e = unary("i1e", lambda x: _bessel(x, 1, True), _i1e_local, uses=("x", "out"),
            doc="``i1(x) exp(-|x|)``, finite for any x.", text="i0e({x}) - {out} (sign({x}) + 1/{x})", methods=(),
            module="chainrule.special")

inplace_method("i0_", i0)

__all__ = exports(__name__)
