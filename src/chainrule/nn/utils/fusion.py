"""Folding an evaluation-mode batch norm into the convolution or linear layer before it (torch's
``nn.utils.fuse_conv_bn_eval`` and friends): one layer computing ``bn(layer(x))`` with the running statistics."""

from __future__ import annotations

import copy

from ... import creation
from ...tensor import Tensor
from ..parameter import Parameter


def fuse_conv_bn_weights(conv_w: Tensor, conv_b: Tensor | None, bn_rm: Tensor, bn_rv: Tensor, bn_eps: float,
                         bn_w: Tensor | None, bn_b: Tensor | None, transpose: bool = False) -> tuple:
    """``(weight, bias)`` Parameters of the convolution that computes ``bn(conv(x))``: the weight scaled per output
    channel by ``bn_w / sqrt(bn_rv + eps)`` (dim 1 of a transposed convolution's weight), the bias shifted."""
    bias_dtype = conv_b.dtype if conv_b is not None else conv_w.dtype
    conv_b = creation.zeros_like(bn_rm) if conv_b is None else conv_b
    bn_w = creation.ones_like(bn_rm) if bn_w is None else bn_w
    bn_b = creation.zeros_like(bn_rm) if bn_b is None else bn_b
    rsqrt_var = (bn_rv + bn_eps).rsqrt()
    shape = [1, -1] if transpose else [-1, 1]
    weight = (conv_w * (bn_w * rsqrt_var).reshape(shape + [1] * (conv_w.ndim - 2))).to(conv_w.dtype)
    bias = ((conv_b - bn_rm) * rsqrt_var * bn_w + bn_b).to(bias_dtype)
    return Parameter(weight, conv_w.requires_grad), Parameter(bias, conv_b.requires_grad)


def fuse_linear_bn_weights(linear_w: Tensor, linear_b: Tensor | None, bn_rm: Tensor, bn_rv: Tensor, bn_eps: float,
                           bn_w: Tensor, bn_b: Tensor) -> tuple:
    """``(weight, bias)`` Parameters of the linear layer that computes ``bn(linear(x))`` (per output feature, or
    one scale for a batch norm of one feature)."""
    bias_dtype = linear_b.dtype if linear_b is not None else linear_w.dtype
    linear_b = creation.zeros_like(bn_rm) if linear_b is None else linear_b
    scale = bn_w * (bn_rv + bn_eps).rsqrt()
    weight = linear_w * scale.unsqueeze(-1).to(linear_w.dtype)
    bias = ((linear_b - bn_rm) * scale + bn_b).to(bias_dtype)
    return Parameter(weight, linear_w.requires_grad), Parameter(bias, linear_b.requires_grad)


def _check_eval(*modules) -> None:
    if any(m.training for m in modules):
        raise AssertionError("Fusion only for eval!")


def fuse_conv_bn_eval(conv, bn, transpose: bool = False):
    """A copy of ``conv`` (in eval mode, as ``bn``) computing ``bn(conv(x))``.

    Example::

        >>> conv, bn = chainrule.nn.Conv2d(3, 4, 3).eval(), chainrule.nn.BatchNorm2d(4).eval()
        >>> fused = chainrule.nn.utils.fuse_conv_bn_eval(conv, bn)
    """
    _check_eval(conv, bn)
    fused = copy.deepcopy(conv)
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("fuse_conv_bn_eval: the batch norm must track running statistics")
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_linear_bn_eval(linear, bn):
    """A copy of ``linear`` (in eval mode, as ``bn``) computing ``bn(linear(x))``."""
    _check_eval(linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError("To fuse, linear.out_features == bn.num_features or bn.num_features == 1")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("fuse_linear_bn_eval: the batch norm must track running statistics")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused
