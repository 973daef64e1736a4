"""torch's ``out=`` keyword on the public functions: results written into given tensors, torch's rules."""

import warnings

import numpy as np
import pytest

import chainrule as cr


def test_out_receives_the_result_and_is_returned():
    a, b = cr.randn(2, 3), cr.randn(3, 4)
    out = cr.empty(2, 4)
    assert cr.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out.numpy(), a.numpy() @ b.numpy(), rtol=1e-6)
    x = cr.tensor([1.0, 2.0])
    total = cr.empty(())
    cr.sum(x, out=total)
    assert total.item() == 3.0 and total._version == 1


def test_out_may_have_a_wider_dtype_but_not_a_narrower_category():
    x = cr.tensor([1.0, 2.0])
    wide = cr.empty(2, dtype=cr.float64)
    cr.add(x, x, out=wide)
    assert wide.dtype == cr.float64 and wide.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        cr.add(x, x, out=cr.empty(2, dtype=cr.int64))


def test_a_wrong_shape_is_resized_with_torchs_warning_and_an_empty_one_silently():
    x = cr.ones(3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = cr.exp(x, out=cr.empty(5))
        cr.exp(x, out=cr.empty(0))
    assert out.shape == (3,) and len(caught) == 1 and "was resized" in str(caught[0].message)


def test_out_refuses_autograd_and_non_tensors_and_wrong_counts():
    w = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        cr.mul(w, w, out=cr.empty(2))
    with cr.no_grad():
        cr.mul(w, w, out=cr.empty(2))
    with pytest.raises(TypeError, match="argument 'out' must be Tensor"):
        cr.add(cr.ones(2), 1, out=[1.0])
    with pytest.raises(TypeError, match="out= takes 2 tensor"):
        cr.max(cr.ones(2, 2), dim=0, out=cr.empty(2))


def test_tuple_results_fill_a_tuple_of_outs():
    x = cr.tensor([[1.0, 5.0], [3.0, 2.0]])
    values, indices = cr.empty(2), cr.empty(2, dtype=cr.int64)
    cr.max(x, dim=0, out=(values, indices))
    assert values.tolist() == [3.0, 5.0] and indices.tolist() == [1, 0]
