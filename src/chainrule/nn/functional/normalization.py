"""``batch_norm`` and ``layer_norm``: normalise to zero mean and unit variance, then scale and shift."""

from __future__ import annotations

from ... import _state
from ...tensor import Tensor

__all__ = ["batch_norm", "layer_norm"]


def _normalize(x: Tensor, dims: tuple, eps: float) -> tuple:
    """``(x - mean) / sqrt(var + eps)`` over ``dims`` with the biased variance; also returns mean and var."""
    mean = x.mean(dims, keepdim=True)
    centered = x - mean
    var = (centered * centered).mean(dims, keepdim=True)
    return centered * (var + eps).rsqrt(), mean, var


def _check_stat(name: str, t: Tensor | None, channels: int) -> None:
    if t is not None and t._data.size != channels:
        raise RuntimeError(f"batch_norm: {name} should contain {channels} elements not {t._data.size}")


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) of ``input`` (N, C, *) over the batch and spatial dimensions.

    ``training=True`` uses the batch statistics (biased variance) and, when given, updates the running
    statistics in place: ``running = (1 - momentum) * running + momentum * batch`` with the *unbiased* batch
    variance. ``training=False`` normalises with ``running_mean``/``running_var``. ``weight`` and ``bias``
    (C,) scale and shift the result.

    Example::

        >>> x = chainrule.randn(16, 3)
        >>> batch_norm(x, None, None, training=True).mean(0).abs().max().item() < 1e-6
        True
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"batch_norm(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.ndim < 2:
        raise ValueError(f"batch_norm: expected input with at least 2 dimensions (N, C, *), got shape "
                         f"{tuple(input._data.shape)}")
    channels = input._data.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _check_stat(name, t, channels)
    stat_shape = (1, channels) + (1,) * (input._data.ndim - 2)
    dims = (0,) + tuple(range(2, input._data.ndim))
    if training:
        count = input._data.size // channels
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{input.shape}")
        out, mean, var = _normalize(input, dims, eps)
        with _state.no_grad():
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(mean.detach().reshape(channels) * momentum)
            if running_var is not None:
                unbiased = var.detach().reshape(channels) * (count / (count - 1))
                running_var.mul_(1 - momentum).add_(unbiased * momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be given when training=False")
        out = (input - running_mean.reshape(stat_shape)) * (running_var.reshape(stat_shape) + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(stat_shape)
    if bias is not None:
        out = out + bias.reshape(stat_shape)
    return out


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dimensions of each sample, then scale and shift.

    ``input`` (*, *normalized_shape); ``weight`` and ``bias`` have shape ``normalized_shape``. Uses the
    biased variance, in training and evaluation alike.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"layer_norm(): argument 'input' must be Tensor, not {type(input).__name__}")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input._data.ndim < k or tuple(input._data.shape[-k:]) != shape:
        raise RuntimeError(f"layer_norm: given normalized_shape={list(shape)}, expected input with shape [*, "
                           f"{', '.join(map(str, shape))}], but got input of size {list(input._data.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t._data.shape) != shape:
            raise RuntimeError(f"layer_norm: expected {name} of shape {shape}, got {tuple(t._data.shape)}")
    out, _, _ = _normalize(input, tuple(range(input._data.ndim - k, input._data.ndim)), eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out
