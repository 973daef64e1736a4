"""Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop and LBFGS against their published update rules (NumPy, step by
step), torch's state layout, errors, hooks and the implementation flags; optionally against torch itself."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

from .test_optimizers import run as run_steps

RNG = np.random.default_rng(4321)
THETA0 = RNG.normal(size=(3, 4))
GRADS = [RNG.normal(size=(3, 4)) for _ in range(10)]
F32 = np.float32  # torch keeps some scalar state (NAdam's mu_product, ASGD's eta and mu) in the default dtype


def run(cls, grads=GRADS, theta0=THETA0, lib=cr, **kwargs):
    """Parameters after one step per gradient in ``grads`` (set as .grad, as backward would); ``lib=torch``: torch's."""
    return run_steps(cls, grads, theta0, lib, **kwargs)


def _square_closure(opt, w):
    """A closure computing ``sum(w**2)`` and its gradient, as ``step(closure)`` wants."""
    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    return closure


def _grad(p, g, weight_decay, maximize):
    g = -g if maximize else g
    return g + weight_decay * p


def _decayed(p, g, lr, weight_decay, decoupled_weight_decay, maximize):
    """``(p, g)`` after weight decay: decoupled (AdamW-style) shrinks ``p``, else it is added to ``g``."""
    if decoupled_weight_decay:
        return p * (1 - lr * weight_decay), -g if maximize else g
    return p, _grad(p, g, weight_decay, maximize)


def ref_adadelta(p, grads, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    p, v, u = p.copy(), np.zeros_like(p), np.zeros_like(p)
    for g in grads:
        g = _grad(p, g, weight_decay, maximize)
        v = rho * v + (1 - rho) * g * g
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        p = p - lr * delta
    return p


def ref_adamax(p, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False):
    (b1, b2), p, m, u = betas, p.copy(), np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        g = _grad(p, g, weight_decay, maximize)
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        p = p - lr / (1 - b1 ** t) * m / u
    return p


def ref_nadam(p, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
              decoupled_weight_decay=False, maximize=False):
    (b1, b2), p, m, v, mu_product = betas, p.copy(), np.zeros_like(p), np.zeros_like(p), F32(1.0)
    for t, g in enumerate(grads, 1):
        p, g = _decayed(p, g, lr, weight_decay, decoupled_weight_decay, maximize)
        mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_product = F32(mu_product * F32(mu))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v / (1 - b2 ** t)) + eps
        p = p - lr * (1 - mu) / (1 - float(mu_product)) * g / denom
        p = p - lr * mu_next / (1 - float(mu_product) * mu_next) * m / denom
    return p


def ref_radam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
              maximize=False):
    (b1, b2), p, m, v = betas, p.copy(), np.zeros_like(p), np.zeros_like(p)
    rho_inf = 2 / (1 - b2) - 1
    for t, g in enumerate(grads, 1):
        p, g = _decayed(p, g, lr, weight_decay, decoupled_weight_decay, maximize)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t > 5:
            r = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p = p - lr * m_hat * r * np.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps)
        else:
            p = p - lr * m_hat
    return p


def ref_asgd(p, grads, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, maximize=False):
    p, ax, eta, mu = p.copy(), np.zeros_like(p), F32(lr), F32(1.0)
    for t, g in enumerate(grads, 1):
        g = _grad(p, g, weight_decay, maximize)
        p = p * (1 - lambd * float(eta)) - float(eta) * g
        ax = p.copy() if mu == 1 else ax + (p - ax) * float(mu)
        eta = F32(lr / (1 + lambd * lr * t) ** alpha)
        mu = F32(1 / max(1, t - t0))
    return p, ax


def ref_rprop(p, grads, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False):
    p, prev, s = p.copy(), np.zeros_like(p), np.full_like(p, lr)
    for g in grads:
        g = -g if maximize else g
        prod = g * prev
        s = np.clip(s * np.where(prod > 0, etas[1], np.where(prod < 0, etas[0], 1.0)), *step_sizes)
        g = np.where(prod < 0, 0.0, g)
        p = p - np.sign(g) * s
        prev = g
    return p


CONFIGS = [
    (optim.Adadelta, ref_adadelta, dict()),
    (optim.Adadelta, ref_adadelta, dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1, maximize=True)),
    (optim.Adamax, ref_adamax, dict()),
    (optim.Adamax, ref_adamax, dict(lr=0.1, betas=(0.8, 0.9), eps=1e-4, weight_decay=0.1, maximize=True)),
    (optim.NAdam, ref_nadam, dict()),
    (optim.NAdam, ref_nadam, dict(lr=0.1, betas=(0.8, 0.9), momentum_decay=0.1, weight_decay=0.1)),
    (optim.NAdam, ref_nadam, dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    (optim.RAdam, ref_radam, dict()),
    (optim.RAdam, ref_radam, dict(lr=0.1, betas=(0.8, 0.5), weight_decay=0.1, maximize=True)),
    (optim.RAdam, ref_radam, dict(lr=0.1, betas=(0.9, 0.8), weight_decay=0.1, decoupled_weight_decay=True)),
    (optim.Rprop, ref_rprop, dict()),
    (optim.Rprop, ref_rprop, dict(lr=0.1, etas=(0.3, 1.5), step_sizes=(0.05, 0.2), maximize=True)),
]
CONFIG_IDS = [f"{cls.__name__}-{i}" for i, (cls, _, _) in enumerate(CONFIGS)]
ASGD_CONFIGS = [dict(), dict(lr=0.1, lambd=0.1, alpha=0.5, t0=3, weight_decay=0.1, maximize=True)]


@pytest.mark.parametrize("cls, ref, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_update_matches_published_rule(cls, ref, kwargs):
    np.testing.assert_allclose(run(cls, **kwargs), ref(THETA0, GRADS, **kwargs), rtol=1e-12, atol=1e-14)


def test_radam_configs_take_both_branches():
    # betas[1] = 0.5 keeps rho_t <= 5 throughout (the un-rectified step); 0.8 crosses over at step 8
    rho = [2 / 0.2 - 1 - 2 * t * 0.8 ** t / (1 - 0.8 ** t) for t in range(1, 11)]
    assert min(rho) <= 5 < max(rho)


@pytest.mark.parametrize("kwargs", ASGD_CONFIGS)
def test_asgd_matches_published_rule_and_averages(kwargs):
    p = cr.tensor(THETA0, requires_grad=True)
    opt = optim.ASGD([p], **kwargs)
    for g in GRADS:
        p.grad = cr.tensor(g)
        opt.step()
    want_p, want_ax = ref_asgd(THETA0, GRADS, **kwargs)
    np.testing.assert_allclose(p.detach().numpy(), want_p, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(opt.state[p]["ax"].numpy(), want_ax, rtol=1e-12, atol=1e-14)


def test_adamax_first_step_is_lr_times_sign():
    # m = (1 - b1) g, u = |g| + eps, bias correction 1 - b1: the step is lr * g / (|g| + eps)
    np.testing.assert_allclose(run(optim.Adamax, grads=GRADS[:1], lr=0.1), THETA0 - 0.1 * np.sign(GRADS[0]),
                               rtol=1e-6)


def test_rprop_by_hand():
    w = cr.tensor([0.0, 0.0, 0.0], requires_grad=True)
    opt = optim.Rprop([w], lr=0.1)
    for g in ([1.0, -1.0, 0.0], [2.0, 1.0, 3.0], [1.0, -1.0, 1.0]):
        w.grad = cr.tensor(g)
        opt.step()
    # steps: coordinate 0 grows 0.1 -> 0.12 -> 0.144; coordinate 1 flips sign (shrink to 0.05, skip), then
    # moves 0.05; coordinate 2 has no history, moves 0.1 then grows to 0.12
    np.testing.assert_allclose(w.detach().numpy(), [-0.1 - 0.12 - 0.144, 0.1 + 0.05, -0.1 - 0.12], rtol=1e-6)
    np.testing.assert_allclose(opt.state[w]["step_size"].numpy(), [0.144, 0.05, 0.12], rtol=1e-6)


def test_adadelta_first_step_by_hand():
    # v = 0.1 g^2, delta = sqrt(eps) / sqrt(0.1 g^2 + eps) * g
    g, eps = 2.0, 1e-6
    w = run(optim.Adadelta, grads=[np.array([g])], theta0=np.array([1.0]))
    np.testing.assert_allclose(w, [1.0 - np.sqrt(eps) / np.sqrt(0.1 * g * g + eps) * g], rtol=1e-12)


# -- LBFGS ---------------------------------------------------------------------------------------------

A = np.array([[3.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 1.0]])
B = np.array([1.0, -2.0, 0.5])


def _quadratic_lbfgs(lib, **kwargs):
    w = lib.zeros(3, dtype=lib.float64, requires_grad=True)
    a, b = lib.tensor(A), lib.tensor(B)
    opt = lib.optim.LBFGS([w], **kwargs)
    calls = []

    def closure():
        opt.zero_grad()
        loss = 0.5 * (w @ (a @ w)) - b @ w
        loss.backward()
        calls.append(loss.item())
        return loss

    losses = [opt.step(closure).item() for _ in range(3)]
    return w.detach().numpy(), losses, calls, opt


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_minimises_a_quadratic(line_search_fn):
    w, losses, _, opt = _quadratic_lbfgs(cr, line_search_fn=line_search_fn, lr=0.5 if line_search_fn is None else 1)
    # NOTE: it stops once the loss changes by less than tolerance_change (1e-9), short of the exact minimum
    np.testing.assert_allclose(w, np.linalg.solve(A, B), rtol=1e-4)
    assert losses[0] == 0.0
    state = opt.state[opt.param_groups[0]["params"][0]]
    assert {"func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad",
            "prev_loss"} <= set(state)


def test_lbfgs_first_iteration_is_a_scaled_gradient_step():
    w = cr.tensor([1.0, -2.0], dtype=cr.float64, requires_grad=True)
    opt = optim.LBFGS([w], lr=0.1, max_iter=1)

    opt.step(_square_closure(opt, w))
    g = np.array([2.0, -4.0])
    np.testing.assert_allclose(w.detach().numpy(), [1.0, -2.0] - min(1.0, 1 / np.abs(g).sum()) * 0.1 * g)


def test_lbfgs_rejects_groups_and_unknown_line_search():
    a, b = cr.zeros(1, requires_grad=True), cr.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])
    opt = optim.LBFGS([a], line_search_fn="backtracking")
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(lambda: (a * a).sum())
    assert optim.LBFGS([a], max_iter=8).param_groups[0]["max_eval"] == 10


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_matches_torch(line_search_fn):
    torch = pytest.importorskip("torch")
    kwargs = dict(line_search_fn=line_search_fn, history_size=2, max_iter=4)
    w, losses, calls, _ = _quadratic_lbfgs(cr, **kwargs)
    tw, tlosses, tcalls, _ = _quadratic_lbfgs(torch, **kwargs)
    np.testing.assert_allclose(w, tw, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(calls, tcalls, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(losses, tlosses, rtol=1e-12, atol=1e-15)


# -- against torch -------------------------------------------------------------------------------------

TORCH_CONFIGS = [(cls, kwargs) for cls, _, kwargs in CONFIGS] + [(optim.ASGD, kw) for kw in ASGD_CONFIGS] + [
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1, maximize=True, foreach=False)),
    (optim.Adam, dict(lr=0.1, amsgrad=True, maximize=True, capturable=False, differentiable=False)),
    (optim.Adam, dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True, fused=False)),
    (optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.1, maximize=True)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, maximize=True)),
]


@pytest.mark.parametrize("cls, kwargs", TORCH_CONFIGS, ids=[f"{c.__name__}-{i}" for i, (c, _) in
                                                            enumerate(TORCH_CONFIGS)])
def test_ten_steps_match_torch(cls, kwargs):
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(run(cls, **kwargs), run(cls, lib=torch, **kwargs), rtol=1e-12, atol=1e-14)


# -- torch's layout: hyper-parameters, state keys -----------------------------------------------------

LAYOUT = [
    (optim.SGD, dict(momentum=0.9), ["momentum_buffer"],
     ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "foreach", "differentiable", "fused"]),
    (optim.Adam, dict(amsgrad=True), ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
     ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach", "capturable", "differentiable",
      "fused", "decoupled_weight_decay"]),
    (optim.AdamW, dict(), ["step", "exp_avg", "exp_avg_sq"],
     ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach", "capturable", "differentiable",
      "fused", "decoupled_weight_decay"]),
    (optim.RMSprop, dict(momentum=0.5, centered=True), ["step", "square_avg", "momentum_buffer", "grad_avg"],
     ["lr", "momentum", "alpha", "eps", "centered", "weight_decay", "capturable", "foreach", "maximize",
      "differentiable"]),
    (optim.Adagrad, dict(), ["step", "sum"],
     ["lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value", "foreach", "maximize",
      "differentiable", "fused"]),
    (optim.Adadelta, dict(), ["step", "square_avg", "acc_delta"],
     ["lr", "rho", "eps", "weight_decay", "maximize", "capturable", "foreach", "differentiable"]),
    (optim.Adamax, dict(), ["step", "exp_avg", "exp_inf"],
     ["lr", "betas", "eps", "weight_decay", "foreach", "maximize", "differentiable", "capturable"]),
    (optim.NAdam, dict(), ["step", "mu_product", "exp_avg", "exp_avg_sq"],
     ["lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay", "maximize", "foreach",
      "capturable", "differentiable"]),
    (optim.RAdam, dict(), ["step", "exp_avg", "exp_avg_sq"],
     ["lr", "betas", "eps", "weight_decay", "maximize", "foreach", "capturable", "decoupled_weight_decay",
      "differentiable"]),
    (optim.ASGD, dict(), ["step", "eta", "mu", "ax"],
     ["lr", "lambd", "alpha", "t0", "weight_decay", "foreach", "maximize", "differentiable", "capturable"]),
    (optim.Rprop, dict(), ["step", "prev", "step_size"],
     ["lr", "etas", "step_sizes", "foreach", "maximize", "differentiable", "capturable"]),
]


def _one_step(cls, kwargs):
    p = cr.tensor([1.0, -2.0], requires_grad=True)
    opt = cls([p], **kwargs)
    p.grad = cr.tensor([0.5, 0.25])
    opt.step()
    return opt


@pytest.mark.parametrize("cls, kwargs, state_keys, group_keys", LAYOUT, ids=[c.__name__ for c, *_ in LAYOUT])
def test_state_dict_layout_is_torchs(cls, kwargs, state_keys, group_keys):
    state = _one_step(cls, kwargs).state_dict()
    assert sorted(state["state"][0]) == sorted(state_keys)
    assert sorted(state["param_groups"][0]) == sorted(group_keys + ["params"])
    scalars = [k for k in state_keys if state["state"][0][k].ndim == 0]
    assert all(state["state"][0][k].dtype is cr.float32 for k in scalars)


@pytest.mark.parametrize("cls, kwargs, state_keys, group_keys", LAYOUT, ids=[c.__name__ for c, *_ in LAYOUT])
def test_state_dict_layout_matches_torch(cls, kwargs, state_keys, group_keys):
    torch = pytest.importorskip("torch")
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = getattr(torch.optim, cls.__name__)([p], **kwargs)
    p.grad = torch.tensor([0.5, 0.25])
    opt.step()
    want = opt.state_dict()
    got = _one_step(cls, kwargs).state_dict()
    assert got["param_groups"] == want["param_groups"]
    assert list(got["state"][0]) == list(want["state"][0])
    for key, value in want["state"][0].items():
        np.testing.assert_allclose(got["state"][0][key].numpy(), value.numpy(), rtol=1e-6, err_msg=key)


@pytest.mark.parametrize("cls, kwargs", [(c, k) for c, k, *_ in LAYOUT], ids=[c.__name__ for c, *_ in LAYOUT])
def test_state_dict_round_trip_resumes_identically(cls, kwargs):
    # NOTE: float32, as loading casts state to the parameter's dtype (as torch), and NAdam's mu_product and
    # ASGD's eta and mu are float32 scalars
    grads = [RNG.normal(size=(2, 3)).astype(np.float32) for _ in range(6)]
    theta = THETA0[:2, :3].astype(np.float32)
    p, q = cr.tensor(theta, requires_grad=True), cr.tensor(theta, requires_grad=True)
    opt, other = cls([p], lr=0.05, **kwargs), cls([q], lr=0.05, **kwargs)
    for g in grads[:3]:
        p.grad = cr.tensor(g)
        opt.step()
    q.data.copy_(p.detach())
    other.load_state_dict(opt.state_dict())
    for g in grads[3:]:
        p.grad, q.grad = cr.tensor(g), cr.tensor(g)
        opt.step()
        other.step()
    np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())


def test_param_groups_and_add_param_group():
    a, b = cr.tensor([1.0], requires_grad=True), cr.tensor([1.0], requires_grad=True)
    opt = optim.Adamax([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.2, "betas": (0.5, 0.9)})
    assert opt.param_groups[1]["eps"] == 1e-8 and opt.param_groups[1]["betas"] == (0.5, 0.9)
    a.grad, b.grad = cr.tensor([1.0]), cr.tensor([1.0])
    opt.step()
    # the first Adamax step is lr * sign(g) whatever the betas
    np.testing.assert_allclose([a.item(), b.item()], [0.9, 0.8], rtol=1e-6)


# -- errors, flags, hooks ------------------------------------------------------------------------------

@pytest.mark.parametrize("make, error, message", [
    (lambda w: optim.Adadelta([w], lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda w: optim.Adadelta([w], rho=1.5), ValueError, "Invalid rho value: 1.5"),
    (lambda w: optim.Adadelta([w], eps=-1), ValueError, "Invalid epsilon value: -1"),
    (lambda w: optim.Adamax([w], betas=(1.0, 0.9)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    (lambda w: optim.Adamax([w], weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (lambda w: optim.NAdam([w], momentum_decay=-1), ValueError, "Invalid momentum_decay value: -1"),
    (lambda w: optim.NAdam([w], betas=(0.9, 1.0)), ValueError, "Invalid beta parameter at index 1: 1.0"),
    (lambda w: optim.RAdam([w], eps=-1e-8), ValueError, "Invalid epsilon value: -1e-08"),
    (lambda w: optim.ASGD([w], lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    (lambda w: optim.ASGD([w], weight_decay=-0.1), ValueError, "Invalid weight_decay value: -0.1"),
    (lambda w: optim.Rprop([w], etas=(1.5, 1.2)), ValueError, "Invalid eta values: 1.5, 1.2"),
    (lambda w: optim.LBFGS([w], lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda w: optim.SGD([w], fused=True, differentiable=True), RuntimeError,
     "`fused` does not support `differentiable`"),
    (lambda w: optim.Adam([w], fused=True, foreach=True), RuntimeError,
     "`fused` and `foreach` cannot be `True` together."),
])
def test_invalid_arguments(make, error, message):
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        make(w)


@pytest.mark.parametrize("make", [
    lambda w: optim.Adadelta([w], lr=-1), lambda w: optim.Rprop([w], etas=(1.5, 1.2)),
    lambda w: optim.NAdam([w], momentum_decay=-1), lambda w: optim.Adam([w], fused=True, foreach=True),
])
def test_errors_match_torch(make):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as want:
        make(torch.zeros(1, requires_grad=True))
    with pytest.raises(type(want.value), match=str(want.value).replace("(", r"\(").replace(")", r"\)")):
        make(cr.zeros(1, requires_grad=True))


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.NAdam, optim.Rprop])
def test_maximize_ascends(cls):
    w = cr.tensor([0.0], requires_grad=True)
    opt = cls([w], lr=0.1, maximize=True)
    for _ in range(3):
        opt.zero_grad()
        (-(w - 1.0).square()).sum().backward()
        opt.step()
    assert 0.0 < w.item() < 1.5


@pytest.mark.parametrize("cls", [optim.Adadelta, optim.Adamax, optim.NAdam, optim.RAdam, optim.ASGD,
                                 optim.Rprop])
def test_closure_is_run_with_grad_and_its_loss_returned(cls):
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = cls([w])

    with cr.no_grad():
        loss = opt.step(_square_closure(opt, w))
    assert loss.item() == 5.0 and w.grad.tolist() == [2.0, 4.0]
    assert (w.detach().numpy() < [1.0, 2.0]).all()


def test_step_hooks_run_around_step_and_can_be_removed():
    w = cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    seen = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: seen.append(("pre", o is opt, w.item())))
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append(("post", w.item())))
    w.grad = cr.tensor([1.0])
    opt.step()
    pre.remove()
    opt.step()
    assert seen == [("pre", True, 1.0), ("post", pytest.approx(0.9)), ("post", pytest.approx(0.8))]


def test_lbfgs_step_runs_hooks():
    w = cr.tensor([1.0], requires_grad=True)
    opt = optim.LBFGS([w], max_iter=1)
    seen = []
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append(len(args)))
    opt.step(_square_closure(opt, w))
    assert seen == [1]


def test_named_parameters_are_kept_as_param_names():
    model = cr.nn.Linear(2, 1)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.param_groups[0]["params"] == [model.weight, model.bias]
    state = opt.state_dict()
    assert state["param_groups"][0]["param_names"] == ["weight", "bias"]
    other = optim.SGD(cr.nn.Linear(2, 1).parameters(), lr=0.5)
    other.load_state_dict(state)
    assert other.param_groups[0]["param_names"] == ["weight", "bias"] and other.param_groups[0]["lr"] == 0.1
    with pytest.raises(ValueError, match="cannot add param group without names to the optimizer"):
        opt.add_param_group({"params": [cr.zeros(1, requires_grad=True)]})
    with pytest.raises(ValueError, match="Some param names are missing"):
        optim.SGD([("a", cr.zeros(1, requires_grad=True)), cr.zeros(1, requires_grad=True)])


def test_named_parameters_match_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.optim.Adam(torch.nn.Linear(2, 1).named_parameters()).state_dict()["param_groups"]
    assert optim.Adam(cr.nn.Linear(2, 1).named_parameters()).state_dict()["param_groups"] == theirs


def test_loading_a_dict_without_newer_options_fills_their_defaults():
    w = cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    state = opt.state_dict()
    for key in ("foreach", "differentiable", "fused", "maximize"):
        del state["param_groups"][0][key]
    opt.load_state_dict(state)
    assert opt.param_groups[0]["fused"] is None and opt.param_groups[0]["maximize"] is False


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad, optim.Adadelta,
                                 optim.Adamax, optim.NAdam, optim.RAdam, optim.ASGD, optim.Rprop])
def test_a_one_element_tensor_lr_acts_as_its_value(cls):
    np.testing.assert_allclose(run(cls, lr=cr.tensor(0.05, dtype=cr.float64)), run(cls, lr=0.05), rtol=1e-15)
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        cls([cr.zeros(1, requires_grad=True)], lr=cr.tensor([0.1, 0.2]))


def test_sgd_without_momentum_saves_no_state():
    w = cr.zeros(2, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = cr.ones(2)
    opt.step()
    assert opt.state_dict()["state"] == {}


def test_step_hooks_run_once_around_a_subclass_step_and_may_replace_arguments():
    class Logged(optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    w = cr.tensor([1.0], requires_grad=True)
    opt = Logged([w], lr=0.1)
    calls = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append("pre") or ((lambda: cr.tensor(7.0),), {}))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append("post"))
    w.grad = cr.tensor([1.0])
    assert opt.step().item() == 7.0
    assert calls == ["pre", "post"] and w.item() == pytest.approx(0.9)
    opt.register_step_pre_hook(lambda o, args, kwargs: "bad")
    with pytest.raises(RuntimeError, match="must return None or a tuple"):
        opt.step()
