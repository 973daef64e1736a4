"""Containers and utilities: ParameterList, ParameterDict, Bilinear, Identity, EmbeddingBag,
parameters_to_vector, parametrizations (weight_norm, spectral_norm, register_parametrization) and the Module
traversal helpers, against closed forms, NumPy and (optionally) torch."""

import copy

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.nn.utils import parameters_to_vector, parametrizations, parametrize

from ..opdb.nn_attention import np_embedding_bag

RNG = np.random.default_rng(0)


def t64(a, requires_grad=False):
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


# -- ParameterList / ParameterDict -------------------------------------------------------------------------

def test_parameter_list_registers_and_wraps_tensors():
    params = nn.ParameterList([nn.Parameter(cr.randn(2, 3)), cr.randn(3)])
    params.append(cr.ones(1))
    params += [nn.Parameter(cr.zeros(4))]
    assert len(params) == 4 and all(isinstance(p, nn.Parameter) for p in params)
    assert [n for n, _ in params.named_parameters()] == ["0", "1", "2", "3"]
    assert list(params.state_dict()) == ["0", "1", "2", "3"]
    assert params[-1] is params[3] and isinstance(params[1:3], nn.ParameterList) and len(params[1:3]) == 2
    params[0] = cr.full((2,), 5.0)
    assert isinstance(params[0], nn.Parameter) and params[0].tolist() == [5.0, 5.0]
    assert repr(nn.ParameterList([nn.Parameter(cr.zeros(2, 3))])) == (
        "ParameterList(  (0): Parameter containing: [chainrule.float32 of size 2x3])")
    with pytest.raises(IndexError):
        params[4]
    with pytest.raises(TypeError, match="iterable"):
        params.extend(cr.ones(2))
    with pytest.raises(RuntimeError, match="should not be called"):
        params()
    model = nn.Module()
    model.weights = nn.ParameterList([cr.ones(2), cr.ones(2)])
    sum(model.weights).sum().backward()
    assert all(p.grad.tolist() == [1.0, 1.0] for p in model.parameters())


def test_parameter_dict_behaves_as_torchs():
    params = nn.ParameterDict({"b": cr.ones(2), "a": nn.Parameter(cr.zeros(3))})  # a plain dict: sorted keys
    assert list(params.keys()) == ["a", "b"] and isinstance(params["b"], nn.Parameter)
    params["c"] = cr.ones(1)
    assert list(params.state_dict()) == ["a", "b", "c"] and "c" in params and len(params) == 3
    assert params.get("missing", 7) == 7 and params.setdefault("d", cr.zeros(1)).shape == (1,)
    assert params.popitem()[0] == "d" and params.pop("c").shape == (1,)
    merged = params | nn.ParameterDict({"z": cr.ones(1)})
    assert list(merged.keys()) == ["a", "b", "z"] and merged["a"] is params["a"]
    ordered = nn.ParameterDict([("y", cr.ones(1)), ("x", cr.ones(1))])
    assert list(ordered) == ["y", "x"] and list(reversed(ordered)) == ["x", "y"]
    del ordered["y"]
    assert list(ordered.keys()) == ["x"] and [n for n, _ in ordered.named_parameters()] == ["x"]
    ordered.clear()
    assert len(ordered) == 0
    with pytest.raises(TypeError, match="not a string"):
        params[1] = cr.ones(1)
    with pytest.raises(ValueError, match="length 3"):
        params.update([("a", cr.ones(1), 1)])
    assert "(a): Parameter containing: [" in repr(params)


# -- Bilinear, Identity ------------------------------------------------------------------------------------

def test_bilinear_matches_the_closed_form_and_torchs_init():
    cr.manual_seed(0)
    layer = nn.Bilinear(2, 3, 4).double()
    x1, x2 = RNG.standard_normal((5, 2)), RNG.standard_normal((5, 3))
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    expected = np.einsum("ni,oij,nj->no", x1, w, x2) + b
    np.testing.assert_allclose(layer(t64(x1), t64(x2)).detach().numpy(), expected, atol=1e-12)
    big = nn.Bilinear(16, 3, 200)
    bound = 1 / np.sqrt(16)
    for p in (big.weight, big.bias):
        assert np.abs(p.detach().numpy()).max() <= bound and np.abs(p.detach().numpy()).max() > 0.9 * bound
    assert nn.Bilinear(2, 3, 4, bias=False).bias is None
    assert repr(layer) == "Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)"
    with pytest.raises(RuntimeError, match="input2 size"):
        F.bilinear(cr.ones(4, 2), cr.ones(4, 5), cr.ones(5, 2, 3))
    with pytest.raises(RuntimeError, match="batch dimensions"):
        F.bilinear(cr.ones(4, 2), cr.ones(3, 3), cr.ones(5, 2, 3))
    with pytest.raises(RuntimeError, match="bias size"):
        F.bilinear(cr.ones(4, 2), cr.ones(4, 3), cr.ones(5, 2, 3), cr.ones(4))
    with pytest.raises(ValueError, match="in1_features"):
        nn.Bilinear(0, 3, 4)


def test_identity_ignores_its_arguments():
    x = cr.randn(3)
    assert nn.Identity(54, unused_argument1=0.1, unused_argument2=False)(x) is x
    assert list(nn.Identity().parameters()) == []


# -- EmbeddingBag ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_modes_match_numpy(mode):
    weight = RNG.standard_normal((6, 3))
    idx, offsets = np.array([1, 2, 0, 5, 5, 3, 4]), np.array([0, 2, 2, 5])
    bag = nn.EmbeddingBag.from_pretrained(t64(weight), mode=mode)
    out = bag(cr.tensor(idx), cr.tensor(offsets))
    np.testing.assert_allclose(out.numpy(), np_embedding_bag(idx, weight, offsets, mode), atol=1e-12)
    two_d = bag(cr.tensor(idx[:6].reshape(2, 3)))
    np.testing.assert_allclose(two_d.numpy(), np_embedding_bag(idx[:6], weight, [0, 3], mode), atol=1e-12)


def test_embedding_bag_padding_weights_and_last_offset():
    weight = RNG.standard_normal((6, 3))
    idx, offsets = np.array([1, 5, 0, 5, 5, 3]), np.array([0, 2, 5])
    keep = idx != 5
    for mode in ("sum", "mean", "max"):
        out = F.embedding_bag(cr.tensor(idx), t64(weight), cr.tensor(offsets), mode=mode, padding_idx=5).numpy()
        bags = [(0, 2), (2, 5), (5, 6)]
        for row, (a, b) in zip(out, bags):
            kept = [weight[i] for i, k in zip(idx[a:b], keep[a:b]) if k]
            reduce = {"sum": np.sum, "mean": np.mean, "max": np.max}[mode]
            np.testing.assert_allclose(row, reduce(kept, 0) if kept else np.zeros(3), atol=1e-12)
    psw = RNG.standard_normal(6)
    out = F.embedding_bag(cr.tensor(idx), t64(weight), cr.tensor(offsets), mode="sum",
                          per_sample_weights=t64(psw)).numpy()
    np.testing.assert_allclose(out, np_embedding_bag(idx, weight, offsets, "sum", psw), atol=1e-12)
    last = F.embedding_bag(cr.tensor(idx), t64(weight), cr.tensor(np.array([0, 2, 6])), include_last_offset=True)
    np.testing.assert_allclose(last.numpy(), np_embedding_bag(idx, weight, [0, 2], "mean"), atol=1e-12)


def test_embedding_bag_gradient_skips_padding_rows():
    bag = nn.EmbeddingBag(5, 2, mode="mean", padding_idx=0)
    assert bag.weight.detach().numpy()[0].tolist() == [0.0, 0.0]
    bag(cr.tensor([[0, 1, 1], [2, 0, 0]])).sum().backward()
    np.testing.assert_allclose(bag.weight.grad.numpy(), [[0, 0], [1, 1], [1, 1], [0, 0], [0, 0]])
    assert repr(bag) == "EmbeddingBag(5, 2, mode='mean', padding_idx=0)"


def test_embedding_bag_errors():
    weight, idx = cr.randn(6, 3), cr.tensor([1, 2, 0, 5])
    with pytest.raises(RuntimeError, match=r"offsets\[0\] has to be 0"):
        F.embedding_bag(idx, weight, cr.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="can not be greater"):
        F.embedding_bag(idx, weight, cr.tensor([0, 7]))
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(idx.reshape(2, 2), weight, cr.tensor([0, 1]))
    with pytest.raises(ValueError, match="1D Tensor"):
        F.embedding_bag(idx, weight)
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        F.embedding_bag(idx, weight, cr.tensor([0]), mode="max", per_sample_weights=cr.ones(4))
    with pytest.raises(ValueError, match="mode has to be"):
        F.embedding_bag(idx, weight, cr.tensor([0]), mode="median")
    with pytest.raises(IndexError, match="out of range"):
        F.embedding_bag(cr.tensor([9]), weight, cr.tensor([0]))


def test_embedding_bag_matches_torch():
    torch = pytest.importorskip("torch")
    weight, idx, offsets = RNG.standard_normal((6, 3)), np.array([1, 2, 0, 5, 5, 3]), np.array([0, 2, 2, 5])
    for mode in ("sum", "mean", "max"):
        ours = t64(weight, requires_grad=True)
        theirs = torch.tensor(weight, requires_grad=True)
        out = F.embedding_bag(cr.tensor(idx), ours, cr.tensor(offsets), mode=mode, padding_idx=2)
        ref = torch.nn.functional.embedding_bag(torch.tensor(idx), theirs, torch.tensor(offsets), mode=mode,
                                                padding_idx=2)
        out.square().sum().backward()
        ref.square().sum().backward()
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-12)


# -- parameters_to_vector ----------------------------------------------------------------------------------

def test_parameters_to_vector_is_ordered_and_differentiable():
    net = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    vec = parameters_to_vector(net.parameters())
    expected = np.concatenate([p.detach().numpy().ravel() for p in net.parameters()])
    np.testing.assert_array_equal(vec.detach().numpy(), expected)
    (vec * cr.arange(vec.shape[0]).float()).sum().backward()
    np.testing.assert_array_equal(net[0].weight.grad.numpy().ravel(), np.arange(6))


# -- parametrizations --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_keeps_the_weight_and_splits_magnitude_and_direction(dim):
    layer = nn.Linear(3, 4).double()
    weight = layer.weight.detach().numpy().copy()
    parametrizations.weight_norm(layer, dim=dim)
    assert type(layer).__name__ == "ParametrizedLinear"
    assert list(layer.state_dict()) == ["bias", "parametrizations.weight.original0",
                                        "parametrizations.weight.original1"]
    g = layer.parametrizations.weight.original0.detach().numpy()
    axes = None if dim is None else tuple(d for d in range(2) if d != dim)
    np.testing.assert_allclose(g, np.sqrt((weight ** 2).sum(axes, keepdims=dim is not None)), atol=1e-12)
    np.testing.assert_allclose(layer.weight.detach().numpy(), weight, atol=1e-12)
    with cr.no_grad():
        layer.parametrizations.weight.original0.mul_(2.0)
    np.testing.assert_allclose(layer.weight.detach().numpy(), 2 * weight, atol=1e-12)
    layer(t64(RNG.standard_normal((5, 3)))).sum().backward()
    assert layer.parametrizations.weight.original1.grad is not None
    parametrize.remove_parametrizations(layer, "weight")
    assert type(layer) is nn.Linear and list(layer.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(layer.weight.detach().numpy(), 2 * weight, atol=1e-12)


def test_spectral_norm_divides_by_the_largest_singular_value():
    cr.manual_seed(0)
    layer = nn.Linear(5, 4).double()
    weight = layer.weight.detach().numpy().copy()
    parametrizations.spectral_norm(layer)
    assert list(layer.state_dict()) == ["bias", "parametrizations.weight.original",
                                        "parametrizations.weight.0._u", "parametrizations.weight.0._v"]
    for _ in range(20):  # training-mode reads advance the power iteration
        _ = layer.weight
    layer.eval()
    np.testing.assert_allclose(layer.weight.detach().numpy(), weight / np.linalg.svd(weight)[1][0], atol=1e-8)
    u_before = layer.parametrizations.weight[0]._u.numpy().copy()
    _ = layer.weight
    np.testing.assert_array_equal(layer.parametrizations.weight[0]._u.numpy(), u_before)  # frozen in eval
    with pytest.raises(ValueError, match="n_power_iterations"):
        parametrizations.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="no parameter or buffer"):
        parametrizations.spectral_norm(nn.Linear(2, 2), name="nope")


def gram_error(w):
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    return np.abs(gram - np.eye(min(w.shape))).max()


@pytest.mark.parametrize("shape, orthogonal_map", [((4, 4), None), ((4, 4), "cayley"), ((4, 4), "householder"),
                                                   ((5, 3), None), ((3, 5), "matrix_exp"), ((3, 5), "cayley")])
def test_orthogonal_stays_orthogonal_while_training(shape, orthogonal_map):
    cr.manual_seed(0)
    layer = nn.Linear(shape[1], shape[0]).double()
    parametrizations.orthogonal(layer, orthogonal_map=orthogonal_map)
    assert list(layer.state_dict()) == ["bias", "parametrizations.weight.original", "parametrizations.weight.0.base"]
    assert gram_error(layer.weight.detach().numpy()) < 1e-12
    optimizer = cr.optim.SGD(layer.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        layer(t64(RNG.standard_normal((6, shape[1])))).square().sum().backward()
        optimizer.step()
    assert np.abs(layer.parametrizations.weight.original.detach().numpy()).sum() > 0
    assert gram_error(layer.weight.detach().numpy()) < 1e-12


def test_orthogonal_keeps_an_orthogonal_weight_and_orthogonalises_others():
    q = np.linalg.qr(RNG.standard_normal((4, 4)))[0]
    layer = nn.Linear(4, 4, bias=False).double()
    layer.load_state_dict({"weight": t64(q)})
    parametrizations.orthogonal(layer)
    np.testing.assert_allclose(layer.weight.detach().numpy(), q, atol=1e-12)
    a = RNG.standard_normal((4, 4))
    layer.weight = t64(a)  # assignment stores the QR factor Q (signs from R's diagonal) as the new base
    q_a, r_a = np.linalg.qr(a)
    np.testing.assert_allclose(layer.weight.detach().numpy(), q_a * np.sign(np.diag(r_a)), atol=1e-12)
    with pytest.raises(ValueError, match="matrix or batch"):
        parametrizations.orthogonal(nn.Linear(3, 1), name="bias")
    with pytest.raises(ValueError, match="orthogonal_map"):
        parametrizations.orthogonal(nn.Linear(3, 3), orthogonal_map="svd")


def test_orthogonal_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.nn.utils import parametrizations as torch_parametrizations

    weight = RNG.standard_normal((4, 4))
    for orthogonal_map in ("matrix_exp", "cayley", "householder"):
        ours, theirs = nn.Linear(4, 4, bias=False).double(), torch.nn.Linear(4, 4, bias=False).double()
        ours.load_state_dict({"weight": t64(weight)})
        theirs.load_state_dict({"weight": torch.tensor(weight)})
        parametrizations.orthogonal(ours, orthogonal_map=orthogonal_map)
        torch_parametrizations.orthogonal(theirs, orthogonal_map=orthogonal_map)
        np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), atol=1e-12)


def test_register_parametrization_chains_assigns_caches_and_validates():
    class Symmetric(nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(-1, -2)

        def right_inverse(self, a):
            return a.triu()

    class Double(nn.Module):
        def forward(self, x):
            return 2 * x

        def right_inverse(self, y):
            return y / 2

    layer = nn.Linear(3, 3).double()
    parametrize.register_parametrization(layer, "weight", Symmetric())
    w = layer.weight.detach().numpy()
    np.testing.assert_array_equal(w, w.T)
    parametrize.register_parametrization(layer, "weight", Double())
    np.testing.assert_allclose(layer.weight.detach().numpy(), 2 * w)
    sym = np.arange(9.0).reshape(3, 3) + np.arange(9.0).reshape(3, 3).T
    layer.weight = t64(sym)  # runs right_inverse: Double's, then Symmetric's
    np.testing.assert_allclose(layer.weight.detach().numpy(), sym)
    assert parametrize.is_parametrized(layer) and parametrize.is_parametrized(layer, "weight")
    assert not parametrize.is_parametrized(layer, "bias")
    assert parametrize.type_before_parametrizations(layer) is nn.Linear
    with parametrize.cached():
        assert layer.weight is layer.weight
    assert layer.weight is not layer.weight
    clone = copy.deepcopy(layer)
    np.testing.assert_allclose(clone.weight.detach().numpy(), sym)
    parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    np.testing.assert_allclose(layer.weight.detach().numpy(), np.triu(sym) / 2)

    class Shrink(nn.Module):
        def forward(self, x):
            return x[:1]

    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(nn.Linear(2, 2), "weight", Shrink())
    with pytest.raises(ValueError, match="does not have a parameter"):
        parametrize.register_parametrization(nn.Linear(2, 2), "nope", Double())
    with pytest.raises(ValueError, match="does not have a parametrization"):
        parametrize.remove_parametrizations(nn.Linear(2, 2), "weight")


def test_weight_norm_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.nn.utils import parametrizations as torch_parametrizations

    weight, bias, x = RNG.standard_normal((4, 3)), RNG.standard_normal(4), RNG.standard_normal((5, 3))
    ours, theirs = nn.Linear(3, 4).double(), torch.nn.Linear(3, 4).double()
    ours.load_state_dict({"weight": t64(weight), "bias": t64(bias)})
    theirs.load_state_dict({"weight": torch.tensor(weight), "bias": torch.tensor(bias)})
    parametrizations.weight_norm(ours)
    torch_parametrizations.weight_norm(theirs)
    ours(t64(x)).square().sum().backward()
    theirs(torch.tensor(x)).square().sum().backward()
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(ours.get_parameter(name).grad.numpy(), p.grad.numpy(), atol=1e-12)


# -- Module traversal and utilities ------------------------------------------------------------------------

def make_net():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 2)))
    net.add_module("shared", net[0])
    return net


def test_named_modules_memo_prefix_and_duplicates():
    net = make_net()
    assert [n for n, _ in net.named_modules()] == ["", "0", "1", "1.0", "1.1"]
    assert [n for n, _ in net.named_modules(remove_duplicate=False)] == ["", "0", "1", "1.0", "1.1", "shared"]
    assert [n for n, _ in net.named_modules(prefix="root")] == ["root", "root.0", "root.1", "root.1.0",
                                                                 "root.1.1"]
    assert [n for n, _ in net.named_modules(memo={net[1]})] == ["", "0"]
    assert [n for n, _ in net.named_children()] == ["0", "1"]
    assert len(list(net.modules())) == 5


def test_apply_visits_children_first():
    order = []
    make_net().apply(lambda m: order.append(type(m).__name__))
    assert order == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]


def test_get_submodule_parameter_buffer_and_their_errors():
    net = make_net()
    assert net.get_submodule("1.1") is net[1][1] and net.get_submodule("") is net
    assert net.get_parameter("1.1.weight") is net[1][1].weight
    seq = nn.Sequential(nn.BatchNorm1d(2))
    assert seq.get_buffer("0.running_mean") is seq[0].running_mean
    with pytest.raises(AttributeError, match="Sequential has no attribute `5`"):
        net.get_submodule("1.5")
    with pytest.raises(AttributeError, match="`weight` is not an nn.Module"):
        net.get_submodule("0.weight")
    with pytest.raises(AttributeError, match="Linear has no attribute `nope`"):
        net.get_parameter("0.nope")
    with pytest.raises(AttributeError, match="`weight` is not a buffer"):
        seq.get_buffer("0.weight")
    with pytest.raises(AttributeError, match="`running_mean` is not an nn.Parameter"):
        seq.get_parameter("0.running_mean")


def test_register_module_zero_grad_requires_grad_and_extra_repr():
    net = nn.Module()
    net.register_module("body", nn.Linear(2, 2))
    net.add_module("head", nn.Linear(2, 1))
    assert [n for n, _ in net.named_children()] == ["body", "head"]
    net.head(net.body(cr.ones(1, 2))).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    assert nn.Linear(2, 3).extra_repr() == "in_features=2, out_features=3, bias=True"
    with pytest.raises(TypeError, match="not a Module subclass"):
        net.add_module("bad", 3)
    with pytest.raises(KeyError, match="contain"):
        net.add_module("a.b", nn.ReLU())
