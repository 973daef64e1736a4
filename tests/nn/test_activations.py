"""Activation functions and modules: torch's gradients at the kinks, the random RReLU, the in-place forms,
module options and reprs, errors, and (optionally) parity with torch."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

from ..helpers import close

KINKS = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0])

# Gradients at (and around) the kinks, as torch 2.13 computes them.
TORCH_KINK_GRADS = {
    "relu6": (F.relu6, [0, 0, 0, 0, 1, 1, 1, 0]),
    "hardtanh": (F.hardtanh, [0, 0, 1, 1, 1, 0, 0, 0]),
    "hardsigmoid": (F.hardsigmoid, [0] + [1 / 6] * 5 + [0, 0]),
    "hardswish": (F.hardswish, [0, 1 / 6, 1 / 3, 0.5, 2 / 3, 5 / 6, 1, 1]),
    "softshrink": (F.softshrink, [1, 1, 0, 0, 0, 1, 1, 1]),
    "hardshrink": (F.hardshrink, [1, 1, 0, 0, 0, 1, 1, 1]),
    "threshold": (lambda x: F.threshold(x, 0.5, -2.0), [0, 0, 0, 0, 0, 1, 1, 1]),
    "rrelu_eval": (F.rrelu, [11 / 48] * 4 + [1] * 4),
    "prelu": (lambda x: F.prelu(x, cr.tensor([0.25], dtype=cr.float64)), [0.25] * 4 + [1] * 4),
    "celu": (lambda x: F.celu(x, 2.0), [np.exp(-1.5), np.exp(-0.5), np.exp(-0.25), 1, 1, 1, 1, 1]),
    "softsign": (F.softsign, 1 / (1 + np.abs(KINKS)) ** 2),
}


@pytest.mark.parametrize("name", sorted(TORCH_KINK_GRADS))
def test_gradient_at_kinks_as_torch(name):
    fn, expected = TORCH_KINK_GRADS[name]
    x = cr.tensor(KINKS, requires_grad=True)
    fn(x).sum().backward()
    close(x.grad, np.asarray(expected, dtype=float), 1e-12)


def d(values, requires_grad=False):
    """A float64 tensor."""
    return cr.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_selu_and_mish_closed_forms():
    x = d([0.0, -1.0, 2.0], requires_grad=True)
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    close(F.selu(x), scale * np.array([0.0, alpha * (np.exp(-1) - 1), 2.0]))
    F.selu(x).sum().backward()
    close(x.grad[0], scale * alpha)  # torch's gradient at 0 is the negative branch's
    close(F.mish(d([0.0, 1.0])), [0.0, np.tanh(np.log1p(np.e))])
    close(F.logsigmoid(d([-1000.0, 0.0])), [-1000.0, -np.log(2)])


def test_glu_halves_and_errors():
    x = d([[1.0, 2.0, 0.0, 3.0]])
    close(F.glu(x), [[0.5, 2 / (1 + np.exp(-3))]])
    close(nn.GLU(0)(cr.tensor([4.0, 0.0])), [2.0])
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 3"):
        F.glu(cr.zeros(2, 3))
    with pytest.raises(RuntimeError, match="scalars"):
        F.glu(cr.tensor(1.0))


def test_rrelu_training_draws_slopes_from_the_generator():
    x = d(-np.ones(1000), requires_grad=True)
    cr.manual_seed(3)
    out = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -out.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.05
    out.sum().backward()
    close(x.grad, slopes)  # the gradient is each element's slope
    cr.manual_seed(3)
    close(F.rrelu(x.detach(), 0.1, 0.3, training=True), out)  # reproducible from the seed
    close(F.rrelu(cr.tensor([2.0]), training=True), [2.0])  # positives pass unchanged
    m = nn.RReLU(0.1, 0.3)
    assert not np.allclose(m(x.detach()).numpy(), -0.2)
    m.eval()
    close(m(x.detach()), np.full(1000, -0.2))


@pytest.mark.parametrize("name, args", [("relu_", ()), ("elu_", (0.5,)), ("leaky_relu_", (0.2,)),
                                        ("hardtanh_", (-0.5, 0.5)), ("threshold_", (0.1, 9.0)),
                                        ("rrelu_", (0.2, 0.2)), ("celu_", (2.0,)), ("selu_", ())])
def test_inplace_functional_forms_modify_and_return_their_input(name, args):
    x0 = np.array([-2.0, -0.3, 0.4, 3.0])
    x = cr.tensor(x0)
    out = getattr(F, name)(x, *args)
    assert out is x
    close(x, getattr(F, name[:-1])(cr.tensor(x0), *args))


@pytest.mark.parametrize("module", [nn.ReLU6(inplace=True), nn.Hardtanh(inplace=True), nn.Hardsigmoid(True),
                                    nn.Hardswish(True), nn.SELU(True), nn.CELU(inplace=True), nn.Mish(True),
                                    nn.Threshold(0.0, 5.0, inplace=True), nn.RReLU(inplace=True)])
def test_inplace_modules_write_into_their_input(module):
    x = d([-2.0, 0.7])
    module.eval()  # NOTE: RReLU's evaluation slope is deterministic
    expected = type(module)(*((0.0, 5.0) if isinstance(module, nn.Threshold) else ())).eval()(d([-2.0, 0.7]))
    assert module(x) is x
    close(x, expected)


def test_inplace_gradient_flows_through_a_non_leaf():
    x = d([-1.0, 2.0], requires_grad=True)
    y = x * 2.0
    F.elu_(y)
    y.sum().backward()
    close(x.grad, [2 * np.exp(-2.0), 2.0])


def test_module_reprs_and_prelu_parameters():
    assert repr(nn.Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)"
    assert repr(nn.ReLU6(True)) == "ReLU6(inplace=True)"
    assert repr(nn.Hardsigmoid(True)) == "Hardsigmoid()"  # torch prints no inplace here
    assert repr(nn.RReLU()) == "RReLU(lower=0.125, upper=0.3333333333333333)"
    assert repr(nn.Threshold(0.1, 2.0)) == "Threshold(threshold=0.1, value=2.0)"
    assert repr(nn.Softshrink()) == "Softshrink(0.5)" and repr(nn.GLU()) == "GLU(dim=-1)"
    assert repr(nn.Softmin(1)) == "Softmin(dim=1)" and repr(nn.CELU()) == "CELU(alpha=1.0)"
    m = nn.PReLU(3, init=0.1)
    assert repr(m) == "PReLU(num_parameters=3)"
    assert [name for name, _ in m.named_parameters()] == ["weight"]
    close(m.weight, np.full(3, 0.1, dtype=np.float32))
    x = d([[-1.0, -2.0, 4.0]])
    m.double()(x).sum().backward()
    close(m.weight.grad, [-1.0, -2.0, 0.0])
    with pytest.raises(RuntimeError, match="parameter numbers = 3 and channel size = 1"):
        m(cr.ones(4))


def test_softmax_family():
    x = d([[1.0, 2.0, 3.0]])
    close(F.softmin(x, 1), F.softmax(-x, 1))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        F.softmin(x)
    close(nn.Softmax2d()(d(np.ones((2, 3, 2, 2)))), np.full((2, 3, 2, 2), 1 / 3))
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D instead"):
        nn.Softmax2d()(cr.ones(2, 3))


def test_gumbel_softmax_is_a_distribution_and_hard_is_one_hot_with_soft_gradients():
    logits = cr.tensor([[1.0, 2.0, 0.5], [0.0, 0.0, 5.0]], requires_grad=True)
    cr.manual_seed(0)
    soft = F.gumbel_softmax(logits, tau=0.5)
    close(soft.sum(-1), [1.0, 1.0])
    cr.manual_seed(0)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    assert set(np.unique(hard.detach().numpy())) <= {0.0, 1.0}
    close(hard.detach().numpy().argmax(-1), soft.detach().numpy().argmax(-1))
    (hard * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert np.abs(logits.grad.numpy()).sum() > 0


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.celu(cr.ones(2), 0.0), RuntimeError, "alpha cannot be 0"),
    (lambda: F.hardtanh(cr.ones(2), 1.0, -1.0), ValueError, "min_val cannot be greater than max_val"),
    (lambda: nn.Hardtanh(1.0, -1.0), ValueError, "min_val cannot be greater than max_val"),
    (lambda: F.rrelu(cr.ones(2), 0.5, 0.1), RuntimeError, "Lower bound should be less than or equal"),
    (lambda: F.softshrink(cr.ones(2), -1.0), RuntimeError, "lambda must be greater or equal to 0"),
    (lambda: F.prelu(cr.ones(2, 3), cr.ones(2)), RuntimeError, "Mismatch of parameter numbers"),
    (lambda: F.relu6([1.0]), TypeError, "must be Tensor"),
])
def test_errors_as_torch(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- optional parity with torch ------------------------------------------------------------------------------

MODULES = ["ReLU6", "Hardtanh", "Hardsigmoid", "Hardswish", "SELU", "CELU", "GLU", "Mish", "LogSigmoid",
           "Softsign", "Softshrink", "Hardshrink", "Tanhshrink", "PReLU", "Softmin", "Softmax2d"]


@pytest.mark.parametrize("name", MODULES)
def test_modules_match_torch(name):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).uniform(-4, 4, (2, 4, 3, 2))
    args = {"Softmin": (1,), "PReLU": (4,)}.get(name, ())
    ours, theirs = getattr(nn, name)(*args).double(), getattr(torch.nn, name)(*args).double()
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, ref = ours(a), theirs(b)
    close(out, ref.detach().numpy(), 1e-12)
    out.sum().backward()
    ref.sum().backward()
    close(a.grad, b.grad.numpy(), 1e-7)  # NOTE: torch's hardsigmoid gradient is 1/6 rounded to float32
    assert repr(ours) == repr(theirs)
