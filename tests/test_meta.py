"""The "meta" device: tensors with a shape and a dtype and no data; ops compute output shapes and dtypes only."""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.func import functional_call, stack_module_state, vmap


def test_meta_tensors_carry_shape_and_dtype_through_ops_and_print_as_torchs():
    x = cr.empty(3, 4, device="meta")
    w = cr.randn(4, 2, dtype=cr.float64).to("meta")
    out = (x.double() @ w).relu().sum(1)
    assert out.device == cr.device("meta") and out.shape == (3,) and out.dtype == cr.float64
    assert x.device.type == "meta" and x.to("meta") is x
    assert repr(x) == "tensor(..., device='meta', size=(3, 4))"
    assert repr(cr.empty(2, dtype=cr.int64, device="meta")) == \
        "tensor(..., device='meta', size=(2,), dtype=chainrule.int64)"
    x.add_(1)  # NOTE: in place on meta does nothing, as in torch
    assert x._version == 1


@pytest.mark.parametrize("read", [lambda t: t.tolist(), lambda t: t.numpy(), lambda t: bool(t.sum() > 0),
                                  lambda t: t.to("cpu"), lambda t: t.item()])
def test_reading_a_meta_tensors_values_raises(read):
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor"):
        read(cr.empty(1, device="meta"))


def test_gradients_on_meta_have_the_right_shapes():
    w = cr.empty(3, 2, device="meta", requires_grad=True)
    (cr.empty(5, 3, device="meta") @ w).tanh().sum().backward()
    assert w.grad.device.type == "meta" and w.grad.shape == (3, 2)


def test_module_to_meta_and_to_empty():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
    model.to("meta")
    assert all(p.device.type == "meta" for p in model.parameters())
    assert model(cr.empty(5, 4, device="meta")).shape == (5, 2)
    model.to_empty(device="cpu")
    assert all(p.device.type == "cpu" and p.detach().numpy().shape == tuple(p.shape) for p in model.parameters())


def test_the_torch_func_model_ensembling_recipe_runs_end_to_end():
    cr.manual_seed(0)
    models = [nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)) for _ in range(4)]
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    def fmodel(params, buffers, x):
        return functional_call(base, (params, buffers), (x,))

    x = cr.randn(5, 6)
    predictions = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
    expected = np.stack([m(x).detach().numpy() for m in models])
    np.testing.assert_allclose(predictions.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
