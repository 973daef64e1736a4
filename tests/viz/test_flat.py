"""chainrule.viz.flat_backprop: the lecture's flat forward/backward code, generated from a trace, runnable,
and giving the same gradients as backward."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.viz import flat_backprop

from ..helpers import Cube


def backward_grads(fn, *inputs):
    ts = [cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in inputs]
    out = fn(*ts)
    out.backward()
    return out, [t.grad for t in ts]


def assert_same_as_backward(flat, fn, *inputs):
    value, grads = flat.run(*[cr.tensor(v, dtype=cr.float64) for v in inputs])
    out, expected = backward_grads(fn, *inputs)
    np.testing.assert_allclose(value.numpy(), out.detach().numpy(), rtol=1e-12)
    for g, e in zip(grads, expected, strict=True):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-10, atol=1e-12)


def lecture(x, y, z):
    q = x + y
    return q * z


def test_lecture_example_reads_like_the_lecture_and_runs():
    flat = flat_backprop(lecture, -2.0, 5.0, -4.0)
    lines = [ln.strip() for ln in str(flat).splitlines()]
    assert lines == ["def flat_lecture(x, y, z):", "# forward pass", "q = x + y", "f = q * z", "# backward pass",
                     "df = cr.ones_like(f)", "dq = z * df", "dz = q * df", "dx = 1.0 * dq", "dy = 1.0 * dq",
                     "return f, (dx, dy, dz)"]
    value, grads = flat.run(-2.0, 5.0, -4.0)
    assert value.item() == -12 and [g.item() for g in grads] == [-4, -4, 3]
    assert_same_as_backward(flat, lecture, 1.5, -0.5, 2.0)   # other inputs, same code


def neuron(w0, x0, w1, x1, w2):
    dot = w0 * x0 + w1 * x1 + w2
    return 1 / (1 + (-dot).exp())


def test_sigmoid_neuron():
    flat = flat_backprop(neuron, 2.0, -1.0, -3.0, -2.0, -3.0)
    text = str(flat)
    assert "dt6 = -1.0 / t6 ** 2 * df" in text   # the 1/x gate
    assert "dt4 = t5 * dt5" in text               # exp: its output times upstream
    assert "ddot = -dt4" in text                   # *-1 gate
    grads = [round(g.item(), 2) for g in flat.run(2.0, -1.0, -3.0, -2.0, -3.0).grads]
    assert grads == [-0.2, 0.39, -0.39, -0.59, 0.2]
    assert_same_as_backward(flat, neuron, 0.3, 1.2, -0.7, 0.4, 0.1)


def test_fan_out_accumulates_with_plus_equals():
    def f(a):
        b = a * a
        return b + a.exp() + b
    text = str(flat_backprop(f, 2.0))
    assert "db = 1.0 * df" in text and "db += 1.0 * dt2" in text
    assert text.count("da += ") == 2
    assert_same_as_backward(flat_backprop(f, 2.0), f, 0.7)


def mlp(x, W1, b1, W2):
    h = (x @ W1 + b1).relu()
    return (h @ W2).sum() + (h * h).mean()


def test_mlp_with_broadcasting_sums_to_shape_and_matches_backward():
    rng = np.random.default_rng(0)
    args = [rng.standard_normal(s) for s in [(4, 3), (3, 5), (5,), (5, 2)]]
    flat = flat_backprop(mlp, *[cr.tensor(a, dtype=cr.float64) for a in args])
    text = str(flat)
    assert "db1 = cr.sum_to(1.0 * dt2, (5,))" in text
    assert "dW1 = x.T @ dt1" in text and "dx = dt1 @ W1.T" in text
    assert "dh += " in text   # h feeds two ops
    assert_same_as_backward(flat, mlp, *[rng.standard_normal(a.shape) for a in args])


def test_views_where_and_ops_without_a_formula():
    def f(x):
        m = x.reshape(2, 2).T * 3
        return m.sum() + cr.where(x > 0, x, 1.0).log().sum() + x.sum()
    x0 = [1.0, -2.0, 3.0, 4.0]
    flat = flat_backprop(f, x0)
    text = str(flat)
    assert "t2 = t1.permute((1, 0))" in text and "dx += cr.where(t4, dt5, 0.0)" in text
    assert_same_as_backward(flat, f, [0.5, 2.0, -1.0, 3.0])

    def g(x):
        return x.reshape(2, 2).T.sum() + x.reshape(2, 2).sum()
    text = str(flat_backprop(g, x0))
    # += writes in place, so a first term that is a view of another gradient is copied first
    assert re.search(r"dx = dt\d+\.reshape\(\(4,\)\)\.clone\(\)", text)
    assert re.search(r"dx \+= dt\d+\.reshape\(\(4,\)\)\n", text)
    assert_same_as_backward(flat_backprop(g, x0), g, [0.5, 2.0, -1.0, 3.0])


def test_an_op_without_a_lecture_formula_uses_its_own_vjp_rule():
    def f(x):
        return Cube.apply(x * 2).sum()
    flat = flat_backprop(f, [1.0, 2.0])
    text = str(flat)
    assert "= Cube.apply(t1)" in text and "= vjp((t2,), dt2)   # Cube: its own VJP rule" in text
    assert_same_as_backward(flat, f, [0.5, -1.5])


def test_code_is_checked_against_backward_and_bad_functions_are_refused():
    def branches(x):
        return x * 2 if x.item() > 0 else x * 3
    flat = flat_backprop(branches, 1.0)   # the trace takes one branch...
    assert flat.run(1.0).grads[0].item() == 2
    assert flat.run(-1.0).grads[0].item() == 2   # ...and keeps it: a trace is one path (documented)
    with pytest.raises(RuntimeError, match="one-element tensor"):
        flat_backprop(lambda x: x * 2, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="one-element tensor"):
        flat_backprop(lambda x: cr.tensor(1.0), 1.0)
    with pytest.raises(TypeError, match="must be callable"):
        flat_backprop(3, 1.0)
