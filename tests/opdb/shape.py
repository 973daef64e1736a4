"""Op database entries: shape ops (see opdb/__init__.py)."""

import numpy as np

import chainrule as cr
from chainrule.ops import join as shape_ops

from . import OpInfo, Sample, arrays

ENTRIES = [
    OpInfo("reshape", lambda x: cr.reshape(x, (4, -1)), [Sample(arrays((2, 6))), Sample(arrays((4,)))],
           lambda x: x.reshape(4, -1)),
    OpInfo("broadcast_to", lambda x: cr.broadcast_to(x, (2, 3, 4)),
           [Sample(arrays((3, 1))), Sample(arrays(()))], lambda x: np.broadcast_to(x, (2, 3, 4))),
    OpInfo("sum_to", lambda x: cr.sum_to(x, (3, 1)), [Sample(arrays((2, 3, 4)))],
           lambda x: x.sum(axis=(0, 2), keepdims=True).reshape(3, 1)),
    OpInfo("transpose", lambda x: cr.transpose(x, 0, -1), [Sample(arrays((2, 3, 4)))],
           lambda x: np.swapaxes(x, 0, -1), covers=("swapaxes",)),
    OpInfo("permute", lambda x: cr.permute(x, (2, 0, 1)), [Sample(arrays((2, 3, 4)))],
           lambda x: np.transpose(x, (2, 0, 1))),
    OpInfo("movedim", lambda x: cr.movedim(x, 0, -1), [Sample(arrays((2, 3, 4)))],
           lambda x: np.moveaxis(x, 0, -1)),
    OpInfo("squeeze", cr.squeeze, [Sample(arrays((1, 3, 1)))], np.squeeze),
    OpInfo("unsqueeze", lambda x: cr.unsqueeze(x, -1), [Sample(arrays((2, 3))), Sample(arrays(()))],
           lambda x: np.expand_dims(x, -1)),
    OpInfo("flatten", lambda x: cr.flatten(x, 1), [Sample(arrays((2, 3, 4)))], lambda x: x.reshape(2, -1)),
    OpInfo("ravel", cr.ravel, [Sample(arrays((2, 3)))], np.ravel),
    OpInfo("t", cr.t, [Sample(arrays((2, 3))), Sample(arrays((3,)))], lambda x: x.T),
    OpInfo("clone", cr.clone, [Sample(arrays((2, 3)))], np.copy),
]


def samples(shapes, seed=0):
    return [Sample(arrays(s, seed=seed + i)) for i, s in enumerate(shapes)]


def _pieces(x, sizes, axis):
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


def _sizes(n, size):
    """torch's pieces of ``size`` covering ``n`` (the last one smaller)."""
    return [size] * (n // size) + [n % size] * bool(n % size)


_NP_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pad_entry(mode, pad, shapes):
    def ref(x):
        k = len(pad) // 2
        widths = [(0, 0)] * (x.ndim - k) + [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(k))]
        return np.pad(x, widths, mode=_NP_PAD_MODES[mode])
    return OpInfo(f"pad_{mode}_{len(pad)}", lambda x: shape_ops.pad(x, pad, mode=mode), samples(shapes), ref)


def _crop_then_pad(x):
    return np.pad(x[..., 1:], [(0, 0)] * (x.ndim - 1) + [(0, 2)], constant_values=1.5)


ENTRIES += [
    OpInfo("cat", lambda x, y, z: cr.cat([x, y, z], 1),
           [Sample(arrays((2, 3), (2, 1), (2, 0))), Sample(arrays((1, 2, 4), (1, 3, 4), (1, 1, 4)))],
           lambda x, y, z: np.concatenate([x, y, z], 1), covers=("concat", "concatenate")),
    OpInfo("cat_mixed_dtypes", lambda x, k: cr.cat([x, k], -1),
           [Sample((arrays((2, 3))[0], np.ones((2, 2), np.int64)))], lambda x, k: np.concatenate([x, k], -1)),
    OpInfo("stack", lambda x, y: cr.stack([x, y], -1),
           [Sample(arrays((2, 3), (2, 3))), Sample(arrays((), ()))], lambda x, y: np.stack([x, y], -1)),
    OpInfo("split", lambda x: cr.split(x, 2, 1), samples([(3, 5), (2, 4, 1)]),
           lambda x: _pieces(x, _sizes(x.shape[1], 2), 1)),
    OpInfo("split_sizes", lambda x: cr.split(x, [1, 0, 2]), samples([(3, 2), (3,)]),
           lambda x: _pieces(x, [1, 0, 2], 0)),
    OpInfo("chunk", lambda x: cr.chunk(x, 4, -1), samples([(2, 6), (5,), (1, 3)]),
           lambda x: _pieces(x, _sizes(x.shape[-1], -(-x.shape[-1] // 4)), -1)),
    OpInfo("unbind", lambda x: cr.unbind(x, 1), samples([(2, 3), (2, 1, 4)]),
           lambda x: tuple(np.moveaxis(x, 1, 0))),
    OpInfo("narrow", lambda x: cr.narrow(x, -1, 1, 2), samples([(3, 4), (2, 3, 3)]), lambda x: x[..., 1:3]),
    OpInfo("narrow_empty", lambda x: cr.narrow(x, 0, -1, 0), samples([(2, 3)]), lambda x: x[:0]),
    OpInfo("flip", lambda x: cr.flip(x, (0, -1)), samples([(3, 4), (2, 3, 4), (1, 0)]),
           lambda x: np.flip(x, (0, -1))),
    OpInfo("flip_0d", lambda x: cr.flip(x, 0), samples([()]), np.copy),
    OpInfo("roll", lambda x: cr.roll(x, (1, -5), (0, 2)), samples([(3, 2, 4), (1, 0, 3)]),
           lambda x: np.roll(x, (1, -5), (0, 2))),
    OpInfo("roll_flat", lambda x: cr.roll(x, 3), samples([(2, 3), (), (1,)]), lambda x: np.roll(x, 3)),
    OpInfo("repeat", lambda x: x.repeat(2, 1, 3), samples([(3, 4), (2,), (), (0, 2)]),
           lambda x: np.tile(x, (2, 1, 3))),
    OpInfo("tile", lambda x: cr.tile(x, (2, 3)), samples([(3, 4), (2, 3, 1), ()]),
           lambda x: np.tile(x, (2, 3))),
    _pad_entry("constant", (1, 2, 0, 1), [(2, 3), (2, 0, 3)]),
    OpInfo("pad_constant_crop_value", lambda x: shape_ops.pad(x, (-1, 2), value=1.5), samples([(2, 3), (4,)]),
           _crop_then_pad),
    _pad_entry("reflect", (2, 1), [(2, 4), (1, 2, 3)]),
    _pad_entry("reflect", (1, 1, 2, 0), [(2, 3, 4)]),
    _pad_entry("replicate", (2, 3), [(2, 1), (1, 2, 3)]),
    _pad_entry("circular", (2, 1, 1, 2), [(1, 2, 3), (1, 1, 3, 2)]),
    OpInfo("diagonal", lambda x: cr.diagonal(x, 1, -1, 0), samples([(3, 4), (2, 3, 4), (2, 1)]),
           lambda x: np.diagonal(x, 1, -1, 0)),
    OpInfo("diag", lambda x: cr.diag(x, -1), samples([(3,), (3, 4), (0,)]), lambda x: np.diag(x, -1)),
    OpInfo("tril", lambda x: cr.tril(x, -1), samples([(3, 4), (2, 3, 3), (0, 2)]), lambda x: np.tril(x, -1)),
    OpInfo("triu", lambda x: cr.triu(x, 1), samples([(4, 3), (2, 1, 3)]), lambda x: np.triu(x, 1)),
    OpInfo("unflatten", lambda x: cr.unflatten(x, 1, (2, -1)), samples([(3, 4), (2, 6, 1), (1, 0)]),
           lambda x: x.reshape(x.shape[:1] + (2, x.shape[1] // 2) + x.shape[2:])),
]
