"""chainrule.special: torch.special's names, closed forms and edge values the op database does not pin."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import special


def _t(values):
    return cr.tensor(values, dtype=cr.float64)


def test_aliases_are_the_library_functions():
    assert special.expit is cr.sigmoid and special.gammaln is cr.lgamma and special.psi is cr.digamma
    for name in ("erf", "erfc", "erfinv", "digamma", "polygamma", "logit", "xlogy", "sinc", "round", "exp2",
                 "expm1", "log1p", "softmax", "log_softmax", "logsumexp"):
        assert getattr(special, name) is getattr(cr, name), name
    assert set(special.__all__) <= set(dir(special))
    np.testing.assert_allclose(special.softmax(_t([0.0, 0.0]), 0).numpy(), [0.5, 0.5])
    np.testing.assert_allclose(special.round(_t([1.25]), decimals=1).numpy(), [1.2])


def test_ndtr_and_ndtri_closed_forms():
    np.testing.assert_allclose(special.ndtr(_t([0.0, 1.0, -1.0])).numpy(),
                               [0.5, 0.8413447460685429, 0.15865525393145707], rtol=1e-14)
    # The lower tail keeps its relative precision (erfc, not 1 - erf).
    np.testing.assert_allclose(special.ndtr(_t([-30.0])).numpy(), [4.906713927148187e-198], rtol=1e-12)
    x = _t([-3.0, -0.5, 0.0, 0.7, 2.5])
    np.testing.assert_allclose(special.ndtri(special.ndtr(x)).numpy(), x.numpy(), atol=1e-12)
    # The lower tail keeps full precision (torch 2.13's values).
    np.testing.assert_allclose(special.ndtri(_t([1e-300, 1e-20, 1e-10, 1e-4])).numpy(),
                               [-37.0470962993612, -9.262340089798409, -6.361340902404056, -3.7190164854556804],
                               rtol=1e-13)
    out = special.ndtri(_t([0.0, 1.0, -0.1, 1.5]))
    assert out[0].item() == -math.inf and out[1].item() == math.inf and np.isnan(out[2:].numpy()).all()


def test_ndtr_gradient_is_the_normal_density():
    x = _t([-1.0, 0.0, 2.0]).requires_grad_()
    special.ndtr(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(-x.detach().numpy() ** 2 / 2) / math.sqrt(2 * math.pi),
                               rtol=1e-13)
    p = _t([0.2, 0.5]).requires_grad_()
    special.ndtri(p).sum().backward()
    q = special.ndtri(p).detach().numpy()
    np.testing.assert_allclose(p.grad.numpy(), math.sqrt(2 * math.pi) * np.exp(q ** 2 / 2), rtol=1e-10)


def test_log_ndtr_tails():
    # torch 2.13's values
    expected = [-1254.8313611394199, -203.9171553710973, -15.064998393988727, -0.6931471805599453,
                -2.866516129637633e-07, -0.0]
    out = special.log_ndtr(_t([-50.0, -20.0, -5.0, 0.0, 5.0, 40.0]))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-13)
    # Continuous across the switch to the asymptotic series, with gradient -> -x in the tail.
    near = special.log_ndtr(_t([-20.0 - 1e-9, -20.0 + 1e-9])).numpy()
    assert abs(near[0] - near[1]) < 1e-6
    x = _t([-1000.0, -50.0]).requires_grad_()
    special.log_ndtr(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1000.001, 50.0199], rtol=1e-5)
    edge = special.log_ndtr(_t([-math.inf, math.inf, math.nan])).numpy()
    assert edge[0] == -math.inf and edge[1] == 0 and np.isnan(edge[2])


def test_xlog1py_edges_and_gradients():
    x, y = _t([0.0, 0.0, 0.0, 0.0, 2.0]), _t([-1.0, math.inf, math.nan, -3.0, 1.0])
    out = special.xlog1py(x, y).numpy()
    np.testing.assert_array_equal(out[[0, 1, 3]], [0.0, 0.0, 0.0])
    assert np.isnan(out[2]) and out[4] == pytest.approx(2 * math.log(2))
    # As torch: d/dx = log1p(y), also where x = 0 (but 0 where y <= -1); d/dy = x / (1 + y).
    x, y = _t([0.0, 0.0, 3.0]).requires_grad_(), _t([1.0, -2.0, 1.0]).requires_grad_()
    special.xlog1py(x, y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [math.log(2), 0.0, math.log(2)])
    np.testing.assert_allclose(y.grad.numpy(), [0.0, 0.0, 1.5])
    assert special.xlog1py(cr.tensor([1, 2]), 3).dtype == cr.float32
    with pytest.raises(TypeError, match="xlog1py"):
        special.xlog1py(1.0, 2.0)


def test_entr_edges():
    out = special.entr(_t([-1.0, 0.0, 0.5, math.nan, math.inf]))
    np.testing.assert_allclose(out.numpy()[:3], [-math.inf, 0.0, -0.5 * math.log(0.5)])
    assert np.isnan(out[3].item()) and out[4].item() == -math.inf
    x = _t([0.5, 2.0]).requires_grad_()
    special.entr(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -(np.log([0.5, 2.0]) + 1))
    assert special.entr(cr.tensor([1, 2])).dtype == cr.float32


def test_multigammaln():
    x = _t([2.5, 3.0, 7.25])
    np.testing.assert_allclose(special.multigammaln(x, 1).numpy(), cr.lgamma(x).numpy())
    # Gamma_2(a) = sqrt(pi) Gamma(a) Gamma(a - 1/2)
    np.testing.assert_allclose(special.multigammaln(x, 2).numpy(),
                               [0.5 * math.log(math.pi) + math.lgamma(v) + math.lgamma(v - 0.5)
                                for v in (2.5, 3, 7.25)],
                               rtol=1e-13)
    assert special.multigammaln(_t(3.0), 2).shape == ()
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        special.multigammaln(x, 0)
    with pytest.raises(TypeError, match="'p' must be int"):
        special.multigammaln(x, 2.0)


def test_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.uniform(-8, 8, 50)
    p = rng.uniform(1e-6, 1 - 1e-6, 50)
    cases = [("ndtr", x), ("log_ndtr", x), ("ndtri", p), ("entr", x), ("expit", x), ("psi", np.abs(x) + 0.1)]
    for name, v in cases:
        np.testing.assert_allclose(getattr(special, name)(_t(v)).numpy(),
                                   getattr(torch.special, name)(torch.tensor(v)).numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(special.xlog1py(_t(x), _t(p)).numpy(),
                               torch.special.xlog1py(torch.tensor(x), torch.tensor(p)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(special.multigammaln(_t(np.abs(x) + 2), 4).numpy(),
                               torch.special.multigammaln(torch.tensor(np.abs(x) + 2), 4).numpy(), rtol=1e-12)


def test_bessel_values_and_derivatives():
    x = _t([0.0, 1.0, -2.5, 49.9, 50.1, -300.0])
    # scipy.special.i0/i1 values
    np.testing.assert_allclose(cr.i0(_t([1.0, 2.5])).numpy(), [1.2660658777520082, 3.2898391440501231], rtol=1e-14)
    np.testing.assert_allclose(special.i1(_t([1.0, -2.5])).numpy(), [0.5651591039924851, -2.5167162452886984],
                               rtol=1e-14)
    np.testing.assert_allclose(special.i0e(x).numpy() * np.exp(np.abs(x.numpy())), cr.i0(x).numpy(), rtol=1e-13)
    np.testing.assert_allclose(special.i1e(x).numpy() * np.exp(np.abs(x.numpy())), special.i1(x).numpy(), rtol=1e-13)
    assert cr.i0(_t([800.0])).item() == math.inf and special.i0e(_t([math.inf])).item() == 0
    assert cr.tensor([1.0]).i0().item() == pytest.approx(1.2660658, rel=1e-6) and not hasattr(cr, "i1")
    y = _t([0.0, 0.7, -3.0]).requires_grad_()
    special.i1(y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), (cr.i0(y) - special.i1(y) / _t([1.0, 0.7, -3.0])).detach().numpy()
                               * np.array([0, 1, 1]) + np.array([0.5, 0, 0]), rtol=1e-13)


def test_bessel_against_torch():
    torch = pytest.importorskip("torch")
    x = np.concatenate([np.linspace(-60, 60, 241), [1e-8, -1e-3, 49.99, 50.01, 700.0, -700.0]])
    for name in ("i0", "i0e", "i1", "i1e"):
        np.testing.assert_allclose(getattr(special, name)(_t(x)).numpy(),
                                   getattr(torch.special, name)(torch.tensor(x)).numpy(), rtol=5e-15, atol=1e-300,
                                   err_msg=name)
        ours, ref = _t(x[:-2]).requires_grad_(), torch.tensor(x[:-2], requires_grad=True)
        getattr(special, name)(ours).sum().backward()
        getattr(torch.special, name)(ref).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy(), rtol=1e-12, atol=1e-15, err_msg=name)
