"""ConstantLR, LinearLR, PolynomialLR, MultiplicativeLR, CyclicLR, OneCycleLR, SequentialLR, ChainedScheduler and
CosineAnnealingWarmRestarts against their closed forms for 30 steps (and torch's, optionally); the closed forms
of the older schedulers through step(epoch); last_epoch resumption, get_last_lr and state dicts."""

import math
import warnings

import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler as S

LR = 0.5
EPOCHS = 30


def make_optimizer(cls=optim.SGD, groups=1, **kwargs):
    groups = [{"params": [cr.zeros(1, requires_grad=True)], "lr": LR * (i + 1)} for i in range(groups)]
    return cls(groups, **kwargs)


def lrs(scheduler, epochs=EPOCHS, group=0):
    """The learning rate of ``group`` at epochs 0..epochs-1 (after construction, then after each step)."""
    values = [scheduler.get_last_lr()[group]]
    for _ in range(epochs - 1):
        scheduler.optimizer.step()
        scheduler.step()
        values.append(scheduler.get_last_lr()[group])
        assert scheduler.optimizer.param_groups[group]["lr"] == values[-1]
    return values


def cosine(start, end, pct):
    return end + (start - end) / 2 * (1 + math.cos(math.pi * pct))


def one_cycle_closed(e, total, max_lr, pct_start=0.3, div=25.0, final_div=1e4, anneal=cosine, three=False):
    lo, hi = max_lr / div, max_lr
    up = pct_start * total - 1
    if three:
        down = 2 * pct_start * total - 2
        if e <= up:
            return anneal(lo, hi, e / up)
        if e <= down:
            return anneal(hi, lo, (e - up) / (down - up))
        return anneal(lo, lo / final_div, (e - down) / (total - 1 - down))
    if e <= up:
        return anneal(lo, hi, e / up)
    return anneal(hi, lo / final_div, (e - up) / (total - 1 - up))


def cyclic_closed(e, base, top, up, down, scale):
    cycle = math.floor(1 + e / (up + down))
    x = 1 + e / (up + down) - cycle
    ratio = up / (up + down)
    height = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    return base + (top - base) * height * scale(cycle, e)


def sgdr_closed(e, T_0, T_mult, eta_min, base=LR):
    T_i, T_cur = T_0, e
    while T_cur >= T_i:
        T_cur -= T_i
        T_i *= T_mult
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2


def linear_anneal(start, end, pct):
    return start + (end - start) * pct


CLOSED = [
    ("ConstantLR", dict(factor=0.25, total_iters=7), lambda e: LR * (0.25 if e < 7 else 1.0)),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.9, total_iters=12),
     lambda e: LR * (0.1 + 0.8 * min(e, 12) / 12)),
    ("PolynomialLR", dict(total_iters=20, power=2.0), lambda e: LR * (1 - min(e, 20) / 20) ** 2),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9 if e % 2 else 0.95),
     lambda e: LR * math.prod(0.9 if k % 2 else 0.95 for k in range(1, e + 1))),
    ("CyclicLR", dict(base_lr=0.1, max_lr=0.6, step_size_up=4, step_size_down=6, cycle_momentum=False),
     lambda e: cyclic_closed(e, 0.1, 0.6, 4, 6, lambda c, e: 1.0)),
    ("CyclicLR", dict(base_lr=0.1, max_lr=0.6, step_size_up=3, mode="triangular2", cycle_momentum=False),
     lambda e: cyclic_closed(e, 0.1, 0.6, 3, 3, lambda c, e: 1 / 2 ** (c - 1))),
    ("CyclicLR", dict(base_lr=0.1, max_lr=0.6, step_size_up=5, mode="exp_range", gamma=0.95,
                      cycle_momentum=False),
     lambda e: cyclic_closed(e, 0.1, 0.6, 5, 5, lambda c, e: 0.95 ** e)),
    ("CyclicLR", dict(base_lr=0.1, max_lr=0.6, step_size_up=2, scale_fn=lambda x: 1 / x, cycle_momentum=False),
     lambda e: cyclic_closed(e, 0.1, 0.6, 2, 2, lambda c, e: 1 / c)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=EPOCHS), lambda e: one_cycle_closed(e, EPOCHS, 1.0)),
    ("OneCycleLR", dict(max_lr=1.0, epochs=5, steps_per_epoch=6, pct_start=0.25, anneal_strategy="linear",
                        three_phase=True, div_factor=10.0, final_div_factor=100.0),
     lambda e: one_cycle_closed(e, EPOCHS, 1.0, 0.25, 10.0, 100.0, linear_anneal, three=True)),
    ("CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2, eta_min=0.01), lambda e: sgdr_closed(e, 4, 2, 0.01)),
    ("CosineAnnealingWarmRestarts", dict(T_0=7), lambda e: sgdr_closed(e, 7, 1, 0.0)),
    # the older schedulers, checked again against their closed forms
    ("StepLR", dict(step_size=4, gamma=0.5), lambda e: LR * 0.5 ** (e // 4)),
    ("MultiStepLR", dict(milestones=[3, 8, 8, 20], gamma=0.5),
     lambda e: LR * 0.5 ** sum(e >= m for m in [3, 8, 8, 20])),
    ("ExponentialLR", dict(gamma=0.9), lambda e: LR * 0.9 ** e),
    ("CosineAnnealingLR", dict(T_max=8, eta_min=0.01),
     lambda e: 0.01 + (LR - 0.01) * (1 + math.cos(math.pi * e / 8)) / 2),
    ("LambdaLR", dict(lr_lambda=lambda e: 1 / (1 + e)), lambda e: LR / (1 + e)),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CLOSED)]


@pytest.mark.parametrize("name, kwargs, closed", CLOSED, ids=IDS)
def test_thirty_steps_follow_the_closed_form(name, kwargs, closed):
    values = lrs(getattr(S, name)(make_optimizer(), **kwargs))
    assert values == pytest.approx([closed(e) for e in range(EPOCHS)], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name, kwargs, closed", CLOSED, ids=IDS)
def test_thirty_steps_match_torch(name, kwargs, closed):
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": LR}])
    theirs = getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)
    expected = [theirs.get_last_lr()[0]]
    for _ in range(EPOCHS - 1):
        opt.step()
        theirs.step()
        expected.append(theirs.get_last_lr()[0])
    assert lrs(getattr(S, name)(make_optimizer(), **kwargs)) == pytest.approx(expected, rel=1e-13, abs=1e-16)


CLOSED_FORM_JUMPS = [c for c in CLOSED if c[0] in ("ConstantLR", "LinearLR", "PolynomialLR", "StepLR",
                                                   "MultiStepLR", "ExponentialLR", "CosineAnnealingLR")]


@pytest.mark.parametrize("name, kwargs, closed", CLOSED_FORM_JUMPS, ids=[c[0] for c in CLOSED_FORM_JUMPS])
def test_step_with_an_epoch_uses_the_closed_form_and_warns(name, kwargs, closed):
    scheduler = getattr(S, name)(make_optimizer(), **kwargs)
    for epoch in (5, 17, 2, 25):
        with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)` was not necessary"):
            scheduler.step(epoch)
        assert scheduler.last_epoch == epoch
        assert scheduler.get_last_lr() == [pytest.approx(closed(epoch), rel=1e-12, abs=1e-15)]


@pytest.mark.parametrize("name, kwargs, closed", CLOSED_FORM_JUMPS, ids=[c[0] for c in CLOSED_FORM_JUMPS])
def test_resuming_with_last_epoch_continues_the_schedule(name, kwargs, closed):
    # NOTE: as torch's, construction makes a step that keeps the rate: a scheduler built with last_epoch=8
    # over a group at epoch 9's rate continues from epoch 9
    opt = make_optimizer()
    getattr(S, name)(opt, **kwargs)  # sets initial_lr
    opt.param_groups[0]["lr"] = closed(9)
    resumed = getattr(S, name)(opt, last_epoch=8, **kwargs)
    assert resumed.last_epoch == 9
    assert lrs(resumed, 12) == pytest.approx([closed(e) for e in range(9, 21)], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name, kwargs, closed", CLOSED_FORM_JUMPS, ids=[c[0] for c in CLOSED_FORM_JUMPS])
def test_resuming_with_last_epoch_matches_torch(name, kwargs, closed):
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR)
    getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    topt.param_groups[0]["lr"] = 0.3
    theirs = getattr(torch.optim.lr_scheduler, name)(topt, last_epoch=9, **kwargs)
    expected = [theirs.get_last_lr()[0]]
    for _ in range(11):
        topt.step()
        theirs.step()
        expected.append(theirs.get_last_lr()[0])
    opt = make_optimizer()
    getattr(S, name)(opt, **kwargs)
    opt.param_groups[0]["lr"] = 0.3
    assert lrs(getattr(S, name)(opt, last_epoch=9, **kwargs), 12) == pytest.approx(expected, rel=1e-13)


def test_sgdr_fractional_epochs():
    opt = make_optimizer()
    scheduler = S.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.05)
    for epoch in (0.5, 1.25, 2.9, 3.0, 4.5, 8.99, 9.0, 13.7):
        scheduler.step(epoch)
        assert scheduler.last_epoch == math.floor(epoch)
        assert opt.param_groups[0]["lr"] == pytest.approx(sgdr_closed(epoch, 3, 2, 0.05), rel=1e-12)
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        scheduler.step(-1)


def test_sgdr_fractional_epochs_match_torch():
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.05)
    ours = S.CosineAnnealingWarmRestarts(make_optimizer(), T_0=3, T_mult=2, eta_min=0.05)
    for epoch in (0.5, 1.25, 2.9, 3.0, None, None, 8.99, None, 13.7, None, 2.0):
        theirs.step(epoch)
        ours.step(epoch)
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert (ours.T_cur, ours.T_i, ours.last_epoch) == (theirs.T_cur, theirs.T_i, theirs.last_epoch)


def test_sequential_lr_switches_at_milestones():
    opt = make_optimizer()
    warmup = S.LinearLR(opt, start_factor=0.2, total_iters=4)
    decay = S.ExponentialLR(opt, gamma=0.8)
    scheduler = S.SequentialLR(opt, [warmup, decay], milestones=[6])
    closed = [LR * (0.2 + 0.8 * min(e, 4) / 4) if e < 6 else LR * 0.8 ** (e - 6) for e in range(EPOCHS)]
    assert lrs(scheduler) == pytest.approx(closed, rel=1e-12)


def test_chained_scheduler_composes_its_schedulers():
    opt = make_optimizer()
    scheduler = S.ChainedScheduler([S.ConstantLR(opt, factor=0.1, total_iters=3), S.ExponentialLR(opt, gamma=0.9)])
    closed = [LR * (0.1 if e < 3 else 1.0) * 0.9 ** e for e in range(EPOCHS)]
    assert lrs(scheduler) == pytest.approx(closed, rel=1e-12)


@pytest.mark.parametrize("make", [
    lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.2, total_iters=4), S.StepLR(o, 3, 0.5),
                                 S.ExponentialLR(o, gamma=0.9)], milestones=[5, 12]),
    lambda o: S.ChainedScheduler([S.ConstantLR(o, factor=0.1, total_iters=3), S.ExponentialLR(o, gamma=0.9)]),
    lambda o: S.ChainedScheduler([S.LinearLR(o, start_factor=0.5, total_iters=5),
                                  S.CosineAnnealingWarmRestarts(o, T_0=4)], optimizer=o),
])
def test_composite_schedulers_match_torch(make):
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR)
    global S
    ours_module, S = S, torch.optim.lr_scheduler
    try:
        theirs = make(topt)
    finally:
        S = ours_module
    expected = [theirs.get_last_lr()[0]]
    for _ in range(EPOCHS - 1):
        topt.step()
        theirs.step()
        expected.append(theirs.get_last_lr()[0])
    assert lrs(make(make_optimizer())) == pytest.approx(expected, rel=1e-13)


def test_cyclic_lr_cycles_momentum_and_betas():
    opt = make_optimizer(momentum=0.9)
    scheduler = S.CyclicLR(opt, base_lr=0.1, max_lr=0.5, step_size_up=2, base_momentum=0.8, max_momentum=0.9)
    momentums = [opt.param_groups[0]["momentum"]]
    for _ in range(4):
        opt.step()
        scheduler.step()
        momentums.append(opt.param_groups[0]["momentum"])
    assert momentums == pytest.approx([0.9, 0.85, 0.8, 0.85, 0.9])
    adam = make_optimizer(optim.Adam)
    S.CyclicLR(adam, base_lr=0.1, max_lr=0.5, step_size_up=2).step()
    assert adam.param_groups[0]["betas"] == (pytest.approx(0.85), 0.999)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        S.CyclicLR(make_optimizer(optim.Adagrad), base_lr=0.1, max_lr=0.5)


def test_one_cycle_momentum_moves_inversely():
    adam = make_optimizer(optim.Adam)
    scheduler = S.OneCycleLR(adam, max_lr=1.0, total_steps=10, pct_start=0.5, anneal_strategy="linear")
    betas = [adam.param_groups[0]["betas"][0]]
    for _ in range(9):
        adam.step()
        scheduler.step()
        betas.append(adam.param_groups[0]["betas"][0])
    up = 0.5 * 10 - 1
    expected = [0.95 - 0.1 * e / up if e <= up else 0.85 + 0.1 * (e - up) / (9 - up) for e in range(10)]
    assert betas == pytest.approx(expected)
    with pytest.raises(ValueError, match="Tried to step 11 times. The specified number of total steps is 10"):
        scheduler.step()
        scheduler.step()


@pytest.mark.parametrize("momentum_of", ["sgd", "adam"])
def test_cycle_momentum_matches_torch(momentum_of):
    torch = pytest.importorskip("torch")

    def trace(lib, opt_cls, sched_cls, **kwargs):
        extra = {"momentum": 0.9} if opt_cls is lib.optim.SGD else {}
        opt = opt_cls([lib.zeros(1, requires_grad=True)], lr=LR, **extra)
        scheduler = sched_cls(opt, **kwargs)
        out = []
        for _ in range(EPOCHS - 1):
            opt.step()
            scheduler.step()
            group = opt.param_groups[0]
            out += [group["lr"], group["momentum"] if "momentum" in group else group["betas"][0]]
        return out

    name = "SGD" if momentum_of == "sgd" else "Adam"
    for sched_name, kwargs in [("CyclicLR", dict(base_lr=0.1, max_lr=0.5, step_size_up=3)),
                               ("OneCycleLR", dict(max_lr=1.0, total_steps=EPOCHS, three_phase=True))]:
        ours = trace(cr, getattr(optim, name), getattr(S, sched_name), **kwargs)
        theirs = trace(torch, getattr(torch.optim, name), getattr(torch.optim.lr_scheduler, sched_name), **kwargs)
        assert ours == pytest.approx(theirs, rel=1e-13)


def test_per_group_values():
    opt = make_optimizer(groups=2, momentum=0.9)
    scheduler = S.OneCycleLR(opt, max_lr=[1.0, 2.0], total_steps=EPOCHS, base_momentum=[0.8, 0.7])
    assert lrs(scheduler, group=1) == pytest.approx([one_cycle_closed(e, EPOCHS, 2.0) for e in range(EPOCHS)])
    assert opt.param_groups[1]["base_momentum"] == 0.7
    with pytest.raises(ValueError, match="max_lr must have the same length as optimizer.param_groups. max_lr has "
                                         "3 values, param_groups has 2."):
        S.OneCycleLR(make_optimizer(groups=2), max_lr=[1.0, 2.0, 3.0], total_steps=5)


@pytest.mark.parametrize("make, error, message", [
    (lambda o: S.ConstantLR(o, factor=1.5), ValueError, "Constant multiplicative factor expected to be between"),
    (lambda o: S.LinearLR(o, start_factor=0), ValueError, "Starting multiplicative factor expected to be greater"),
    (lambda o: S.LinearLR(o, end_factor=2), ValueError, "Ending multiplicative factor expected to be between"),
    (lambda o: S.MultiplicativeLR(o, 0.9), TypeError, "lr_lambda should be a function, but got float"),
    (lambda o: S.CyclicLR(o, 0.1, 1.0, mode="sawtooth"), ValueError, "mode is invalid and scale_fn is None"),
    (lambda o: S.OneCycleLR(o, 1.0), ValueError, "You must define either total_steps OR"),
    (lambda o: S.OneCycleLR(o, 1.0, total_steps=0), ValueError, "Expected positive integer total_steps, but got 0"),
    (lambda o: S.OneCycleLR(o, 1.0, 10, pct_start=1), ValueError, "Expected float between 0 and 1 pct_start"),
    (lambda o: S.OneCycleLR(o, 1.0, 10, anneal_strategy="exp"), ValueError, "anneal_strategy must be one of"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "Expected positive integer T_0, but got 0"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5), ValueError, "Expected integer T_mult >= 1"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2)], milestones=[3]), ValueError,
     "expects number of schedulers provided to be one more than the number of milestone points"),
    (lambda o: S.SequentialLR(o, [], milestones=[]), ValueError, "SequentialLR expects at least one scheduler"),
    (lambda o: S.ChainedScheduler([S.StepLR(o, 2), S.StepLR(make_optimizer(), 2)]), ValueError,
     "expects all schedulers to belong to the same optimizer"),
    (lambda o: S.ChainedScheduler([S.ReduceLROnPlateau(o)]), ValueError,
     "does not support `ReduceLROnPlateau` scheduler"),
])
def test_invalid_arguments(make, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        make(make_optimizer())


@pytest.mark.parametrize("make", [
    lambda o: S.ConstantLR(o, factor=0.5, total_iters=8),
    lambda o: S.LinearLR(o, start_factor=0.1, total_iters=9),
    lambda o: S.PolynomialLR(o, total_iters=12, power=1.5),
    lambda o: S.MultiplicativeLR(o, lambda e: 0.95),
    lambda o: S.CyclicLR(o, base_lr=0.1, max_lr=0.5, step_size_up=3),
    lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=40),
    lambda o: S.SequentialLR(o, [S.ConstantLR(o, factor=0.5, total_iters=2), S.ExponentialLR(o, gamma=0.9)],
                             milestones=[4]),
    lambda o: S.ChainedScheduler([S.ConstantLR(o, factor=0.5, total_iters=7), S.ExponentialLR(o, gamma=0.9)]),
    lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
])
def test_state_dict_resumes_through_a_checkpoint(tmp_path, make):
    def advance(scheduler, epochs):
        for _ in range(epochs):
            scheduler.optimizer.step()
            scheduler.step()
        return scheduler.get_last_lr()[0]

    opt = make_optimizer(momentum=0.9)
    scheduler = make(opt)
    advance(scheduler, 6)
    cr.save({"optimizer": opt.state_dict(), "scheduler": scheduler.state_dict()}, tmp_path / "sched.ckpt")
    checkpoint = cr.load(tmp_path / "sched.ckpt")
    opt2 = make_optimizer(momentum=0.9)
    scheduler2 = make(opt2)
    opt2.load_state_dict(checkpoint["optimizer"])
    scheduler2.load_state_dict(checkpoint["scheduler"])
    assert [advance(scheduler2, 1) for _ in range(8)] == [advance(scheduler, 1) for _ in range(8)]
    assert opt2.param_groups[0]["momentum"] == opt.param_groups[0]["momentum"]


def test_state_dict_keys_match_torch():
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR, momentum=0.9)
    for name, kwargs in [("ConstantLR", {}), ("LinearLR", {}), ("PolynomialLR", {}),
                         ("CosineAnnealingWarmRestarts", dict(T_0=3)), ("OneCycleLR", dict(max_lr=1.0, total_steps=9)),
                         ("CyclicLR", dict(base_lr=0.1, max_lr=0.5))]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = set(getattr(torch.optim.lr_scheduler, name)(topt, **kwargs).state_dict())
        ours = set(getattr(S, name)(make_optimizer(momentum=0.9), **kwargs).state_dict())
        # NOTE: torch also saves its bookkeeping flags (_get_lr_called_within_step, verbose); ours names the same
        # schedule state
        assert ours - theirs == set(), name
        assert theirs - ours <= {"_get_lr_called_within_step", "verbose", "_is_initial", "_scale_fn_ref"}, name


def test_reduce_lr_on_plateau_accepts_the_deprecated_epoch():
    scheduler = S.ReduceLROnPlateau(make_optimizer(), patience=0, factor=0.5)
    scheduler.step(1.0)
    with pytest.warns(UserWarning, match="epoch parameter"):
        scheduler.step(2.0, epoch=7)
    assert scheduler.last_epoch == 7 and scheduler.get_last_lr() == [0.25]
