"""chainrule.datasets: shapes, dtypes, value ranges and fixed seeded splits."""

import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import datasets


def test_digits_split():
    data = datasets.load_digits()
    assert [tuple(t.shape) for t in data] == [(1437, 64), (1437,), (360, 64), (360,)]
    assert data.x_train.dtype == cr.float32 and data.y_train.dtype == cr.int64
    x = np.concatenate([data.x_train.numpy(), data.x_test.numpy()])
    assert x.min() == 0.0 and x.max() == 1.0
    assert sorted(set(data.y_test.tolist())) == list(range(10))
    images = datasets.load_digits(flatten=False)
    assert images.x_train.shape == (1437, 1, 8, 8)
    np.testing.assert_array_equal(images.x_train.numpy().reshape(-1, 64), data.x_train.numpy())


def test_splits_are_fixed_by_the_seed_not_the_global_generator():
    cr.manual_seed(1)
    a = datasets.spiral(seed=3)
    cr.manual_seed(2)
    b = datasets.spiral(seed=3)
    c = datasets.spiral(seed=4)
    assert all(cr.equal(s, t) for s, t in zip(a, b, strict=True))
    assert not cr.equal(a.x_train, c.x_train)


def test_spiral():
    data = datasets.spiral(n_per_class=50, n_classes=4, test_fraction=0.25)
    assert [tuple(t.shape) for t in data] == [(150, 2), (150,), (50, 2), (50,)]
    y = np.concatenate([data.y_train.numpy(), data.y_test.numpy()])
    assert np.bincount(y).tolist() == [50] * 4
    x = np.concatenate([data.x_train.numpy(), data.x_test.numpy()])
    assert np.abs(x).max() <= 1.0 and x.dtype == np.float32
    # The radius grows linearly along each arm regardless of the noise on the angle.
    np.testing.assert_allclose(np.sort(np.linalg.norm(x, axis=1))[-4:], 1.0, rtol=1e-6)


def test_moons():
    data = datasets.moons(n_samples=101, noise=0.0)
    x = np.concatenate([data.x_train.numpy(), data.x_test.numpy()])
    y = np.concatenate([data.y_train.numpy(), data.y_test.numpy()])
    assert np.bincount(y).tolist() == [50, 51] and data.x_test.shape == (21, 2)
    upper, lower = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.linalg.norm(upper, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(lower - [1.0, 0.5], axis=1), 1.0, rtol=1e-6)


def test_bad_test_fraction():
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        datasets.moons(test_fraction=1.0)


def test_digits_without_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[train\]'"):
        datasets.load_digits()
