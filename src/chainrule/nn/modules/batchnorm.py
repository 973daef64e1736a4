"""``BatchNorm1d/2d/3d``: batch statistics in training, running statistics in evaluation."""

from __future__ import annotations

from ... import _dtype, _state, creation
from ...distributed import process_group as dist
from ...distributed.nn import functional as dist_F
from ...tensor import Tensor
from .. import functional as F
from .module import Module
from .normalization import affine_parameters, reset_affine

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"]


class NormBase(Module):
    """Shared by the batch and instance norm layers (torch's ``_NormBase``): the affine parameters, the running
    statistics buffers and their reset; subclasses say which input ranks they accept and how they normalise."""

    _version = 2
    _ranks: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        make = dict(dtype=dtype, device=device)
        affine_parameters(self, num_features, affine, bias, dtype, device)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, **make))
            self.register_buffer("running_var", creation.ones(num_features, **make))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=_dtype.int64, device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        reset_affine(self)

    def _check_input_dim(self, input: Tensor) -> None:
        if input._data.ndim not in self._ranks:
            expected = " or ".join(f"{r}D" for r in self._ranks)
            raise ValueError(f"expected {expected} input (got {input._data.ndim}D input)")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs, assign: bool = False) -> None:
        # NOTE: torch fills a missing num_batches_tracked (older checkpoints, dicts without metadata).
        key = prefix + "num_batches_tracked"
        if self.track_running_stats and key not in state_dict:
            state_dict[key] = self.num_batches_tracked
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs, assign)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class _BatchNorm(NormBase):
    """Batch statistics in training (updating the running ones), running statistics in evaluation."""

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = self._momentum_factor()
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch_stats, factor, self.eps)

    def _momentum_factor(self) -> float:
        """The running statistics' update weight for this call; counts the batch in training."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            # NOTE: momentum=None means a cumulative average of all batches seen so far.
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        return factor


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input over the batch (and length) for each of C features.

    Training: ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the batch mean and biased variance;
    ``running_mean``/``running_var`` are updated with ``momentum`` (the variance unbiased). Evaluation
    (``model.eval()``): the running statistics are used instead.

    Example::

        >>> bn = chainrule.nn.BatchNorm1d(3)
        >>> bn(chainrule.randn(8, 3)).shape
        chainrule.Size([8, 3])
    """

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input per channel, over batch and pixels (see BatchNorm1d)."""

    _ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) input per channel, over batch and voxels (see BatchNorm1d)."""

    _ranks = (5,)


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation of (N, C, *) input whose training statistics are those of the whole batch across
    the ranks of ``process_group`` (default: the world), as if one process saw every rank's samples.

    Statistics are combined with differentiable all-reduces (``chainrule.distributed.nn.functional``), so the
    gradient is that of the global batch. Without an initialised process group, or with a single rank, it is
    :class:`BatchNorm1d`/``2d``/``3d``. ``convert_sync_batchnorm`` swaps the batch norm layers of a model.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input._data.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {input._data.ndim}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        if not (use_batch_stats and self.training and dist.is_initialized()
                and dist.get_world_size(self.process_group) > 1):
            return super().forward(input)
        if input.shape[1] != self.num_features:
            raise RuntimeError(f"SyncBatchNorm: expected {self.num_features} channels (dim 1), got input of shape "
                               f"{tuple(input.shape)}")
        factor = self._momentum_factor()
        dims = (0,) + tuple(range(2, input.dim()))
        stat_shape = (1, self.num_features) + (1,) * (input.dim() - 2)
        count = dist_F.all_reduce(creation.tensor(float(input.numel() // self.num_features)), group=self.process_group)
        if count.item() <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
        # NOTE: two passes (global mean, then global squared deviations) rather than E[x^2] - E[x]^2, which
        # cancels badly when the mean is large.
        mean = dist_F.all_reduce(input.sum(dims), group=self.process_group) / count
        centered = input - mean.reshape(stat_shape)
        var = dist_F.all_reduce((centered * centered).sum(dims), group=self.process_group) / count
        if self.track_running_stats:
            with _state.no_grad():
                self.running_mean.mul_(1 - factor).add_(mean.detach() * factor)
                self.running_var.mul_(1 - factor).add_(var.detach() * (count / (count - 1)) * factor)
        out = centered * (var.reshape(stat_shape) + self.eps).rsqrt()
        if self.weight is not None:
            out = out * self.weight.reshape(stat_shape)
        if self.bias is not None:
            out = out + self.bias.reshape(stat_shape)
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every batch norm layer (recursively) replaced by a :class:`SyncBatchNorm` sharing its
        parameters and buffers."""
        output = module
        if isinstance(module, _BatchNorm):
            output = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                         process_group, bias=module.bias is not None)
            if module.affine:
                output.weight = module.weight
                output.bias = module.bias
            output.running_mean = module.running_mean
            output.running_var = module.running_var
            output.num_batches_tracked = module.num_batches_tracked
            output.training = module.training
        for name, child in module.named_children():
            output.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return output

