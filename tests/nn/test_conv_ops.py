"""unfold (im2col) and fold (col2im): values against a loop reference, adjointness, and every derivative check."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd import forward_ad as fwAD
from chainrule.autograd import gradcheck, gradgradcheck

GEOMETRIES = [
    dict(kernel_size=2),
    dict(kernel_size=(2, 3), stride=(2, 1)),
    dict(kernel_size=3, padding=1, stride=2),
    dict(kernel_size=(3, 2), dilation=(2, 1), padding=(1, 2), stride=(1, 3)),
]


def unfold_ref(x, kernel_size, dilation=1, padding=0, stride=1):
    """Window by window, as the definition reads."""
    pair = lambda v: (v, v) if isinstance(v, int) else v
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = map(pair, (kernel_size, dilation, padding, stride))
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, c, h, w = x.shape
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c * kh * kw, oh * ow))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh, j * sw:j * sw + dw * (kw - 1) + 1:dw]
            out[:, :, i * ow + j] = patch.reshape(n, -1)
    return out


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_unfold_matches_window_reference(geometry):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    out = F.unfold(cr.tensor(x), **geometry)
    np.testing.assert_allclose(out.numpy(), unfold_ref(x, **geometry))


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_fold_is_the_adjoint_of_unfold(geometry):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7, 6))
    cols = unfold_ref(x, **geometry)
    c = rng.standard_normal(cols.shape)
    folded = F.fold(cr.tensor(c), (7, 6), **geometry).numpy()
    assert folded.shape == x.shape
    # <unfold(x), c> == <x, fold(c)>
    assert np.sum(cols * c) == pytest.approx(np.sum(x * folded), rel=1e-12)


def test_fold_of_unfold_counts_the_windows_covering_each_pixel():
    ones = cr.ones(1, 1, 4, 4, dtype=cr.float64)
    counts = F.fold(F.unfold(ones, 3), (4, 4), 3).numpy()[0, 0]
    np.testing.assert_array_equal(counts, [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])


def test_unbatched_shapes():
    x = cr.randn(3, 5, 5)
    assert F.unfold(x, 2).shape == (12, 16)
    assert F.fold(F.unfold(x, 2), (5, 5), 2).shape == (3, 5, 5)


@pytest.mark.parametrize("geometry", GEOMETRIES[2:])
def test_unfold_fold_gradcheck_and_second_order(geometry):
    x = cr.tensor(np.random.default_rng(2).standard_normal((1, 2, 5, 4)), requires_grad=True)
    assert gradcheck(lambda t: F.unfold(t, **geometry), (x,))
    assert gradgradcheck(lambda t: F.unfold(t, **geometry), (x,))
    cols = cr.tensor(unfold_ref(x.detach().numpy(), **geometry), requires_grad=True)
    assert gradcheck(lambda c: F.fold(c, (5, 4), **geometry), (cols,))
    assert gradgradcheck(lambda c: F.fold(c, (5, 4), **geometry), (cols,))


def test_forward_mode_of_unfold_and_fold_is_the_op_on_the_tangent():
    rng = np.random.default_rng(3)
    x, x_t = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 2, 5, 5))
    with fwAD.dual_level():
        out = F.unfold(fwAD.make_dual(cr.tensor(x), cr.tensor(x_t)), 3, padding=1)
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.numpy(), unfold_ref(x_t, 3, padding=1))
        back = F.fold(out, (5, 5), 3, padding=1)
        expected = F.fold(cr.tensor(unfold_ref(x_t, 3, padding=1)), (5, 5), 3, padding=1).numpy()
        np.testing.assert_allclose(fwAD.unpack_dual(back).tangent.numpy(), expected)


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.unfold(cr.randn(4, 4), 2), RuntimeError, "3-D .* or 4-D"),
    (lambda: F.unfold(cr.randn(1, 1, 2, 2), 3), RuntimeError, "too small"),
    (lambda: F.unfold(cr.randn(1, 1, 4, 4), 0), RuntimeError, "kernel_size must be positive"),
    (lambda: F.unfold(cr.randn(1, 1, 4, 4), "2"), TypeError, "int or a pair"),
    (lambda: F.fold(cr.randn(1, 7, 16), (5, 5), 2), RuntimeError, "divisible"),
    (lambda: F.fold(cr.randn(1, 8, 15), (5, 5), 2), RuntimeError, "sliding blocks 4 \\* 4 = 16"),
])
def test_errors_name_the_op_and_the_fix(call, error, match):
    with pytest.raises(error, match=match):
        call()
