"""The lecture's vocabulary for ops: how each gate treats the gradient, and how its forward reads as code.

``GATES`` names the backward pattern of an op ("add distributes", "mul swaps", ...); ``expression`` writes a
node's forward as one line of Python (``x + y``, ``cr.sigmoid(t)``). Both explain and flat_backprop read them,
so the words and the code agree. The local-gradient formulas live with anomaly mode
(``chainrule.autograd.anomaly.LOCAL_TERMS``), which speaks the same language.
"""

from __future__ import annotations

import chainrule

from .._dtype import from_numpy_dtype
from ..autograd.anomaly import format_number
from ..autograd.function import Function
from ..ops import elementwise

GATES = {
    "add": "add gate: distributes the upstream gradient unchanged to every input",
    "sub": "sub gate: distributes the upstream gradient, negated for the subtracted input",
    "mul": "mul gate: swaps - each input's local gradient is the other input",
    "div": "div gate: 1/y for the numerator, -x/y^2 for the denominator",
    "pow": "pow gate: y x^(y-1) for the base, x^y log x for the exponent",
    "pow_scalar": "power gate: local gradient p x^(p-1)",
    "maximum": "max gate: routes the whole gradient to the larger input (a tie splits it)",
    "minimum": "min gate: routes the whole gradient to the smaller input (a tie splits it)",
    "relu": "relu gate: routes the gradient where the input is positive (a max with 0)",
    "where": "where: routes the gradient to the branch the condition chose; the other branch gets 0",
    "neg": "*-1 gate: flips the sign of the gradient",
    "exp": "exp gate: the local gradient is the output itself",
    "log": "log gate: local gradient 1/x",
    "reciprocal": "1/x gate: local gradient -1/x^2",
    "sigmoid": "sigmoid gate: local gradient sigma * (1 - sigma), read off the output",
    "tanh": "tanh gate: local gradient 1 - tanh^2, read off the output",
    "sqrt": "sqrt gate: local gradient 1/(2 sqrt(x))",
    "sum": "sum: copies the upstream gradient back to every element it summed",
    "expand": "broadcast (copy) gate: the value is copied, so the gradients of the copies sum",
    "sum_to": "sum_to: undoes a broadcast; the upstream gradient is copied back",
    "matmul": "matmul: the gradient is an implicit matrix product, never a Jacobian",
    "reshape": "reshape: the gradient is reshaped back",
    "transpose": "transpose: the gradient is transposed back",
    "permute": "permute: the gradient is permuted back",
    "to_copy": "cast: the gradient is cast back to the input's dtype",
    "clone": "copy: the gradient passes unchanged",
    "alias": "view: the gradient passes unchanged",
}

OPERATORS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@", "gt": ">", "lt": "<",
             "ge": ">=", "le": "<=", "eq": "==", "ne": "!="}


def gate(op) -> str:
    """The backward pattern of ``op`` (a primitive or Function class) in the lecture's words."""
    if op.name in GATES:
        return GATES[op.name]
    if issubclass(op, Function):
        return "custom Function: its backward(ctx, upstream) gives the downstream gradients"
    return f"{op.name}: its VJP rule turns the upstream gradient into the downstream ones"


def expression(op, args: list, ctx, prefix: str = "") -> str | None:
    """The forward of primitive ``op`` as a line of Python over the argument texts ``args`` (None when it has
    no public spelling). ``ctx`` holds the op's parameters; ``prefix`` qualifies functions (``"cr."``).
    """
    op_name = op.name
    if op_name in OPERATORS and len(args) == 2:
        return f"{args[0]} {OPERATORS[op_name]} {args[1]}"
    params = ctx.__dict__ if hasattr(ctx, "__dict__") else {}
    a = args[0] if args else ""
    if op_name == "neg":
        return f"-{a}"
    if op_name == "pow_scalar":
        return f"{a} ** {format_number(params['p'])}"
    if op_name == "sum":
        dims, keepdim = params["dims"], params["keepdim"]
        if keepdim or len(dims) != len(params["in_shape"]):
            return f"{prefix}sum({a}, dim={dims}, keepdim={keepdim})"
        return f"{prefix}sum({a})"
    if op_name == "reshape":
        return f"{a}.reshape({params['out_shape']})"
    if op_name == "expand":
        return f"{prefix}broadcast_to({a}, {params['out_shape']})"
    if op_name == "sum_to":
        return f"{prefix}sum_to({a}, {params['out_shape']})"
    if op_name == "transpose":
        return f"{a}.transpose({params['dims'][0]}, {params['dims'][1]})"
    if op_name == "permute":
        return f"{a}.permute({tuple(params['dims'])})"
    if op_name == "to_copy":
        return f"{a}.to({prefix}{from_numpy_dtype(params['out_dtype']).name})"
    if op_name == "clone":
        return f"{a}.clone()"
    if op_name == "alias":
        return a
    # NOTE: ops declared with ``unary`` keep their parameters in ctx.params, in the order their public
    # function takes them.
    if op_name in ("where", "maximum", "minimum") or (
            op.__module__ == elementwise.__name__ and callable(getattr(chainrule, op_name, None))):
        extra = [repr(p) for p in params.get("params", ())]
        return f"{prefix}{op_name}({', '.join(list(args) + extra)})"
    return None
