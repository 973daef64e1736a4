"""Cross-entropy's backward as one step: ``log_softmax_nll_backward`` computes what ``nll_scatter`` then
log_softmax's VJP compute, bit for bit, and the compiler's pass writes it where a traced backward has exactly
those steps."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import func
from chainrule.compiler.passes import fuse_cross_entropy_backward
from chainrule.ops._primitive import apply
from chainrule.ops.indexing import LogSoftmaxNllBackward, NllScatter, log_softmax_nll_backward_forward
from chainrule.ops.reduce import log_softmax_forward
from chainrule.program import record

from .test_passes_simplify import _mlp_step

RNG = np.random.default_rng(11)


def _steps(g, target, out, dim, ignore_index, reduction):
    """The engine's steps: nll_scatter, then log_softmax's VJP ``G - exp(out) * sum(G)``."""
    picked = NllScatter.forward(None, g, target, dim, ignore_index, reduction, out.shape)
    return picked - np.exp(out) * np.add.reduce(picked, axis=dim, keepdims=True)


def _case(rng):
    dtype = rng.choice([np.float32, np.float64])
    n, c, spatial = int(rng.integers(1, 20)), int(rng.integers(1, 8)), rng.random() < 0.3
    x = (rng.standard_normal((n, c, 3) if spatial else (n, c)) * rng.choice([1, 30, 300])).astype(dtype)
    if rng.random() < 0.2:
        x[0, 0] = -np.inf   # a class of probability 0: exp(out) is 0 there
    target = rng.integers(0, c, (n, 3) if spatial else (n,))
    ignore_index = -100
    if rng.random() < 0.2:
        target.reshape(-1)[0] = -100
    elif rng.random() < 0.2:
        ignore_index = int(rng.integers(0, c))
    reduction = str(rng.choice(["mean", "sum", "none"]))
    if reduction == "none":
        g = rng.standard_normal(target.shape).astype(dtype)
    else:
        g = np.asarray(rng.choice([1.0, 0.25, 3.7, -1.0, 0.0, -0.0, np.nan, np.inf]), dtype)
    out = log_softmax_forward(x, 1)
    if rng.random() < 0.2:
        out = np.asfortranarray(out)  # a layout of its own: the steps' layout is kept
    return g, target, out, 1, ignore_index, reduction


def test_the_forward_is_the_engine_s_steps_bit_for_bit_whatever_the_case():
    rng = np.random.default_rng(0)
    with np.errstate(all="ignore"):
        for _ in range(1500):
            case = _case(rng)
            got, expected = log_softmax_nll_backward_forward(*case), _steps(*case)
            assert (got.dtype, got.shape, got.tobytes()) == (expected.dtype, expected.shape, expected.tobytes())
            assert got.flags.c_contiguous == expected.flags.c_contiguous


def test_out_of_range_targets_raise_as_nll_scatter_does():
    out = log_softmax_forward(RNG.standard_normal((3, 4)), 1)
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        log_softmax_nll_backward_forward(np.float64(1), np.array([0, 4, 1]), out, 1, -100, "mean")


@pytest.mark.parametrize("reduction,ignore_index", [("mean", -100), ("sum", 1), ("none", 2)])
def test_its_gradients_tangents_and_batches_are_those_of_the_steps(reduction, ignore_index):
    target = cr.tensor([0, 3, 1, 1, 2])
    g = cr.tensor(RNG.standard_normal(5) if reduction == "none" else 1.3, dtype=cr.float64, requires_grad=True)
    out = F.log_softmax(cr.tensor(RNG.standard_normal((5, 4))), 1).requires_grad_()

    def fused(g, out):
        return apply(LogSoftmaxNllBackward, (g, target, out), dim=1, ignore_index=ignore_index,
                     reduction=reduction)
    assert cr.autograd.gradcheck(fused, (g, out)) and cr.autograd.gradgradcheck(fused, (g, out))
    # the gradient of nll(log_softmax(x)) for x, as the engine gives it
    x = cr.tensor(RNG.standard_normal((5, 4)), requires_grad=True)
    loss = F.nll_loss(F.log_softmax(x, 1), target, reduction=reduction, ignore_index=ignore_index)
    expected = cr.autograd.grad(loss, x, g.detach().expand_as(loss))[0]
    np.testing.assert_allclose(fused(g.detach(), F.log_softmax(x.detach(), 1)).numpy(), expected.numpy(),
                               rtol=1e-12, atol=1e-15)
    tangents = cr.tensor(RNG.standard_normal(tuple(g.shape))), cr.tensor(RNG.standard_normal((5, 4)))
    _, tangent = func.jvp(fused, (g.detach(), out.detach()), tangents)
    eps = 1e-6
    ahead = fused(g.detach() + eps * tangents[0], out.detach() + eps * tangents[1])
    behind = fused(g.detach() - eps * tangents[0], out.detach() - eps * tangents[1])
    np.testing.assert_allclose(tangent.numpy(), ((ahead - behind) / (2 * eps)).numpy(), atol=1e-8)
    gs = cr.tensor(RNG.standard_normal((3, 5) if reduction == "none" else 3))
    targets = cr.tensor(RNG.integers(0, 4, (3, 5)))
    outs = F.log_softmax(cr.tensor(RNG.standard_normal((3, 5, 4))), 2)

    def one(g, t, o):
        return apply(LogSoftmaxNllBackward, (g, t, o), dim=1, ignore_index=ignore_index, reduction=reduction)
    batched = func.vmap(one)(gs, targets, outs)
    for i in range(3):
        np.testing.assert_allclose(batched[i].numpy(), one(gs[i], targets[i], outs[i]).numpy(), rtol=1e-12)


def _cross_entropy_grad(x, y, keep_picked=False):
    """The engine's backward of cross-entropy, as a program records it (``keep_picked``: nll_scatter's result
    is a result too, read by something else)."""
    out = F.log_softmax(x, 1)
    g = cr.ones((), dtype=x.dtype)
    picked = apply(NllScatter, (g, y), dim=1, ignore_index=-100, reduction="mean", shape=tuple(x.shape))
    grad = picked - out.exp() * picked.sum(1, keepdim=True)
    return (grad, picked) if keep_picked else grad


def test_the_pass_writes_the_steps_as_one_only_where_nothing_else_reads_them():
    x, y = cr.tensor(RNG.standard_normal((6, 4))), cr.tensor(RNG.integers(0, 4, 6))
    program, (expected,) = record(lambda x, y: (_cross_entropy_grad(x, y),), x, y)
    fused = fuse_cross_entropy_backward(program)
    assert [eq.op.name for eq in fused.equations] == ["log_softmax", "log_softmax_nll_backward"]
    np.testing.assert_array_equal(fused.run(x, y)[0].numpy(), expected.numpy())
    program, _ = record(lambda x, y: _cross_entropy_grad(x, y, keep_picked=True), x, y)
    names = [eq.op.name for eq in fuse_cross_entropy_backward(program).equations]
    assert "log_softmax_nll_backward" not in names and "nll_scatter" in names


@pytest.mark.parametrize("maximize", [False, True])
def test_a_compiled_training_step_runs_one_backward_step_for_cross_entropy_and_stays_bitwise(maximize):
    (model, step), (eager_model, eager_step) = _mlp_step(maximize=maximize), _mlp_step(maximize=maximize)
    compiled = cr.compile(step)
    for _ in range(8):
        x, y = cr.tensor(RNG.standard_normal((7, 12)).astype(np.float32)), cr.tensor(RNG.integers(0, 4, 7))
        assert compiled(x, y).item() == eager_step(x, y).item()
    for p, q in zip(model.parameters(), eager_model.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    names = [eq.op.name for eq in compiled.program.equations]
    assert names.count("log_softmax_nll_backward") == 1 and "nll_scatter" not in names
    assert any(line.strip().startswith("g") and "= _log_softmax_nll_backward(" in line
               for line in compiled.code.splitlines())
