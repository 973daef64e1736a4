"""nll_loss and cross_entropy read each target's class with one primitive (``nll``, transposed by ``nll_scatter``)
whose target is a tensor input: a compiled step reads each call's targets, vmap batches them (per-sample losses
and gradients), and the range check runs wherever the forward does."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import func

RNG = np.random.default_rng(5)
LOGITS = RNG.standard_normal((6, 4))


def _nll_ref(x, t, reduction, ignore_index=-100):
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    terms = np.array([0.0 if k == ignore_index else -logp[n, k] for n, k in enumerate(t)])
    counted = sum(k != ignore_index for k in t)
    return {"none": terms, "sum": terms.sum(), "mean": terms.sum() / counted}[reduction]


CASES = {
    "plain": lambda x, y, r: F.cross_entropy(x, y, reduction=r),
    "ignored": lambda x, y, r: F.cross_entropy(x, y, reduction=r, ignore_index=1),
    "weighted": lambda x, y, r: F.cross_entropy(x, y, cr.tensor([0.5, 2.0, 1.0, 0.25]), reduction=r,
                                                ignore_index=3),
    "smoothed": lambda x, y, r: F.cross_entropy(x, y, reduction=r, label_smoothing=0.2, ignore_index=0),
    "nll": lambda x, y, r: F.nll_loss(F.log_softmax(x, 1), y, reduction=r, ignore_index=2),
    "spatial": lambda x, y, r: F.cross_entropy(x.reshape(3, 4, 2), y.reshape(3, 2), reduction=r),
}


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_compiled_step_reads_each_calls_targets_and_equals_the_eager_one_hot_bit_for_bit(case, reduction):
    # eager graphs keep the one-hot composite (chainrule.viz recognises it); compiled ones read the classes with
    # the nll primitive: the same values and gradients, bit for bit
    x = cr.tensor(LOGITS, requires_grad=True)

    def step(x, y):
        loss = CASES[case](x, y, reduction).sum()
        return loss.detach(), cr.autograd.grad(loss, x)[0]

    compiled = cr.compile(step)
    for _ in range(6):
        y = cr.tensor(RNG.integers(0, 4, 6))
        if case == "ignored":
            y[0] = 0    # never all ignored: the one-hot composite's gradient of 0 / 0 is nan, torch's 0
        loss, grad = compiled(x, y)
        eager_loss, eager_grad = step(x, y)
        np.testing.assert_array_equal(loss.numpy(), eager_loss.numpy())
        np.testing.assert_array_equal(grad.numpy(), eager_grad.numpy())
    if case == "ignored":
        np.testing.assert_allclose(loss.item(), np.sum(_nll_ref(LOGITS, y.tolist(), reduction, 1)), rtol=1e-12)
    assert compiled.stats.compiles == 1 and compiled.stats.hits == 3
    assert any(eq.op.name == "nll" for eq in compiled.program.equations)


def test_out_of_range_targets_raise_eagerly_compiled_and_under_vmap():
    x = cr.tensor(LOGITS)
    for bad in (4, -3):
        y = cr.tensor([0, 1, bad, 2, 3, 0])
        with pytest.raises(IndexError, match=f"cross_entropy: Target {bad} is out of bounds"):
            F.cross_entropy(x, y)
        with pytest.raises(IndexError, match=f"nll_loss: Target {bad} is out of bounds"):
            F.nll_loss(x, y, reduction="none")
        with pytest.raises(IndexError, match=f"Target {bad} is out of bounds"):
            func.vmap(F.cross_entropy)(x, y)
    compiled = cr.compile(lambda x, y: F.cross_entropy(x, y))
    good = cr.tensor([0, 1, 2, 3, 0, 1])
    for _ in range(4):
        compiled(x, good)
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        compiled(x, cr.tensor([0, 1, 7, 3, 0, 1]))
    # the ignored value is never a class read, whatever its sign
    assert F.cross_entropy(x, cr.tensor([0, -7, 2, 3, 0, 1]), ignore_index=-7).isfinite().item()


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_vmap_gives_per_sample_losses_and_gradients_as_a_loop(reduction):
    x = cr.tensor(LOGITS.reshape(3, 2, 4))
    y = cr.tensor([[0, 3], [2, 2], [1, 0]])

    def loss(x, y):
        return F.cross_entropy(x, y, reduction=reduction, ignore_index=2).sum()

    batched = func.vmap(loss)(x, y)
    looped = [loss(x[i], y[i]) for i in range(3)]
    np.testing.assert_allclose(batched.numpy(), [v.item() for v in looped], rtol=1e-12)
    per_sample = func.vmap(func.grad(loss))(x, y)
    for i in (0, 2):
        np.testing.assert_allclose(per_sample[i].numpy(), func.grad(loss)(x[i], y[i]).numpy(), rtol=1e-12)
    # sample 1's targets are all ignored: its 'mean' is 0 / 0 = nan and its gradient 0, as torch's (the eager
    # one-hot composite's gradient is nan there: 0 * (1 / 0))
    np.testing.assert_array_equal(per_sample[1].numpy(), 0.0)
    if reduction == "mean":
        assert np.isnan(batched[1].item())
    # one target per sample, unbatched input per sample: (C,) logits and a 0-d target
    flat = func.vmap(lambda x, y: F.cross_entropy(x, y, reduction=reduction))(cr.tensor(LOGITS), cr.tensor(
        [0, 1, 2, 3, 0, 1]))
    np.testing.assert_allclose(flat.numpy(), _nll_ref(LOGITS, [0, 1, 2, 3, 0, 1], "none"), rtol=1e-12)


def test_the_picks_are_linear_in_every_mode_and_shared_targets_batch():
    x = cr.tensor(LOGITS, requires_grad=True)
    y = cr.tensor([0, 1, 2, 3, 2, 1])
    v = cr.tensor(RNG.standard_normal((6, 4)))
    out, tangent = func.jvp(lambda x: F.nll_loss(x, y, ignore_index=3), (x,), (v,))
    np.testing.assert_allclose(tangent.item(), F.nll_loss(v, y, ignore_index=3).item(), rtol=1e-12)
    assert cr.autograd.gradcheck(lambda a: F.nll_loss(a, y, reduction="sum") * F.nll_loss(a, y), (x,))
    assert cr.autograd.gradgradcheck(lambda a: F.cross_entropy(a, y, ignore_index=0) ** 2, (x,))
    # the same targets for every sample of a vmapped batch (an unbatched target input)
    batched = func.vmap(lambda x: F.nll_loss(x, y, reduction="none"))(cr.tensor(LOGITS[None].repeat(2, 0)))
    np.testing.assert_array_equal(batched[0].numpy(), -LOGITS[np.arange(6), y.numpy()])
    np.testing.assert_array_equal(batched[1].numpy(), batched[0].numpy())
