"""Adagrad: per-coordinate step sizes shrinking with the sum of squared past gradients."""

from __future__ import annotations

from ..creation import full_like, tensor
from ..tensor import Tensor
from .optimizer import Optimizer, check_fused, check_lr, check_non_negative, l2_grad, scalar_value

__all__ = ["Adagrad", "adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), as ``torch.optim.Adagrad``.

    With gradient ``g`` at step ``t`` (``-g`` when ``maximize``)::

        g = g + wd * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g**2                        (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay per step (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: starting value of the sum of squares (default 0).
        eps: added to the denominator for numerical stability (default 1e-10).
        foreach, differentiable, fused: accepted for torch's signature and kept in the groups.
        maximize: ascend the objective instead of descending it.

    Example::

        >>> opt = chainrule.optim.Adagrad(model.parameters(), lr=1e-2)
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach=None, *,
                 maximize: bool = False, differentiable: bool = False, fused=None):
        check_lr(lr)
        check_non_negative("lr_decay value", lr_decay)
        check_non_negative("weight_decay value", weight_decay)
        check_non_negative("initial_accumulator_value value", initial_accumulator_value)
        check_non_negative("epsilon value", eps)
        check_fused(foreach, fused, differentiable)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))

    def add_param_group(self, param_group: dict) -> None:
        # NOTE: as in torch, the state exists from the start (not lazily), so a state_dict taken before the
        # first step already holds the accumulators.
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p]["step"] = tensor(0.0)
            self.state[p]["sum"] = full_like(p, group["initial_accumulator_value"])

    def _update_group(self, group: dict) -> None:
        params, grads, states = self._with_grad(group)
        adagrad(params, grads, [s["sum"] for s in states], [s["step"] for s in states], lr=group["lr"],
                weight_decay=group["weight_decay"], lr_decay=group["lr_decay"], eps=group["eps"],
                maximize=group["maximize"])


def adagrad(params: list[Tensor], grads: list[Tensor], state_sums: list[Tensor], state_steps: list[Tensor], *,
            lr: float, weight_decay: float, lr_decay: float, eps: float, maximize: bool) -> None:
    """The Adagrad update of each parameter and its accumulator in place (see :class:`Adagrad`).

    Call it under ``chainrule.no_grad()``.
    """
    for param, grad, state_sum, step_t in zip(params, grads, state_sums, state_steps, strict=True):
        step_t.add_(1)
        step = scalar_value(step_t)
        grad = l2_grad(param, grad, weight_decay, maximize)
        clr = lr / (1 + (step - 1) * lr_decay)
        state_sum.add_(grad * grad)
        std = state_sum.sqrt().add_(eps)
        param.add_(grad / std, alpha=-clr)
