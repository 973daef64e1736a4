"""Gradient clipping: rescale gradients by their total norm, or clamp each entry."""

from __future__ import annotations

import math

from ... import _state
from ..._backend import xp
from ...tensor import Tensor, _wrap

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Scale all gradients together so that their joint ``norm_type``-norm is at most ``max_norm``; in place.

    The norm is taken over all gradients as if concatenated into one vector (``norm_type`` may be ``inf``).
    Gradients are multiplied by ``min(1, max_norm / (total_norm + 1e-6))``. Returns the total norm before
    clipping (useful to log). A non-finite norm raises when ``error_if_nonfinite``.

    Example::

        >>> w = chainrule.nn.Parameter(chainrule.zeros(2)); w.grad = chainrule.tensor([3., 4.])
        >>> clip_grad_norm_([w], 1.0)
        tensor(5.)
        >>> w.grad
        tensor([0.6, 0.8])
    """
    grads = _grads(parameters)
    if not grads:
        return _wrap(xp.asarray(0.0, dtype=xp.float32))
    norm_type = float(norm_type)
    norms = xp.asarray([xp.linalg.norm(g._data.reshape(-1), ord=norm_type) for g in grads])
    total = xp.linalg.norm(norms, ord=norm_type).astype(grads[0]._data.dtype)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped. To disable this error and scale the "
                           "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    with _state.no_grad():
        for g in grads:
            g.mul_(coef)
    return _wrap(total)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient entry to ``[-clip_value, clip_value]``, in place."""
    clip_value = float(clip_value)
    with _state.no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)
