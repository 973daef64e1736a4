"""nn under vmap: class-index losses batch without a per-sample loop, and dropout follows vmap's randomness."""

import warnings

import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.func import functional_call, grad, vmap


@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.1}, {"weight": cr.tensor([1.0, 2.0, 0.5])}])
def test_per_sample_cross_entropy_gradients_match_a_loop(kwargs):
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(5, 8), cr.nn.ReLU(), cr.nn.Linear(8, 3))
    params = {k: v.detach() for k, v in model.named_parameters()}
    x, y = cr.randn(6, 5), cr.randint(0, 3, (6,))

    def loss(p, xi, yi):
        return F.cross_entropy(functional_call(model, p, (xi.unsqueeze(0),)), yi.unsqueeze(0), **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a per-sample fallback loop would warn
        per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    for i in range(6):
        model.zero_grad()
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1], **kwargs).backward()
        for name, p in model.named_parameters():
            assert cr.allclose(per_sample[name][i], p.grad, atol=1e-6), name


def test_nll_loss_out_of_range_target_still_raises():
    with pytest.raises(IndexError, match="out of bounds"):
        F.nll_loss(cr.randn(2, 3).log_softmax(1), cr.tensor([0, 3]))


def test_dropout_follows_vmap_randomness():
    cr.manual_seed(0)
    x = cr.ones(4, 50)
    different = vmap(lambda r: F.dropout(r, 0.5), randomness="different")(x)
    same = vmap(lambda r: F.dropout(r, 0.5), randomness="same")(x)
    assert not all(cr.equal(different[0], different[i]) for i in range(1, 4))
    assert all(cr.equal(same[0], same[i]) for i in range(1, 4))
    assert set(different.flatten().tolist()) <= {0.0, 2.0}
    with pytest.raises(RuntimeError, match="randomness"):
        vmap(lambda r: F.dropout(r, 0.5))(x)
