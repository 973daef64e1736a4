"""chainrule.testing.assert_close: torch's default tolerances by dtype, its checks and its messages."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import assert_close


def test_close_values_pass_with_dtype_tolerances():
    assert_close(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0 + 1e-6]))  # float32: rtol 1.3e-6, atol 1e-5
    with pytest.raises(AssertionError):
        assert_close(cr.tensor([1.0], dtype=cr.float64), cr.tensor([1.0 + 1e-6], dtype=cr.float64))
    assert_close(cr.tensor([1.0], dtype=cr.float16), cr.tensor([1.0009765625], dtype=cr.float16))
    with pytest.raises(AssertionError, match="not equal"):
        assert_close(cr.tensor([1, 2]), cr.tensor([1, 3]))
    assert_close(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.05]), rtol=0.1, atol=0)


def test_mismatch_message_is_torchs():
    with pytest.raises(AssertionError) as info:
        assert_close(cr.tensor([1., 2., 3.]), cr.tensor([1., 2.1, 3.]))
    assert str(info.value) == (
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 3 (33.3%)\n"
        "Greatest absolute difference: 0.09999990463256836 at index (1,) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.04761900380253792 at index (1,) (up to 1.3e-06 allowed)")
    with pytest.raises(AssertionError) as info:
        assert_close(cr.tensor([1, 2, 3]), cr.tensor([1, 2, 4]))
    assert str(info.value) == ("Tensor-likes are not equal!\n\nMismatched elements: 1 / 3 (33.3%)\n"
                               "Greatest absolute difference: 1 at index (2,)\n"
                               "Greatest relative difference: 0.25 at index (2,)")
    with pytest.raises(AssertionError, match=r"at index \(1, 1\)"):
        assert_close(cr.tensor([[1., 2.], [3., 4.]]), cr.tensor([[1., 2.], [3., 5.]]))


def test_shape_dtype_and_nan_checks():
    with pytest.raises(AssertionError, match="attribute 'shape' do not match"):
        assert_close(cr.ones(2), cr.ones(3))
    with pytest.raises(AssertionError, match="'dtype' do not match: chainrule.float32 != chainrule.float64"):
        assert_close(cr.ones(2), cr.ones(2, dtype=cr.float64))
    assert_close(cr.ones(2), cr.ones(2, dtype=cr.float64), check_dtype=False)
    nan = cr.tensor([math.nan, 1.0])
    with pytest.raises(AssertionError, match="Greatest absolute difference: nan at index"):
        assert_close(nan, nan)
    assert_close(nan, nan, equal_nan=True)
    assert_close(cr.tensor([math.inf]), cr.tensor([math.inf]))
    assert_close(cr.ones(2, requires_grad=True), cr.ones(2))


def test_scalars_containers_and_custom_messages():
    with pytest.raises(AssertionError) as info:
        assert_close(1.0, 1.1)
    assert str(info.value) == ("Scalars are not close!\n\nExpected 1.1 but got 1.0.\n"
                               "Absolute difference: 0.10000000000000009 (up to 1e-07 allowed)\n"
                               "Relative difference: 0.09090909090909098 (up to 1e-07 allowed)")
    with pytest.raises(AssertionError, match="Scalars are not equal!"):
        assert_close(1, 2)
    with pytest.raises(AssertionError, match="^Booleans mismatch: True is not False$"):
        assert_close(True, False)
    with pytest.raises(AssertionError, match="Greatest relative difference: 0.3333333432674408 at index"):
        assert_close(cr.tensor([[1, 2]]), cr.tensor([[1, 3]]))  # as torch: in the default float dtype
    with pytest.raises(AssertionError) as info:
        assert_close(cr.tensor(1.), cr.tensor(1.5))
    assert str(info.value) == ("Scalars are not close!\n\nExpected 1.5 but got 1.0.\n"
                               "Absolute difference: 0.5 (up to 1e-05 allowed)\n"
                               "Relative difference: 0.3333333333333333 (up to 1.3e-06 allowed)")
    assert_close(cr.tensor(1.), cr.tensor(1.000001))
    with pytest.raises(AssertionError, match="Greatest absolute difference: inf at index"):
        assert_close(cr.tensor([math.inf]), cr.tensor([1.0]))
    with pytest.raises(AssertionError, match=r"The failure occurred for item \['a'\]\[1\]"):
        assert_close({"a": [cr.ones(1), cr.ones(1)]}, {"a": [cr.ones(1), cr.zeros(1)]})
    with pytest.raises(AssertionError, match="length of the sequences"):
        assert_close([1.0], [1.0, 2.0])
    with pytest.raises(AssertionError, match="^custom$"):
        assert_close(cr.ones(1), cr.zeros(1), msg="custom")
    with pytest.raises(AssertionError, match="^wrapped: Tensor-likes"):
        assert_close(cr.ones(1), cr.zeros(1), msg=lambda m: "wrapped: " + m)


def test_numpy_arrays_compare_with_arrays():
    assert_close(np.array([1.0]), np.array([1.0]))
    with pytest.raises(AssertionError, match=r"\(up to 1e-07 allowed\)"):
        assert_close(np.array([1.0]), np.array([2.0]))
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(cr.ones(1, dtype=cr.float64), np.ones(1))


def test_argument_errors():
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol' must be either specified or omitted, but got no atol"):
        assert_close(cr.ones(1), cr.ones(1), rtol=0)
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(cr.ones(1), 1.0)
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close("a", "a")
