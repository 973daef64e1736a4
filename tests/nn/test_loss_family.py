"""The losses and distances added for issue 12: closed forms and hand computations for each reduction, the
lecture's multiclass SVM loss, CTC's forward algorithm, module options, errors as torch, optional parity."""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

from ..helpers import close


def d(values, requires_grad=False):
    """A float64 tensor."""
    return cr.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# -- the lecture's multiclass SVM loss ----------------------------------------------------------------------

SCORES = [[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]  # cat, car, frog (the lecture's example)


def test_multiclass_svm_loss_is_the_lecture_example():
    x, y = d(SCORES), cr.tensor([0, 1, 2])
    close(F.multiclass_svm_loss(x, y, reduction="none"), [2.9, 0.0, 12.9])
    close(F.multiclass_svm_loss(x, y), (2.9 + 0.0 + 12.9) / 3)
    close(F.multiclass_svm_loss(x, y, reduction="sum"), 15.8)
    close(cr.multiclass_svm_loss(x[0], y[0]), 2.9)  # a single (C,) sample
    # torch's multi_margin_loss is the same sum divided by the class count
    close(F.multi_margin_loss(x, y, reduction="none") * 3, F.multiclass_svm_loss(x, y, reduction="none"))
    close(F.multiclass_svm_loss(x, y, margin=0.0, reduction="none"), [1.9, 0.0, 10.9])


def test_multiclass_svm_loss_gradient_counts_the_violating_classes():
    x = d(SCORES, requires_grad=True)
    F.multiclass_svm_loss(x, cr.tensor([0, 1, 2]), reduction="sum").backward()
    # row 0: only class 1 violates; row 1: none; row 2: both wrong classes violate
    close(x.grad, [[-1, 1, 0], [0, 0, 0], [1, 1, -2]])


def test_multiclass_svm_loss_errors():
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.multiclass_svm_loss(d(SCORES), cr.tensor([0, 1, 2]), reduction="avg")
    with pytest.raises(RuntimeError, match="multiclass_svm_loss: target 3 is out of range"):
        F.multiclass_svm_loss(d(SCORES), cr.tensor([0, 1, 3]))


# -- closed forms per loss and reduction --------------------------------------------------------------------

def test_poisson_nll_loss():
    x, t = d([0.0, math.log(2.0)]), d([1.0, 3.0])
    close(F.poisson_nll_loss(x, t, reduction="none"), [1.0, 2 - 3 * math.log(2)])
    close(F.poisson_nll_loss(d([1.0, 2.0]), t, log_input=False, eps=0.0, reduction="sum"), 3 - 3 * math.log(2))
    stirling = 3 * math.log(3) - 3 + 0.5 * math.log(2 * math.pi * 3)  # only where target > 1
    close(F.poisson_nll_loss(x, t, full=True), (1.0 + 2 - 3 * math.log(2) + stirling) / 2)


def test_gaussian_nll_loss_shapes_clamp_and_full():
    x, t = d([[1.0, 2.0], [0.0, 0.0]]), d([[0.0, 0.0], [1.0, 3.0]])
    var = d([[1.0, 4.0], [0.5, 2.0]])
    expected = 0.5 * (np.log(var.numpy()) + (x.numpy() - t.numpy()) ** 2 / var.numpy())
    close(F.gaussian_nll_loss(x, t, var, reduction="none"), expected)
    close(F.gaussian_nll_loss(x, t, var, full=True), expected.mean() + 0.5 * math.log(2 * math.pi))
    shared = 0.5 * (np.log([[2.0], [3.0]]) + (x.numpy() - t.numpy()) ** 2 / np.array([[2.0], [3.0]]))
    close(F.gaussian_nll_loss(x, t, d([2.0, 3.0]), reduction="none"), shared)  # one fewer dim
    close(F.gaussian_nll_loss(x, t, d([[2.0], [3.0]]), reduction="none"), shared)  # last dim 1
    close(F.gaussian_nll_loss(x, t, 2.0, reduction="sum"), (0.5 * (np.log(2) + (x.numpy() - t.numpy()) ** 2 / 2)).sum())
    # the clamp at eps has no gradient (torch clamps in place under no_grad): d/dvar as if unclamped
    v = d([0.0], requires_grad=True)
    out = F.gaussian_nll_loss(d([0.0]), d([0.0]), v, eps=0.5)
    close(out, 0.5 * math.log(0.5))
    out.backward()
    close(v.grad, 0.5 / 0.5)


def test_soft_margin_and_margin_ranking_and_hinge_embedding():
    x, y = d([2.0, -1.0, 0.0]), d([1.0, 1.0, -1.0])
    close(F.soft_margin_loss(x, y, reduction="none"), np.log1p(np.exp(-np.array([2.0, -1.0, 0.0]))))
    close(F.soft_margin_loss(d([1000.0]), d([-1.0])), 1000.0)  # no overflow
    a, b = d([1.0, 2.0, 3.0]), d([2.0, 2.0, 1.0])
    close(F.margin_ranking_loss(a, b, y, margin=0.5, reduction="none"), [1.5, 0.5, 2.5])
    close(F.margin_ranking_loss(a, b, y, reduction="sum"), 1.0 + 0.0 + 2.0)
    dist = d([0.3, 0.4, 2.0])
    close(F.hinge_embedding_loss(dist, d([1.0, -1.0, -1.0]), reduction="none"), [0.3, 0.6, 0.0])
    close(F.hinge_embedding_loss(dist, d([1.0, -1.0, -1.0]), margin=3.0), (0.3 + 2.6 + 1.0) / 3)


def test_cosine_embedding_loss():
    x1, x2 = d([[1.0, 0.0], [1.0, 1.0]]), d([[0.0, 1.0], [1.0, 1.0]])
    close(F.cosine_embedding_loss(x1, x2, d([1.0, -1.0]), reduction="none"), [1.0, 1.0], 1e-9)
    close(F.cosine_embedding_loss(x1, x2, d([-1.0, 1.0]), margin=0.5, reduction="none"), [0.0, 0.0], 1e-9)
    close(F.cosine_embedding_loss(x1[1], x2[1], d(-1.0), margin=-0.5), 1.5, 1e-9)  # 1-D inputs, 0-d target


def test_triplet_losses():
    a, p, n = d([[0.0, 0.0]]), d([[3.0, 4.0]]), d([[0.0, 1.0]])
    close(F.triplet_margin_loss(a, p, n, eps=0.0), 1 + 5 - 1)
    close(F.triplet_margin_loss(a, p, n, eps=0.0, swap=True), 1 + 5 - 1)  # d(p, n) > d(a, n)
    close(F.triplet_margin_loss(a, p, n, p=1, eps=0.0, margin=0.5, reduction="none"), [0.5 + 7 - 1])
    cosine = lambda u, v: 1 - F.cosine_similarity(u, v)  # noqa: E731
    close(F.triplet_margin_with_distance_loss(a + 1, p, n, distance_function=cosine, margin=0.5),
          0.5 + (1 - 7 / (math.sqrt(2) * 5)) - (1 - 1 / math.sqrt(2)))
    close(nn.TripletMarginWithDistanceLoss(margin=2.0)(a, p, n), F.triplet_margin_loss(a, p, n, margin=2.0))


def test_multilabel_losses():
    x = d([[0.1, 0.2, 0.4, 0.8]])
    # torch's documented example: targets 3 and 0 (the -1 ends the list)
    close(F.multilabel_margin_loss(x, cr.tensor([[3, 0, -1, 1]])), 0.85)
    close(F.multilabel_margin_loss(x[0], cr.tensor([3, 0, -1, 1])), 0.85)
    close(F.multilabel_margin_loss(x, cr.tensor([[-1, 0, 1, 2]])), 0.0)  # no target classes
    t = d([[1.0, 0.0, 0.0, 1.0]])
    sig = 1 / (1 + np.exp(-x.numpy()))
    per_class = -(t.numpy() * np.log(sig) + (1 - t.numpy()) * np.log(1 - sig))
    close(F.multilabel_soft_margin_loss(x, t, reduction="none"), per_class.mean(-1))
    w = d([1.0, 2.0, 0.0, 1.0])
    close(F.multilabel_soft_margin_loss(x, t, weight=w), (per_class * w.numpy()).mean())


# -- CTC --------------------------------------------------------------------------------------------------

def test_ctc_hand_computed_alignments():
    # two steps, two equally likely classes, target "1": the alignments 1b, b1, 11 each have probability 1/4
    lp = d(np.log(np.full((2, 1, 2), 0.5)))
    close(F.ctc_loss(lp, cr.tensor([[1]]), [2], [1], reduction="none"), [-math.log(0.75)])
    # target "11" needs a blank between the repeats: 3 steps, only 1b1 fits
    lp3 = d(np.log(np.full((3, 1, 2), 0.5)))
    close(F.ctc_loss(lp3, cr.tensor([[1, 1]]), [3], [2], reduction="sum"), -math.log(1 / 8))
    # mean divides by the target length: an empty target with 2 steps has the single path bb
    lp2 = d(np.log(np.full((2, 2, 2), 0.5)))
    close(F.ctc_loss(lp2, cr.tensor([[1, 0], [0, 0]]), [2, 2], [1, 0]),
          (-math.log(0.75) / 1 + -math.log(0.25) / 1) / 2)


def test_ctc_impossible_alignment_and_zero_infinity():
    lp = d(np.log(np.full((1, 1, 3), 1 / 3)), requires_grad=True)
    loss = F.ctc_loss(lp, cr.tensor([[1, 1]]), [1], [2], reduction="none")
    assert loss.item() == math.inf
    zeroed = F.ctc_loss(lp, cr.tensor([[1, 1]]), [1], [2], zero_infinity=True)
    assert zeroed.item() == 0.0
    zeroed.backward()
    close(lp.grad, np.zeros((1, 1, 3)))  # zeros, not nan


def test_ctc_unbatched_concatenated_and_module():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((5, 2, 4))
    lp = F.log_softmax(d(logits), -1)
    padded = F.ctc_loss(lp, cr.tensor([[1, 2, 3], [2, 2, 0]]), cr.tensor([5, 4]), cr.tensor([3, 2]),
                        reduction="none")
    concatenated = F.ctc_loss(lp, cr.tensor([1, 2, 3, 2, 2]), (5, 4), (3, 2), reduction="none")
    close(padded, concatenated)
    single = F.ctc_loss(lp[:, 0], cr.tensor([1, 2, 3]), cr.tensor(5), cr.tensor(3), reduction="none")
    assert single.shape == () and abs(single.item() - padded[0].item()) < 1e-12
    close(nn.CTCLoss(reduction="sum")(lp, cr.tensor([[1, 2, 3], [2, 2, 0]]), [5, 4], [3, 2]), padded.sum())
    with pytest.raises(RuntimeError, match="blank must be in label range"):
        F.ctc_loss(lp, cr.tensor([[1]]), [5, 4], [1, 1], blank=4)


# -- distances ------------------------------------------------------------------------------------------

def test_distances_and_similarities():
    a, b = d([[3.0, 4.0], [1.0, 0.0]]), d([[0.0, 0.0], [0.0, 1.0]])
    close(F.pairwise_distance(a, b, eps=0.0), [5.0, math.sqrt(2)])
    close(F.pairwise_distance(a, b, p=1, eps=0.0, keepdim=True), [[7.0], [2.0]])
    close(nn.PairwiseDistance(eps=0.0)(a[0], b[0]), 5.0)
    close(F.cosine_similarity(a, b), [0.0, 0.0])
    close(F.cosine_similarity(a, d([3.0, 4.0])), [1.0, 0.6])  # broadcasts
    close(nn.CosineSimilarity(dim=0)(d([1.0, 1.0]), d([1.0, 0.0])), 1 / math.sqrt(2))
    close(F.pdist(d([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])), [5.0, 1.0, math.sqrt(18)])
    x = d([[1.0, 2.0], [1.0, 2.0]], requires_grad=True)
    F.pdist(x).sum().backward()
    close(x.grad, np.zeros((2, 2)))  # identical rows: torch's zero subgradient
    z = d([[0.0, 0.0]], requires_grad=True)
    F.cosine_similarity(z, d([[1.0, 1.0]])).sum().backward()
    assert np.isfinite(z.grad.numpy()).all()


def test_normalize():
    close(F.normalize(d([[3.0, 4.0], [0.0, 0.0]])), [[0.6, 0.8], [0.0, 0.0]])
    close(F.normalize(d([[1.0, 3.0]]), p=1, dim=-1), [[0.25, 0.75]])
    out = d([[0.0, 0.0]])
    assert F.normalize(d([[3.0, 4.0]]), out=out) is out
    close(out, [[0.6, 0.8]])


# -- modules ---------------------------------------------------------------------------------------------

def test_loss_modules_store_options_as_torch():
    m = nn.PoissonNLLLoss(log_input=False, full=True, eps=1e-3, reduction="sum")
    assert (m.log_input, m.full, m.eps, m.reduction) == (False, True, 1e-3, "sum")
    assert nn.GaussianNLLLoss(full=True).full and nn.CTCLoss(blank=2).blank == 2
    assert nn.HingeEmbeddingLoss().margin == 1.0 and nn.MarginRankingLoss().margin == 0.0
    assert nn.CosineEmbeddingLoss().margin == 0.0
    t = nn.TripletMarginLoss(swap=True)
    assert (t.margin, t.p, t.eps, t.swap) == (1.0, 2.0, 1e-6, True)
    w = nn.MultiLabelSoftMarginLoss(weight=d([1.0, 2.0]))
    assert list(w.state_dict()) == ["weight"]
    assert repr(nn.TripletMarginWithDistanceLoss()) == ("TripletMarginWithDistanceLoss(\n"
                                                        "  (distance_function): PairwiseDistance()\n)")
    with pytest.warns(UserWarning, match="`NLLLoss2d` has been deprecated"):
        assert isinstance(nn.NLLLoss2d(ignore_index=1), nn.NLLLoss)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        assert nn.SoftMarginLoss(size_average=False).reduction == "sum"
    x, y = d([[0.5, -0.5]]), d([[1.0, -1.0]])
    close(nn.SoftMarginLoss()(x, y), F.soft_margin_loss(x, y))
    close(nn.MultiLabelMarginLoss()(x, cr.tensor([[1, -1]])), F.multilabel_margin_loss(x, cr.tensor([[1, -1]])))
    close(nn.GaussianNLLLoss()(x, y, d([[1.0, 2.0]])), F.gaussian_nll_loss(x, y, d([[1.0, 2.0]])))


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.soft_margin_loss(d([1.0]), d([1.0]), reduction="bad"), ValueError, "bad is not a valid value"),
    (lambda: F.poisson_nll_loss(d([1.0]), d([1.0]), reduction="bad"), ValueError, "bad is not a valid value"),
    (lambda: F.multilabel_soft_margin_loss(d([1.0]), d([1.0]), reduction="x"), ValueError, "not a valid value"),
    (lambda: F.ctc_loss(d(np.zeros((2, 1, 2))), cr.tensor([[1]]), [2], [1], reduction="x"), ValueError,
     "not a valid value"),
    (lambda: F.triplet_margin_loss(d([[1.0]]), d([[1.0]]), d([[1.0]]), reduction="x"), ValueError,
     "not a valid value"),
    (lambda: F.gaussian_nll_loss(d([1.0]), d([1.0]), d([1.0]), reduction="bad"), ValueError, "bad is not valid"),
    (lambda: F.gaussian_nll_loss(d([1.0]), d([1.0]), d([-1.0])), ValueError, "var has negative entry"),
    (lambda: F.gaussian_nll_loss(d(np.ones((3, 2))), d(np.ones((3, 2))), d(np.ones(4))), ValueError,
     "var is of incorrect size"),
    (lambda: F.triplet_margin_with_distance_loss(d([[1.0]]), d([[1.0]]), d([[1.0]]), margin=0.0), ValueError,
     "margin must be greater than 0"),
    (lambda: nn.TripletMarginLoss(margin=0.0), ValueError, "expected margin to be greater than 0"),
    (lambda: F.triplet_margin_loss(d([[1.0]]), d([[1.0]]), d([[[1.0]]])), RuntimeError,
     "same number of dimensions"),
    (lambda: F.multilabel_margin_loss(d(np.ones((3, 2))), cr.tensor([[1, -1], [0, 1]])), RuntimeError,
     "inconsistent target size"),
    (lambda: F.multilabel_margin_loss(d(np.ones((1, 2))), cr.tensor([[2, -1]])), RuntimeError,
     "'target' is out of range"),
    (lambda: F.cosine_embedding_loss(d(np.ones((2, 3, 4))), d(np.ones((2, 3, 4))), d([1.0, 1.0])), RuntimeError,
     "1D target tensor expects 2D input tensors"),
    (lambda: F.margin_ranking_loss(d([1.0]), d([1.0]), d(1.0)), RuntimeError, "should have same dimension"),
    (lambda: F.pdist(d([1.0, 2.0])), RuntimeError, "pdist only supports 2D tensors, got: 1D"),
    (lambda: F.ctc_loss(d(np.zeros((2, 1, 2))), cr.tensor([[1]]), [3], [1]), RuntimeError,
     "input_lengths to have value at most 2"),
    (lambda: F.ctc_loss(d(np.zeros((2, 1, 2))), d([[1.0]]), [2], [1]), RuntimeError, "integer class indices"),
    (lambda: F.ctc_loss(d(np.zeros((2, 2, 2))), cr.tensor([[1]]), [2], [1]), RuntimeError,
     "one entry per batch element"),
])
def test_errors_as_torch(call, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error, match=match):
            call()


# -- optional parity with torch ---------------------------------------------------------------------------

def _pair(seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((4, 5)), rng.standard_normal((4, 5))


PARITY = {
    "poisson_nll_loss": (lambda F, x, y: F.poisson_nll_loss(x, y.abs().round(), full=True), 2),
    "gaussian_nll_loss": (lambda F, x, y: F.gaussian_nll_loss(x, y, y.abs() + 0.1), 2),
    "soft_margin_loss": (lambda F, x, y: F.soft_margin_loss(x, y.sign().detach(), reduction="sum"), 1),
    "hinge_embedding_loss": (lambda F, x, y: F.hinge_embedding_loss(x, y.sign(), reduction="none"), 1),
    "cosine_embedding_loss": (lambda F, x, y: F.cosine_embedding_loss(x, y, y[:, 0].sign(), margin=0.2), 2),
    "margin_ranking_loss": (lambda F, x, y: F.margin_ranking_loss(x[0], y[0], y[1].sign(), margin=0.3), 2),
    "triplet_margin_loss": (lambda F, x, y: F.triplet_margin_loss(x, y, x * y, swap=True, p=3), 2),
    "multilabel_soft_margin_loss": (lambda F, x, y: F.multilabel_soft_margin_loss(x, (y > 0).double()), 1),
    "cosine_similarity": (lambda F, x, y: F.cosine_similarity(x, y, dim=0), 2),
    "pairwise_distance": (lambda F, x, y: F.pairwise_distance(x, y, p=1.5), 2),
    "pdist": (lambda F, x, y: F.pdist(x, p=2.5), 1),
    "normalize": (lambda F, x, y: F.normalize(x, p=3, dim=0), 1),
    "multiclass_svm_vs_multi_margin": (lambda F, x, y: F.multi_margin_loss(x, (y[:, 0] > 0).long() * 3), 1),
}


@pytest.mark.parametrize("name", sorted(PARITY))
def test_functions_match_torch(name):
    torch = pytest.importorskip("torch")
    fn, n_grads = PARITY[name]
    x, y = _pair(len(name))
    ours = [cr.tensor(x, requires_grad=True), cr.tensor(y, requires_grad=True)]
    theirs = [torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)]
    out, ref = fn(F, *ours), fn(torch.nn.functional, *theirs)
    close(out, ref.detach().numpy(), 1e-10)
    out.sum().backward()
    ref.sum().backward()
    for a, b in list(zip(ours, theirs))[:n_grads]:
        close(a.grad, b.grad.numpy(), 1e-9)


def test_multilabel_margin_and_ctc_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x, t = rng.standard_normal((3, 5)), np.array([[3, 0, -1, 1, 2], [1, 2, 3, 4, 0], [-1, 2, 3, 0, 0]])
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.multilabel_margin_loss(a, cr.tensor(t)).backward()
    torch.nn.functional.multilabel_margin_loss(b, torch.tensor(t)).backward()
    close(a.grad, b.grad.numpy(), 1e-12)
    logits = rng.standard_normal((6, 3, 4))
    targets, il, tl = np.array([[1, 2, 2], [3, 1, 0], [2, 0, 0]]), [6, 5, 4], [3, 2, 1]
    a, b = cr.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    # NOTE: through log_softmax: torch's CTC gradient assumes normalised log-probabilities
    out = F.ctc_loss(F.log_softmax(a, -1), cr.tensor(targets), il, tl)
    ref = torch.nn.functional.ctc_loss(b.log_softmax(-1), torch.tensor(targets), torch.tensor(il), torch.tensor(tl))
    close(out, ref.item(), 1e-10)
    out.backward()
    ref.backward()
    close(a.grad, b.grad.numpy(), 1e-9)


def test_existing_losses_match_torch_at_their_kinks():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    y[0, :2] = x[0, :2]  # l1's kink
    y[1, 0], y[1, 1] = x[1, 0] - 0.5, x[1, 1] + 1.0  # smooth_l1's (beta 0.5) and huber's (delta 1)
    probs = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    cases = [(lambda F, a, b: F.l1_loss(a, b, reduction="none"), y),
             (lambda F, a, b: F.smooth_l1_loss(a, b, beta=0.5, reduction="sum"), y),
             (lambda F, a, b: F.huber_loss(a, b, reduction="none"), y),
             (lambda F, a, b: F.kl_div(a, b, reduction="batchmean", log_target=True), y),
             (lambda F, a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=b[0] + 2), (y > 0) * 1.0),
             (lambda F, a, b: F.cross_entropy(a, b, label_smoothing=0.2), probs)]
    for fn, target in cases:
        a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, ref = fn(F, a, cr.tensor(target)), fn(torch.nn.functional, b, torch.tensor(target))
        close(out, ref.detach().numpy(), 1e-10)
        out.sum().backward()
        ref.sum().backward()
        close(a.grad, b.grad.numpy(), 1e-10)


def test_adaptive_log_softmax_with_loss():
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0).double()
    assert list(m.state_dict()) == ["head.weight", "tail.0.0.weight", "tail.0.1.weight", "tail.1.0.weight",
                                    "tail.1.1.weight"]
    assert tuple(m.tail[1][0].weight.shape) == (2, 8) and tuple(m.head.weight.shape) == (5, 8)
    x, y = d(np.random.default_rng(1).standard_normal((5, 8)), requires_grad=True), cr.tensor([0, 4, 9, 2, 6])
    full = m.log_prob(x)
    close(full.exp().sum(-1), np.ones(5))  # a distribution over all 10 classes
    output, loss = m(x, y)
    close(output, full.detach().numpy()[np.arange(5), y.numpy()])
    close(loss, -output.mean())
    close(m.predict(x), full.detach().numpy().argmax(-1))
    single = m(x[0], y[0])
    assert single.output.shape == () and abs(single.output.item() - output[0].item()) < 1e-12
    loss.backward()
    assert x.grad is not None and m.tail[1][1].weight.grad is not None
    with pytest.raises(ValueError, match="cutoffs should be a sequence of unique"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [6, 3])
    with pytest.raises(RuntimeError, match="Target values should be in \\[0, 9\\]"):
        m(x, cr.tensor([0, 1, 2, 3, 10]))


def test_adaptive_log_softmax_matches_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=True).double()
    ours = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=True).double()
    ours.load_state_dict({k: cr.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x, y = np.random.default_rng(2).standard_normal((6, 8)), np.array([0, 4, 9, 2, 6, 5])
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(a, cr.tensor(y)), theirs(b, torch.tensor(y))
    close(out.output, ref.output.detach().numpy(), 1e-12)
    out.loss.backward()
    ref.loss.backward()
    close(a.grad, b.grad.numpy(), 1e-12)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        close(p.grad, q.grad.numpy(), 1e-12)
    close(ours.log_prob(a), theirs.log_prob(b).detach().numpy(), 1e-12)
    close(ours.predict(a), theirs.predict(b).numpy())


def test_linear_cross_entropy_is_linear_then_cross_entropy():
    rng = np.random.default_rng(4)
    x, w, b = d(rng.standard_normal((5, 4))), d(rng.standard_normal((3, 4))), d(rng.standard_normal(3))
    y = cr.tensor([0, 2, 1, 1, 0])
    close(F.linear_cross_entropy(x, w, y, linear_bias=b, label_smoothing=0.1),
          F.cross_entropy(F.linear(x, w, b), y, label_smoothing=0.1))
    m = nn.LinearCrossEntropyLoss(4, 3, out_features=(2,), bias=True, options=nn.LinearCrossEntropyOptions())
    assert list(m.state_dict()) == ["linear.weight", "linear.bias"] and tuple(m.linear.weight.shape) == (6, 4)
    assert m(x, cr.tensor(rng.integers(0, 3, (5, 2)))).shape == ()
    with pytest.raises(RuntimeError, match="expected equal input and linear_weight last dimensions"):
        F.linear_cross_entropy(x, d(np.ones((3, 5))), y)
    with pytest.raises(RuntimeError, match="expected weight shape to be \\(3,\\)"):
        nn.LinearCrossEntropyLoss(4, 3, weight=d([1.0, 2.0]))


def test_linear_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.LinearCrossEntropyLoss(4, 3, out_features=(2,), bias=True, ignore_index=1).double()
    ours = nn.LinearCrossEntropyLoss(4, 3, out_features=(2,), bias=True, ignore_index=1).double()
    ours.load_state_dict({k: cr.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((5, 4)), rng.integers(0, 3, (5, 2))
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(a, cr.tensor(y)), theirs(b, torch.tensor(y))
    close(out, ref.item(), 1e-12)
    out.backward()
    ref.backward()
    close(a.grad, b.grad.numpy(), 1e-12)
    close(ours.linear.weight.grad, theirs.linear.weight.grad.numpy(), 1e-12)
    assert repr(ours) == repr(theirs)


def test_margin_losses_gradients_at_their_kinks_as_torch():
    # the expected gradients are torch 2.13's at exactly the kinks
    x = d([[1.0, 0.0, 0.5]], requires_grad=True)  # 1 - x[0] + x[1] == 0: no gradient from that pair
    F.multilabel_margin_loss(x, cr.tensor([[0, -1, 0]])).backward()
    close(x.grad, [[-1 / 3, 0.0, 1 / 3]])
    x = d([0.0, 1.0], requires_grad=True)  # margin - x == 0 for the second: clamp passes the gradient
    F.hinge_embedding_loss(x, d([-1.0, -1.0])).backward()
    close(x.grad, [-0.5, -0.5])
    x = d([[1.0, 0.0]], requires_grad=True)  # cos - margin == 0
    F.cosine_embedding_loss(x, d([[0.0, 1.0]]), d([-1.0])).backward()
    close(x.grad, [[0.0, 1.0]])
    x = d([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)  # a zero row: the norm clamped at eps
    F.normalize(x).sum().backward()
    close(x.grad, [[1e12, 1e12], [0.032, -0.024]])
