"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from ..creation import tensor, zeros_like
from ..tensor import Tensor
from .optimizer import Optimizer, check_lr, check_non_negative, l2_grad

__all__ = ["RMSprop", "rmsprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), as ``torch.optim.RMSprop``.

    With gradient ``g`` (``-g`` when ``maximize``)::

        g = g + wd * p
        v = alpha * v + (1 - alpha) * g**2
        centered:  m = alpha * m + (1 - alpha) * g;   avg = sqrt(v - m**2) + eps
        otherwise: avg = sqrt(v) + eps
        momentum:  b = momentum * b + g / avg;   p = p - lr * b
        otherwise: p = p - lr * g / avg

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant of the running average (default 0.99).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalise by an estimate of the gradient's variance instead of its second moment.
        capturable, foreach, differentiable: accepted for torch's signature and kept in the groups.
        maximize: ascend the objective instead of descending it.

    Example::

        >>> opt = chainrule.optim.RMSprop(model.parameters(), lr=1e-2)
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach=None, maximize: bool = False, differentiable: bool = False):
        check_lr(lr)
        check_non_negative("epsilon value", eps)
        check_non_negative("momentum value", momentum)
        check_non_negative("weight_decay value", weight_decay)
        check_non_negative("alpha value", alpha)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    def _update_group(self, group: dict) -> None:
        params, grads, states = self._with_state(group, lambda p: dict(
            step=tensor(0.0), square_avg=zeros_like(p),
            **({"momentum_buffer": zeros_like(p)} if group["momentum"] > 0 else {}),
            **({"grad_avg": zeros_like(p)} if group["centered"] else {})))
        rmsprop(params, grads, [s["square_avg"] for s in states], [s.get("grad_avg") for s in states],
                [s.get("momentum_buffer") for s in states], [s["step"] for s in states], lr=group["lr"],
                alpha=group["alpha"], eps=group["eps"], weight_decay=group["weight_decay"],
                momentum=group["momentum"], centered=group["centered"], maximize=group["maximize"])


def rmsprop(params: list[Tensor], grads: list[Tensor], square_avgs: list[Tensor], grad_avgs: list,
            momentum_buffer_list: list, state_steps: list[Tensor], *, lr: float, alpha: float, eps: float,
            weight_decay: float, momentum: float, centered: bool, maximize: bool) -> None:
    """The RMSprop update of each parameter and its state tensors in place (see :class:`RMSprop`).

    Call it under ``chainrule.no_grad()``.
    """
    for i, param in enumerate(params):
        grad = l2_grad(param, grads[i], weight_decay, maximize)
        square_avg = square_avgs[i]
        state_steps[i].add_(1)
        square_avg.mul_(alpha).add_(grad * grad, alpha=1 - alpha)
        if centered:
            grad_avg = grad_avgs[i]
            grad_avg.add_(grad - grad_avg, alpha=1 - alpha)
            avg = square_avg.sub(grad_avg * grad_avg).sqrt_()
        else:
            avg = square_avg.sqrt()
        avg = avg.add_(eps)
        if momentum > 0:
            buf = momentum_buffer_list[i]
            buf.mul_(momentum).add_(grad / avg)
            param.add_(buf, alpha=-lr)
        else:
            param.add_(grad / avg, alpha=-lr)
