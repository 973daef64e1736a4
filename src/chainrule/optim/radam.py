"""RAdam: Adam with the variance of its adaptive step size rectified during the first steps."""

from __future__ import annotations

from ..compiler import is_compiling
from ..creation import tensor, zeros_like
from ..ops import where
from ..tensor import Tensor
from .optimizer import Optimizer, check_adam_like, scalar_value

__all__ = ["RAdam", "radam"]


class RAdam(Optimizer):
    """RAdam (Liu et al., 2019), as ``torch.optim.RAdam``.

    With gradient ``g`` at step ``t`` (``-g`` when ``maximize``)::

        g = g + wd * p                      (decoupled_weight_decay: p = p * (1 - lr * wd) instead)
        m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1;   rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        rho_t > 5:  r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                    p = p - lr * m_hat * r * sqrt(1 - beta2**t) / (sqrt(v) + eps)
        otherwise:  p = p - lr * m_hat

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (default 1e-3).
        betas: decay rates of the two running averages (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: weight decay (default 0).
        decoupled_weight_decay: decay the weights directly, as AdamW does (default False).
        foreach, capturable, differentiable: accepted for torch's signature and kept in the groups.
        maximize: ascend the objective instead of descending it.

    Example::

        >>> opt = chainrule.optim.RAdam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        check_adam_like(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def _update_group(self, group: dict) -> None:
        params, grads, states = self._with_state(group, lambda p: dict(step=tensor(0.0), exp_avg=zeros_like(p),
                                                                        exp_avg_sq=zeros_like(p)))
        beta1, beta2 = group["betas"]
        radam(params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
              [s["step"] for s in states], beta1=beta1, beta2=beta2, lr=group["lr"],
              weight_decay=group["weight_decay"], eps=group["eps"],
              decoupled_weight_decay=group["decoupled_weight_decay"], maximize=group["maximize"])


def radam(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor], exp_avg_sqs: list[Tensor],
          state_steps: list[Tensor], *, beta1: float, beta2: float, lr: float, weight_decay: float, eps: float,
          decoupled_weight_decay: bool, maximize: bool) -> None:
    """The RAdam update of each parameter and its state tensors in place (see :class:`RAdam`).

    Call it under ``chainrule.no_grad()``.
    """
    for param, grad, exp_avg, exp_avg_sq, step_t in zip(params, grads, exp_avgs, exp_avg_sqs, state_steps,
                                                        strict=True):
        grad = grad if not maximize else -grad
        step_t.add_(1)
        step = scalar_value(step_t)
        if weight_decay != 0:
            if decoupled_weight_decay:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        bias_corrected_exp_avg = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        plain = bias_corrected_exp_avg * lr
        # NOTE: rho_t < rho_inf, so with rho_inf <= 5 (beta2 <= 2/3) the rectified branch is never taken.
        if rho_inf <= 5.0:
            param.sub_(plain)
        elif is_compiling():
            # NOTE: compiled code cannot branch on the step count: it takes both updates and selects one (the
            # square root's argument, negative while rho_t < 4, is clamped in the branch not taken).
            rectified = _rectified(plain, exp_avg_sq, bias_correction2, eps, rho_inf, rho_t.clamp(min=4.0))
            param.sub_(where(rho_t > 5.0, rectified, plain))
        elif rho_t > 5.0:
            param.sub_(_rectified(plain, exp_avg_sq, bias_correction2, eps, rho_inf, rho_t))
        else:
            param.sub_(plain)

def _rectified(plain: Tensor, exp_avg_sq: Tensor, bias_correction2, eps: float, rho_inf: float, rho_t) -> Tensor:
    """The rectified adaptive update ``lr * m_hat * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r``."""
    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
    return plain * ((bias_correction2 ** 0.5) / exp_avg_sq.sqrt().add_(eps)) * rect
