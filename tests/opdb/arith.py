"""Op database entries: binary elementwise arithmetic and comparisons (see opdb/__init__.py)."""

import numpy as np

import chainrule as cr

from . import OpInfo, Sample, arrays, away_from

# Broadcasting pairs, including 0-d, size-1 and size-0 edges.
PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (3,)), ((1,), (2, 3)), ((0, 3), (3,))]


def pair_samples(positive_second: bool = False, seed: int = 0):
    out = []
    for i, (a, b) in enumerate(PAIRS):
        x, y = arrays(a, b, seed=seed + i)
        if positive_second:
            y = np.abs(y) + 0.5
        out.append(Sample((x, y)))
    return out


def _distinct_samples():
    out = []
    for i, (a, b) in enumerate(PAIRS):
        x, y = arrays(a, b, seed=i)
        xb, yb = np.broadcast_arrays(x, y)
        if x.size and y.size and np.min(np.abs(xb - yb)) < 0.05:
            y = y + 0.11
        out.append(Sample((x, y)))
    return out


ENTRIES = [
    OpInfo("add", cr.add, pair_samples(), np.add),
    OpInfo("sub", cr.sub, pair_samples(), np.subtract, covers=("subtract",)),
    OpInfo("mul", cr.mul, pair_samples(), np.multiply, covers=("multiply",)),
    OpInfo("div", cr.div, pair_samples(positive_second=True), np.divide, covers=("divide", "true_divide")),
    OpInfo("pow", cr.pow, [Sample((np.abs(x) + 0.5, y)) for x, y in (arrays((3, 4), (3, 4)), arrays((2, 3), (3,)),
                                                                         arrays((), (2,)))], np.power),
    OpInfo("pow_scalar", lambda x: cr.pow(x, 3), [Sample(arrays((3, 4))), Sample(arrays(()))], lambda x: x ** 3),
    OpInfo("pow_scalar_float", lambda x: x ** 2.5, [Sample((np.abs(arrays((3,))[0]) + 0.3,))], lambda x: x ** 2.5),
    OpInfo("maximum", cr.maximum, _distinct_samples(), np.maximum, twice=False),
    OpInfo("minimum", cr.minimum, _distinct_samples(), np.minimum, twice=False),
    OpInfo("where", lambda c, x, y: cr.where(c, x, y),
           [Sample((arrays((3, 4))[0] > 0, *arrays((3, 4), (4,)))),
            Sample((np.array([True, False]), *arrays((2,), ())))],
           np.where),
]

for _name, _ref in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                    ("gt", np.greater), ("ge", np.greater_equal), ("floor_divide", np.floor_divide)):
    ENTRIES.append(OpInfo(_name, getattr(cr, _name),
                          [Sample((away_from(x), away_from(y)), grad=(False, False))
                           for x, y in (arrays((3, 4), (4,)), arrays((2,), ()))], _ref, differentiable=False))


def _remainder_samples() -> list:
    """Dividends and divisors whose quotients stay clear of integers (the remainders' jumps), either sign."""
    x = np.array([[2.3, -2.3, 5.4, -0.7], [1.2, 3.7, -4.4, 0.4], [-6.1, 2.2, 0.9, 7.3]])
    y = np.array([1.5, -1.5, 2.5, 0.9])
    return [Sample((x, y)), Sample((np.array([3.3, -1.1]), np.array(1.4)))]


# NOTE: differentiable in both inputs, as torch (d/dx = 1, d/dy = -trunc(x/y) resp. -floor(x/y)).
ENTRIES += [OpInfo("remainder", cr.remainder, _remainder_samples(), np.remainder),
            OpInfo("fmod", cr.fmod, _remainder_samples(), np.fmod)]
