"""``linear`` (the affine map ``x @ W.T + b`` of fully connected layers) and ``bilinear`` (``x1^T A x2 + b``)."""

from __future__ import annotations

from ...ops.linalg import einsum, matmul
from ...tensor import Tensor

__all__ = ["linear", "bilinear"]


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
    shape = tuple(input._data.shape)
    if len(shape) > 2 and weight._data.ndim == 2:
        # NOTE: one (N, in) @ (in, out) product instead of a stack of small ones: NumPy runs a batched matmul as
        # a loop of BLAS calls, and the weight's gradient is then one product too instead of a stack and a sum.
        out = matmul(input.reshape(-1, shape[-1]), weight.t()).reshape(*shape[:-1], weight._data.shape[0])
    else:
        out = matmul(input, weight.t())
    return out if bias is None else out + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``out[..., o] = input1 @ weight[o] @ input2 + bias[o]``: (*, in1), (*, in2) -> (*, out_features).

    ``weight`` is (out_features, in1_features, in2_features) and ``bias`` (out_features); the batch dims of
    the two inputs must be equal.

    Example::

        >>> bilinear(chainrule.ones(4, 2), chainrule.ones(4, 3), chainrule.ones(5, 2, 3)).shape
        chainrule.Size([4, 5])
    """
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"bilinear(): argument '{name}' must be Tensor, not {type(t).__name__}")
    x1, x2, w = (tuple(t._data.shape) for t in (input1, input2, weight))
    if len(w) != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out_features, in1_features, in2_features), got "
                           f"shape {w}")
    if len(x1) != len(x2) or not x1 or x1[:-1] != x2[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got input1 {x1} and input2 {x2}")
    if x1[-1] != w[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {x1[-1]} but expected {w[1]}")
    if x2[-1] != w[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {x2[-1]} but expected {w[2]}")
    if bias is not None and tuple(bias._data.shape) != (w[0],):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {tuple(bias._data.shape)} but "
                           f"expected ({w[0]},)")
    out = einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias
