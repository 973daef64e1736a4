"""No op lets a NumPy RuntimeWarning out (issue 17, item 6): torch returns inf/nan silently, so must we.

Every op database entry runs forward and backward with its float inputs set to hostile values (0, -1, 1000,
inf, nan, and a mix) under ``warnings.simplefilter("error")``; errors an op raises on purpose (a singular
matrix, a bad shape) are fine, a RuntimeWarning is not.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

from .opdb import all_entries

HOSTILE = {"zero": 0.0, "minus_one": -1.0, "huge": 1000.0, "inf": np.inf, "nan": np.nan,
           "mixed": np.array([0.0, -1.0, 1000.0, np.inf, np.nan, -np.inf, 1e-300, -1000.0])}

CASES = [pytest.param(e, s, name, id=f"{e.name}-{i}-{name}")
         for e in all_entries() for i, s in enumerate(e.samples[:2]) for name in HOSTILE]


def _hostile(array: np.ndarray, value) -> np.ndarray:
    if np.ndim(value):
        return np.resize(value, array.shape).astype(array.dtype)
    return np.full_like(array, value)


@pytest.mark.parametrize("entry, sample, name", CASES)
def test_op_emits_no_numpy_warning(entry, sample, name):
    positions = set(sample.differentiable_positions())
    inputs = [cr.tensor(_hostile(a, HOSTILE[name]), requires_grad=entry.differentiable and i in positions)
              if isinstance(a, np.ndarray) and a.dtype.kind == "f" else
              cr.tensor(a) if isinstance(a, np.ndarray) else a
              for i, a in enumerate(sample.args)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            out = entry.fn(*inputs)
        except RuntimeWarning:
            raise
        except Exception:  # NOTE: an op refusing hostile input with an error is allowed; only warnings fail
            return
        outs = [o for o in (out if isinstance(out, tuple) else (out,))
                if isinstance(o, cr.Tensor) and o.requires_grad]
        if outs:
            try:
                cr.autograd.backward(outs, [cr.ones_like(o) for o in outs])
            except RuntimeWarning:
                raise
            except Exception:
                return


@pytest.mark.parametrize("expr", [
    lambda: cr.log(cr.zeros(3)), lambda: cr.ones(3) / 0, lambda: cr.ones(3) / cr.zeros(3),
    lambda: cr.sqrt(-cr.ones(3)), lambda: cr.exp(cr.full((3,), 1000.0)), lambda: cr.reciprocal(cr.zeros(3)),
    lambda: cr.zeros(3) ** -1.0, lambda: cr.pow(cr.zeros(3), cr.full((3,), -1.0)), lambda: cr.rsqrt(cr.zeros(3)),
    lambda: cr.log2(-cr.ones(3)), lambda: cr.log1p(-cr.full((3,), 2.0)), lambda: cr.tan(cr.full((3,), np.inf)),
])
def test_issue_cases_are_silent(expr):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = expr()
    assert not np.isfinite(out.numpy()).all()


def test_backward_through_log_of_zero_is_silent():
    x = cr.zeros(3, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (cr.log(x) * 0).sum().backward()  # NOTE: 0 * inf in the chain: nan, as torch, without a warning
    assert np.isnan(x.grad.numpy()).all()


def test_numpy_error_state_is_left_alone():
    before = np.geterr()
    cr.log(cr.zeros(2))
    assert np.geterr() == before
