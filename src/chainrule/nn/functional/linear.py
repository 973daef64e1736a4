"""``linear``: the affine map ``x @ W.T + b`` of fully connected layers."""

from __future__ import annotations

from ...ops.linalg import matmul
from ...tensor import Tensor

__all__ = ["linear"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``: (*, in_features) -> (*, out_features).

    ``weight`` is (out_features, in_features) and ``bias`` (out_features).

    Example::

        >>> linear(chainrule.ones(4, 3), chainrule.ones(2, 3)).shape
        chainrule.Size([4, 2])
    """
    for name, t in (("input", input), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"linear(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if weight._data.ndim not in (1, 2):
        raise RuntimeError(f"linear: weight must be 1-D or 2-D (out_features, in_features), got shape "
                           f"{tuple(weight._data.shape)}")
    if input._data.ndim == 0 or input._data.shape[-1] != weight._data.shape[-1]:
        raise RuntimeError(f"linear: input of shape {tuple(input._data.shape)} cannot be multiplied with "
                           f"weight of shape {tuple(weight._data.shape)}; the input's last dimension must be "
                           f"in_features={weight._data.shape[-1]}")
    out = matmul(input, weight.t())
    return out if bias is None else out + bias
