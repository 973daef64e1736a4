"""No op lets a NumPy RuntimeWarning out (issue 17, item 6): torch returns inf/nan silently, so must we.

Every op database entry runs forward and backward with its float inputs set to hostile values (0, -1, 1000,
inf, nan, and a mix) under ``warnings.simplefilter("error")``; errors an op raises on purpose (a singular
matrix, a bad shape) are fine, a RuntimeWarning is not.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule._backend import OWN_FILTER, own_warnings_dropped

from .opdb import all_entries

HOSTILE = {"zero": 0.0, "minus_one": -1.0, "huge": 1000.0, "inf": np.inf, "nan": np.nan,
           "mixed": np.array([0.0, -1.0, 1000.0, np.inf, np.nan, -np.inf, 1e-300, -1000.0])}

CASES = [pytest.param(e, s, name, id=f"{e.name}-{i}-{name}")
         for e in all_entries() for i, s in enumerate(e.samples[:2]) for name in HOSTILE]


def _hostile(array: np.ndarray, value) -> np.ndarray:
    if np.ndim(value):
        return np.resize(value, array.shape).astype(array.dtype)
    return np.full_like(array, value)


@pytest.mark.parametrize("own_filter_first", [True, False], ids=["filtered", "quiet"])
@pytest.mark.parametrize("entry, sample, name", CASES)
def test_op_emits_no_numpy_warning(entry, sample, name, own_filter_first):
    positions = set(sample.differentiable_positions())
    inputs = [cr.tensor(_hostile(a, HOSTILE[name]), requires_grad=entry.differentiable and i in positions)
              if isinstance(a, np.ndarray) and a.dtype.kind == "f" else
              cr.tensor(a) if isinstance(a, np.ndarray) else a
              for i, a in enumerate(sample.args)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        if own_filter_first:
            # NOTE: chainrule's filter consulted first, as in a user's program: forwards then run without QUIET
            # and must warn only from chainrule's own frames (where that filter drops the report)
            warnings.filters.insert(0, OWN_FILTER)
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


def _log_of_zero_recorded(setup) -> list:
    """The warnings recorded while cr.log(0) runs with the filters that ``setup`` installs."""
    with warnings.catch_warnings(record=True) as caught:
        setup()
        out = cr.log(cr.zeros(3))
    assert (out.numpy() == -np.inf).all()
    return [w for w in caught if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("setup", [
    lambda: warnings.simplefilter("always"),                       # pytest.warns / recwarn
    lambda: warnings.simplefilter("default", RuntimeWarning),
    lambda: warnings.filterwarnings("always", module=r"chainrule\.ops"),
    lambda: warnings.filters.insert(0, OWN_FILTER),                # chainrule's filter first: the no-write path
    lambda: warnings.filterwarnings("ignore", category=DeprecationWarning),  # an unrelated filter in front
], ids=["always", "default-runtime", "always-chainrule-modules", "own-first", "unrelated-first"])
def test_filters_added_after_import_never_let_numpy_reports_through(setup):
    assert _log_of_zero_recorded(setup) == []


def test_the_filter_decides_only_while_nothing_before_it_could_catch_the_reports():
    with warnings.catch_warnings():
        warnings.filters.insert(0, OWN_FILTER)  # NOTE: as in a program that imported chainrule first (not pytest)
        assert own_warnings_dropped()
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("error", module=r"numpy\.")  # user code's NumPy warnings as errors: not ours
        assert own_warnings_dropped()
        warnings.simplefilter("error", RuntimeWarning)
        assert not own_warnings_dropped()
    with warnings.catch_warnings():
        warnings.resetwarnings()  # the filter is gone: QUIET again
        assert not own_warnings_dropped()
        assert _log_of_zero_recorded(lambda: None) == []


@pytest.mark.parametrize("mode", ["raise", "call", "print", "log"])
def test_a_user_numpy_error_state_is_respected_for_user_code_and_ignored_for_ops(mode, capsys):
    calls = []
    with warnings.catch_warnings(), np.errstate(all=mode, call=calls.append if mode == "call" else None):
        warnings.filters.insert(0, OWN_FILTER)  # NOTE: the no-write path, unless the error state rules it out
        if mode == "log":
            np.seterrcall(_Log())
        out = cr.log(cr.zeros(2)) * (cr.ones(2) / 0)
    assert np.isinf(out.numpy()).all() and calls == [] and capsys.readouterr().out == ""


class _Log:
    def __init__(self):
        self.messages = []

    def write(self, message):
        self.messages.append(message)
        raise AssertionError(f"NumPy reported {message!r} from inside an op")


def test_users_own_numpy_warnings_still_reach_them():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.log(np.zeros(1))
    assert any("divide by zero" in str(w.message) for w in caught)
