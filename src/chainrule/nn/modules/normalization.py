"""``LayerNorm``, ``GroupNorm``, ``RMSNorm`` and ``LocalResponseNorm``: per-sample normalisation layers."""

from __future__ import annotations

from ... import creation
from ..._backend import xp
from ...tensor import Tensor, _wrap
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["LayerNorm", "GroupNorm", "RMSNorm", "LocalResponseNorm", "CrossMapLRN2d"]


def affine_parameters(module: Module, shape, affine: bool, bias: bool | None, dtype, device) -> None:
    """Register ``weight`` (and ``bias`` if asked) of ``shape`` when ``affine``, else both as None (torch's
    names, so state_dicts match); ``bias=None``: the layer has no bias at all (RMSNorm). They are initialised
    by :func:`reset_affine`."""
    make = dict(dtype=dtype, device=device)
    module.register_parameter("weight", Parameter(creation.empty(shape, **make)) if affine else None)
    if bias is not None:
        module.register_parameter("bias", Parameter(creation.empty(shape, **make)) if affine and bias else None)


def reset_affine(module: Module) -> None:
    """weight = 1, bias = 0 (where present)."""
    if module.weight is not None:
        init.ones_(module.weight)
    if getattr(module, "bias", None) is not None:
        init.zeros_(module.bias)


class _AffineNorm(Module):
    """A per-sample norm whose only state is its affine parameters (weight 1, bias 0 when reset)."""

    def reset_parameters(self) -> None:
        reset_affine(self)


def _shape(normalized_shape) -> tuple:
    return (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)


class LayerNorm(_AffineNorm):
    """Normalise over the last ``len(normalized_shape)`` dimensions, then scale and shift (weight, bias).

    Statistics are per sample, so training and evaluation behave the same.

    Example::

        >>> chainrule.nn.LayerNorm(10)(chainrule.randn(4, 10)).shape
        chainrule.Size([4, 10])
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        affine_parameters(self, self.normalized_shape, elementwise_affine, bias, dtype, device)
        self.reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(_AffineNorm):
    """Normalise each of ``num_groups`` groups of channels per sample; ``weight``/``bias`` per channel.

    Example::

        >>> chainrule.nn.GroupNorm(2, 4)(chainrule.randn(3, 4, 5)).shape
        chainrule.Size([3, 4, 5])
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        affine_parameters(self, num_channels, affine, bias, dtype, device)
        self.reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(_AffineNorm):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the trailing ``normalized_shape`` dims (no mean removed,
    no bias); ``eps=None`` is the dtype's machine epsilon."""

    def __init__(self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        affine_parameters(self, self.normalized_shape, elementwise_affine, None, dtype, device)
        self.reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    """Divide by ``(k + alpha * mean of x**2 over size neighbouring channels) ** beta``; see
    :func:`chainrule.nn.functional.local_response_norm`."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def _cross_map_window(channels: int, size: int):
    """(C, C) 0/1 matrix: row c marks the channels whose squares torch's legacy running sum adds for c.

    NOTE: torch's CrossMapLRN2d (from Lua torch) slides its window by adding one channel and removing another
    with an off-by-one (it removes only for c > pre_pad), so its windows are not those of LocalResponseNorm;
    replaying that recurrence on indicator rows reproduces them exactly.
    """
    pre_pad = int((size - 1) / 2 + 1)
    window = xp.zeros((channels, channels))
    window[0, :min(pre_pad, channels)] = 1
    for c in range(1, channels):
        window[c] = window[c - 1]
        if c < channels - pre_pad + 1:
            window[c, c + pre_pad - 1] += 1
        if c > pre_pad:
            window[c, c - pre_pad] -= 1
    return window


class CrossMapLRN2d(Module):
    """Torch's legacy cross-channel LRN for (N, C, H, W) input: ``x * (k + alpha / size * window sum of
    x**2) ** -beta``, with the windows of torch's running-sum implementation (see the note above)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
        window = _wrap(_cross_map_window(input.shape[1], self.size).astype(input._data.dtype))
        sums = ((input * input).movedim(1, -1) @ window.T).movedim(-1, 1)
        return input * (sums * (self.alpha / self.size) + self.k) ** -self.beta

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

