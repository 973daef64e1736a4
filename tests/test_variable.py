"""``chainrule.autograd.Variable``: torch's deprecated wrapper still imports and makes plain tensors."""

import pytest

import chainrule as cr
from chainrule.autograd import Variable


def test_variable_is_a_leaf_tensor_sharing_memory():
    data = cr.tensor([1.0, 2.0, 3.0])
    x = Variable(data, requires_grad=True)
    assert type(x) is cr.Tensor and x.is_leaf and x.requires_grad
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    data[0] = 5.0
    assert x[0].item() == 5.0 and not data.requires_grad


def test_variable_defaults_isinstance_and_errors():
    assert not Variable(cr.ones(2)).requires_grad
    assert Variable().shape == (0,)
    assert isinstance(cr.ones(1), Variable) and not isinstance([1.0], Variable)
    with pytest.warns(UserWarning, match="volatile was removed"):
        Variable(cr.ones(2), volatile=True)
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
        Variable([1.0, 2.0])
    with pytest.raises(RuntimeError, match="floating point"):
        Variable(cr.tensor([1, 2]), requires_grad=True)
