"""chainrule.compile: compiled calls give the eager results (bitwise where the op order is the same), every guard
retraces, every graph break falls back to eager with its warning, and the generated code reads as flat backprop."""

import collections
import gc
import warnings
import weakref

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule import func
from chainrule.compiler import Unsupported


def _steps(n, shape, classes, seed=0):
    rng = np.random.default_rng(seed)
    xs = [cr.tensor(rng.standard_normal(shape).astype(np.float32)) for _ in range(n)]
    ys = [cr.tensor(rng.integers(0, classes, shape[0])) for _ in range(n)]
    return xs, ys


def _model(kind):
    cr.manual_seed(0)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4))
    if kind in ("svm", "softmax"):
        return nn.Linear(12, 4)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.25), nn.Linear(4 * 3 * 3, 4))


OPTIMIZERS = {
    "sgd_momentum": lambda p: cr.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-4),
    "adam": lambda p: cr.optim.Adam(p, lr=1e-2),
    "adamw": lambda p: cr.optim.AdamW(p, lr=1e-2, weight_decay=0.05),
}


def _train_step(kind, opt_name):
    model = _model(kind)
    opt = OPTIMIZERS[opt_name](model.parameters())
    sched = cr.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.5)
    loss_fn = F.multi_margin_loss if kind == "svm" else F.cross_entropy

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        return loss.detach()
    return model, opt, step


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("kind", ["mlp", "convnet", "svm", "softmax"])
def test_fifty_compiled_steps_equal_fifty_eager_steps_bitwise(kind, opt_name):
    shape = (6, 1, 6, 6) if kind == "convnet" else (6, 12)
    xs, ys = _steps(50, shape, 4)
    eager_model, eager_opt, eager_step = _train_step(kind, opt_name)
    model, opt, step = _train_step(kind, opt_name)
    compiled = cr.compile(step)
    cr.manual_seed(7)
    eager_losses = [eager_step(x, y).item() for x, y in zip(xs, ys)]
    cr.manual_seed(7)
    losses = [compiled(x, y).item() for x, y in zip(xs, ys)]
    assert losses == eager_losses
    for (name, p), q in zip(model.state_dict().items(), eager_model.state_dict().values()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=name)
    for state, eager_state in zip(opt.state.values(), eager_opt.state.values()):
        for key, value in state.items():
            np.testing.assert_array_equal(np.asarray(value.numpy()), np.asarray(eager_state[key].numpy()))
    assert opt.param_groups[0]["lr"] == eager_opt.param_groups[0]["lr"] == pytest.approx(
        (0.05 if opt_name == "sgd_momentum" else 0.01) / 2 ** 7)
    assert compiled.stats.compiles == 1 and compiled.stats.hits == 46  # warm-ups: grads None, then set


def test_the_lecture_example_compiles_to_flat_backprop_and_reruns_on_new_inputs():
    def f(x, y, z):
        q = x + y
        out = q * z
        out.backward()
        return out.detach()

    compiled = cr.compile(f)
    for x0 in (-2.0, -1.0, 0.0, 3.0):
        x, y, z = (cr.tensor(v, requires_grad=True) for v in (x0, 5.0, -4.0))
        assert compiled(x, y, z).item() == (x0 + 5.0) * -4.0
        assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4.0, -4.0, x0 + 5.0)
    code = compiled.code
    lines = [line.strip() for line in code.splitlines()]
    forward, backward = lines.index("# forward"), lines.index("# backward")
    assert lines[forward + 1] == "q = x + y"
    assert lines[forward + 2] == "out = q * z"
    assert backward > forward + 2
    assert lines.index("# backward") < lines.index("_leaves[0]._grad = _wrap(_ensure(grad_x))")
    assert x.grad.numpy() is not y.grad.numpy()


def test_the_two_layer_net_reads_forward_then_backward_then_update():
    _, _, step = _train_step("mlp", "sgd_momentum")
    compiled = cr.compile(step)
    xs, ys = _steps(4, (6, 12), 4)
    for x, y in zip(xs, ys):
        compiled(x, y)
    lines = [line.strip() for line in compiled.code.splitlines()]
    assert lines.index("# forward") < lines.index("# backward") < lines.index("# state")
    assert any(line.startswith("grad_model_0_weight =") for line in lines)
    assert any("lr = " in line for line in lines)


def test_a_scheduler_or_a_manual_learning_rate_change_takes_effect_without_retracing():
    model = _model("mlp")
    opt = cr.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    compiled = cr.compile(step)
    xs, ys = _steps(6, (6, 12), 4)
    for x, y in zip(xs[:5], ys[:5]):
        compiled(x, y)
    assert compiled.stats.compiles == 1 and compiled.stats.hits == 1
    before = model[0].weight.detach().clone()
    opt.param_groups[0]["lr"] = 0.0
    compiled(xs[5], ys[5])
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), before.numpy())
    assert compiled.stats.traces == 2 and compiled.stats.hits == 2


def test_every_guard_retraces_and_stays_correct():
    model = _model("mlp")
    fn = cr.compile(lambda x: model(x))
    xs, _ = _steps(3, (6, 12), 4)
    with cr.no_grad():
        for batch in (6, 3):
            for x in xs:
                np.testing.assert_array_equal(fn(x[:batch]).numpy(), model(x[:batch]).numpy())
        for x in xs:
            out = fn(x.double()) if False else fn(x.to(cr.float64))
            assert out.dtype == cr.float64
        model.eval()
        for x in xs:
            np.testing.assert_array_equal(fn(x).numpy(), model(x).numpy())
    assert fn.stats.compiles == 4
    fn2 = cr.compile(lambda x: (x * 2).sum())
    for requires in (False, True, False):
        for x in xs:
            assert fn2(x.clone().requires_grad_(requires)).item() == pytest.approx((x * 2).sum().item())


def _compiled_small_model():
    """``(model, fn, x)``: a 3-4-2 MLP, ``fn = compile(model(x).sum())``, warmed up and traced on ``x``."""
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    fn = cr.compile(lambda x: model(x).sum())
    x = cr.randn(5, 3)
    for _ in range(4):
        fn(x)
    return model, fn, x


def test_a_replaced_parameter_or_layer_retraces_and_is_read():
    # the guard holds each module's tensors and submodules by identity, so the program never reads a stale one
    model, fn, x = _compiled_small_model()
    assert fn.stats.compiles == 1
    model[0].weight = cr.nn.Parameter(cr.zeros(4, 3))
    model[2] = cr.nn.Linear(4, 2)
    for _ in range(4):
        assert fn(x).item() == pytest.approx(model(x).sum().item())
    assert fn.stats.compiles == 2
    model[0].bias.data = cr.ones(4)  # new memory behind the same parameter: checked again, so traced again
    for _ in range(4):
        assert fn(x).item() == pytest.approx(model(x).sum().item())
    assert fn.stats.compiles == 3
    model[0].bias.data.add_(1.0)  # new values in the same memory: read live, no new trace
    assert fn(x).item() == pytest.approx(model(x).sum().item()) and fn.stats.compiles == 3
    # only the latest hit's guard holds what it checks: a replaced layer is not kept alive by an older one
    old = weakref.ref(model[2])
    model[2] = cr.nn.Linear(4, 2)
    for _ in range(4):
        assert fn(x).item() == pytest.approx(model(x).sum().item())
    gc.collect()
    assert old() is None and fn.stats.compiles == 4


def test_direct_writes_to_a_modules_stores_are_seen():
    # the guard walks the modules only after some module changed; writes straight into the stores count too
    model, fn, x = _compiled_small_model()
    changes = cr._state.module_changes[0]
    for _ in range(3):
        fn(x)  # calls change no module
    assert cr._state.module_changes[0] == changes
    for change in (lambda: model._modules.__setitem__("2", cr.nn.Linear(4, 2)),
                   lambda: model[0]._parameters.__setitem__("weight", cr.nn.Parameter(cr.ones(4, 3))),
                   lambda: model[0]._parameters.update(bias=cr.nn.Parameter(cr.zeros(4))),
                   lambda: setattr(model[2], "_parameters", dict(model[2]._parameters)),
                   lambda: model.eval()):
        change()
        for _ in range(4):
            assert fn(x).item() == pytest.approx(model(x).sum().item())


def _momentum_sgd():
    """``(model, optimizer, step)``: a seeded Linear(3, 2) and its SGD step with momentum 0.9."""
    cr.manual_seed(0)
    model = cr.nn.Linear(3, 2)
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step(x):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
    return model, opt, step


def test_a_replaced_optimizer_state_tensor_retraces_and_is_updated():
    # momentum buffers are held by identity too: the program never updates a buffer the optimizer dropped
    x = cr.ones(4, 3)
    (eager_model, eager_opt, eager_step), (model, opt, step) = _momentum_sgd(), _momentum_sgd()
    compiled = cr.compile(step)
    for _ in range(4):
        eager_step(x)
        compiled(x)
    for o in (eager_opt, opt):
        for p in o.param_groups[0]["params"]:
            o.state[p]["momentum_buffer"] = cr.zeros_like(p)
    for _ in range(3):
        eager_step(x)
        compiled(x)
    for a, b in zip(eager_model.parameters(), model.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    for p, q in zip(eager_opt.param_groups[0]["params"], opt.param_groups[0]["params"]):
        np.testing.assert_array_equal(eager_opt.state[p]["momentum_buffer"].numpy(),
                                      opt.state[q]["momentum_buffer"].numpy())


def test_direct_writes_to_an_optimizers_groups_and_state_are_seen():
    # the guard re-checks an optimizer only after some optimizer changed: its groups, their parameter lists and
    # its state count every change; plain dicts put in their place are checked on every call from then on
    x = cr.ones(4, 3)
    (eager_model, eager_opt, eager_step), (model, opt, step) = _momentum_sgd(), _momentum_sgd()
    compiled = cr.compile(step, options={"cache_limit": 16})
    for _ in range(4):
        eager_step(x)
        compiled(x)
    changes = cr._state.optimizer_changes[0]
    for _ in range(3):
        compiled(x)  # compiled calls change no optimizer (eager SGD steps store their momentum buffers anew)
    assert cr._state.optimizer_changes[0] == changes
    for _ in range(3):
        eager_step(x)

    def param(o, i):
        return o.param_groups[0]["params"][i]

    def buffer(o, i):
        return o.state[param(o, i)]

    for change in (lambda o: o.param_groups[0].__setitem__("momentum", 0.5),
                   lambda o: o.param_groups[0]["params"].reverse(),
                   lambda o: o.param_groups[0].update(dampening=0.1),
                   lambda o: buffer(o, 0).__setitem__("momentum_buffer", cr.ones_like(param(o, 0))),
                   lambda o: o.state.__setitem__(param(o, 1), {"momentum_buffer": cr.ones_like(param(o, 1))}),
                   lambda o: buffer(o, 1).__setitem__("momentum_buffer", cr.zeros_like(param(o, 1))),  # plain now
                   lambda o: o.param_groups.__setitem__(0, dict(o.param_groups[0])),
                   lambda o: o.param_groups[0].__setitem__("momentum", 0.8),            # a plain dict now
                   lambda o: setattr(o, "state", collections.defaultdict(dict, o.state))):
        # NOTE: a step of each; then the change and compiled calls with no other change between them (the eager
        # twin's steps change its optimizer's state: the guard would re-check anyway). A new key warms up and
        # traces in three calls, the program runs in the others.
        eager_step(x)
        compiled(x)
        change(opt)
        for _ in range(5):
            compiled(x)
        change(eager_opt)
        for _ in range(5):
            eager_step(x)
        for a, b in zip(eager_model.parameters(), model.parameters()):
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def _warned(run):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    return [str(w.message) for w in caught]



def test_optimizer_settings_requires_grad_and_replaced_groups_retrace_and_stay_correct():
    # the guard's cheap per-call form (C-level maps over gathered lists) still sees every change a trace bakes in
    runs = []
    for _ in range(2):
        model = _model("mlp")
        opt = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

        def step(x, y, model=model, opt=opt):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            return model[0].weight.detach().clone()
        runs.append((model, opt, step))
    (_, eager_opt, eager_step), (_, opt, step) = runs
    compiled = cr.compile(step, options={"cache_limit": 16})  # NOTE: a key per phase, some two
    xs, ys = _steps(5, (6, 12), 4)

    def phase(change):
        change(opt)
        change(eager_opt)
        for x, y in zip(xs, ys):
            np.testing.assert_array_equal(compiled(x, y).numpy(), eager_step(x, y).numpy())

    phase(lambda o: None)
    assert compiled.stats.compiles == 1
    phase(lambda o: o.param_groups[0].update(momentum=0.5))              # a baked-in setting
    phase(lambda o: o.param_groups[0].update(extra=[1]))                 # a new, unhashable setting
    phase(lambda o: o.param_groups[0].update(extra=(2,)))                # now hashable: in the key
    phase(lambda o: o.load_state_dict(o.state_dict()))                   # new group dicts and state tensors
    phase(lambda o: o.param_groups[0]["params"].pop())                   # a parameter no longer updated
    phase(lambda o: o.param_groups[0]["params"][1].requires_grad_(False))
    assert compiled.stats.compiles == 7



def test_the_previous_programs_generated_guard_agrees_with_the_key():
    # a hit tries the previous call's program first, through a generated check of every fact of its key
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    fn = cr.compile(lambda x, scale: model(x).sum() * scale)
    x = cr.randn(5, 3)
    for _ in range(4):
        fn(x, 2.0)
    check, state = fn._last.check, fn._state
    assert "def check(leaves, structure)" in check.source
    leaves, structure = [x, 2.0], fn._structures.get(2) or cr.func.tree_flatten(((x, 2.0), {}))[1]._key()
    key = state.key(leaves, structure)
    layers = model._modules

    def to_end(name):  # the same layers in another order: another forward, so another key
        layers[name] = layers.pop(name)

    changes = [lambda: model.eval(), lambda: model.train(), lambda: to_end("0"), lambda: to_end("1"),
               lambda: to_end("2"), lambda: model[0].weight.requires_grad_(False),
               lambda: model[0].weight.requires_grad_(True)]
    for change in changes:
        change()
        assert check(leaves, structure) == (state.key(leaves, structure) == key)
    assert check(leaves, structure)
    assert not check([x, 3.0], structure) and not check([x.double(), 2.0], structure)
    assert not check([x[:4], 2.0], structure) and not check([x, [2.0]], structure)
    to_end("0")
    assert not check(leaves, structure)


@pytest.mark.parametrize("read", ["item", "bool", "numpy", "print", "nonzero"])
def test_graph_breaks_run_eagerly_with_a_warning_naming_the_line(read, capsys):
    def f(x):
        y = x * 2
        if read == "item":
            return y + y.sum().item()
        if read == "bool":
            return y if y.sum() > 0 else -y
        if read == "numpy":
            return y + float(y.numpy().sum())
        if read == "print":
            print(y)
            return y
        return y[cr.nonzero(y > 0)[:, 0]]

    compiled = cr.compile(f)
    xs = [cr.tensor([1.0, -2.0, 3.0]) * (i + 1) for i in range(4)]
    messages = _warned(lambda: [np.testing.assert_array_equal(compiled(x).numpy(), f(x).numpy()) for x in xs])
    assert len([m for m in messages if "graph break" in m]) == 1
    assert "test_compile.py" in messages[0]
    assert compiled.stats.graph_breaks == 1 and compiled.stats.compiles == 0
    with pytest.raises(Unsupported, match="fullgraph=True"):
        full = cr.compile(f, fullgraph=True)
        for x in xs:
            full(x)


def test_python_values_that_change_between_calls_keep_the_function_eager():
    calls = []

    def f(x):
        calls.append(1)
        return x * len(calls)

    compiled = cr.compile(f)
    messages = _warned(lambda: [compiled(cr.ones(2)) for _ in range(5)])
    assert any("recorded different programs" in m for m in messages)
    assert compiled(cr.ones(2)).tolist() == [6.0, 6.0]


def test_the_cache_limit_warns_and_runs_later_keys_eagerly():
    compiled = cr.compile(lambda x: x + 1, options={"cache_limit": 2})
    messages = _warned(lambda: [compiled(cr.ones(n)) for n in (1, 2, 3) for _ in range(3)])
    assert any("traced for 2 different guard keys" in m for m in messages)
    assert compiled(cr.ones(3)).tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(ValueError, match="unknown options"):
        cr.compile(lambda x: x, options={"cache_size": 1})


def test_a_compiled_module_trains_in_an_eager_loop_like_the_module():
    eager, compiled_model = _model("mlp"), _model("mlp")
    compiled = cr.compile(compiled_model)
    assert list(compiled.state_dict())[0] == "_orig_mod.0.weight"
    eager_opt = cr.optim.Adam(eager.parameters(), lr=1e-2)
    opt = cr.optim.Adam(compiled.parameters(), lr=1e-2)
    xs, ys = _steps(8, (6, 12), 4)
    for x, y in zip(xs, ys):
        for m, o in ((eager, eager_opt), (compiled, opt)):
            o.zero_grad()
            F.cross_entropy(m(x), y).backward()
            o.step()
    for p, q in zip(compiled_model.parameters(), eager.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert "def Sequential_backward" in compiled._compiled.code
    for x in xs[:4]:
        compiled(x.clone().requires_grad_(True)).sum()
    x = xs[0].clone().requires_grad_(True)
    with pytest.raises(RuntimeError, match="cannot be differentiated again"):
        cr.autograd.grad(compiled(x).sum(), x, create_graph=True)


def test_module_compile_in_place_and_the_eager_backend():
    model, reference = _model("mlp"), _model("mlp")
    model.compile(backend="eager")
    xs, _ = _steps(4, (6, 12), 4)
    with cr.no_grad():
        for x in xs:
            np.testing.assert_array_equal(model(x).numpy(), reference(x).numpy())
    with pytest.raises(ValueError, match="unknown backend"):
        cr.compile(lambda x: x, backend="inductor")
    f = lambda x: x  # noqa: E731
    assert cr.compile(f, disable=True) is f


@pytest.mark.parametrize("transform", ["grad", "hessian", "jacrev", "vmap_grad"])
def test_functions_using_transforms_compile(transform):
    a = cr.randn(8, 8, dtype=cr.float64)

    def f(x):
        return cr.tanh(a @ x).sum()
    fn = {"grad": func.grad(f), "hessian": func.hessian(f), "jacrev": func.jacrev(lambda x: cr.sin(a @ x)),
          "vmap_grad": func.vmap(func.grad(f))}[transform]
    compiled = cr.compile(fn)
    for _ in range(4):
        x = cr.randn(3, 8, dtype=cr.float64) if transform == "vmap_grad" else cr.randn(8, dtype=cr.float64)
        np.testing.assert_array_equal(compiled(x).numpy(), fn(x).numpy())
    assert compiled.stats.hits == 1


def test_passes_drop_dead_code_merge_duplicates_and_fold_constants():
    def f(x):
        unused = x.exp()  # noqa: F841
        c = cr.ones(3) * 2
        return x.sin() + x.sin() + c

    compiled = cr.compile(f)
    for _ in range(4):
        x = cr.randn(3)
        np.testing.assert_array_equal(compiled(x).numpy(), f(x).numpy())
    ops = [eq.op.name for eq in compiled.program.equations]
    assert ops.count("sin") == 1 and "exp" not in ops and ops.count("mul") == 0
