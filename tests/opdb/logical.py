"""Op database entries: bitwise and logical ops, shifts, integer maths and value tests of ops/logical.py (see
opdb/__init__.py). None is differentiable; tests/test_logical.py pins their edge cases."""

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays

INTS = [Sample((np.array([[5, -3, 0], [12, 7, -8]]), np.array([3, 2, 5])), grad=(False, False)),
        Sample((np.array(6), np.array([4, -9, 0])), grad=(False, False))]
SHIFTS = [Sample((np.array([[5, -3, 0], [12, 7, -8]]), np.array([0, 2, 63])), grad=(False, False)),
          Sample((np.array(6), np.array([1, 70, -1])), grad=(False, False))]
FLOATS = [Sample((np.array([1.0, -0.0, 0.0, -2.5, np.inf, -np.inf, np.nan]),), grad=(False,))]


def _left_shift(x, y):
    return np.where((y >= 0) & (y < 64), np.left_shift(x, np.clip(y, 0, 63)), 0)


def _right_shift(x, y):
    return np.where((y >= 0) & (y < 64), np.right_shift(x, np.clip(y, 0, 63)), np.right_shift(x, 63))


def _close_pairs():
    x, y = arrays((3, 4), (4,))
    return [Sample((x, x + 1e-6 * (y > 0)), grad=(False, False)),
            Sample((np.array([1.0, np.inf, -np.inf, np.nan]), np.array(np.inf)), grad=(False, False))]


ENTRIES = [
    OpInfo("bitwise_not", cr.bitwise_not, [Sample((np.array([0, 5, -3]),)), Sample((np.array([True, False]),))],
           np.invert, differentiable=False),
    OpInfo("bitwise_left_shift", cr.bitwise_left_shift, SHIFTS, _left_shift, differentiable=False),
    OpInfo("bitwise_right_shift", cr.bitwise_right_shift, SHIFTS, _right_shift, differentiable=False),
    OpInfo("gcd", cr.gcd, INTS, np.gcd, differentiable=False),
    OpInfo("lcm", cr.lcm, INTS, np.lcm, differentiable=False),
    OpInfo("heaviside", cr.heaviside, [Sample((np.array([-1.5, 0.0, 2.0, np.nan]), np.array([0.5, 0.25, 0.5, 0.5])),
                                              grad=(False, False))],
           lambda x, v: np.where(x == 0, v, (x > 0).astype(float)), differentiable=False),
    OpInfo("signbit", cr.signbit, FLOATS, np.signbit, differentiable=False),
    OpInfo("isposinf", cr.isposinf, FLOATS, np.isposinf, differentiable=False),
    OpInfo("isneginf", cr.isneginf, FLOATS, np.isneginf, differentiable=False),
    OpInfo("isreal", cr.isreal, FLOATS, lambda x: np.ones(x.shape, dtype=bool), differentiable=False),
    OpInfo("isclose", cr.isclose, _close_pairs(), np.isclose, differentiable=False),
    OpInfo("isin", cr.isin, INTS, np.isin, differentiable=False),
    # NOTE: Python bools out; their values are pinned in tests/test_logical.py.
    OpInfo("allclose", cr.allclose, INTS, None, differentiable=False),
    OpInfo("equal", cr.equal, INTS, None, differentiable=False),
]
