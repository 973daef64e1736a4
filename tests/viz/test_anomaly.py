"""chainrule.autograd.detect_anomaly: the first NaN/inf gradient names its op, the user line that created it
and the local-gradient term that went non-finite."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly

pytestmark = [pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]


def test_log_at_zero_names_the_op_the_local_gradient_and_the_creating_line():
    x = cr.tensor(0.0, requires_grad=True)
    with detect_anomaly():
        y = x.log() * 3   # the line anomaly mode must point at
        with pytest.raises(RuntimeError) as error:
            y.backward()
    message = str(error.value)
    assert "Function 'LogBackward0' returned inf values in its 0th output" in message
    assert "log: local gradient 1/x is inf at x = 0; times upstream 3 that gives inf" in message
    assert "test_anomaly.py:" in message and "(in test_log_at_zero_names_the_op" in message
    assert "y = x.log() * 3   # the line anomaly mode must point at" in message


def test_where_trap_is_recognised_and_the_fix_suggested():
    x = cr.tensor([0.0, 2.0], requires_grad=True)
    with detect_anomaly():
        y = cr.where(x > 0, x.log(), 0.0).sum()
        with pytest.raises(RuntimeError) as error:
            y.backward()
    message = str(error.value)
    assert "Function 'LogBackward0' returned nan values in its 0th output" in message
    assert "log: local gradient 1/x is inf at x = 0 (element (0,), 1 of 2 non-finite)" in message
    assert "upstream gradient there is 0, so 0 * inf = nan" in message
    assert "This is the where trap" in message
    assert "where(x > 0, x, 1).log()" in message and "x.clamp(min=eps).log()" in message
    assert "y = cr.where(x > 0, x.log(), 0.0).sum()" in message
    # the suggested fix gives a finite gradient
    x.grad = None
    with detect_anomaly():
        cr.where(x > 0, cr.where(x > 0, x, 1.0).log(), 0.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5])


def test_overflow_and_division_words():
    x = cr.tensor(1000.0, requires_grad=True, dtype=cr.float64)
    with detect_anomaly(), pytest.raises(RuntimeError, match=r"exp: local gradient exp\(x\) is inf at exp\(x\) = inf"):
        x.exp().backward()
    a = cr.tensor(1.0, requires_grad=True)
    b = cr.tensor(0.0, requires_grad=True)
    with detect_anomaly(), pytest.raises(RuntimeError, match="div: local gradient 1/y is inf at x = 1, y = 0"):
        (a / b).backward()


def test_a_custom_function_is_named_by_its_backward():
    class Bad(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = cr.tensor(1.0, requires_grad=True)
    with detect_anomaly():
        y = Bad.apply(x)
        with pytest.raises(RuntimeError, match="Function 'BadBackward' returned nan values") as error:
            y.backward()
    assert "y = Bad.apply(x)" in str(error.value)


def test_nodes_made_before_anomaly_mode_say_so():
    x = cr.tensor(0.0, requires_grad=True)
    y = x.log()
    with detect_anomaly(), pytest.raises(RuntimeError, match="created before anomaly mode was enabled"):
        y.backward()


def test_off_by_default_and_check_nan_false_only_records():
    x = cr.tensor(0.0, requires_grad=True)
    x.log().backward()   # no anomaly mode: the inf gradient goes through silently
    assert x.grad.item() == float("inf")
    assert not is_anomaly_enabled()
    with detect_anomaly(check_nan=False):
        assert is_anomaly_enabled() and not is_anomaly_check_nan_enabled()
        y = x.log()
        y.backward()
    assert "y = x.log()" in str(y.grad_fn.creation)
    assert not is_anomaly_enabled() and is_anomaly_check_nan_enabled()


def test_detect_anomaly_warns_like_torch_and_set_detect_anomaly_is_a_switch_and_a_context():
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with detect_anomaly():
            pass
    set_detect_anomaly(True)
    try:
        assert is_anomaly_enabled()
    finally:
        set_detect_anomaly(False)
    assert not is_anomaly_enabled()
    with set_detect_anomaly(True):
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()
    assert cr.autograd.detect_anomaly is detect_anomaly


def test_local_term_is_tie_aware_as_torch_splits_a_max_or_min():
    from chainrule.autograd.anomaly import local_gradients, local_term

    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = cr.tensor([1.0, 3.0, 2.0], requires_grad=True)
    names = {"x": "x", "y": "y"}
    top, low = cr.maximum(x, y).grad_fn, cr.minimum(x, y).grad_fn
    assert local_term(top, 0, names) == "[x > y] + 0.5 [x == y]"
    assert local_term(top, 1, names) == "[y > x] + 0.5 [x == y]"
    assert local_term(low, 0, names) == "[x < y] + 0.5 [x == y]"
    # the term's value is what the VJP gives (torch: maximum sends half the gradient to each input at a tie)
    np.testing.assert_array_equal(local_gradients(top, np.ones(3))[0], [0.5, 0.0, 1.0])
    apart = cr.maximum(x, y + 10).grad_fn
    assert local_term(apart, 0, names) == "[x > y]"   # no tie, the declared indicator as it is
