"""Special functions on raw arrays (NumPy has none of them and SciPy is not a dependency): the forwards of
``erfc``, ``erfinv``, ``lgamma``, ``digamma`` and ``polygamma``.

Each computes in float64 (relative error about 1e-15 over the useful range, checked against mpmath in
tests/test_special.py) and returns the input's floating dtype; the values at poles and edges follow torch.
"""

from __future__ import annotations

import math
from fractions import Fraction

from .. import _backend
from .._backend import xp

_EULER = 0.5772156649015329
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_SQRT_PI = math.sqrt(math.pi)
# Bernoulli numbers B_2, B_4, ..., B_18: the Euler-Maclaurin and Stirling tails below.
_BERNOULLI = (Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30), Fraction(5, 66),
              Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510), Fraction(43867, 798))


def _float64(x):
    return xp.asarray(x, dtype=xp.float64)


def _like(out, x):
    """``out`` in ``x``'s floating dtype."""
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out


def _regions(x, *pieces):
    """``x`` evaluated piecewise: ``pieces`` are ``(mask, f)``; each ``f`` sees only its elements (so no branch
    computes on values outside its range); elements no mask claims keep ``x``."""
    x = xp.asarray(x)
    out = x.copy()
    for mask, f in pieces:
        if mask.any():
            out[mask] = f(x[mask])
    return out


# -- erfc and erfinv ----------------------------------------------------------------------------------

def _exp_minus_square(x):
    """``exp(-x * x)`` without the rounding of ``x * x`` (it grows to 1e-13 near erfc's underflow)."""
    high = xp.round(x * 16) / 16  # NOTE: few bits, so high * high is exact
    low = x - high
    return xp.exp(-high * high) * xp.exp(-(2 * high + low) * low)


def _erfc_tail(x):
    """erfc for ``x >= 1.5``: its continued fraction ``x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))``, 100 terms."""
    t = x.copy()
    for k in range(100, 0, -1):
        t = x + (k / 2) / t
    return _exp_minus_square(x) / (_SQRT_PI * t)


def erfc(x):
    """The complementary error function ``1 - erf(x)``, accurate where it is tiny (never computed as 1 - erf
    there)."""
    z = _float64(x)
    ax = xp.abs(z)
    # NOTE: below 1.5, erfc >= 0.03, so 1 - erf loses at most 2 digits of 16.
    # NOTE: erfc(28) underflows to 0.
    out = _regions(ax, (ax < 1.5, lambda a: 1 - _backend.erf(a)), ((ax >= 1.5) & (ax < 28), _erfc_tail),
                   (ax >= 28, xp.zeros_like))
    return _like(xp.where(z < 0, 2 - out, out), x)


def _erfinv_guess(y):
    """Giles' single-precision approximation of erfinv (relative error about 1e-7), refined by Newton."""
    w = -xp.log((1 - y) * (1 + y))
    central, tail = w - 2.5, xp.sqrt(xp.maximum(w, 5)) - 3
    p = xp.where(w < 5, 2.81022636e-08, -0.000200214257)
    for c_central, c_tail in ((3.43273939e-07, 0.000100950558), (-3.5233877e-06, 0.00134934322),
                              (-4.39150654e-06, -0.00367342844), (0.00021858087, 0.00573950773),
                              (-0.00125372503, -0.0076224613), (-0.00417768164, 0.00943887047),
                              (0.246640727, 1.00167406), (1.50140941, 2.83297682)):
        p = xp.where(w < 5, c_central + p * central, c_tail + p * tail)
    return p * y


def _erfinv_finite(y):
    """erfinv on ``|y| < 1``: the guess, then Newton steps on ``erf(r) = |y|``; in the tails on
    ``log erfc(r) = log(1 - |y|)`` instead, where ``1 - |y|`` is exact, erf has no digits left and the
    logarithm is nearly linear (Newton on erfc itself crawls there)."""
    a = xp.abs(y)
    r = _erfinv_guess(a)
    tail = a > 0.5
    for _ in range(4):
        tail_value = erfc(r)
        r = r + (_SQRT_PI / 2) * xp.exp(r * r) * xp.where(
            tail, (xp.log(tail_value) - xp.log(1 - a)) * tail_value, a - _backend.erf(r))
    return xp.copysign(r, y)


def erfinv(x):
    """The inverse error function on ``[-1, 1]``: +-inf at +-1, nan outside."""
    y = _float64(x)
    out = _regions(y, (xp.abs(y) < 1, _erfinv_finite), (xp.abs(y) == 1, lambda v: xp.copysign(xp.inf, v)),
                   (xp.abs(y) > 1, lambda v: xp.full_like(v, xp.nan)))
    return _like(out, x)


# -- the Hurwitz zeta function, polygamma and digamma ---------------------------------------------------

def zeta(s: float, q):
    """The Hurwitz zeta function ``sum_k (q + k) ** -s`` for a real ``s > 1`` and arrays ``q``: the first terms
    summed until ``q + k >= 10 + s``, the rest by Euler-Maclaurin with 9 Bernoulli terms (error below 1e-16).

    As Cephes (and torch): +inf at ``q = 0, -1, -2, ...``, nan where ``q`` is negative and ``s`` not an integer.
    """
    q = _float64(q)
    pole = (q <= 0) & (q == xp.floor(q))
    finite = xp.isfinite(q) & ~pole
    out = _regions(q, (finite, lambda v: _zeta_finite(float(s), v)), (pole, lambda v: xp.full_like(v, xp.inf)),
                   (q == xp.inf, xp.zeros_like))
    if s != math.floor(s):
        out = xp.where(q < 0, xp.nan, out)
    return out


def _zeta_finite(s: float, q):
    start = 10 + s
    terms = xp.ceil(xp.maximum(start - q, 0))
    total = xp.zeros_like(q)
    for k in range(int(terms.max()) if q.size else 0):
        total = total + xp.where(k < terms, (q + k) ** -s, 0)
    a = q + terms
    total = total + a ** (1 - s) / (s - 1) + 0.5 * a ** -s
    rising, power, factorial = s, a ** (-s - 1), 2
    for j, b in enumerate(_BERNOULLI, start=1):
        total = total + float(b) / factorial * rising * power
        rising *= (s + 2 * j - 1) * (s + 2 * j)
        power = power / (a * a)
        factorial *= (2 * j + 1) * (2 * j + 2)
    return total


def polygamma(n: int, x):
    """``d^n/dx^n digamma(x) = (-1)^(n+1) n! zeta(n + 1, x)`` for ``n >= 1``; digamma for ``n = 0``."""
    if n == 0:
        return digamma(x)
    out = (-1) ** (n + 1) * math.factorial(n) * zeta(n + 1, x)
    return _like(out, x)


def _digamma_positive(x):
    """digamma for ``x > 0``: the recurrence ``psi(x) = psi(x + 1) - 1/x`` up to 10, then the asymptotic
    series ``log x - 1/(2x) - sum B_2k / (2k x^2k)``."""
    total = xp.zeros_like(x)
    for _ in range(10):
        small = x < 10
        total = total - xp.where(small, 1 / x, 0)
        x = xp.where(small, x + 1, x)
    inv = 1 / x
    inv2 = inv * inv
    series, power = xp.zeros_like(x), inv2
    for k, b in enumerate(_BERNOULLI[:7], start=1):
        series = series + float(b) / (2 * k) * power
        power = power * inv2
    return total + xp.log(x) - 0.5 / x - series


# NOTE: digamma's positive root, as a double and the rest; near it the recurrence cancels, so there digamma is
# its Taylor series sum_k polygamma(k, root) / k! t^k in t = x - root (|t| < 1/4: 26 terms reach 1e-18).
_ROOT_HI, _ROOT_LO = 1.4616321449683622, 9.549995429965697e-17


def _digamma_near_root(x):
    t = (x - _ROOT_HI) - _ROOT_LO
    total = xp.zeros_like(t)
    for c in reversed(_DIGAMMA_ROOT):
        total = (total + c) * t
    return total


def _digamma_negative(x):
    # NOTE: the reflection psi(x) = psi(1 - x) - pi / tan(pi x), with pi x reduced to (-pi, pi) first.
    return _digamma_positive(1 - x) - math.pi / xp.tan(math.pi * (x - xp.trunc(x)))


def digamma(x):
    """The digamma function ``d/dx lgamma(x)``: ``-inf`` at +0, ``+inf`` at -0, nan at negative integers."""
    y = _float64(x)
    integral = y == xp.floor(y)
    out = _regions(y, (y > 0, _digamma_positive), (xp.abs(y - _ROOT_HI) < 0.25, _digamma_near_root),
                   ((y < 0) & ~integral & (y > -xp.inf), _digamma_negative),
                   (y == 0, lambda v: xp.copysign(xp.inf, -v)), ((y < 0) & integral, lambda v: xp.full_like(v, xp.nan)))
    return _like(out, x)


_DIGAMMA_ROOT = tuple((-1) ** (k + 1) * float(zeta(k + 1, _ROOT_HI)) for k in range(1, 27))  # polygamma / k!


# -- lgamma ---------------------------------------------------------------------------------------------

# NOTE: lgamma(2 + t) = (1 - gamma) t + sum_k (-1)^k (zeta(k) - 1) / k t^k converges for |t| < 2; on
# |t| <= 1/2 thirty terms reach 1e-17, with relative accuracy at lgamma's zeros 1 and 2.
_LGAMMA_2 = tuple([1 - _EULER] + [(-1) ** k * float(zeta(k, 2.0)) / k for k in range(2, 32)])


def _lgamma_near_2(t):
    """lgamma(2 + t) for ``|t| <= 1/2``."""
    total = xp.zeros_like(t)
    for c in reversed(_LGAMMA_2):
        total = (total + c) * t
    return total


def _lgamma_stirling(x):
    """lgamma for ``x >= 13``: Stirling's series with 9 Bernoulli terms."""
    inv = 1 / x
    inv2, series = inv * inv, xp.zeros_like(x)
    for k, b in reversed(list(enumerate(_BERNOULLI, start=1))):
        series = series * inv2 + float(b) / (2 * k * (2 * k - 1))
    return (x - 0.5) * xp.log(x) - x + _HALF_LOG_2PI + series * inv


def _lgamma_recurrence(x):
    """lgamma for ``2.5 <= x < 13``: down to [1.5, 2.5) by ``lgamma(x) = lgamma(x - 1) + log(x - 1)``."""
    steps = xp.floor(x - 1.5)
    product = xp.ones_like(x)
    for i in range(1, 12):
        product = product * xp.where(i <= steps, x - i, 1)
    return _lgamma_near_2(x - steps - 2) + xp.log(product)


def _lgamma_positive(x):
    return _regions(x, (x >= 13, _lgamma_stirling), ((x >= 2.5) & (x < 13), _lgamma_recurrence),
                    ((x >= 1.5) & (x < 2.5), lambda v: _lgamma_near_2(v - 2)),
                    ((x >= 0.5) & (x < 1.5), lambda v: _lgamma_near_2(v - 1) - xp.log1p(v - 1)),
                    ((x > 0) & (x < 0.5), lambda v: _lgamma_near_2(v) - xp.log1p(v) - xp.log(v)))


def _lgamma_negative(x):
    # NOTE: the reflection lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x), with pi x reduced first.
    return math.log(math.pi) - xp.log(xp.abs(xp.sin(math.pi * (x - xp.round(x))))) - _lgamma_positive(1 - x)


def lgamma(x):
    """``log |Gamma(x)|``: +inf at 0, the negative integers and +-inf."""
    y = _float64(x)
    pole = ((y <= 0) & (y == xp.floor(y))) | xp.isinf(y)
    out = _regions(y, ((y > 0) & ~pole, _lgamma_positive), ((y < 0) & ~pole, _lgamma_negative),
                   (pole, lambda v: xp.full_like(v, xp.inf)))
    return _like(out, x)
