"""Pooling layers in 1, 2 and 3 spatial dims: max, average, power-average, adaptive max/average and max
unpooling. Each family is one class holding torch's attributes; the dimensionality picks the functional."""

from __future__ import annotations

from ...ops.conv import as_tuple
from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "LPPool1d", "LPPool2d",
           "LPPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "FractionalMaxPool2d", "FractionalMaxPool3d", "MaxUnpool1d",
           "MaxUnpool2d", "MaxUnpool3d"]


class _MaxPoolNd(Module):
    _functional: staticmethod

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor):
        return self._functional(input, self.kernel_size, self.stride, self.padding, self.dilation,
                                      ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """The maximum over each ``kernel_size`` window of (N, C, L) input; ``stride`` defaults to ``kernel_size``.
    See :func:`chainrule.nn.functional.max_pool1d`."""

    _functional = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """The maximum over each ``kernel_size`` window of (N, C, H, W) input; ``stride`` defaults to
    ``kernel_size``. See :func:`chainrule.nn.functional.max_pool2d`.

    Example::

        >>> chainrule.nn.MaxPool2d(2)(chainrule.randn(1, 3, 8, 8)).shape
        chainrule.Size([1, 3, 4, 4])
    """

    _functional = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """The maximum over each ``kernel_size`` window of (N, C, D, H, W) input; ``stride`` defaults to
    ``kernel_size``. See :func:`chainrule.nn.functional.max_pool3d`."""

    _functional = staticmethod(F.max_pool3d)


class _AvgPoolNd(Module):
    _functional: staticmethod

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return self._functional(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                      self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """The mean over each ``kernel_size`` window of (N, C, L) input; see
    :func:`chainrule.nn.functional.avg_pool1d`. Stores its sizes as 1-tuples and has no ``divisor_override``,
    as torch."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__(as_tuple(kernel_size, 1, "kernel_size", "AvgPool1d"),
                         as_tuple(stride if stride is not None else kernel_size, 1, "stride", "AvgPool1d"),
                         as_tuple(padding, 1, "padding", "AvgPool1d"), ceil_mode, count_include_pad)
        del self.divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """The mean over each ``kernel_size`` window of (N, C, H, W) input; see
    :func:`chainrule.nn.functional.avg_pool2d`."""

    _functional = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    """The mean over each ``kernel_size`` window of (N, C, D, H, W) input; see
    :func:`chainrule.nn.functional.avg_pool3d`."""

    _functional = staticmethod(F.avg_pool3d)


class _LPPoolNd(Module):
    _functional: staticmethod

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return self._functional(input, float(self.norm_type), self.kernel_size, self.stride,
                                      self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """Power-average pooling ``(sum x**p) ** (1/p)`` over each window of (N, C, L) input; see
    :func:`chainrule.nn.functional.lp_pool1d`."""

    _functional = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    """Power-average pooling ``(sum x**p) ** (1/p)`` over each window of (N, C, H, W) input; see
    :func:`chainrule.nn.functional.lp_pool2d`."""

    _functional = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPoolNd):
    """Power-average pooling ``(sum x**p) ** (1/p)`` over each window of (N, C, D, H, W) input; see
    :func:`chainrule.nn.functional.lp_pool3d`."""

    _functional = staticmethod(F.lp_pool3d)


class _AdaptiveMaxPoolNd(Module):
    _functional: staticmethod

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor):
        return self._functional(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, L) input to a fixed ``output_size``; see
    :func:`chainrule.nn.functional.adaptive_max_pool1d`."""

    _functional = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, H, W) input to a fixed ``output_size``; see
    :func:`chainrule.nn.functional.adaptive_max_pool2d`."""

    _functional = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, D, H, W) input to a fixed ``output_size``; see
    :func:`chainrule.nn.functional.adaptive_max_pool3d`."""

    _functional = staticmethod(F.adaptive_max_pool3d)


class _AdaptiveAvgPoolNd(Module):
    _functional: staticmethod

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return self._functional(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average pooling of (N, C, L) input to a fixed ``output_size``; see
    :func:`chainrule.nn.functional.adaptive_avg_pool1d`."""

    _functional = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average pooling of (N, C, H, W) input to a fixed ``output_size`` whatever the input size (1 gives global
    average pooling); see :func:`chainrule.nn.functional.adaptive_avg_pool2d`."""

    _functional = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Average pooling of (N, C, D, H, W) input to a fixed ``output_size``; see
    :func:`chainrule.nn.functional.adaptive_avg_pool3d`."""

    _functional = staticmethod(F.adaptive_avg_pool3d)


class _FractionalMaxPoolNd(Module):
    _functional: staticmethod
    _nd = 0

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
                 _random_samples=None) -> None:
        super().__init__()
        name, nd = type(self).__name__, self._nd
        self.kernel_size = as_tuple(kernel_size, nd, "kernel_size", name)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = as_tuple(output_size, nd, "output_size", name) if output_size is not None else None
        self.output_ratio = (tuple(output_ratio) if isinstance(output_ratio, (tuple, list)) else
                             (output_ratio,) * nd) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: Tensor):
        return self._functional(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                                _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Fractional max pooling of (N, C, H, W) input to ``output_size`` (or ``output_ratio`` of the input size)
    with pseudo-random window steps; see :func:`chainrule.nn.functional.fractional_max_pool2d`.

    Example::

        >>> chainrule.nn.FractionalMaxPool2d(3, output_ratio=0.5)(chainrule.randn(1, 2, 10, 10)).shape
        chainrule.Size([1, 2, 5, 5])
    """

    _functional, _nd = staticmethod(F.fractional_max_pool2d), 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Fractional max pooling of (N, C, D, H, W) input; see :func:`chainrule.nn.functional.fractional_max_pool3d`."""

    _functional, _nd = staticmethod(F.fractional_max_pool3d), 3


class _MaxUnpoolNd(Module):
    _functional: staticmethod
    _nd = 0

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        name, nd = type(self).__name__, self._nd
        self.kernel_size = as_tuple(kernel_size, nd, "kernel_size", name)
        self.stride = as_tuple(stride if stride is not None else kernel_size, nd, "stride", name)
        self.padding = as_tuple(padding, nd, "padding", name)

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        return self._functional(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool1d``: values back at their recorded positions, zeros elsewhere; see
    :func:`chainrule.nn.functional.max_unpool1d`."""

    _functional, _nd = staticmethod(F.max_unpool1d), 1


class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool2d``: values back at their recorded positions, zeros elsewhere; see
    :func:`chainrule.nn.functional.max_unpool2d`."""

    _functional, _nd = staticmethod(F.max_unpool2d), 2


class MaxUnpool3d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool3d``: values back at their recorded positions, zeros elsewhere; see
    :func:`chainrule.nn.functional.max_unpool3d`."""

    _functional, _nd = staticmethod(F.max_unpool3d), 3
