"""Every primitive is one declaration, and what the rest of the library knows about an op comes from it."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops
from chainrule.autograd.anomaly import local_term
from chainrule.ops._primitive import PRIMITIVES, PUBLIC, exports
from chainrule.ops.elementwise import unary
from chainrule.viz.gates import expression, gate

from .helpers import t64


def test_every_primitive_declares_what_it_computes_and_its_parameters():
    for name, op in PRIMITIVES.items():
        assert op.doc, f"{name} has no doc"
        assert all(p.name for p in op.params), name
        if op.local is not None:
            assert len(op.local) == len(op.inputs), f"{name}: one local derivative per input"


def test_public_names_methods_and_docs_are_generated_from_the_declarations():
    for module, table in PUBLIC.items():
        for name, fn in table.items():
            assert fn.__doc__, f"{module}.{name} has no docstring"
    assert set(ops.__all__) == {n for family in ops._FAMILIES for n in exports(family.__name__)}
    # NOTE: the public function is the declared one wrapped only to take torch's out= (methods take none)
    assert cr.Tensor.multiply is cr.mul.__wrapped__ and cr.multiply is cr.mul
    assert cr.Tensor.clip is cr.clamp.__wrapped__


def test_an_op_added_in_one_place_is_known_everywhere():
    sinh = unary("sinh_test_only", np.sinh, lambda x, out: (x.exp() + (-x).exp()) * 0.5,
                 doc="The hyperbolic sine.", text="cosh({x})", code="{cr}cosh({x}) * {g}",
                 gate="sinh gate: local gradient cosh x")
    try:
        assert cr.Tensor.sinh_test_only is sinh and "sinh_test_only" in exports("chainrule.ops.elementwise")
        assert "hyperbolic sine" in sinh.__doc__ and "cosh(x)" in sinh.__doc__
        x = t64(3)
        x.requires_grad_()
        y = x.sinh_test_only()
        assert gate(y.grad_fn.op) == "sinh gate: local gradient cosh x"
        assert local_term(y.grad_fn, 0, {"x": "x"}) == "cosh(x)"
        assert expression(y.grad_fn.op, ["x"], y.grad_fn.params, "cr.") == "cr.sinh_test_only(x)"
        y.sum().backward()
        assert x.grad.numpy() == pytest.approx([math.cosh(v) for v in x.detach().tolist()])
    finally:
        del PRIMITIVES["sinh_test_only"], PUBLIC["chainrule.ops.elementwise"]["sinh_test_only"]
        del cr.Tensor.sinh_test_only


def test_a_primitive_name_cannot_be_declared_twice():
    with pytest.raises(RuntimeError, match="declared twice"):
        unary("exp", math.exp, None, doc="again")
