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
    if weight.data.ndim not in (1, 2):
        raise RuntimeError(f"linear: weight must be 1-D or 2-D (out_features, in_features), got shape "
                           f"{tuple(weight.data.shape)}")
    if input.data.ndim == 0 or input.data.shape[-1] != weight.data.shape[-1]:
        raise RuntimeError(f"linear: input of shape {tuple(input.data.shape)} cannot be multiplied with "
                           f"weight of shape {tuple(weight.data.shape)}; the input's last dimension must be "
                           f"in_features={weight.data.shape[-1]}")
    out = matmul(input, weight.t())
    return out if bias is None else out + bias
