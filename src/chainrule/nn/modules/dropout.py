"""The dropout layers: random zeroing during training, identity in evaluation (``Dropout``, the channel-wise
``Dropout1d/2d/3d`` and the SELU-preserving ``AlphaDropout``/``FeatureAlphaDropout``)."""

from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]


class _DropoutNd(Module):
    """``p`` and ``inplace`` checked and kept; ``forward`` calls the family's function in training mode only."""

    _functional = staticmethod(F.dropout)

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return self._functional(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` in training, scale the rest by ``1/(1-p)``; identity in eval.

    Example::

        >>> drop = chainrule.nn.Dropout(0.5).eval()
        >>> drop(chainrule.ones(3))
        tensor([1., 1., 1.])
    """


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p`` in training (see
    :func:`~chainrule.nn.functional.dropout1d`)."""

    _functional = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) input with probability ``p`` in training (see
    :func:`~chainrule.nn.functional.dropout2d`)."""

    _functional = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability ``p`` in training (see
    :func:`~chainrule.nn.functional.dropout3d`)."""

    _functional = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks, keeping mean 0 and variance 1 (see
    :func:`~chainrule.nn.functional.alpha_dropout`); ``inplace`` is accepted and, as torch, not used."""

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """:class:`AlphaDropout` of whole channels (see :func:`~chainrule.nn.functional.feature_alpha_dropout`)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training)
