"""The dropout family: channel masks, scaling, the alpha forms' mean and variance, torch's errors and warnings."""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

_SAT = 1.7580993408473766


def _values(t):
    return t.detach().numpy()


@pytest.mark.parametrize("fn, shape, mask_dims", [
    (F.dropout1d, (4, 6, 5), 2), (F.dropout1d, (6, 5), 1),
    (F.dropout2d, (4, 6, 3, 3), 2), (F.dropout3d, (4, 6, 2, 2, 2), 2), (F.dropout3d, (6, 2, 2, 2), 1),
])
def test_channel_dropout_drops_whole_channels(fn, shape, mask_dims):
    cr.manual_seed(0)
    out = _values(fn(cr.ones(*shape), p=0.4))
    per_channel = out.reshape(shape[:mask_dims] + (-1,))
    # every channel is all 0 or all 1 / (1 - p), and both occur
    assert np.all(per_channel.min(-1) == per_channel.max(-1))
    np.testing.assert_allclose(np.unique(per_channel), [0.0, 1 / 0.6], rtol=1e-6)


def test_dropout2d_reads_3d_input_as_batched_with_torchs_warning():
    cr.manual_seed(1)
    with pytest.warns(UserWarning, match="dropout2d: Received a 3D input"):
        out = _values(F.dropout2d(cr.ones(3, 8, 5), 0.5))
    assert np.all(out.min(-1) == out.max(-1))  # one draw per (N, C) pair of the (N, C, L) reading
    with pytest.warns(UserWarning, match="dropout3d: Received a 2-D input to dropout3d"):
        F.dropout3d(cr.ones(3, 4), 0.5, training=False)


def test_errors():
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 1D input"):
        F.dropout1d(cr.ones(3))
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        F.alpha_dropout(cr.ones(3), 1.5, True)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(-0.1)
    with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
        F.feature_alpha_dropout(cr.ones(3), 0.5, True)
    with pytest.raises(TypeError, match="must be Tensor"):
        F.dropout2d(None)


def test_alpha_dropout_values_and_moments():
    p = 0.5
    a = 1 / math.sqrt((_SAT ** 2 * p + 1) * (1 - p))
    cr.manual_seed(0)
    out = _values(F.alpha_dropout(cr.ones(200), p, True))
    # kept: a (1 + SAT p); dropped: a SAT (p - 1) -- torch's 1.6656 and -0.7792
    np.testing.assert_allclose(sorted(set(out.round(4))), [round(a * _SAT * (p - 1), 4), round(a * (1 + _SAT * p), 4)])
    assert out[0] == pytest.approx(1.6656, abs=1e-4) or out[0] == pytest.approx(-0.7792, abs=1e-4)
    # SELU-normalised input keeps mean 0 and variance 1.
    cr.manual_seed(0)
    x = cr.randn(200000, dtype=cr.float64)
    y = _values(F.alpha_dropout(x, 0.2, True))
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.01
    np.testing.assert_array_equal(_values(F.alpha_dropout(x, 0.5)), _values(x))  # training=False by default
    np.testing.assert_array_equal(_values(F.alpha_dropout(cr.ones(3), 1.0, True)), np.zeros(3))


def test_feature_alpha_dropout_shares_a_draw_per_channel():
    cr.manual_seed(2)
    out = _values(F.feature_alpha_dropout(cr.ones(4, 5, 3), 0.5, True))
    assert np.all(out.min(-1) == out.max(-1)) and len(np.unique(out.round(4))) == 2


def test_gradient_flows_through_the_kept_channels_only():
    cr.manual_seed(3)
    x = cr.ones(2, 4, 3, requires_grad=True)
    out = F.dropout1d(x, 0.5)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), _values(out))


def test_inplace_and_modules():
    x = cr.ones(2, 3, 4)
    assert F.dropout1d(x, 0.5, inplace=True) is x
    assert set(np.unique(x.numpy())) <= {0.0, 2.0}
    for cls in (nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout):
        m = cls(0.25)
        assert repr(m) == f"{cls.__name__}(p=0.25, inplace=False)"
        x = cr.randn(2, 3, 4) if cls is nn.Dropout1d else cr.randn(2, 3, 2, 2, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.testing.assert_array_equal(_values(m.eval()(x)), _values(x))
            assert m.train()(x).shape == x.shape


def test_against_torch_constants():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    expected = sorted(set(torch.nn.functional.alpha_dropout(torch.ones(100), 0.3, True).numpy().round(5)))
    got = sorted(set(_values(F.alpha_dropout(cr.ones(100), 0.3, True)).round(5)))
    np.testing.assert_allclose(got, expected)
