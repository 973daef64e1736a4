"""unfold (im2col) and fold (col2im) of 'same' windows at stride 1 move whole flat planes by a shift instead of
strided rows (issue 11): they must give exactly what the strided windows give, padding value, inf and NaN
included, in 1, 2 and 3 spatial dims, for every split of the padding between the two sides."""

import itertools

import numpy as np
import pytest

from chainrule.ops._primitive import _Scratch
from chainrule.ops.conv import Fold, _same_size, _windows, im2col_array


def geometries():
    for nd, sizes in ((1, [(5,), (2,), (1,)]), (2, [(5, 4), (1, 6), (2, 2)]), (3, [(3, 4, 2)])):
        for size, k, d in itertools.product(sizes, (1, 2, 3, 5), (1, 2)):
            extent = d * (k - 1)
            for lo in range(extent + 1):
                yield size, (k,) * nd, (d,) * nd, ((lo, extent - lo),) * nd


def fold_by_loops(cols, size, kernel, dilation, padding):
    """col2im by adding each kernel offset's columns into a padded image, then cropping."""
    extent = tuple(lo + n + hi for n, (lo, hi) in zip(size, padding))
    image = cols.reshape(cols.shape[:1] + (-1,) + tuple(kernel) + tuple(size))
    out = np.zeros(image.shape[:2] + extent)
    for offset in itertools.product(*(range(k) for k in kernel)):
        index = tuple(slice(i * d, i * d + n) for i, d, n in zip(offset, dilation, size))
        out[(slice(None), slice(None)) + index] += image[(slice(None), slice(None)) + offset]
    return out[(slice(None), slice(None)) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(size, padding))]


@pytest.mark.parametrize("value", [0, -np.inf])
def test_unfold_of_same_windows_equals_the_strided_windows(value):
    rng = np.random.default_rng(0)
    for size, kernel, dilation, padding in geometries():
        stride = (1,) * len(size)
        assert _same_size(size, kernel, dilation, padding, stride)
        x = rng.standard_normal((2, 3) + size)
        x.flat[0], x.flat[-1] = np.inf, np.nan
        want = _windows(x, kernel, dilation, padding, stride, value).reshape(2, 3 * np.prod(kernel), -1)
        np.testing.assert_array_equal(im2col_array(x, kernel, dilation, padding, stride, value), want)


def test_fold_of_same_windows_equals_the_loop_over_offsets_bitwise():
    rng = np.random.default_rng(1)
    for size, kernel, dilation, padding in geometries():
        cols = rng.standard_normal((2, 3 * int(np.prod(kernel)), int(np.prod(size))))
        cols.flat[1] = np.inf  # NOTE: an inf in a column that reaches into the padding must not leak
        got = Fold.forward(_Scratch(), cols, size, kernel, dilation, padding, (1,) * len(size))
        np.testing.assert_array_equal(got, fold_by_loops(cols, size, kernel, dilation, padding))


def test_other_windows_keep_the_strided_path():
    assert not _same_size((5, 5), (3, 3), (1, 1), ((1, 1), (1, 1)), (2, 2))
    assert not _same_size((5, 5), (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1))
