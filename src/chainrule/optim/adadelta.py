"""Adadelta: step sizes from running averages of squared gradients and of squared updates."""

from __future__ import annotations

from ..creation import tensor, zeros_like
from ..tensor import Tensor
from .optimizer import Optimizer, check_lr, check_non_negative, l2_grad

__all__ = ["Adadelta", "adadelta"]


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), as ``torch.optim.Adadelta``.

    With gradient ``g`` (``-g`` when ``maximize``)::

        g = g + wd * p
        v = rho * v + (1 - rho) * g**2                   (square_avg)
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta**2               (acc_delta)
        p = p - lr * delta

    Args:
        params: tensors or parameter groups to optimize.
        lr: scales the update (default 1.0).
        rho: decay rate of the running averages (default 0.9).
        eps: added inside the square roots (default 1e-6).
        weight_decay: L2 penalty (default 0).
        foreach, capturable, differentiable: accepted for torch's signature and kept in the groups.
        maximize: ascend the objective instead of descending it.

    Example::

        >>> opt = chainrule.optim.Adadelta(model.parameters())
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 foreach=None, *, capturable: bool = False, maximize: bool = False, differentiable: bool = False):
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_non_negative("epsilon value", eps)
        check_non_negative("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      capturable=capturable, foreach=foreach, differentiable=differentiable))

    def _update_group(self, group: dict) -> None:
        params, grads, states = self._with_state(group, lambda p: dict(step=tensor(0.0), square_avg=zeros_like(p),
                                                                        acc_delta=zeros_like(p)))
        adadelta(params, grads, [s["square_avg"] for s in states], [s["acc_delta"] for s in states],
                 [s["step"] for s in states], lr=group["lr"], rho=group["rho"], eps=group["eps"],
                 weight_decay=group["weight_decay"], maximize=group["maximize"])


def adadelta(params: list[Tensor], grads: list[Tensor], square_avgs: list[Tensor], acc_deltas: list[Tensor],
             state_steps: list[Tensor], *, lr: float, rho: float, eps: float, weight_decay: float,
             maximize: bool) -> None:
    """The Adadelta update of each parameter and its state tensors in place (see :class:`Adadelta`).

    Call it under ``chainrule.no_grad()``.
    """
    for param, grad, square_avg, acc_delta, step_t in zip(params, grads, square_avgs, acc_deltas, state_steps,
                                                          strict=True):
        step_t.add_(1)
        grad = l2_grad(param, grad, weight_decay, maximize)
        square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
        std = square_avg.add(eps).sqrt_()
        delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad)
        acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        param.add_(delta, alpha=-lr)
