"""Behaviour of the fast paths taken for speed (issue 11): the values they must keep exact."""

import gc
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import jvp, vmap
from chainrule.ops._primitive import PRIMITIVES


@pytest.mark.parametrize("dtype", [cr.float16, cr.float32, cr.float64])
def test_sigmoid_saturates_exactly_without_warnings(dtype):
    x = cr.tensor([-1000.0, 0.0, -0.0, 100.0, 1000.0, float("inf"), float("-inf")], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cr.sigmoid(x).numpy()
    assert out.dtype == x.numpy().dtype
    np.testing.assert_array_equal(out, [0.0, 0.5, 0.5, 1.0, 1.0, 1.0, 0.0])


def test_sigmoid_matches_extended_precision():
    rng = np.random.default_rng(0)
    for dtype, rtol in ((np.float32, 3e-7), (np.float64, 5e-16)):
        x = (rng.standard_normal(10000) * 30).astype(dtype)
        ref = 1 / (1 + np.exp(-x.astype(np.longdouble)))
        keep = ref > np.finfo(dtype).tiny
        out = cr.sigmoid(cr.tensor(x)).numpy()
        assert np.max(np.abs(out - ref)[keep] / ref[keep]) < rtol


def test_sigmoid_float64_tail_is_not_flushed():
    assert cr.sigmoid(cr.tensor([-100.0], dtype=cr.float64)).item() == pytest.approx(np.exp(-100.0), rel=1e-15)


def test_leaky_relu_float64_gradient_is_exact():
    x = cr.tensor([2.0, -3.0, -0.5], dtype=cr.float64, requires_grad=True)
    cr.nn.functional.leaky_relu(x, 0.1).sum().backward()
    assert x.grad.dtype == cr.float64
    np.testing.assert_array_equal(x.grad.numpy(), np.array([1.0, 0.1, 0.1]))


def test_leaky_relu_float32_gradient_keeps_dtype():
    x = cr.tensor([2.0, -3.0], requires_grad=True)
    cr.leaky_relu(x, 0.1).sum().backward()
    assert x.grad.dtype == cr.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.array([1.0, 0.1], dtype=np.float32))


# -- the scatter-add behind the gradients of indexing (large enough for the flat-position path) --------------

def _rng_data(dtype=np.float64):
    rng = np.random.default_rng(1)
    return rng, rng.standard_normal((6, 5, 70)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gather_gradient_sums_repeated_positions_as_add_at(dtype):
    rng, x = _rng_data(dtype)
    index = rng.integers(0, 70, (6, 5, 300))
    g = rng.standard_normal(index.shape).astype(dtype)
    t = cr.tensor(x, requires_grad=True)
    cr.gather(t, 2, cr.tensor(index)).backward(cr.tensor(g))
    expected = np.zeros_like(x)
    np.add.at(expected, (np.arange(6)[:, None, None], np.arange(5)[None, :, None], index), g)
    np.testing.assert_array_equal(t.grad.numpy(), expected)


def test_index_select_and_getitem_gradients_with_repeats_and_negative_indices():
    rng, x = _rng_data()
    rows = rng.integers(-6, 6, 400)
    t = cr.tensor(x, requires_grad=True)
    (t[cr.tensor(rows)] * 2).sum().backward()
    expected = np.zeros_like(x)
    np.add.at(expected, rows, 2.0)
    np.testing.assert_array_equal(t.grad.numpy(), expected)
    t.grad = None
    cr.index_select(t, 2, cr.tensor(rows + 6)).sum().backward()
    expected = np.zeros_like(x)
    np.add.at(expected, (slice(None), slice(None), rows + 6), 1.0)
    np.testing.assert_array_equal(t.grad.numpy(), expected)


def test_take_along_dim_gradient_broadcast_upstream():
    rng, x = _rng_data()
    index = rng.integers(0, 70, (6, 5, 64))
    t = cr.tensor(x, requires_grad=True)
    cr.take_along_dim(t, cr.tensor(index), dim=2).sum().backward()  # NOTE: g is a broadcast view of ones
    expected = np.zeros_like(x)
    np.add.at(expected, (np.arange(6)[:, None, None], np.arange(5)[None, :, None], index), 1.0)
    np.testing.assert_array_equal(t.grad.numpy(), expected)


def test_large_gather_double_backward_forward_mode_and_vmap():
    rng, x = _rng_data()
    index = cr.tensor(rng.integers(0, 70, (6, 5, 300)))
    t = cr.tensor(x, requires_grad=True)
    (gx,) = cr.autograd.grad((cr.gather(t, 2, index) ** 2).sum(), t, create_graph=True)
    (ggx,) = cr.autograd.grad((gx * gx).sum(), t)
    counts = np.zeros_like(x)
    np.add.at(counts, (np.arange(6)[:, None, None], np.arange(5)[None, :, None], index.numpy()), 1.0)
    np.testing.assert_allclose(gx.detach().numpy(), 2 * counts * x)
    np.testing.assert_allclose(ggx.numpy(), 8 * counts ** 2 * x)
    v = cr.tensor(rng.standard_normal(x.shape))
    _, out_t = jvp(lambda a: cr.gather(a, 2, index), (cr.tensor(x),), (v,))
    np.testing.assert_array_equal(out_t.numpy(), np.take_along_axis(v.numpy(), index.numpy(), 2))
    grads = vmap(lambda a: cr.autograd.grad(cr.gather(a, 1, index[0]).sum(), a)[0])(
        cr.tensor(x, requires_grad=True))
    np.testing.assert_array_equal(grads.numpy(), np.broadcast_to(_counts(index.numpy()[0]), x.shape))


def _counts(index):
    out = np.zeros((5, 70))
    np.add.at(out, (np.arange(5)[:, None], index), 1.0)
    return out


# every unary op declared with arithmetic=True
ARITHMETIC = sorted(name for name, op in PRIMITIVES.items() if getattr(op, "arithmetic_local", None))


@pytest.mark.parametrize("name", ARITHMETIC)
@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_backward_on_arrays_equals_the_ops_bitwise(name, dtype):
    # A backward pass that records nothing computes g * local on the arrays; one that records (create_graph)
    # runs the ops. Both must give the same bits, at ordinary values and at inf/nan/0.
    values = [0.3, 1.7, 0.0, -0.0, 2.5, float("inf"), float("nan"), 1e-30]
    x = cr.tensor(values, dtype=dtype, requires_grad=True)
    g = cr.tensor([0.5, -1.25, 3.0, 1.0, -2.0, 1.0, 1.0, 7.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = getattr(cr, name)(x)
        (plain,) = cr.autograd.grad(out, x, g, retain_graph=True)
        (recorded,) = cr.autograd.grad(out, x, g, create_graph=True)
    assert plain.dtype == recorded.dtype == dtype
    np.testing.assert_array_equal(plain.numpy(), recorded.detach().numpy())
    assert plain.numpy().tobytes() == recorded.detach().numpy().tobytes()


def test_mul_backward_on_arrays_keeps_broadcasting_and_masks():
    x = cr.randn(3, 4, requires_grad=True)
    y = cr.randn(4, requires_grad=True)
    mask = x.detach() > 0
    (x * y * mask).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(y.detach().numpy(), (3, 4)) * mask.numpy())
    np.testing.assert_allclose(y.grad.numpy(), (x.detach().numpy() * mask.numpy()).sum(0), rtol=1e-6)
    assert x.grad.dtype == y.grad.dtype == cr.float32


def test_vmap_of_a_matmul_with_one_batched_operand_is_one_matrix_product():
    # issue 11: the batch of rows goes through one product, so it is bitwise the unbatched product of those rows,
    # and vmap(jacrev(f)) agrees with jacrev of the summed function to allclose's default tolerance, as in torch.
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((64, 32)).astype(np.float32))
    w = cr.tensor(rng.standard_normal((32, 48)).astype(np.float32))
    rows = vmap(lambda r: r @ w)(x)
    assert rows.numpy().tobytes() == (x @ w).numpy().tobytes()
    matrices = vmap(lambda m: m @ w)(x.reshape(8, 8, 32))
    assert matrices.numpy().tobytes() == (x @ w).reshape(8, 8, 48).numpy().tobytes()
    cols = vmap(lambda c: w.t() @ c, in_dims=1, out_dims=1)(x.t())
    assert cols.numpy().tobytes() == (w.t() @ x.t()).numpy().tobytes()
    per_sample_matrices = vmap(lambda m: w.t() @ m)(x.reshape(4, 16, 32).permute(0, 2, 1))  # (4, 48, 16)
    np.testing.assert_allclose(per_sample_matrices.numpy(), np.einsum("km,bkn->bmn", w.numpy(),
                                                                      x.numpy().reshape(4, 16, 32).transpose(0, 2, 1)),
                               rtol=1e-5, atol=1e-5)
    f = lambda v: cr.tanh(v @ w)  # noqa: E731
    per_sample = vmap(cr.func.jacrev(f))(x)
    summed = cr.func.jacrev(lambda v: f(v).sum(0))(x).permute(1, 0, 2)
    assert per_sample.shape == summed.shape == (64, 48, 32)
    assert np.allclose(per_sample.numpy(), summed.numpy())


def test_hessian_through_batched_columns_matches_its_closed_form():
    # jacfwd(jacrev) batches A @ (columns): one GEMM per level; the Hessian of sum(tanh(A x)) is A^T diag(d) A
    rng = np.random.default_rng(1)
    a = rng.standard_normal((30, 20)) / 5
    x = rng.standard_normal(20)
    t = np.tanh(a @ x)
    expected = a.T @ ((-2 * t * (1 - t * t))[:, None] * a)
    hessian = cr.func.hessian(lambda v: cr.tanh(cr.tensor(a) @ v).sum())(cr.tensor(x))
    np.testing.assert_allclose(hessian.numpy(), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("layout", ["plain", "x transposed", "y transposed"])
def test_matrix_product_backward_on_arrays_equals_the_ops_bitwise(layout):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((7, 5)).astype(np.float32)
    b = rng.standard_normal((5, 6)).astype(np.float32)
    x = cr.tensor(a.T.copy() if layout == "x transposed" else a, requires_grad=True)
    y = cr.tensor(b.T.copy() if layout == "y transposed" else b, requires_grad=True)
    xs = x.t() if layout == "x transposed" else x
    ys = y.t() if layout == "y transposed" else y
    g = cr.tensor(rng.standard_normal((7, 6)).astype(np.float32))
    out = xs @ ys
    plain = cr.autograd.grad(out, (x, y), g, retain_graph=True)
    recorded = cr.autograd.grad(out, (x, y), g, create_graph=True)
    for p, r in zip(plain, recorded):
        assert p.numpy().tobytes() == r.detach().numpy().tobytes()
    np.testing.assert_allclose(plain[0].numpy(), (g.numpy() @ b.T).T if layout == "x transposed" else g.numpy() @ b.T,
                               rtol=1e-5)


def test_a_recorded_chain_keeps_few_objects_for_the_garbage_collector():
    # A deep graph's recording time is dominated by the collector's full passes, which walk every tracked
    # object: each op of y = y * c + d keeps its node, its edge tuple and (mul) its inputs tuple and the saved
    # tensor - no (node, 0) edge tuples, no tuple of version counters, no counter for a tensor never changed.
    x = cr.tensor(1.0, requires_grad=True)
    y = x * 1.0
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(1000):
        y = y * 1.0001 + 0.0001
    gc.collect()
    assert (len(gc.get_objects()) - before) / 1000 <= 6.01
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 1000, rel=1e-4)


def test_a_saved_input_changed_in_place_is_still_caught():
    # The versions a node keeps for its saved inputs are plain ints; the counters are read back from the inputs
    # (a tensor gets one only when first needed: here by the in-place op, or by a view made after the save).
    x = cr.ones(3, requires_grad=True)
    a = x * 2
    b = a * a
    a.add_(1)
    with pytest.raises(RuntimeError, match=r"mul: .*modified by the in-place op add_ .*version 1; expected 0"):
        b.sum().backward()
    c = x * 3
    d = c * c
    c.detach().mul_(2)  # through an alias made after c was saved: the two share the counter made then
    with pytest.raises(RuntimeError, match=r"mul: .*modified by the in-place op mul_ .*version 1; expected 0"):
        d.sum().backward()
