"""Attention: scaled dot-product attention and the multi-head attention forward.

Both are composites of matmul, softmax and dropout, so gradients of every order, forward mode and vmap come
from those ops. A mask becomes an additive bias (0 where attention is allowed, ``-inf`` where it is not) added to
the scores before the softmax.
"""

from __future__ import annotations

import math

from ... import creation
from ..._backend import xp
from ...ops import composites
from ...ops.join import cat
from ...ops.linalg import matmul
from ...tensor import Tensor
from .dropout import dropout
from .linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]

_NEG_INF = float("-inf")


def _shape(t: Tensor) -> tuple:
    return tuple(t._data.shape)


def causal_keep(target_len: int, source_len: int) -> Tensor:
    """(L, S) bool: True on and below the diagonal (query ``i`` may attend to keys ``0..i``), top-left aligned."""
    return creation.arange(target_len).unsqueeze(1) >= creation.arange(source_len)


def mask_to_bias(op: str, mask: Tensor, dtype, masked_where_true: bool, name: str = "attn_mask") -> Tensor:
    """An additive float mask: a bool mask becomes 0 / -inf, a float mask is used as it is.

    ``masked_where_true`` says what a True entry means: masked out (nn.MultiheadAttention's masks) or kept
    (scaled_dot_product_attention's ``attn_mask``).
    """
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor or None, not {type(mask).__name__}")
    kind = mask._data.dtype.kind
    if kind == "f":
        return mask
    if kind != "b":
        raise RuntimeError(f"{op}: expected {name} dtype to be bool or float, but got {name}.dtype: "
                           f"{mask.dtype}")
    blocked = mask if masked_where_true else mask.logical_not()
    return creation.zeros(_shape(mask), dtype=dtype).masked_fill(blocked, _NEG_INF)


def attention(query: Tensor, key: Tensor, value: Tensor, bias: Tensor | None, dropout_p: float, scale: float,
              safe: bool) -> tuple:
    """``softmax(q @ k^T * scale + bias) @ v`` and the (dropped-out) attention weights.

    With ``safe``, a row whose scores are all ``-inf`` (every key masked) gets zero weights and zero output,
    as torch's scaled_dot_product_attention gives; without it the row is NaN, as in torch's
    multi_head_attention_forward with ``need_weights=True``.
    """
    scores = matmul(query, key.transpose(-2, -1)) * scale
    if bias is not None:
        scores = scores + bias
    if safe and bias is not None:
        # NOTE: the fully masked rows are set to 0 before the softmax (not only after it), so neither the
        # forward nor the gradient ever sees the NaN of softmax([-inf, ..., -inf]).
        dead = (scores == _NEG_INF).all(-1, keepdim=True)
        weights = composites.softmax(scores.masked_fill(dead, 0.0), -1).masked_fill(dead, 0.0)
    else:
        weights = composites.softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return matmul(weights, value), weights


def _check_sdpa(query, key, value, attn_mask, dropout_p: float, is_causal: bool, enable_gqa: bool) -> None:
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(t).__name__}")
    q, k, v = _shape(query), _shape(key), _shape(value)
    if min(len(q), len(k), len(v)) < 2:
        raise RuntimeError(f"{op}: expected query, key, and value to all be at least 2 dimensional, but got "
                           f"query.dim: {len(q)} key.dim: {len(k)} and value.dim: {len(v)} instead.")
    dtypes = (query.dtype, key.dtype, value.dtype)
    if len(set(dtypes)) != 1 or not query.dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected query, key, and value to have the same floating dtype, but got "
                           f"query.dtype: {dtypes[0]} key.dtype: {dtypes[1]} and value.dtype: {dtypes[2]}")
    if q[-1] != k[-1]:
        raise RuntimeError(f"{op}: query and key must have the same embedding size (last dim), got query "
                           f"{q} and key {k}")
    if k[-2] != v[-2]:
        raise RuntimeError(f"{op}: key and value must have the same sequence length (dim -2), got key {k} and "
                           f"value {v}")
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{op}: explicit attn_mask should not be set when is_causal=True")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1], got {dropout_p}")
    if enable_gqa and len(q) >= 3 and (len(k) < 3 or q[-3] % k[-3] or k[-3] != v[-3]):
        raise RuntimeError(f"{op}: with enable_gqa=True the number of query heads (dim -3) must be a multiple "
                           f"of the key and value heads, got query {q}, key {k} and value {v}")
    if enable_gqa and len(q) >= 3:
        # NOTE: the key/value heads are repeated up to the query's before the batch dims broadcast.
        k, v = k[:-3] + q[-3:-2] + k[-2:], v[:-3] + q[-3:-2] + v[-2:]
    scores = (q[-2], k[-2])
    try:
        batch = xp.broadcast_shapes(q[:-2], k[:-2], v[:-2])
    except ValueError:
        raise RuntimeError(f"{op}: the batch dimensions of query {q}, key {k} and value {v} do not broadcast"
                           ) from None
    if isinstance(attn_mask, Tensor):
        mask = _shape(attn_mask)
        try:
            full = xp.broadcast_shapes(mask, batch + scores)
        except ValueError:
            full = ()
        if full != batch + scores:
            raise RuntimeError(f"{op}: attn_mask of shape {mask} does not broadcast to the scores' shape "
                               f"(*batch, L, S) = {batch + scores}")


def _repeat_heads(t: Tensor, groups: int) -> Tensor:
    """(..., H, S, E) -> (..., H * groups, S, E), each head repeated ``groups`` times in place (repeat_interleave)."""
    shape = _shape(t)
    expanded = t.unsqueeze(-3).expand(*shape[:-2], groups, *shape[-2:])
    return expanded.reshape(*shape[:-3], shape[-3] * groups, *shape[-2:])


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, *, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(Q K^T * scale + mask) V``: (*, L, E), (*, S, E), (*, S, Ev) -> (*, L, Ev).

    ``scale`` (keyword only, as in torch) defaults to ``1 / sqrt(E)``. ``attn_mask`` broadcasts to (*, L, S):
    a bool mask keeps the positions where it is True, a float mask is added to the scores. ``is_causal`` lets
    query ``i`` see keys ``0..i`` only (top-left aligned; it excludes ``attn_mask``). A query whose keys are
    all masked gets a zero output (and zero gradients). ``dropout_p`` drops attention weights (always: there is
    no training flag, as in torch). ``enable_gqa`` (keyword only) repeats each key/value head for a group of
    query heads (grouped-query attention: dim -3 of the query a multiple of that of key and value). The batch
    dims broadcast.

    Example::

        >>> q = chainrule.randn(2, 4, 5, 8)  # (batch, heads, L, E)
        >>> scaled_dot_product_attention(q, q, q, is_causal=True).shape
        chainrule.Size([2, 4, 5, 8])
    """
    _check_sdpa(query, key, value, attn_mask, dropout_p, is_causal, enable_gqa)
    target_len, source_len = query.shape[-2], key.shape[-2]
    if enable_gqa and query._data.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        groups = query.shape[-3] // key.shape[-3]
        key, value = _repeat_heads(key, groups), _repeat_heads(value, groups)
    bias = None
    if attn_mask is not None:
        bias = mask_to_bias("scaled_dot_product_attention", attn_mask, query.dtype, masked_where_true=False)
    if is_causal:
        bias = mask_to_bias("scaled_dot_product_attention", causal_keep(target_len, source_len), query.dtype,
                            masked_where_true=False)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    out, _ = attention(query, key, value, bias, dropout_p, scale, safe=True)
    return out


# -- multi-head attention ----------------------------------------------------------------------------------

def _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads: int) -> bool:
    """torch's shape checks of multi_head_attention_forward; returns whether the input is batched."""
    dims = query.dim()
    if dims not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {dims}-D query "
                             "tensor")
    kind = "batched (3-D)" if dims == 3 else "unbatched (2-D)"
    if key.dim() != dims or value.dim() != dims:
        raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be {dims}-D but found "
                             f"{key.dim()}-D and {value.dim()}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.dim() != dims - 1:
        raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or {dims - 1}-D but "
                             f"found {key_padding_mask.dim()}-D tensor instead")
    if attn_mask is not None:
        if attn_mask.dim() not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                                 f"{attn_mask.dim()}-D tensor instead")
        expected = (num_heads, query.shape[0], key.shape[0])
        if dims == 2 and attn_mask.dim() == 3 and tuple(attn_mask.shape) != expected:
            raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {tuple(attn_mask.shape)}")
    return dims == 3


def canonical_mask(mask: Tensor | None, name: str, dtype) -> Tensor | None:
    """torch's _canonical_mask: None, or a float mask (a bool mask's True entries become -inf)."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor) or mask._data.dtype.kind not in "bf":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask_to_bias("multi_head_attention_forward", mask, dtype, masked_where_true=True, name=name)


def _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate: tuple | None) -> tuple:
    """q, k, v: the packed (3E, E) projection (one product for self-attention) or the three separate ones."""
    biases = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
    if separate is None:
        if query is key and key is value:
            return linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
        separate = in_proj_weight.chunk(3)
    return tuple(linear(x, w, b) for x, w, b in zip((query, key, value), separate, biases))


def _pad_last(t: Tensor | None) -> Tensor | None:
    """A zero column appended to a mask's last dim (for the extra bias_k / zero-attention key)."""
    if t is None:
        return None
    return cat([t, creation.zeros(*_shape(t)[:-1], 1, dtype=t.dtype)], -1)


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int,
                                 num_heads: int, in_proj_weight: Tensor | None, in_proj_bias: Tensor | None,
                                 bias_k: Tensor | None, bias_v: Tensor | None, add_zero_attn: bool,
                                 dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
                                 training: bool = True, key_padding_mask: Tensor | None = None,
                                 need_weights: bool = True, attn_mask: Tensor | None = None,
                                 use_separate_proj_weight: bool = False, q_proj_weight: Tensor | None = None,
                                 k_proj_weight: Tensor | None = None, v_proj_weight: Tensor | None = None,
                                 static_k: Tensor | None = None, static_v: Tensor | None = None,
                                 average_attn_weights: bool = True, is_causal: bool = False) -> tuple:
    """The forward of :class:`~chainrule.nn.MultiheadAttention` (sequence first), as torch's function.

    Shapes: query (L, N, E) or unbatched (L, E); key (S, N, Ek); value (S, N, Ev). ``key_padding_mask`` (N, S)
    and ``attn_mask`` (L, S) or (N * num_heads, L, S): bool masks are True where attention is *not* allowed,
    float masks are added to the scores. Returns ``(output (L, N, E), weights)`` with weights (N, L, S) averaged
    over heads (``average_attn_weights``) or (N, num_heads, L, S); None unless ``need_weights``.
    ``is_causal`` is a hint that ``attn_mask`` is the causal mask (which must then be given).

    Example::

        >>> mha = chainrule.nn.MultiheadAttention(8, 2)
        >>> x = chainrule.randn(5, 3, 8)
        >>> out, w = multi_head_attention_forward(x, x, x, 8, 2, mha.in_proj_weight, mha.in_proj_bias, None,
        ...     None, False, 0.0, mha.out_proj.weight, mha.out_proj.bias)
        >>> out.shape, w.shape
        (chainrule.Size([5, 3, 8]), chainrule.Size([3, 5, 5]))
    """
    batched = _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        same_kv, same_qk = key is value, query is key
        query = query.unsqueeze(1)
        key = query if same_qk else key.unsqueeze(1)
        value = key if same_kv else value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    target_len, batch, embed_dim = query.shape
    key_padding_mask = canonical_mask(key_padding_mask, "key_padding_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None
    else:
        attn_mask = canonical_mask(attn_mask, "attn_mask", query.dtype)
        is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                                 f"{tuple(value.shape[:2])}")
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but q_proj_weight, k_proj_weight or "
                                 "v_proj_weight is None")
        separate = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        if key.shape != value.shape:
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        separate = None
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate)
    source_len = key.shape[0]
    if attn_mask is not None:
        expected = (target_len, source_len) if attn_mask.dim() == 2 else (batch * num_heads, target_len, source_len)
        if tuple(attn_mask.shape) != expected:
            raise RuntimeError(f"The shape of the {attn_mask.dim()}D attn_mask is {tuple(attn_mask.shape)}, but "
                               f"should be {expected}.")
    if (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k and bias_v must be given together")
    if bias_k is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key or value.")
        k = cat([k, bias_k.expand(1, batch, embed_dim)])
        v = cat([v, bias_v.expand(1, batch, embed_dim)])
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    # (seq, N, E) -> (N, heads, seq, head_dim)
    q = q.reshape(target_len, batch, num_heads, head_dim).permute(1, 2, 0, 3)
    k = _heads(k, static_k, batch, num_heads, head_dim, "static_k")
    v = _heads(v, static_v, batch, num_heads, head_dim, "static_v")
    if add_zero_attn:
        zeros = creation.zeros(batch, num_heads, 1, head_dim, dtype=k.dtype)
        k, v = cat([k, zeros], 2), cat([v, zeros], 2)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    source_len = k.shape[2]
    bias = None
    if attn_mask is not None:
        bias = attn_mask.reshape(-1, num_heads, target_len, source_len) if attn_mask.dim() == 3 else attn_mask
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (batch, source_len):
            raise AssertionError(f"Expected key_padding_mask of shape {(batch, source_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        padding = key_padding_mask.reshape(batch, 1, 1, source_len)
        bias = padding if bias is None else bias + padding
    if is_causal:
        bias = mask_to_bias("multi_head_attention_forward", causal_keep(target_len, source_len), q.dtype,
                            masked_where_true=False)
    # NOTE: as torch, need_weights=False takes the scaled_dot_product_attention path (fully masked queries give
    # zeros) and need_weights=True the explicit softmax (they give NaN).
    out, weights = attention(q, k, v, bias, dropout_p if training else 0.0, 1.0 / math.sqrt(head_dim),
                             safe=not need_weights)
    out = linear(out.permute(2, 0, 1, 3).reshape(target_len, batch, embed_dim), out_proj_weight, out_proj_bias)
    if not need_weights:
        return (out if batched else out.squeeze(1)), None
    if average_attn_weights:
        weights = weights.mean(1)
    if not batched:
        out, weights = out.squeeze(1), weights.squeeze(0)
    return out, weights


def _heads(t: Tensor, static: Tensor | None, batch: int, num_heads: int, head_dim: int, name: str) -> Tensor:
    """(S, N, E) -> (N, heads, S, head_dim); a given static key/value (N * heads, S, head_dim) replaces it."""
    if static is None:
        return t.reshape(t.shape[0], batch, num_heads, head_dim).permute(1, 2, 0, 3)
    if static.shape[0] != batch * num_heads or static.shape[2] != head_dim:
        raise AssertionError(f"expecting {name} of shape ({batch * num_heads}, S, {head_dim}), but got "
                             f"{tuple(static.shape)}")
    return static.reshape(batch, num_heads, static.shape[1], head_dim)
