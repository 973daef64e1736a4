"""Normalisation in torch's functional form: batch, instance, group, layer, RMS and local response norms,
and ``normalize`` (unit p-norm vectors). Each is a composite of differentiable ops."""

from __future__ import annotations

from ... import _state
from ..._backend import xp
from ...ops._primitive import _write_out
from ...ops.join import pad
from ...ops.reduce import norm
from ...tensor import Tensor, _normalize_dim

__all__ = ["batch_norm", "instance_norm", "group_norm", "layer_norm", "rms_norm", "local_response_norm",
           "normalize"]


def _normalize(x: Tensor, dims: tuple, eps: float) -> tuple:
    """``(x - mean) / sqrt(var + eps)`` over ``dims`` with the biased variance; also returns mean and var."""
    mean = x.mean(dims, keepdim=True)
    centered = x - mean
    var = (centered * centered).mean(dims, keepdim=True)
    return centered * (var + eps).rsqrt(), mean, var


def _check_optional(op: str, name: str, t) -> None:
    if t is not None and not isinstance(t, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor or None, not {type(t).__name__}")


def _check_stat(op: str, name: str, t: Tensor | None, channels: int) -> None:
    _check_optional(op, name, t)
    if t is not None and t._data.size != channels:
        raise RuntimeError(f"{op}: {name} should contain {channels} elements not {t._data.size}")


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
        _check_stat("batch_norm", name, t, channels)
    stat_shape = (1, channels) + (1,) * (input._data.ndim - 2)
    dims = (0,) + tuple(range(2, input._data.ndim))
    if training:
        count = input._data.size // channels
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{input.shape}")
        out, mean, var = _normalize(input, dims, eps)
        _update_running(running_mean, running_var, mean, var, count, momentum, ())
    else:
        out = _with_running_stats("batch_norm", input, running_mean, running_var, stat_shape, eps)
    return _affine(out, weight, bias, stat_shape)


def _update_running(running_mean, running_var, mean: Tensor, var: Tensor, count: int, momentum: float,
                    average_over: tuple) -> None:
    """``running = (1 - momentum) * running + momentum * batch`` for the mean and the *unbiased* variance,
    in place and unrecorded; ``average_over``: the dims of ``mean``/``var`` averaged first (instance norm's
    batch)."""
    with _state.no_grad():
        channels = mean._data.size if not average_over else None
        if running_mean is not None:
            batch_mean = mean.detach().mean(average_over) if average_over else mean.detach().reshape(channels)
            running_mean.mul_(1 - momentum).add_(batch_mean.reshape(running_mean.shape) * momentum)
        if running_var is not None:
            unbiased = var.detach() * (count / (count - 1))
            batch_var = unbiased.mean(average_over) if average_over else unbiased.reshape(channels)
            running_var.mul_(1 - momentum).add_(batch_var.reshape(running_var.shape) * momentum)


def _with_running_stats(op: str, input: Tensor, running_mean, running_var, stat_shape: tuple, eps: float):
    if running_mean is None or running_var is None:
        raise RuntimeError(f"{op}: running_mean and running_var must be given when the input's own statistics are "
                           "not used (training=False / use_input_stats=False)")
    return (input - running_mean.reshape(stat_shape)) * (running_var.reshape(stat_shape) + eps).rsqrt()


def _affine(out: Tensor, weight, bias, shape) -> Tensor:
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _check_input(op: str, input, min_dims: int) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.ndim < min_dims:
        raise ValueError(f"{op}: expected input with at least {min_dims} dimensions (N, C, *), got shape "
                         f"{tuple(input._data.shape)}")


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of each sample of ``input`` (N, C, *) over its spatial dimensions.

    ``use_input_stats=True`` (the default) uses each instance's mean and biased variance and, when given,
    updates ``running_mean``/``running_var`` (C,) with the batch average of the instances' means and unbiased
    variances (weighted by ``momentum``); ``use_input_stats=False`` normalises with the running statistics.
    ``weight`` and ``bias`` (C,) scale and shift the result.

    Example::

        >>> instance_norm(chainrule.randn(2, 3, 8)).mean(-1).abs().max().item() < 1e-6
        True
    """
    _check_input("instance_norm", input, 3)
    channels = input._data.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _check_stat("instance_norm", name, t, channels)
    stat_shape = (1, channels) + (1,) * (input._data.ndim - 2)
    if use_input_stats:
        count = 1
        for size in input._data.shape[2:]:
            count *= size
        if count <= 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input size {input.shape}")
        out, mean, var = _normalize(input, tuple(range(2, input._data.ndim)), eps)
        _update_running(running_mean, running_var, mean.reshape(mean.shape[:2]), var.reshape(var.shape[:2]),
                        count, momentum, (0,))
    else:
        out = _with_running_stats("instance_norm", input, running_mean, running_var, stat_shape, eps)
    return _affine(out, weight, bias, stat_shape)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Split the channels of ``input`` (N, C, *) into ``num_groups`` groups and normalise each group of each
    sample over its channels and spatial dimensions; ``weight`` and ``bias`` (C,) are per channel.

    Example::

        >>> group_norm(chainrule.randn(2, 4, 3), 2).shape
        chainrule.Size([2, 4, 3])
    """
    _check_input("group_norm", input, 2)
    shape = tuple(input._data.shape)
    channels = shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        _check_optional("group_norm", name, t)
        if t is not None and t._data.size != channels:
            raise RuntimeError(f"group_norm: expected {name} to be a vector of size equal to the number of "
                               f"channels in input ({channels}), but got {name} of shape {list(t.shape)}")
    grouped = input.reshape(shape[0], num_groups, -1)
    out, _, _ = _normalize(grouped, (2,), eps)
    return _affine(out.reshape(shape), weight, bias, (1, channels) + (1,) * (len(shape) - 2))


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dimensions of each sample, then scale and shift.

    ``input`` (*, *normalized_shape); ``weight`` and ``bias`` have shape ``normalized_shape``. Uses the
    biased variance, in training and evaluation alike.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"layer_norm(): argument 'input' must be Tensor, not {type(input).__name__}")
    shape = _trailing("layer_norm", input, normalized_shape)
    for name, t in (("weight", weight), ("bias", bias)):
        _check_trailing_param("layer_norm", name, t, shape)
    out, _, _ = _normalize(input, tuple(range(input._data.ndim - len(shape), input._data.ndim)), eps)
    return _affine(out, weight, bias, shape)


def _check_trailing_param(op: str, name: str, t, shape: tuple) -> None:
    _check_optional(op, name, t)
    if t is not None and tuple(t._data.shape) != shape:
        raise RuntimeError(f"{op}: expected {name} of shape {shape}, got {tuple(t._data.shape)}")


def _trailing(op: str, input: Tensor, normalized_shape) -> tuple:
    """``normalized_shape`` as a tuple, checked against the trailing dims of ``input``."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input._data.ndim < k or tuple(input._data.shape[-k:]) != shape:
        raise RuntimeError(f"{op}: Given normalized_shape={list(shape)}, expected input with shape [*, "
                           f"{', '.join(map(str, shape))}], but got input of size {list(input._data.shape)}")
    return shape


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x**2) + eps) * weight`` over the trailing ``normalized_shape`` dimensions.

    ``eps=None`` uses the machine epsilon of ``input``'s dtype (``finfo(dtype).eps``), as torch.

    Example::

        >>> rms_norm(chainrule.tensor([[3.0, 4.0]]), (2,), eps=0.0)  # rms = sqrt(12.5)
        tensor([[0.8485, 1.1314]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"rms_norm(): argument 'input' must be Tensor, not {type(input).__name__}")
    shape = _trailing("rms_norm", input, normalized_shape)
    _check_trailing_param("rms_norm", "weight", weight, shape)
    if eps is None:
        eps = float(xp.finfo(input._data.dtype).eps)
    dims = tuple(range(input._data.ndim - len(shape), input._data.ndim))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """Divide each element of ``input`` (N, C, *) by ``(k + alpha * mean of x**2 over size neighbouring
    channels) ** beta``; the window is centred (``size // 2`` before, ``(size - 1) // 2`` after) and zero-padded,
    and its mean always divides by ``size``, as torch."""
    if not isinstance(input, Tensor):
        raise TypeError(f"local_response_norm(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input._data.ndim} dimensions)")
    if input._data.size == 0:
        return input
    channels = input._data.shape[1]
    # NOTE: channels moved last so pad's trailing-dim padding applies to them.
    square = (input * input).movedim(1, -1)
    padded = pad(square, (size // 2, (size - 1) // 2))
    window = sum(padded.narrow(-1, i, channels) for i in range(size)) / size
    return input / (window.movedim(-1, 1) * alpha + k) ** beta


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``: unit p-norm vectors (zero vectors stay zero).

    ``out``: a tensor to write the result into (torch's rules: no autograd).

    Example::

        >>> normalize(chainrule.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """
    if out is not None:
        return _write_out("normalize", normalize, (input, p, dim, eps), {}, out)
    if not isinstance(input, Tensor):
        raise TypeError(f"normalize(): argument 'input' must be Tensor, not {type(input).__name__}")
    d = _normalize_dim(dim, input._data.ndim, "normalize")
    return input / norm(input, p, d, keepdim=True).clamp(min=eps)

