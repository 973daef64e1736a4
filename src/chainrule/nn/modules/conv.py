"""``Conv2d``: a learnable 2-D convolution layer with torch's arguments and initialisation."""

from __future__ import annotations

from ... import creation
from ...ops.conv import as_tuple
from ...tensor import Tensor
from .. import functional as F
from ..functional.conv import conv_padding
from ..parameter import Parameter
from .linear import reset_affine
from .module import Module

__all__ = ["Conv2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Conv2d(Module):
    """2-D convolution over (N, C_in, H, W) input: -> (N, C_out, H_out, W_out).

    ``weight`` has shape (out_channels, in_channels / groups, kH, kW); weight and bias start uniform on
    ``(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in = in_channels / groups * kH * kW``, as in torch.
    ``padding``: an int, a pair, ``'valid'`` or ``'same'``; ``padding_mode``: ``'zeros'``, ``'reflect'``,
    ``'replicate'`` or ``'circular'``. See :func:`chainrule.nn.functional.conv2d` for the output size.

    Example::

        >>> conv = chainrule.nn.Conv2d(1, 8, 3, padding=1)
        >>> conv(chainrule.randn(4, 1, 8, 8)).shape
        chainrule.Size([4, 8, 8, 8])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = as_tuple(kernel_size, 2, "kernel_size", "Conv2d")
        self.stride = as_tuple(stride, 2, "stride", "Conv2d")
        self.dilation = as_tuple(dilation, 2, "dilation", "Conv2d")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of ('same', 'valid')")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = as_tuple(padding, 2, "padding", "Conv2d")
        self.padding_mode = padding_mode
        self.output_padding = (0, 0)
        pads = conv_padding(self.padding, self.kernel_size, self.dilation, self.stride)
        (top, bottom), (left, right) = pads
        # NOTE: torch's name: F.pad's order (last dimension first) for the non-zero padding modes.
        self._reversed_padding_repeated_twice = (left, right, top, bottom)
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(creation.empty(shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_affine(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv2d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s
