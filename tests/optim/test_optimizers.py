"""Optimizers: each update pinned to torch's documented algorithm, plus the Optimizer base class semantics.

The references below are the pseudo-code of torch's docs written with NumPy; a few steps are also worked
out by hand. All checks run in float64, so they agree to rounding.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

RNG = np.random.default_rng(1234)
THETA0 = RNG.normal(size=(3, 4))
GRADS = [RNG.normal(size=(3, 4)) for _ in range(4)]


def run(cls, grads=GRADS, theta0=THETA0, lib=cr, **kwargs):
    """Parameters after one step per gradient in ``grads`` (set as .grad, as backward would); with ``lib=torch``
    the steps of torch's optimizer of the same name."""
    p = lib.tensor(theta0, requires_grad=True)
    opt = (cls if lib is cr else getattr(lib.optim, cls.__name__))([p], **kwargs)
    for g in grads:
        p.grad = lib.tensor(g)
        opt.step()
    return p.detach().numpy()


# -- references from torch's documented algorithms ----------------------------------------------------

def ref_sgd(theta, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    b = None
    for g in grads:
        g = -g if maximize else g
        if weight_decay:
            g = g + weight_decay * theta
        if momentum:
            b = g if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        theta = theta - lr * g
    return theta


def ref_adam(theta, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             maximize=False, decoupled=False):
    b1, b2 = betas
    m = v = v_max = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        if weight_decay and decoupled:
            theta = theta * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - b2 ** t)
        else:
            v_hat = v / (1 - b2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


def ref_rmsprop(theta, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                maximize=False):
    v = g_avg = b = np.zeros_like(theta)
    for g in grads:
        g = -g if maximize else g
        if weight_decay:
            g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g * g
        v_tilde = v
        if centered:
            g_avg = alpha * g_avg + (1 - alpha) * g
            v_tilde = v_tilde - g_avg * g_avg
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            theta = theta - lr * b
        else:
            theta = theta - lr * g / (np.sqrt(v_tilde) + eps)
    return theta


def ref_adagrad(theta, grads, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                eps=1e-10, maximize=False):
    state_sum = np.full_like(theta, initial_accumulator_value)
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        clr = lr / (1 + (t - 1) * lr_decay)
        if weight_decay:
            g = g + weight_decay * theta
        state_sum = state_sum + g * g
        theta = theta - clr * g / (np.sqrt(state_sum) + eps)
    return theta


CONFIGS = [
    (optim.SGD, ref_sgd, dict(lr=0.1)),
    (optim.SGD, ref_sgd, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, ref_sgd, dict(lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.01)),
    (optim.SGD, ref_sgd, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (optim.SGD, ref_sgd, dict(lr=0.1, momentum=0.5, weight_decay=0.1, maximize=True)),
    (optim.Adam, ref_adam, dict()),
    (optim.Adam, ref_adam, dict(lr=0.1, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    (optim.Adam, ref_adam, dict(lr=0.1, amsgrad=True, weight_decay=0.1, maximize=True)),
    (optim.AdamW, lambda t, gs, **kw: ref_adam(t, gs, weight_decay=1e-2, decoupled=True, **kw), dict(lr=0.1)),
    (optim.AdamW, lambda t, gs, **kw: ref_adam(t, gs, decoupled=True, **kw),
     dict(lr=0.1, weight_decay=0.3, amsgrad=True)),
    (optim.RMSprop, ref_rmsprop, dict()),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, momentum=0.9, weight_decay=0.1)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, maximize=True)),
    (optim.Adagrad, ref_adagrad, dict()),
    (optim.Adagrad, ref_adagrad, dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5,
                                      eps=1e-6, maximize=True)),
]
CONFIG_IDS = [f"{cls.__name__}-{i}" for i, (cls, _, _) in enumerate(CONFIGS)]


@pytest.mark.parametrize("cls, ref, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_update_matches_documented_algorithm(cls, ref, kwargs):
    np.testing.assert_allclose(run(cls, **kwargs), ref(THETA0, GRADS, **kwargs), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls, ref, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_update_matches_torch(cls, ref, kwargs):
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(run(cls, **kwargs), run(cls, lib=torch, **kwargs), rtol=1e-12, atol=1e-14)


# -- a few steps worked out by hand ------------------------------------------------------------------

def test_sgd_momentum_by_hand():
    # b1 = g1 = 1, p1 = 1 - 0.1 * 1 = 0.9; b2 = 0.9 * 1 + 2 = 2.9, p2 = 0.9 - 0.29 = 0.61;
    # b3 = 0.9 * 2.9 - 1 = 1.61, p3 = 0.61 - 0.161 = 0.449
    grads = [np.array([1.0]), np.array([2.0]), np.array([-1.0])]
    out = run(optim.SGD, grads, np.array([1.0]), lr=0.1, momentum=0.9)
    np.testing.assert_allclose(out, [0.449], rtol=1e-14)


def test_sgd_nesterov_weight_decay_by_hand():
    # g1 = 1 + 0.5 * 1 = 1.5, b1 = 1.5, step 1.5 + 0.9 * 1.5 = 2.85, p1 = 1 - 0.285 = 0.715
    # g2 = 1 + 0.5 * 0.715 = 1.3575, b2 = 0.9 * 1.5 + 1.3575 = 2.7075, step 1.3575 + 2.43675 = 3.79425,
    # p2 = 0.715 - 0.379425 = 0.335575
    grads = [np.array([1.0]), np.array([1.0])]
    out = run(optim.SGD, grads, np.array([1.0]), lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.5)
    np.testing.assert_allclose(out, [0.335575], rtol=1e-13)


def test_adam_first_step_is_lr_times_sign():
    # After one step the bias-corrected ratio m_hat / sqrt(v_hat) is g / |g|: Adam moves every weight by lr.
    out = run(optim.Adam, [np.array([3.0, -0.02])], np.array([0.0, 0.0]), lr=0.1, eps=0.0)
    np.testing.assert_allclose(out, [-0.1, 0.1], rtol=1e-14)


def test_adam_amsgrad_two_steps_by_hand():
    # betas (0.5, 0.5), lr 1, eps 0, g = 2 then 0:
    # t=1: m = 1, v = 2, v_max = 2, m_hat = 2, v_hat = 4, p = -2 / 2 = -1
    # t=2: m = 0.5, v = 1, v_max = 2, m_hat = 0.5 / 0.75, v_hat = 2 / 0.75, p = -1 - (2/3) / sqrt(8/3)
    grads = [np.array([2.0]), np.array([0.0])]
    out = run(optim.Adam, grads, np.array([0.0]), lr=1.0, betas=(0.5, 0.5), eps=0.0, amsgrad=True)
    np.testing.assert_allclose(out, [-1 - (2 / 3) / np.sqrt(8 / 3)], rtol=1e-14)


def test_adagrad_lr_decay_by_hand():
    # s1 = 4, p1 = 1 - 1 * 2 / 2 = 0; clr2 = 1 / (1 + 1) = 0.5, s2 = 4 + 9 = 13, p2 = -0.5 * 3 / sqrt(13)
    grads = [np.array([2.0]), np.array([3.0])]
    out = run(optim.Adagrad, grads, np.array([1.0]), lr=1.0, lr_decay=1.0, eps=0.0)
    np.testing.assert_allclose(out, [-1.5 / np.sqrt(13)], rtol=1e-14)


def test_rmsprop_centered_by_hand():
    # alpha 0.5, g = 2: v = 2, g_avg = 1, v_tilde = 1, p = 0 - 0.1 * 2 / 1 = -0.2
    out = run(optim.RMSprop, [np.array([2.0])], np.array([0.0]), lr=0.1, alpha=0.5, eps=0.0, centered=True)
    np.testing.assert_allclose(out, [-0.2], rtol=1e-14)


# -- the Optimizer base class ------------------------------------------------------------------------

def test_minimises_a_quadratic_through_backward():
    w = cr.tensor([5.0, -3.0], dtype=cr.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.5)
    for _ in range(100):
        opt.zero_grad()
        ((w - 1.0) * (w - 1.0)).sum().backward()
        opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [1.0, 1.0], atol=1e-6)
    assert w.is_leaf and w.grad_fn is None


def test_step_updates_in_place_and_bumps_the_version():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    data, version = w._data, w._version
    w.grad = cr.tensor([1.0, 1.0])
    optim.SGD([w], lr=0.5).step()
    assert w._data is data and w._version > version
    np.testing.assert_allclose(w.detach().numpy(), [0.5, 1.5])


def test_closure_runs_with_grad_and_its_loss_is_returned():
    w = cr.tensor([2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    with cr.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0
    np.testing.assert_allclose(w.detach().numpy(), [1.0])


def test_parameters_without_grad_are_skipped():
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([1.0], requires_grad=True)
    a.grad = cr.tensor([1.0])
    opt = optim.Adam([a, b], lr=0.1)
    opt.step()
    assert b.item() == 1.0 and b not in opt.state and a.item() != 1.0


def test_param_groups_override_defaults():
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["params"] == [b]
    a.grad, b.grad = cr.tensor([1.0]), cr.tensor([1.0])
    opt.step()
    np.testing.assert_allclose([a.item(), b.item()], [0.9, 0.5])
    c = cr.tensor([0.0], requires_grad=True)
    opt.add_param_group({"params": [c], "lr": 1.0})
    assert opt.param_groups[2]["nesterov"] is False and len(opt.param_groups) == 3


def test_zero_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w])
    (w * w).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize("make, error, message", [
    (lambda w: optim.SGD([w], lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda w: optim.SGD([w], momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    (lambda w: optim.SGD([w], weight_decay=-1e-4), ValueError, "Invalid weight_decay value: -0.0001"),
    (lambda w: optim.SGD([w], nesterov=True), ValueError, "Nesterov momentum requires a momentum"),
    (lambda w: optim.Adam([w], betas=(1.0, 0.999)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    (lambda w: optim.Adam([w], betas=(0.9, -0.1)), ValueError, "Invalid beta parameter at index 1: -0.1"),
    (lambda w: optim.Adam([w], eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
    (lambda w: optim.AdamW([w], lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    (lambda w: optim.RMSprop([w], alpha=-0.1), ValueError, "Invalid alpha value: -0.1"),
    (lambda w: optim.Adagrad([w], lr_decay=-1), ValueError, "Invalid lr_decay value: -1"),
    (lambda w: optim.Adagrad([w], initial_accumulator_value=-1), ValueError,
     "Invalid initial_accumulator_value value: -1"),
    (lambda w: optim.SGD(w), TypeError, "iterable of Tensors or dicts"),
    (lambda w: optim.SGD([]), ValueError, "optimizer got an empty parameter list"),
    (lambda w: optim.SGD([w, 1.0]), TypeError, "can only optimize Tensors, but one of the params is float"),
    (lambda w: optim.SGD([w * 2]), ValueError, "can't optimize a non-leaf Tensor"),
    (lambda w: optim.SGD([{"params": {w}}]), TypeError, "ordered collections"),
    (lambda w: optim.SGD([{"params": [w]}, {"params": [w]}]), ValueError, "more than one parameter group"),
])
def test_invalid_arguments(make, error, message):
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        make(w)


def test_repr_lists_groups():
    opt = optim.SGD([cr.zeros(1, requires_grad=True)], lr=0.1)
    assert repr(opt).splitlines()[:3] == ["SGD (", "Parameter Group 0", "    dampening: 0"]
    assert "    lr: 0.1" in repr(opt)


# -- state dicts --------------------------------------------------------------------------------------

RESUME_CONFIGS = [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (optim.Adam, dict(lr=0.1, amsgrad=True)),
    (optim.AdamW, dict(lr=0.1)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.9, centered=True)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01)),
]


def _make(cls, kwargs, values):
    params = [cr.tensor(v, requires_grad=True) for v in values]
    return params, cls([{"params": params[:1]}, {"params": params[1:], "lr": 0.05}], **kwargs)


def _steps(opt, params, grads):
    for g in grads:
        for p, gp in zip(params, g, strict=True):
            p.grad = cr.tensor(gp)
        opt.step()


@pytest.mark.parametrize("cls, kwargs", RESUME_CONFIGS, ids=[c.__name__ for c, _ in RESUME_CONFIGS])
def test_state_dict_round_trip_resumes_identically(tmp_path, cls, kwargs):
    rng = np.random.default_rng(0)
    values = [rng.normal(size=(2, 3)), rng.normal(size=(4,)), rng.normal(size=())]
    grads = [[rng.normal(size=np.shape(v)) for v in values] for _ in range(6)]
    params, opt = _make(cls, kwargs, values)
    _steps(opt, params, grads[:3])
    cr.save({"optimizer": opt.state_dict(), "params": params}, tmp_path / "ckpt")

    checkpoint = cr.load(tmp_path / "ckpt")
    params2, opt2 = _make(cls, kwargs, [p.detach().numpy() for p in checkpoint["params"]])
    opt2.load_state_dict(checkpoint["optimizer"])
    _steps(opt, params, grads[3:])
    _steps(opt2, params2, grads[3:])
    for p, p2 in zip(params, params2, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), p2.detach().numpy())
    assert opt2.param_groups[1]["lr"] == 0.05 and opt2.param_groups[0]["params"] == params2[:1]


def test_state_dict_layout_refers_to_params_by_index():
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([2.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    a.grad, b.grad = cr.tensor([1.0]), cr.tensor([1.0])
    opt.step()
    state = opt.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0], [1]]
    assert sorted(state["state"]) == [0, 1] and state["state"][1]["momentum_buffer"].tolist() == [1.0]
    assert state["param_groups"][1] == {"lr": 0.5, "momentum": 0.9, "dampening": 0, "weight_decay": 0,
                                        "nesterov": False, "maximize": False, "foreach": None,
                                        "differentiable": False, "fused": None, "params": [1]}


def test_load_state_dict_copies_and_casts_buffers():
    w = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    buf = cr.tensor([1.0, 1.0])  # float32: cast to the parameter's float64
    groups = opt.state_dict()["param_groups"]
    opt.load_state_dict({"state": {0: {"momentum_buffer": buf}}, "param_groups": groups})
    loaded = opt.state[w]["momentum_buffer"]
    assert loaded is not buf and loaded.dtype == cr.float64
    w.grad = cr.tensor([0.0, 0.0], dtype=cr.float64)
    opt.step()
    assert buf.tolist() == [1.0, 1.0]


def test_load_state_dict_rejects_mismatched_groups():
    a, b = cr.zeros(1, requires_grad=True), cr.zeros(1, requires_grad=True)
    saved = optim.SGD([a, b]).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}]).load_state_dict(saved)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optim.SGD([a]).load_state_dict(saved)


def test_adamw_stays_decoupled_after_loading_an_adam_state():
    w = cr.zeros(2, requires_grad=True)
    adam = optim.Adam([w], lr=0.1)
    adamw = optim.AdamW([w], lr=0.1)
    adamw.load_state_dict(adam.state_dict())
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True


def test_adagrad_state_exists_before_the_first_step():
    w = cr.zeros(2, requires_grad=True)
    opt = optim.Adagrad([w], initial_accumulator_value=0.25)
    assert opt.state_dict()["state"][0]["sum"].tolist() == [0.25, 0.25]
    v = cr.zeros(1, requires_grad=True)
    opt.add_param_group({"params": [v], "initial_accumulator_value": 1.0})
    assert opt.state[v]["sum"].tolist() == [1.0]
