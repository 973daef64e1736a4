"""The whitelist expression reader behind `chainrule explain`: what it accepts, how it evaluates, what it refuses."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.viz.expression import ExpressionError, evaluate, parse, parse_value, variables


def run(text, **values):
    tensors = {k: cr.tensor(v, dtype=cr.float64) for k, v in values.items()}
    return evaluate(parse(text), tensors).numpy()


def test_evaluates_with_python_precedence_and_the_allowed_functions():
    x, y = 0.7, -1.3
    assert run("-x ** 2 + 3 * y / 2 - +x", x=x, y=y) == pytest.approx(-x ** 2 + 3 * y / 2 - x)
    got = run("max(x, y) * sigmoid(y) + min(x, y) + relu(y) + abs(y) + sqrt(x) + tanh(y)", x=x, y=y)
    want = x / (1 + np.exp(-y)) + y + 0 + abs(y) + np.sqrt(x) + np.tanh(y)
    assert got == pytest.approx(want)
    assert run("exp(log(x)) + sin(x) ** 2 + cos(x) ** 2", x=x) == pytest.approx(x + 1)
    np.testing.assert_allclose(run("sum(x * y) + mean(x)", x=[1.0, 2.0], y=[3.0, 4.0]), 11 + 1.5)


def test_variables_in_order_of_appearance_without_function_names():
    assert variables(parse("exp(w * x) + b * w")) == ["w", "x", "b"]
    assert variables(parse("2 * 3")) == []


def test_values_are_numbers_or_flat_lists():
    assert parse_value("x", "-2") == -2 and parse_value("x", "[1, 2.5]") == [1, 2.5]
    for bad in ("True", "'a'", "[1, [2]]", "[]", "(1, 2)", "1e999", "x", "{1: 2}", "[1" * 5):
        with pytest.raises(ExpressionError):
            parse_value("x", bad)


def test_every_refusal_is_an_expression_error_naming_what_is_allowed():
    for text in ("x.y", "x[0]", "f(x)", "exp(x=x)", "x // 2", "x and y", "not x", "~x", "{x}", "x < y",
                 "x ** 1001", "x * 1e16", "exp", "_x + 1", "lambda: 0", "", "   "):
        with pytest.raises(ExpressionError):
            parse(text)
    with pytest.raises(ExpressionError, match="allowed: numbers, variable names"):
        parse("x.y")
    with pytest.raises(ExpressionError, match="no value for the variable 'y'"):
        evaluate(parse("x + y"), {"x": cr.tensor(1.0)})
