"""NAdam: Adam with Nesterov momentum, and a momentum schedule."""

from __future__ import annotations

from ..creation import tensor, zeros_like
from ..tensor import Tensor
from .optimizer import Optimizer, check_adam_like, check_non_negative, scalar_value

__all__ = ["NAdam", "nadam"]


class NAdam(Optimizer):
    """NAdam (Dozat, 2016), as ``torch.optim.NAdam``.

    With gradient ``g`` at step ``t`` (``-g`` when ``maximize``) and ``psi = momentum_decay``::

        g = g + wd * p                      (decoupled_weight_decay: p = p * (1 - lr * wd) instead)
        mu_t = beta1 * (1 - 0.5 * 0.96**(t * psi)),   mu_{t+1} likewise
        mu_product = mu_product * mu_t
        m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g**2
        denom = sqrt(v / (1 - beta2**t)) + eps
        p = p - lr * (1 - mu_t) / (1 - mu_product) * g / denom
              - lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / denom

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (default 2e-3).
        betas: decay rates of the two running averages (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: weight decay (default 0).
        momentum_decay: ``psi`` above (default 4e-3).
        decoupled_weight_decay: decay the weights directly, as AdamW does (default False).
        foreach, capturable, differentiable: accepted for torch's signature and kept in the groups.
        maximize: ascend the objective instead of descending it.

    ``mu_product`` is kept, as in torch, as a 0-d tensor of the default dtype.

    Example::

        >>> opt = chainrule.optim.NAdam(model.parameters(), lr=2e-3)
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *,
                 foreach=None, maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        check_adam_like(lr, betas, eps, weight_decay)
        check_non_negative("momentum_decay value", momentum_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def _update_group(self, group: dict) -> None:
        params, grads, states = self._with_state(group, lambda p: dict(
            step=tensor(0.0), mu_product=tensor(1.0), exp_avg=zeros_like(p), exp_avg_sq=zeros_like(p)))
        beta1, beta2 = group["betas"]
        nadam(params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
              [s["mu_product"] for s in states], [s["step"] for s in states], beta1=beta1, beta2=beta2,
              lr=group["lr"], weight_decay=group["weight_decay"], momentum_decay=group["momentum_decay"],
              eps=group["eps"], decoupled_weight_decay=group["decoupled_weight_decay"],
              maximize=group["maximize"])


def nadam(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor], exp_avg_sqs: list[Tensor],
          mu_products: list[Tensor], state_steps: list[Tensor], *, beta1: float, beta2: float, lr: float,
          weight_decay: float, momentum_decay: float, eps: float, decoupled_weight_decay: bool,
          maximize: bool) -> None:
    """The NAdam update of each parameter and its state tensors in place (see :class:`NAdam`).

    Call it under ``chainrule.no_grad()``.
    """
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg, exp_avg_sq, mu_product, step_t = exp_avgs[i], exp_avg_sqs[i], mu_products[i], state_steps[i]
        step_t.add_(1)
        step = scalar_value(step_t)
        bias_correction2 = 1 - beta2 ** step
        if weight_decay != 0:
            if decoupled_weight_decay:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        # NOTE: mu is a float64 0-d tensor while compiling; cast it as a Python number is (to mu_product's
        # dtype) so that compiled and eager steps round alike
        mu_product.mul_(mu.to(mu_product.dtype) if isinstance(mu, Tensor) else mu)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = exp_avg_sq.div(bias_correction2).sqrt().add_(eps)
        product = scalar_value(mu_product)
        # NOTE: add_(x / denom, alpha=...) rather than addcdiv_(value=...): a 0-d tensor ``alpha`` (compiled
        # steps) stays an input of the program
        param.add_(grad / denom, alpha=-lr * (1.0 - mu) / (1.0 - product))
        param.add_(exp_avg / denom, alpha=-lr * mu_next / (1.0 - product * mu_next))
