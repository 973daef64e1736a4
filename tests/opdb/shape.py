"""Op database entries: shape ops (see opdb/__init__.py)."""

import itertools

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


def _one(*shapes):
    """One sample of several inputs."""
    return [Sample(arrays(*shapes))]


def _rot90(x, k):
    return np.rot90(x, k, (0, 1))


def _tensor_split_ref(x, cuts, axis):
    return tuple(np.array_split(x, cuts, axis=axis))


def _kron(x, y):
    return np.kron(x, y)


def _as_strided_ref(x):
    return np.lib.stride_tricks.as_strided(x.ravel(), (3, 2), (x.itemsize, 2 * x.itemsize))


def _cdist_ref(p):
    def ref(x, y):
        diff = np.abs(x[..., :, None, :] - y[..., None, :, :])
        if p == np.inf:
            return diff.max(-1)
        return (diff ** p).sum(-1) ** (1 / p)
    return ref


def _block_diag_ref(*blocks):
    blocks = [np.atleast_2d(b) for b in blocks]
    out = np.zeros((sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)))
    r = c = 0
    for b in blocks:
        out[r:r + b.shape[0], c:c + b.shape[1]] = b
        r, c = r + b.shape[0], c + b.shape[1]
    return out


def _combinations_ref(x, r, replace):
    pick = itertools.combinations_with_replacement if replace else itertools.combinations
    return np.array(list(pick(x, r))).reshape(-1, r)


ENTRIES += [
    OpInfo("swapdims", lambda x: cr.swapdims(x, 0, 2), samples([(2, 3, 4)]), lambda x: np.swapaxes(x, 0, 2)),
    OpInfo("moveaxis", lambda x: cr.moveaxis(x, (0, 1), (-1, 0)), samples([(2, 3, 4)]),
           lambda x: np.moveaxis(x, (0, 1), (-1, 0))),
    OpInfo("select", lambda x: cr.select(x, 1, -1), samples([(2, 3), (3, 2, 4)]), lambda x: x[:, -1]),
    OpInfo("fliplr", cr.fliplr, samples([(2, 3), (2, 3, 2)]), np.fliplr),
    OpInfo("flipud", cr.flipud, samples([(3,), (2, 3)]), np.flipud),
    OpInfo("rot90", lambda x: cr.rot90(x), samples([(2, 3), (3, 2, 2)]), lambda x: _rot90(x, 1)),
    OpInfo("rot90_k", lambda x: (cr.rot90(x, 2), cr.rot90(x, -1), cr.rot90(x, 4)), samples([(2, 3)]),
           lambda x: (_rot90(x, 2), _rot90(x, -1), x)),
    OpInfo("diag_embed", lambda x: cr.diag_embed(x, 1, 0, 2), samples([(2, 3)]),
           lambda x: np.moveaxis(np.stack([np.diag(v, 1) for v in x]), 1, 0)),
    OpInfo("diag_embed_default", cr.diag_embed, samples([(2, 3), (3,)]),
           lambda x: np.stack([np.diag(v) for v in x]) if x.ndim == 2 else np.diag(x)),
    OpInfo("diagflat", lambda x: cr.diagflat(x, -1), samples([(2, 2), (3,), ()]),
           lambda x: np.diagflat(x, -1)),
    OpInfo("broadcast_tensors", lambda x, y: cr.broadcast_tensors(x, y), _one((2, 1), (3,)),
           lambda x, y: np.broadcast_arrays(x, y)),
    OpInfo("atleast_1d", lambda x, y: cr.atleast_1d(x, y), _one((), (2, 3)),
           lambda x, y: (np.atleast_1d(x), y)),
    OpInfo("atleast_2d", cr.atleast_2d, samples([(3,), ()]), np.atleast_2d),
    OpInfo("atleast_3d", cr.atleast_3d, samples([(3,), (2, 3), ()]), np.atleast_3d),
    OpInfo("hstack", lambda x, y: cr.hstack([x, y]), _one((2, 3), (2, 1)), lambda x, y: np.hstack([x, y])),
    OpInfo("hstack_vectors", lambda x, y: cr.hstack([x, y]), _one((), (2,)), lambda x, y: np.hstack([x, y])),
    OpInfo("vstack", lambda x, y: cr.vstack([x, y]), _one((3,), (2, 3)), lambda x, y: np.vstack([x, y]),
           covers=("row_stack",)),
    OpInfo("dstack", lambda x, y: cr.dstack([x, y]), _one((3,), (1, 3, 2)), lambda x, y: np.dstack([x, y])),
    OpInfo("column_stack", lambda x, y, z: cr.column_stack([x, y, z]), _one((3,), (3, 2), (3,)),
           lambda x, y, z: np.column_stack([x, y, z])),
    OpInfo("tensor_split", lambda x: cr.tensor_split(x, 3, 1), samples([(2, 7), (1, 2)]),
           lambda x: _tensor_split_ref(x, 3, 1)),
    OpInfo("tensor_split_indices", lambda x: cr.tensor_split(x, [1, -1, 2, 9]), samples([(5, 2)]),
           lambda x: (x[:1], x[1:-1], x[-1:2], x[2:9], x[9:])),
    OpInfo("hsplit", lambda x: cr.hsplit(x, 2), samples([(3, 4), (4,)]), lambda x: tuple(np.hsplit(x, 2))),
    OpInfo("vsplit", lambda x: cr.vsplit(x, [1]), samples([(3, 2)]), lambda x: tuple(np.vsplit(x, [1]))),
    OpInfo("dsplit", lambda x: cr.dsplit(x, 2), samples([(1, 2, 4)]), lambda x: tuple(np.dsplit(x, 2))),
    OpInfo("split_with_sizes", lambda x: cr.split_with_sizes(x, [2, 0, 1], -1), samples([(2, 3)]),
           lambda x: _pieces(x, [2, 0, 1], -1)),
    OpInfo("repeat_interleave", lambda x: cr.repeat_interleave(x, 2), samples([(2, 3), ()]),
           lambda x: np.repeat(x, 2)),
    OpInfo("repeat_interleave_counts", lambda x, k: cr.repeat_interleave(x, k, dim=0),
           [Sample((arrays((3, 2))[0], np.array([2, 0, 1])))], lambda x, k: np.repeat(x, k, axis=0)),
    OpInfo("as_strided", lambda x: cr.as_strided(x, (3, 2), (1, 2)), samples([(2, 3)]), _as_strided_ref),
    OpInfo("meshgrid", lambda x, y: cr.meshgrid(x, y, indexing="ij"), _one((3,), (2,)),
           lambda x, y: tuple(np.meshgrid(x, y, indexing="ij"))),
    OpInfo("meshgrid_xy", lambda x, y, z: cr.meshgrid(x, y, z, indexing="xy"), _one((3,), (2,), ()),
           lambda x, y, z: tuple(np.meshgrid(x, y, z, indexing="xy"))),
    OpInfo("cartesian_prod", lambda x, y: cr.cartesian_prod(x, y), _one((3,), (2,)),
           lambda x, y: np.stack([a.ravel() for a in np.meshgrid(x, y, indexing="ij")], 1)),
    OpInfo("combinations", lambda x: cr.combinations(x), samples([(4,)]), lambda x: _combinations_ref(x, 2, False)),
    OpInfo("combinations_replacement", lambda x: cr.combinations(x, 3, True), samples([(3,)]),
           lambda x: _combinations_ref(x, 3, True)),
    OpInfo("block_diag", lambda x, y, z: cr.block_diag(x, y, z), _one((2, 3), (), (2,)), _block_diag_ref),
    OpInfo("kron", cr.kron, _one((2, 3), (2, 2)) + [Sample(arrays((3,), (2, 2), seed=5))], _kron),
    OpInfo("tensordot", lambda x, y: cr.tensordot(x, y, dims=([2, 0], [0, 1])), _one((2, 3, 4), (4, 2)),
           lambda x, y: np.tensordot(x, y, axes=([2, 0], [0, 1]))),
    OpInfo("tensordot_int", lambda x, y: cr.tensordot(x, y), _one((2, 3, 4), (3, 4, 2)),
           lambda x, y: np.tensordot(x, y)),
    OpInfo("tensordot_outer", lambda x, y: cr.tensordot(x, y, 0), [Sample(arrays((2,), (3,))),
                                                                   Sample(arrays((), ()))],
           lambda x, y: np.tensordot(x, y, 0)),
    OpInfo("cdist", cr.cdist, [Sample(arrays((3, 2), (4, 2))), Sample(arrays((2, 3, 2), (1, 2, 2)))],
           _cdist_ref(2)),
    OpInfo("cdist_p", lambda x, y: cr.cdist(x, y, p=3.0), _one((3, 2), (2, 2)), _cdist_ref(3.0)),
    OpInfo("cdist_p1", lambda x, y: cr.cdist(x, y, p=1.0), _one((3, 2), (2, 2)), _cdist_ref(1.0),
           twice=False),
    OpInfo("cdist_inf", lambda x, y: cr.cdist(x, y, p=float("inf")), _one((3, 2), (2, 2)),
           _cdist_ref(np.inf), twice=False),
]
