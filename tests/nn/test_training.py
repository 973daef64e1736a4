"""End to end: a small CNN with every kind of layer learns a toy image task with plain gradient descent."""

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn


def bars(n, rng):
    """6x6 images with one vertical (class 0) or horizontal (class 1) bar plus noise."""
    x = rng.normal(0, 0.3, (n, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 2, n)
    pos = rng.integers(0, 6, n)
    for i in range(n):
        if y[i]:
            x[i, 0, pos[i], :] += 2
        else:
            x[i, 0, :, pos[i]] += 2
    return cr.tensor(x), cr.tensor(y)


def test_small_cnn_learns_bars():
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding="same"), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1), nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Dropout(0.1), nn.Linear(8, 2))
    loss_fn = nn.CrossEntropyLoss()
    x, y = bars(64, rng)
    for _ in range(60):
        loss = loss_fn(model(x), y)
        model.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        with cr.no_grad():
            for p in model.parameters():
                p.sub_(p.grad * 0.1)
    model.eval()
    x_test, y_test = bars(200, rng)
    with cr.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    assert accuracy > 0.9
    assert F.cross_entropy(model(x_test), y_test).item() < 0.5
