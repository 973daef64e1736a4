"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from ..tensor import Tensor
from .optimizer import Optimizer, check_fused, check_lr, check_non_negative, l2_grad

__all__ = ["SGD", "sgd"]


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    With gradient ``g`` of parameter ``p`` (``-g`` when ``maximize``), weight decay ``wd``, momentum ``mu``
    and dampening ``tau``, each step does::

        g = g + wd * p
        b = g  (first step)   or   b = mu * b + (1 - tau) * g
        g = g + mu * b  (nesterov)   or   g = b  (momentum)
        p = p - lr * g

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: ascend the objective instead of descending it.
        foreach, differentiable, fused: accepted for torch's signature and kept in the groups; every
            implementation is the same loop here (``differentiable`` does not record the update).

    Example::

        >>> opt = chainrule.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False, foreach=None,
                 differentiable: bool = False, fused=None):
        check_lr(lr)
        check_non_negative("momentum value", momentum)
        check_non_negative("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        check_fused(foreach, fused, differentiable)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                                      foreach=foreach, differentiable=differentiable, fused=fused))

    def _update_group(self, group: dict) -> None:
        params, grads, states = self._with_grad(group)
        buffers = [state.get("momentum_buffer") for state in states]
        sgd(params, grads, buffers, weight_decay=group["weight_decay"], momentum=group["momentum"],
            lr=group["lr"], dampening=group["dampening"], nesterov=group["nesterov"],
            maximize=group["maximize"])
        if group["momentum"] != 0:
            for state, buf in zip(states, buffers, strict=True):
                state["momentum_buffer"] = buf


def sgd(params: list[Tensor], grads: list[Tensor], momentum_buffer_list: list, *, weight_decay: float,
        momentum: float, lr: float, dampening: float, nesterov: bool, maximize: bool) -> None:
    """The SGD update of each parameter in place (see :class:`SGD`); fills new momentum buffers into the list.

    Call it under ``chainrule.no_grad()``.
    """
    for i, param in enumerate(params):
        grad = l2_grad(param, grads[i], weight_decay, maximize)
        if momentum != 0:
            buf = momentum_buffer_list[i]
            if buf is None:
                buf = grad.detach().clone()
                momentum_buffer_list[i] = buf
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - dampening)
            grad = grad.add(buf, alpha=momentum) if nesterov else buf
        param.add_(grad, alpha=-lr)
