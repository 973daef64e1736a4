"""conv2d and pooling against loop references (stride, padding, dilation, groups, 'same', ceil_mode), gradcheck."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(0)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    kh, kw = w.shape[2:]
    if padding == "same":
        th, tw = dh * (kh - 1), dw * (kw - 1)
        pads = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
    else:
        ph, pw = (0, 0) if padding == "valid" else pair(padding)
        pads = ((ph, ph), (pw, pw))
    x = np.pad(x, ((0, 0), (0, 0)) + pads)
    n, _, h, wd = x.shape
    c_out, c_group = w.shape[:2]
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (wd - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c_out, oh, ow))
    for o in range(c_out):
        g = o // (c_out // groups)
        for i in range(oh):
            for j in range(ow):
                patch = x[:, g * c_group:(g + 1) * c_group, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                          j * sw:j * sw + dw * (kw - 1) + 1:dw]
                out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3)) + (0 if b is None else b[o])
    return out


CONV_CASES = [
    dict(),
    dict(stride=2, padding=1),
    dict(padding="same", dilation=2),
    dict(padding="same"),  # even kernel width: one more zero on the right, as torch
    dict(padding="valid", stride=(1, 2)),
    dict(groups=2, stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
]


@pytest.mark.parametrize("kw", CONV_CASES)
def test_conv2d_matches_loop_reference(kw):
    groups = kw.get("groups", 1)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((6, 4 // groups, 3, 2))
    b = rng.standard_normal(6)
    out = F.conv2d(cr.tensor(x), cr.tensor(w), cr.tensor(b), **kw)
    np.testing.assert_allclose(out.numpy(), conv2d_ref(x, w, b, **kw), rtol=1e-10, atol=1e-12)
    if kw.get("padding") == "same":
        assert out.shape[2:] == (7, 6)


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1), dict(groups=2, dilation=(2, 1), padding="same")])
def test_conv2d_gradcheck_input_weight_bias_and_second_order(kw):
    groups = kw.get("groups", 1)
    x = cr.tensor(rng.standard_normal((2, 2, 5, 4)), requires_grad=True)
    w = cr.tensor(rng.standard_normal((2, 2 // groups, 3, 2)), requires_grad=True)
    b = cr.tensor(rng.standard_normal(2), requires_grad=True)
    assert gradcheck(lambda *t: F.conv2d(*t, **kw), (x, w, b))
    assert gradgradcheck(lambda *t: F.conv2d(*t, **kw), (x, w, b))


def test_conv2d_unbatched_and_no_bias():
    x, w = rng.standard_normal((3, 5, 5)), rng.standard_normal((2, 3, 3, 3))
    out = F.conv2d(cr.tensor(x), cr.tensor(w))
    np.testing.assert_allclose(out.numpy(), conv2d_ref(x[None], w)[0], atol=1e-12)


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.conv2d(cr.randn(1, 2, 5, 5), cr.randn(3, 3, 3, 3)), RuntimeError, "to have 3 channels"),
    (lambda: F.conv2d(cr.randn(5, 5), cr.randn(3, 2, 3, 3)), RuntimeError, "3D \\(unbatched\\) or 4D"),
    (lambda: F.conv2d(cr.randn(1, 2, 2, 2), cr.randn(3, 2, 3, 3)), RuntimeError, "too small"),
    (lambda: F.conv2d(cr.randn(1, 2, 5, 5), cr.randn(3, 2, 3, 3), stride=2, padding="same"), RuntimeError,
     "strided"),
    (lambda: F.conv2d(cr.randn(1, 4, 5, 5), cr.randn(3, 2, 3, 3), groups=2), RuntimeError, "divisible by 2"),
    (lambda: F.conv2d(cr.randn(1, 2, 5, 5), cr.randn(3, 2, 3, 3, dtype=cr.float64)), RuntimeError, "dtype"),
])
def test_conv2d_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- pooling ---------------------------------------------------------------------------------------

def pool_windows(h, k, s, p, d, ceil_mode):
    """Start of each window along one dimension, with torch's ceil_mode rule."""
    extent = d * (k - 1) + 1
    count = (h + 2 * p - extent + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (count - 1) * s >= h + p:
        count -= 1
    return [i * s - p for i in range(count)]


def max_pool_ref(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    (kh, kw), (ph, pw), (dh, dw) = pair(kernel_size), pair(padding), pair(dilation)
    sh, sw = pair(stride if stride is not None else kernel_size)
    h, w = x.shape[-2:]
    rows, cols = pool_windows(h, kh, sh, ph, dh, ceil_mode), pool_windows(w, kw, sw, pw, dw, ceil_mode)
    out = np.empty(x.shape[:2] + (len(rows), len(cols)))
    for a, r in enumerate(rows):
        for b, c in enumerate(cols):
            ii = [r + dh * i for i in range(kh) if 0 <= r + dh * i < h]
            jj = [c + dw * j for j in range(kw) if 0 <= c + dw * j < w]
            out[:, :, a, b] = x[:, :, ii][:, :, :, jj].max(axis=(2, 3))
    return out


def avg_pool_ref(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
    (kh, kw), (ph, pw) = pair(kernel_size), pair(padding)
    sh, sw = pair(stride if stride is not None else kernel_size)
    h, w = x.shape[-2:]
    rows, cols = pool_windows(h, kh, sh, ph, 1, ceil_mode), pool_windows(w, kw, sw, pw, 1, ceil_mode)
    out = np.empty(x.shape[:2] + (len(rows), len(cols)))
    for a, r in enumerate(rows):
        for b, c in enumerate(cols):
            r1, c1 = min(r + kh, h + ph), min(c + kw, w + pw)
            window = x[:, :, max(r, 0):min(r1, h), max(c, 0):min(c1, w)]
            if divisor_override:
                divisor = divisor_override
            elif count_include_pad:
                divisor = (r1 - r) * (c1 - c)
            else:
                divisor = window.shape[2] * window.shape[3]
            out[:, :, a, b] = window.sum(axis=(2, 3)) / divisor
    return out


MAX_CASES = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
             dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
             dict(kernel_size=(2, 3), dilation=2, stride=(2, 2), ceil_mode=True)]
AVG_CASES = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
             dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
             dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
             dict(kernel_size=(2, 3), stride=(3, 2), ceil_mode=True),
             dict(kernel_size=3, padding=1, divisor_override=2)]


@pytest.mark.parametrize("kw", MAX_CASES)
def test_max_pool2d_matches_reference(kw):
    x = rng.standard_normal((2, 3, 7, 6))
    np.testing.assert_allclose(F.max_pool2d(cr.tensor(x), **kw).numpy(), max_pool_ref(x, **kw))


@pytest.mark.parametrize("kw", AVG_CASES)
def test_avg_pool2d_matches_reference(kw):
    x = rng.standard_normal((2, 3, 7, 6))
    np.testing.assert_allclose(F.avg_pool2d(cr.tensor(x), **kw).numpy(), avg_pool_ref(x, **kw), rtol=1e-12)


def test_max_pool2d_indices_point_at_the_maxima():
    x = rng.standard_normal((2, 3, 7, 6))
    out, idx = F.max_pool2d(cr.tensor(x), 3, stride=2, padding=1, return_indices=True)
    flat = x.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, idx.numpy().reshape(2, 3, -1), 2),
                                  out.numpy().reshape(2, 3, -1))
    assert idx.dtype == cr.int64


def test_max_pool_gradient_goes_to_one_element_of_a_tie_as_torch():
    x = cr.zeros(1, 1, 2, 2, dtype=cr.float64, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 0], [0, 0]])


@pytest.mark.parametrize("pool, kw", [(F.max_pool2d, MAX_CASES[2]), (F.avg_pool2d, AVG_CASES[3]),
                                      (F.adaptive_avg_pool2d, dict(output_size=(2, 3)))])
def test_pooling_gradcheck(pool, kw):
    # NOTE: distinct, well separated values keep every window's maximum away from a tie.
    x = cr.tensor(rng.permutation(40).reshape(1, 2, 5, 4) * 0.1, requires_grad=True)
    assert gradcheck(lambda t: pool(t, **kw), (x,))
    assert gradgradcheck(lambda t: pool(t, **kw), (x,))


@pytest.mark.parametrize("size", [1, (3, 4), (5, None), (7, 6), (4, 3)])
def test_adaptive_avg_pool2d_windows(size):
    x = rng.standard_normal((2, 3, 7, 6))
    out = F.adaptive_avg_pool2d(cr.tensor(x), size).numpy()
    oh, ow = pair(size) if size != (5, None) else (5, 6)
    ref = np.empty((2, 3, oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, r1 = (i * 7) // oh, -(-(i + 1) * 7 // oh)
            c0, c1 = (j * 6) // ow, -(-(j + 1) * 6 // ow)
            ref[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    np.testing.assert_allclose(out, ref, rtol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: F.max_pool2d(cr.randn(1, 1, 5, 5), 2, padding=2), "at most half"),
    (lambda: F.max_pool2d(cr.randn(1, 1, 2, 2), 3), "too small"),
    (lambda: F.max_pool2d(cr.ones(1, 1, 4, 4, dtype=cr.int64), 2), "floating"),
    (lambda: F.avg_pool2d(cr.randn(4, 4), 2), "3D .* or 4D"),
])
def test_pooling_errors(call, match):
    with pytest.raises(RuntimeError, match=match):
        call()


def test_pool_modules_and_unbatched_input():
    x = cr.randn(3, 8, 8)
    assert nn.MaxPool2d(2)(x).shape == (3, 4, 4)
    assert nn.AvgPool2d(3, stride=1, padding=1)(x).shape == (3, 8, 8)
    assert nn.AdaptiveAvgPool2d(1)(x).shape == (3, 1, 1)
    out, idx = nn.MaxPool2d(2, return_indices=True)(x)
    assert out.shape == idx.shape == (3, 4, 4)
