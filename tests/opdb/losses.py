"""Op database entries: softmax, log_softmax and the multiclass SVM loss (see opdb/__init__.py)."""

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays, rng


def np_log_softmax(x, dim):
    shifted = x - x.max(dim, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(dim, keepdims=True))


def np_multi_margin(x, y, p=1, margin=1.0, weight=None, reduction="mean"):
    """torch's formula written out: per sample, sum over j != y of w[y] max(0, margin - x[y] + x[j])^p / C."""
    x2 = x.reshape(-1, x.shape[-1])
    y2 = y.reshape(-1)
    rows = np.arange(len(y2))
    hinge = np.maximum(0.0, margin - x2[rows, y2][:, None] + x2) ** p
    hinge[rows, y2] = 0.0
    losses = hinge.sum(-1) / x2.shape[-1]
    if weight is not None:
        losses = losses * weight[y2]
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses.reshape(y.shape)


def labels(n, classes, seed=0):
    return rng(seed).integers(0, classes, n)


SOFTMAX_SAMPLES = [((3, 4), -1), ((2, 3, 4), 1), ((5,), 0), ((), 0), ((0, 3), 1), ((4, 1), 1)]


def softmax_entry(name, fn, ref):
    return [OpInfo(f"{name}_dim{dim}_{i}" if i else name, lambda x, dim=dim: fn(x, dim),
                   [Sample(arrays(shape, low=-5, high=5, seed=i))], lambda x, dim=dim: ref(x, dim),
                   covers=(name,))
            for i, (shape, dim) in enumerate(SOFTMAX_SAMPLES)]


# NOTE: the hinge has kinks where margin - x[y] + x[j] == 0; random scores hit them with probability 0.
ENTRIES = [
    *softmax_entry("softmax", cr.softmax, lambda x, dim: np.exp(np_log_softmax(x, dim))),
    *softmax_entry("log_softmax", cr.log_softmax, np_log_softmax),
    OpInfo("multi_margin_loss", cr.multi_margin_loss,
           [Sample((*arrays((4, 5)), labels(4, 5))), Sample((*arrays((5,), seed=1), np.array(2))),
            Sample((*arrays((1, 3), seed=2), labels(1, 3, seed=2)))],
           np_multi_margin),
    OpInfo("multi_margin_loss_p2_weighted",
           lambda x, y, w: cr.multi_margin_loss(x, y, p=2, margin=0.5, weight=w, reduction="none"),
           [Sample((*arrays((4, 5), seed=3), labels(4, 5, seed=3), *arrays((5,), low=0.5, seed=4)))],
           lambda x, y, w: np_multi_margin(x, y, 2, 0.5, w, "none"), covers=("multi_margin_loss",)),
    OpInfo("multi_margin_loss_sum", lambda x, y: cr.multi_margin_loss(x, y, reduction="sum"),
           [Sample((*arrays((3, 4), seed=5), labels(3, 4, seed=5)))],
           lambda x, y: np_multi_margin(x, y, reduction="sum"), covers=("multi_margin_loss",)),
]
