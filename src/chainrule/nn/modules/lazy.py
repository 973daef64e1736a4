"""Lazy modules: layers whose input size (``in_features``, ``in_channels``, ``num_features``) is read from the
first input, as torch's ``LazyLinear``, ``LazyConv*d``, ``LazyConvTranspose*d``, ``LazyBatchNorm*d`` and
``LazyInstanceNorm*d``; :class:`LazyModuleMixin` is what they share.

Until the first forward their weights are :class:`~chainrule.nn.UninitializedParameter` (their running statistics
:class:`~chainrule.nn.UninitializedBuffer`); a forward pre-hook then materialises them with the inferred shape,
initialises them as the eager layer does, and the module becomes that eager layer (``type(m) is nn.Linear``).
Loading a ``state_dict`` before the first forward materialises them with the saved shapes instead.
"""

from __future__ import annotations

from ... import _dtype, _state, creation
from ...tensor import Tensor
from ..parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from .batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .linear import Linear

__all__ = ["LazyModuleMixin", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
           "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
           "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d", "UninitializedParameter",
           "UninitializedBuffer"]


class LazyModuleMixin:
    """Mixed in before a layer class: ``initialize_parameters(*args, **kwargs)`` (written by each lazy layer)
    runs on the first call, then the hooks are removed and the module becomes ``cls_to_become``.

    Example::

        >>> layer = chainrule.nn.LazyLinear(3)
        >>> layer(chainrule.randn(2, 5)).shape, type(layer).__name__, layer.weight.shape
        (chainrule.Size([2, 3]), 'Linear', chainrule.Size([3, 5]))
    """

    cls_to_become: type | None = None
    _inferred: str  # the attribute read from the first input (0 until then)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # NOTE: the plain function with the module passed in (not a bound method wrapped in a closure) pickles.
        self._load_hook = self._register_load_state_dict_pre_hook(LazyModuleMixin._lazy_load_hook, with_module=True)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters, with_kwargs=True)

    def _members(self):
        return [*self._parameters.items(), *self._buffers.items()]

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        # NOTE: placeholders are saved as themselves (a detached copy would lose what they are), as in torch.
        for name, t in self._members():
            if t is not None and (name in self._parameters or name not in self._non_persistent_buffers_set):
                destination[prefix + name] = t if keep_vars or is_lazy(t) else t.detach()

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                        error_msgs) -> None:
        """Materialise each placeholder with the shape of its saved tensor, so the copy that follows fits."""
        for name, t in self._members():
            value = state_dict.get(prefix + name)
            if is_lazy(t) and isinstance(value, Tensor) and not is_lazy(value):
                t.materialize(value.shape)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs, assign: bool = False) -> None:
        # NOTE: a placeholder saved into a placeholder has nothing to copy (torch skips it likewise); taken out
        # of the dict so the shape comparison never reads a shape that does not exist.
        skipped = [prefix + name for name, t in self._members()
                   if is_lazy(t) and is_lazy(state_dict.get(prefix + name))]
        for key in skipped:
            del state_dict[key]
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs, assign)
        missing_keys[:] = [key for key in missing_keys if key not in skipped]

    def _placeholders(self, bias: bool, device, dtype) -> None:
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        # NOTE: the eager constructor calls this while the inferred size is still 0: nothing to initialise yet.
        if not self.has_uninitialized_params() and getattr(self, self._inferred) != 0:
            super().reset_parameters()

    def initialize_parameters(self, *args, **kwargs) -> None:
        """Materialise and initialise the placeholders from the first input (each lazy layer defines it)."""
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer is still a placeholder."""
        return any(is_lazy(t) for _, t in self._members())

    def _infer_parameters(self, module, args, kwargs=None) -> None:
        with _state.no_grad():
            module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {type(self).__name__} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        del module._initialize_hook, module._load_hook
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become


class LazyLinear(LazyModuleMixin, Linear):
    """A :class:`~chainrule.nn.Linear` whose ``in_features`` is the first input's last size (torch's
    ``LazyLinear``); it becomes a ``Linear`` on the first forward, initialised as one."""

    cls_to_become = Linear
    _inferred = "in_features"

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        # NOTE: built empty (0, 0, no bias) so nothing is allocated that the first input would overwrite.
        super().__init__(0, 0, False)
        self.out_features = out_features
        self._placeholders(bias, device, dtype)

    def initialize_parameters(self, input: Tensor) -> None:
        if self.has_uninitialized_params():
            self.in_features = input._data.shape[-1]
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()


class _LazyConvMixin(LazyModuleMixin):
    """``in_channels`` from the first input's channel dimension (dim 1 of a batch, dim 0 unbatched)."""

    _inferred = "in_channels"

    def initialize_parameters(self, input: Tensor, *args, **kwargs) -> None:
        if not self.has_uninitialized_params():
            return
        self.in_channels = self._in_channels(input)
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        channels = ((self.in_channels, self.out_channels // self.groups) if self.transposed
                    else (self.out_channels, self.in_channels // self.groups))
        self.weight.materialize((*channels, *self.kernel_size))
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()

    def _in_channels(self, input: Tensor) -> int:
        shape = input._data.shape
        if len(shape) not in (self._nd + 1, self._nd + 2):
            raise RuntimeError(f"Expected {self._nd + 1}D (unbatched) or {self._nd + 2}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {list(shape)}")
        return shape[1] if len(shape) == self._nd + 2 else shape[0]


class _LazyConv(_LazyConvMixin):
    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, device=device,
                         dtype=dtype)
        self.out_channels = out_channels
        self._placeholders(bias, device, dtype)


class _LazyConvTranspose(_LazyConvMixin):
    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0, groups: int = 1,
                 bias: bool = True, dilation=1, padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation, padding_mode,
                         device=device, dtype=dtype)
        self.out_channels = out_channels
        self._placeholders(bias, device, dtype)


def _lazy(mixin: type, eager: type, inferred: str) -> type:
    """The lazy form of ``eager`` (named ``Lazy<Eager>`` in this module, so it pickles by name)."""
    name = "Lazy" + eager.__name__
    return type(name, (mixin, eager), {
        "__module__": __name__, "__qualname__": name, "cls_to_become": eager,
        "__doc__": f"A :class:`~chainrule.nn.{eager.__name__}` whose ``{inferred}`` is read from the first input."})


LazyConv1d, LazyConv2d, LazyConv3d = (_lazy(_LazyConv, eager, "in_channels") for eager in (Conv1d, Conv2d, Conv3d))
LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d = (
    _lazy(_LazyConvTranspose, eager, "in_channels") for eager in (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d))


class _LazyNorm(LazyModuleMixin):
    """``num_features`` from the first input's channel dimension; weight/bias and running statistics are
    placeholders until then (``num_batches_tracked`` is a real 0, as in torch)."""

    _inferred = "num_features"

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self._placeholders(bias, device, dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = creation.tensor(0, dtype=_dtype.int64, device=device)

    def initialize_parameters(self, input: Tensor) -> None:
        if not self.has_uninitialized_params():
            return
        self._check_input_dim(input)
        self.num_features = input._data.shape[self._feature_dim(input)]
        for name in ("weight", "bias", "running_mean", "running_var"):
            t = getattr(self, name)
            if t is not None:
                t.materialize((self.num_features,))
        self.reset_parameters()

    def _feature_dim(self, input: Tensor) -> int:
        return 1


class _LazyInstanceNorm(_LazyNorm):
    def __init__(self, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _feature_dim(self, input: Tensor) -> int:
        # NOTE: torch reads dim 1 even of unbatched (C, *) input; the channels are dim 0 there.
        return 0 if input._data.ndim == self._ranks[0] else 1


LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d = (
    _lazy(_LazyNorm, eager, "num_features") for eager in (BatchNorm1d, BatchNorm2d, BatchNorm3d))
LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d = (
    _lazy(_LazyInstanceNorm, eager, "num_features") for eager in (InstanceNorm1d, InstanceNorm2d, InstanceNorm3d))
