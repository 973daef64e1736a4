"""A safe reader for arithmetic typed by a user (the ``chainrule explain`` command): never ``eval``.

The text is parsed with ``ast`` (parsing runs nothing) and every node is checked against a whitelist:
numbers, variable names, ``+ - * / **``, unary ``-``/``+`` and calls of a fixed set of functions with
positional arguments. Anything else (attribute access, subscripts, lambdas, comprehensions, keywords,
other calls, strings, huge literals or exponents, overly long or deeply nested text) is refused with an
:class:`ExpressionError` naming what was found and what is allowed. The checked tree is then evaluated by
an explicit-stack walk with chainrule ops, so the graph it builds can be explained and drawn.
"""

from __future__ import annotations

import ast
import math

import chainrule

MAX_LENGTH = 1000        # characters of expression text
MAX_NODES = 300          # syntax tree nodes
MAX_DEPTH = 40           # nesting of operations
MAX_LITERAL = 1e15       # absolute value of a number written in the expression
MAX_EXPONENT = 1000      # absolute value of a constant exponent
MAX_VALUE_LENGTH = 10000  # characters of one NAME=VALUE value
MAX_ELEMENTS = 1000      # elements of one vector value

# The number of arguments each function takes (a tuple: either count).
FUNCTIONS = {"exp": 1, "log": 1, "sigmoid": 1, "tanh": 1, "relu": 1, "sin": 1, "cos": 1, "sqrt": 1, "abs": 1,
             "max": (1, 2), "min": (1, 2), "sum": 1, "mean": 1}
# max/min of two values is the max gate; of one vector, a reduction (as sum and mean).
_CALLS = {("max", 2): "maximum", ("min", 2): "minimum", ("max", 1): "amax", ("min", 1): "amin"}
_BINARY = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__",
           ast.Pow: "__pow__"}
_SYMBOLS = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
            ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Not: "not", ast.Invert: "~"}
_REFUSED = {ast.Attribute: "attribute access (a.b)", ast.Subscript: "indexing or slicing (a[...])",
            ast.Lambda: "lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
            ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator expression",
            ast.Compare: "a comparison", ast.BoolOp: "and/or", ast.IfExp: "a conditional expression",
            ast.NamedExpr: "an assignment (:=)", ast.Starred: "unpacking (*args)", ast.List: "a list",
            ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set", ast.JoinedStr: "a string",
            ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield"}

ALLOWED = ("numbers, variable names, + - * / ** and unary -, and calls of "
           + ", ".join(f"{name}()" for name in FUNCTIONS))


class ExpressionError(ValueError):
    """The expression or a value is malformed or uses something outside the whitelist."""


def parse(text: str) -> ast.Expression:
    """Parse and check ``text``; raise :class:`ExpressionError` for anything outside the whitelist."""
    if not isinstance(text, str):
        raise ExpressionError(f"expected the expression as a string, got {type(text).__name__}")
    if not text.strip():
        raise ExpressionError("the expression is empty; write one such as \"(x + y) * z\"")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; at most {MAX_LENGTH} are "
                              "allowed")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"not a valid expression ({error.msg})") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError("not a valid expression (too large or too deeply nested)") from None
    count, stack = 0, [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"the expression has more than {MAX_NODES} parts; write a shorter one")
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep")
        stack.extend((child, depth + 1) for child in _children(node))
    return tree


def _children(node) -> list:
    """The operands of an allowed node (checking it on the way), or an ExpressionError."""
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            symbol = _SYMBOLS.get(type(node.op), type(node.op).__name__)
            hint = " (for a power write **, e.g. x**2)" if symbol == "^" else ""
            raise ExpressionError(f"the operator {symbol} is not allowed{hint}; allowed: {ALLOWED}")
        if isinstance(node.op, ast.Pow):
            _check_exponent(node.right)
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ExpressionError(f"the operator {_SYMBOLS.get(type(node.op), '?')} is not allowed; allowed: "
                                  f"{ALLOWED}")
        return [node.operand]
    if isinstance(node, ast.Constant):
        _check_number(node.value)
        return []
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise ExpressionError(f"the name '{node.id}' is not allowed (names may not start with _)")
        if node.id in FUNCTIONS:
            raise ExpressionError(f"'{node.id}' is a function; call it, e.g. {node.id}(x)")
        return []
    if isinstance(node, ast.Call):
        return _call_arguments(node)
    what = _REFUSED.get(type(node), type(node).__name__)
    raise ExpressionError(f"{what} is not allowed; allowed: {ALLOWED}")


def _call_arguments(node: ast.Call) -> list:
    if not isinstance(node.func, ast.Name):
        raise ExpressionError(f"only calls of the allowed functions by name are allowed; allowed: {ALLOWED}")
    name = node.func.id
    if name not in FUNCTIONS:
        raise ExpressionError(f"calling '{name}' is not allowed; allowed functions: "
                              f"{', '.join(FUNCTIONS)}")
    if node.keywords:
        raise ExpressionError(f"{name}(): keyword arguments are not allowed; pass arguments by position")
    if any(isinstance(a, ast.Starred) for a in node.args):
        raise ExpressionError(f"{name}(): unpacking (*args) is not allowed")
    counts = FUNCTIONS[name] if isinstance(FUNCTIONS[name], tuple) else (FUNCTIONS[name],)
    if len(node.args) not in counts:
        wanted = " or ".join(str(n) for n in counts)
        raise ExpressionError(f"{name}() takes {wanted} argument{'s' * (max(counts) > 1)}, got "
                              f"{len(node.args)}")
    return list(node.args)


def _check_number(value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(f"only numbers are allowed as constants, got {type(value).__name__} "
                              f"{value!r:.40}")
    if abs(value) > MAX_LITERAL or not math.isfinite(value):
        raise ExpressionError(f"the number {value!r:.40} is too large; numbers up to {MAX_LITERAL:g} are "
                              "allowed")


def _check_exponent(node) -> None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and \
            not isinstance(node.value, bool) and abs(node.value) > MAX_EXPONENT:
        raise ExpressionError(f"the exponent {node.value!r:.40} is too large; exponents up to {MAX_EXPONENT} "
                              "are allowed")


def variables(tree: ast.Expression) -> list:
    """The variable names of a checked expression, in order of first appearance."""
    callees = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in callees]
    names.sort(key=lambda n: (n.lineno, n.col_offset))
    return list(dict.fromkeys(n.id for n in names))


def parse_value(name: str, text: str):
    """``text`` as a number or a flat list of numbers (``ast.literal_eval``, then checked)."""
    if len(text) > MAX_VALUE_LENGTH:
        raise ExpressionError(f"the value of {name} is {len(text)} characters long; at most "
                              f"{MAX_VALUE_LENGTH} are allowed")
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ExpressionError(f"the value of {name} must be a number or a list of numbers such as [1, 2, 3], "
                              f"got {text!r:.60}") from None
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not 1 <= len(value) <= MAX_ELEMENTS:
        raise ExpressionError(f"the value of {name} must have 1 to {MAX_ELEMENTS} numbers, got {len(value)}")
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise ExpressionError(f"the value of {name} must be a number or a flat list of numbers such as "
                                  f"[1, 2, 3], got {text!r:.60}")
        if not math.isfinite(item):
            raise ExpressionError(f"the value of {name} must be finite, got {text!r:.60}")
    return value


def evaluate(tree: ast.Expression, values: dict):
    """Evaluate a checked expression with chainrule ops; ``values`` maps each variable name to a tensor."""
    done: dict = {}
    stack = [(tree.body, False)]
    while stack:
        node, expanded = stack.pop()
        if isinstance(node, ast.Constant):
            done[id(node)] = chainrule.tensor(float(node.value), dtype=chainrule.float64)
        elif isinstance(node, ast.Name):
            if node.id not in values:
                raise ExpressionError(f"no value for the variable '{node.id}'; pass it as {node.id}=VALUE")
            done[id(node)] = values[node.id]
        elif not expanded:
            stack.append((node, True))
            # NOTE: reversed, so the left operand is computed first and numbered first (t1 = x*y in x*y + z*w)
            stack.extend((child, False) for child in reversed(_children(node)))
        elif isinstance(node, ast.BinOp):
            left, right = done[id(node.left)], done[id(node.right)]
            done[id(node)] = getattr(left, _BINARY[type(node.op)])(right)
        elif isinstance(node, ast.UnaryOp):
            operand = done[id(node.operand)]
            done[id(node)] = -operand if isinstance(node.op, ast.USub) else operand
        else:
            fn = getattr(chainrule, _CALLS.get((node.func.id, len(node.args)), node.func.id))
            done[id(node)] = fn(*[done[id(a)] for a in node.args])
    return done[id(tree.body)]
