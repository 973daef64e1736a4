"""softmax, log_softmax and the multiclass SVM loss: the lecture's values, stability and torch's errors."""

import numpy as np
import pytest

import chainrule as cr

# The lecture's three images (cat, car, frog) scored over the classes (cat, car, frog).
SCORES = [[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]
LABELS = [0, 1, 2]


def test_softmax_rows_are_distributions():
    x = cr.tensor(np.random.default_rng(0).normal(0, 3, (4, 5, 6)))
    for dim in (0, 1, -1):
        p = cr.softmax(x, dim)
        np.testing.assert_allclose(p.numpy().sum(dim), 1.0, rtol=1e-12)
        assert (p.numpy() > 0).all()
    np.testing.assert_allclose(x.softmax(1).numpy(), np.exp(x.log_softmax(1).numpy()), rtol=1e-12)
    np.testing.assert_allclose(cr.softmax(cr.tensor([1.0, 2.0]), 0).numpy(), [0.268941, 0.731059], rtol=1e-5)


def test_large_logits_stay_finite_with_finite_gradients():
    for fn, expected in ((cr.log_softmax, [0.0, -1e4]), (cr.softmax, [1.0, 0.0])):
        x = cr.tensor([1e4, 0.0], requires_grad=True)
        out = fn(x, 0)
        np.testing.assert_array_equal(out.detach().numpy(), expected)
        (out * cr.tensor([1.0, 2.0])).sum().backward()
        assert np.isfinite(x.grad.numpy()).all()
    x = cr.tensor([1e4, 0.0], requires_grad=True)
    cr.log_softmax(x, 0)[1].backward()
    np.testing.assert_allclose(x.grad.numpy(), [-1.0, 1.0])  # d/dx (x1 - logsumexp(x)) = e1 - softmax(x)


def test_softmax_dtype_and_errors():
    assert cr.softmax(cr.tensor([1.0, 2.0]), 0, dtype=cr.float64).dtype == cr.float64
    assert cr.log_softmax(cr.tensor([1, 2]), 0, dtype=cr.float32).dtype == cr.float32
    with pytest.raises(NotImplementedError, match="softmax: not implemented for"):
        cr.softmax(cr.tensor([1, 2]), 0)
    with pytest.raises(IndexError, match="dimension out of range"):
        cr.log_softmax(cr.ones(2, 3), 2)
    assert cr.softmax(cr.tensor(3.0), 0).item() == 1.0


def test_svm_hinge_loss_lecture_example():
    x = cr.tensor([SCORES[0]], requires_grad=True)
    y = cr.tensor([0])
    # The lecture sums max(0, s_j - s_y + 1) over j != y: max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1).
    hinge_sum = cr.multi_margin_loss(x, y, reduction="sum") * 3
    assert hinge_sum.item() == pytest.approx(2.9)
    loss = cr.multi_margin_loss(x, y)  # torch divides by the number of classes C = 3
    assert loss.item() == pytest.approx(2.9 / 3)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [[-1 / 3, 1 / 3, 0.0]], rtol=1e-6)


def test_svm_hinge_loss_over_the_lecture_batch():
    x = cr.tensor(SCORES, dtype=cr.float64)
    y = cr.tensor(LABELS)
    per_sample = cr.multi_margin_loss(x, y, reduction="none")
    np.testing.assert_allclose(per_sample.numpy() * 3, [2.9, 0.0, 12.9], rtol=1e-12)
    assert cr.multi_margin_loss(x, y).item() == pytest.approx((2.9 + 0.0 + 12.9) / 3 / 3)
    squared = cr.multi_margin_loss(x, y, p=2, margin=0.5, reduction="none")
    np.testing.assert_allclose(squared.numpy() * 3, [2.4 ** 2, 0.0, 5.8 ** 2 + 6.1 ** 2], rtol=1e-12)
    weight = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)
    weighted = cr.multi_margin_loss(x, y, weight=weight, reduction="sum")
    assert weighted.item() == pytest.approx((2.9 + 3 * 12.9) / 3)


def test_svm_hinge_loss_shapes_follow_the_target():
    scores = cr.tensor(SCORES[0])
    assert cr.multi_margin_loss(scores, cr.tensor(0), reduction="none").shape == ()
    assert cr.multi_margin_loss(scores, cr.tensor([0]), reduction="none").shape == (1,)
    assert cr.multi_margin_loss(cr.tensor([SCORES[0]]), cr.tensor(0), reduction="none").shape == ()


@pytest.mark.parametrize("kwargs, error, message", [
    ({"p": 3}, ValueError, "only p == 1 and p == 2 supported"),
    ({"reduction": "avg"}, ValueError, "'avg' is not a valid value for reduction"),
    ({"target": cr.tensor([0.0, 1.0, 2.0])}, RuntimeError, "integer dtype"),
    ({"target": cr.tensor([0, 1, 3])}, RuntimeError, "target 3 is out of range for 3 classes"),
    ({"target": cr.tensor([0, -1, 2])}, RuntimeError, "target -1 is out of range"),
    ({"target": cr.tensor([0, 1])}, RuntimeError, "should be 1-D with size equal to the number of input "
                                                  "samples (3)"),
    ({"input": cr.ones(3, 3, 2)}, RuntimeError, "expected a non-empty vector (C,) or matrix (N, C)"),
    ({"input": cr.ones(3, 3, dtype=cr.int64)}, NotImplementedError, "not implemented for"),
    ({"weight": cr.ones(2)}, RuntimeError, "inconsistent weight size, expected a tensor of shape (3,)"),
])
def test_svm_hinge_loss_errors(kwargs, error, message):
    args = {"input": cr.tensor(SCORES), "target": cr.tensor(LABELS), **kwargs}
    with pytest.raises(error) as info:
        cr.multi_margin_loss(**args)
    assert message in str(info.value)


def test_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.normal(0, 2, (6, 4))
    y = rng.integers(0, 4, 6)
    w = rng.uniform(0.5, 2, 4)
    for kwargs in ({}, {"p": 2, "margin": 0.7}, {"reduction": "sum"}, {"reduction": "none", "weight": True}):
        ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours_w = {"weight": cr.tensor(w)} if kwargs.get("weight") else {}
        theirs_w = {"weight": torch.tensor(w)} if kwargs.get("weight") else {}
        rest = {k: v for k, v in kwargs.items() if k != "weight"}
        out = cr.multi_margin_loss(ours, cr.tensor(y), **rest, **ours_w)
        ref = torch.nn.functional.multi_margin_loss(theirs, torch.tensor(y), **rest, **theirs_w)
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
        out.sum().backward()
        ref.sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)
    for fn in ("softmax", "log_softmax"):
        ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, ref = getattr(cr, fn)(ours, 1), getattr(torch, fn)(theirs, 1)
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
        (out * cr.tensor(x)).sum().backward()
        (ref * torch.tensor(x)).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-14)
