"""Random sampling: bernoulli, multinomial, poisson, normal and the in-place fills (``uniform_``, ``normal_``, ...).

Every draw comes from a chainrule generator (``chainrule.random``: the default one, or ``generator=``), so a
seeded run repeats itself, and goes through :func:`~chainrule.random.batched_random`, so that vmap's
``randomness`` modes and recording transforms see it. Only distributions, shapes, dtypes and argument checks
follow torch, not its random streams.

NOTE: samples carry no gradient. torch attaches a grad_fn to the samples of tensors that require grad, but its
gradient is zero (``bernoulli``, ``poisson``, ``normal``); chainrule returns them without history instead. These
are not op-database ops (a draw has no NumPy reference to compare with): ``tests/test_random.py`` checks them
statistically.
"""

from __future__ import annotations

import builtins
import math

from .. import _dtype
from .._backend import xp
from ..random import batched_random, numpy_generator
from ..tensor import Tensor, _wrap
from ._primitive import exports, method
from .inplace import apply_inplace
from .shape import int_arg, int_tuple


def _float_input(input, op: str, kernel: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'{op}: "{kernel}" not implemented for \'{input.dtype}\' (a floating point '
                                  "tensor is expected)")


def _probability(p, op: str):
    """``p`` (a number or a tensor of probabilities) as what NumPy compares draws with, checked to be in [0, 1]."""
    if isinstance(p, Tensor):
        probs = p._data
        if probs.size and not (probs.min() >= 0 and probs.max() <= 1):
            raise RuntimeError(f"{op}: expected all probabilities p_in to satisfy 0 <= p_in <= 1, but some are "
                               f"outside (min {probs.min()}, max {probs.max()})")
        return probs
    if not 0 <= p <= 1:
        raise RuntimeError(f"{op} expects p to be in [0, 1], but got p={p}")
    return p


# -- sampling functions ---------------------------------------------------------------------------------

@batched_random
def bernoulli(input: Tensor, p: float | None = None, *, generator=None) -> Tensor:
    """0/1 samples: ``out[i] = 1`` with probability ``input[i]`` (or ``p`` for every element when given).

    Shapes and dtype: those of ``input`` (a floating point tensor of probabilities in [0, 1]).

    Example::

        >>> chainrule.bernoulli(chainrule.tensor([0., 1.]))
        tensor([0., 1.])
    """
    _float_input(input, "bernoulli", "bernoulli_tensor_cpu_p_")
    probs = _probability(input if p is None else p, "bernoulli")
    draws = numpy_generator(generator).random(input._data.shape) < probs
    return _wrap(draws.astype(input._data.dtype))


@batched_random
def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None):
    """Indices of categories drawn with probability proportional to the weights in ``input``'s last dim.

    Shapes: ``(n,)`` -> ``(num_samples,)``; ``(m, n)`` -> ``(m, num_samples)`` (one draw per row); int64.
    Without ``replacement`` each row draws distinct categories (``num_samples <= n``); categories of weight 0
    come only after every positive one is drawn, as in torch.

    Example::

        >>> chainrule.multinomial(chainrule.tensor([0., 1., 0.]), 2, replacement=True)
        tensor([1, 1])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): argument 'input' must be Tensor, not {type(input).__name__}")
    weights = input._data
    if weights.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {input.dtype}")
    if weights.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {tuple(weights.shape)}")
    if isinstance(num_samples, builtins.bool) or not isinstance(num_samples, (builtins.int, xp.integer)):
        raise TypeError(f"multinomial(): argument 'num_samples' must be int, not {type(num_samples).__name__}")
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples, got {num_samples}")
    n = weights.shape[-1]
    if not replacement and num_samples > n:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                           f"({num_samples} > {n})")
    rows = weights.reshape(-1, n).astype(xp.float64)
    if not xp.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    totals = rows.sum(axis=1)
    if (totals <= 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    rng = numpy_generator(generator)
    if replacement:
        # NOTE: inverse-CDF sampling; ``side='right'`` never lands on a category of weight 0.
        cdf = xp.cumsum(rows / totals[:, None], axis=1)
        u = rng.random((rows.shape[0], num_samples))
        picks = xp.stack([xp.searchsorted(c, v, side="right") for c, v in zip(cdf, u)])
        picks = xp.minimum(picks, n - 1)
    else:
        # NOTE: exponential races (E_i / w_i, smallest first) draw without replacement in proportion to the
        # weights; weight-0 categories get an infinite key and come last.
        with xp.errstate(divide="ignore"):
            keys = rng.exponential(size=rows.shape) / rows
        picks = xp.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    return _wrap(picks.reshape(weights.shape[:-1] + (num_samples,)).astype(xp.int64))


@batched_random
def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson samples with rate ``input[i]`` (non-negative), in ``input``'s shape and floating dtype."""
    _float_input(input, "poisson", "poisson_cpu")
    if input._data.size and input._data.min() < 0:
        raise RuntimeError(f"poisson: invalid Poisson rate, expected rate to be non-negative, got min "
                           f"{input._data.min()}")
    return _wrap(xp.asarray(numpy_generator(generator).poisson(input._data), dtype=input._data.dtype))


def _check_std(std, op: str = "normal") -> None:
    low = std._data.min() if isinstance(std, Tensor) and std._data.size else std
    if not isinstance(low, Tensor) and low < 0:
        raise RuntimeError(f"{op} expects std >= 0.0, but found std {low}")


@batched_random
def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, layout=None, device=None,
           pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """Normal samples, in torch's four forms:

    - ``normal(mean: Tensor, std: Tensor)``: one sample per element, shapes broadcast;
    - ``normal(mean: Tensor, std: float = 1)`` and ``normal(mean: float, std: Tensor)``: the tensor's shape;
    - ``normal(mean: float, std: float, size)``: shape ``size`` (``dtype``, ``requires_grad`` as factories).

    The result has the floating dtype of the tensor argument(s) (the default dtype for the last form).

    Example::

        >>> chainrule.normal(0.0, 1.0, (2, 3)).shape
        chainrule.Size([2, 3])
    """
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments - got (float, float): give "
                            "a size, normal(mean, std, size), or a tensor mean or std")
        shape = _dtype_size(size)
        np_dtype = (_dtype.as_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()).np
    else:
        if size is not None:
            raise TypeError("normal(): size is only accepted with a float mean and a float std "
                            "(normal(mean, std, size)); with a tensor argument the shape is the tensor's")
        for t in tensors:
            if t._data.dtype.kind != "f":
                raise NotImplementedError(f"normal: \"normal_kernel_cpu\" not implemented for '{t.dtype}' "
                                          "(mean and std must be floating point tensors)")
        shape = _broadcast("normal", "mean and std", *(t._data.shape for t in tensors))
        np_dtype = _dtype.result_type(*tensors).np
    _check_std(std)
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    out = _wrap(xp.asarray(numpy_generator(generator).normal(m, s, shape)).astype(np_dtype))
    return out.requires_grad_(True) if requires_grad else out


def _broadcast(op: str, what: str, *shapes) -> tuple:
    try:
        return xp.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(f"{op}: the shapes of {what} {' and '.join(str(tuple(s)) for s in shapes)} do not "
                           "broadcast") from None


def _dtype_size(size) -> tuple:
    return int_tuple(size, "normal", "size")


# -- in-place fills ---------------------------------------------------------------------------------------

@batched_random
def _draw(like: Tensor, draw, generator) -> Tensor:
    """``draw(numpy_generator, shape)`` as a tensor of ``like``'s shape and dtype."""
    return _wrap(xp.asarray(draw(numpy_generator(generator), like._data.shape)).astype(like._data.dtype))


def _fill(self: Tensor, name: str, draw, generator) -> Tensor:
    values = _draw(self, draw, generator)
    return apply_inplace(self, name, lambda x: values)


def _float_fill(self: Tensor, name: str, kernel: str) -> None:
    if self._data.dtype.kind != "f":
        raise NotImplementedError(f"{name}: \"{kernel}\" not implemented for '{self.dtype}' (fill a floating "
                                  "point tensor)")


@method("uniform_")
def uniform_(self: Tensor, from_: float = 0.0, to: float = 1.0, *, generator=None, **kwargs) -> Tensor:
    """Fill in place with samples uniform on ``[from, to)`` (``from`` may be given by keyword as ``from``)."""
    from_ = kwargs.pop("from", from_)
    if kwargs:
        raise TypeError(f"uniform_() got unexpected keyword arguments {sorted(kwargs)}")
    _float_fill(self, "uniform_", "check_uniform_bounds")
    for name, bound in (("from", from_), ("to", to)):
        if not math.isfinite(bound):
            raise RuntimeError(f"uniform_: {name} is out of bounds for float: {bound}")
    if from_ > to:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={from_} > to={to}")
    return _fill(self, "uniform_", lambda rng, shape: rng.uniform(from_, to, shape), generator)


@method("normal_")
def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with samples of the normal distribution ``N(mean, std**2)``."""
    _float_fill(self, "normal_", "normal_kernel_cpu")
    _check_std(std)
    return _fill(self, "normal_", lambda rng, shape: rng.normal(mean, std, shape), generator)


@method("exponential_")
def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with samples of the exponential distribution of rate ``lambd`` (density
    ``lambd * exp(-lambd * x)``)."""
    _float_fill(self, "exponential_", "exponential_cpu")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _fill(self, "exponential_", lambda rng, shape: rng.exponential(1.0 / lambd, shape), generator)


@method("geometric_")
def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill in place with the number of Bernoulli(``p``) trials up to the first success (1, 2, ...)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return _fill(self, "geometric_", lambda rng, shape: rng.geometric(p, shape), generator)


@method("cauchy_")
def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with samples of the Cauchy distribution ``median + sigma * tan(pi * (u - 1/2))``."""
    _float_fill(self, "cauchy_", "cauchy_cpu")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    return _fill(self, "cauchy_", lambda rng, shape: median + sigma * rng.standard_cauchy(shape), generator)


@method("log_normal_")
def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill in place with ``exp(N(mean, std**2))`` samples (``mean`` and ``std`` of the underlying normal)."""
    _float_fill(self, "log_normal_", "log_normal_cpu")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    return _fill(self, "log_normal_", lambda rng, shape: rng.lognormal(mean, std, shape), generator)


@method("bernoulli_")
def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill in place with 0/1 samples, 1 with probability ``p`` (a number, or a tensor broadcast to this one)."""
    probs = _probability(p, "bernoulli_")
    if isinstance(p, Tensor):
        if _broadcast("bernoulli_", "p and the tensor", probs.shape, self._data.shape) != self._data.shape:
            raise RuntimeError(f"bernoulli_: p of shape {tuple(probs.shape)} must broadcast to the tensor's shape "
                               f"{tuple(self._data.shape)}")
    return _fill(self, "bernoulli_", lambda rng, shape: rng.random(shape) < probs, generator)


@method("random_")
def random_(self: Tensor, from_=0, to=None, *, generator=None, **kwargs) -> Tensor:
    """Fill in place with integers uniform on ``[from, to)``: ``random_(to)`` starts at 0, and ``random_()``
    covers ``[0, 2**mantissa]`` for floating dtypes (every integer they hold exactly) or ``[0, max]`` for
    integer ones."""
    from_ = kwargs.pop("from", from_)
    if kwargs:
        raise TypeError(f"random_() got unexpected keyword arguments {sorted(kwargs)}")
    from_ = int_arg(from_, "random_", "from")
    to = None if to is None else int_arg(to, "random_", "to")
    if to is None and from_ != 0:
        from_, to = 0, from_
    np_dtype = self._data.dtype
    high = _random_ceiling(np_dtype)
    if to is None:
        to = high + 1
    if from_ >= to:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={from_} >= to={to}")
    if np_dtype.kind in "iu" and from_ < xp.iinfo(np_dtype).min:
        raise RuntimeError(f"random_: from={from_} is out of bounds for {self.dtype}")
    if to - 1 > high:
        raise RuntimeError(f"random_: to - 1 = {to - 1} is out of bounds for {self.dtype}")
    return _fill(self, "random_", lambda rng, shape: rng.integers(from_, to, shape), generator)


def _random_ceiling(np_dtype) -> int:
    """The largest value ``random_()`` draws for ``np_dtype``: every integer up to it is exact."""
    if np_dtype.kind == "b":
        return 1
    if np_dtype.kind in "iu":
        return builtins.int(xp.iinfo(np_dtype).max)
    return 2 ** (xp.finfo(np_dtype).nmant + 1)


method("bernoulli")(bernoulli)
method("multinomial")(multinomial)

__all__ = exports(__name__)
