"""Op database entries: inverse and hyperbolic trig, the gamma family and the smooth binary ops of
ops/special.py (see opdb/__init__.py). The special functions are checked against independent references:
``math.lgamma``/``math.erfc`` vectorised, erfinv by bisection on ``math.erf``, digamma and polygamma by plain
sums with an asymptotic tail."""

import math

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays, away_from
from .arith import _distinct_samples, pair_samples
from .elementwise import samples

_lgamma = np.vectorize(math.lgamma, otypes=[float])
_erfc = np.vectorize(math.erfc, otypes=[float])
_erf = np.vectorize(math.erf, otypes=[float])


def _erfinv(y):
    lo, hi = np.full_like(y, -7.0), np.full_like(y, 7.0)
    for _ in range(80):
        mid = (lo + hi) / 2
        below = _erf(mid) < y
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (lo + hi) / 2


def _digamma(x, terms=60):
    """psi(x) = psi(x + N) - sum_{k<N} 1/(x + k), psi(x + N) from its asymptotic series (x > 0)."""
    a = x + terms
    tail = np.log(a) - 0.5 / a - 1 / (12 * a ** 2) + 1 / (120 * a ** 4) - 1 / (252 * a ** 6)
    return tail - sum(1 / (x + k) for k in range(terms))


def _polygamma(n, x, terms=2000):
    """(-1)^(n+1) n! sum_k (x + k)^-(n+1), the sum past N by its integral and two Euler-Maclaurin terms."""
    a = x + terms
    tail = a ** -n / n + 0.5 * a ** -(n + 1) + (n + 1) / 12 * a ** -(n + 2)
    return (-1) ** (n + 1) * math.factorial(n) * (sum((x + k) ** -(n + 1) for k in range(terms)) + tail)


def _negative_non_integers():
    return Sample((np.array([-0.5, -1.5, -2.3, -3.7]),))


def _triples(third_positive=False):
    out = []
    for i, shapes in enumerate((((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), ()), ((2, 1), (1, 3), (3,)))):
        x, y, z = arrays(*shapes, seed=i)
        out.append(Sample((x, y, np.asarray(np.abs(z) + 0.5) if third_positive else z)))
    return out


def _lerp_samples():
    out = []
    for i, shapes in enumerate((((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), ()), ((), (2,), (2, 1)))):
        x, y, w = arrays(*shapes, seed=i)
        out.append(Sample((x, y, away_from(w, (-0.5, 0.5)))))
    return out


def _away_pairs():
    return [Sample(tuple(away_from(a) for a in s.args)) for s in pair_samples()]


ENTRIES = [
    OpInfo("asin", cr.asin, samples(-0.9, 0.9), np.arcsin, covers=("arcsin",)),
    OpInfo("acos", cr.acos, samples(-0.9, 0.9), np.arccos, covers=("arccos",)),
    OpInfo("atan", cr.atan, samples(), np.arctan, covers=("arctan",)),
    OpInfo("sinh", cr.sinh, samples(), np.sinh),
    OpInfo("cosh", cr.cosh, samples(), np.cosh),
    OpInfo("asinh", cr.asinh, samples(), np.arcsinh, covers=("arcsinh",)),
    OpInfo("acosh", cr.acosh, samples(1.2, 3.0), np.arccosh, covers=("arccosh",)),
    OpInfo("atanh", cr.atanh, samples(-0.9, 0.9), np.arctanh, covers=("arctanh",)),
    OpInfo("erfc", cr.erfc, samples(-3.0, 3.0), _erfc),
    OpInfo("erfinv", cr.erfinv, samples(-0.9, 0.9), _erfinv),
    OpInfo("lgamma", cr.lgamma, samples(0.2, 6.0) + [_negative_non_integers()], _lgamma),
    OpInfo("digamma", cr.digamma, samples(0.2, 6.0), _digamma),
    OpInfo("digamma_negative", cr.digamma, [_negative_non_integers()],
           lambda x: _digamma(1 - x) - math.pi / np.tan(math.pi * x)),
    OpInfo("polygamma", lambda x: cr.polygamma(1, x), samples(0.2, 6.0), lambda x: _polygamma(1, x)),
    OpInfo("polygamma_3", lambda x: x.polygamma(3), samples(0.5, 4.0), lambda x: _polygamma(3, x)),
    OpInfo("polygamma_0", lambda x: cr.polygamma(0, x), samples(0.5, 4.0), _digamma),
    OpInfo("logit", cr.logit, samples(0.1, 0.9), lambda x: np.log(x / (1 - x))),
    OpInfo("logit_eps", lambda x: cr.logit(x, eps=0.2),
           [Sample((np.array([[0.05, 0.1, 0.3, 0.5], [0.7, 0.9, 0.95, 0.12]]),)), Sample((np.array(0.4),))],
           lambda x: (lambda c: np.log(c / (1 - c)))(np.clip(x, 0.2, 0.8))),
    OpInfo("sinc", cr.sinc, samples(), np.sinc),
    OpInfo("frac", cr.frac, samples(kinks=(-1.0, 0.0, 1.0)), lambda x: x - np.trunc(x)),
    OpInfo("deg2rad", cr.deg2rad, samples(), np.deg2rad),
    OpInfo("rad2deg", cr.rad2deg, samples(), np.rad2deg),
    OpInfo("nan_to_num", cr.nan_to_num, samples(), np.nan_to_num),
    OpInfo("nan_to_num_values", lambda x: cr.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-2.0),
           [Sample((np.array([0.5, np.nan, np.inf, -np.inf, -1.5]),))],
           lambda x: np.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-2.0)),
    OpInfo("atan2", cr.atan2, pair_samples(), np.arctan2, covers=("arctan2",)),
    OpInfo("xlogy", cr.xlogy,
           pair_samples(positive_second=True) + [Sample((np.array([0.0, 1.5]), np.array([2.0, 3.0])))],
           lambda x, y: np.where(x == 0, 0.0, x * np.log(y))),
    OpInfo("xlogy_number", lambda y: cr.xlogy(2.0, y), [Sample((np.array([0.5, 3.0]),))], lambda y: 2 * np.log(y)),
    OpInfo("hypot", cr.hypot, _away_pairs(), np.hypot),
    OpInfo("logaddexp", cr.logaddexp, pair_samples(), np.logaddexp),
    OpInfo("logaddexp2", cr.logaddexp2, pair_samples(), np.logaddexp2),
    OpInfo("copysign", cr.copysign, _away_pairs(), np.copysign),
    OpInfo("copysign_number", lambda x: cr.copysign(x, -1.0), samples(kinks=(0.0,)), lambda x: -np.abs(x)),
    OpInfo("nextafter", cr.nextafter, _distinct_samples(), np.nextafter),
    OpInfo("fmax", cr.fmax, _distinct_samples(), np.fmax, twice=False),
    OpInfo("fmin", cr.fmin, _distinct_samples(), np.fmin, twice=False),
    OpInfo("ldexp", cr.ldexp, pair_samples(), lambda x, y: x * 2.0 ** y),
    OpInfo("float_power", cr.float_power, [Sample((np.asarray(np.abs(x) + 0.5), y)) for x, y in (
        arrays((3, 4), (3, 4)), arrays((2, 3), (3,)), arrays((), (2,)))], np.power),
    OpInfo("float_power_number", lambda x: cr.float_power(x, 2.5), samples(0.3, 3.0), lambda x: x ** 2.5),
    OpInfo("lerp", cr.lerp, _lerp_samples(), lambda x, y, w: x + w * (y - x)),
    OpInfo("lerp_number", lambda x, y: cr.lerp(x, y, 0.7), pair_samples(), lambda x, y: x + 0.7 * (y - x)),
    OpInfo("addcmul", lambda x, y, z: cr.addcmul(x, y, z, value=0.5), _triples(), lambda x, y, z: x + 0.5 * y * z),
    OpInfo("addcdiv", lambda x, y, z: cr.addcdiv(x, y, z, value=-2), _triples(third_positive=True),
           lambda x, y, z: x - 2 * y / z),
]
