"""Small helpers shared by several test modules: float64 sample tensors, a tight comparison, a custom Function."""

import numpy as np

import chainrule as cr
from chainrule.autograd import Function


def t64(*shape, seed=0):
    """A float64 tensor of standard normal samples, reproducible by ``seed``."""
    return cr.tensor(np.random.default_rng(seed).standard_normal(shape))


def close(a, b, tol=1e-10):
    """Assert two tensors (or arrays/numbers) agree to ``tol``, absolute and relative."""
    np.testing.assert_allclose(np.asarray(a.detach().numpy() if isinstance(a, cr.Tensor) else a),
                               np.asarray(b.detach().numpy() if isinstance(b, cr.Tensor) else b), rtol=tol, atol=tol)


class Cube(Function):
    """x ** 3 as a custom Function with a hand-written backward (3 x**2 g)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * g
