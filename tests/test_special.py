"""ops/special.py beyond the op database: the special functions' accuracy (against mpmath where installed, and
closed forms), their values at poles and edges, dtypes and errors as torch's, gradients at kinks as torch's
(values pinned from torch 2.13), the composites' rules and the in-place forms."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import _special_math as sm

NAN, INF = math.nan, math.inf
EULER = 0.5772156649015329
ZETA3 = 1.2020569031595942


def t64(values, requires_grad=False):
    return cr.tensor(values, dtype=cr.float64, requires_grad=requires_grad)


def grads(fn, *values):
    xs = [t64(v, requires_grad=True) for v in values]
    out = fn(*xs)
    return out.detach().numpy(), [g.numpy() for g in cr.autograd.grad(out.sum(), xs)]


def max_relative_error(got, expected):
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    return float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300)))


# -- accuracy ---------------------------------------------------------------------------------------------

def _mp(fn, xs):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    return np.array([float(fn(mpmath.mpf(float(x)))) for x in xs])


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("name, fn, xs, tol", [
    ("erfc", sm.erfc, np.concatenate([RNG.uniform(-6, 27, 400), np.linspace(-1.6, 1.6, 41)]), 1e-14),
    ("erfinv", sm.erfinv, np.concatenate([RNG.uniform(-1, 1, 400), 1 - 10.0 ** -RNG.uniform(1, 16, 100),
                                          -(1 - 10.0 ** -RNG.uniform(1, 16, 100))]), 1e-14),
    ("lgamma", sm.lgamma, np.concatenate([RNG.uniform(0, 30, 400), 10 ** RNG.uniform(-300, 300, 100),
                                          1 + RNG.uniform(-1e-3, 1e-3, 50), 2 + RNG.uniform(-1e-3, 1e-3, 50)]),
     1e-14),
    ("digamma", sm.digamma, np.concatenate([RNG.uniform(0, 30, 400), 10 ** RNG.uniform(-300, 300, 100),
                                            1.4616321449683622 + RNG.uniform(-0.3, 0.3, 100)]), 1e-14),
])
def test_special_functions_match_mpmath(name, fn, xs, tol):
    import_name = {"erfc": "erfc", "erfinv": "erfinv", "lgamma": "loggamma", "digamma": "digamma"}[name]
    mpmath = pytest.importorskip("mpmath")
    assert max_relative_error(fn(xs), _mp(getattr(mpmath, import_name), xs)) < tol


def test_negative_arguments_match_mpmath():
    mpmath = pytest.importorskip("mpmath")
    xs = RNG.uniform(-20, 0, 300)
    # NOTE: near the zeros of lgamma and digamma on the negative axis the reflection cancels (as in torch).
    assert max_relative_error(sm.lgamma(xs), _mp(lambda x: mpmath.re(mpmath.loggamma(x)), xs)) < 1e-12
    assert max_relative_error(sm.digamma(xs), _mp(mpmath.digamma, xs)) < 1e-11


@pytest.mark.parametrize("n", [1, 2, 3, 6, 12])
def test_polygamma_matches_mpmath(n):
    mpmath = pytest.importorskip("mpmath")
    xs = np.concatenate([RNG.uniform(0, 30, 200), 10 ** RNG.uniform(-5, 5, 100), RNG.uniform(-10, 0, 100)])
    assert max_relative_error(sm.polygamma(n, xs), _mp(lambda x: mpmath.polygamma(n, x), xs)) < 1e-13


def test_closed_forms():
    n = np.arange(1.0, 25.0)
    np.testing.assert_allclose(cr.lgamma(t64(n)).numpy(), [math.lgamma(v) for v in n], rtol=1e-15)
    assert cr.lgamma(t64([1.0, 2.0])).tolist() == [0.0, 0.0]
    assert cr.lgamma(t64(0.5)).item() == pytest.approx(0.5 * math.log(math.pi), rel=1e-15)
    harmonic = np.cumsum(1 / n)
    np.testing.assert_allclose(cr.digamma(t64(n + 1)).numpy(), harmonic - EULER, rtol=1e-14)
    assert cr.digamma(t64(0.5)).item() == pytest.approx(-EULER - 2 * math.log(2), rel=1e-15)
    assert cr.polygamma(1, t64(1.0)).item() == pytest.approx(math.pi ** 2 / 6, rel=1e-15)
    assert cr.polygamma(2, t64(1.0)).item() == pytest.approx(-2 * ZETA3, rel=1e-15)
    assert cr.polygamma(3, t64(0.5)).item() == pytest.approx(math.pi ** 4, rel=1e-14)
    x = t64(np.linspace(-5, 5, 101))
    np.testing.assert_allclose(cr.erfinv(cr.erf(x * 0.5)).numpy(), x.numpy() * 0.5, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(cr.erfc(x).numpy(), [math.erfc(v) for v in x.tolist()], rtol=1e-14)
    assert cr.erfc(t64(26.0)).item() == pytest.approx(math.erfc(26.0), rel=1e-13)  # far below 1 - erf's reach


def test_values_at_poles_and_edges_as_torch():
    assert cr.lgamma(t64([0.0, -1.0, -2.0, INF, -INF, 1e308])).tolist() == [INF] * 6
    assert np.isnan(cr.lgamma(t64(NAN)).item())
    assert cr.lgamma(t64([-1.5, -2.5])).numpy() == pytest.approx([0.8600470153764810, -0.0562437164976740])
    dg = cr.digamma(t64([0.0, -0.0, -2.0, INF, -INF, 1e-8])).tolist()
    assert dg[:2] == [-INF, INF] and math.isnan(dg[2]) and dg[3] == INF and math.isnan(dg[4])
    assert dg[5] == pytest.approx(-1.0000000057721566e8)
    assert cr.digamma(t64(-1.5)).item() == pytest.approx(0.7031566406452432, rel=1e-14)
    assert cr.erfinv(t64([-1.0, 1.0, 0.0])).tolist() == [-INF, INF, 0.0]
    assert np.isnan(cr.erfinv(t64([1.5, -1.5, NAN])).numpy()).all()
    assert cr.erfinv(t64(0.999999)).item() == pytest.approx(3.4589107372754988, rel=1e-14)
    assert cr.erfc(t64([-INF, INF, 0.0, 30.0, -30.0])).tolist() == [2.0, 0.0, 1.0, 0.0, 2.0]
    pg = cr.polygamma(2, t64([-1.5, 0.0, -2.0, 1e-8])).tolist()
    assert pg[0] == pytest.approx(-0.2362040516, rel=1e-9) and pg[1:3] == [-INF, -INF]
    assert pg[3] == pytest.approx(-2e24, rel=1e-12)
    assert cr.sinc(t64([0.0, 0.5])).tolist() == pytest.approx([1.0, 2 / math.pi])
    assert cr.frac(cr.tensor([-2.5, 2.5])).tolist() == [-0.5, 0.5]
    out = cr.nan_to_num(cr.tensor([NAN, INF, -INF, 1.0]))
    assert out.tolist() == [0.0, float(np.finfo(np.float32).max), float(np.finfo(np.float32).min), 1.0]
    assert cr.nan_to_num(t64([NAN, INF, -INF]), 1.0, 2.0, -3.0).tolist() == [1.0, 2.0, -3.0]


def test_logit_clamps_as_torch():
    x = cr.tensor([0.0, 0.05, 0.5, 1.0, 1.2, -0.1])
    assert cr.logit(x, eps=0.1).numpy() == pytest.approx([-2.1972246, -2.1972246, 0, 2.1972246, 2.1972246,
                                                           -2.1972246], rel=1e-6)
    plain = cr.logit(x).numpy()
    assert plain[0] == -INF and plain[3] == INF and np.isnan(plain[4:]).all()
    assert np.array_equal(cr.logit(x, eps=-1.0).numpy(), plain, equal_nan=True)  # a negative eps is ignored
    # NOTE: eps > 1/2 clamps below first, as torch's kernel does.
    assert cr.logit(cr.tensor([0.5, 1.0]), eps=0.7).numpy() == pytest.approx([0.8472979, -0.8472979], rel=1e-6)


# -- dtypes and errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "erfc",
                                  "erfinv", "lgamma", "digamma", "logit", "sinc", "deg2rad", "rad2deg"])
def test_integer_and_bool_inputs_give_the_default_float(name):
    fn = getattr(cr, name)
    assert fn(cr.tensor([1, 2, 3])).dtype == cr.float32
    assert fn(cr.tensor([True, False])).dtype == cr.float32
    assert fn(t64([0.5])).dtype == cr.float64
    assert fn(cr.tensor([0.5])).dtype == cr.float32


def test_binary_dtypes_as_torch():
    i, f = cr.tensor([1, 2, 3]), cr.tensor([0.5, 1.5, 2.5])
    assert cr.atan2(i, i).dtype == cr.float32 and cr.xlogy(i, i).dtype == cr.float32
    assert cr.xlogy(f, 2).dtype == cr.float32 and cr.xlogy(2, f).dtype == cr.float32
    assert cr.copysign(i, 2.5).dtype == cr.float32 and cr.copysign(i, i).tolist() == [1.0, 2.0, 3.0]
    assert cr.fmax(i, i).dtype == cr.int64 and cr.fmax(f, i).dtype == cr.float32
    assert cr.ldexp(cr.tensor([1], dtype=cr.int32), cr.tensor([3], dtype=cr.int32)).tolist() == [8.0]
    assert cr.ldexp(cr.tensor([1], dtype=cr.int32), cr.tensor([3], dtype=cr.int32)).dtype == cr.float32
    assert cr.ldexp(cr.tensor([1.0]), cr.tensor([1024])).tolist() == [INF]
    for args in ((i, i), (f, i), (f, 2), (i, 2.5), (2, f)):
        assert cr.float_power(*args).dtype == cr.float64
    assert cr.float_power(cr.tensor([2]), -1).tolist() == [0.5]
    assert cr.nan_to_num(i).dtype == cr.int64 and cr.nan_to_num(cr.tensor([True])).dtype == cr.bool


@pytest.mark.parametrize("call, error, match", [
    (lambda: cr.atan2(cr.ones(2), 2), TypeError, "argument 'other' \\(position 2\\) must be Tensor, not int"),
    (lambda: cr.hypot(2.0, cr.ones(2)), TypeError, "argument 'input' \\(position 1\\) must be Tensor"),
    (lambda: cr.copysign(2, cr.ones(2)), TypeError, "argument 'input'"),
    (lambda: cr.xlogy(2, 3), TypeError, "argument 'input'"),
    (lambda: cr.hypot(cr.tensor([1]), cr.tensor([2])), NotImplementedError, "hypot"),
    (lambda: cr.logaddexp(cr.tensor([1]), cr.tensor([2])), NotImplementedError, "logaddexp"),
    (lambda: cr.nextafter(cr.tensor([1]), cr.tensor([2])), NotImplementedError, "nextafter"),
    (lambda: cr.frac(cr.tensor([1])), NotImplementedError, "frac"),
    (lambda: cr.polygamma(-1, cr.ones(2)), RuntimeError, "negative n"),
    (lambda: cr.polygamma(1.0, cr.ones(2)), TypeError, "must be int"),
    (lambda: cr.lerp(cr.tensor([1]), cr.tensor([2]), 0.5), NotImplementedError, "lerp"),
    (lambda: cr.lerp(cr.ones(2), cr.ones(2, dtype=cr.float64), 0.5), RuntimeError, "`end`"),
    (lambda: cr.lerp(cr.ones(2), cr.ones(2), cr.ones(2, dtype=cr.float64)), RuntimeError, "`weight`"),
    (lambda: cr.lerp(cr.ones(2), 2, 0.5), TypeError, "argument 'end'"),
    (lambda: cr.addcmul(cr.ones(2), cr.ones(2), 2), TypeError, "argument 'tensor2' \\(position 3\\)"),
    (lambda: cr.addcdiv(cr.ones(2), cr.tensor([1]), cr.tensor([2])), RuntimeError, "integer division"),
    (lambda: cr.atan2(cr.ones(2), cr.ones(3)), RuntimeError, "cannot be broadcast"),
])
def test_errors_as_torch(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- gradients at kinks (values from torch 2.13) -------------------------------------------------------------

def test_xlogy_gradient_at_zero_as_torch():
    _, (gx, gy) = grads(cr.xlogy, [0.0, 0.0, 0.0, 1.0, NAN, 0.0], [0.0, 2.0, NAN, 0.0, 1.0, -1.0])
    np.testing.assert_array_equal(gx, [0.0, math.log(2), NAN, -INF, 0.0, 0.0])
    np.testing.assert_array_equal(gy, [NAN, 0.0, NAN, INF, NAN, -0.0])


def test_fmax_fmin_route_ties_and_nan_as_torch():
    x, y = [1.0, 2.0, NAN, 1.0, NAN], [1.0, 1.0, 1.0, NAN, NAN]
    out, (gx, gy) = grads(cr.fmax, x, y)
    np.testing.assert_array_equal(out, [1.0, 2.0, 1.0, 1.0, NAN])
    assert gx.tolist() == [1, 1, 0, 1, 1] and gy.tolist() == [0, 0, 1, 0, 0]
    out, (gx, gy) = grads(cr.fmin, x, y)
    assert gx.tolist() == [1, 0, 0, 1, 1] and gy.tolist() == [0, 1, 1, 0, 0]


def test_gradients_at_kinks_as_torch():
    _, (g,) = grads(lambda x: cr.logit(x, eps=0.1), [0.05, 0.1, 0.5, 0.9, 0.95, -3.0])
    assert g == pytest.approx([0.0, 11.111111111111109, 4.0, 11.111111111111112, 0.0, 0.0])
    _, (g,) = grads(cr.logit, [0.0, 0.5, 1.0, 1.5])
    assert g[:3].tolist() == [INF, 4.0, INF] and np.isnan(g[3])
    _, (gx, gy) = grads(cr.atan2, [0.0, 1.0], [0.0, 0.0])
    assert gx.tolist() == [0.0, 0.0] and gy.tolist() == [0.0, -1.0]
    _, (gx, gy) = grads(cr.hypot, [0.0, 3.0], [0.0, 4.0])
    assert np.isnan(gx[0]) and np.isnan(gy[0]) and gx[1] == pytest.approx(0.6) and gy[1] == pytest.approx(0.8)
    _, (gx, gy) = grads(cr.copysign, [1.0, -2.0, 0.0, 3.0], [-1.0, 2.0, -1.0, 0.0])
    assert gx.tolist() == [-1.0, -1.0, 0.0, 1.0] and gy.tolist() == [0.0] * 4
    _, (g,) = grads(cr.sinc, [0.0, 1.0, 0.5])
    assert g == pytest.approx([0.0, -1.0, -1.2732395447351625])
    _, (g,) = grads(cr.nan_to_num, [NAN, INF, -INF, 1.0])
    assert g.tolist() == [0.0, 0.0, 0.0, 1.0]
    _, (gx, gy) = grads(cr.nextafter, [1.0], [2.0])
    assert gx.tolist() == [1.0] and gy.tolist() == [0.0]
    _, (gx, gy) = grads(cr.ldexp, [1.5], [2.0])
    assert gx.tolist() == [4.0] and gy[0] == pytest.approx(4.1588830833596715)
    _, (gx, gy) = grads(cr.logaddexp, [1.0, INF, -INF], [2.0, INF, -INF])
    assert gx[0] == pytest.approx(0.2689414213699951) and np.isnan(gx[1:]).all() and np.isnan(gy[1:]).all()
    _, (g,) = grads(cr.erfinv, [1.0, 0.5, -1.0])
    assert g[0] == INF and g[1] == pytest.approx(1.1125848189719496) and g[2] == INF
    _, (g,) = grads(cr.lgamma, [-1.5, 0.0])
    assert g[0] == pytest.approx(0.7031566406452433) and g[1] == -INF
    _, (g,) = grads(cr.acosh, [1.0])
    assert g.tolist() == [INF]


def test_derivative_chain_of_the_gamma_family():
    x = t64([0.7, 1.5, 3.2], requires_grad=True)
    (g,) = cr.autograd.grad(cr.lgamma(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), cr.digamma(x).detach().numpy(), rtol=1e-15)
    (gg,) = cr.autograd.grad(g.sum(), x, create_graph=True)
    np.testing.assert_allclose(gg.detach().numpy(), cr.polygamma(1, x).detach().numpy(), rtol=1e-15)
    (ggg,) = cr.autograd.grad(gg.sum(), x)
    np.testing.assert_allclose(ggg.numpy(), cr.polygamma(2, x).detach().numpy(), rtol=1e-15)
    (g,) = cr.autograd.grad(cr.erfinv(x * 0.5).sum(), x)
    expected = math.sqrt(math.pi) / 2 * np.exp(cr.erfinv(x * 0.5).detach().numpy() ** 2) * 0.5
    np.testing.assert_allclose(g.numpy(), expected, rtol=1e-14)


def test_non_integer_heaviside_output_needs_no_gradient():
    x = t64([1.0, -1.0], requires_grad=True)
    assert not cr.heaviside(x, t64([0.5])).requires_grad
    assert not cr.signbit(x).requires_grad and cr.signbit(x).dtype == cr.bool


# -- composites ----------------------------------------------------------------------------------------------

def test_lerp_addcmul_addcdiv_as_torch():
    f = cr.tensor([0.5, 1.5, 2.5])
    assert cr.lerp(f, f + 1, 0.5).tolist() == [1.0, 2.0, 3.0]
    assert cr.lerp(f, f, 2).tolist() == [0.5, 1.5, 2.5]
    assert cr.lerp(f, f + 1, cr.tensor(0.5, dtype=cr.float64)).dtype == cr.float32
    start, end = t64([0.1, -3.3]), t64([0.7, 1e-17])
    assert cr.lerp(start, end, 1.0).tolist() == end.tolist() and cr.lerp(start, end, 0.0).tolist() == start.tolist()
    assert cr.lerp(start, end, t64([1.0, 1.0])).tolist() == end.tolist()
    _, (gs, ge, gw) = grads(cr.lerp, [1.0, 2.0], [3.0, 5.0], [0.3, 0.7])
    assert gs == pytest.approx([0.7, 0.3]) and ge == pytest.approx([0.3, 0.7]) and gw == pytest.approx([2.0, 3.0])
    i = cr.tensor([1, 2, 3])
    assert cr.addcmul(i, i, i, value=2).tolist() == [3, 10, 21]
    assert cr.addcmul(i, i, i, value=2.5).tolist() == [3, 10, 21]  # NOTE: value truncated for integers
    assert cr.addcmul(i, i, i, value=2.5).dtype == cr.int64
    assert cr.addcmul(f, i, i).tolist() == [1.5, 5.5, 11.5]
    assert cr.addcdiv(f, f, f, value=3).tolist() == [3.5, 4.5, 5.5]
    assert cr.addcmul(cr.zeros(3), cr.ones(2, 1), cr.ones(3)).shape == (2, 3)
    _, (gi, g1, g2) = grads(lambda a, b, c: cr.addcdiv(a, b, c, value=2), [1.0], [3.0], [2.0])
    assert gi.tolist() == [1.0] and g1.tolist() == [1.0] and g2.tolist() == [-1.5]


# -- in-place forms ------------------------------------------------------------------------------------------

def test_inplace_forms():
    x = t64([0.25, -0.5])
    assert x.clone().asin_().tolist() == cr.asin(x).tolist()
    assert x.clone().arcsin_().tolist() == cr.asin(x).tolist()
    y = t64([1.0, 2.0])
    assert x.clone().atan2_(y).tolist() == cr.atan2(x, y).tolist()
    assert x.clone().arctan2_(y).tolist() == cr.atan2(x, y).tolist()
    assert y.clone().polygamma_(1).tolist() == cr.polygamma(1, y).tolist()
    assert x.clone().logit_(0.3).tolist() == cr.logit(x, 0.3).tolist()
    assert t64([NAN]).nan_to_num_(nan=5.0).tolist() == [5.0]
    assert x.clone().lerp_(y, 0.5).tolist() == cr.lerp(x, y, 0.5).tolist()
    assert x.clone().addcmul_(x, y, value=2).tolist() == cr.addcmul(x, x, y, value=2).tolist()
    assert y.clone().float_power_(2).tolist() == [1.0, 4.0]
    with pytest.raises(RuntimeError, match="float_power_"):
        cr.tensor([1.0]).float_power_(2)
    with pytest.raises(RuntimeError, match="can't be cast"):
        cr.tensor([1, 2]).asin_()
    leaf = t64([0.5], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.sinh_()
    z = leaf * 1
    z.sinh_()
    (g,) = cr.autograd.grad(z.sum(), leaf)
    assert g.tolist() == pytest.approx([math.cosh(0.5)])
    for name in ("acos_", "atan_", "cosh_", "asinh_", "acosh_", "atanh_", "arccos_", "arctan_", "arcsinh_",
                 "arccosh_", "arctanh_", "erfc_", "erfinv_", "lgamma_", "digamma_", "sinc_", "frac_", "deg2rad_",
                 "rad2deg_", "xlogy_", "hypot_", "copysign_", "nextafter_", "ldexp_", "addcdiv_"):
        assert callable(getattr(cr.Tensor, name)), name


def test_more_gradients_as_torch():
    _, (g,) = grads(cr.sinc, [1e-8, 1e-3])
    # NOTE: near 0 the series (-pi^2 x / 3 + ...) instead of the cancelling quotient (torch gives -2.1e-8 here)
    assert g == pytest.approx([-math.pi ** 2 / 3 * 1e-8, -math.pi ** 2 / 3 * 1e-3 + math.pi ** 4 / 30 * 1e-9],
                              rel=1e-12)
    _, (gx, gy) = grads(cr.nextafter, [1.0, 2.0], [2.0, 2.0])
    assert gx.tolist() == [1.0, 0.0] and gy.tolist() == [0.0, 0.0]
    _, (g,) = grads(lambda x: cr.logit(x, eps=0.1), [NAN])
    assert g.tolist() == [0.0]
    _, (gx, gy) = grads(cr.float_power, [0.0, 2.0], [0.0, 3.0])
    assert gx.tolist() == [0.0, 12.0] and gy[1] == pytest.approx(8 * math.log(2))
    _, (gx, gy) = grads(cr.pow, [0.0, 0.0], [0.0, -1.0])
    assert gx.tolist() == [0.0, -INF]
    _, (gs, ge, gw) = grads(cr.lerp, [-INF, 1.0], [2.0, 3.0], [1.0, 0.25])
    assert gw.tolist() == [INF, 2.0] and ge.tolist() == [1.0, 0.25]


def test_where_gives_exact_zeros_to_the_branch_not_taken():
    x, y = t64([1.0, 2.0], requires_grad=True), t64([3.0, 4.0], requires_grad=True)
    out = cr.where(cr.tensor([True, False]), x, y)
    gx, gy = cr.autograd.grad(out, (x, y), t64([INF, INF]))
    assert gx.tolist() == [INF, 0.0] and gy.tolist() == [0.0, INF]


def test_a_bool_operand_promotes_with_a_float_one():
    b, d = cr.tensor([True, False]), t64([0.5, 2.0])
    assert cr.atan2(b, d).dtype == cr.float64 and cr.xlogy(b, d).dtype == cr.float64
    assert cr.hypot(b, d).tolist() == pytest.approx([math.hypot(1, 0.5), 2.0])
    assert cr.logaddexp(b, cr.tensor([0.5, 2.0])).dtype == cr.float32
