"""nn.utils.fuse_conv_bn_eval / fuse_linear_bn_eval (the fused layer computes bn(layer(x)) in evaluation) and
nn.utils.skip_init."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import fuse_conv_bn_eval, fuse_linear_bn_eval


def _trained_bn(bn, x_shape):
    for _ in range(3):
        bn(cr.randn(*x_shape) * 2 + 1)  # non-trivial running statistics
    with cr.no_grad():
        if bn.weight is not None:
            bn.weight.copy_(cr.rand(bn.num_features) + 0.5)
            bn.bias.copy_(cr.randn(bn.num_features))
    return bn.eval()


@pytest.mark.parametrize("conv, bn, transpose", [
    (nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), False),
    (nn.Conv1d(3, 4, 3, bias=False), nn.BatchNorm1d(4, affine=False), False),
    (nn.ConvTranspose2d(3, 4, 2, stride=2), nn.BatchNorm2d(4), True),
])
def test_conv_bn(conv, bn, transpose):
    cr.manual_seed(0)
    nd = conv.weight.ndim - 2
    x = cr.randn(2, 3, *(5,) * nd)
    _trained_bn(bn, (8, 4) + (3,) * nd)
    conv.eval()
    fused = fuse_conv_bn_eval(conv, bn, transpose=transpose)
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(conv(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    assert isinstance(fused.weight, nn.Parameter) and fused.bias is not None and fused is not conv
    assert fused.weight.grad_fn is None and fused.weight.requires_grad


def test_linear_bn_and_errors():
    cr.manual_seed(1)
    linear, bn = nn.Linear(5, 3), _trained_bn(nn.BatchNorm1d(3), (8, 3))
    linear.eval()
    x = cr.randn(4, 5)
    np.testing.assert_allclose(fuse_linear_bn_eval(linear, bn)(x).detach().numpy(),
                               bn(linear(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        fuse_linear_bn_eval(linear.train(), bn)
    with pytest.raises(AssertionError, match="linear.out_features == bn.num_features"):
        fuse_linear_bn_eval(nn.Linear(5, 2).eval(), bn)


def test_skip_init():
    layer = nn.utils.skip_init(nn.Linear, 5, 2, dtype=cr.float64)
    assert layer.weight.shape == (2, 5) and layer.weight.device.type == "cpu" and layer.weight.dtype == cr.float64
    assert isinstance(layer.weight, nn.Parameter) and layer(cr.ones(3, 5, dtype=cr.float64)).shape == (3, 2)
    with pytest.raises(RuntimeError, match="Module must support a 'device' arg to skip initialization"):
        nn.utils.skip_init(nn.ReLU)
