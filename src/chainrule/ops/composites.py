"""Ops built from primitives (softmax, log_softmax, the multiclass hinge losses); they need no rules."""

from __future__ import annotations

from .._backend import xp
from ..tensor import Tensor, _normalize_dim, _wrap
from ._primitive import apply, exports, public
from .arith import eq, where
from .elementwise import relu
from .reduce import LogSoftmax, logsumexp, shift_for_exp


def _floating(op: str, input, dim: int, dtype) -> tuple:
    """``input`` (cast to ``dtype`` if given) and ``dim`` as a non-negative axis; refuses integer input."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"{op}: not implemented for {input.dtype} input; pass "
                                  "dtype=chainrule.float32 or convert first, e.g. x.float()")
    return input, _normalize_dim(dim, input._data.ndim, op)


@public(methods=("softmax",))
def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``: each slice becomes a probability distribution (same shape).

    Stable for large logits: softmax of ``[1e4, 0]`` is ``[1, 0]``. ``dtype`` casts the input first.

    Example::

        >>> chainrule.softmax(chainrule.tensor([1.0, 1.0]), 0)
        tensor([0.5, 0.5])
    """
    x, d = _floating("softmax", input, dim, dtype)
    # NOTE: shifting by the max keeps exp from overflowing; it cancels in the ratio, so it is a constant.
    e = (x - shift_for_exp(x, (d,) if x._data.ndim else ())).exp()
    return e / e.sum(d, keepdim=True)


@public(methods=("log_softmax",))
def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: the log of :func:`softmax`, without its underflow (same shape).

    Finite for logits of 1e4 (``log_softmax([1e4, 0]) == [0, -1e4]``), with finite gradients.
    """
    x, d = _floating("log_softmax", input, dim, dtype)
    if x._data.ndim == 0 or x._data.shape[d] == 0:  # NOTE: no slice to reduce over (the primitive needs one)
        return x - logsumexp(x, d, keepdim=True)
    return apply(LogSoftmax, (x,), dim=d)


_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction; use one of "
                         f"{', '.join(_REDUCTIONS)}")


def _hinge_terms(op: str, input, target, margin: float, p: int, weight=None) -> tuple:
    """Per sample (N,): the sum over wrong classes j of ``max(0, margin - x[y] + x[j]) ** p``, and the class
    mask (N, C) of each target."""
    x = _check_margin_inputs(op, input, target, weight)
    n_classes = x._data.shape[-1]
    # NOTE: a one-hot mask picks each sample's target score, so only existing differentiable ops are needed.
    is_target = eq(target.reshape(-1, 1), _wrap(xp.arange(n_classes)))
    target_score = where(is_target, x, 0.0).sum(-1, keepdim=True)
    # NOTE: relu's derivative is 0 at the kink, as torch's (margin - x[y] + x[j] > 0) rule.
    hinge = relu(margin - target_score + x)
    if p == 2:
        hinge = hinge * hinge
    return where(is_target, 0.0, hinge).sum(-1), is_target


def _reduced(losses: Tensor, target: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses.reshape(target._data.shape)


@public()
def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, *, reduction: str = "mean") -> Tensor:
    """The multiclass hinge loss, as ``torch.nn.functional.multi_margin_loss`` (divided by the class count).

    For scores ``x`` of shape ``(C,)`` or ``(N, C)`` and class indices ``y`` (int64, shape ``()`` or
    ``(N,)``), each sample's loss is ``sum over j != y of w[y] * max(0, margin - x[y] + x[j]) ** p / C``.
    ``p`` is 1 or 2; ``weight`` (shape ``(C,)``) weights each sample by its class. ``reduction``:
    ``'mean'`` over the samples (unweighted, as torch), ``'sum'``, or ``'none'`` (the per-sample losses,
    shaped like ``target``). The lecture's loss, without the division by C, is
    :func:`multiclass_svm_loss`.

    Example (the lecture's scores; the hinge terms sum to 2.9, and torch divides by C = 3)::

        >>> chainrule.multi_margin_loss(chainrule.tensor([[3.2, 5.1, -1.7]]), chainrule.tensor([0]))
        tensor(0.9667)
    """
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 supported, got p={p!r}")
    _check_reduction("multi_margin_loss", reduction)
    losses, is_target = _hinge_terms("multi_margin_loss", input, target, margin, p, weight)
    losses = losses / is_target._data.shape[-1]
    if weight is not None:
        losses = losses * where(is_target, weight, 0.0).sum(-1)
    return _reduced(losses, target, reduction)


@public()
def multiclass_svm_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """The lecture's multiclass SVM loss: per sample, ``sum over j != y of max(0, x[j] - x[y] + margin)``.

    ``input`` holds scores ``(C,)`` or ``(N, C)``, ``target`` class indices (int64, ``()`` or ``(N,)``).
    ``reduction='mean'`` averages over the samples, ``'sum'`` adds them, ``'none'`` keeps them (shaped like
    ``target``). Unlike torch's :func:`multi_margin_loss`, the sum is not divided by the class count C.

    Example (the lecture's cat scores: max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9)::

        >>> chainrule.multiclass_svm_loss(chainrule.tensor([[3.2, 5.1, -1.7]]), chainrule.tensor([0]))
        tensor(2.9000)
    """
    _check_reduction("multiclass_svm_loss", reduction)
    losses, _ = _hinge_terms("multiclass_svm_loss", input, target, margin, 1)
    return _reduced(losses, target, reduction)


def _check_margin_inputs(op: str, input, target, weight) -> Tensor:
    """Validate like torch; return the scores as a float ``(N, C)`` matrix."""
    for name, t in (("input", input), ("target", target)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(t).__name__}")
    shape = tuple(input._data.shape)
    if input._data.ndim not in (1, 2) or shape[-1] == 0:
        raise RuntimeError(f"{op}: expected a non-empty vector (C,) or matrix (N, C) of scores, "
                           f"got shape {shape}")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"{op}: not implemented for {input.dtype} scores; convert "
                                  "them first, e.g. x.float()")
    if target._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected target of class indices with an integer dtype "
                           f"(int64), got {target.dtype}; convert with target.long()")
    n = shape[0] if len(shape) == 2 else 1
    if target._data.ndim > 1 or target._data.size != n:
        raise RuntimeError(f"{op}: target tensor should be 1-D with size equal to the number of "
                           f"input samples ({n}); got shape {tuple(target._data.shape)} for input of shape "
                           f"{shape}")
    n_classes = shape[-1]
    bad = (target._data < 0) | (target._data >= n_classes)
    if bad.any():
        raise RuntimeError(f"{op}: target {target._data[bad].reshape(-1)[0]} is out of range for "
                           f"{n_classes} classes (valid: 0 to {n_classes - 1})")
    if weight is not None and (not isinstance(weight, Tensor) or tuple(weight._data.shape) != (n_classes,)):
        got = tuple(weight._data.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise RuntimeError(f"{op}: inconsistent weight size, expected a tensor of shape "
                           f"({n_classes},) but got {got}")
    return input.reshape(n, n_classes)


__all__ = exports(__name__)
