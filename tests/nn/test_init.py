"""nn.init: bounds and statistics of each initialiser, gains, fans, generators, and no graph recorded."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import init


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "0.1")


def test_fans_count_the_receptive_field():
    assert init._calculate_fan_in_and_fan_out(cr.empty(30, 20)) == (20, 30)
    assert init._calculate_fan_in_and_fan_out(cr.empty(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(cr.empty(5))


def test_uniform_normal_constant_in_place_without_graph():
    w = nn.Parameter(cr.empty(200, 100))
    assert init.uniform_(w, -2.0, 3.0) is w
    data = w.detach().numpy()
    assert data.min() >= -2.0 and data.max() < 3.0 and abs(data.mean() - 0.5) < 0.05
    assert w.is_leaf and w.grad_fn is None and w.dtype == cr.float32
    init.normal_(w, 1.0, 0.5)
    assert abs(w.detach().numpy().mean() - 1.0) < 0.01 and abs(w.detach().numpy().std() - 0.5) < 0.01
    init.constant_(w, 0.3)
    np.testing.assert_allclose(w.detach().numpy(), 0.3)
    init.ones_(w), np.testing.assert_array_equal(w.detach().numpy(), 1.0)
    init.zeros_(w), np.testing.assert_array_equal(w.detach().numpy(), 0.0)
    init.eye_(w)
    np.testing.assert_array_equal(w.detach().numpy(), np.eye(200, 100))


@pytest.mark.parametrize("fn, kwargs, std", [
    (init.xavier_uniform_, dict(gain=2.0), 2.0 * math.sqrt(2 / (300 + 200))),
    (init.xavier_normal_, dict(), math.sqrt(2 / (300 + 200))),
    (init.kaiming_uniform_, dict(nonlinearity="relu"), math.sqrt(2 / 200)),
    (init.kaiming_normal_, dict(mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 300)),
])
def test_scaled_initialisers_have_the_right_spread(fn, kwargs, std):
    cr.manual_seed(0)
    w = fn(cr.empty(300, 200), **kwargs).numpy()
    assert w.std() == pytest.approx(std, rel=0.02)
    if "uniform" in fn.__name__:
        assert np.abs(w).max() <= math.sqrt(3) * std * (1 + 1e-6)


def test_generator_makes_initialisation_reproducible():
    a = init.kaiming_uniform_(cr.empty(4, 4), generator=cr.Generator().manual_seed(7)).numpy()
    b = init.kaiming_uniform_(cr.empty(4, 4), generator=cr.Generator().manual_seed(7)).numpy()
    np.testing.assert_array_equal(a, b)
    cr.manual_seed(3)
    c = nn.Linear(4, 4).weight.detach().numpy()
    cr.manual_seed(3)
    np.testing.assert_array_equal(c, nn.Linear(4, 4).weight.detach().numpy())


def test_kaiming_errors_and_empty_tensors():
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(cr.empty(3, 3), mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(cr.empty(0, 3))
