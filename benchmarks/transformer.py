"""Transformer-encoder training step benchmark: a classifier of token sequences (embedding, learned positions,
a 2-layer ``nn.TransformerEncoder`` with d_model 64, 4 heads, feed-forward 256, mean pooling, a linear head over
10 classes), sequence 32, batch 32, float32, cross-entropy, Adam. Medium-sized matrix products plus many
small ops (softmax, layer norm, dropout masks), so per-op overhead matters too; the aim is to stay within 2x
of PyTorch.

Run: ``python -m benchmarks.transformer``.
"""

from __future__ import annotations

import numpy as np

import chainrule

from ._common import best_of, optional, report

D_MODEL, HEADS, LAYERS, FEEDFORWARD, SEQ, BATCH, VOCAB, CLASSES = 64, 4, 2, 256, 32, 32, 100, 10


def build(lib):
    """The classifier as a module of ``lib`` (chainrule or torch): both libraries have the same names."""
    nn = lib.nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, D_MODEL)
            self.position = nn.Parameter(lib.zeros(SEQ, D_MODEL))
            layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FEEDFORWARD, dropout=0.1, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
            self.head = nn.Linear(D_MODEL, CLASSES)

        def forward(self, tokens):
            return self.head(self.encoder(self.embed(tokens) + self.position).mean(1))

    return Classifier()


def make_step(lib, tokens_np, target_np, state_np):
    """One training step in ``lib`` with the same weights: forward, loss, backward, Adam update."""
    model = build(lib)
    model.load_state_dict({k: lib.tensor(v) for k, v in state_np.items()})
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    tokens, target = lib.tensor(tokens_np), lib.tensor(target_np)

    def step():
        loss = lib.nn.functional.cross_entropy(model(tokens), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


def main() -> None:
    rng = np.random.default_rng(0)
    tokens_np = rng.integers(0, VOCAB, (BATCH, SEQ))
    target_np = rng.integers(0, CLASSES, BATCH)
    chainrule.manual_seed(0)
    state_np = {k: v.numpy() for k, v in build(chainrule).state_dict().items()}
    torch = optional("torch")
    libs = [("chainrule", chainrule)] + ([("torch", torch)] if torch else [])
    rows = []
    for name, lib in libs:
        step = make_step(lib, tokens_np, target_np, state_np)
        step()
        rows.append((name, best_of(step, repeat=5)))
    report(f"Transformer-encoder classifier training step: {LAYERS} layers, d_model {D_MODEL}, {HEADS} heads, "
           f"feed-forward {FEEDFORWARD}, seq {SEQ}, batch {BATCH}, float32, Adam", rows)


if __name__ == "__main__":
    main()
