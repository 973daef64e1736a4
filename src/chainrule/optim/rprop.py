"""Rprop: per-coordinate step sizes grown or shrunk by the sign agreement of successive gradients."""

from __future__ import annotations

from ..creation import full_like, ones_like, tensor, zeros_like
from ..ops import where
from ..tensor import Tensor
from .optimizer import Optimizer, check_lr

__all__ = ["Rprop", "rprop"]


class Rprop(Optimizer):
    """Resilient backpropagation (Riedmiller & Braun, 1993), as ``torch.optim.Rprop``.

    With gradient ``g`` (``-g`` when ``maximize``), previous gradient ``prev`` and per-coordinate step ``s``
    (``step_size``, starting at ``lr``)::

        f = eta_plus if g * prev > 0,  eta_minus if g * prev < 0,  1 otherwise
        s = clamp(s * f, step_size_min, step_size_max)
        g = 0 where g * prev < 0            (a sign change: skip this coordinate once)
        p = p - sign(g) * s
        prev = g

    Args:
        params: tensors or parameter groups to optimize.
        lr: the initial step size (default 1e-2).
        etas: ``(eta_minus, eta_plus)``, the factors shrinking and growing the steps (default (0.5, 1.2)).
        step_sizes: ``(step_size_min, step_size_max)`` (default (1e-6, 50)).
        capturable, foreach, differentiable: accepted for torch's signature and kept in the groups.
        maximize: ascend the objective instead of descending it.

    Example::

        >>> opt = chainrule.optim.Rprop(model.parameters(), lr=1e-2)
    """

    def __init__(self, params, lr: float = 1e-2, etas: tuple = (0.5, 1.2), step_sizes: tuple = (1e-6, 50), *,
                 capturable: bool = False, foreach=None, maximize: bool = False, differentiable: bool = False):
        check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))

    def _update_group(self, group: dict) -> None:
        params, grads, states = self._with_state(group, lambda p: dict(
            step=tensor(0.0), prev=zeros_like(p), step_size=full_like(p, float(group["lr"]))))
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        rprop(params, grads, [s["prev"] for s in states], [s["step_size"] for s in states],
              [s["step"] for s in states], step_size_min=step_size_min, step_size_max=step_size_max,
              etaminus=etaminus, etaplus=etaplus, maximize=group["maximize"])


def rprop(params: list[Tensor], grads: list[Tensor], prevs: list[Tensor], step_sizes: list[Tensor],
          state_steps: list[Tensor], *, step_size_min: float, step_size_max: float, etaminus: float,
          etaplus: float, maximize: bool) -> None:
    """The Rprop update of each parameter and its state tensors in place (see :class:`Rprop`).

    Call it under ``chainrule.no_grad()``.
    """
    for param, grad, prev, step_size, step_t in zip(params, grads, prevs, step_sizes, state_steps, strict=True):
        grad = grad if not maximize else -grad
        step_t.add_(1)
        sign = grad.mul(prev).sign()
        factor = where(sign > 0, etaplus, where(sign < 0, etaminus, ones_like(sign)))
        step_size.mul_(factor).clamp_(step_size_min, step_size_max)
        grad = where(sign < 0, 0.0, grad)
        param.addcmul_(grad.sign(), step_size, value=-1)
        prev.copy_(grad)
