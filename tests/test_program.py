"""The typed program form: recording, printing, checking and re-running; flat code rebuilt from it."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.func import grad, vmap
from chainrule.ops._primitive import PRIMITIVES
from chainrule.program import Equation, ProgramError, Var, record
from chainrule.viz import flat_backprop

from .helpers import t64


def lecture(x, y, z):
    return (x + y) * z


def test_lecture_program_prints_one_typed_equation_per_op():
    program, out = record(lecture, cr.tensor(-2.0), cr.tensor(5.0), cr.tensor(-4.0))
    assert out.item() == -12
    assert str(program).splitlines() == ["{ lambda ; a:f32[] b:f32[] c:f32[]. let",
                                         "    d:f32[] = add a b",
                                         "    e:f32[] = mul d c",
                                         "  in (e) }"]


def test_program_reruns_on_new_inputs_and_records_params_and_constants():
    program, _ = record(lambda x: (x * 2).sum(0), t64(2, 3))
    assert [eq.op.name for eq in program.equations] == ["mul", "sum"]
    assert program.equations[1].params == {"dims": (0,), "keepdim": False, "dtype": None}
    assert len(program.consts) == 1   # the 2
    x = t64(2, 3, seed=5)
    (got,) = program.run(x)
    np.testing.assert_allclose(got.numpy(), (x * 2).sum(0).numpy())


def test_checker_reports_bad_types_params_and_undefined_inputs():
    program, _ = record(lambda x, y: x + y, t64(3), t64(3))
    program.check()
    bad = program.equations[0]
    program.equations[0] = Equation(bad.op, bad.inputs, bad.params, (Var((4,), np.float64),))
    with pytest.raises(ProgramError, match=r"equation 0 \(add\): output .* should be f64\[3\]"):
        program.check()
    program.equations[0] = Equation(PRIMITIVES["sum"], bad.inputs[:1], {"dims": 0, "keepdim": False,
                                                                         "dtype": None}, bad.outputs)
    with pytest.raises(ProgramError, match="parameter dims=0 is a int"):
        program.check()
    program.equations[0] = Equation(bad.op, (Var((3,), np.float64), bad.inputs[1]), {}, bad.outputs)
    with pytest.raises(ProgramError, match="used before it is defined"):
        program.check()


def pool_loss(x):
    return F.max_pool2d(x, 2).sum()


def test_flat_code_of_max_pool_recomputes_the_mask_on_new_inputs():
    x0 = np.arange(16.0).reshape(1, 1, 4, 4)
    flat = flat_backprop(pool_loss, cr.tensor(x0))
    x1 = np.random.default_rng(0).standard_normal((1, 1, 4, 4))
    value, (g,) = flat.run(cr.tensor(x1))
    x = cr.tensor(x1, requires_grad=True)
    pool_loss(x).backward()
    assert value.item() == pytest.approx(pool_loss(cr.tensor(x1)).item())
    np.testing.assert_array_equal(g.numpy(), x.grad.numpy())


def test_per_sample_gradients_through_max_pool():
    w = t64(2, 1, 3, 3)

    def loss(w, x):
        return F.max_pool2d(F.conv2d(x.unsqueeze(0), w, padding=1), 2).relu().sum()
    xs = t64(4, 1, 6, 6, seed=3)
    got = vmap(grad(loss), in_dims=(None, 0))(w, xs)
    want = cr.stack([grad(loss)(w, xs[i]) for i in range(4)])
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
