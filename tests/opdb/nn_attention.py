"""Op database entries: attention (scaled_dot_product_attention, multi_head_attention_forward), bilinear and
embedding_bag from ``chainrule.nn.functional``, against NumPy references."""

import numpy as np

import chainrule.nn.functional as F

from . import arrays, rng
from .nn_functional import one


def np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_sdpa(q, k, v, bias=None, scale=None):
    """softmax(q k^T / sqrt(E) + bias) v, with rows whose keys are all masked set to zero (as torch)."""
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ np.swapaxes(k, -1, -2) * scale
    if bias is not None:
        scores = scores + bias
    dead = np.all(scores == -np.inf, -1, keepdims=True)
    weights = np.where(dead, 0.0, np_softmax(np.where(dead, 0.0, scores)))
    return weights @ v


def keep_to_bias(keep):
    return np.where(keep, 0.0, -np.inf)


def causal_bias(target_len, source_len):
    return keep_to_bias(np.tril(np.ones((target_len, source_len), bool)))


def np_mha_self(x, w_in, b_in, w_out, b_out, heads, kpm):
    """Self-attention over x (L, N, E) with a bool key-padding mask (N, S), True = ignored."""
    length, batch, embed = x.shape
    q, k, v = np.split(x @ w_in.T + b_in, 3, -1)
    split = lambda t: t.reshape(length, batch, heads, embed // heads).transpose(1, 2, 0, 3)  # noqa: E731
    q, k, v = split(q), split(k), split(v)
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(embed // heads) + np.where(kpm, -np.inf, 0.0)[:, None, None]
    weights = np_softmax(scores)
    out = (weights @ v).transpose(2, 0, 1, 3).reshape(length, batch, embed) @ w_out.T + b_out
    return out, weights.mean(1)


def np_embedding_bag(idx, w, offsets, mode, psw=None):
    bounds = list(offsets) + [len(idx)]
    rows = w[idx] * (1.0 if psw is None else psw[:, None])
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        if a == b:
            out.append(np.zeros(w.shape[1]))
        else:
            out.append({"sum": np.sum, "mean": np.mean, "max": np.max}[mode](rows[a:b], 0))
    return np.stack(out)


QKV = arrays((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3), seed=40)
KEEP = rng(41).random((3, 5)) > 0.4
KEEP[:, 0] = True
FULLY_MASKED = KEEP.copy()
FULLY_MASKED[1] = False
FLOAT_MASK = arrays((2, 1, 3, 5), seed=42)[0]
MHA_X = arrays((4, 2, 6), seed=43)[0]
MHA_WEIGHTS = arrays((18, 6), (18,), (6, 6), (6,), seed=44, low=-0.5, high=0.5)
KPM = np.array([[False, False, True, False], [False, True, True, False]])
BAG_IDX = np.array([1, 2, 0, 4, 4, 3, 1])
BAG_OFFSETS = np.array([0, 2, 2, 5])

ENTRIES = [
    one("scaled_dot_product_attention", F.scaled_dot_product_attention, QKV, np_sdpa),
    one("scaled_dot_product_attention:2d", F.scaled_dot_product_attention, arrays((3, 4), (5, 4), (5, 2), seed=45),
        np_sdpa),
    one("scaled_dot_product_attention:bool_mask", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m),
        (*QKV, KEEP), lambda q, k, v, m: np_sdpa(q, k, v, keep_to_bias(m))),
    # NOTE: a query whose keys are all masked gets zeros and zero gradients (torch's safe softmax).
    one("scaled_dot_product_attention:fully_masked_row",
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m), (*QKV, FULLY_MASKED),
        lambda q, k, v, m: np_sdpa(q, k, v, keep_to_bias(m))),
    one("scaled_dot_product_attention:float_mask", F.scaled_dot_product_attention, (*QKV, FLOAT_MASK),
        lambda q, k, v, m: np_sdpa(q, k, v, m)),
    one("scaled_dot_product_attention:causal_scale",
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.7), QKV,
        lambda q, k, v: np_sdpa(q, k, v, causal_bias(3, 5), 0.7)),
    one("scaled_dot_product_attention:gqa",
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
        arrays((1, 4, 3, 2), (1, 2, 5, 2), (1, 2, 5, 3), seed=46),
        lambda q, k, v: np_sdpa(q, np.repeat(k, 2, 1), np.repeat(v, 2, 1))),
    one("multi_head_attention_forward",
        lambda x, w_in, b_in, w_out, b_out, kpm: F.multi_head_attention_forward(
            x, x, x, 6, 3, w_in, b_in, None, None, False, 0.0, w_out, b_out, key_padding_mask=kpm),
        (MHA_X, *MHA_WEIGHTS, KPM), lambda *a: np_mha_self(*a[:5], 3, a[5])),
    one("bilinear", F.bilinear, arrays((3, 2), (3, 4), (5, 2, 4), (5,), seed=47),
        lambda x1, x2, w, b: np.einsum("ni,oij,nj->no", x1, w, x2) + b),
    one("bilinear:batched_no_bias", F.bilinear, arrays((2, 3, 2), (2, 3, 4), (5, 2, 4), seed=48),
        lambda x1, x2, w: np.einsum("...i,oij,...j->...o", x1, w, x2)),
    one("embedding_bag", F.embedding_bag, (BAG_IDX, *arrays((5, 3), seed=49), BAG_OFFSETS),
        lambda i, w, o: np_embedding_bag(i, w, o, "mean")),
    one("embedding_bag:sum_weights",
        lambda i, w, psw, o: F.embedding_bag(i, w, o, mode="sum", per_sample_weights=psw),
        (BAG_IDX, *arrays((5, 3), (7,), seed=50), BAG_OFFSETS),
        lambda i, w, psw, o: np_embedding_bag(i, w, o, "sum", psw)),
    # NOTE: distinct rows (no ties inside a bag), so max has one argmax and finite differences are valid.
    one("embedding_bag:max_2d", lambda i, w: F.embedding_bag(i, w, mode="max"),
        (np.array([[0, 3, 1], [2, 4, 3]]), np.arange(15.0).reshape(5, 3) * 0.37 % 1.3),
        lambda i, w: w[i].max(1), twice=False),
]
