"""The dropout family: zero random elements (``dropout``, ``alpha_dropout``) or whole channels (``dropout1d/2d/3d``,
``feature_alpha_dropout``) during training, rescaled so the expectation (for the alpha forms: the mean and
variance of SELU activations) is unchanged."""

from __future__ import annotations

import math
import warnings

from ..._dtype import float64
from ...creation import rand
from ...ops.arith import where
from ...ops.inplace import apply_inplace
from ...tensor import Tensor

__all__ = ["dropout", "alpha_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d", "dropout3d"]

# NOTE: SELU's -scale * alpha: the value a dropped unit takes in the alpha forms, SELU's lower saturation.
_SELU_SATURATION = 1.7580993408473766


def _check(op: str, input, p: float) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout(input: Tensor, p: float, training: bool, inplace: bool, op: str, *, channels: int | None = None,
             alpha: bool = False) -> Tensor:
    """Dropout of ``input`` with a keep mask per element, or (``channels``: how many leading dimensions the mask
    spans) per channel, broadcast over the rest; ``alpha``: dropped units take SELU's saturation value and an
    affine map keeps mean 0 and variance 1."""
    if not training or p == 0.0 or input._data.size == 0:
        return input
    shape = input._data.shape
    if channels is not None:
        if len(shape) < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        shape = shape[:channels] + (1,) * (len(shape) - channels)
    shift = None
    if p == 1.0:
        # NOTE: as torch, all is dropped without a draw, to 0 (the alpha forms too, not to the saturation).
        scale = 0.0
    else:
        # NOTE: drawn with chainrule.rand, so vmap(randomness='different'/'same') controls the masks too.
        keep = rand(shape, dtype=float64) < 1.0 - p
        scale = 1.0 / (1.0 - p)
        if alpha:
            scale = 1.0 / math.sqrt((_SELU_SATURATION ** 2 * p + 1) * (1 - p))
            shift = where(keep, _SELU_SATURATION * scale * p, _SELU_SATURATION * scale * (p - 1)).to(input.dtype)
        scale = where(keep, scale, 0.0).to(input.dtype)

    def apply(x):
        return x * scale if shift is None else x * scale + shift
    return apply_inplace(input, op + "_", apply) if inplace else apply(input)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p``, scale the rest by ``1 / (1 - p)``; identity if not training.

    The mask is drawn from the default generator (seed it with ``chainrule.manual_seed``).

    Example::

        >>> dropout(chainrule.ones(4), p=0.5, training=False)
        tensor([1., 1., 1., 1.])
    """
    _check("dropout", input, p)
    return _dropout(input, p, training, inplace, "dropout")


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: each element is dropped with probability ``p`` to SELU's saturation
    ``-1.7581`` and the result mapped by ``a x + b`` so inputs of mean 0 and variance 1 keep them. Note
    ``training=False`` by default, as torch.

    Example::

        >>> alpha_dropout(chainrule.ones(3), 0.5)
        tensor([1., 1., 1.])
    """
    _check("alpha_dropout", input, p)
    return _dropout(input, p, training, inplace, "alpha_dropout", alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """:func:`alpha_dropout` of whole channels: (N, C, *) input, one draw per (sample, channel)."""
    _check("feature_alpha_dropout", input, p)
    return _dropout(input, p, training, inplace, "feature_alpha_dropout", channels=2, alpha=True)


def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool, spatial: int) -> Tensor:
    """dropout{spatial}d: (N, C, *spatial) or unbatched (C, *spatial) input; other ranks as torch (an error for
    1d, a warning for 2d and 3d, which then read the first one or two dimensions as the channels)."""
    op, ndim = f"dropout{spatial}d", input._data.ndim if isinstance(input, Tensor) else None
    _check(op, input, p)
    ranks = (spatial + 1, spatial + 2)
    if ndim not in ranks:
        message = (f"channel-wise dropout on inputs with {spatial} spatial dimension{'s' if spatial > 1 else ''}, "
                   f"a channel dimension, and an optional batch dimension (i.e. {ranks[0]}D or {ranks[1]}D inputs).")
        if spatial == 1:
            raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {ndim}D input. Note that "
                               f"dropout1d exists to provide {message}")
        warnings.warn(f"{op}: Received a {ndim}-D input to {op}, which is deprecated and will result in an error "
                      "in a future release. To retain the behavior and silence this warning, please use dropout "
                      f"instead. Note that {op} exists to provide {message}", stacklevel=4)
    if spatial == 2 and ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please "
                      "switch to using dropout1d instead.", stacklevel=4)
    # NOTE: as torch, dropout2d treats every rank as batched; dropout1d/3d read all but (N, C, *spatial) as
    # unbatched, whose mask then spans only the first dimension.
    batched = spatial == 2 or ndim == spatial + 2
    return _dropout(input, p, training, inplace, op, channels=2 if batched else 1)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p``, scale the rest by
    ``1 / (1 - p)``; identity if not training."""
    return _channel_dropout(input, p, training, inplace, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) input with probability ``p``, scale the rest by ``1 / (1 - p)``;
    identity if not training. As torch, 3-D input is read as (N, C, L) (with a warning)."""
    return _channel_dropout(input, p, training, inplace, 2)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability ``p``, scale the rest by
    ``1 / (1 - p)``; identity if not training."""
    return _channel_dropout(input, p, training, inplace, 3)
