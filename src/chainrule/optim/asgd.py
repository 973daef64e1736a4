"""ASGD: stochastic gradient descent with a decaying step size and a running average of the iterates."""

from __future__ import annotations

from ..compiler import is_compiling
from ..creation import tensor, zeros_like
from ..ops import where
from ..tensor import Tensor
from .optimizer import Optimizer, check_lr, check_non_negative, l2_grad, scalar_value

__all__ = ["ASGD", "asgd"]


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky, 1992), as ``torch.optim.ASGD``.

    With gradient ``g`` at step ``t`` (``-g`` when ``maximize``)::

        g = g + wd * p
        p = p * (1 - lambd * eta) - eta * g
        ax = p  if mu == 1  else  ax + mu * (p - ax)     (the averaged iterate)
        eta = lr / (1 + lambd * lr * t)**alpha
        mu = 1 / max(1, t - t0)

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        lambd: decay term (default 1e-4).
        alpha: power of the step-size decay (default 0.75).
        t0: the step at which averaging starts (default 1e6).
        weight_decay: L2 penalty (default 0).
        foreach, differentiable, capturable: accepted for torch's signature and kept in the groups.
        maximize: ascend the objective instead of descending it.

    ``eta`` and ``mu`` are kept, as in torch, as 0-d tensors of the default dtype; ``eta`` starts at ``lr`` and
    changes only through the rule above (a scheduler changing ``lr`` acts through it).

    Example::

        >>> opt = chainrule.optim.ASGD(model.parameters(), lr=1e-2, t0=100)
    """

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0, foreach=None, maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False):
        check_lr(lr)
        check_non_negative("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update_group(self, group: dict) -> None:
        params, grads, states = self._with_state(group, lambda p: dict(
            step=tensor(0.0), eta=tensor(float(group["lr"])), mu=tensor(1.0), ax=zeros_like(p)))
        asgd(params, grads, [s["ax"] for s in states], [s["mu"] for s in states], [s["eta"] for s in states],
             [s["step"] for s in states], lambd=group["lambd"], lr=group["lr"], t0=group["t0"],
             alpha=group["alpha"], weight_decay=group["weight_decay"], maximize=group["maximize"])


def asgd(params: list[Tensor], grads: list[Tensor], axs: list[Tensor], mus: list[Tensor], etas: list[Tensor],
         state_steps: list[Tensor], *, lambd: float, lr: float, t0: float, alpha: float, weight_decay: float,
         maximize: bool) -> None:
    """The ASGD update of each parameter and its state tensors in place (see :class:`ASGD`).

    Call it under ``chainrule.no_grad()``.
    """
    for param, grad, ax, mu, eta, step_t in zip(params, grads, axs, mus, etas, state_steps, strict=True):
        step_t.add_(1)
        grad = l2_grad(param, grad, weight_decay, maximize)
        eta_value = scalar_value(eta)
        param.mul_(1 - lambd * eta_value)
        param.add_(grad, alpha=-eta_value)
        # NOTE: torch copies p while mu == 1 (ax + (p - ax) is not always p in floating point); a select
        # keeps that without reading mu in Python, so compiled steps take the same path.
        ax.copy_(where(mu == 1, param, ax + param.sub(ax).mul_(mu)))
        step = scalar_value(step_t)
        eta.fill_(lr / ((1 + lambd * lr * step) ** alpha))
        mu.fill_(1 / (step - t0).clamp(min=1.0) if is_compiling() else 1 / max(1.0, step - t0))
