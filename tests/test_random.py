"""Random sampling: distributions (seeded sample means and variances within a few standard errors), shapes,
dtypes, reproducibility, ``generator=`` and torch's argument checks. chainrule does not reproduce torch's
random streams, only its distributions."""

import math

import numpy as np
import pytest

import chainrule as cr

N = 200_000


def _moments(t):
    a = t.double().numpy()
    return a.mean(), a.var()


def _assert_moments(t, mean, var, n=N):
    m, v = _moments(t)
    assert abs(m - mean) < 5 * math.sqrt(var / n) + 1e-12
    assert abs(v - var) < 0.05 * var + 1e-12


@pytest.fixture(autouse=True)
def seeded():
    cr.manual_seed(1234)


@pytest.mark.parametrize("fill, args, mean, var", [
    ("uniform_", (2.0, 5.0), 3.5, 9 / 12),
    ("normal_", (1.0, 2.0), 1.0, 4.0),
    ("exponential_", (2.0,), 0.5, 0.25),
    ("geometric_", (0.25,), 4.0, 0.75 / 0.25 ** 2),
    ("log_normal_", (0.0, 0.5), math.exp(0.125), (math.exp(0.25) - 1) * math.exp(0.25)),
    ("bernoulli_", (0.3,), 0.3, 0.21),
    ("random_", (3, 7), 4.5, (4 ** 2 - 1) / 12),
])
def test_in_place_fills_have_the_right_moments(fill, args, mean, var):
    x = cr.empty(N, dtype=cr.float64)
    assert getattr(x, fill)(*args) is x
    _assert_moments(x, mean, var)


def test_cauchy_median_and_quartiles():
    x = cr.empty(N).cauchy_(1.0, 2.0).numpy()
    q1, q2, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    assert abs(q2 - 1.0) < 0.05 and abs(q1 - (-1.0)) < 0.05 and abs(q3 - 3.0) < 0.05


def test_random_defaults_cover_the_dtype():
    x = cr.zeros(N, dtype=cr.int8).random_()
    assert x.dtype == cr.int8 and x.numpy().min() >= 0 and x.numpy().max() == 127
    b = cr.zeros(1000, dtype=cr.bool).random_()
    assert b.dtype == cr.bool and 0 < b.numpy().sum() < 1000
    r = cr.zeros(N).random_(10)
    assert set(np.unique(r.numpy())) == set(range(10))
    g = cr.zeros(N, dtype=cr.int64).geometric_(0.5)
    assert g.dtype == cr.int64 and g.numpy().min() == 1


def test_sampling_functions_have_the_right_moments():
    p = cr.full((N,), 0.7, dtype=cr.float64)
    _assert_moments(cr.bernoulli(p), 0.7, 0.21)
    _assert_moments(cr.bernoulli(p, 0.2), 0.2, 0.16)
    _assert_moments(cr.poisson(cr.full((N,), 3.0)), 3.0, 3.0)
    _assert_moments(cr.normal(cr.full((N,), 2.0), cr.full((N,), 0.5)), 2.0, 0.25)
    _assert_moments(cr.normal(-1.0, 3.0, (N,)), -1.0, 9.0)
    _assert_moments(cr.normal(cr.zeros(N)), 0.0, 1.0)
    _assert_moments(cr.normal(0.5, cr.full((N,), 2.0)), 0.5, 4.0)
    _assert_moments(cr.rand(N), 0.5, 1 / 12)
    _assert_moments(cr.randn(N, dtype=cr.float64), 0.0, 1.0)
    _assert_moments(cr.randint(-2, 3, (N,)), 0.0, 2.0)


def test_multinomial_frequencies():
    w = cr.tensor([1.0, 0.0, 3.0, 6.0])
    draws = cr.multinomial(w, N, replacement=True).numpy()
    freq = np.bincount(draws, minlength=4) / N
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.3, 0.6], atol=0.01)
    firsts = np.array([cr.multinomial(w, 1).item() for _ in range(3000)])
    np.testing.assert_allclose(np.bincount(firsts, minlength=4) / 3000, [0.1, 0.0, 0.3, 0.6], atol=0.03)
    rows = cr.multinomial(cr.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 2.0]]), 3)
    assert rows.dtype == cr.int64 and rows.shape == (2, 3)
    assert sorted(rows[0].tolist()[:2]) == [0, 1] and rows[0, 2].item() == 2  # weight-0 categories come last
    assert rows[1, 0].item() == 2 and sorted(rows[1].tolist()) == [0, 1, 2]


def test_shapes_and_dtypes():
    assert cr.bernoulli(cr.full((2, 3), 0.5, dtype=cr.float64)).dtype == cr.float64
    assert cr.poisson(cr.ones(2, 2, dtype=cr.float64)).dtype == cr.float64
    assert cr.normal(cr.zeros(2), cr.ones(2, 1)).shape == (2, 2)
    assert cr.normal(0.0, cr.ones(2, dtype=cr.float64)).dtype == cr.float64
    assert cr.normal(0.0, 1.0, (2, 3), dtype=cr.float64).dtype == cr.float64
    assert cr.normal(0.0, 1.0, (2,), requires_grad=True).requires_grad
    assert cr.randint(5, (3,)).dtype == cr.int64 and cr.randint(5, size=(3,)).shape == (3,)
    assert cr.randint(3, 10, (2,), dtype=cr.float32).dtype == cr.float32
    assert cr.randperm(5, dtype=cr.float32).dtype == cr.float32
    assert sorted(cr.randperm(6).tolist()) == list(range(6))
    x = cr.ones(2, 3, dtype=cr.float64)
    assert cr.rand_like(x).dtype == cr.float64 and cr.randn_like(x).shape == (2, 3)
    low = cr.randint_like(x, 5)
    assert low.dtype == cr.float64 and low.numpy().min() >= 0 and low.numpy().max() < 5
    assert cr.randint_like(x, 2, 5).numpy().min() >= 2
    assert x.multinomial(3, True).shape == (2, 3) and x.bernoulli().tolist() == [[1.0] * 3] * 2


def test_seeded_runs_repeat_and_generators_are_independent():
    def draw():
        x = cr.empty(5)
        return [cr.rand(3).tolist(), cr.bernoulli(cr.full((4,), 0.5)).tolist(), cr.multinomial(cr.ones(5), 5).tolist(),
                cr.poisson(cr.ones(3)).tolist(), cr.normal(0.0, 1.0, (2,)).tolist(), x.uniform_().tolist(),
                x.exponential_().tolist(), x.random_(100).tolist()]
    cr.manual_seed(7)
    first = draw()
    cr.manual_seed(7)
    assert draw() == first
    g = cr.Generator().manual_seed(3)
    a = cr.empty(4).normal_(generator=g).tolist()
    cr.manual_seed(0)
    g.manual_seed(3)
    assert cr.empty(4).normal_(generator=g).tolist() == a
    g.manual_seed(3)
    assert cr.multinomial(cr.ones(4), 4, generator=g).tolist() == cr.multinomial(
        cr.ones(4), 4, generator=cr.Generator().manual_seed(3)).tolist()
    state = cr.get_rng_state()
    before = cr.bernoulli(cr.full((8,), 0.5)).tolist()
    cr.set_rng_state(state)
    assert cr.bernoulli(cr.full((8,), 0.5)).tolist() == before


def test_samples_carry_no_gradient_and_leaves_refuse_in_place_fills():
    p = cr.full((3,), 0.5, requires_grad=True)
    assert not cr.bernoulli(p).requires_grad and not cr.normal(p, 1.0).requires_grad
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        cr.zeros(2, requires_grad=True).uniform_()
    with cr.no_grad():
        w = cr.zeros(2, requires_grad=True).uniform_()
    assert w.requires_grad and w.is_leaf


def test_vmap_randomness_modes_cover_the_new_functions():
    x = cr.zeros(4, 3)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        cr.vmap(lambda r: r + cr.normal(0.0, 1.0, (3,)))(x)
    same = cr.vmap(lambda r: r + cr.normal(0.0, 1.0, (3,)), randomness="same")(x)
    assert (same.numpy() == same.numpy()[0]).all()
    different = cr.vmap(lambda r: r + cr.poisson(cr.full((3,), 50.0)), randomness="different")(x)
    assert len({tuple(row) for row in different.numpy()}) > 1


@pytest.mark.parametrize("fn, error, match", [
    (lambda: cr.bernoulli(cr.full((2,), 1.5)), RuntimeError, "0 <= p_in <= 1"),
    (lambda: cr.bernoulli(cr.ones(2, dtype=cr.int64)), NotImplementedError, "not implemented for"),
    (lambda: cr.bernoulli(cr.ones(2), 2.0), RuntimeError, r"p to be in \[0, 1\]"),
    (lambda: cr.multinomial(cr.tensor([0., -1., 1.]), 1), RuntimeError, "element < 0"),
    (lambda: cr.multinomial(cr.tensor([0., float("inf")]), 1), RuntimeError, "inf"),
    (lambda: cr.multinomial(cr.tensor([0., 0.]), 1), RuntimeError, "sum of probabilities <= 0"),
    (lambda: cr.multinomial(cr.tensor([0., 1.]), 0), RuntimeError, "n_sample <= 0"),
    (lambda: cr.multinomial(cr.tensor([0., 1.]), 3), RuntimeError, "without replacement"),
    (lambda: cr.multinomial(cr.tensor(1.), 1), RuntimeError, "1 or 2 dim"),
    (lambda: cr.multinomial(cr.tensor([0, 1]), 1), RuntimeError, "floating-point dtypes"),
    (lambda: cr.poisson(cr.tensor([-1.])), RuntimeError, "non-negative"),
    (lambda: cr.poisson(cr.tensor([2, 3])), NotImplementedError, "poisson_cpu"),
    (lambda: cr.normal(cr.zeros(2), cr.ones(3)), RuntimeError, "do not broadcast"),
    (lambda: cr.normal(cr.zeros(2), -1.0), RuntimeError, "std >= 0.0"),
    (lambda: cr.normal(0.0, -1.0, (2,)), RuntimeError, "std >= 0.0"),
    (lambda: cr.normal(0.0, 1.0), TypeError, "invalid combination"),
    (lambda: cr.normal(cr.zeros(2, dtype=cr.int64), 1.0), NotImplementedError, "normal_kernel_cpu"),
    (lambda: cr.rand(2, dtype=cr.int64), NotImplementedError, "check_uniform_bounds"),
    (lambda: cr.randn(2, dtype=cr.int64), NotImplementedError, "normal_kernel_cpu"),
    (lambda: cr.rand_like(cr.ones(2, dtype=cr.int64)), NotImplementedError, "check_uniform_bounds"),
    (lambda: cr.randperm(-1), RuntimeError, "negative dimension"),
    (lambda: cr.randn(-1), RuntimeError, "negative dimension -1"),
    (lambda: cr.zeros(2, -3), RuntimeError, r"negative dimension -3: \[2, -3\]"),
    (lambda: cr.rand(2.5), TypeError, "non-negative integers"),
    (lambda: cr.zeros(3).uniform_(1, 0), RuntimeError, r"\[from, to\) range, but found from=1 > to=0"),
    (lambda: cr.zeros(3, dtype=cr.int64).uniform_(), NotImplementedError, "check_uniform_bounds"),
    (lambda: cr.zeros(3).normal_(0, -1), RuntimeError, "std >= 0.0"),
    (lambda: cr.zeros(3).exponential_(0), RuntimeError, "lambda > 0.0"),
    (lambda: cr.zeros(3).geometric_(1), RuntimeError, r"p to be in \(0, 1\)"),
    (lambda: cr.zeros(3).log_normal_(1, 0), RuntimeError, "std > 0.0"),
    (lambda: cr.zeros(3).cauchy_(0, 0), RuntimeError, "sigma > 0.0"),
    (lambda: cr.zeros(3).random_(5, 2), RuntimeError, "'from' to be less than 'to'"),
    (lambda: cr.zeros(3, dtype=cr.uint8).random_(-1, 5), RuntimeError, "out of bounds"),
    (lambda: cr.zeros(3, dtype=cr.float16).random_(0, 70000), RuntimeError, "out of bounds"),
    (lambda: cr.zeros(3).bernoulli_(2.0), RuntimeError, r"p to be in \[0, 1\]"),
    (lambda: cr.zeros(3).bernoulli_(cr.full((2, 3), 0.5)), RuntimeError, "must broadcast to the tensor's shape"),
])
def test_argument_errors(fn, error, match):
    with pytest.raises(error, match=match):
        fn()


def test_generator_argument_is_checked():
    assert cr.Generator().device == cr.device("cpu")
    with pytest.raises(TypeError, match="must be a chainrule.Generator"):
        cr.rand(2, generator=0)
    with pytest.raises(TypeError, match="must be a chainrule.Generator"):
        cr.zeros(2).normal_(generator="seed")


def test_keyword_from_and_bernoulli_tensor_probabilities():
    x = cr.zeros(N).uniform_(**{"from": 2.0, "to": 3.0})
    assert x.numpy().min() >= 2.0 and x.numpy().max() < 3.0
    y = cr.zeros(2, 3).bernoulli_(cr.tensor([0.0, 1.0, 0.0]))
    assert y.tolist() == [[0.0, 1.0, 0.0]] * 2
