"""chainrule.func.functional_call and stack_module_state, alone and with vmap and grad: per-sample gradients
of a model, ensembles of models, the empirical neural tangent kernel."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.func import functional_call, grad, jacrev, stack_module_state, vmap

from ..helpers import close, t64


def mlp(seed=0):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2)).double()


class Counter(nn.Module):
    """A buffer reassigned by forward, and a weight tied under two names."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(cr.ones(2, dtype=cr.float64))
        self.register_buffer("calls", cr.tensor(0.0, dtype=cr.float64))

    def forward(self, x):
        self.calls = self.calls + 1
        return x * self.weight * self.tied


def counter():
    module = Counter()
    module.tied = module.weight
    return module


# -- functional_call ----------------------------------------------------------------------------------

def test_substitutes_tensors_and_restores_the_module():
    model = mlp()
    before = {name: p for name, p in model.named_parameters()}
    x = t64(4, 3)
    new = {name: p.detach() * 2 for name, p in model.named_parameters()}
    w0, b0, w2, b2 = (new[k].numpy() for k in ("0.weight", "0.bias", "2.weight", "2.bias"))
    close(functional_call(model, new, (x,)), np.tanh(x.numpy() @ w0.T + b0) @ w2.T + b2)
    assert {name: p for name, p in model.named_parameters()} == before
    # a partial dict keeps the module's other tensors; two dicts combine; kwargs and a bare argument work
    half = {"2.bias": cr.zeros(2, dtype=cr.float64)}
    close(functional_call(model, half, x), model(x) - model[2].bias)
    close(functional_call(model, ({"0.weight": new["0.weight"]}, half), args=(), kwargs={"input": x}),
          functional_call(model, {"0.weight": new["0.weight"], **half}, x))


def test_restores_the_module_when_the_call_raises():
    model = mlp()
    weight = model[0].weight
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        functional_call(model, {"0.weight": cr.zeros(5, 5, dtype=cr.float64)}, t64(4, 3))
    assert model[0].weight is weight


def test_buffers_tied_weights_and_strict():
    module = counter()
    calls, weight = module.calls, module.weight
    given = {"calls": cr.tensor(10.0, dtype=cr.float64), "weight": cr.full((2,), 3.0, dtype=cr.float64)}
    close(functional_call(module, given, cr.ones(2, dtype=cr.float64)), [9.0, 9.0])  # tied follows weight
    assert module.calls is calls and module.weight is weight and module.tied is weight
    close(given["calls"], 11.0)  # the reassigned buffer comes back in the dict, as in torch
    close(functional_call(module, {"weight": cr.full((2,), 3.0, dtype=cr.float64)}, cr.ones(2, dtype=cr.float64),
                          tie_weights=False), [3.0, 3.0])
    with pytest.raises(ValueError, match="which are tied"):
        functional_call(module, {"weight": cr.ones(2), "tied": cr.zeros(2)}, cr.ones(2))
    with pytest.raises(RuntimeError, match=r"Missing key\(s\): 'calls'"):
        functional_call(module, {"weight": cr.ones(2, dtype=cr.float64)}, cr.ones(2), strict=True)
    with pytest.raises(RuntimeError, match=r"Unexpected key\(s\): 'extra'"):
        functional_call(module, {"weight": cr.ones(2), "calls": cr.tensor(0.0), "extra": cr.ones(1)}, cr.ones(2),
                        strict=True)


def test_argument_errors():
    model = mlp()
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        functional_call(model, ({"0.bias": cr.zeros(8)}, {"0.bias": cr.zeros(8)}), t64(1, 3))
    with pytest.raises(ValueError, match="to be dictionaries"):
        functional_call(model, [("0.bias", cr.zeros(8))], t64(1, 3))
    with pytest.raises(ValueError, match="to be a dict, or a list/tuple of dicts"):
        functional_call(model, "0.bias", t64(1, 3))
    with pytest.raises(TypeError, match="must be a Tensor"):
        functional_call(model, {"0.bias": np.zeros(8)}, t64(1, 3))
    with pytest.raises(AttributeError):
        functional_call(model, {"5.bias": cr.zeros(8)}, t64(1, 3))


# -- with the transforms ------------------------------------------------------------------------------

def test_per_sample_gradients_of_an_mlp_equal_a_loop_of_backward_passes():
    model = mlp()
    params = {name: p.detach() for name, p in model.named_parameters()}
    x, y = t64(6, 3, seed=1), t64(6, 2, seed=2)

    def compute_loss(params, x, y):
        out = functional_call(model, params, (x.unsqueeze(0),))
        return nn.functional.mse_loss(out, y.unsqueeze(0))

    per_sample = vmap(grad(compute_loss), in_dims=(None, 0, 0))(params, x, y)
    for b in range(6):
        model.zero_grad()
        nn.functional.mse_loss(model(x[b:b + 1]), y[b:b + 1]).backward()
        for name, p in model.named_parameters():
            close(per_sample[name][b], p.grad)


def test_an_ensemble_in_one_call_equals_each_model():
    models = [mlp(seed) for seed in range(4)]
    params, buffers = stack_module_state(models)
    assert params["0.weight"].shape == (4, 8, 3) and buffers == {}
    assert all(p.requires_grad and p.is_leaf for p in params.values())
    x = t64(5, 3)
    out = vmap(lambda p, b, x: functional_call(models[0], (p, b), (x,)), in_dims=(0, 0, None))(params, buffers, x)
    for k, model in enumerate(models):
        close(out[k], model(x))
    # the stacked parameters are trainable leaves: their gradient reaches every member
    out.sum().backward()
    assert params["2.bias"].grad.shape == (4, 2)
    close(params["2.bias"].grad, np.full((4, 2), 5.0))


def test_stack_module_state_errors():
    with pytest.raises(RuntimeError, match="at least one model"):
        stack_module_state([])
    with pytest.raises(RuntimeError, match="same class"):
        stack_module_state([mlp(), nn.Linear(3, 2)])
    with pytest.raises(RuntimeError, match="training/eval mode"):
        stack_module_state([mlp(), mlp().eval()])
    frozen = mlp()
    frozen[0].weight.requires_grad_(False)
    with pytest.raises(RuntimeError, match="0.weight from each model to have the same .requires_grad"):
        stack_module_state([mlp(), frozen])


def test_empirical_ntk():
    model = mlp()
    params = {name: p.detach() for name, p in model.named_parameters()}
    x1, x2 = t64(3, 3, seed=1), t64(2, 3, seed=2)

    def f(params, x):
        return functional_call(model, params, (x.unsqueeze(0),)).squeeze(0)

    def jacobians(x):  # per sample: {name: (outputs, *param.shape)}
        return vmap(jacrev(f), in_dims=(None, 0))(params, x)

    j1, j2 = jacobians(x1), jacobians(x2)
    ntk = sum(cr.einsum("Naf,Mbf->NMab", j1[k].flatten(2), j2[k].flatten(2)) for k in params)
    assert ntk.shape == (3, 2, 2, 2)
    for n in range(3):
        for m in range(2):
            rows = [jacrev(f)(params, x[i]) for x, i in ((x1, n), (x2, m))]
            flat = [np.concatenate([r[k].numpy().reshape(2, -1) for k in params], axis=1) for r in rows]
            close(ntk[n, m], flat[0] @ flat[1].T)


def test_matches_torch_func():
    torch = pytest.importorskip("torch")
    model = mlp()
    x, y = t64(5, 3, seed=1), t64(5, 2, seed=2)
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    tparams = {name: torch.from_numpy(p.detach().numpy().copy()) for name, p in model.named_parameters()}

    def tloss(params, x, y):
        out = torch.func.functional_call(tmodel, params, (x.unsqueeze(0),))
        return torch.nn.functional.mse_loss(out, y.unsqueeze(0))

    def loss(params, x, y):
        return nn.functional.mse_loss(functional_call(model, params, (x.unsqueeze(0),)), y.unsqueeze(0))

    expected = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0))(
        tparams, torch.from_numpy(x.numpy()), torch.from_numpy(y.numpy()))
    got = vmap(grad(loss), in_dims=(None, 0, 0))({k: p.detach() for k, p in model.named_parameters()}, x, y)
    for name in tparams:
        close(got[name], expected[name].numpy())
