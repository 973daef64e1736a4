"""Small classification data sets as tensors with a fixed train/test split: real digits and synthetic toys.

``load_digits`` is scikit-learn's bundled copy of the UCI handwritten digits (it ships inside the package,
so nothing is downloaded); ``spiral`` and ``moons`` are generated. Each returns a :class:`Split` of
``(x_train, y_train, x_test, y_test)`` with float32 features and int64 labels; the same ``seed`` always gives
the same split, whatever the state of ``chainrule``'s global generator.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from . import _dtype
from ._backend import xp
from .creation import tensor
from .tensor import Tensor

__all__ = ["Split", "load_digits", "spiral", "moons"]


class Split(NamedTuple):
    """A data set split into training and test parts: features ``x_*`` (N, ...) and labels ``y_*`` (N,)."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor


def _split(x, y, test_fraction: float, rng: xp.random.Generator) -> Split:
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    order = rng.permutation(len(x))
    n_test = math.ceil(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    as_x = lambda a: tensor(a, dtype=_dtype.float32)
    as_y = lambda a: tensor(a, dtype=_dtype.int64)
    return Split(as_x(x[train]), as_y(y[train]), as_x(x[test]), as_y(y[test]))


def load_digits(test_fraction: float = 0.2, seed: int = 0, flatten: bool = True) -> Split:
    """The 8x8 handwritten digits (1797 images of 0-9), pixel values scaled to [0, 1].

    Args:
        test_fraction: share of the images held out for testing (default 0.2: 1437 train, 360 test).
        seed: fixes the shuffle that makes the split.
        flatten: features of shape (N, 64); ``False`` gives images of shape (N, 1, 8, 8) for conv nets.

    Needs scikit-learn (``pip install 'chainrule[train]'``), which ships the data.

    Example::

        >>> data = chainrule.datasets.load_digits()
        >>> data.x_train.shape, data.y_train.dtype
        (chainrule.Size([1437, 64]), chainrule.int64)
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise ImportError("chainrule.datasets.load_digits needs scikit-learn, which ships the digits data: "
                          "pip install 'chainrule[train]'") from None
    digits = sklearn_digits()
    x = digits.data / 16.0
    if not flatten:
        x = x.reshape(-1, 1, 8, 8)
    return _split(x, digits.target, test_fraction, xp.random.default_rng(seed))


def spiral(n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2, test_fraction: float = 0.2,
           seed: int = 0) -> Split:
    """Interleaved 2-D spiral arms, one class per arm (CS231n's toy problem a linear model cannot solve).

    Point ``i`` of arm ``k`` sits at radius ``r = i / (n - 1)`` and angle ``4 k + 4 r`` plus Gaussian noise of
    standard deviation ``noise``; coordinates lie in [-1, 1]. Features (N, 2) float32, labels (N,) int64.

    Example::

        >>> data = chainrule.datasets.spiral(n_per_class=100, n_classes=3)
        >>> data.x_train.shape
        chainrule.Size([240, 2])
    """
    rng = xp.random.default_rng(seed)
    radius = xp.linspace(0.0, 1.0, n_per_class)
    xs, ys = [], []
    for k in range(n_classes):
        angle = xp.linspace(4.0 * k, 4.0 * (k + 1), n_per_class) + rng.normal(0.0, noise, n_per_class)
        xs.append(xp.stack([radius * xp.sin(angle), radius * xp.cos(angle)], axis=1))
        ys.append(xp.full(n_per_class, k))
    return _split(xp.concatenate(xs), xp.concatenate(ys), test_fraction, rng)


def moons(n_samples: int = 200, noise: float = 0.1, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Two interleaving half circles (scikit-learn's ``make_moons``), labels 0 (upper) and 1 (lower).

    Features (N, 2) float32 with Gaussian noise of standard deviation ``noise``, labels (N,) int64.

    Example::

        >>> data = chainrule.datasets.moons(n_samples=200, noise=0.1)
        >>> data.x_test.shape
        chainrule.Size([40, 2])
    """
    rng = xp.random.default_rng(seed)
    n_upper = n_samples // 2
    n_lower = n_samples - n_upper
    upper = xp.linspace(0.0, xp.pi, n_upper)
    lower = xp.linspace(0.0, xp.pi, n_lower)
    x = xp.concatenate([xp.stack([xp.cos(upper), xp.sin(upper)], axis=1),
                           xp.stack([1.0 - xp.cos(lower), 0.5 - xp.sin(lower)], axis=1)])
    x += rng.normal(0.0, noise, x.shape)
    y = xp.concatenate([xp.zeros(n_upper, dtype=xp.int64), xp.ones(n_lower, dtype=xp.int64)])
    return _split(x, y, test_fraction, rng)
