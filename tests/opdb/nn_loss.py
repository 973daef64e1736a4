"""Op database entries: the losses and distances of ``chainrule.nn.functional`` added for issue 12.

Margin losses are piecewise; their random samples stay clear of the kinks (probability 0 of hitting one, and
the few checked below by construction). Integer/sign targets are passed through without gradients.
"""

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

from . import OpInfo, Sample, arrays, rng
from .losses import labels, np_log_softmax
from .nn_functional import one


def np_cos(a, b, axis=-1, eps=1e-8):
    na = np.maximum(np.linalg.norm(a, axis=axis, keepdims=True), eps)
    nb = np.maximum(np.linalg.norm(b, axis=axis, keepdims=True), eps)
    return ((a / na) * (b / nb)).sum(axis)


def np_pairwise(a, b, p=2.0, eps=1e-6):
    return (np.abs(a - b + eps) ** p).sum(-1) ** (1 / p)


def np_svm(x, y, margin=1.0):
    rows = np.arange(len(y))
    hinge = np.maximum(0.0, x - x[rows, y][:, None] + margin)
    hinge[rows, y] = 0.0
    return hinge.sum(-1)


def np_multilabel_margin(x, t):
    out = []
    for xs, ts in zip(x, t):
        listed = list(ts[:list(ts).index(-1)] if -1 in ts else ts)
        others = [i for i in range(len(xs)) if i not in listed]
        out.append(sum(max(0.0, 1 - xs[j] + xs[i]) for j in listed for i in others) / len(xs))
    return np.array(out)


def np_log_sigmoid(x):
    return -np.logaddexp(0, -x)


def np_ctc(lp, targets, in_lens, tgt_lens, blank=0):
    """The forward algorithm written out with loops (probabilities in log space)."""
    losses = []
    for n in range(lp.shape[1]):
        ext = [blank]
        for label in targets[n, :tgt_lens[n]]:
            ext += [label, blank]
        alpha = np.full(len(ext), -np.inf)
        alpha[0] = lp[0, n, ext[0]]
        if len(ext) > 1:
            alpha[1] = lp[0, n, ext[1]]
        for t in range(1, in_lens[n]):
            new = np.full(len(ext), -np.inf)
            for s in range(len(ext)):
                terms = [alpha[s]] + ([alpha[s - 1]] if s > 0 else [])
                if s > 1 and ext[s] != blank and ext[s] != ext[s - 2]:
                    terms.append(alpha[s - 2])
                new[s] = np.logaddexp.reduce(terms) + lp[t, n, ext[s]]
            alpha = new
        losses.append(-np.logaddexp.reduce(alpha[-2:] if len(ext) > 1 else alpha[-1:]))
    return np.array(losses)


def targets_fixed(name, fn, args, ref, **flags):
    """Like ``one``, but only the leading float inputs before the last one are differentiated: the last is a
    target of counts or signs whose loss is piecewise in it (``target == 1`` selects a branch)."""
    entry = one(name, fn, args, ref, **flags)
    entry.samples = [Sample(tuple(args), grad=(True,) * (len(args) - 1) + (False,))]
    return entry


SIGNS = np.sign(rng(200).uniform(-1, 1, 4))
SIGNS_2D = np.sign(rng(201).uniform(-1, 1, (3, 4)))
COUNTS = rng(202).integers(0, 5, (3, 4)).astype(float)
ML_TARGET = np.array([[3, 0, -1, 1, 2], [1, 2, 3, 4, 0], [-1, 2, 3, 0, 0], [4, 4, -1, 0, 0]])
_LP = np_log_softmax(arrays((6, 3, 4), seed=203)[0], -1)
CTC_TARGETS, CTC_IN, CTC_TGT = np.array([[1, 2, 2], [3, 1, 0], [2, 0, 0]]), [6, 5, 4], [3, 2, 1]

ENTRIES = [
    OpInfo("multiclass_svm_loss", cr.multiclass_svm_loss,
           [Sample((*arrays((4, 5), seed=210), labels(4, 5, seed=210))),
            Sample((*arrays((5,), seed=211), np.array(2)))],
           lambda x, y: np_svm(x.reshape(-1, x.shape[-1]), y.reshape(-1)).mean()),
    one("multiclass_svm_loss:none", lambda x, y: F.multiclass_svm_loss(x, y, margin=0.5, reduction="none"),
        (*arrays((4, 3), seed=212), labels(4, 3, seed=212)), lambda x, y: np_svm(x, y, 0.5)),
    one("poisson_nll_loss", F.poisson_nll_loss, (*arrays((3, 4), seed=213), COUNTS),
        lambda x, t: (np.exp(x) - t * x).mean()),
    targets_fixed("poisson_nll_loss:rate_full", lambda x, t: F.poisson_nll_loss(x, t, log_input=False, full=True,
                                                                      reduction="none"),
        (*arrays((3, 4), low=0.5, high=3, seed=214), COUNTS),
        lambda x, t: x - t * np.log(x + 1e-8) + np.where(
            t > 1, t * np.log(np.maximum(t, 1)) - t + 0.5 * np.log(2 * np.pi * np.maximum(t, 1)), 0)),
    one("gaussian_nll_loss", F.gaussian_nll_loss,
        (*arrays((3, 4), (3, 4), seed=215), *arrays((3, 4), low=0.5, high=2, seed=216)),
        lambda x, t, v: (0.5 * (np.log(v) + (x - t) ** 2 / v)).mean()),
    one("gaussian_nll_loss:shared_var_full", lambda x, t, v: F.gaussian_nll_loss(x, t, v, full=True,
                                                                                 reduction="sum"),
        (*arrays((3, 4), (3, 4), seed=217), *arrays((3,), low=0.5, high=2, seed=218)),
        lambda x, t, v: (0.5 * (np.log(v[:, None]) + (x - t) ** 2 / v[:, None] + np.log(2 * np.pi))).sum()),
    targets_fixed("soft_margin_loss", F.soft_margin_loss, (*arrays((3, 4), seed=219), SIGNS_2D),
        lambda x, y: np.logaddexp(0, -y * x).mean()),
    targets_fixed("margin_ranking_loss",
                  lambda a, b, y: F.margin_ranking_loss(a, b, y, margin=0.1, reduction="none"),
        (*arrays((4,), (4,), seed=220), SIGNS), lambda a, b, y: np.maximum(0, -y * (a - b) + 0.1)),
    targets_fixed("hinge_embedding_loss", lambda x, y: F.hinge_embedding_loss(x, y, margin=1.5),
        (*arrays((3, 4), low=0, high=1.4, seed=221), SIGNS_2D),
        lambda x, y: np.where(y == 1, x, np.maximum(0, 1.5 - x)).mean()),
    targets_fixed("cosine_embedding_loss",
                  lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=-0.9, reduction="sum"),
        (*arrays((4, 3), (4, 3), seed=222), SIGNS),
        lambda a, b, y: np.where(y == 1, 1 - np_cos(a, b, eps=0), np.maximum(0, np_cos(a, b, eps=0) + 0.9)).sum()),
    one("triplet_margin_loss", lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=5.0, reduction="none"),
        arrays((4, 3), (4, 3), (4, 3), seed=223),
        lambda a, p, n: np.maximum(0, 5 + np_pairwise(a, p) - np_pairwise(a, n))),
    one("triplet_margin_loss:p1_swap", lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=5.0, p=1, swap=True),
        arrays((4, 3), (4, 3), (4, 3), seed=224),
        lambda a, p, n: np.maximum(0, 5 + np_pairwise(a, p, 1) - np.minimum(np_pairwise(a, n, 1),
                                                                               np_pairwise(p, n, 1))).mean()),
    one("triplet_margin_with_distance_loss",
        lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, margin=5.0),
        arrays((4, 3), (4, 3), (4, 3), seed=225),
        lambda a, p, n: np.maximum(0, 5 + np_pairwise(a, p) - np_pairwise(a, n)).mean()),
    one("multilabel_margin_loss", lambda x, t: F.multilabel_margin_loss(x, t, reduction="none"),
        (*arrays((4, 5), low=-0.3, high=0.3, seed=226), ML_TARGET), np_multilabel_margin),
    one("multilabel_soft_margin_loss", F.multilabel_soft_margin_loss,
        (*arrays((3, 4), seed=227), (SIGNS_2D > 0).astype(float), *arrays((4,), low=0.5, seed=228)),
        lambda x, y, w: (-(y * np_log_sigmoid(x) + (1 - y) * np_log_sigmoid(-x)) * w).mean(-1).mean()),
    one("ctc_loss", lambda lp: F.ctc_loss(lp, cr.tensor(CTC_TARGETS), CTC_IN, CTC_TGT, reduction="none"), (_LP,),
        lambda lp: np_ctc(lp, CTC_TARGETS, CTC_IN, CTC_TGT)),
    one("ctc_loss:mean_concatenated",
        lambda lp: F.ctc_loss(lp, cr.tensor(np.array([1, 2, 2, 3, 1, 2])), cr.tensor(CTC_IN), cr.tensor(CTC_TGT)),
        (_LP,), lambda lp: (np_ctc(lp, CTC_TARGETS, CTC_IN, CTC_TGT) / np.array(CTC_TGT)).mean()),
    one("linear_cross_entropy", lambda x, w, b: F.linear_cross_entropy(x, w, cr.tensor(np.array([0, 2, 1])),
                                                                       linear_bias=b),
        arrays((3, 4), (3, 4), (3,), seed=235),
        lambda x, w, b: -np_log_softmax(x @ w.T + b, 1)[np.arange(3), [0, 2, 1]].mean()),
    one("linear_cross_entropy:k_dim_none", lambda x, w: F.linear_cross_entropy(
        x, w, cr.tensor(np.array([[0, 2], [1, 1]])), reduction="none"), arrays((2, 4), (3, 2, 4), seed=236),
        lambda x, w: -np.take_along_axis(np_log_softmax(np.einsum("ni,cki->nck", x, w), 1),
                                         np.array([[0, 2], [1, 1]])[:, None], 1)[:, 0]),
    one("cosine_similarity", F.cosine_similarity, arrays((3, 4), (4,), seed=229),
        lambda a, b: np_cos(a, b[None], axis=1)),
    one("cosine_similarity:dim0", lambda a, b: F.cosine_similarity(a, b, dim=0), arrays((3, 2), (3, 2), seed=230),
        lambda a, b: np_cos(a, b, axis=0)),
    one("pairwise_distance", F.pairwise_distance, arrays((3, 4), (3, 4), seed=231), np_pairwise),
    one("pairwise_distance:p3_keepdim", lambda a, b: F.pairwise_distance(a, b, p=3, keepdim=True),
        arrays((4,), (2, 4), seed=232), lambda a, b: np_pairwise(a, b, 3)[..., None]),
    one("pdist", F.pdist, arrays((4, 3), seed=233),
        lambda x: np.array([np.linalg.norm(x[i] - x[j]) for i in range(4) for j in range(i + 1, 4)])),
    one("pdist:p1", lambda x: F.pdist(x, p=1), arrays((3, 2), seed=234),
        lambda x: np.array([np.abs(x[i] - x[j]).sum() for i in range(3) for j in range(i + 1, 3)])),
]
