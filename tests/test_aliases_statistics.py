"""ops/aliases.py and ops/statistics.py: torch's further names (fix, not_equal, positive, clamp_min/max, dist,
mvlgamma) with their methods and in-place forms; cov and corrcoef with weights, errors and torch's values."""

import math

import numpy as np
import pytest

import chainrule as cr


def test_aliases_and_methods():
    x = cr.tensor([-1.5, 0.5, 2.75])
    np.testing.assert_array_equal(cr.fix(x).numpy(), [-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(x.not_equal(0.5).numpy(), [True, False, True])
    np.testing.assert_array_equal(x.clamp_min(0.0).numpy(), [0.0, 0.5, 2.75])
    np.testing.assert_array_equal(x.clamp_max(cr.tensor([0.0, 0.0, 3.0])).numpy(), [-1.5, 0.0, 2.75])
    assert cr.positive(x) is x and x.positive() is x and cr.negative(x).tolist() == (-x).tolist()
    assert cr.tensor([1.7, -1.2]).byte().dtype == cr.uint8 and cr.tensor([1.7, -1.2]).char().tolist() == [1, -1]
    with pytest.raises(RuntimeError, match="The `\\+` operator, on a bool tensor is not supported."):
        cr.positive(cr.tensor([True]))
    assert cr.dist(cr.tensor([0.0, 0.0]), cr.tensor([3.0, 4.0])).item() == 5.0
    assert cr.tensor([[1.0, 2.0]]).dist(cr.tensor([1.0, 0.0]), p=1).item() == 2.0


def test_inplace_forms():
    x = cr.tensor([-1.5, 0.5, 2.7])
    assert x.fix_() is x and x.tolist() == [-1.0, 0.0, 2.0]
    x.clamp_min_(0.0).clamp_max_(1.0)
    assert x.tolist() == [0.0, 0.0, 1.0]
    x.not_equal_(0.0)
    assert x.tolist() == [0.0, 0.0, 1.0] and x.dtype == cr.float32
    y = cr.tensor([2.5, 3.0])
    y.mvlgamma_(2)
    np.testing.assert_allclose(y.numpy(), [0.5 * math.log(math.pi) + math.lgamma(v) + math.lgamma(v - 0.5)
                                           for v in (2.5, 3.0)], rtol=1e-6)


def test_mvlgamma_checks_p():
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        cr.mvlgamma(cr.tensor([3.0]), 0)
    with pytest.raises(TypeError, match="'p' must be int"):
        cr.mvlgamma(cr.tensor([3.0]), 1.5)
    assert cr.mvlgamma(cr.tensor([2, 3]), 1).dtype == cr.float32


def test_cov_closed_forms():
    x = cr.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.5]], dtype=cr.float64)
    np.testing.assert_allclose(cr.cov(x).numpy(), [[1.0, -0.75], [-0.75, 7 / 12]])
    np.testing.assert_allclose(cr.cov(x, correction=0).numpy(), np.cov(x.numpy(), ddof=0))
    assert cr.cov(x[0]).shape == () and cr.cov(x[0]).item() == 1.0
    assert cr.cov(x[:1]).shape == (1, 1)
    np.testing.assert_allclose(cr.corrcoef(x).numpy(), np.corrcoef(x.numpy()))
    assert math.isnan(cr.corrcoef(cr.tensor([1.0, 1.0, 1.0])).item())
    assert cr.cov(cr.tensor([[1, 2, 3]])).dtype == cr.float32
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        assert np.isnan(cr.cov(cr.zeros(2, 1)).numpy()).all()


def test_cov_gradient():
    x = cr.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.5]], dtype=cr.float64, requires_grad=True)
    cr.cov(x)[0, 0].backward()  # d var(row 0) / d x = 2 (x - mean) / (N - 1)
    np.testing.assert_allclose(x.grad.numpy(), [[-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])


def test_cov_errors():
    with pytest.raises(RuntimeError, match="expected input to have two or fewer dimensions but got an input with 3"):
        cr.cov(cr.zeros(2, 2, 2))
    with pytest.raises(RuntimeError, match="expected fweights to have integral dtype"):
        cr.cov(cr.zeros(2, 3), fweights=cr.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="expected aweights to have floating point dtype"):
        cr.cov(cr.zeros(2, 3), aweights=cr.tensor([1, 2, 3]))
    with pytest.raises(RuntimeError, match="same numel as there are observations in the input but got 2 != 3"):
        cr.cov(cr.zeros(2, 3), fweights=cr.tensor([1, 2]))


def test_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 9))
    fw, aw = rng.integers(1, 4, 9), rng.uniform(0.1, 2, 9)
    for kwargs in ({}, {"correction": 0}, {"correction": 2, "fweights": fw}, {"aweights": aw},
                   {"correction": 1, "fweights": fw, "aweights": aw}):
        got = cr.cov(cr.tensor(x), **{k: cr.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})
        want = torch.cov(torch.tensor(x), **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                            for k, v in kwargs.items()})
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, err_msg=str(kwargs))
    np.testing.assert_allclose(cr.corrcoef(cr.tensor(x)).numpy(), torch.corrcoef(torch.tensor(x)).numpy(), rtol=1e-12)
    for p in (0, 1, 2, 3.5, math.inf):
        assert cr.dist(cr.tensor(x[0]), cr.tensor(x[1]), p).item() == pytest.approx(
            torch.dist(torch.tensor(x[0]), torch.tensor(x[1]), p).item(), rel=1e-12)
    np.testing.assert_allclose(cr.mvlgamma(cr.tensor(x[0] ** 2 + 3), 4).numpy(),
                               torch.mvlgamma(torch.tensor(x[0] ** 2 + 3), 4).numpy(), rtol=1e-12)


def test_renorm():
    x = cr.tensor([[3.0, 4.0], [0.3, 0.4]])
    np.testing.assert_allclose(cr.renorm(x, 2, 0, 1.0).numpy(), [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)
    y = x.clone()
    assert y.renorm_(1, 1, 1.0) is y
    np.testing.assert_allclose(y.numpy(), [[3 / 3.3, 4 / 4.4], [0.3 / 3.3, 0.4 / 4.4]], rtol=1e-6)
    with pytest.raises(RuntimeError, match="input needs at least 2 dimensions, got 1 dimensions"):
        cr.renorm(cr.ones(3), 2, 0, 1.0)
    with pytest.raises(RuntimeError, match="non-positive-norm not supported"):
        cr.renorm(x, 0, 0, 1.0)
    with pytest.raises(RuntimeError, match="expected maxnorm to be >= 0"):
        cr.renorm(x, 2, 0, -1.0)


def test_renorm_gradient_against_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((3, 4, 2))
    ours, ref = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    weights = np.random.default_rng(2).standard_normal((3, 4, 2))
    (cr.renorm(ours, 3, 1, 1.2) * cr.tensor(weights)).sum().backward()
    (torch.renorm(ref, 3, 1, 1.2) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy(), rtol=1e-10, atol=1e-12)
