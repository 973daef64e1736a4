"""Op database entries: resampling (``F.pixel_shuffle``/``pixel_unshuffle``, ``F.interpolate`` and its
``upsample*`` aliases in every mode, ``F.grid_sample``, ``F.affine_grid``) against scalar-loop NumPy references
written from torch's coordinate formulas."""

import itertools
import math

import numpy as np

import chainrule.nn.functional as F

from . import OpInfo, Sample, arrays, rng
from .nn_functional import one


def np_pixel_shuffle(x, r):
    *lead, c, h, w = x.shape
    out = np.zeros((*lead, c // (r * r), h * r, w * r))
    for k, i, j, p, q in itertools.product(range(c // (r * r)), range(r), range(r), range(h), range(w)):
        out[..., k, p * r + i, q * r + j] = x[..., k * r * r + i * r + j, p, q]
    return out


def np_pixel_unshuffle(x, r):
    *lead, c, h, w = x.shape
    out = np.zeros((*lead, c * r * r, h // r, w // r))
    for k, i, j, p, q in itertools.product(range(c), range(r), range(r), range(h // r), range(w // r)):
        out[..., k * r * r + i * r + j, p, q] = x[..., k, p * r + i, q * r + j]
    return out


def _cubic(t):
    a = -0.75
    t = abs(t)
    if t <= 1:
        return ((a + 2) * t - (a + 3)) * t * t + 1
    return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a if t < 2 else 0.0


def _weights(n_in, n_out, i, mode, align_corners, scale):
    """{input index: weight} for output index ``i`` along one axis."""
    ratio = ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0) if align_corners else \
        (1 / scale if scale else n_in / n_out)
    if mode in ("nearest", "nearest-exact"):
        shift = 0.5 if mode == "nearest-exact" else 0.0
        return {min(int(math.floor(np.float32(i + shift) * np.float32(ratio))), n_in - 1): 1.0}
    src = ratio * i if align_corners else ratio * (i + 0.5) - 0.5
    weights = {}
    if mode == "cubic":
        base = math.floor(src)
        for k in range(base - 1, base + 3):
            j = min(max(k, 0), n_in - 1)
            weights[j] = weights.get(j, 0.0) + _cubic(src - k)
        return weights
    src = max(src, 0.0)
    base = min(int(math.floor(src)), n_in - 1)
    t = src - base
    weights[base] = 1 - t
    top = min(base + 1, n_in - 1)
    weights[top] = weights.get(top, 0.0) + t
    return weights


def _aa_filter(x, mode):
    x = abs(x)
    if mode == "linear":
        return max(1 - x, 0.0)
    if mode == "lanczos":
        return float(np.sinc(x) * np.sinc(x / 3)) if x < 3 else 0.0
    a = -0.5
    return ((a + 2) * x - (a + 3)) * x * x + 1 if x < 1 else ((((x - 5) * x + 8) * x - 4) * a if x < 2 else 0.0)


def _aa_weights(n_in, n_out, i, mode, align_corners, scale):
    """torch's antialiased weights for output ``i``: the filter stretched by the scale when shrinking."""
    ratio = ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0) if align_corners else \
        (1 / scale if scale else n_in / n_out)
    support = {"linear": 1.0, "cubic": 2.0, "lanczos": 3.0}[mode] * max(ratio, 1.0)
    center = ratio * (i + 0.5)
    lo, hi = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), n_in)
    weights = {j: _aa_filter((j - center + 0.5) / max(ratio, 1.0), mode) for j in range(lo, hi)}
    total = sum(weights.values())
    return {j: w / total for j, w in weights.items()}


def np_resize(x, sizes, mode, align_corners=False, scales=None, antialias=False):
    """Separable resampling by scalar loops: one axis at a time, each output entry a weighted sum."""
    nd = len(sizes)
    scales = scales or (None,) * nd
    for d, (n_out, scale) in enumerate(zip(sizes, scales)):
        axis = x.ndim - nd + d
        n_in = x.shape[axis]
        moved = np.moveaxis(x, axis, -1)
        out = np.zeros(moved.shape[:-1] + (n_out,))
        for i in range(n_out):
            weights = _aa_weights if antialias else _weights
            for j, w in weights(n_in, n_out, i, mode, align_corners, scale).items():
                out[..., i] += w * moved[..., j]
        x = np.moveaxis(out, -1, axis)
    return x


def np_area(x, sizes):
    nd = len(sizes)
    out = np.zeros(x.shape[:-nd] + tuple(sizes))
    for pos in itertools.product(*map(range, sizes)):
        window = tuple(slice(i * n // m, -(-(i + 1) * n // m)) for i, n, m in zip(pos, x.shape[-nd:], sizes))
        out[(Ellipsis,) + pos] = x[(Ellipsis,) + window].mean(tuple(range(-nd, 0)))
    return out


def _reflect(c, low2, high2):
    if low2 == high2:
        return 0.0
    low, span = low2 / 2, (high2 - low2) / 2
    c = abs(c - low)
    extra, flips = math.fmod(c, span), math.floor(c / span)
    return extra + low if flips % 2 == 0 else span - extra + low


def np_grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False):
    n, c, *spatial = x.shape
    nd = len(spatial)
    out = np.zeros((n, c) + grid.shape[1:-1])
    for b in range(n):
        for pos in itertools.product(*map(range, grid.shape[1:-1])):
            def inside(p, size):
                if padding_mode == "reflection":
                    p = _reflect(p, 0, 2 * (size - 1)) if align_corners else _reflect(p, -1, 2 * size - 1)
                return min(max(p, 0), size - 1) if padding_mode != "zeros" else p

            corners = []
            for d in range(nd):
                g, size = grid[(b,) + pos + (nd - 1 - d,)], spatial[d]
                p = (g + 1) / 2 * (size - 1) if align_corners else ((g + 1) * size - 1) / 2
                if mode == "bicubic":  # each tap folded inside, weighted from the unfolded point
                    base = math.floor(p)
                    corners.append([(int(inside(k, size)), _cubic(p - k)) for k in range(base - 1, base + 3)])
                    continue
                p = inside(p, size)
                if mode == "nearest":
                    corners.append([(float(np.round(p)), 1.0)])
                else:
                    corners.append([(math.floor(p), math.floor(p) + 1 - p), (math.floor(p) + 1, p - math.floor(p))])
            for choice in itertools.product(*corners):
                idx = tuple(int(i) for i, _ in choice)
                if all(0 <= i < s for i, s in zip(idx, spatial)):
                    out[(b, slice(None)) + pos] += math.prod(w for _, w in choice) * x[(b, slice(None)) + idx]
    return out


def np_affine_grid(theta, size, align_corners=False):
    n, _, *spatial = size
    nd = len(spatial)
    out = np.zeros((n, *spatial, nd))
    for pos in itertools.product(*map(range, spatial)):
        base = []
        for d in reversed(range(nd)):  # x first
            m = spatial[d]
            v = 0.0 if m == 1 else -1 + 2 * pos[d] / (m - 1)
            base.append(v if align_corners else v * (m - 1) / m)
        out[(slice(None),) + pos] = theta @ np.array(base + [1.0])
    return out


def grid(shape, low, high, seed):
    return rng(seed).uniform(low, high, shape)


def input_only(name, fn, args, ref):
    """An entry whose gradient is checked for the input only (``mode='nearest'``: the grid gets none)."""
    return OpInfo("F." + name.replace(":", "_"), fn, [Sample(tuple(args), grad=(True, False))], ref,
                  covers=("F." + name.split(":")[0],))


ENTRIES = [
    one("pixel_shuffle", lambda x: F.pixel_shuffle(x, 2), arrays((2, 8, 2, 3), seed=301),
        lambda x: np_pixel_shuffle(x, 2)),
    one("pixel_unshuffle", lambda x: F.pixel_unshuffle(x, 2), arrays((1, 2, 4, 2), seed=302),
        lambda x: np_pixel_unshuffle(x, 2)),
    one("channel_shuffle", lambda x: F.channel_shuffle(x, 3), arrays((2, 6, 2), seed=329),
        lambda x: np.stack([x[:, (c % 3) * 2 + c // 3] for c in range(6)], 1)),
    one("interpolate", lambda x: F.interpolate(x, size=(5, 3)), arrays((1, 2, 3, 4), seed=303),
        lambda x: np_resize(x, (5, 3), "nearest")),
    one("interpolate:nearest_exact_scale", lambda x: F.interpolate(x, scale_factor=1.7, mode="nearest-exact"),
        arrays((2, 2, 4), seed=304), lambda x: np_resize(x, (6,), "nearest-exact", scales=(1.7,))),
    one("interpolate:linear_scale", lambda x: F.interpolate(x, scale_factor=2.5, mode="linear"),
        arrays((2, 2, 3), seed=305), lambda x: np_resize(x, (7,), "linear", scales=(2.5,))),
    one("interpolate:linear_align_corners_down", lambda x: F.interpolate(x, size=3, mode="linear",
                                                                         align_corners=True),
        arrays((1, 2, 5), seed=306), lambda x: np_resize(x, (3,), "linear", True)),
    one("interpolate:bilinear", lambda x: F.interpolate(x, size=(4, 3), mode="bilinear"),
        arrays((1, 2, 3, 2), seed=307), lambda x: np_resize(x, (4, 3), "linear")),
    one("interpolate:bilinear_recompute", lambda x: F.interpolate(x, scale_factor=(1.5, 0.7), mode="bilinear",
                                                                  recompute_scale_factor=True),
        arrays((1, 1, 3, 4), seed=308), lambda x: np_resize(x, (4, 2), "linear")),
    one("interpolate:bicubic", lambda x: F.interpolate(x, size=(5, 3), mode="bicubic"),
        arrays((1, 1, 3, 4), seed=309), lambda x: np_resize(x, (5, 3), "cubic")),
    one("interpolate:bicubic_align_corners", lambda x: F.interpolate(x, scale_factor=2, mode="bicubic",
                                                                     align_corners=True),
        arrays((1, 1, 2, 3), seed=310), lambda x: np_resize(x, (4, 6), "cubic", True)),
    one("interpolate:bilinear_antialias", lambda x: F.interpolate(x, size=(2, 3), mode="bilinear", antialias=True),
        arrays((1, 2, 5, 7), seed=334), lambda x: np_resize(x, (2, 3), "linear", antialias=True)),
    one("interpolate:bicubic_antialias_align_corners",
        lambda x: F.interpolate(x, scale_factor=(0.5, 1.5), mode="bicubic", align_corners=True, antialias=True),
        arrays((1, 1, 6, 3), seed=335), lambda x: np_resize(x, (3, 4), "cubic", True, antialias=True)),
    one("interpolate:lanczos", lambda x: F.interpolate(x, size=(3, 5), mode="lanczos", antialias=True),
        arrays((1, 1, 7, 4), seed=336), lambda x: np_resize(x, (3, 5), "lanczos", antialias=True)),
    one("interpolate:trilinear", lambda x: F.interpolate(x, size=(3, 2, 3), mode="trilinear"),
        arrays((1, 1, 2, 3, 2), seed=311), lambda x: np_resize(x, (3, 2, 3), "linear")),
    one("interpolate:area", lambda x: F.interpolate(x, size=(2, 3), mode="area"), arrays((1, 2, 5, 4), seed=312),
        lambda x: np_area(x, (2, 3))),
    one("interpolate:nearest_3d", lambda x: F.interpolate(x, scale_factor=(2, 0.5, 1)),
        arrays((1, 1, 2, 4, 2), seed=313), lambda x: np_resize(x, (4, 2, 2), "nearest", scales=(2, 0.5, 1))),
    one("upsample", lambda x: F.upsample(x, scale_factor=2, mode="linear"), arrays((1, 2, 3), seed=314),
        lambda x: np_resize(x, (6,), "linear", scales=(2,))),
    one("upsample_nearest", lambda x: F.upsample_nearest(x, size=(3, 5)), arrays((1, 2, 2, 3), seed=315),
        lambda x: np_resize(x, (3, 5), "nearest")),
    one("upsample_bilinear", lambda x: F.upsample_bilinear(x, scale_factor=2), arrays((1, 1, 2, 3), seed=316),
        lambda x: np_resize(x, (4, 6), "linear", True)),
    one("grid_sample", F.grid_sample, (*arrays((2, 2, 3, 4), seed=317), grid((2, 2, 3, 2), -1.2, 1.2, 318)),
        np_grid_sample),
    one("grid_sample:border_align_corners",
        lambda x, g: F.grid_sample(x, g, padding_mode="border", align_corners=True),
        (*arrays((1, 2, 3, 3), seed=319), grid((1, 3, 2, 2), -1.3, 1.3, 320)),
        lambda x, g: np_grid_sample(x, g, "bilinear", "border", True)),
    one("grid_sample:reflection", lambda x, g: F.grid_sample(x, g, padding_mode="reflection"),
        (*arrays((1, 1, 3, 4), seed=321), grid((1, 2, 3, 2), -2.5, 2.5, 322)),
        lambda x, g: np_grid_sample(x, g, "bilinear", "reflection")),
    one("grid_sample:volume", lambda x, g: F.grid_sample(x, g, align_corners=True),
        (*arrays((1, 2, 2, 3, 2), seed=323), grid((1, 2, 1, 2, 3), -1.1, 1.1, 324)),
        lambda x, g: np_grid_sample(x, g, align_corners=True)),
    input_only("grid_sample:nearest", lambda x, g: F.grid_sample(x, g, mode="nearest", padding_mode="reflection"),
               (*arrays((1, 2, 3, 4), seed=325), grid((1, 2, 2, 2), -1.5, 1.5, 326)),
               lambda x, g: np_grid_sample(x, g, "nearest", "reflection")),
    one("grid_sample:bicubic", lambda x, g: F.grid_sample(x, g, mode="bicubic"),
        (*arrays((1, 2, 3, 4), seed=330), grid((1, 2, 2, 2), -1.2, 1.2, 331)),
        lambda x, g: np_grid_sample(x, g, "bicubic")),
    one("grid_sample:bicubic_reflection_align_corners",
        lambda x, g: F.grid_sample(x, g, mode="bicubic", padding_mode="reflection", align_corners=True),
        (*arrays((1, 1, 3, 3), seed=332), grid((1, 2, 2, 2), -2.0, 2.0, 333)),
        lambda x, g: np_grid_sample(x, g, "bicubic", "reflection", True)),
    one("affine_grid", lambda t: F.affine_grid(t, (2, 1, 3, 4)), arrays((2, 2, 3), seed=327),
        lambda t: np_affine_grid(t, (2, 1, 3, 4))),
    one("affine_grid:volume_align_corners", lambda t: F.affine_grid(t, (1, 2, 2, 1, 3), align_corners=True),
        arrays((1, 3, 4), seed=328), lambda t: np_affine_grid(t, (1, 2, 2, 1, 3), True)),
]
