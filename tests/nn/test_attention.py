"""scaled_dot_product_attention and MultiheadAttention: NumPy references for every mask kind, causal and
grouped-query attention, hand-built projections, shapes (batch_first, unbatched), initialisation, torch's
errors, and (optional) parity with torch through a loaded state_dict."""

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

from ..opdb.nn_attention import causal_bias, keep_to_bias, np_sdpa, np_softmax

RNG = np.random.default_rng(0)


def t64(a, requires_grad=False):
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def qkv(batch=(2, 3), target=4, source=5, e=6, ev=7, seed=0):
    r = np.random.default_rng(seed)
    return (r.standard_normal((*batch, target, e)), r.standard_normal((*batch, source, e)),
            r.standard_normal((*batch, source, ev)))


# -- scaled_dot_product_attention --------------------------------------------------------------------------

def sdpa(q, k, v, **kwargs):
    return F.scaled_dot_product_attention(t64(q), t64(k), t64(v), **kwargs).numpy()


def test_sdpa_matches_the_softmax_formula():
    q, k, v = qkv()
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(6)
    np.testing.assert_allclose(sdpa(q, k, v), np_softmax(scores) @ v, atol=1e-12)
    np.testing.assert_allclose(sdpa(q, k, v, scale=0.25), np_softmax(q @ np.swapaxes(k, -1, -2) * 0.25) @ v,
                               atol=1e-12)


def test_sdpa_bool_mask_keeps_where_true_and_float_mask_is_added():
    q, k, v = qkv()
    keep = RNG.random((4, 5)) > 0.5
    keep[:, 0] = True
    np.testing.assert_allclose(sdpa(q, k, v, attn_mask=cr.tensor(keep)), np_sdpa(q, k, v, keep_to_bias(keep)),
                               atol=1e-12)
    bias = RNG.standard_normal((3, 4, 5))
    np.testing.assert_allclose(sdpa(q, k, v, attn_mask=t64(bias)), np_sdpa(q, k, v, bias), atol=1e-12)
    # a masked key has no influence at all
    v2 = v.copy()
    v2[..., 1, :] += 100.0
    only_kept = np.ones((4, 5), bool)
    only_kept[:, 1] = False
    np.testing.assert_allclose(sdpa(q, k, v, attn_mask=cr.tensor(only_kept)),
                               sdpa(q, k, v2, attn_mask=cr.tensor(only_kept)), atol=1e-12)


def test_sdpa_causal_is_lower_triangular_top_left():
    q, k, v = qkv(target=4, source=6)
    np.testing.assert_allclose(sdpa(q, k, v, is_causal=True), np_sdpa(q, k, v, causal_bias(4, 6)), atol=1e-12)
    # query 0 sees key 0 only
    np.testing.assert_allclose(sdpa(q, k, v, is_causal=True)[..., 0, :], v[..., 0, :], atol=1e-12)


def test_sdpa_fully_masked_query_gives_zero_output_and_zero_gradient():
    q, k, v = qkv()
    keep = np.ones((4, 5), bool)
    keep[2] = False
    query = t64(q, requires_grad=True)
    out = F.scaled_dot_product_attention(query, t64(k), t64(v), attn_mask=cr.tensor(keep))
    assert np.all(out.detach().numpy()[..., 2, :] == 0)
    out.sum().backward()
    assert np.all(np.isfinite(query.grad.numpy())) and np.all(query.grad.numpy()[..., 2, :] == 0)
    minus_inf = np.where(keep, 0.0, -np.inf)
    np.testing.assert_array_equal(sdpa(q, k, v, attn_mask=t64(minus_inf)), out.detach().numpy())


def test_sdpa_grouped_query_attention_repeats_key_heads():
    q, _, _ = qkv(batch=(2, 6))
    _, k, v = qkv(batch=(2, 2), seed=1)
    out = sdpa(q, k, v, enable_gqa=True)
    np.testing.assert_allclose(out, np_sdpa(q, np.repeat(k, 3, 1), np.repeat(v, 3, 1)), atol=1e-12)


def test_sdpa_unbatched_and_broadcast_batch_dims():
    q, k, v = qkv(batch=())
    assert sdpa(q, k, v).shape == (4, 7)
    q3, _, _ = qkv(batch=(2, 3))
    np.testing.assert_allclose(sdpa(q3, k, v), np_sdpa(q3, k, v), atol=1e-12)


def test_sdpa_dropout():
    q, k, v = qkv()
    assert np.all(sdpa(q, k, v, dropout_p=1.0) == 0)
    cr.manual_seed(0)
    ones = np.ones((1, 1, 200, 200))
    out = sdpa(np.zeros((1, 1, 200, 3)), np.zeros((1, 1, 200, 3)), ones, dropout_p=0.5)
    # uniform weights 1/200, each kept with probability 1/2 and scaled by 2: every output is (kept count) / 100
    # and they average 1
    assert abs(out.mean() - 1.0) < 0.05
    np.testing.assert_allclose(out * 100, np.round(out * 100), atol=1e-9)


@pytest.mark.parametrize("kwargs, match", [
    ({"attn_mask": cr.ones(4, 5, dtype=cr.bool), "is_causal": True}, "is_causal"),
    ({"attn_mask": cr.ones(3, 5, dtype=cr.bool)}, "attn_mask"),
    ({"attn_mask": cr.ones(4, 5, dtype=cr.int64)}, "bool or float"),
])
def test_sdpa_errors(kwargs, match):
    q, k, v = (t64(a) for a in qkv())
    with pytest.raises(RuntimeError, match=match):
        F.scaled_dot_product_attention(q, k, v, **kwargs)


def test_sdpa_shape_and_dtype_errors():
    q, k, v = (t64(a) for a in qkv())
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        F.scaled_dot_product_attention(q[0, 0, 0], k[0, 0, 0], v[0, 0, 0])
    with pytest.raises(RuntimeError, match="same floating dtype"):
        F.scaled_dot_product_attention(q, k, v.float())
    with pytest.raises(RuntimeError, match="embedding size"):
        F.scaled_dot_product_attention(q, k[..., :3], v)
    with pytest.raises(RuntimeError, match="do not broadcast"):
        F.scaled_dot_product_attention(q, k[:, :2], v[:, :2])
    with pytest.raises(RuntimeError, match="multiple"):
        F.scaled_dot_product_attention(q, k[:, :2], v[:, :2], enable_gqa=True)


# -- MultiheadAttention ------------------------------------------------------------------------------------

def np_mha(mha, query, key, value, kpm=None, attn_mask=None, average=True):
    """A hand-built multi-head attention (sequence first) from the module's own weights."""
    e, h = mha.embed_dim, mha.num_heads
    d = e // h
    b_in = np.zeros(3 * e) if mha.in_proj_bias is None else mha.in_proj_bias.detach().numpy()
    if mha._qkv_same_embed_dim:
        wq, wk, wv = np.split(mha.in_proj_weight.detach().numpy(), 3)
    else:
        wq, wk, wv = (w.detach().numpy() for w in (mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight))
    bq, bk, bv = np.split(b_in, 3)
    q, k, v = query @ wq.T + bq, key @ wk.T + bk, value @ wv.T + bv
    if mha.bias_k is not None:
        k = np.concatenate([k, np.broadcast_to(mha.bias_k.detach().numpy(), (1,) + k.shape[1:])])
        v = np.concatenate([v, np.broadcast_to(mha.bias_v.detach().numpy(), (1,) + v.shape[1:])])
    split = lambda t: t.reshape(t.shape[0], t.shape[1], h, d).transpose(1, 2, 0, 3)  # noqa: E731
    q, k, v = split(q), split(k), split(v)
    if mha.add_zero_attn:
        zeros = np.zeros(k.shape[:2] + (1, d))
        k, v = np.concatenate([k, zeros], 2), np.concatenate([v, zeros], 2)
    bias = np.zeros((q.shape[0], h, q.shape[2], k.shape[2]))
    if kpm is not None:
        bias[..., :kpm.shape[1]] += np.where(kpm, -np.inf, 0.0)[:, None, None]
    if attn_mask is not None:
        bias[..., :attn_mask.shape[-1]] += np.where(attn_mask, -np.inf, 0.0)
    weights = np_softmax(q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + bias)
    out = (weights @ v).transpose(2, 0, 1, 3).reshape(query.shape[0], query.shape[1], e)
    out = out @ mha.out_proj.weight.detach().numpy().T
    if mha.out_proj.bias is not None:
        out = out + mha.out_proj.bias.detach().numpy()
    return out, weights.mean(1) if average else weights


def make_mha(*args, **kwargs):
    cr.manual_seed(1)
    mha = nn.MultiheadAttention(*args, **kwargs).double()
    with cr.no_grad():  # non-zero biases, so the test sees them
        for p in mha.parameters():
            p.add_(cr.randn(*p.shape, dtype=cr.float64) * 0.1)
    return mha


@pytest.mark.parametrize("kwargs", [{}, {"bias": False}, {"kdim": 3, "vdim": 5}, {"add_bias_kv": True},
                                    {"add_zero_attn": True}, {"add_bias_kv": True, "add_zero_attn": True}])
def test_mha_matches_hand_built_projections(kwargs):
    mha = make_mha(8, 2, **kwargs)
    query = RNG.standard_normal((4, 3, 8))
    key = RNG.standard_normal((6, 3, kwargs.get("kdim", 8)))
    value = RNG.standard_normal((6, 3, kwargs.get("vdim", 8)))
    out, weights = mha(t64(query), t64(key), t64(value))
    ref_out, ref_weights = np_mha(mha, query, key, value)
    np.testing.assert_allclose(out.detach().numpy(), ref_out, atol=1e-12)
    np.testing.assert_allclose(weights.detach().numpy(), ref_weights, atol=1e-12)


def test_mha_masks_and_per_head_weights():
    mha = make_mha(8, 4)
    x = RNG.standard_normal((5, 2, 8))
    kpm = np.array([[False, False, True, False, True], [False, True, False, False, False]])
    attn = np.triu(np.ones((5, 5), bool), 1)
    out, weights = mha(t64(x), t64(x), t64(x), key_padding_mask=cr.tensor(kpm), attn_mask=cr.tensor(attn),
                       average_attn_weights=False)
    ref_out, ref_weights = np_mha(mha, x, x, x, kpm, attn, average=False)
    np.testing.assert_allclose(out.detach().numpy(), ref_out, atol=1e-12)
    assert weights.shape == (2, 4, 5, 5)
    np.testing.assert_allclose(weights.detach().numpy(), ref_weights, atol=1e-12)
    # float masks are added: -inf where the bool mask is True gives the same result
    float_out, _ = mha(t64(x), t64(x), t64(x), key_padding_mask=t64(np.where(kpm, -np.inf, 0.0)),
                       attn_mask=t64(np.where(attn, -np.inf, 0.0)))
    np.testing.assert_allclose(float_out.detach().numpy(), ref_out, atol=1e-12)
    # a 3-D mask (N * heads, L, S) and need_weights=False give the same output
    out3, none = mha(t64(x), t64(x), t64(x), key_padding_mask=cr.tensor(kpm),
                     attn_mask=cr.tensor(np.broadcast_to(attn, (8, 5, 5)).copy()), need_weights=False)
    assert none is None
    np.testing.assert_allclose(out3.detach().numpy(), ref_out, atol=1e-12)


def test_mha_is_causal_hint_uses_the_causal_mask():
    mha = make_mha(8, 2)
    x = t64(RNG.standard_normal((5, 2, 8)))
    mask = nn.Transformer.generate_square_subsequent_mask(5, dtype=cr.float64)
    expected, _ = mha(x, x, x, attn_mask=mask)
    hinted, _ = mha(x, x, x, attn_mask=mask, is_causal=True, need_weights=False)
    np.testing.assert_allclose(hinted.detach().numpy(), expected.detach().numpy(), atol=1e-12)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        mha(x, x, x, is_causal=True)


def test_mha_batch_first_and_unbatched_shapes():
    mha = make_mha(8, 2, batch_first=True)
    x = RNG.standard_normal((3, 4, 8))
    out, weights = mha(t64(x), t64(x), t64(x))
    assert out.shape == (3, 4, 8) and weights.shape == (3, 4, 4)
    ref, _ = np_mha(mha, x.transpose(1, 0, 2), x.transpose(1, 0, 2), x.transpose(1, 0, 2))
    np.testing.assert_allclose(out.detach().numpy(), ref.transpose(1, 0, 2), atol=1e-12)
    single, w1 = mha(t64(x[0]), t64(x[0]), t64(x[0]))
    assert single.shape == (4, 8) and w1.shape == (4, 4)
    np.testing.assert_allclose(single.detach().numpy(), out.detach().numpy()[0], atol=1e-12)


def test_mha_parameters_and_initialisation():
    cr.manual_seed(0)
    mha = nn.MultiheadAttention(64, 8)
    assert [n for n, _ in mha.named_parameters()] == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                                      "out_proj.bias"]
    bound = math.sqrt(6 / (64 + 192))  # xavier_uniform_ on (3E, E)
    w = mha.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.all(mha.in_proj_bias.detach().numpy() == 0) and np.all(mha.out_proj.bias.detach().numpy() == 0)
    separate = nn.MultiheadAttention(8, 2, kdim=3, vdim=5, add_bias_kv=True, bias=False)
    assert [(n, tuple(p.shape)) for n, p in separate.named_parameters()] == [
        ("q_proj_weight", (8, 8)), ("k_proj_weight", (8, 3)), ("v_proj_weight", (8, 5)), ("bias_k", (1, 1, 8)),
        ("bias_v", (1, 1, 8)), ("out_proj.weight", (8, 8))]
    assert type(mha.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(mha.out_proj, nn.Linear)


def test_mha_dropout_only_in_training():
    mha = make_mha(8, 2, dropout=0.5)
    x = t64(RNG.standard_normal((4, 2, 8)))
    mha.eval()
    a, _ = mha(x, x, x)
    b, _ = mha(x, x, x)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    mha.train()
    _, weights = mha(x, x, x, average_attn_weights=False)
    assert np.any(weights.detach().numpy() == 0)


def test_mha_errors():
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="greater than 0"):
        nn.MultiheadAttention(0, 2)
    mha = make_mha(8, 2)
    x = t64(RNG.standard_normal((4, 2, 8)))
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        mha(x, x, x, attn_mask=cr.ones(3, 4, dtype=cr.bool))
    with pytest.raises(RuntimeError, match="3D attn_mask"):
        mha(x, x, x, attn_mask=cr.ones(2, 4, 4, dtype=cr.bool))
    with pytest.raises(AssertionError, match="key_padding_mask"):
        mha(x, x, x, key_padding_mask=cr.ones(4, dtype=cr.bool))
    with pytest.raises(AssertionError, match="was expecting embedding dimension"):
        mha(x[..., :6], x[..., :6], x[..., :6])
    with pytest.raises(AssertionError, match="3-D"):
        mha(x, x[0], x[0])
    with pytest.raises(AssertionError, match="bool and floating"):
        mha(x, x, x, key_padding_mask=cr.zeros(2, 4, dtype=cr.int64))


def test_mha_gradients_reach_every_parameter():
    mha = make_mha(8, 2, add_bias_kv=True)
    x = t64(RNG.standard_normal((4, 2, 8)), requires_grad=True)
    out, _ = mha(x, x, x)
    out.square().sum().backward()
    for name, p in mha.named_parameters():
        assert p.grad is not None and np.abs(p.grad.numpy()).sum() > 0, name
    assert cr.autograd.gradcheck(lambda t: mha(t, t, t)[0], (x,))


# -- optional parity with torch ----------------------------------------------------------------------------

def load_from_torch(module, torch_module):
    module.double()
    torch_module.double()
    module.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in torch_module.state_dict().items()})


@pytest.mark.parametrize("kwargs", [{}, {"batch_first": True}, {"kdim": 5, "vdim": 3},
                                    {"add_bias_kv": True, "add_zero_attn": True}, {"bias": False}])
def test_mha_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(8, 2, **kwargs)
    ours = nn.MultiheadAttention(8, 2, **kwargs)
    load_from_torch(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    shape = (3, 4) if kwargs.get("batch_first") else (4, 3)
    arrays = [RNG.standard_normal(shape + (8,)), RNG.standard_normal((6, 3) + (kwargs.get("kdim", 8),)),
              RNG.standard_normal((6, 3) + (kwargs.get("vdim", 8),))]
    if kwargs.get("batch_first"):
        arrays[1:] = [a.transpose(1, 0, 2).copy() for a in arrays[1:]]
    kpm = RNG.random((3, 6)) > 0.7
    kpm[:, 0] = False
    ours_in = [t64(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, weights = ours(*ours_in, key_padding_mask=cr.tensor(kpm))
    ref, ref_weights = theirs(*theirs_in, key_padding_mask=torch.tensor(kpm))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(weights.detach().numpy(), ref_weights.detach().numpy(), atol=1e-12)
    out.square().sum().backward()
    ref.square().sum().backward()
    for a, b in zip(ours_in, theirs_in):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-10)
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), atol=1e-10)


def test_sdpa_matches_torch_with_masks():
    torch = pytest.importorskip("torch")
    q, k, v = qkv()
    keep = RNG.random((4, 5)) > 0.5
    keep[1] = False
    for kwargs in ({}, {"is_causal": True}, {"scale": 0.3}):
        ours = sdpa(q, k, v, **kwargs)
        theirs = torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)), **kwargs)
        np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-12)
    ours = sdpa(q, k, v, attn_mask=cr.tensor(keep))
    theirs = torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)),
                                                              attn_mask=torch.tensor(keep))
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-12)
