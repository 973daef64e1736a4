"""Op database entries: convolutions in 1, 2 and 3 spatial dims, plain and transposed (``F.conv1d``, ``F.conv3d``,
``F.conv_transpose{1,2,3}d``), against direct-loop NumPy references. Samples are tiny: 3-D finite differences in
float64 are slow."""

import itertools

import numpy as np

import chainrule.nn.functional as F

from . import arrays
from .nn_functional import one


def _tuple(v, nd):
    return (v,) * nd if isinstance(v, int) else tuple(v)


def np_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Direct loops over output positions: ``padding`` an int, a tuple or per-side pairs."""
    nd = w.ndim - 2
    if x.ndim == nd + 1:
        return np_conv(x[None], w, b, stride, padding, dilation, groups)[0]
    stride, dilation = _tuple(stride, nd), _tuple(dilation, nd)
    pairs = padding if isinstance(padding, tuple) and isinstance(padding[0], tuple) else \
        tuple((p, p) for p in _tuple(padding, nd))
    x = np.pad(x, ((0, 0), (0, 0)) + pairs)
    kernel = w.shape[2:]
    counts = [(n - d * (k - 1) - 1) // s + 1 for n, k, d, s in zip(x.shape[2:], kernel, dilation, stride)]
    c_out, c_in_g = w.shape[:2]
    out = np.zeros((x.shape[0], c_out, *counts))
    for pos in itertools.product(*map(range, counts)):
        window = x[(slice(None), slice(None)) + tuple(slice(p * s, p * s + d * (k - 1) + 1, d)
                                                      for p, s, d, k in zip(pos, stride, dilation, kernel))]
        for o in range(c_out):
            g = o // (c_out // groups)
            out[(slice(None), o) + pos] = (window[:, g * c_in_g:(g + 1) * c_in_g] * w[o]).reshape(len(x), -1).sum(1)
    return out if b is None else out + b.reshape((-1,) + (1,) * nd)


def np_conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Direct loops: every input pixel scatters ``x * w`` into a kernel-sized block of the full output."""
    nd = w.ndim - 2
    if x.ndim == nd + 1:
        return np_conv_transpose(x[None], w, b, stride, padding, output_padding, groups, dilation)[0]
    stride, padding, dilation = _tuple(stride, nd), _tuple(padding, nd), _tuple(dilation, nd)
    output_padding = _tuple(output_padding, nd)
    kernel, (c_in, c_out_g) = w.shape[2:], w.shape[:2]
    full = [(n - 1) * s + d * (k - 1) + 1 + o for n, s, d, k, o in zip(x.shape[2:], stride, dilation, kernel,
                                                                        output_padding)]
    out = np.zeros((x.shape[0], c_out_g * groups, *full))
    for pos in itertools.product(*map(range, x.shape[2:])):
        for off in itertools.product(*map(range, kernel)):
            target = tuple(p * s + i * d for p, s, i, d in zip(pos, stride, off, dilation))
            for c in range(c_in):
                g = c // (c_in // groups)
                out[(slice(None), slice(g * c_out_g, (g + 1) * c_out_g)) + target] += \
                    x[(slice(None), c) + pos][:, None] * w[(c, slice(None)) + off]
    out = out[(slice(None), slice(None)) + tuple(slice(p, n - p) for p, n in zip(padding, full))]
    return out if b is None else out + b.reshape((-1,) + (1,) * nd)


ENTRIES = [
    one("conv1d", F.conv1d, arrays((2, 2, 5), (3, 2, 3), (3,), seed=101), np_conv),
    one("conv1d:strided_padded_dilated", lambda x, w: F.conv1d(x, w, stride=2, padding=2, dilation=2),
        arrays((1, 2, 7), (2, 2, 3), seed=102), lambda x, w: np_conv(x, w, stride=2, padding=2, dilation=2)),
    one("conv1d:groups_same_even", lambda x, w, b: F.conv1d(x, w, b, padding="same", groups=2),
        arrays((2, 4, 5), (4, 2, 4), (4,), seed=103), lambda x, w, b: np_conv(x, w, b, padding=((1, 2),), groups=2)),
    one("conv1d:unbatched_valid", lambda x, w: F.conv1d(x, w, padding="valid"), arrays((2, 6), (1, 2, 2), seed=104),
        np_conv),
    one("conv3d", F.conv3d, arrays((1, 2, 3, 3, 3), (2, 2, 2, 2, 2), (2,), seed=105), np_conv),
    one("conv3d:strided_padded_groups", lambda x, w: F.conv3d(x, w, stride=(1, 2, 1), padding=(1, 0, 1), groups=2),
        arrays((1, 2, 3, 4, 3), (2, 1, 2, 2, 2), seed=106),
        lambda x, w: np_conv(x, w, stride=(1, 2, 1), padding=(1, 0, 1), groups=2)),
    one("conv3d:same_dilated_unbatched", lambda x, w: F.conv3d(x, w, padding="same", dilation=(1, 1, 2)),
        arrays((1, 3, 3, 4), (1, 1, 2, 1, 2), seed=107),
        lambda x, w: np_conv(x, w, padding=((0, 1), (0, 0), (1, 1)), dilation=(1, 1, 2))),
    one("conv_transpose1d", F.conv_transpose1d, arrays((2, 2, 4), (2, 3, 3), (3,), seed=108), np_conv_transpose),
    one("conv_transpose1d:stride_padding_output_padding",
        lambda x, w: F.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1),
        arrays((1, 2, 4), (2, 2, 3), seed=109),
        lambda x, w: np_conv_transpose(x, w, stride=2, padding=1, output_padding=1)),
    one("conv_transpose1d:groups_dilation_unbatched",
        lambda x, w, b: F.conv_transpose1d(x, w, b, groups=2, dilation=3, output_padding=2),
        arrays((4, 3), (4, 1, 2), (2,), seed=110),
        lambda x, w, b: np_conv_transpose(x, w, b, groups=2, dilation=3, output_padding=2)),
    one("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 1), padding=(0, 1)),
        arrays((1, 2, 3, 3), (2, 2, 2, 3), (2,), seed=111),
        lambda x, w, b: np_conv_transpose(x, w, b, stride=(2, 1), padding=(0, 1))),
    one("conv_transpose2d:groups_output_padding",
        lambda x, w: F.conv_transpose2d(x, w, stride=2, output_padding=(1, 0), groups=2),
        arrays((1, 2, 2, 3), (2, 1, 2, 2), seed=112),
        lambda x, w: np_conv_transpose(x, w, stride=2, output_padding=(1, 0), groups=2)),
    one("conv_transpose3d", lambda x, w, b: F.conv_transpose3d(x, w, b, stride=2, padding=(1, 0, 0)),
        arrays((1, 2, 2, 2, 2), (2, 1, 2, 2, 2), (1,), seed=113),
        lambda x, w, b: np_conv_transpose(x, w, b, stride=2, padding=(1, 0, 0))),
]
