"""``Linear`` (fully connected layer), ``Bilinear`` (``x1^T A x2 + b``) and ``Identity``."""

from __future__ import annotations

import math

from ... import creation
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear"]


def reset_affine(weight: Parameter, bias: Parameter | None) -> None:
    """torch's default initialisation of Linear and Conv layers: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    NOTE: kaiming_uniform_ with a = sqrt(5) gives exactly the bound 1/sqrt(fan_in); torch keeps that form.
    """
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


def weight_and_bias(module: Module, weight_shape: tuple, bias: bool, factory: dict) -> None:
    """Register ``weight`` (uninitialised) and ``bias`` (out_features = weight_shape[0]) or a None bias."""
    module.weight = Parameter(creation.empty(*weight_shape, **factory))
    if bias:
        module.bias = Parameter(creation.empty(weight_shape[0], **factory))
    else:
        module.register_parameter("bias", None)


class Identity(Module):
    """Returns its input unchanged (a placeholder; any constructor arguments are ignored)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = x @ W.T + b``: (*, in_features) -> (*, out_features).

    ``weight`` (out_features, in_features) and ``bias`` (out_features) start uniform on
    ``(-1/sqrt(in_features), 1/sqrt(in_features))``, as in torch.

    Example::

        >>> layer = chainrule.nn.Linear(20, 30)
        >>> layer(chainrule.randn(128, 20)).shape
        chainrule.Size([128, 30])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        weight_and_bias(self, (out_features, in_features), bias, {"dtype": dtype, "device": device})
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_affine(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        has_bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={has_bias}"


class Bilinear(Module):
    """``y[..., o] = x1 @ A[o] @ x2 + b[o]``: (*, in1_features), (*, in2_features) -> (*, out_features).

    ``weight`` (out_features, in1_features, in2_features) and ``bias`` (out_features) start uniform on
    ``(-1/sqrt(in1_features), 1/sqrt(in1_features))``, as in torch.

    Example::

        >>> layer = chainrule.nn.Bilinear(20, 30, 40)
        >>> layer(chainrule.randn(128, 20), chainrule.randn(128, 30)).shape
        chainrule.Size([128, 40])
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        weight_and_bias(self, (out_features, in1_features, in2_features), bias, {"dtype": dtype, "device": device})
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.in1_features <= 0:
            raise ValueError(f"in1_features must be > 0, but got (in1_features={self.in1_features})")
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
