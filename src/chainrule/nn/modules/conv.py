"""Convolution layers in 1, 2 and 3 spatial dims, plain and transposed, with torch's arguments, attribute names
and initialisation (so a torch ``state_dict`` loads): one base class, six thin subclasses."""

from __future__ import annotations

from ... import creation
from ...ops.conv import as_tuple
from ...tensor import Tensor
from .. import functional as F
from ..functional.conv import conv_padding, spatial_doc
from ..parameter import Parameter
from .linear import reset_affine
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What every convolution layer shares: argument checks, the weight and bias, their initialisation.

    ``weight`` is (out_channels, in_channels/groups, *kernel_size), or (in_channels, out_channels/groups,
    *kernel_size) when transposed; weight and bias start uniform on ``(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with
    ``fan_in = weight.size(1) * prod(kernel_size)`` (kaiming_uniform_ with a = sqrt(5)), as in torch.
    """

    _nd: int
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None,
                 output_padding=0) -> None:
        super().__init__()
        name, nd = type(self).__name__, self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode='{padding_mode}'")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = as_tuple(kernel_size, nd, "kernel_size", name)
        self.stride = as_tuple(stride, nd, "stride", name)
        self.dilation = as_tuple(dilation, nd, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid") or self._transposed:
                raise ValueError(f"Invalid padding string {padding!r}, should be one of ('same', 'valid')"
                                 + (" (and none for transposed convolutions)" if self._transposed else ""))
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = as_tuple(padding, nd, "padding", name)
        self.padding_mode = padding_mode
        self.transposed = self._transposed
        self.output_padding = as_tuple(output_padding, nd, "output_padding", name)
        if not self._transposed:
            pads = conv_padding(self.padding, self.kernel_size, self.dilation, self.stride, name)
            # NOTE: torch's name and F.pad's order (last dimension first), for the non-zero padding modes.
            self._reversed_padding_repeated_twice = tuple(p for pair in reversed(pads) for p in pair)
        channels = (in_channels, out_channels // groups) if self._transposed else (out_channels,
                                                                                  in_channels // groups)
        self.weight = Parameter(creation.empty(channels + self.kernel_size, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_affine(self.weight, self.bias)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        """The convolution with the given ``weight`` and ``bias`` (torch's hook for reparametrised weights)."""
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return self._functional(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return self._functional(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, output_padding)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        """``output_size`` (the spatial sizes, optionally with the leading batch/channel sizes) picks the
        output padding among the sizes this layer's strided adjoint maps to the input's size."""
        return self._functional(input, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(input, output_size), self.groups, self.dilation)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        if output_size is None:
            return self.output_padding
        nd = self._nd
        lead = 2 if input.dim() == nd + 2 else 1
        output_size = tuple(output_size)
        if len(output_size) == lead + nd:
            output_size = output_size[lead:]
        if len(output_size) != nd:
            raise ValueError(f"ConvTranspose{nd}D: for {input.dim()}D input, output_size must have {nd} or "
                             f"{lead + nd} elements (got {len(output_size)})")
        smallest = [(input.shape[lead + d] - 1) * self.stride[d] - 2 * self.padding[d]
                    + self.dilation[d] * (self.kernel_size[d] - 1) + 1 for d in range(nd)]
        largest = [m + s - 1 for m, s in zip(smallest, self.stride)]
        if any(not lo <= int(size) <= hi for size, lo, hi in zip(output_size, smallest, largest)):
            raise ValueError(f"requested an output size of {list(output_size)}, but valid sizes range from "
                             f"{smallest} to {largest} (for an input of {tuple(input.shape[lead:])})")
        return tuple(int(size) - m for size, m in zip(output_size, smallest))


_CONV_DOC = """{nd}-D convolution over (N, C_in, {dims}) input: -> (N, C_out, {out_dims}).

    See :func:`chainrule.nn.functional.conv{nd}d` for the output size. ``padding``: an int, a tuple,
    ``'valid'`` or ``'same'``; ``padding_mode``: ``'zeros'``, ``'reflect'``, ``'replicate'`` or
    ``'circular'`` (applied with ``F.pad`` before a convolution without padding). ``weight`` is (out_channels,
    in_channels/groups, {kdims}); weight and bias start uniform on ``(-1/sqrt(fan_in), 1/sqrt(fan_in))``,
    ``fan_in = in_channels/groups * prod(kernel_size)``, as in torch.

    Example::

        >>> conv = chainrule.nn.Conv{nd}d(2, 4, 3, padding=1)
        >>> conv(chainrule.randn(8, 2, {example})).shape
        chainrule.Size([8, 4, {example}])
    """

_TRANSPOSE_DOC = """{nd}-D transposed convolution over (N, C_in, {dims}) input: -> (N, C_out, {out_dims}).

    The gradient of a ``Conv{nd}d`` with respect to its input, as a layer (upsampling by ``stride``). See
    :func:`chainrule.nn.functional.conv_transpose{nd}d` for the output size; ``forward(input, output_size)``
    picks ``output_padding`` to reach ``output_size``. ``weight`` is (in_channels, out_channels/groups,
    {kdims}); weight and bias start uniform on ``(-1/sqrt(fan_in), 1/sqrt(fan_in))``,
    ``fan_in = out_channels/groups * prod(kernel_size)``, as in torch. Only ``padding_mode='zeros'``.

    Example::

        >>> up = chainrule.nn.ConvTranspose{nd}d(2, 4, 2, stride=2)
        >>> up(chainrule.randn(8, 2, {example})).shape
        chainrule.Size([8, 4, {doubled}])
    """


class Conv1d(_Conv):
    __doc__ = spatial_doc(_CONV_DOC, 1, example=4, doubled=8)
    _nd, _functional = 1, staticmethod(F.conv1d)


class Conv2d(_Conv):
    __doc__ = spatial_doc(_CONV_DOC, 2, example=4, doubled=8)
    _nd, _functional = 2, staticmethod(F.conv2d)


class Conv3d(_Conv):
    __doc__ = spatial_doc(_CONV_DOC, 3, example=4, doubled=8)
    _nd, _functional = 3, staticmethod(F.conv3d)


class ConvTranspose1d(_ConvTransposeNd):
    __doc__ = spatial_doc(_TRANSPOSE_DOC, 1, example=4, doubled=8)
    _nd, _functional = 1, staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    __doc__ = spatial_doc(_TRANSPOSE_DOC, 2, example=4, doubled=8)
    _nd, _functional = 2, staticmethod(F.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    __doc__ = spatial_doc(_TRANSPOSE_DOC, 3, example=4, doubled=8)
    _nd, _functional = 3, staticmethod(F.conv_transpose3d)
