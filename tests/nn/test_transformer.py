"""Transformer, TransformerEncoder(Layer), TransformerDecoder(Layer): hand computations from the submodules,
masks (causal, key padding), shapes, initialisation, errors, a small encoder classifier that trains, and
(optional) parity with torch through a loaded state_dict."""

import copy

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

RNG = np.random.default_rng(0)


def t64(a, requires_grad=False):
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def close(a, b, atol=1e-12):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy() if isinstance(b, cr.Tensor) else b,
                               atol=atol)


def encoder_layer(**kwargs):
    cr.manual_seed(0)
    return nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **kwargs).double()


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_is_attention_then_feed_forward_with_residuals(norm_first):
    layer = encoder_layer(norm_first=norm_first, activation="gelu")
    x = t64(RNG.standard_normal((5, 3, 8)))

    def sa(h):
        return layer.self_attn(h, h, h, need_weights=False)[0]

    def ff(h):
        return layer.linear2(F.gelu(layer.linear1(h)))

    if norm_first:
        h = x + sa(layer.norm1(x))
        expected = h + ff(layer.norm2(h))
    else:
        h = layer.norm1(x + sa(x))
        expected = layer.norm2(h + ff(h))
    close(layer(x), expected)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_is_self_attention_cross_attention_feed_forward(norm_first):
    cr.manual_seed(0)
    layer = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, norm_first=norm_first, activation=F.silu).double()
    tgt, memory = t64(RNG.standard_normal((4, 2, 8))), t64(RNG.standard_normal((6, 2, 8)))
    mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=cr.float64)

    def sa(h):
        return layer.self_attn(h, h, h, attn_mask=mask)[0]

    def ca(h):
        return layer.multihead_attn(h, memory, memory)[0]

    def ff(h):
        return layer.linear2(F.silu(layer.linear1(h)))

    if norm_first:
        h = tgt + sa(layer.norm1(tgt))
        h = h + ca(layer.norm2(h))
        expected = h + ff(layer.norm3(h))
    else:
        h = layer.norm1(tgt + sa(tgt))
        h = layer.norm2(h + ca(h))
        expected = layer.norm3(h + ff(h))
    close(layer(tgt, memory, tgt_mask=mask), expected)


def test_generate_square_subsequent_mask():
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    assert mask.dtype == cr.float32 and mask.shape == (4, 4)
    expected = np.where(np.triu(np.ones((4, 4)), 1) == 1, -np.inf, 0.0)
    np.testing.assert_array_equal(mask.numpy(), expected)
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=cr.float64).dtype == cr.float64


def test_causal_decoder_output_does_not_depend_on_later_positions():
    cr.manual_seed(0)
    decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0), 2).double()
    tgt, memory = RNG.standard_normal((5, 2, 8)), t64(RNG.standard_normal((3, 2, 8)))
    mask = nn.Transformer.generate_square_subsequent_mask(5, dtype=cr.float64)
    out = decoder(t64(tgt), memory, tgt_mask=mask, tgt_is_causal=True)
    changed = tgt.copy()
    changed[3:] += 10.0
    out2 = decoder(t64(changed), memory, tgt_mask=mask)
    close(out[:3], out2[:3])
    assert np.abs((out[3:] - out2[3:]).detach().numpy()).max() > 1e-3


def test_key_padding_mask_hides_padded_positions():
    cr.manual_seed(0)
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2,
                                    enable_nested_tensor=False).double()
    src = RNG.standard_normal((2, 5, 8))
    padding = np.array([[False, False, False, True, True], [False] * 5])
    out = encoder(t64(src), src_key_padding_mask=cr.tensor(padding))
    changed = src.copy()
    changed[0, 3:] = 7.0
    out2 = encoder(t64(changed), src_key_padding_mask=cr.tensor(padding))
    close(out[0, :3], out2[0, :3])
    close(out[1], out2[1])


def test_shapes_batch_first_and_unbatched():
    cr.manual_seed(0)
    model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16,
                           dropout=0.0, batch_first=True).double()
    src, tgt = RNG.standard_normal((3, 5, 8)), RNG.standard_normal((3, 4, 8))
    out = model(t64(src), t64(tgt))
    assert out.shape == (3, 4, 8)
    single = model(t64(src[1]), t64(tgt[1]))
    assert single.shape == (4, 8)
    close(single, out[1])
    layer = encoder_layer()
    assert layer(t64(src[0])).shape == (5, 8)


def test_stacks_are_deep_copies_and_initialisation():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    encoder = nn.TransformerEncoder(layer, 3, norm=nn.LayerNorm(8))
    assert len(encoder.layers) == 3 and encoder.num_layers == 3
    w = [m.linear1.weight for m in encoder.layers]
    assert w[0] is not w[1] and w[0] is not layer.linear1.weight
    np.testing.assert_array_equal(w[0].detach().numpy(), w[1].detach().numpy())
    assert len(list(encoder.parameters())) == 3 * len(list(layer.parameters())) + 2
    cr.manual_seed(0)
    model = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32)
    linear1 = model.encoder.layers[0].linear1.weight.detach().numpy()
    bound = np.sqrt(6 / (16 + 32))  # xavier_uniform_ on every matrix, as torch's Transformer does
    assert np.abs(linear1).max() <= bound and np.abs(linear1).max() > 0.8 * bound
    names = [n for n, _ in model.named_parameters()]
    assert "encoder.norm.weight" in names and "decoder.layers.0.multihead_attn.in_proj_weight" in names


def test_errors():
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(AssertionError, match="divisible"):
        nn.TransformerEncoderLayer(10, 3)
    model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16)
    with pytest.raises(RuntimeError, match="batch number"):
        model(cr.randn(5, 2, 8), cr.randn(4, 3, 8))
    with pytest.raises(RuntimeError, match="d_model"):
        model(cr.randn(5, 2, 6), cr.randn(4, 2, 6))


def test_dropout_is_active_only_in_training():
    cr.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5).double()
    x = t64(RNG.standard_normal((5, 2, 8)))
    assert np.abs((layer(x) - layer(x)).detach().numpy()).max() > 0
    layer.eval()
    close(layer(x), layer(x))


class Classifier(nn.Module):
    def __init__(self, vocab, length, d_model=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.position = nn.Parameter(cr.randn(length, d_model) * 0.1)
        layer = nn.TransformerEncoderLayer(d_model, 2, 32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 1)
        self.head = nn.Linear(d_model, 2)

    def forward(self, tokens):
        return self.head(self.encoder(self.embed(tokens) + self.position).mean(1))


def test_encoder_classifier_trains_on_generated_data():
    """Label: does token 1 occur at least twice in the sequence? Attention has to count across positions."""
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    model = Classifier(6, 8)
    optimizer = cr.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        tokens = rng.integers(1, 6, (64, 8))
        labels = ((tokens == 1).sum(1) >= 2).astype(np.int64)
        loss = F.cross_entropy(model(cr.tensor(tokens)), cr.tensor(labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.2 * np.mean(losses[:3])


def test_double_backward_through_an_encoder_layer():
    layer = encoder_layer()
    x = t64(RNG.standard_normal((3, 2, 8)), requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda t: layer(t), (x,), atol=1e-5)


# -- optional parity with torch ----------------------------------------------------------------------------

def load_from_torch(module, torch_module):
    module.double()
    torch_module.double()
    module.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in torch_module.state_dict().items()})
    assert list(module.state_dict()) == list(torch_module.state_dict())


@pytest.mark.parametrize("kwargs", [{}, {"batch_first": True, "norm_first": True, "activation": "gelu"},
                                    {"bias": False}])
def test_transformer_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Transformer(16, 4, 2, 2, 32, dropout=0.0, **kwargs)
    ours = nn.Transformer(16, 4, 2, 2, 32, dropout=0.0, **kwargs)
    load_from_torch(ours, theirs)
    src, tgt = RNG.standard_normal((5, 3, 16)), RNG.standard_normal((6, 3, 16))
    if kwargs.get("batch_first"):
        src, tgt = src.transpose(1, 0, 2).copy(), tgt.transpose(1, 0, 2).copy()
    padding = RNG.random((3, 5)) > 0.7
    padding[:, 0] = False
    masks = {"src_key_padding_mask": padding, "memory_key_padding_mask": padding}
    ours_src, theirs_src = t64(src, requires_grad=True), torch.tensor(src, requires_grad=True)
    out = ours(ours_src, t64(tgt), tgt_mask=nn.Transformer.generate_square_subsequent_mask(6, dtype=cr.float64),
               tgt_is_causal=True, **{k: cr.tensor(v) for k, v in masks.items()})
    ref = theirs(theirs_src, torch.tensor(tgt),
                 tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(6, dtype=torch.float64),
                 tgt_is_causal=True, **{k: torch.tensor(v) for k, v in masks.items()})
    close(out, ref.detach().numpy(), atol=1e-10)
    out.square().sum().backward()
    ref.square().sum().backward()
    close(ours_src.grad, theirs_src.grad.numpy(), atol=1e-10)
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, grads[name].grad.numpy(), atol=1e-9)


def test_encoder_matches_torch_in_eval_mode():
    """torch takes its fused inference path here; the plain path must give the same numbers."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(16, 4, 32, batch_first=True), 2).eval()
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32, batch_first=True), 2).eval()
    load_from_torch(ours, theirs)
    src = RNG.standard_normal((3, 5, 16))
    padding = np.array([[False] * 5, [False, False, False, True, True], [False] * 4 + [True]])
    with torch.no_grad():
        ref = theirs(torch.tensor(src), src_key_padding_mask=torch.tensor(padding))
    out = ours(t64(src), src_key_padding_mask=cr.tensor(padding))
    # NOTE: torch's nested-tensor path returns zeros at padded positions; compare the real ones.
    keep = ~padding
    np.testing.assert_allclose(out.detach().numpy()[keep], ref.numpy()[keep], atol=1e-10)


def test_deepcopy_of_a_layer_is_independent():
    layer = encoder_layer()
    clone = copy.deepcopy(layer)
    with cr.no_grad():
        clone.linear1.weight.add_(1.0)
    assert np.abs((clone.linear1.weight - layer.linear1.weight).detach().numpy()).min() == 1.0


def test_vmap_over_unbatched_sequences_equals_the_batched_call():
    from chainrule.func import vmap

    layer = encoder_layer(batch_first=True).eval()
    x = t64(RNG.standard_normal((4, 5, 8)))
    padding = cr.tensor(np.array([False, False, False, True, True]))
    per_sample = vmap(lambda seq: layer(seq, src_key_padding_mask=padding))(x)
    close(per_sample, layer(x, src_key_padding_mask=padding.unsqueeze(0).expand(4, 5)))
