"""Flatten parameters into one vector and back (for line searches, second-order methods, ...)."""

from __future__ import annotations

from ...ops.join import cat
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters) -> Tensor:
    """All ``parameters`` flattened and concatenated into one 1-D tensor (differentiable, as in torch)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Make each parameter's data the matching slice of the 1-D ``vec`` (they share memory afterwards)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected chainrule.Tensor, but got: {type(vec).__name__}")
    parameters = list(parameters)
    total = sum(p.numel() for p in parameters)
    if vec._data.ndim != 1 or vec._data.size != total:
        raise RuntimeError(f"vector_to_parameters: expected a 1-D vector of {total} elements, got shape "
                           f"{tuple(vec._data.shape)}")
    start = 0
    for p in parameters:
        n = p.numel()
        p._data = vec._data[start:start + n].reshape(p._data.shape).astype(p._data.dtype, copy=False)
        start += n
