"""Padding layers in 1, 2 and 3 dims: constant (and zero), reflection, replication and circular, each a thin
layer over ``F.pad`` that stores torch's ``padding`` tuple (last dim first: ``(left, right, top, bottom, front,
back)``)."""

from __future__ import annotations

from ...ops.conv import as_tuple
from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"]


class _PadNd(Module):
    """``padding``: an int (every side) or ``2 * nd`` ints, last dim first, as torch."""

    _nd: int
    _mode = "constant"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = as_tuple(padding, 2 * self._nd, "padding", type(self).__name__)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim with ``value``: (*, W) -> (*, W + left + right).

    Example::

        >>> chainrule.nn.ConstantPad1d((1, 2), 9.)(chainrule.zeros(1, 2))
        tensor([[9., 0., 0., 9., 9.]])
    """

    _nd = 1


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two dims with ``value``: (*, H, W) -> (*, H + top + bottom, W + left + right)."""

    _nd = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last three dims with ``value``: (*, D, H, W) -> (*, D + front + back, H + top + bottom,
    W + left + right)."""

    _nd = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd, ConstantPad1d):
    """Pads the last dim with zeros: (*, W) -> (*, W + left + right)."""


class ZeroPad2d(_ZeroPadNd, ConstantPad2d):
    """Pads the last two dims with zeros: (*, H, W) -> (*, H + top + bottom, W + left + right).

    Example::

        >>> chainrule.nn.ZeroPad2d(1)(chainrule.ones(1, 1, 2, 2)).shape
        chainrule.Size([1, 1, 4, 4])
    """


class ZeroPad3d(_ZeroPadNd, ConstantPad3d):
    """Pads the last three dims with zeros."""


class ReflectionPad1d(_PadNd):
    """Pads the last dim of (C, W) or (N, C, W) input with its reflection (the edge not repeated; each pad
    smaller than the size).

    Example::

        >>> chainrule.nn.ReflectionPad1d(2)(chainrule.arange(4.).reshape(1, 1, 4))
        tensor([[[2., 1., 0., 1., 2., 3., 2., 1.]]])
    """

    _nd, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Pads the last two dims of (C, H, W) or (N, C, H, W) input with their reflection."""

    _nd, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Pads the last three dims of (C, D, H, W) or (N, C, D, H, W) input with their reflection."""

    _nd, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Pads the last dim of (C, W) or (N, C, W) input by repeating its edge values."""

    _nd, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Pads the last two dims of (C, H, W) or (N, C, H, W) input by repeating their edge values."""

    _nd, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Pads the last three dims of (C, D, H, W) or (N, C, D, H, W) input by repeating their edge values."""

    _nd, _mode = 3, "replicate"


class _CircularPadNd(_PadNd):
    _mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        nd = self._nd
        if input.dim() not in (nd + 1, nd + 2):
            raise ValueError(f"expected {nd + 1}D or {nd + 2}D input (got {input.dim()}D input)")
        return F.pad(input, self.padding, "circular")


class CircularPad1d(_CircularPadNd):
    """Pads the last dim of (C, W) or (N, C, W) input by wrapping around (periodic boundary).

    Example::

        >>> chainrule.nn.CircularPad1d(1)(chainrule.arange(3.).reshape(1, 1, 3))
        tensor([[[2., 0., 1., 2., 0.]]])
    """

    _nd = 1


class CircularPad2d(_CircularPadNd):
    """Pads the last two dims of (C, H, W) or (N, C, H, W) input by wrapping around."""

    _nd = 2


class CircularPad3d(_CircularPadNd):
    """Pads the last three dims of (C, D, H, W) or (N, C, D, H, W) input by wrapping around."""

    _nd = 3
