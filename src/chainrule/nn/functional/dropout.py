"""``dropout``: zero random elements during training and rescale the rest so the expectation is unchanged."""

from __future__ import annotations

from ..._dtype import float64
from ...creation import rand
from ...ops.arith import where
from ...ops.inplace import apply_inplace
from ...tensor import Tensor

__all__ = ["dropout"]


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p``, scale the rest by ``1 / (1 - p)``; identity if not training.

    The mask is drawn from the default generator (seed it with ``chainrule.manual_seed``).

    Example::

        >>> dropout(chainrule.ones(4), p=0.5, training=False)
        tensor([1., 1., 1., 1.])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout(): argument 'input' must be Tensor, not {type(input).__name__}")
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    # NOTE: drawn with chainrule.rand, so vmap(randomness='different'/'same') controls the masks too.
    keep = rand(input._data.shape, dtype=float64) < 1.0 - p
    scale = where(keep, 1.0 / (1.0 - p) if p < 1.0 else 0.0, 0.0).to(input.dtype)
    return apply_inplace(input, "dropout_", lambda x: x * scale) if inplace else input * scale
