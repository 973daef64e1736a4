"""Op database entries: the composites of ``chainrule.special`` (ndtr, ndtri, log_ndtr, xlog1py, entr;
multigammaln is mvlgamma), the Bessel functions of ops/bessel.py and the aliases of existing ops (see
opdb/__init__.py). References from ``math.erfc`` and ``math.lgamma`` vectorised, ndtri from the bisection erfinv of
opdb/special.py, the Bessel functions from their integral representation."""

import math

import numpy as np

import chainrule as cr
from chainrule import special

from . import OpInfo, Sample
from .arith import pair_samples
from .elementwise import samples
from .special import _erfinv

_erfc = np.vectorize(math.erfc, otypes=[float])
_lgamma = np.vectorize(math.lgamma, otypes=[float])


def _ndtr(x):
    return 0.5 * _erfc(-x / math.sqrt(2))


def _log_ndtr(x):
    return np.where(x > 0, np.log1p(-_ndtr(-np.abs(x))), np.log(_ndtr(np.minimum(x, 0))))


def _ndtri(p):
    return math.sqrt(2) * _erfinv(2 * p - 1)


def _bessel(x, order, scaled):
    """(1/pi) int_0^pi exp(x cos t) cos(order t) dt by the trapezoid rule (spectrally accurate: the integrand is
    periodic), times exp(-|x|) when scaled (computed inside the exponent)."""
    t = np.linspace(0, np.pi, 4001)
    x = np.asarray(x, dtype=float)[..., None]
    f = np.exp(x * np.cos(t) - (np.abs(x) if scaled else 0)) * np.cos(order * t)
    return np.trapezoid(f, t, axis=-1) / np.pi


def _multigammaln(x, p=3):
    return sum(_lgamma(x - i / 2) for i in range(p)) + p * (p - 1) / 4 * math.log(math.pi)


# NOTE: both sides of the switch to the asymptotic series at -20, and deep in the tail.
_TAIL = Sample((np.array([-35.0, -25.0, -20.5, -19.5, -12.0, 7.0]),))

# NOTE: both sides of the switch from the power series to the asymptotic series at |x| = 50.
_LARGE = Sample((np.array([-70.0, -49.5, 50.5, 80.0]),))

ENTRIES = [
    OpInfo("special.ndtr", special.ndtr, samples(-4.0, 4.0), _ndtr),
    OpInfo("special.log_ndtr", special.log_ndtr, samples(-6.0, 6.0) + [_TAIL], _log_ndtr),
    OpInfo("special.ndtri", special.ndtri, samples(0.05, 0.95), _ndtri),
    # NOTE: the lower tail's Newton-refined branch (below 1e-3) and its boundary
    OpInfo("special.ndtri_tail", special.ndtri, [Sample((np.array([2e-4, 5e-4, 9.99e-4, 1.001e-3, 0.3]),))], _ndtri,
           covers=("special.ndtri",)),
    OpInfo("special.xlog1py", special.xlog1py,
           pair_samples(positive_second=True) + [Sample((np.array([0.0, 1.5]), np.array([2.0, -0.5])))],
           lambda x, y: np.where(x == 0, 0.0, x * np.log1p(y))),
    OpInfo("special.xlog1py_number", lambda y: special.xlog1py(2.0, y), [Sample((np.array([-0.5, 3.0]),))],
           lambda y: 2 * np.log1p(y)),
    OpInfo("special.entr", special.entr, samples(0.1, 3.0), lambda x: -x * np.log(x)),
    OpInfo("special.multigammaln", lambda x: special.multigammaln(x, 3), samples(1.2, 5.0), _multigammaln,
           covers=("mvlgamma",)),
    OpInfo("i0", cr.i0, samples(-4.0, 4.0), lambda x: _bessel(x, 0, False)),
    OpInfo("special.i0e", special.i0e, samples(-4.0, 4.0, kinks=(0.0,)) + [_LARGE], lambda x: _bessel(x, 0, True)),
    OpInfo("special.i1", special.i1, samples(-4.0, 4.0) + [Sample((np.array([0.0, 1e-9, -0.3]),))],
           lambda x: _bessel(x, 1, False)),
    OpInfo("special.i1e", special.i1e, samples(-4.0, 4.0, kinks=(0.0,)) + [_LARGE], lambda x: _bessel(x, 1, True)),
    OpInfo("special.aliases", lambda x: special.expit(x) + special.gammaln(x) + special.psi(x),
           samples(0.3, 4.0), lambda x: 1 / (1 + np.exp(-x)) + _lgamma(x) + (np.vectorize(
               lambda v: (math.lgamma(v + 1e-6) - math.lgamma(v - 1e-6)) / 2e-6, otypes=[float]))(x),
           atol=1e-4, covers=("expit", "gammaln", "psi")),
]

assert special.expit is cr.sigmoid and special.gammaln is cr.lgamma and special.psi is cr.digamma
