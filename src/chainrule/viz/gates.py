"""The lecture's vocabulary for ops, read from each primitive's declaration: how its gate treats the gradient,
and how its forward reads as code.

``gate`` names the backward pattern of an op ("add distributes", "mul swaps", ...) and ``expression`` writes
a node's forward as one line of Python (``x + y``, ``cr.sigmoid(t)``). Both come from the op's declaration
(its ``gate`` and ``expression``), as do the local-gradient formulas that anomaly mode and explain print, so
the words and the code agree and an op added in one place is described everywhere.
"""

from __future__ import annotations

from ..autograd.function import Function


def gate(op) -> str:
    """The backward pattern of ``op`` (a primitive or Function class) in the lecture's words."""
    text = getattr(op, "gate", None)
    if text:
        return text
    if issubclass(op, Function):
        return "custom Function: its backward(ctx, upstream) gives the downstream gradients"
    return f"{op.name}: its VJP rule turns the upstream gradient into the downstream ones"


def names_for(op, args: list, shapes: tuple | None = None, prefix: str = "") -> dict:
    """The placeholders an op's code templates use: each input's name as ``args`` spells it (``{xs}`` for an op
    over a list of tensors), ``{<input>_shape}`` when ``shapes`` are known, and ``{cr}`` (``prefix``)."""
    inputs = getattr(op, "inputs", ("x",))
    if len(inputs) == 1 and inputs[0] == "xs":
        names = {"xs": ", ".join(args)}
    else:
        names = dict(zip(inputs, args))
    if shapes is not None:
        names.update({f"{n}_shape": tuple(s) for n, s in zip(inputs, shapes)})
    names["cr"] = prefix
    return names


def expression(op, args: list, params: dict | None, prefix: str = "", shapes: tuple | None = None) -> str | None:
    """The forward of primitive ``op`` as a line of Python over the argument texts ``args`` (None when it has
    no public spelling). ``params``: the op's parameters; ``prefix`` qualifies functions (``"cr."``);
    ``shapes``: the inputs' shapes, when known."""
    code = getattr(op, "code", None)
    if code is None or len(args) != len(getattr(op, "inputs", ())) and op.inputs != ("xs",):
        return None
    try:
        return code(names_for(op, args, shapes, prefix), params or {})
    except KeyError:  # NOTE: a template needing what is not known here (an input's shape)
        return None
