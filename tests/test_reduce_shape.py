"""Semantics of the reduction, shape and join families that the generic op tests do not reach.

Ties in max/amax (shared or routed like torch), prod's gradient at zeros, logsumexp's stability, var/std
corrections, dtype rules, views versus copies and the error messages; hand values throughout, plus an
optional cross-check against PyTorch when it is installed.
"""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.join import pad


def grad_of(fn, values, dtype=cr.float64):
    x = cr.tensor(values, dtype=dtype, requires_grad=True)
    out = fn(x)
    out = out[0] if isinstance(out, tuple) else out
    out.sum().backward()
    return x.grad.numpy()


# -- ties --------------------------------------------------------------------------------------------

def test_full_max_and_amax_share_tied_gradient_evenly():
    values = [[1.0, 3.0], [3.0, 0.0]]
    for fn in (cr.max, cr.amax, lambda x: x.max()):
        np.testing.assert_array_equal(grad_of(fn, values), [[0.0, 0.5], [0.5, 0.0]])
    np.testing.assert_array_equal(grad_of(cr.min, [2.0, -1.0, -1.0, -1.0]), [0.0, 1 / 3, 1 / 3, 1 / 3])


def test_amax_over_dims_shares_within_each_slice():
    g = grad_of(lambda x: cr.amax(x, 1), [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [5.0, -1.0, 4.0]])
    np.testing.assert_allclose(g, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3], [1, 0, 0]])
    g = grad_of(lambda x: cr.amin(x, (0, 2), keepdim=True), [[[1.0, 0.0]], [[0.0, 4.0]]])
    np.testing.assert_allclose(g, [[[0, 0.5]], [[0.5, 0]]])


def test_max_with_dim_routes_the_gradient_to_the_returned_index():
    values = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]
    out = cr.max(cr.tensor(values), 1)
    assert out.indices.tolist() == [1, 0]  # the first maximum, as torch on the CPU
    np.testing.assert_array_equal(grad_of(lambda x: cr.max(x, 1), values), [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(grad_of(lambda x: x.min(0).values, values), [[1, 0, 0], [0, 1, 1]])


def test_inf_norm_ties_share_with_signs():
    g = grad_of(lambda x: cr.norm(x, math.inf), [1.0, -3.0, 3.0])
    np.testing.assert_allclose(g, [0.0, -0.5, 0.5])


def test_max_with_dim_returns_named_values_and_int64_indices_without_gradient():
    x = cr.tensor([[1.0, 5.0], [7.0, 2.0]], requires_grad=True)
    out = x.max(dim=1, keepdim=True)
    values, indices = out
    assert type(out).__name__ == "max" and out.values is values and out.indices is indices
    assert values.tolist() == [[5.0], [7.0]] and indices.tolist() == [[1], [0]]
    assert indices.dtype == cr.int64 and not indices.requires_grad
    assert values.grad_fn.name() == "MaxBackward0" and repr(values).endswith("grad_fn=<MaxBackward0>)")
    assert type(cr.min(x, 0)).__name__ == "min"
    np.testing.assert_array_equal(cr.max(x, cr.tensor(3.0)).detach().numpy(), [[3, 5], [7, 3]])
    scalar = cr.max(cr.tensor(4.0), 0)
    assert scalar.values.item() == 4.0 and scalar.indices.item() == 0 and scalar.indices.shape == ()


def test_argmax_and_argmin_follow_torch():
    x = cr.tensor([[1.0, 9.0, 9.0], [4.0, 0.0, 4.0]])
    assert cr.argmax(x).item() == 1 and cr.argmin(x).item() == 4
    assert cr.argmax(x, 1).tolist() == [1, 0] and cr.argmin(x, 1, keepdim=True).tolist() == [[0], [1]]
    assert cr.argmax(x, keepdim=True).shape == (1, 1) and cr.argmax(x).dtype == cr.int64
    assert cr.argmax(cr.tensor(2.0)).item() == 0


# -- prod ----------------------------------------------------------------------------------------------

def test_prod_gradient_with_one_zero_is_the_product_of_the_others():
    np.testing.assert_allclose(grad_of(cr.prod, [2.0, 0.0, 3.0]), [0.0, 6.0, 0.0])
    np.testing.assert_allclose(grad_of(lambda x: cr.prod(x, 1), [[2.0, 0.0, 3.0], [1.0, 2.0, 4.0]]),
                               [[0.0, 6.0, 0.0], [8.0, 4.0, 2.0]])


def test_prod_gradient_with_two_zeros_is_zero_but_its_hessian_is_not():
    np.testing.assert_array_equal(grad_of(cr.prod, [0.0, 5.0, 0.0]), [0.0, 0.0, 0.0])
    x = cr.tensor([0.0, 5.0, 0.0], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(cr.prod(x), x, create_graph=True)
    hessian = [cr.autograd.grad(g[i], x, retain_graph=True)[0].tolist() for i in range(3)]
    # d2 prod / dx0 dx2 = x1 = 5: the two zeros see each other.
    np.testing.assert_allclose(hessian, [[0, 0, 5], [0, 0, 0], [5, 0, 0]])


def test_prod_gradient_with_three_zeros_and_its_hessian_vanish():
    x = cr.tensor([0.0, 0.0, 2.0, 0.0], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(cr.prod(x), x, create_graph=True)
    assert g.tolist() == [0.0] * 4
    assert cr.autograd.grad(g.sum(), x)[0].tolist() == [0.0] * 4


def test_prod_dtypes_and_single_dim():
    assert cr.prod(cr.tensor([1, 2, 3])).dtype == cr.int64
    assert cr.prod(cr.tensor([True, True])).item() == 1
    assert cr.prod(cr.tensor([1.5, 2.0]), dtype=cr.float64).dtype == cr.float64
    assert cr.prod(cr.zeros(0, 3), 0).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match="prod: dim must be an int"):
        cr.prod(cr.ones(2, 3), (0, 1))


# -- logsumexp, var, std, norm -------------------------------------------------------------------------

def test_logsumexp_is_finite_for_huge_inputs():
    x = cr.tensor([1e4, 1e4], requires_grad=True)
    out = cr.logsumexp(x, 0)
    assert out.item() == pytest.approx(1e4 + math.log(2))
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5])
    assert cr.logsumexp(cr.tensor([-1e4, -1e4]), 0).item() == pytest.approx(-1e4 + math.log(2))
    assert cr.logsumexp(cr.tensor([-math.inf, -math.inf]), 0).item() == -math.inf
    assert cr.logsumexp(cr.tensor([math.inf, 0.0]), 0).item() == math.inf
    assert cr.logsumexp(cr.zeros(0, 2), 0).tolist() == [-math.inf, -math.inf]
    assert cr.logsumexp(cr.tensor([1, 2]), 0).dtype == cr.float32


def test_var_and_std_corrections():
    x = cr.tensor([1.0, 2.0, 3.0, 4.0], dtype=cr.float64)
    assert cr.var(x).item() == pytest.approx(5 / 3)
    assert cr.var(x, correction=0).item() == pytest.approx(1.25)
    assert cr.var(x, unbiased=False).item() == pytest.approx(1.25)
    assert cr.var(x, False).item() == pytest.approx(1.25)  # torch's var(input, unbiased) overload
    assert cr.var(x, correction=2).item() == pytest.approx(2.5)
    assert cr.var(x, correction=0.5).item() == pytest.approx(5 / 3.5)
    assert cr.std(x).item() == pytest.approx(math.sqrt(5 / 3))
    assert x.std(0, True, True).shape == (1,)
    m = cr.tensor([[1.0, 3.0], [2.0, 6.0]])
    np.testing.assert_allclose(cr.var(m, 1).numpy(), [2.0, 8.0])
    np.testing.assert_allclose(cr.std(m, 0, keepdim=True, correction=0).numpy(), [[0.5, 1.5]])


def test_var_with_no_degrees_of_freedom_warns_and_gives_nan_or_inf():
    with pytest.warns(RuntimeWarning, match="degrees of freedom"):
        assert math.isnan(cr.var(cr.tensor([1.0])).item())
    with pytest.warns(RuntimeWarning, match="degrees of freedom"):
        assert cr.var(cr.tensor([1.0, 2.0]), correction=3).item() == math.inf


def test_std_gradient_of_a_constant_input_is_zero():
    np.testing.assert_array_equal(grad_of(cr.std, [2.0, 2.0, 2.0]), [0.0, 0.0, 0.0])


def test_var_std_and_norm_refuse_integer_input():
    for fn in (cr.var, cr.std, cr.norm):
        with pytest.raises(RuntimeError, match="floating point"):
            fn(cr.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="unbiased.*correction"):
        cr.var(cr.ones(3), unbiased=True, correction=0)
    assert cr.norm(cr.tensor([3, 4]), dtype=cr.float64).item() == 5.0


def test_norm_values_and_subgradient_at_zero():
    x = cr.tensor([3.0, -4.0, 0.0])
    assert cr.norm(x).item() == 5.0 and cr.norm(x, "fro").item() == 5.0
    assert cr.norm(x, 1).item() == 7.0 and cr.norm(x, 0).item() == 2.0
    assert cr.norm(x, math.inf).item() == 4.0 and cr.norm(x, -math.inf).item() == 0.0
    assert cr.norm(x, 3).item() == pytest.approx(91 ** (1 / 3))
    np.testing.assert_array_equal(grad_of(cr.norm, [0.0, 0.0]), [0.0, 0.0])
    np.testing.assert_array_equal(grad_of(lambda x: cr.norm(x, 3), [0.0, 0.0]), [0.0, 0.0])
    np.testing.assert_allclose(grad_of(lambda x: cr.norm(x, 0.5), [0.0, 1.0, 4.0]), [0.0, 3.0, 1.5])
    np.testing.assert_array_equal(grad_of(lambda x: cr.norm(x, 0), [0.0, 2.0]), [0.0, 0.0])
    with pytest.raises(RuntimeError, match="'nuc' is not supported"):
        cr.norm(cr.ones(2, 2), "nuc")


# -- cumsum, all, any ----------------------------------------------------------------------------------

def test_cumsum_values_gradient_and_dtypes():
    assert cr.cumsum(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), 0).tolist() == [[1, 2], [4, 6]]
    np.testing.assert_array_equal(grad_of(lambda x: cr.cumsum(x, 0), [1.0, 1.0, 1.0]), [3, 2, 1])
    assert cr.cumsum(cr.tensor([True, True]), 0).dtype == cr.int64
    assert cr.cumsum(cr.tensor([1, 2], dtype=cr.int32), 0).dtype == cr.int64
    assert cr.cumsum(cr.tensor([1, 2]), 0, dtype=cr.float64).dtype == cr.float64
    assert cr.cumsum(cr.tensor(2.0), 0).item() == 2.0


def test_all_and_any_return_bool_without_gradient():
    x = cr.tensor([[1.0, 0.0], [2.0, 3.0]], requires_grad=True)
    assert cr.all(x).item() is False and cr.any(x).item() is True
    assert cr.all(x, 1).tolist() == [False, True] and x.any(0, keepdim=True).tolist() == [[True, True]]
    assert cr.all(x).dtype == cr.bool and not cr.any(x).requires_grad
    assert cr.all(cr.zeros(0)).item() is True and cr.any(cr.zeros(0)).item() is False


def test_reduction_dtypes_follow_torch():
    ints = cr.tensor([[3, 1], [2, 5]], dtype=cr.int32)
    assert cr.max(ints).dtype == cr.int32 and cr.amax(ints, 0).tolist() == [3, 5]
    assert cr.max(ints, 1).values.dtype == cr.int32
    x32 = cr.ones(2, 3)
    assert cr.var(x32).dtype == cr.float32 and cr.norm(x32).dtype == cr.float32
    assert cr.logsumexp(x32, 1).dtype == cr.float32 and cr.prod(x32).dtype == cr.float32


# -- shape and join ops ----------------------------------------------------------------------------------

def test_cat_promotes_and_skips_legacy_empty_vectors():
    a = cr.ones(2, 2)
    assert cr.cat([a, cr.ones(2, 1, dtype=cr.int64)], 1).dtype == cr.float32
    assert cr.cat([a, a.double()]).dtype == cr.float64
    assert cr.cat([cr.tensor([1], dtype=cr.int32), cr.tensor([2])]).dtype == cr.int64
    assert cr.cat([a, cr.zeros(0)]).shape == (2, 2)
    assert cr.concatenate([a, a], axis=1).shape == (2, 4) and cr.concat([a, a]).shape == (4, 2)


def test_cat_gradient_splits_back_to_each_input():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.tensor([[3.0]], requires_grad=True)
    out = cr.cat([x.reshape(1, 2), y], 1)
    assert repr(out).endswith("grad_fn=<CatBackward0>)")
    (out * cr.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0] and y.grad.tolist() == [[3.0]]


def test_split_chunk_and_unbind_match_torch_sizes():
    x = cr.arange(5)
    assert [p.tolist() for p in cr.split(x, 2)] == [[0, 1], [2, 3], [4]]
    assert [p.tolist() for p in x.split([1, 4])] == [[0], [1, 2, 3, 4]]
    assert [p.shape[0] for p in cr.chunk(cr.arange(6), 4)] == [2, 2, 2]
    assert [p.shape[0] for p in cr.chunk(cr.arange(0), 3)] == [0, 0, 0]
    assert [p.shape for p in cr.split(cr.arange(0), 2)] == [(0,)]
    assert [p.tolist() for p in cr.unbind(cr.tensor([[1, 2], [3, 4]]), 1)] == [[1, 3], [2, 4]]


def test_split_gradient_reaches_only_used_pieces():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    first, rest = cr.split(x, [1, 2])
    (rest * 2).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 2.0] and first.grad_fn.name() == "SliceBackward0"


def test_roll_flip_repeat_tile():
    assert cr.roll(cr.arange(5), 2).tolist() == [3, 4, 0, 1, 2]
    assert cr.roll(cr.arange(6).reshape(2, 3), -1, 1).tolist() == [[1, 2, 0], [4, 5, 3]]
    assert cr.flip(cr.tensor([[1, 2], [3, 4]]), (0, 1)).tolist() == [[4, 3], [2, 1]]
    assert cr.tensor([[1, 2], [3, 4]]).flip(1).tolist() == [[2, 1], [4, 3]]
    assert cr.tensor([1, 2]).repeat(2, 2).tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]
    assert cr.tile(cr.tensor([[1, 2]]), (2,)).tolist() == [[1, 2, 1, 2]]
    np.testing.assert_array_equal(grad_of(lambda x: x.repeat(3), [1.0, 2.0]), [3.0, 3.0])


def test_flip_copies_while_narrow_is_a_view():
    x = cr.tensor([1.0, 2.0, 3.0])
    flipped, narrowed = cr.flip(x, 0), cr.narrow(x, 0, 1, 2)
    flipped._data[0] = 9.0
    assert x.tolist() == [1.0, 2.0, 3.0]
    narrowed._data[0] = 7.0
    assert x.tolist() == [1.0, 7.0, 3.0]


def test_diagonals_triangles_and_unflatten():
    m = cr.arange(12.0).reshape(3, 4)
    assert cr.diagonal(m).tolist() == [0, 5, 10] and cr.diagonal(m, 1).tolist() == [1, 6, 11]
    assert cr.diagonal(m, 5).shape == (0,)
    assert cr.diag(cr.tensor([1, 2]), 1).tolist() == [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    assert cr.diag(m, -1).tolist() == [4, 9]
    np.testing.assert_array_equal(grad_of(cr.diagonal, np.ones((2, 3))), [[1, 0, 0], [0, 1, 0]])
    assert cr.tril(m).tolist()[0] == [0, 0, 0, 0] and cr.triu(m, 1).tolist()[2] == [0, 0, 0, 11]
    assert cr.triu(cr.ones(2, 2, dtype=cr.bool)).dtype == cr.bool
    assert cr.unflatten(m, 1, (2, -1)).shape == (3, 2, 2) and m.unflatten(0, [1, 3]).shape == (1, 3, 4)


def test_pad_modes_hand_values():
    x = cr.tensor([[1.0, 2.0, 3.0]])
    assert pad(x, (1, 2)).tolist() == [[0, 1, 2, 3, 0, 0]]
    assert pad(x, (1, 1), value=9.0).tolist() == [[9, 1, 2, 3, 9]]
    assert pad(x, (-1, 1)).tolist() == [[2, 3, 0]]
    assert pad(x, (2, 1), mode="reflect").tolist() == [[3, 2, 1, 2, 3, 2]]
    assert pad(x, (2, 1), mode="replicate").tolist() == [[1, 1, 1, 2, 3, 3]]
    assert pad(x, (2, 1), mode="circular").tolist() == [[2, 3, 1, 2, 3, 1]]
    assert pad(x, (-1, 1), mode="circular").tolist() == [[2, 3, 2]]
    assert pad(x, (0, 0, 1, 0)).shape == (2, 3)
    assert repr(pad(cr.ones(1, requires_grad=True), (1, 0))).endswith("grad_fn=<ConstantPadNdBackward0>)")
    np.testing.assert_array_equal(grad_of(lambda t: pad(t, (2, 1), mode="reflect"), [[1.0, 2.0, 3.0]]),
                                  [[1.0, 3.0, 2.0]])
    assert "pad" not in cr.ops.__all__ and not hasattr(cr, "pad")


# -- errors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, match", [
    (lambda: cr.sum(cr.ones(2, 3), 2), IndexError, r"sum: dimension out of range.*\[-2, 1\].*got 2"),
    (lambda: cr.amax(cr.ones(2, 3), (0, -2)), RuntimeError, "amax: dim .* appears multiple times"),
    (lambda: cr.max(cr.ones(2, 3), 3), IndexError, "max: dimension out of range"),
    (lambda: cr.cumsum(cr.ones(2), 1), IndexError, "cumsum: dimension out of range"),
    (lambda: cr.amax(cr.zeros(0, 3), 0), IndexError, r"amax: expected reduction dim 0 to have non-zero size"),
    (lambda: cr.max(cr.zeros(0, 3)), RuntimeError, "max: expected reduction dim to be specified"),
    (lambda: cr.argmax(cr.zeros(0)), IndexError, "argmax: expected reduction dim to be specified"),
    (lambda: cr.cat([cr.ones(2, 3), cr.ones(2, 4)]), RuntimeError,
     r"cat: sizes of tensors must match except in dimension 0, but got shapes \(2, 3\) \(entry 0\) and "
     r"\(2, 4\) \(entry 1\)"),
    (lambda: cr.cat([cr.ones(2, 3), cr.ones(3)]), RuntimeError, r"cat: .*\(2, 3\).*\(3,\)"),
    (lambda: cr.cat([]), ValueError, "cat: expected a non-empty list"),
    (lambda: cr.cat(cr.ones(2)), TypeError, "cat: argument 'tensors' must be a tuple or list"),
    (lambda: cr.cat([cr.ones(2), 1.0]), TypeError, "cat: expected Tensor as element 1"),
    (lambda: cr.cat([cr.tensor(1.0)]), RuntimeError, "cat: zero-dimensional tensor"),
    (lambda: cr.cat([cr.ones(2)], 1), IndexError, "cat: dimension out of range"),
    (lambda: cr.stack([cr.ones(2, 3), cr.ones(2, 4)]), RuntimeError,
     r"stack: expects each tensor to be equal size, but got \(2, 3\) at entry 0 and \(2, 4\) at entry 1"),
    (lambda: cr.stack([]), RuntimeError, "stack: expects a non-empty list"),
    (lambda: cr.split(cr.ones(5), [2, 2]), RuntimeError, r"split: split_sizes .* sum exactly to 5"),
    (lambda: cr.split(cr.ones(5), 0), RuntimeError, "split: split_size must be positive"),
    (lambda: cr.split(cr.ones(5), [1.0, 4.0]), TypeError, "split: .* must be an int or a tuple of ints"),
    (lambda: cr.chunk(cr.ones(5), 0), RuntimeError, "chunk: expects `chunks` to be greater than 0"),
    (lambda: cr.unbind(cr.tensor(1.0)), IndexError, "unbind: expected a tensor with at least one dimension"),
    (lambda: cr.narrow(cr.ones(3, 4), 1, 3, 2), RuntimeError, r"narrow: start \(3\) \+ length \(2\) exceeds"),
    (lambda: cr.narrow(cr.ones(3), 0, 0, -1), RuntimeError, "narrow: length must be non-negative"),
    (lambda: cr.narrow(cr.ones(3), 0, 5, 0), IndexError, "narrow: start out of range"),
    (lambda: cr.flip(cr.ones(2, 3), (0, 0)), RuntimeError, "flip: dim .* appears multiple times"),
    (lambda: cr.roll(cr.ones(2, 3), (1, 1)), RuntimeError, "roll: shifts .* and dims must align"),
    (lambda: cr.roll(cr.ones(2, 3), (1, 1), 0), RuntimeError, "roll: shifts and dimensions must align"),
    (lambda: cr.ones(2, 3).repeat(2), RuntimeError, "repeat: number of dimensions of repeat dims"),
    (lambda: cr.ones(2).repeat(-1), RuntimeError, "repeat: repeats must be non-negative"),
    (lambda: cr.tile(cr.ones(2), 2.0), TypeError, "tile: argument 'dims'"),
    (lambda: cr.diag(cr.ones(2, 2, 2)), RuntimeError, "diag: supports 1D or 2D tensors, got 3D"),
    (lambda: cr.diagonal(cr.ones(2, 2), 0, 1, 1), RuntimeError, "diagonal: dim1 and dim2 must be two"),
    (lambda: cr.tril(cr.ones(3)), RuntimeError, "tril: input tensor must have at least 2 dimensions"),
    (lambda: cr.unflatten(cr.ones(3, 4), 1, (3, -1)), RuntimeError, "unflatten: shape .* is invalid"),
    (lambda: cr.unflatten(cr.ones(3, 4), 1, ()), RuntimeError, "unflatten: sizes must be non-empty"),
    (lambda: pad(cr.ones(2, 3), (1,)), RuntimeError, "pad: padding length must be divisible by 2"),
    (lambda: pad(cr.ones(2, 3), (1, 1) * 3), RuntimeError, "pad: padding length should be at most twice"),
    (lambda: pad(cr.ones(2, 3), (1, 1), mode="foo"), NotImplementedError, "unrecognised padding mode 'foo'"),
    (lambda: pad(cr.ones(2, 3), (3, 0), mode="reflect"), RuntimeError, r"pad: padding \(3, 0\) should be"),
    (lambda: pad(cr.ones(2, 3), (4, 0), mode="circular"), RuntimeError, "pad: .* wraps around more than"),
    (lambda: pad(cr.ones(2, 3), (1, 1), mode="reflect", value=1.0), RuntimeError, "doesn't take a value"),
    (lambda: pad(cr.ones(3), (1, 1), mode="replicate"), NotImplementedError, "padding size 2 is not"),
    (lambda: pad(cr.ones(2, 3), (-2, -2)), RuntimeError, "pad: negative padding .* removes more"),
    (lambda: pad(cr.ones(2, 3), (1.5, 1)), TypeError, "pad: argument 'pad' must be an int or a tuple of ints"),
])
def test_errors_name_the_op_and_what_is_valid(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- cross-check against PyTorch (optional) ----------------------------------------------------------

_A = np.random.default_rng(0).standard_normal((3, 4))
_TIES = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [5.0, -1.0, 5.0, 4.0]])
_ZEROS = np.array([[0.0, 2.0, 0.0, 1.5], [1.0, 0.0, 3.0, 2.0], [0.5, 1.0, 2.0, 4.0]])
TORCH_CASES = {
    "prod_zeros": (lambda m, x: m.prod(x, 1), _ZEROS),
    "max_ties": (lambda m, x: m.max(x), _TIES),
    "max_dim_ties": (lambda m, x: m.max(x, 1)[0], _TIES),
    "amin_ties": (lambda m, x: m.amin(x, 0), _TIES),
    "norm_inf_ties": (lambda m, x: m.norm(x, float("inf"), 1), _TIES),
    "norm_p3": (lambda m, x: m.norm(x, 3, 0), _A),
    "std_dims": (lambda m, x: m.std(x, (0, 1), correction=0), _A),
    "logsumexp": (lambda m, x: m.logsumexp(x, 1), _A * 1e3),
    "cumsum": (lambda m, x: m.cumsum(x, 0), _A),
    "roll": (lambda m, x: m.roll(x, (1, -2), (0, 1)), _A),
    "unbind": (lambda m, x: m.unbind(x, 1)[2], _A),
    "chunk": (lambda m, x: m.chunk(x, 3, 1)[1], _A),
    "diagonal": (lambda m, x: m.diagonal(x, -1), _A),
    "triu": (lambda m, x: m.triu(x, -1), _A),
    "tile": (lambda m, x: m.tile(x, (2, 1, 2)), _A),
}


@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_matches_torch_forward_and_gradient(name):
    torch = pytest.importorskip("torch")
    fn, values = TORCH_CASES[name]
    x, xt = cr.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    out, out_t = fn(cr, x), fn(torch, xt)
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=1e-12)
    weights = np.random.default_rng(1).standard_normal(tuple(out_t.shape))
    (out * cr.tensor(weights)).sum().backward()
    (out_t * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_pad_matches_torch():
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(2).standard_normal((2, 3, 4))
    for args in [((1, 2, -1, 1), "constant"), ((2, 1, 1, 2), "reflect"), ((3, 1), "replicate"),
                 ((1, 3, 2, 0), "circular")]:
        x, xt = cr.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
        out, out_t = pad(x, *args), torch.nn.functional.pad(xt, *args)
        np.testing.assert_array_equal(out.detach().numpy(), out_t.detach().numpy())
        weights = np.random.default_rng(3).standard_normal(tuple(out_t.shape))
        (out * cr.tensor(weights)).sum().backward()
        (out_t * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
