"""chainrule.func.vmap: every catalog op batched against a loop, composition with the other transforms,
pytrees of in_dims/out_dims, chunks, randomness and the errors."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import grad, hessian, jacfwd, jacrev, jvp, vjp, vmap
from chainrule.ops import PRIMITIVES
from chainrule.ops._primitive import Primitive, apply

from ..helpers import Cube, close, t64
from ..opdb import all_entries

B = 3  # the batch size of the catalog checks


def as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


# -- every op in the catalog, batched, against a loop over the samples ------------------------------------

# Ops whose vmap is refused on purpose (as in torch): in-place writes into a batched tensor, and outputs whose
# shape depends on the values (one size per sample).
REFUSED = {"setitem": "in place", "nonzero": "values of a batched tensor", "F.relu_inplace": "in place",
           "F.inplace_forms": "in place", "F.inplace_forms_smooth": "in place", "F.gumbel_softmax": "random"}


def _batch(array, seed):
    """``B`` different samples around ``array``: each element scaled by its own factor in [0.5, 1.5], so signs
    (and domains such as log's) are kept while every sample's values (and argmax, sort order, ...) differ."""
    rng = np.random.default_rng(seed)
    return np.stack([array * rng.uniform(0.5, 1.5, array.shape) for _ in range(B)])


def _float_positions(sample):
    return [i for i, a in enumerate(sample.args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]


def _as_arg(value):
    return cr.tensor(value) if isinstance(value, np.ndarray) else value


CASES = [(e, i, s, mode) for e in all_entries() for i, s in enumerate(e.samples) if _float_positions(s)
         for mode in ("0", "1", "-1", "first")
         if not (mode in ("1", "-1") and all(s.args[k].ndim == 0 for k in _float_positions(s)))
         if not (mode == "first" and len(_float_positions(s)) < 2)]


@pytest.mark.parametrize("entry, index, sample, mode", [pytest.param(*c, id=f"{c[0].name}-{c[1]}-dim{c[3]}")
                                                        for c in CASES])
def test_vmap_equals_a_loop_over_samples(entry, index, sample, mode):
    """in_dims 0, 1 and -1 for every float input (0 for 0-d ones), or only the first float input batched
    ("first": the others are shared by every sample, in_dims None); non-float args are never batched."""
    batched = {}
    for k in _float_positions(sample):
        if mode == "first" and k != _float_positions(sample)[0]:
            continue
        dim = 0 if mode in ("0", "first") or sample.args[k].ndim == 0 else int(mode)
        batched[k] = (np.moveaxis(_batch(sample.args[k], index + k), 0, dim), dim)
    in_dims = tuple(batched[k][1] if k in batched else None for k in range(len(sample.args)))
    args = [_as_arg(batched[k][0]) if k in batched else _as_arg(a) for k, a in enumerate(sample.args)]
    if entry.name in REFUSED:
        with pytest.raises(RuntimeError, match=REFUSED[entry.name]):
            vmap(entry.fn, in_dims=in_dims)(*args)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no op may fall back to the per-sample loop
        got = as_tuple(vmap(entry.fn, in_dims=in_dims)(*args))
    rows = []
    for b in range(B):
        rows.append(as_tuple(entry.fn(*[_as_arg(np.moveaxis(batched[k][0], batched[k][1], 0)[b, ...])
                                        if k in batched else _as_arg(a) for k, a in enumerate(sample.args)])))
    for k, g in enumerate(got):
        assert g.dtype == rows[0][k].dtype
        close(g, np.stack([row[k].numpy() for row in rows]), 1e-12)


DIFF_CASES = [(e, i, s) for e in all_entries() if e.differentiable and e.name not in REFUSED
              for i, s in enumerate(e.samples) if s.differentiable_positions()]


@pytest.mark.parametrize("entry, index, sample", [pytest.param(*c, id=f"{c[0].name}-{c[1]}") for c in DIFF_CASES])
def test_batched_vjp_and_jvp_equal_per_sample_ones(entry, index, sample):
    """vmap(vjp) and vmap(jvp) (every VJP and JVP rule batched) against per-sample autograd, and vjp/jvp of
    vmap(f) (the batching rules differentiated) against the same."""
    positions = sample.differentiable_positions()

    def f(*xs):
        args = [_as_arg(a) for a in sample.args]
        for k, x in zip(positions, xs):
            args[k] = x
        return tuple(o for o in as_tuple(entry.fn(*args)) if isinstance(o, cr.Tensor) and o.is_floating_point())

    rng = np.random.default_rng(index)
    xs = [_batch(sample.args[k], index + k) for k in positions]
    shapes = [o.shape for o in f(*[cr.tensor(x[0, ...]) for x in xs])]
    us = tuple(cr.tensor(rng.standard_normal((B,) + tuple(s))) for s in shapes)
    vs = tuple(cr.tensor(rng.standard_normal(x.shape)) for x in xs)
    batch = tuple(cr.tensor(x) for x in xs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pulled = vmap(lambda x, u: vjp(f, *x)[1](u))(batch, us)
        pulled_outside = vjp(vmap(f), *batch)[1](us)
        pushed = vmap(lambda x, v: jvp(f, x, v)[1])(batch, vs) if entry.jvp else None
        pushed_outside = jvp(vmap(f), batch, vs)[1] if entry.jvp else None
    for b in range(B):
        inputs = [cr.tensor(x[b, ...], requires_grad=True) for x in xs]
        pairs = [(o, u[b]) for o, u in zip(f(*inputs), us) if o.requires_grad]
        expected = cr.autograd.grad([o for o, _ in pairs], inputs, [u for _, u in pairs], allow_unused=True,
                                    materialize_grads=True) if pairs else [cr.zeros_like(x) for x in inputs]
        for got, outside, e in zip(pulled, pulled_outside, expected):
            close(got[b], e, 1e-9)
            close(outside[b], e, 1e-9)
        if entry.jvp:
            for got, outside, e in zip(pushed, pushed_outside, jvp(f, tuple(x[b] for x in batch),
                                                                    tuple(v[b] for v in vs))[1]):
                close(got[b], e, 1e-9)
                close(outside[b], e, 1e-9)


def test_every_primitive_has_a_batching_rule():
    # Primitives without a rule still work (a loop over the samples, with a warning); the goal is none.
    assert [name for name, op in PRIMITIVES.items() if op.batch_rule is None] == []


class _NoRule(Primitive):
    @staticmethod
    def forward(ctx, x):
        return np.cumprod(x)


_NoRule.name = "test_vmap_cumprod_without_rule"  # NOTE: set after the class, so PRIMITIVES does not list it


def test_an_op_without_a_rule_loops_over_samples_and_warns_once():
    x = t64(4, 3)
    with pytest.warns(UserWarning, match="test_vmap_cumprod_without_rule has no batching rule") as record:
        out = vmap(lambda r: apply(_NoRule, (r,)))(x)
        vmap(lambda r: apply(_NoRule, (r,)))(x)
    assert len(record) == 1
    close(out, np.cumprod(x.numpy(), axis=1))


# -- transforms inside and outside vmap ---------------------------------------------------------------

def test_per_sample_gradients_equal_a_loop_of_backward_passes():
    w, xs = t64(3, seed=1), t64(5, 3, seed=2)

    def loss(w, x):
        return (cr.tanh(w * x).exp() * x).sum()

    per_sample = vmap(grad(loss), in_dims=(None, 0))(w, xs)
    for b in range(5):
        wb = w.detach().requires_grad_()
        loss(wb, xs[b]).backward()
        close(per_sample[b], wb.grad)


def test_grad_of_vmap_and_vmap_of_grad_of_grad():
    xs = t64(4, 3)
    close(grad(lambda x: vmap(lambda r: (r.sin() * r).sum())(x).sum())(xs),
          np.cos(xs.numpy()) * xs.numpy() + np.sin(xs.numpy()))
    close(vmap(grad(grad(lambda t: t.sin() * t)))(xs[:, 0]),
          2 * np.cos(xs.numpy()[:, 0]) - xs.numpy()[:, 0] * np.sin(xs.numpy()[:, 0]))
    # reverse mode outside and inside: the inner gradient stays differentiable for the outer one
    close(grad(lambda x: vmap(grad(lambda r: (r ** 3).sum()))(x).sum())(xs), 6 * xs.numpy())


def test_vmap_of_jvp_and_jvp_of_vmap():
    xs, vs = t64(4, 3), t64(4, 3, seed=1)
    f = lambda q: (q.exp() * q).sum()
    expected = (np.exp(xs.numpy()) * (xs.numpy() + 1) * vs.numpy()).sum(1)
    close(vmap(lambda x, v: jvp(f, (x,), (v,))[1])(xs, vs), expected)
    close(jvp(vmap(f), (xs,), (vs,))[1], expected)
    close(jvp(vmap(grad(lambda q: (q ** 3).sum())), (xs,), (vs,))[1], 6 * xs.numpy() * vs.numpy())
    # a tangent entering through a closure, forward mode over vmap over reverse mode
    w, w_t = t64(3, seed=2), t64(3, seed=3)
    close(jvp(lambda w: vmap(grad(lambda r: (w * r * r).sum()))(xs), (w,), (w_t,))[1], 2 * w_t.numpy() * xs.numpy())


def test_nested_vmap():
    xs, ys = t64(4, 3), t64(5, 3, seed=1)
    close(vmap(vmap(cr.dot, in_dims=(None, 0)), in_dims=(0, None))(xs, ys), xs.numpy() @ ys.numpy().T)
    # the outer batch used as a closure inside the inner vmap, and an op batched only at the outer level
    close(vmap(lambda x: vmap(lambda y: y * (x * 2).sum())(ys))(xs),
          ys.numpy()[None] * 2 * xs.numpy().sum(1)[:, None, None])


def test_jacobians_equal_their_per_row_and_per_column_versions():
    a = t64(4, 3, seed=4)
    f = lambda x: cr.tanh(a @ x) * x.sum()
    x = t64(3, seed=5)
    rows = [grad(lambda x, k=k: f(x)[k])(x).numpy() for k in range(4)]
    columns = [jvp(f, (x,), (e,))[1].numpy() for e in cr.eye(3, dtype=cr.float64)]
    close(jacrev(f)(x), np.stack(rows))
    close(jacrev(f, chunk_size=1)(x), np.stack(rows))
    close(jacfwd(f)(x), np.stack(columns, axis=-1))
    g = lambda x: cr.tanh(a @ x).sum() * (x * x).sum()
    per_row = np.stack([grad(lambda x, k=k: grad(g)(x)[k])(x).numpy() for k in range(3)])
    close(hessian(g)(x), per_row)


def test_a_custom_function_batches_forward_backward_and_from_outside():
    xs = t64(4, 2)
    close(vmap(Cube.apply)(xs), xs.numpy() ** 3)
    close(vmap(grad(lambda x: Cube.apply(x).sum()))(xs), 3 * xs.numpy() ** 2)
    with pytest.warns(UserWarning, match="Cube has no batching rule"):
        close(grad(lambda x: vmap(Cube.apply)(x).sum())(xs), 3 * xs.numpy() ** 2)


def test_detach_and_no_grad_inside_vmap_stop_the_gradient():
    xs = t64(4, 3)
    close(grad(lambda x: vmap(lambda r: (r * r.detach()).sum())(x).sum())(xs), xs.numpy())
    close(grad(lambda x: vmap(lambda r: (r * (r * 1.0).detach_()).sum())(x).sum())(xs), xs.numpy())

    def half_tracked(r):
        with cr.no_grad():
            c = r * 2
        return (r * c).sum()
    close(grad(lambda x: vmap(half_tracked)(x).sum())(xs), 2 * xs.numpy())


# -- pytrees, dims, chunks ----------------------------------------------------------------------------

def test_nested_in_dims_and_out_dims():
    x, y, z = t64(4, 3), t64(2, 4, seed=1), t64(3, seed=2)

    def f(d, scale, z):
        a, (b, k) = d["a"], d["b"]
        return {"sum": a * scale + b.sum() * k, "pair": (a.sum(), z)}

    out = vmap(f, in_dims=({"a": 0, "b": (-1, None)}, None, None), out_dims={"sum": 1, "pair": (0, None)})(
        {"a": x, "b": (y, 2.0)}, 3.0, z)
    close(out["sum"], (x.numpy() * 3 + 2 * y.numpy().sum(0)[:, None]).T)
    close(out["pair"][0], x.numpy().sum(1))
    assert out["pair"][1] is z
    # an output that does not depend on the batch is broadcast along it; kwargs are never batched
    close(vmap(lambda r, *, c: c)(x, c=z), np.broadcast_to(z.numpy(), (4, 3)))
    # out_dims=None passes non-tensor outputs through
    assert vmap(lambda r: (r, "tag"), out_dims=(0, None))(x)[1] == "tag"


def test_chunks_give_the_same_result():
    x = t64(7, 3)
    f = lambda r: (r.exp() * r.sum()).sin()
    close(vmap(f, chunk_size=3)(x), vmap(f)(x))
    close(vmap(f, chunk_size=1, in_dims=1, out_dims=1)(x.t()), vmap(f)(x).t())


# -- randomness ---------------------------------------------------------------------------------------

def test_randomness_modes():
    x = cr.zeros(5, 4)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(lambda r: r + cr.rand(4))(x)
    cr.manual_seed(0)
    different = vmap(lambda r: r + cr.randn_like(r), randomness="different")(x)
    assert len({tuple(row) for row in different.numpy()}) == 5
    same = vmap(lambda r: r + cr.rand(4), randomness="same", chunk_size=2)(x)
    assert (same.numpy() == same.numpy()[0]).all()
    dropped = vmap(lambda r: cr.nn.functional.dropout(r + 1, 0.5), randomness="same")(x)
    assert (dropped.numpy() == dropped.numpy()[0]).all()
    # dropout draws with chainrule.rand, so 'different' gives each sample its own mask
    dropped = vmap(lambda r: cr.nn.functional.dropout(r + 1, 0.5), randomness="different")(cr.zeros(5, 40))
    assert len({tuple(row) for row in dropped.numpy()}) == 5
    with pytest.raises(RuntimeError, match="directly with NumPy"):
        vmap(lambda r: r + cr.nn.init.uniform_(cr.empty(4)), randomness="different")(x)


# -- errors -------------------------------------------------------------------------------------------

def test_errors():
    x = t64(3, 2)
    with pytest.raises(ValueError, match=r"same size in the mapped dimension, got sizes \[3, 4\]"):
        vmap(cr.add)(x, t64(4, 2))
    with pytest.raises(ValueError, match="satisfy -2 <= in_dim < 2"):
        vmap(cr.neg, in_dims=2)(x)
    with pytest.raises(ValueError, match="non-Tensor arguments"):
        vmap(cr.neg)(3.0)
    with pytest.raises(ValueError, match="at least one input must be batched"):
        vmap(cr.neg, in_dims=(None,))(x)
    with pytest.raises(ValueError, match="not compatible with the structure"):
        vmap(cr.add, in_dims=(0, (0,)))(x, x)
    with pytest.raises(ValueError, match="can not return a batched tensor when out_dim is None"):
        vmap(cr.neg, out_dims=None)(x)
    with pytest.raises(ValueError, match="must only return Tensors"):
        vmap(lambda r: 1.0)(x)
    with pytest.raises(RuntimeError, match="randomness"):
        vmap(cr.neg, randomness="sometimes")
    with pytest.raises(ValueError, match="chunk_size"):
        vmap(cr.neg, chunk_size=0)
    with pytest.raises(ValueError, match="no inputs"):
        vmap(lambda: x)()


@pytest.mark.parametrize("f, message", [
    (lambda r: r.sum().item(), r"\.item\(\)"),
    (lambda r: r if r.sum() > 0 else -r, "data-dependent control flow"),
    (lambda r: float(r[0]), r"\.item\(\)"),
    (lambda r: np.exp(r.numpy()), r"\.numpy\(\)"),
    (lambda r: np.asarray(r), r"\.numpy\(\)"),
    (lambda r: cr.tensor(r.data) + r, r"\.numpy\(\)"),
    (lambda r: r.tolist(), r"\.tolist\(\)"),
    (lambda r: print(r), "printing"),
    (lambda r: r.add_(1), "add_ would modify a tensor in place"),
    (lambda r: r.clone().__setitem__(0, 1.0), "__setitem__ would modify a tensor in place"),
])
def test_reading_values_and_in_place_ops_are_refused(f, message):
    with pytest.raises(RuntimeError, match=message):
        vmap(f)(t64(3, 2))
