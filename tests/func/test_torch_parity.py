"""Optional: chainrule.func and autograd.functional against torch.func / torch.autograd.functional (the oracle).

Skipped when torch is not installed. Both libraries get the same float64 inputs; values and pytree structure
must agree.
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

A = np.random.default_rng(0).standard_normal((3, 4))
X = np.random.default_rng(1).standard_normal(4)
Y = np.random.default_rng(2).standard_normal(3)


def f(lib, x, y):
    a = lib.tensor(A)
    return {"h": lib.tanh(a @ x) * y.exp(), "s": (x * x).sum() / (1 + (y * y).sum())}


def scalar(lib, x, y):
    out = f(lib, x, y)
    return out["h"].sum() + out["s"]


def as_numpy(tree):
    if isinstance(tree, dict):
        return {k: as_numpy(v) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(as_numpy(v) for v in tree)
    return tree.detach().numpy()


def assert_same(ours, theirs):
    assert type(ours) is type(theirs)
    if isinstance(ours, dict):
        assert ours.keys() == theirs.keys()
        for k in ours:
            assert_same(ours[k], theirs[k])
    elif isinstance(ours, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def run_transform(lib, transform, argnums):
    fn = scalar if transform in ("hessian", "grad") else f
    func = cr.func if lib is cr else torch.func
    return as_numpy(getattr(func, transform)(lambda x, y: fn(lib, x, y), argnums=argnums)(lib.tensor(X),
                                                                                        lib.tensor(Y)))


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd", "hessian", "grad"])
@pytest.mark.parametrize("argnums", [0, (0, 1)])
def test_func_transforms_match_torch(transform, argnums):
    assert_same(run_transform(cr, transform, argnums), run_transform(torch, transform, argnums))


def run_functional(lib, name):
    x, y = lib.tensor(X), lib.tensor(Y)
    functional = lib.autograd.functional
    outputs = lambda x, y: tuple(f(lib, x, y).values())
    loss = lambda x, y: scalar(lib, x, y)
    if name == "vjp":
        return as_numpy(functional.vjp(outputs, (x, y), (lib.ones(3, dtype=lib.float64),
                                                         lib.tensor(2.0, dtype=lib.float64))))
    if name == "jvp":
        return as_numpy(functional.jvp(outputs, (x, y), (x * 0 + 1, y * 2)))
    if name == "jacobian":
        return as_numpy(functional.jacobian(outputs, (x, y)))
    if name == "hessian":
        return as_numpy(functional.hessian(loss, (x, y)))
    return as_numpy(getattr(functional, name)(loss, (x, y), (x * 0 + 1, y * 2)))


@pytest.mark.parametrize("name", ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"])
def test_autograd_functional_matches_torch(name):
    assert_same(run_functional(cr, name), run_functional(torch, name))
