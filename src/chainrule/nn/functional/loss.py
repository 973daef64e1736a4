"""Loss functions in torch's functional form: regression, classification and divergence losses.

Each takes torch's arguments (including the legacy ``size_average``/``reduce``, mapped to ``reduction``
with torch's warning) and reduces with ``'mean'`` (default), ``'sum'`` or ``'none'``. All are composites of
differentiable ops, so they pass gradcheck and support double backward.
"""

from __future__ import annotations

import warnings

from ... import _dtype, _state
from ..._backend import xp
from ...creation import arange
from ...ops import composites, elementwise
from ...ops.arith import where
from ...tensor import Tensor, _wrap
from .activation import log_softmax

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy", "kl_div", "multi_margin_loss"]


# -- reductions --------------------------------------------------------------------------------------

def legacy_reduction(size_average, reduce) -> str:
    """torch's mapping of the deprecated ``size_average``/``reduce`` flags to a ``reduction`` string."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
                  "instead.",
                  stacklevel=4)
    return reduction


def get_reduction(size_average, reduce, reduction: str) -> str:
    """The effective reduction, validated (a ValueError names the valid ones)."""
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction (expected 'none', 'mean' or 'sum')")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_tensors(op: str, **tensors) -> None:
    for name, t in tensors.items():
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(t).__name__}")


def _warn_broadcast(input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


def _pointwise(op: str, input, target, weight, reduction: str, weight_normalizes: bool,
               elementwise_loss) -> Tensor:
    """Shared body of the pointwise regression losses, with torch's optional elementwise ``weight``.

    NOTE: torch's weighted 'mean' divides by ``weight.sum()`` for mse/l1 but by the element count for huber
    (``weight_normalizes`` says which).
    """
    _check_tensors(op, input=input, target=target, weight=weight)
    _warn_broadcast(input, target)
    loss = elementwise_loss(input - target)
    if weight is None:
        return _reduce(loss, reduction)
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and weight_normalizes:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


# -- regression ----------------------------------------------------------------------------------------

def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Mean squared error ``(input - target)**2`` (any shapes that broadcast; a warning if they differ)."""
    reduction = get_reduction(size_average, reduce, reduction)
    return _pointwise("mse_loss", input, target, weight, reduction, True, lambda d: d * d)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """Mean absolute error ``|input - target|`` (the gradient at 0 is 0)."""
    reduction = get_reduction(size_average, reduce, reduction)
    return _pointwise("l1_loss", input, target, weight, reduction, True, lambda d: d.abs())


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """``0.5 * d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta`` (``d = input - target``)."""
    reduction = get_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta, got {beta}")
    if beta == 0:
        return _pointwise("smooth_l1_loss", input, target, None, reduction, False, lambda d: d.abs())
    return _pointwise("smooth_l1_loss", input, target, None, reduction, False,
                      lambda d: where(d.abs() < beta, 0.5 * d * d / beta, d.abs() - 0.5 * beta))


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """``0.5 * d**2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``; smooth_l1 times delta."""
    reduction = get_reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta, got {delta}")
    return _pointwise("huber_loss", input, target, weight, reduction, False,
                      lambda d: where(d.abs() < delta, 0.5 * d * d, delta * (d.abs() - 0.5 * delta)))


# -- binary classification -------------------------------------------------------------------------

def _clamped_log(x: Tensor) -> Tensor:
    # NOTE: log clamped at -100 as torch does, so p = 0 or 1 gives a finite loss; the inner where keeps
    # log's gradient (1/x) from meeting x = 0, which would turn the zero gradient into nan.
    positive = x > 0
    return where(positive, where(positive, x, 1.0).log().clamp(min=-100.0), -100.0)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """``-(t * log(p) + (1 - t) * log(1 - p))`` for probabilities ``p = input`` in [0, 1].

    The logs are clamped at -100, as in torch, so a saturated probability gives a finite loss.

    ``weight`` rescales each element (it must broadcast to the input). For logits, use the more stable
    :func:`binary_cross_entropy_with_logits`.
    """
    reduction = get_reduction(size_average, reduce, reduction)
    _check_tensors("binary_cross_entropy", input=input, target=target, weight=weight)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size "
                         f"({input.shape}) is deprecated. Please ensure they have the same size.")
    if not _inside_vmap() and ((input._data < 0) | (input._data > 1)).any():
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1 (pass "
                           "logits to binary_cross_entropy_with_logits instead)")
    loss = -(target * _clamped_log(input) + (1 - target) * _clamped_log(1 - input))
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross entropy of ``sigmoid(input)``, computed stably from the logits.

    ``loss = (1 - t) * x + (1 + (pos_weight - 1) * t) * log(1 + exp(-x))``. ``pos_weight`` (broadcast over
    the last dimension, one per class) weighs the positive examples, e.g. ``#neg / #pos`` for imbalance.
    """
    reduction = get_reduction(size_average, reduce, reduction)
    _check_tensors("binary_cross_entropy_with_logits", input=input, target=target, weight=weight,
                   pos_weight=pos_weight)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    # NOTE: softplus(-x) = log(1 + exp(-x)) never overflows; an infinite threshold keeps it exact everywhere.
    log_sigmoid_neg = elementwise.softplus(-input, 1.0, float("inf"))
    if pos_weight is not None:
        log_sigmoid_neg = ((pos_weight - 1) * target + 1) * log_sigmoid_neg
    loss = (1 - target) * input + log_sigmoid_neg
    return _reduce(loss if weight is None else loss * weight, reduction)


# -- multi-class classification ----------------------------------------------------------------------

def _class_dim(input: Tensor, op: str) -> int:
    if input._data.ndim == 0:
        raise ValueError(f"{op}: expected input of shape (C), (N, C) or (N, C, d1, ...), got a 0-d tensor")
    return 0 if input._data.ndim == 1 else 1


def _check_index_target(op: str, input: Tensor, target: Tensor) -> None:
    if target._data.dtype not in (xp.int64, xp.uint8):
        raise RuntimeError(f"{op}: expected target dtype to be Long or Byte (class indices), but got "
                           f"{target.dtype}")
    expected = () if input._data.ndim == 1 else (input._data.shape[0],) + tuple(input._data.shape[2:])
    if tuple(target._data.shape) != expected:
        if input._data.ndim > 1 and (target._data.ndim == 0 or target._data.shape[0] != input._data.shape[0]):
            got = target._data.shape[0] if target._data.ndim else 0
            raise ValueError(f"Expected input batch_size ({input._data.shape[0]}) to match target batch_size "
                             f"({got}).")
        raise RuntimeError(f"{op}: expected target size {list(expected)}, got {list(target._data.shape)}")


def _class_weights(op: str, weight: Tensor | None, classes: int, dtype):
    if weight is None:
        return _wrap(xp.ones(classes, dtype=dtype))
    if not isinstance(weight, Tensor) or tuple(weight._data.shape) != (classes,):
        shape = list(weight._data.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise RuntimeError(f"{op}: weight tensor should be defined either for all {classes} classes or no "
                           f"classes but got weight tensor of shape: {shape}")
    return weight.to(_dtype.from_numpy_dtype(dtype))


def _safe_mean(total: Tensor, count) -> Tensor:
    # NOTE: every target ignored gives 0 / 0 = nan, as in torch; numpy's warning about it is silenced.
    with xp.errstate(invalid="ignore", divide="ignore"):
        if isinstance(count, Tensor):
            return total / count
        return total / _wrap(xp.asarray(count, dtype=total._data.dtype))


def _inside_vmap() -> bool:
    return _state.vmap_level is not None


def _target_terms(op: str, input: Tensor, target: Tensor, weight, ignore_index: int, cdim: int):
    """For class-index targets (N, *): ``input`` at each target class, that class's weight (0 where the
    target is ``ignore_index``) and the mask of targets that count; each of shape (N, *)."""
    classes = input._data.shape[cdim]
    # NOTE: built from ops, not from the target's values, so vmap can batch it (per-sample losses).
    t = target.long()
    valid = t != ignore_index
    if not _inside_vmap():  # inside vmap the values belong to one sample and cannot be inspected
        bad = (((t < 0) | (t >= classes)) & valid)._data
        if bad.any():
            raise IndexError(f"{op}: Target {t._data[bad].reshape(-1)[0]} is out of bounds (classes "
                             f"0..{classes - 1}).")
    # NOTE: a one-hot mask instead of gather keeps every step elementwise, which vmap batches without a loop.
    class_shape = [1] * input._data.ndim
    class_shape[cdim] = classes
    onehot = arange(classes).reshape(class_shape) == where(valid, t, 0).unsqueeze(cdim)
    weights = _class_weights(op, weight, classes, input._data.dtype).reshape(class_shape)
    picked = where(onehot, input, 0.0).sum(cdim)
    return picked, where(onehot, weights, 0.0).sum(cdim) * valid, valid


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log likelihood ``-weight[t] * input[n, t]`` of log-probabilities ``input`` (N, C, *).

    ``target`` (N, *) holds class indices (int64); entries equal to ``ignore_index`` contribute nothing.
    'mean' divides by the total weight of the non-ignored targets (``sum weight[t_n]``), as torch does.
    """
    reduction = get_reduction(size_average, reduce, reduction)
    _check_tensors("nll_loss", input=input, target=target, weight=weight)
    cdim = _class_dim(input, "nll_loss")
    _check_index_target("nll_loss", input, target)
    picked, w, _ = _target_terms("nll_loss", input, target, weight, ignore_index, cdim)
    loss = -picked * w
    if reduction == "mean":
        return _safe_mean(loss.sum(), w.sum())
    return _reduce(loss, reduction)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy of logits ``input`` (N, C, *) and ``target``: ``nll_loss(log_softmax(input), target)``.

    ``target`` is either class indices (N, *) of dtype int64 (with ``ignore_index`` and a weighted mean as in
    :func:`nll_loss`) or class probabilities of ``input``'s shape (float; 'mean' divides by N * d1 * ...).
    ``label_smoothing`` mixes the target with the uniform distribution over the C classes.

    Example::

        >>> logits = chainrule.tensor([[2.0, 0.5, -1.0]])
        >>> round(cross_entropy(logits, chainrule.tensor([0])).item(), 4)
        0.2413
    """
    reduction = get_reduction(size_average, reduce, reduction)
    _check_tensors("cross_entropy", input=input, target=target, weight=weight)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError("cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    cdim = _class_dim(input, "cross_entropy")
    classes = input._data.shape[cdim]
    logp = log_softmax(input, cdim)
    w = _class_weights("cross_entropy", weight, classes, input._data.dtype)
    w_view = w.reshape((classes,) + (1,) * (input._data.ndim - cdim - 1))
    if target._data.dtype.kind == "f":
        if ignore_index >= 0:
            raise RuntimeError("cross_entropy: ignore_index is not supported for floating point target")
        if target.shape != input.shape:
            raise RuntimeError(f"cross_entropy: expected target size {list(input.shape)} (class "
                               f"probabilities), got {list(target.shape)}")
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / classes
        loss = -(logp * target * w_view).sum(cdim)
        if reduction == "mean":
            return _safe_mean(loss.sum(), input._data.size // max(classes, 1))
        return _reduce(loss, reduction)
    _check_index_target("cross_entropy", input, target)
    picked, target_weight, valid = _target_terms("cross_entropy", logp, target, weight, ignore_index, cdim)
    # NOTE: torch's formula: (1 - eps) * nll + eps / C * smooth, where smooth = -sum_c w_c log p_c per
    # sample, zero at ignored targets; 'mean' divides both by the total weight of the counted targets.
    loss = -picked * target_weight
    if label_smoothing > 0:
        smooth = -(logp * w_view).sum(cdim) * valid
        loss = loss * (1 - label_smoothing) + smooth * (label_smoothing / classes)
    if reduction == "mean":
        return _safe_mean(loss.sum(), target_weight.sum())
    return _reduce(loss, reduction)


# -- divergences ---------------------------------------------------------------------------------------

def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence ``target * (log(target) - input)`` with ``input`` log-probabilities.

    ``log_target=True`` means ``target`` holds log-probabilities too. ``reduction='batchmean'`` (sum divided
    by the batch size) gives the true KL divergence; ``'mean'`` divides by every element (torch warns).
    """
    _check_tensors("kl_div", input=input, target=target)
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support "
                      "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
                      "definition.'mean' will be changed to behave the same as 'batchmean' in the next major "
                      "release.",
                      stacklevel=2)
    elif reduction not in ("batchmean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction (expected 'none', 'batchmean', "
                         "'sum' or 'mean')")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # NOTE: xlogy(t, t): 0 where t == 0 (its limit); the inner where keeps log's gradient finite there.
        zero = target == 0
        loss = where(zero, 0.0, target * where(zero, 1.0, target).log()) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input._data.shape[0] if input._data.ndim else total
    return _reduce(loss, reduction)



def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """The multiclass SVM hinge loss ``sum_{j != y} w[y] * max(0, margin - x[y] + x[j])**p / C`` per sample.

    See :func:`chainrule.multi_margin_loss`; this adds torch's legacy ``size_average``/``reduce`` arguments.
    """
    reduction = get_reduction(size_average, reduce, reduction)
    return composites.multi_margin_loss(input, target, p, margin, weight, reduction=reduction)
