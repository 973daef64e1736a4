"""``chainrule.special``: torch.special's names.

Most are the library's own functions under torch.special's names (``expit`` is :func:`chainrule.sigmoid`,
``gammaln`` is :func:`chainrule.lgamma`, ``psi`` is :func:`chainrule.digamma`, ``multigammaln`` is
:func:`chainrule.mvlgamma`, ...); the rest (``ndtr``, ``ndtri``, ``log_ndtr``, ``xlog1py``, ``entr``) are
composites of existing ops, so their gradients of every order, forward mode and vmap come for free.

``i0`` is :func:`chainrule.i0`; ``i0e``, ``i1``, ``i1e`` are declared beside it (ops/bessel.py).

Not provided (no existing op to compose them from): the other Bessel functions (``bessel_*``,
``modified_bessel_*``, ``spherical_bessel_j0``, ``airy_ai``), ``erfcx``, ``zeta``, ``gammainc``/``gammaincc`` and
the orthogonal polynomials (``chebyshev_*``, ``hermite_*``, ``laguerre_*``, ``legendre_*``).

Example::

    >>> from chainrule import special
    >>> special.ndtr(chainrule.tensor([0.0]))
    tensor([0.5000])
"""

from __future__ import annotations

import math

from . import _dtype
from .ops import (
    digamma,
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    i0,
    lgamma,
    log1p,
    log_softmax,
    logit,
    logsumexp,
    mvlgamma,
    polygamma,
    round,
    sigmoid,
    sinc,
    softmax,
    where,
    xlogy,
)
from .ops._primitive import PUBLIC, public
from .ops.bessel import i0e, i1, i1e
from .ops.cast import cast_to
from .ops.special import common_dtype, require_tensors
from .tensor import Tensor

_SQRT_HALF = math.sqrt(0.5)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# NOTE: below -20 the asymptotic series of log ndtr (error under 1e-13 there) replaces log(ndtr(x)), which
# underflows to -inf once ndtr(x) < 1e-308 (x < -37.5).
_LOG_NDTR_TAIL = -20.0
# (-1)^n (2n - 1)!!: Phi(x) ~ phi(x) / |x| * sum_n c_n / x^(2n) as x -> -inf.
_MILLS_SERIES = (1, -1, 3, -15, 105, -945, 10395)

# NOTE: below 1e-3, ndtri's tail branch; coefficients of Abramowitz-Stegun 26.2.23 (c0, c1, c2, d1, d2, d3).
_NDTRI_TAIL = 1e-3
_AS_26_2_23 = (2.515517, 0.802853, 0.010328, 1.432788, 0.189269, 0.001308)

expit = sigmoid
gammaln = lgamma
psi = digamma
multigammaln = mvlgamma


def _floating(input, op: str) -> Tensor:
    """``input`` in a floating dtype (integers and bools in the default one, as torch.special computes them)."""
    require_tensors(op, ("input", input))
    if input._data.dtype.kind != "f":
        return cast_to(input, _dtype.get_default_dtype().np)
    return input


@public()
def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF ``Phi(x) = (1 + erf(x / sqrt(2))) / 2``, elementwise (same shape).

    Computed as ``erfc(-x / sqrt(2)) / 2``, so its lower tail keeps full relative precision.

    Example::

        >>> chainrule.special.ndtr(chainrule.tensor([-1.0, 0.0, 1.0]))
        tensor([0.1587, 0.5000, 0.8413])
    """
    return erfc(_floating(input, "ndtr") * -_SQRT_HALF) * 0.5


@public()
def ndtri(input: Tensor) -> Tensor:
    """The inverse of :func:`ndtr` (the standard normal quantile) on ``[0, 1]``: ``-inf`` at 0, ``inf`` at 1,
    NaN outside (same shape). Accurate in the lower tail down to the smallest doubles (``ndtri(1e-300)`` is
    ``-37.04``).

    Example::

        >>> chainrule.special.ndtri(chainrule.tensor([0.5]))
        tensor([0.])
    """
    p = _floating(input, "ndtri")
    # NOTE: sqrt(2) erfinv(2p - 1) loses relative precision ~1e-16 / p forming 2p - 1 (and is -inf below 5.6e-17),
    # so below _NDTRI_TAIL the quantile is Abramowitz-Stegun 26.2.23 (error < 4.5e-4) refined by Newton steps on
    # log_ndtr(x) = log(p); each branch sees a harmless constant outside its range.
    tail = (p > 0) & (p < _NDTRI_TAIL)
    p_tail = where(tail, p, _NDTRI_TAIL)
    t = (-2 * p_tail.log()).sqrt()
    c0, c1, c2, d1, d2, d3 = _AS_26_2_23
    x = -(t - (c0 + t * (c1 + t * c2)) / (1 + t * (d1 + t * (d2 + t * d3))))
    log_p = p_tail.log()
    for _ in range(3):
        log_cdf = log_ndtr(x)
        x = x - (log_cdf - log_p) * (0.5 * x * x + _HALF_LOG_2PI + log_cdf).exp()
    central = erfinv(where(tail, 0.5, p) * 2 - 1) * math.sqrt(2)
    return where(tail, x, central)


@public()
def log_ndtr(input: Tensor) -> Tensor:
    """``log(ndtr(x))``, accurate in both tails: finite for any finite ``x`` (``log_ndtr(-50) = -1254.83``) and
    ``log1p(-ndtr(-x))`` above 0 (``log_ndtr(5) = -2.87e-07``); same shape.

    Example::

        >>> chainrule.special.log_ndtr(chainrule.tensor([0.0]))
        tensor([-0.6931])
    """
    x = _floating(input, "log_ndtr")
    # NOTE: each branch sees only values in its own range (the others a harmless constant), so no branch makes
    # an inf or NaN whose zero cotangent would still poison the gradient.
    tail = x < _LOG_NDTR_TAIL
    x_tail = where(tail, x, _LOG_NDTR_TAIL)
    inv_square = (x_tail * x_tail).reciprocal()
    series = _MILLS_SERIES[-1]
    for c in reversed(_MILLS_SERIES[:-1]):
        series = series * inv_square + c
    asymptotic = -0.5 * x_tail * x_tail - (-x_tail).log() - _HALF_LOG_2PI + series.log()
    upper = x > 0
    x_lower = where(tail | upper, 0.0, x)
    x_upper = where(upper, x, 0.0)
    body = where(upper, (-ndtr(-x_upper)).log1p(), ndtr(x_lower).log())
    return where(tail, asymptotic, body)


@public()
def xlog1py(input, other) -> Tensor:
    """``input * log1p(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN); either may be a number (not
    both). Shapes broadcast; integers give the default float dtype.

    Example::

        >>> chainrule.special.xlog1py(chainrule.tensor([0.0, 2.0]), chainrule.tensor([-1.0, 0.0]))
        tensor([0., 0.])
    """
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        require_tensors("xlog1py", ("input", input))
    x, y = common_dtype("xlog1py", input, other, to_float=True)
    # NOTE: where x = 0, a y whose log1p is infinite or NaN (y <= -1, y = inf) is replaced by 0: the limit 0
    # without 0 * inf, and as torch the x-gradient there is 0 (log1p(y) elsewhere, x = 0 included).
    limit = (x == 0) & ((y <= -1) | (y == math.inf))
    return x * where(limit, 0.0, y).log1p()


@public()
def entr(input: Tensor) -> Tensor:
    """The elementwise entropy term ``-x log(x)``: 0 at 0, ``-inf`` for ``x < 0``, NaN for NaN (same shape).

    NOTE: the gradient at exactly 0 is 0 here (torch: +inf, the one-sided limit).

    Example::

        >>> chainrule.special.entr(chainrule.tensor([-1.0, 0.0, 0.5]))
        tensor([  -inf, 0.0000, 0.3466])
    """
    x = _floating(input, "entr")
    positive = x > 0
    safe = where(positive, x, 1.0)
    return where(x < 0, -math.inf, where(positive, -(x * safe.log()), x * 0))


globals().update(PUBLIC[__name__])
__all__ = ["digamma", "entr", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammaln", "i0", "i0e", "i1", "i1e",
           "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma",
           "psi", "round", "sinc", "softmax", "xlog1py", "xlogy"]
