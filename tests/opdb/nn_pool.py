"""Op database entries: pooling in 1, 2 and 3 spatial dims (max, average, power-average, adaptive, unpooling),
against direct-loop NumPy references. Random values keep each window's maximum unique (max pooling is piecewise
linear), and power-average pooling gets positive inputs (fractional powers)."""

import itertools
import math

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

from . import arrays, rng
from .nn_functional import one


def _tuple(v, nd):
    return (v,) * nd if isinstance(v, int) else tuple(v)


def _counts(size, kernel, stride, padding, dilation, ceil_mode):
    counts = []
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        extent = d * (k - 1) + 1
        c = (n + 2 * p - extent + (s - 1 if ceil_mode else 0)) // s + 1
        counts.append(c - 1 if ceil_mode and (c - 1) * s >= n + p else c)
    return counts


def np_pool(x, reduce, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Direct loops over output positions; ``reduce(window values, window flat positions)`` per window (only
    the window's in-bounds elements: padding is left to ``reduce``'s caller)."""
    nd = x.ndim - 2 if isinstance(kernel, int) else len(kernel)
    kernel = _tuple(kernel, nd)
    stride = kernel if stride is None else _tuple(stride, nd)
    padding, dilation = _tuple(padding, nd), _tuple(dilation, nd)
    size = x.shape[-nd:]
    counts = _counts(size, kernel, stride, padding, dilation, ceil_mode)
    flat = x.reshape(x.shape[:-nd] + (-1,))
    out = np.zeros(x.shape[:-nd] + tuple(counts))
    index = np.zeros(out.shape, dtype=np.int64)
    for pos in itertools.product(*map(range, counts)):
        cells = [[p * s - pad + i * d for i in range(k)] for p, s, pad, d, k in zip(pos, stride, padding, dilation,
                                                                                   kernel)]
        inside = [[c for c in axis if 0 <= c < n] for axis, n in zip(cells, size)]
        places = [int(np.ravel_multi_index(cell, size)) for cell in itertools.product(*inside)]
        value, where = reduce(flat[..., places], places, cells, size)
        out[(Ellipsis,) + pos], index[(Ellipsis,) + pos] = value, where
    return out, index


def np_max_pool(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    def reduce(values, places, cells, size):
        arg = values.argmax(-1)
        return values.max(-1), np.asarray(places)[arg]
    return np_pool(x, reduce, kernel, stride, padding, dilation, ceil_mode)


def np_avg_pool(x, kernel, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor=None):
    def reduce(values, places, cells, size):
        if divisor is not None:
            return values.sum(-1) / divisor, 0
        if count_include_pad:  # the cells inside the nominally padded input
            pads = _tuple(padding, len(size))
            count = math.prod(len([c for c in axis if -p <= c < n + p]) for axis, n, p in zip(cells, size, pads))
        else:
            count = len(places)
        return values.sum(-1) / count, 0
    return np_pool(x, reduce, kernel, stride, padding, 1, ceil_mode)[0]


def np_lp_pool(x, p, kernel, stride=None, ceil_mode=False):
    """torch's formula: the mean of x**p over the window's in-bounds cells times the full kernel size (so a
    ``ceil_mode`` window hanging over the end is scaled up, not a true p-norm)."""
    scale = math.prod(_tuple(kernel, 1))
    return np_pool(x, lambda v, *_: (((v ** p).mean(-1) * scale) ** (1 / p), 0), kernel, stride, 0, 1,
                   ceil_mode)[0]


def np_adaptive(x, out_size, reduce):
    nd = len(out_size)
    size = x.shape[-nd:]
    flat = x.reshape(x.shape[:-nd] + (-1,))
    out = np.zeros(x.shape[:-nd] + tuple(out_size))
    index = np.zeros(out.shape, dtype=np.int64)
    for pos in itertools.product(*map(range, out_size)):
        ranges = [range(i * n // m, -(-(i + 1) * n // m)) for i, n, m in zip(pos, size, out_size)]
        places = np.array([np.ravel_multi_index(cell, size) for cell in itertools.product(*ranges)])
        values = flat[..., places]
        out[(Ellipsis,) + pos] = reduce(values)
        index[(Ellipsis,) + pos] = places[values.argmax(-1)]
    return out, index


def np_max_unpool(x, indices, size):
    nd = len(size)
    out = np.zeros(x.shape[:-nd] + (math.prod(size),))
    lead = x.reshape(-1, math.prod(x.shape[-nd:]))
    idx = indices.reshape(lead.shape)
    view = out.reshape(lead.shape[0], -1)
    for r in range(lead.shape[0]):
        view[r, idx[r]] = lead[r]
    return out.reshape(x.shape[:-nd] + tuple(size))


def np_fractional_max_pool(x, kernel, out_size, samples):
    """Loops: torch's window starts ``floor((i + u) * alpha) - floor(u * alpha)``, the last at the edge; sample
    k drives dim (W, H)[k] in 2-D and (D, H, W)[k] in 3-D."""
    nd = len(kernel)
    order = (1, 0) if nd == 2 else tuple(range(nd))
    out, index = np.zeros(x.shape[:2] + tuple(out_size)), np.zeros(x.shape[:2] + tuple(out_size), dtype=np.int64)
    size = x.shape[2:]
    for b, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        starts = []
        for d in range(nd):
            u, n, m, k = samples[b, c, order[d]], size[d], out_size[d], kernel[d]
            alpha = (n - k) / (m - 1) if m > 1 else 0.0
            starts.append([int((i + u) * alpha) - int(u * alpha) for i in range(m - 1)] + [n - k])
        for pos in itertools.product(*map(range, out_size)):
            cells = itertools.product(*(range(starts[d][p], starts[d][p] + kernel[d]) for d, p in enumerate(pos)))
            places = [int(np.ravel_multi_index(cell, size)) for cell in cells]
            values = x[b, c].ravel()[places]
            out[(b, c) + pos], index[(b, c) + pos] = values.max(), places[int(values.argmax())]
    return out, index


SAMPLES_2D, SAMPLES_3D = rng(230).uniform(0, 1, (2, 2, 2)), rng(231).uniform(0, 1, (1, 2, 3))


def positive(*shapes, seed):
    return tuple(0.2 + np.abs(a) for a in arrays(*shapes, seed=seed))


ENTRIES = [
    one("max_pool1d", lambda x: F.max_pool1d(x, 2), arrays((2, 2, 6), seed=201),
        lambda x: np_max_pool(x, 2)[0]),
    one("max_pool1d:dilated_padded_ceil", lambda x: F.max_pool1d(x, 3, 2, padding=1, dilation=2, ceil_mode=True),
        arrays((1, 2, 8), seed=202), lambda x: np_max_pool(x, 3, 2, 1, 2, True)[0]),
    one("max_pool3d", lambda x: F.max_pool3d(x, 2, stride=1), arrays((1, 2, 3, 3, 3), seed=203),
        lambda x: np_max_pool(x, 2, 1)[0]),
    one("max_pool3d:padded_ceil_unbatched", lambda x: F.max_pool3d(x, (2, 3, 2), stride=2, padding=1,
                                                                     ceil_mode=True),
        arrays((2, 3, 4, 3), seed=204), lambda x: np_max_pool(x, (2, 3, 2), 2, 1, 1, True)[0]),
    one("max_pool1d_with_indices", lambda x: F.max_pool1d_with_indices(x, 3, 2, 1),
        arrays((2, 2, 7), seed=205), lambda x: np_max_pool(x, 3, 2, 1)),
    one("max_pool2d_with_indices", lambda x: F.max_pool2d_with_indices(x, 2, ceil_mode=True),
        arrays((1, 2, 5, 4), seed=206), lambda x: np_max_pool(x, (2, 2), None, 0, 1, True)),
    one("max_pool3d_with_indices", lambda x: F.max_pool3d_with_indices(x, 2),
        arrays((1, 1, 4, 3, 4), seed=207), lambda x: np_max_pool(x, (2, 2, 2))),
    one("avg_pool1d", lambda x: F.avg_pool1d(x, 3, 2, padding=1), arrays((2, 2, 7), seed=208),
        lambda x: np_avg_pool(x, 3, 2, 1)),
    one("avg_pool1d:ceil_exclude_pad", lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        arrays((1, 2, 8), seed=209), lambda x: np_avg_pool(x, 3, 2, 1, True, False)),
    one("avg_pool3d", lambda x: F.avg_pool3d(x, 2), arrays((1, 2, 4, 2, 4), seed=210),
        lambda x: np_avg_pool(x, (2, 2, 2))),
    one("avg_pool3d:padded_ceil_divisor", lambda x: F.avg_pool3d(x, 2, 2, 1, ceil_mode=True, divisor_override=3),
        arrays((2, 3, 2, 3), seed=211), lambda x: np_avg_pool(x, (2, 2, 2), 2, 1, True, divisor=3)),
    one("avg_pool2d:ceil_include_pad", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
        arrays((1, 1, 6, 5), seed=212), lambda x: np_avg_pool(x, (3, 3), 2, 1, True)),
    one("lp_pool1d", lambda x: F.lp_pool1d(x, 2, 3, 2), positive((2, 2, 7), seed=213),
        lambda x: np_lp_pool(x, 2, 3, 2)),
    one("lp_pool2d", lambda x: F.lp_pool2d(x, 3, 2, ceil_mode=True), positive((1, 2, 5, 4), seed=214),
        lambda x: np_lp_pool(x, 3, (2, 2), None, True)),
    one("lp_pool3d", lambda x: F.lp_pool3d(x, 1.5, 2), positive((1, 1, 2, 4, 2), seed=215),
        lambda x: np_lp_pool(x, 1.5, (2, 2, 2))),
    one("adaptive_max_pool1d", lambda x: F.adaptive_max_pool1d(x, 3), arrays((2, 2, 7), seed=216),
        lambda x: np_adaptive(x, (3,), lambda v: v.max(-1))[0]),
    one("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (2, None)), arrays((1, 2, 5, 3), seed=217),
        lambda x: np_adaptive(x, (2, 3), lambda v: v.max(-1))[0]),
    one("adaptive_max_pool3d:upsampling_unbatched", lambda x: F.adaptive_max_pool3d(x, (2, 3, 1)),
        arrays((2, 3, 2, 3), seed=218), lambda x: np_adaptive(x, (2, 3, 1), lambda v: v.max(-1))[0]),
    one("adaptive_max_pool2d_with_indices:even_windows", lambda x: F.adaptive_max_pool2d_with_indices(x, (2, 3)),
        arrays((1, 2, 4, 6), seed=233), lambda x: np_adaptive(x, (2, 3), lambda v: v.max(-1))),
    one("adaptive_max_pool1d_with_indices", lambda x: F.adaptive_max_pool1d_with_indices(x, 4),
        arrays((2, 2, 6), seed=219), lambda x: np_adaptive(x, (4,), lambda v: v.max(-1))),
    one("adaptive_max_pool2d_with_indices", lambda x: F.adaptive_max_pool2d_with_indices(x, (3, 2)),
        arrays((1, 2, 5, 5), seed=220), lambda x: np_adaptive(x, (3, 2), lambda v: v.max(-1))),
    one("adaptive_max_pool3d_with_indices", lambda x: F.adaptive_max_pool3d_with_indices(x, 2),
        arrays((1, 1, 3, 3, 4), seed=221), lambda x: np_adaptive(x, (2, 2, 2), lambda v: v.max(-1))),
    one("adaptive_avg_pool1d", lambda x: F.adaptive_avg_pool1d(x, 3), arrays((2, 2, 7), seed=222),
        lambda x: np_adaptive(x, (3,), lambda v: v.mean(-1))[0]),
    one("adaptive_avg_pool3d", lambda x: F.adaptive_avg_pool3d(x, (2, None, 3)), arrays((1, 2, 3, 2, 4), seed=223),
        lambda x: np_adaptive(x, (2, 2, 3), lambda v: v.mean(-1))[0]),
    one("fractional_max_pool2d", lambda x: F.fractional_max_pool2d(x, 2, (3, 4), _random_samples=cr.tensor(SAMPLES_2D)),
        arrays((2, 2, 5, 7), seed=227), lambda x: np_fractional_max_pool(x, (2, 2), (3, 4), SAMPLES_2D)[0]),
    one("fractional_max_pool3d", lambda x: F.fractional_max_pool3d(x, (2, 1, 2), (2, 3, 2),
                                                                   _random_samples=cr.tensor(SAMPLES_3D)),
        arrays((1, 2, 4, 3, 5), seed=228), lambda x: np_fractional_max_pool(x, (2, 1, 2), (2, 3, 2), SAMPLES_3D)[0]),
    one("fractional_max_pool2d_with_indices",
        lambda x: F.fractional_max_pool2d_with_indices(x, (3, 2), output_ratio=0.5,
                                                       _random_samples=cr.tensor(SAMPLES_2D)),
        arrays((2, 2, 6, 8), seed=229), lambda x: np_fractional_max_pool(x, (3, 2), (3, 4), SAMPLES_2D)),
    one("fractional_max_pool3d_with_indices",
        lambda x: F.fractional_max_pool3d_with_indices(x, 2, 2, _random_samples=cr.tensor(SAMPLES_3D)),
        arrays((1, 2, 3, 4, 5), seed=232), lambda x: np_fractional_max_pool(x, (2, 2, 2), (2, 2, 2), SAMPLES_3D)),
    one("max_unpool1d", lambda x, i: F.max_unpool1d(x, i, 2), (*arrays((2, 2, 3), seed=224),
                                                              np.array([[[0, 3, 4], [1, 2, 5]]] * 2)),
        lambda x, i: np_max_unpool(x, i, (6,))),
    one("max_unpool2d", lambda x, i: F.max_unpool2d(x, i, 2, output_size=(5, 4)),
        (*arrays((1, 1, 2, 2), seed=225), np.array([[[[0, 3], [9, 14]]]])),
        lambda x, i: np_max_unpool(x, i, (5, 4))),
    one("max_unpool3d", lambda x, i: F.max_unpool3d(x, i, 2), (*arrays((1, 2, 1, 1, 2), seed=226),
                                                              np.array([[[[[0, 7]]], [[[5, 2]]]]])),
        lambda x, i: np_max_unpool(x, i, (2, 2, 4))),
]
