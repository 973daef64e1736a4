"""vmap of indexing with index tensors that differ per sample: one batched NumPy operation (no per-sample
loop, so no fallback warning), equal to a loop over the samples, forward and backward."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import batching, grad, vmap
from chainrule.ops._primitive import apply
from chainrule.ops.indexing import IndexPut, parse_index

from ..helpers import close, t64

B = 4


def ints(high, *shape, seed=1):
    return cr.tensor(np.random.default_rng(seed).integers(0, high, shape))


@pytest.fixture(autouse=True)
def no_fallback(monkeypatch):
    monkeypatch.setattr(batching, "_looped", set())  # NOTE: the fallback warns once per op and process
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NOTE: the per-sample fallback warns; here it must not run
        yield


def looped(f, args, in_dims):
    return cr.stack([f(*[a if d is None else a[b] for a, d in zip(args, in_dims)]) for b in range(B)])


# (name, f, shape of one sample of x, index high, index shape per sample): x is (5, 6, 3) unless noted
CASES = [
    ("getitem", lambda x, i: x[i], (5, 3), 5, (7,)),
    ("getitem-2d", lambda x, i: x[i], (5, 3), 5, (2, 3)),
    ("getitem-after-slice", lambda x, i: x[:, i], (3, 5), 5, (6,)),
    ("getitem-after-ellipsis", lambda x, i: x[..., i], (2, 3, 5), 5, (4,)),
    ("getitem-int-first", lambda x, i: x[1, :, i], (2, 3, 5), 5, (4,)),
    ("getitem-separated", lambda x, i: x[i, :, cr.tensor([[0], [2]])], (5, 3, 4), 5, (3,)),
    ("getitem-none-between", lambda x, i: x[:, i, None, i], (2, 5, 5), 5, (3, 1)),
    ("getitem-pair-ranks", lambda x, i: x[cr.tensor([[0], [1]]), i], (2, 5), 5, (3,)),
    ("getitem-mask-shared", lambda x, i: x[cr.tensor([True, False, True]), i], (3, 5), 5, (2,)),
    ("gather-0", lambda x, i: cr.gather(x, 0, i), (5, 3), 5, (6, 3)),
    ("gather-1", lambda x, i: x.gather(1, i), (3, 5), 5, (2, 8)),
    ("index_select-0", lambda x, i: cr.index_select(x, 0, i), (5, 3), 5, (6,)),
    ("index_select-1", lambda x, i: cr.index_select(x, 1, i), (3, 5), 5, (6,)),
    ("index_select-scalar", lambda x, i: cr.index_select(x, 1, i), (3, 5), 5, ()),
    ("take_along_dim", lambda x, i: cr.take_along_dim(x, i, 1), (3, 5), 5, (1, 4)),
    ("take_along_dim-none", lambda x, i: cr.take_along_dim(x, i), (3, 5), 15, (4,)),
    ("scatter_add", lambda x, i: cr.scatter_add(x, 0, i, x[:3] * 2), (5, 3), 5, (3, 3)),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name, f, shape, high, index_shape", CASES, ids=IDS)
@pytest.mark.parametrize("x_batched", [True, False])
def test_batched_index_equals_a_loop(name, f, shape, high, index_shape, x_batched):
    x = t64(B, *shape) if x_batched else t64(*shape)
    idx = ints(high, B, *index_shape)
    in_dims = (0 if x_batched else None, 0)
    close(vmap(f, in_dims=in_dims)(x, idx), looped(f, (x, idx), in_dims))


@pytest.mark.parametrize("name, f, shape, high, index_shape", CASES, ids=IDS)
@pytest.mark.parametrize("x_batched", [True, False])
def test_per_sample_gradients_through_a_batched_index(name, f, shape, high, index_shape, x_batched):
    x = t64(B, *shape) if x_batched else t64(*shape)
    idx = ints(high, B, *index_shape, seed=2)
    in_dims = (0 if x_batched else None, 0)
    loss = grad(lambda x, i: (f(x, i).sin() * 3).sum())
    close(vmap(loss, in_dims=in_dims)(x, idx), looped(loss, (x, idx), in_dims))


def test_repeated_indices_accumulate():
    x, idx = t64(B, 5), cr.tensor([[0, 0, 0], [1, 2, 1], [4, 4, 3], [2, 2, 2]])
    g = vmap(grad(lambda r, i: r[i].sum()))(x, idx)
    np.testing.assert_array_equal(g.numpy(), [[3, 0, 0, 0, 0], [0, 2, 1, 0, 0], [0, 0, 0, 1, 2],
                                              [0, 0, 3, 0, 0]])
    g = vmap(grad(lambda r, i: cr.gather(r, 0, i).sum()), in_dims=(None, 0))(t64(5), idx)
    close(g, cr.tensor([[3.0, 0, 0, 0, 0], [0, 2, 1, 0, 0], [0, 0, 0, 1, 2], [0, 0, 3, 0, 0]]))


def test_index_put_with_a_batched_index():
    def put(x, v, i):
        stages, _, accumulate = parse_index(x._data.shape, i, "test")
        return apply(IndexPut, (x, v), stages=stages, accumulate=accumulate)
    x, v, idx = t64(B, 5, 2), t64(B, 3, 2, seed=3), cr.tensor([[0, 1, 2], [4, 3, 0], [2, 1, 0], [1, 3, 4]])
    close(vmap(put)(x, v, idx), looped(put, (x, v, idx), (0, 0, 0)))
    loss = grad(lambda x, v, i: (put(x, v, i) ** 2).sum(), argnums=(0, 1))
    for got, want in zip(vmap(loss)(x, v, idx), zip(*[loss(x[b], v[b], idx[b]) for b in range(B)])):
        close(got, cr.stack(list(want)))


def test_batched_masks_batch_when_every_sample_selects_as_many():
    x = t64(B, 3, 2)
    mask = cr.tensor([[True, False, True], [False, True, True], [True, True, False], [True, False, True]])
    close(vmap(lambda r, m: r[m])(x, mask), looped(lambda r, m: r[m], (x, mask), (0, 0)))
    ragged = cr.tensor([[True, False, True], [False, False, True], [True, True, False], [True, False, True]])
    with pytest.raises(RuntimeError, match="boolean mask that differs per sample"):
        vmap(lambda r, m: r[m])(x, ragged)


def test_nested_vmap_with_batched_indices():
    x, idx = t64(2, B, 5), ints(5, 2, B, 3)
    out = vmap(vmap(lambda r, i: cr.index_select(r, 0, i)))(x, idx)
    want = np.take_along_axis(x.numpy(), idx.numpy(), 2)
    close(out, cr.tensor(want))


def test_writing_at_a_batched_index_is_refused():
    def write(r, i):
        y = cr.zeros(5)
        y[i] = 1.0
        return y
    with pytest.raises(RuntimeError, match="in place"):
        vmap(write)(t64(B, 5), ints(5, B, 2))
