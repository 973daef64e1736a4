"""``chainrule explain "(x + y) * z" x=-2 y=5 z=-4``: the backward pass of an expression, step by step.

The expression is read by a whitelist parser (:mod:`chainrule.viz.expression`), never ``eval``: numbers,
variable names, ``+ - * / **``, unary minus and a fixed set of functions. Variables may be vectors
(``x=[1,2,3]``); a vector result is explained as the backward of its sum. ``--svg``/``--png`` also write the
drawing (Graphviz's ``dot`` needed); ``--html`` writes the interactive page (one self-contained file: click a
node, step through the backward pass). A bad expression or value gives one error line and exit status 2; a
failure while computing or drawing gives one error line and exit status 1. Never a traceback.
"""

from __future__ import annotations

import sys

import chainrule

from .._backend import xp
from ..viz import draw, explain, record
from ..viz.expression import ALLOWED, FUNCTIONS, ExpressionError, evaluate, parse, parse_value, variables
from ..viz.html import html

EXAMPLE = 'chainrule explain "(x + y) * z" x=-2 y=5 z=-4'


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "explain", help="explain the backward pass of an expression step by step",
        description=f"Run an expression forward and backward and explain every step. Allowed: {ALLOWED}.",
        epilog=f"example: {EXAMPLE}")
    parser.add_argument("expression", help='the expression, e.g. "(x + y) * z" or "sigmoid(w * x + b)"')
    parser.add_argument("values", nargs="*", metavar="NAME=VALUE",
                        help="a value for each variable: a number (x=-2) or a list of numbers (x=[1,2,3])")
    parser.add_argument("--svg", metavar="PATH", help="also write the drawing of the graph as SVG")
    parser.add_argument("--png", metavar="PATH", help="also write the drawing of the graph as PNG")
    parser.add_argument("--html", metavar="PATH",
                        help="also write the interactive page: click a node, step through the backward pass")
    parser.set_defaults(func=run)
    _read_leading_minus_as_expression(parser)


def _read_leading_minus_as_expression(parser) -> None:
    """Let an expression start with a minus (``chainrule explain -x*y x=1 y=2``).

    NOTE: argparse takes any argument that starts with "-" for an option and refuses the unknown ones; here
    only this command's own options are options, everything else is an expression or a value.
    """
    parse_optional = parser._parse_optional

    def _parse_optional(arg_string):
        if arg_string.startswith("-") and arg_string != "--" and \
                arg_string.split("=", 1)[0] not in parser._option_string_actions:
            return None
        return parse_optional(arg_string)

    parser._parse_optional = _parse_optional


def _fail(message, status: int) -> int:
    text = " ".join(str(message).split())
    print(f"chainrule explain: error: {text}", file=sys.stderr)
    return status


def read_values(items: list, names: list) -> dict:
    """``NAME=VALUE`` arguments as float64 tensors requiring grad, checked against the expression's names."""
    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or name.startswith("_") or name in FUNCTIONS:
            raise ExpressionError(f"expected NAME=VALUE with NAME a variable of the expression, got "
                                  f"{item!r:.60}")
        if name in values:
            raise ExpressionError(f"{name} is given twice")
        if name not in names:
            raise ExpressionError(f"{name} is not a variable of the expression (its variables: "
                                  f"{', '.join(names) or 'none'})")
        values[name] = chainrule.tensor(parse_value(name, text), dtype=chainrule.float64, requires_grad=True)
    missing = [n for n in names if n not in values]
    if missing:
        wanted = " ".join(f"{n}=VALUE" for n in missing)
        raise ExpressionError(f"no value for {', '.join(missing)}; pass {wanted} (e.g. {EXAMPLE})")
    return values


def run(args) -> int:
    try:
        tree = parse(args.expression)
        values = read_values(args.values, variables(tree))
    except ExpressionError as error:
        return _fail(error, 2)
    if not values:
        return _fail("the expression has no variables, so there is nothing to differentiate; use one, "
                     f"e.g. {EXAMPLE}", 2)
    try:
        with xp.errstate(all="ignore"):
            with record():
                out = evaluate(tree, values)
            if out.grad_fn is None:
                return _fail(f"{args.expression.strip()!r:.60} has no operation to explain; write one, e.g. "
                             f"{EXAMPLE}", 2)
            gradient = None if out._data.size == 1 else out.detach() * 0 + 1
            out.backward(gradient, retain_graph=True)
            report = explain(out, gradient, params=values)
    except ExpressionError as error:
        return _fail(error, 2)
    except (RuntimeError, TypeError, ValueError, IndexError, ArithmeticError, MemoryError) as error:
        return _fail(error, 1)
    if gradient is not None:
        print(f"note: the result has shape {tuple(out._data.shape)}; explaining the backward of its sum "
              "(an upstream gradient of ones)")
    print(report)
    for fmt, path in (("svg", args.svg), ("png", args.png), ("html", args.html)):
        if path is None:
            continue
        try:
            with xp.errstate(all="ignore"):
                if fmt == "html":
                    data = html(out, gradient, params=values, title=args.expression.strip()).encode()
                else:
                    data = draw(out, params=values).pipe(format=fmt)
            with open(path, "wb") as file:
                file.write(data)
        except (RuntimeError, ModuleNotFoundError, OSError) as error:
            return _fail(error, 1)
        print(f"wrote the {'page' if fmt == 'html' else 'drawing'} to {path}")
    return 0
