"""Generic op tests driven by the op database (tests/opdb): forward, gradients, JVPs, second order.

For every entry and sample: the forward matches the NumPy reference; reverse mode passes finite-difference
gradcheck in float64; forward mode matches the finite-difference directional derivative; the VJP and JVP
agree (<u, J v> == <J^T u, v>); smooth ops pass gradgradcheck. A meta-test fails when a public op has no entry.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd import forward_ad as fwAD
from chainrule.autograd import gradcheck, gradgradcheck

from .opdb import all_entries

ENTRIES = all_entries()
CASES = [pytest.param(e, s, id=f"{e.name}-{i}") for e in ENTRIES for i, s in enumerate(e.samples)]
DIFF_CASES = [c for c in CASES if c.values[0].differentiable]


def make_inputs(sample, requires_grad=True):
    positions = set(sample.differentiable_positions())
    return tuple(cr.tensor(a, requires_grad=requires_grad and i in positions) if isinstance(a, np.ndarray) else a
                 for i, a in enumerate(sample.args))


def as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def float_outputs(out):
    return [o for o in as_tuple(out) if isinstance(o, cr.Tensor) and o.dtype.is_floating_point]


@pytest.mark.parametrize("entry, sample", CASES)
def test_forward_matches_reference(entry, sample):
    if entry.ref is None:
        pytest.skip("no NumPy reference; covered by derivative checks")
    out = as_tuple(entry.fn(*make_inputs(sample, requires_grad=False)))
    expected = as_tuple(entry.ref(*sample.args))
    assert len(out) == len(expected)
    for o, e in zip(out, expected):
        np.testing.assert_allclose(o.numpy(), np.asarray(e), rtol=1e-6, atol=1e-9)
        assert o.shape == np.shape(e)


@pytest.mark.parametrize("entry, sample", DIFF_CASES)
def test_gradcheck(entry, sample):
    inputs = make_inputs(sample)
    assert gradcheck(lambda *xs: tuple(float_outputs(entry.fn(*xs))), inputs, atol=entry.atol, rtol=entry.rtol)


@pytest.mark.parametrize("entry, sample", [c for c in DIFF_CASES if c.values[0].twice])
def test_gradgradcheck(entry, sample):
    inputs = make_inputs(sample)
    assert gradgradcheck(lambda *xs: tuple(float_outputs(entry.fn(*xs))), inputs, atol=entry.atol,
                         rtol=entry.rtol)


def _random_like(sample, seed):
    rng = np.random.default_rng(seed)
    return {i: rng.standard_normal(np.shape(sample.args[i])) for i in sample.differentiable_positions()}


def _jvp(entry, sample, tangents):
    inputs = list(make_inputs(sample, requires_grad=False))
    with fwAD.dual_level():
        for i, t in tangents.items():
            inputs[i] = fwAD.make_dual(inputs[i], cr.tensor(t))
        outs = float_outputs(entry.fn(*inputs))
        return [fwAD.unpack_dual(o).tangent for o in outs], [o.shape for o in outs]


@pytest.mark.parametrize("entry, sample", [c for c in DIFF_CASES if c.values[0].jvp])
def test_jvp_matches_finite_differences(entry, sample):
    tangents = _random_like(sample, 1)
    out_t, shapes = _jvp(entry, sample, tangents)
    eps = 1e-6

    def shifted(sign):
        args = [np.asarray(a + sign * eps * tangents[i]) if i in tangents else a for i, a in enumerate(sample.args)]
        with cr.no_grad():
            return [o.numpy() for o in float_outputs(entry.fn(*make_inputs(type(sample)(tuple(args), sample.grad),
                                                                              requires_grad=False)))]
    plus, minus = shifted(1), shifted(-1)
    for t, p, m, shape in zip(out_t, plus, minus, shapes):
        expected = (p - m) / (2 * eps)
        got = np.zeros(shape) if t is None else t.numpy()
        np.testing.assert_allclose(got, expected, atol=entry.atol * 10, rtol=entry.rtol)


@pytest.mark.parametrize("entry, sample", [c for c in DIFF_CASES if c.values[0].jvp])
def test_vjp_jvp_dot_product(entry, sample):
    v = _random_like(sample, 2)
    jv, shapes = _jvp(entry, sample, v)
    rng = np.random.default_rng(3)
    us = [rng.standard_normal(s) for s in shapes]
    inputs = make_inputs(sample)
    outs = float_outputs(entry.fn(*inputs))
    wrt = [inputs[i] for i in sorted(v)]
    if not any(o.requires_grad for o in outs):
        return
    pairs = [(o, cr.tensor(u)) for o, u in zip(outs, us) if o.requires_grad]
    grads = cr.autograd.grad([o for o, _ in pairs], wrt, [u for _, u in pairs], allow_unused=True)
    lhs = sum(float(np.sum(u * (0 if t is None else t.numpy()))) for u, t in zip(us, jv))
    rhs = sum(float(np.sum(g.numpy() * v[i])) for g, i in zip(grads, sorted(v)) if g is not None)
    assert lhs == pytest.approx(rhs, rel=1e-7, abs=1e-9)


# Public names that are not ops on tensors or are covered elsewhere (the engine and factory tests).
NOT_OPS = {"less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_xor",
           "bitwise_and", "bitwise_or", "bitwise_xor"}


def test_every_public_op_has_an_entry():
    covered = set()
    for e in ENTRIES:
        covered.add(e.name)
        covered.update(e.covers)
    missing = sorted(set(cr.ops.__all__) - covered - NOT_OPS)
    assert not missing, f"public ops without an op database entry: {missing}"


# Public names of chainrule.nn.functional with no derivative to check.
NOT_DIFFERENTIABLE_FUNCTIONAL = {
    "one_hot",  # integer indices in, integer indicators out
}


def _same_function(a, b) -> bool:
    """The same declared function (the public ``chainrule`` one is wrapped to take ``out=``)."""
    return a is not None and b is not None and getattr(a, "__wrapped__", a) is getattr(b, "__wrapped__", b)


def test_every_public_functional_has_an_entry():
    """Each name of ``F.__all__`` needs an ``F.<name>`` entry (tests/opdb/nn_functional.py), unless it is the
    very ``chainrule.ops`` function, whose own entry then covers it."""
    covered = set()
    for e in ENTRIES:
        covered.add(e.name)
        covered.update(e.covers)
    missing = sorted(name for name in F.__all__
                     if f"F.{name}" not in covered and name not in NOT_DIFFERENTIABLE_FUNCTIONAL
                     and not (_same_function(getattr(F, name), getattr(cr.ops, name, None)) and name in covered))
    assert not missing, f"public nn.functional functions without an op database entry: {missing}"


def test_add_and_sub_scale_a_number_by_alpha():
    x = cr.ones(2)
    assert x.sub(1, alpha=2).tolist() == [-1.0, -1.0] and x.add(1, alpha=3).tolist() == [4.0, 4.0]
    assert x.clone().subtract_(1, alpha=2).tolist() == [-1.0, -1.0]
