"""Property tests: for random broadcastable shapes, each input's gradient has its own shape and equals the
upstream gradient times the local derivative, summed over the broadcast dimensions."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

OPS = {
    "add": (lambda x, y: x + y, lambda x, y: (np.ones_like(x * y), np.ones_like(x * y))),
    "sub": (lambda x, y: x - y, lambda x, y: (np.ones_like(x * y), -np.ones_like(x * y))),
    "mul": (lambda x, y: x * y, lambda x, y: (np.broadcast_to(y, (x * y).shape), np.broadcast_to(x, (x * y).shape))),
    "div": (lambda x, y: x / y, lambda x, y: (np.broadcast_to(1 / y, (x * y).shape),
                                             np.broadcast_to(-x / y ** 2, (x * y).shape))),
}


def reduce_to(g, shape):
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


@settings(max_examples=60, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
       op=st.sampled_from(sorted(OPS)), seed=st.integers(0, 2 ** 16))
def test_broadcast_gradients(shapes, op, seed):
    rng = np.random.default_rng(seed)
    a_shape, b_shape = shapes.input_shapes
    a = rng.uniform(0.5, 2.0, a_shape)
    b = rng.uniform(0.5, 2.0, b_shape)
    f, local = OPS[op]
    x = cr.tensor(a, requires_grad=True)
    y = cr.tensor(b, requires_grad=True)
    out = f(x, y)
    assert out.shape == shapes.result_shape
    upstream = rng.standard_normal(shapes.result_shape)
    out.backward(cr.tensor(upstream))
    la, lb = local(a, b)
    assert x.grad.shape == a_shape and y.grad.shape == b_shape
    np.testing.assert_allclose(x.grad.numpy(), reduce_to(upstream * la, a_shape), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), reduce_to(upstream * lb, b_shape), rtol=1e-10, atol=1e-12)
