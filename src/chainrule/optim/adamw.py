"""AdamW: Adam with weight decay applied to the weights rather than added to the gradient."""

from __future__ import annotations

from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``.

    Each step first shrinks every parameter, ``p = p * (1 - lr * weight_decay)``, then takes the Adam step
    without an L2 term in the gradient, so the decay is not rescaled by the adaptive step sizes. Arguments
    as :class:`Adam`; ``weight_decay`` defaults to 1e-2.

    Example::

        >>> opt = chainrule.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False, foreach=None,
                 capturable: bool = False, differentiable: bool = False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict: dict) -> None:
        # NOTE: as in torch, an AdamW stays decoupled whatever dict it loads (an Adam's, say).
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
