"""Loss functions in torch's functional form: regression, classification and divergence losses.

Each takes torch's arguments (including the legacy ``size_average``/``reduce``, mapped to ``reduction``
with torch's warning) and reduces with ``'mean'`` (default), ``'sum'`` or ``'none'``. All are composites of
differentiable ops, so they pass gradcheck and support double backward.
"""

from __future__ import annotations

import math
import warnings

from ... import _dtype, _state
from ..._backend import xp
from ...compiler import is_compiling
from ...creation import arange, full_like
from ...ops import composites, elementwise
from ...ops._primitive import apply
from ...ops.arith import maximum, minimum, where
from ...ops.indexing import Nll
from ...ops.join import pad
from ...ops.shape import int_arg
from ...tensor import Tensor, _wrap
from .activation import log_softmax, logsigmoid
from .distance import clamp_min_value, pairwise_distance
from .linear import linear

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy", "kl_div", "multi_margin_loss",
           "multiclass_svm_loss", "poisson_nll_loss", "gaussian_nll_loss", "soft_margin_loss",
           "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss",
           "triplet_margin_with_distance_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
           "ctc_loss", "linear_cross_entropy"]


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


def _picks(op: str, input: Tensor, t: Tensor, ignore: int, cdim: int, reduction: str) -> Tensor:
    """``-input[n, t[n], ...]`` along ``cdim`` (0 where ``t`` is ``ignore``), reduced as nll_loss."""
    try:
        # NOTE: one primitive reading each target's class (a tensor input: vmap batches it, a compiled step reads
        # each call's targets); it checks the targets' range, so compiled and vmapped losses check it too.
        return apply(Nll, (input, t), dim=cdim, ignore_index=ignore, reduction=reduction)
    except IndexError as e:
        raise IndexError(f"{op}: {e}") from None


def _reads_classes() -> bool:
    """Whether class-index losses read each target's class with the ``nll`` primitive: while compiling (the
    program then reads each call's targets, in two lines instead of a one-hot chain) and inside vmap (it
    batches them). NOTE: eager graphs keep the one-hot composite, whose structure chainrule.viz recognises as
    the cross_entropy and nll_loss gates (explain, draw); both give the same values (tests/nn/test_loss_gather.py
    compares them bit for bit)."""
    return _inside_vmap() or is_compiling()


def _weighted_terms(op: str, input: Tensor, t: Tensor, weight, ignore: int, cdim: int) -> tuple:
    """For class-index targets ``t`` (N, *): ``-weight[t] * input[n, t]`` and ``weight[t]`` (1 without
    ``weight``), both 0 where the target is ``ignore``; each of shape (N, *)."""
    classes = input._data.shape[cdim]
    class_shape = [1] * input._data.ndim
    class_shape[cdim] = classes
    if not _reads_classes():
        return _target_terms(op, input, t, weight, ignore, cdim, class_shape)
    picked = _picks(op, input, t, ignore, cdim, "none")
    if weight is None:
        return picked, (t != ignore).to(input.dtype)
    weights = _class_weights(op, weight, classes, input._data.dtype).reshape(class_shape)
    target_weight = -apply(Nll, (weights.expand(input._data.shape), t), dim=cdim, ignore_index=ignore,
                           reduction="none")
    return picked * target_weight, target_weight


def _target_terms(op: str, input: Tensor, t: Tensor, weight, ignore: int, cdim: int, class_shape: list) -> tuple:
    """:func:`_weighted_terms` as elementwise ops on a one-hot mask of the targets (eager graphs)."""
    classes = class_shape[cdim]
    valid = t != ignore
    bad = (((t < 0) | (t >= classes)) & valid)._data
    if bad.any():
        raise IndexError(f"{op}: Target {t._data[bad].reshape(-1)[0]} is out of bounds (classes "
                         f"0..{classes - 1}).")
    onehot = arange(classes).reshape(class_shape) == where(valid, t, 0).unsqueeze(cdim)
    weights = _class_weights(op, weight, classes, input._data.dtype).reshape(class_shape)
    target_weight = where(onehot, weights, 0.0).sum(cdim) * valid
    return -where(onehot, input, 0.0).sum(cdim) * target_weight, target_weight


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
    t, ignore = target.long(), int_arg(ignore_index, "nll_loss", "ignore_index")
    if weight is None and _reads_classes():
        return _picks("nll_loss", input, t, ignore, cdim, reduction)
    loss, target_weight = _weighted_terms("nll_loss", input, t, weight, ignore, cdim)
    if reduction == "mean":
        return _safe_mean(loss.sum(), target_weight.sum())
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
    t, ignore = target.long(), int_arg(ignore_index, "cross_entropy", "ignore_index")
    if weight is None and label_smoothing == 0 and _reads_classes():
        return _picks("cross_entropy", logp, t, ignore, cdim, reduction)
    loss, target_weight = _weighted_terms("cross_entropy", logp, t, weight, ignore, cdim)
    # NOTE: torch's formula: (1 - eps) * nll + eps / C * smooth, where smooth = -sum_c w_c log p_c per
    # sample, zero at ignored targets; 'mean' divides both by the total weight of the counted targets.
    if label_smoothing > 0:
        smooth = -(logp * w_view).sum(cdim) * (t != ignore)
        loss = loss * (1 - label_smoothing) + smooth * (label_smoothing / classes)
    if reduction == "mean":
        return _safe_mean(loss.sum(), target_weight.sum())
    return _reduce(loss, reduction)


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *, linear_bias: Tensor | None = None,
                         weight: Tensor | None = None, reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options=None) -> Tensor:
    """:func:`cross_entropy` of the logits ``linear(input, linear_weight, linear_bias)``.

    ``input`` (N, in) or (in,); ``linear_weight`` (C, *out_features, in) gives logits (N, C, *out_features)
    (a K-dimensional loss); ``ignore_index=None`` ignores nothing. ``options`` (torch's chunked, memory-saving
    path) is accepted and the reference computation is used: the values are the same.
    """
    _check_tensors("linear_cross_entropy", input=input, linear_weight=linear_weight, target=target,
                   linear_bias=linear_bias, weight=weight)
    if not 1 <= input._data.ndim <= 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input._data.ndim}")
    if linear_weight._data.ndim < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got {linear_weight._data.ndim}")
    batches, in_features = tuple(input._data.shape[:-1]), input._data.shape[-1]
    if in_features != linear_weight._data.shape[-1]:
        raise RuntimeError(f"expected equal input and linear_weight last dimensions (in_features), got "
                           f"{in_features} and {linear_weight._data.shape[-1]}, respectively")
    classes, out_features = linear_weight._data.shape[0], tuple(linear_weight._data.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias._data.shape) != (classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(classes, *out_features)}, got "
                           f"{tuple(linear_bias._data.shape)}")
    if out_features and not batches:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires "
                           f"batched input, (N, {in_features}), got unbatched input with shape {tuple(input.shape)}")
    logits_shape = (*batches, classes, *out_features)
    if tuple(target._data.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    flat = linear_weight.reshape(-1, in_features)
    logits = linear(input, flat, None if linear_bias is None else linear_bias.reshape(-1)).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction,
                         ignore_index=-100 if ignore_index is None else ignore_index, label_smoothing=label_smoothing)


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


def multiclass_svm_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """The lecture's multiclass SVM loss ``sum_{j != y} max(0, x[j] - x[y] + margin)`` per sample, averaged
    over the samples: :func:`multi_margin_loss` without its division by the class count.

    See :func:`chainrule.multiclass_svm_loss`.
    """
    return composites.multiclass_svm_loss(input, target, margin, reduction)


# -- regression with a distribution ---------------------------------------------------------------------

def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log likelihood of ``target`` under a Poisson distribution of rate ``input``.

    ``log_input=True``: ``exp(input) - target * input`` (``input`` is the log-rate); otherwise
    ``input - target * log(input + eps)``. ``full`` adds Stirling's approximation of ``log(target!)``,
    ``target * log(target) - target + 0.5 * log(2 pi target)``, where ``target > 1``.
    """
    reduction = get_reduction(size_average, reduce, reduction)
    _check_tensors("poisson_nll_loss", input=input, target=target)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        # NOTE: the inner where keeps log's gradient finite where the term is masked out (target <= 1).
        counted = target > 1
        safe = where(counted, target, 2.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + where(counted, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Negative log likelihood of ``target`` under a normal distribution of mean ``input`` and variance ``var``.

    ``loss = 0.5 * (log(max(var, eps)) + (input - target)**2 / max(var, eps))`` (+ ``0.5 * log(2 pi)`` if
    ``full``). ``var`` has ``input``'s shape, or one dimension fewer, or a last dimension of 1 (one variance
    shared by the last dimension), or is a float. As torch, the clamp at ``eps`` has no gradient.
    """
    _check_tensors("gaussian_nll_loss", input=input, target=target)
    if not isinstance(var, Tensor):
        var = full_like(input, float(var))
    in_shape, var_shape = tuple(input._data.shape), tuple(var._data.shape)
    if var_shape != in_shape:
        if in_shape[:-1] == var_shape:
            var = var.unsqueeze(-1)
        elif not (in_shape[:-1] == var_shape[:-1] and var_shape and var_shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if not _inside_vmap() and bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    var = clamp_min_value(var, eps)
    diff = input - target
    loss = 0.5 * (var.log() + diff * diff / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# -- margin losses -----------------------------------------------------------------------------------------

def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """The two-class logistic loss ``log(1 + exp(-target * input))`` for targets in {1, -1}."""
    reduction = get_reduction(size_average, reduce, reduction)
    _check_tensors("soft_margin_loss", input=input, target=target)
    return _reduce(-logsigmoid(target * input), reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``: ``target`` 1 means input1 should rank higher, -1 lower."""
    reduction = get_reduction(size_average, reduce, reduction)
    _check_tensors("margin_ranking_loss", input1=input1, input2=input2, target=target)
    if not input1._data.ndim == input2._data.ndim == target._data.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} ")
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0.0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target == -1`` (for distances
    ``input``: similar pairs are pulled together, dissimilar ones pushed beyond ``margin``)."""
    reduction = get_reduction(size_average, reduce, reduction)
    _check_tensors("hinge_embedding_loss", input=input, target=target)
    # NOTE: torch's formula: both terms where target is neither 1 nor -1.
    loss = where(target != 1, (margin - input).clamp(min=0.0), 0.0) + where(target != -1, input, 0.0)
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where ``target == -1``.

    ``input1``, ``input2``: (N, D) with ``target`` (N,), or (D,) with a 0-d ``target``. The cosine is
    ``x1 . x2 / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12))``, as torch.
    """
    reduction = get_reduction(size_average, reduce, reduction)
    _check_tensors("cosine_embedding_loss", input1=input1, input2=input2, target=target)
    t_dim = target._data.ndim
    if t_dim > 1 or not input1._data.ndim == input2._data.ndim == t_dim + 1:
        raise RuntimeError(f"{t_dim}D target tensor expects {t_dim + 1}D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    eps = 1e-12
    dot = (input1 * input2).sum(-1)
    cos = dot / (((input1 * input1).sum(-1) + eps) * ((input2 * input2).sum(-1) + eps)).sqrt()
    loss = where(target == 1, 1 - cos, 0.0) + where(target == -1, (cos - margin).clamp(min=0.0), 0.0)
    return _reduce(loss, reduction)


def _triplet(op: str, anchor, positive, negative, distance, margin: float, swap: bool, reduction: str) -> Tensor:
    _check_tensors(op, anchor=anchor, positive=positive, negative=negative)
    dims = (anchor._data.ndim, positive._data.ndim, negative._data.ndim)
    if len(set(dims)) != 1:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative "
                           f"{dims[2]}D inputs")
    dist_pos = distance(anchor, positive)
    dist_neg = distance(anchor, negative)
    if swap:
        dist_neg = minimum(dist_neg, distance(positive, negative))
    return _reduce((margin + dist_pos - dist_neg).clamp(min=0.0), reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(a, p) - d(a, n))`` with ``d`` :func:`pairwise_distance` (p-norm, ``eps``).

    ``swap=True`` uses ``min(d(a, n), d(p, n))`` as the negative distance (the distance swap).
    """
    reduction = get_reduction(size_average, reduce, reduction)
    return _triplet("triplet_margin_loss", anchor, positive, negative,
                    lambda x1, x2: pairwise_distance(x1, x2, p, eps), margin, swap, reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    """:func:`triplet_margin_loss` with any ``distance_function(x1, x2)`` (default :func:`pairwise_distance`)."""
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    reduction = get_reduction(None, None, reduction)
    return _triplet("triplet_margin_with_distance_loss", anchor, positive, negative,
                    pairwise_distance if distance_function is None else distance_function, margin, swap, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """The multi-label hinge loss ``sum_{j in y} sum_{i not in y} max(0, 1 - (x[j] - x[i])) / C`` per sample.

    ``input`` (C,) or (N, C) scores; ``target`` the same shape, int64, holding each sample's target classes
    followed by -1 (the classes after the first -1 are ignored).
    """
    reduction = get_reduction(size_average, reduce, reduction)
    _check_tensors("multilabel_margin_loss", input=input, target=target)
    if input._data.ndim > 2 or tuple(target._data.shape) != tuple(input._data.shape):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    classes = input._data.shape[-1] if input._data.ndim else 1
    x = input.reshape(-1, classes)
    t = target.long().reshape(-1, classes)
    if not _inside_vmap() and bool(((t < -1) | (t >= classes)).any()):
        raise RuntimeError("argument #2 'target' is out of range")
    # NOTE: a target entry counts while no -1 came before it; the mask of target classes is built from ops.
    listed = (t == -1).long().cumsum(-1) == 0
    onehot = (t.unsqueeze(-1) == arange(classes)) & listed.unsqueeze(-1)  # (N, position, class)
    count = onehot.long().sum(1).to(x.dtype)  # times class j is listed
    is_target = onehot.any(1)
    # NOTE: relu's gradient is 0 at the kink, as torch's (1 - x[j] + x[i] > 0) rule.
    hinge = elementwise.relu(1 - x.unsqueeze(-1) + x.unsqueeze(-2))  # [n, j, i]
    pairs = where(is_target.unsqueeze(-2), 0.0, hinge) * count.unsqueeze(-1)
    loss = pairs.sum((-2, -1)) / classes
    return _reduce(loss.reshape(input.shape[:-1]) if input._data.ndim else loss.reshape(()), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                                reduce=None, reduction: str = "mean") -> Tensor:
    """``-mean_c (t_c log sigmoid(x_c) + (1 - t_c) log sigmoid(-x_c))`` per sample (``weight`` per class)."""
    reduction = get_reduction(size_average, reduce, reduction)
    _check_tensors("multilabel_soft_margin_loss", input=input, target=target, weight=weight)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input._data.ndim - 1
    return _reduce(loss.sum(class_dim) / input._data.shape[class_dim], reduction)


# -- sequences ---------------------------------------------------------------------------------------------

def _logaddexp(*terms: Tensor) -> Tensor:
    """``log(sum(exp(terms)))`` elementwise, -inf (with zero gradients, not nan) where every term is -inf."""
    top = terms[0].detach()
    for term in terms[1:]:
        top = maximum(top, term.detach())
    shift = where(top.isfinite(), top, 0.0)
    total = sum((term - shift).exp() for term in terms)
    # NOTE: the double where keeps log's gradient at 0 out of paths that are impossible (all -inf).
    some = total > 0
    return where(some, where(some, total, 1.0).log() + shift, -math.inf)


def _lengths(op: str, name: str, lengths, n: int) -> list:
    """``lengths`` (a tensor, a sequence or one number) as a list of ints, one per batch element."""
    if isinstance(lengths, Tensor):
        lengths = lengths.tolist()
    values = [int(v) for v in (lengths if isinstance(lengths, (list, tuple)) else [lengths])]
    if len(values) != n:
        raise RuntimeError(f"{op}: {name} must have one entry per batch element ({n}), got {len(values)}")
    return values


def _padded_targets(targets: Tensor, target_lengths: list, blank: int) -> Tensor:
    """(N, S) class indices from padded (N, S') or concatenated (sum S_n,) targets; blank beyond each length."""
    n, longest = len(target_lengths), max(target_lengths, default=0)
    positions = xp.arange(longest)
    if targets._data.ndim == 2:
        padded = targets.long().narrow(1, 0, longest)
    else:
        starts = xp.cumsum([0] + target_lengths[:-1]).astype(xp.int64)
        index = starts[:, None] + xp.minimum(positions, xp.maximum(xp.asarray(target_lengths)[:, None] - 1, 0))
        # NOTE: an empty target's row points anywhere valid; it is replaced by blanks below.
        index = xp.minimum(index, max(targets._data.size - 1, 0))
        padded = targets.long().index_select(0, _wrap(index.reshape(-1).astype(xp.int64))).reshape(n, longest)
    inside = _wrap(positions[None, :] < xp.asarray(target_lengths)[:, None])
    return where(inside, padded, blank)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """The Connectionist Temporal Classification loss: ``-log`` of the total probability of every alignment of
    each target sequence to its input, by the forward algorithm in log space (a ``logsumexp`` recursion).

    ``log_probs`` (T, N, C) log-probabilities (e.g. ``log_softmax``), or (T, C) unbatched; ``targets``
    (N, S) padded or (sum of target_lengths,) concatenated class indices (never ``blank``);
    ``input_lengths``, ``target_lengths``: (N,) tensors or sequences of ints. ``reduction='mean'`` divides
    each loss by its target length, then averages over the batch. ``zero_infinity`` replaces the infinite
    losses of impossible alignments (and their gradients) by zero.

    Example::

        >>> lp = chainrule.zeros(2, 1, 2)  # two steps, two equally likely classes
        >>> ctc_loss(lp.log_softmax(2), chainrule.tensor([[1]]), [2], [1], reduction="sum")  # 3 paths of 1/4
        tensor(0.2877)
    """
    _check_tensors("ctc_loss", log_probs=log_probs, targets=targets)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    unbatched = log_probs._data.ndim == 2
    if unbatched:
        log_probs, targets = log_probs.unsqueeze(1), targets.unsqueeze(0)
    if log_probs._data.ndim != 3:
        raise RuntimeError(f"ctc_loss: expected log_probs of shape (T, N, C) or (T, C), got "
                           f"{list(log_probs.shape)}")
    if targets._data.dtype.kind not in "iu":
        raise RuntimeError(f"ctc_loss: targets must hold integer class indices (int64), got {targets.dtype}")
    steps, n, classes = log_probs._data.shape
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    in_lens = _lengths("ctc_loss", "input_lengths", input_lengths, n)
    tgt_lens = _lengths("ctc_loss", "target_lengths", target_lengths, n)
    if any(length > steps or length < 0 for length in in_lens):
        raise RuntimeError(f"ctc_loss: Expected input_lengths to have value at most {steps}, but got {in_lens}")
    padded = _padded_targets(targets, tgt_lens, blank)
    longest = padded._data.shape[1]
    width = 2 * longest + 1
    # NOTE: the extended labels put a blank before, between and after the target's labels.
    s = xp.arange(width)
    label_of = _wrap(xp.clip((s - 1) // 2, 0, max(longest - 1, 0)).astype(xp.int64))
    odd = _wrap(s % 2 == 1)
    ext = where(odd, padded.index_select(1, label_of) if longest else blank, blank)  # (N, width)
    # NOTE: a path may skip the blank between two labels only when they differ.
    before = pad(ext, (2, 0), value=blank).narrow(1, 0, width)
    skip = odd & _wrap(s >= 2) & (ext != before)
    emit = log_probs.gather(2, ext.unsqueeze(0).expand(steps, n, width))  # (T, N, width)
    alpha = where(_wrap(s < 2), emit[0], -math.inf)
    for step in range(1, max(in_lens, default=0)):
        one = pad(alpha, (1, 0), value=-math.inf).narrow(1, 0, width)
        two = where(skip, pad(alpha, (2, 0), value=-math.inf).narrow(1, 0, width), -math.inf)
        running = _wrap(xp.asarray(in_lens)[:, None] > step)
        alpha = where(running, _logaddexp(alpha, one, two) + emit[step], alpha)
    ends = xp.asarray(tgt_lens, dtype=xp.int64) * 2
    last = alpha.gather(1, _wrap(ends[:, None])).squeeze(1)
    before_last = alpha.gather(1, _wrap(xp.maximum(ends - 1, 0)[:, None])).squeeze(1)
    loss = -_logaddexp(last, where(_wrap(ends > 0), before_last, -math.inf))
    # NOTE: an empty input matches only an empty target.
    loss = where(_wrap(xp.asarray(in_lens) == 0), _wrap(xp.where(ends == 0, 0.0, math.inf)).to(loss.dtype), loss)
    if zero_infinity:
        loss = where(loss.isinf(), 0.0, loss)
    if reduction == "mean":
        return (loss / _wrap(xp.maximum(xp.asarray(tgt_lens), 1).astype(loss._data.dtype))).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.squeeze(0) if unbatched else loss

