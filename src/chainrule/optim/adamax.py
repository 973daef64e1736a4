"""Adamax: Adam with the infinity norm of past gradients in place of their root mean square."""

from __future__ import annotations

from ..creation import tensor, zeros_like
from ..ops import maximum
from ..tensor import Tensor
from .optimizer import Optimizer, check_adam_like, l2_grad, scalar_value

__all__ = ["Adamax", "adamax"]


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, section 7), as ``torch.optim.Adamax``.

    With gradient ``g`` at step ``t`` (``-g`` when ``maximize``)::

        g = g + wd * p
        m = beta1 * m + (1 - beta1) * g                  (exp_avg)
        u = max(beta2 * u, |g| + eps)                    (exp_inf)
        p = p - lr / (1 - beta1**t) * m / u

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (default 2e-3).
        betas: decay rates of the average and of the infinity norm (default (0.9, 0.999)).
        eps: added to ``|g|`` for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        foreach, differentiable, capturable: accepted for torch's signature and kept in the groups.
        maximize: ascend the objective instead of descending it.

    Example::

        >>> opt = chainrule.optim.Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach=None, *, maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False):
        check_adam_like(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update_group(self, group: dict) -> None:
        params, grads, states = self._with_state(group, lambda p: dict(step=tensor(0.0), exp_avg=zeros_like(p),
                                                                        exp_inf=zeros_like(p)))
        beta1, beta2 = group["betas"]
        adamax(params, grads, [s["exp_avg"] for s in states], [s["exp_inf"] for s in states],
               [s["step"] for s in states], lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
               weight_decay=group["weight_decay"], maximize=group["maximize"])


def adamax(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor], exp_infs: list[Tensor],
           state_steps: list[Tensor], *, lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
           maximize: bool) -> None:
    """The Adamax update of each parameter and its state tensors in place (see :class:`Adamax`).

    Call it under ``chainrule.no_grad()``.
    """
    for param, grad, exp_avg, exp_inf, step_t in zip(params, grads, exp_avgs, exp_infs, state_steps,
                                                     strict=True):
        step_t.add_(1)
        grad = l2_grad(param, grad, weight_decay, maximize)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_inf.copy_(maximum(exp_inf.mul_(beta2), grad.abs().add_(eps)))
        clr = lr / (1 - beta1 ** scalar_value(step_t))
        param.add_(exp_avg / exp_inf, alpha=-clr)
