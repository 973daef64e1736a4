"""Direct NumPy emission: the common primitives written as the NumPy expression their forward computes.

Code generation calls a primitive's forward through a wrapper (``add(x, y)``) unless this table gives the
expression itself on raw arrays (``x + y``, ``w.T``, ``_xp.exp(t)``, ``_sum(g, (0,))``): the same NumPy call
on the same arrays, so the same bits, without a Python call and keyword parameters per line. Each entry reads
as the primitive's ``forward`` in ``chainrule/ops`` (tests/compiler/test_passes_simplify.py checks every entry
against it, bitwise, dtype and layout included). Only single results are written this way; 0-d ones are NumPy
scalars, as the forwards give them (these flow between the lines, see codegen), except the reductions', which are
arrays as their forwards return (``_xp.asarray(_sum(t, (0,)))``).

An entry's ``ufunc`` names the NumPy ufunc (and its arguments) the expression is, so that code generation can
write the result into a dying input's buffer (``_xp.add(t1, b, out=t1)``); ``fresh``: the expression returns a
new array of its own (not a view of an input), which buffer reuse and the passes may rely on.
"""

from __future__ import annotations

from .._backend import xp
from ..ops.indexing import log_softmax_nll_backward_forward, nll_forward, nll_scatter_forward
from ..ops.reduce import log_softmax_forward

# NOTE: ``x.sum(axis, keepdims=...)`` is NumPy's Python-level ``_methods._sum`` calling ``add.reduce`` with the
# same arguments: the reduction itself, without that frame. nll's, log_softmax's and cross-entropy's backward
# forwards are called without the primitive's.
NAMES = {"_sum": xp.add.reduce, "_max": xp.maximum.reduce, "_min": xp.minimum.reduce, "_nll": nll_forward,
         "_nll_scatter": nll_scatter_forward, "_log_softmax": log_softmax_forward,
         "_log_softmax_nll_backward": log_softmax_nll_backward_forward}


class Form:
    """How one primitive is written: ``text(args, eq, value) -> str | None`` (None: the wrapper call instead;
    ``value(key, v)`` renders a parameter), ``ufunc`` (the ufunc's name and ``args -> its arguments``, or None),
    ``fresh`` and ``operator`` (the Python operator that spells it, for ``w += g``)."""

    __slots__ = ("text", "ufunc", "fresh", "operator")

    def __init__(self, text, ufunc=None, fresh: bool = True, operator: str | None = None):
        self.text, self.ufunc, self.fresh, self.operator = text, ufunc, fresh, operator


FORMS: dict[str, Form] = {}


def _operator(name: str, operator: str, ufunc: str | None) -> None:
    FORMS[name] = Form(lambda a, eq, value: f"{a[0]} {operator} {a[1]}", (ufunc, list) if ufunc else None,
                       operator=operator)


def _function(name: str, ufunc: str) -> None:
    """``name``'s forward is NumPy's ufunc ``ufunc`` applied to its inputs in order."""
    FORMS[name] = Form(lambda a, eq, value: f"_xp.{ufunc}({', '.join(a)})", (ufunc, list))


for _name, _op, _ufunc in (("add", "+", "add"), ("sub", "-", "subtract"), ("mul", "*", "multiply"),
                           ("div", "/", "divide"), ("matmul", "@", None), ("eq", "==", "equal"),
                           ("ne", "!=", "not_equal"), ("lt", "<", "less"), ("le", "<=", "less_equal"),
                           ("gt", ">", "greater"), ("ge", ">=", "greater_equal")):
    _operator(_name, _op, _ufunc)
for _name, _ufunc in (("exp", "exp"), ("exp2", "exp2"), ("log", "log"), ("log2", "log2"),
                      ("log10", "log10"), ("log1p", "log1p"), ("expm1", "expm1"), ("sqrt", "sqrt"),
                      ("square", "square"), ("abs", "absolute"), ("sign", "sign"), ("sin", "sin"), ("cos", "cos"),
                      ("tan", "tan"), ("tanh", "tanh"), ("floor", "floor"), ("ceil", "ceil"), ("trunc", "trunc"),
                      ("isnan", "isnan"), ("isinf", "isinf"), ("isfinite", "isfinite"),
                      ("logical_not", "logical_not"), ("maximum", "maximum"), ("minimum", "minimum"),
                      ("pow", "power"), ("logical_and", "logical_and"), ("logical_or", "logical_or"),
                      ("asin", "arcsin"), ("acos", "arccos"), ("atan", "arctan"), ("sinh", "sinh"),
                      ("cosh", "cosh"), ("asinh", "arcsinh"), ("fmod", "fmod"), ("remainder", "remainder")):
    _function(_name, _ufunc)
# NOTE: NumPy's ``-x`` is its negative ufunc, on arrays and scalars alike; as an operator it costs a 0-d value
# (an optimizer's ``-lr``) no ufunc call.
FORMS["neg"] = Form(lambda a, eq, value: f"-{a[0]}", ("negative", list))
FORMS["reciprocal"] = Form(lambda a, eq, value: f"1 / {a[0]}", ("divide", lambda a: ["1", a[0]]))
# NOTE: relu's forward is maximum(x, 0).astype(x.dtype, copy=False): the cast does nothing for a float input.
FORMS["relu"] = Form(lambda a, eq, value: f"_xp.maximum({a[0]}, 0)" if eq.inputs[0].dtype.kind == "f" else None,
                     ("maximum", lambda a: [a[0], "0"]))
FORMS["rsqrt"] = Form(lambda a, eq, value: f"1 / _xp.sqrt({a[0]})")
# NOTE: pow_scalar's forward squares by a product, other powers through power (not ``**``: NumPy's operator
# takes sqrt, square or reciprocal for some exponents).
FORMS["pow_scalar"] = Form(lambda a, eq, value: f"{a[0]} * {a[0]}" if eq.params["p"] == 2 else
                           f"_xp.power({a[0]}, {value('p', eq.params['p'])})")
FORMS["where"] = Form(lambda a, eq, value: f"_xp.where({', '.join(a)})")
FORMS["clone"] = Form(lambda a, eq, value: f"{a[0]}.copy()")


def _to_copy(a, eq, value):
    """``x.astype(dtype)``; a 0-d float cast to another float as the scalar type's constructor (``float32(g)``,
    the same rounding, a NumPy scalar as astype gives one of a scalar) at a tenth of astype's cost."""
    dtype = xp.dtype(eq.params["dtype"])
    if not eq.outputs[0].shape and dtype.kind == "f" and eq.inputs[0].dtype.kind == "f":
        return f"{value(dtype.name, dtype.type)}({a[0]})"
    return f"{a[0]}.astype({value('dtype', eq.params['dtype'])})"


FORMS["to_copy"] = Form(_to_copy)


def _reduction(function: str):
    def text(a, eq, value):
        p = eq.params
        dtype = f", dtype={value('dtype', p['dtype'])}" if p.get("dtype") is not None else ""
        keep = ", keepdims=True" if p["keepdim"] else ""
        return f"{function}({a[0]}, {value('dims', p['dims'])}{dtype}{keep})"
    return Form(text)


FORMS["sum"] = _reduction("_sum")
FORMS["amax"] = _reduction("_max")
FORMS["amin"] = _reduction("_min")


def _transpose(a, eq, value):
    ndim = len(eq.inputs[0].shape)
    dims = {eq.params["dim0"] % ndim, eq.params["dim1"] % ndim}
    if ndim == 2 and dims == {0, 1}:
        return f"{a[0]}.T"
    return f"_xp.swapaxes({a[0]}, {eq.params['dim0']}, {eq.params['dim1']})"


def _sum_to(a, eq, value):
    """sum_to's forward: the sum over the leading axes and the axes ``shape`` keeps as 1, then a reshape; the
    same single reduction, written without the reshape when the sum already has the shape."""
    shape, in_shape = eq.params["shape"], eq.inputs[0].shape
    lead = len(in_shape) - len(shape)
    kept = tuple(i + lead for i, s in enumerate(shape) if s == 1 and in_shape[i + lead] != 1)
    if not lead and not kept:
        return f"{a[0]}.reshape({value('shape', shape)})"
    axes = tuple(range(lead)) + kept
    if not kept:
        return f"_sum({a[0]}, {value('axes', axes)})"
    text = f"_sum({a[0]}, {value('axes', axes)}, keepdims=True)"
    return text if not lead else f"{text}.reshape({value('shape', shape)})"


FORMS["transpose"] = Form(_transpose, fresh=False)
FORMS["permute"] = Form(lambda a, eq, value: f"_xp.transpose({a[0]}, {value('dims', eq.params['dims'])})",
                        fresh=False)
FORMS["reshape"] = Form(lambda a, eq, value: f"{a[0]}.reshape({value('shape', eq.params['shape'])})", fresh=False)
FORMS["expand"] = Form(lambda a, eq, value: f"_xp.broadcast_to({a[0]}, {value('shape', eq.params['shape'])})",
                       fresh=False)
FORMS["sum_to"] = Form(_sum_to)


def _nll(a, eq, value):
    p = eq.params
    return f"_nll({a[0]}, {a[1]}, {p['dim']}, {p['ignore_index']}, {p['reduction']!r})"


def _nll_scatter(a, eq, value):
    p = eq.params
    return (f"_nll_scatter({a[0]}, {a[1]}, {p['dim']}, {p['ignore_index']}, {p['reduction']!r}, "
            f"{value('shape', p['shape'])})")


def _log_softmax_nll_backward(a, eq, value):
    p = eq.params
    return f"_log_softmax_nll_backward({', '.join(a)}, {p['dim']}, {p['ignore_index']}, {p['reduction']!r})"


FORMS["log_softmax"] = Form(lambda a, eq, value: f"_log_softmax({a[0]}, {eq.params['dim']})")
FORMS["nll"] = Form(_nll)
FORMS["nll_scatter"] = Form(_nll_scatter)
FORMS["log_softmax_nll_backward"] = Form(_log_softmax_nll_backward)


# NOTE: forwards that give a 0-d result as an array (nll's expression is its forward: an array already)
_ARRAY_RESULTS = ("sum", "amax", "amin", "sum_to", "nll")
_ELEMENTWISE = ("where", "to_copy", "rsqrt", "pow_scalar")  # elementwise forms that are not one ufunc


def form(eq) -> Form | None:
    """The entry for equation ``eq`` when it can be written directly (one result), else None."""
    if getattr(eq.op, "is_function", False) or len(eq.outputs) != 1:
        return None
    return FORMS.get(eq.op.name)


def _scalar(eq) -> bool:
    """Whether ``eq``'s result may be a NumPy scalar (0-d, from an expression whose forward gives scalars)."""
    return not eq.outputs[0].shape and eq.op.name not in _ARRAY_RESULTS


def expression(eq, args: list, value) -> str | None:
    """``eq``'s forward as a NumPy expression over the input names ``args``, or None (call the wrapper).

    A 0-d result is a NumPy scalar as the forward's is (``-lr``, ``lr.astype(dtype)``), except the reductions',
    whose forwards return arrays (``_xp.asarray(_sum(t, (0,)))``); scalars are never buffers (:func:`is_fresh`)."""
    entry = form(eq)
    text = None if entry is None else entry.text(args, eq, value)
    wrap = text is not None and not eq.outputs[0].shape and eq.op.name in _ARRAY_RESULTS and eq.op.name != "nll"
    return f"_xp.asarray({text})" if wrap else text


def into(eq, args: list, value, target: str) -> str | None:
    """``eq``'s forward written into ``target``'s buffer (``_xp.add(t1, b, out=t1)``), or None."""
    entry = form(eq)
    if entry is None or entry.ufunc is None or entry.text(args, eq, value) is None:
        return None
    name, arguments = entry.ufunc
    return f"_xp.{name}({', '.join(arguments(args))}, out={target})"


def update(eq, args: list, value, target: str) -> str | None:
    """:func:`into` as a statement whose result is not named: ``w += g`` where ``target`` is the first operand
    of an arithmetic operator (NumPy's in-place operators are the ufunc with ``out=``)."""
    entry = form(eq)
    if entry is not None and entry.ufunc is not None and entry.operator and args[0] == target:
        return f"{target} {entry.operator}= {args[1]}"
    return into(eq, args, value, target)


def is_fresh(eq) -> bool:
    """Whether ``eq``'s result is a new array no other value shares (written directly by a fresh form)."""
    entry = form(eq)
    if entry is None or not entry.fresh or _scalar(eq):
        return False
    if eq.op.name == "sum_to":
        shape, in_shape = eq.params["shape"], eq.inputs[0].shape
        return len(in_shape) != len(shape) or any(s == 1 and i != 1 for s, i in zip(shape, in_shape))
    return entry.text([""] * len(eq.inputs), eq, lambda key, v: "") is not None


def has_ufunc(eq) -> bool:
    """Whether ``eq`` can write into an input's buffer (:func:`into`)."""
    entry = form(eq)
    return entry is not None and entry.ufunc is not None and is_fresh(eq)


def is_elementwise(eq) -> bool:
    """Whether ``eq`` is written as elementwise NumPy on a new array (a ufunc, where, a cast, ...): each result
    element from the same input elements, whatever the layouts."""
    return has_ufunc(eq) or form(eq) is not None and eq.op.name in _ELEMENTWISE and is_fresh(eq)


def _at_most_one_axis(v) -> bool:
    return sum(s != 1 for s in v.shape) <= 1


class Layouts:
    """What is known of the memory layout of a program's values, read off the equations that make them.

    ``contiguous``: ids of values known to be C-contiguous arrays of their own making (a fresh result).
    ``neutral``: ids of values that do not steer the layout NumPy gives an elementwise result (its ``order='K'``
    follows the strides of the operands): C-contiguous ones, those with at most one dimension longer than 1,
    and expands of neutral values (stride 0 on the new dims). An elementwise result of neutral operands is
    C-contiguous, whether computed into a new array or into a C-contiguous input's buffer: same layout, so the
    reductions and products reading it add in the same order.
    """

    def __init__(self, equations, consts: dict | None = None):
        # NOTE: a constant is a fixed array: its layout is known (an input's may change between calls); a folded
        # broadcast (stride 0 but along one dim) steers no layout either.
        consts = consts or {}
        self.contiguous = {id(v) for v, a in consts.items() if a.flags.c_contiguous}
        self.neutral = self.contiguous | {id(v) for v, a in consts.items()
                                          if sum(n != 1 and s != 0 for n, s in zip(a.shape, a.strides)) <= 1}
        for eq in equations:
            if len(eq.outputs) == 1:
                self._add(eq, eq.outputs[0])

    def is_neutral(self, v) -> bool:
        return id(v) in self.neutral or _at_most_one_axis(v)

    def _add(self, eq, out) -> None:
        name = eq.op.name if form(eq) is not None else None
        inputs_neutral = all(self.is_neutral(v) for v in eq.inputs)
        # NOTE: NumPy allocates a product's result C-contiguous when it has at most one batch dim (more follow the
        # inputs' strides), and a reduction's when its input is.
        if name == "clone" or name == "matmul" and len(out.shape) <= 3:
            contiguous = True
        elif name in ("sum", "amax", "amin", "sum_to") and is_fresh(eq):
            contiguous = _at_most_one_axis(out) or id(eq.inputs[0]) in self.contiguous
        elif name == "reshape":
            contiguous = id(eq.inputs[0]) in self.contiguous
        elif name == "log_softmax_nll_backward":
            # NOTE: exp(out)'s layout, either way it is computed: C-contiguous when log_softmax's result is
            contiguous = id(eq.inputs[2]) in self.contiguous
        elif is_elementwise(eq):
            contiguous = inputs_neutral
        else:
            contiguous = False
        if contiguous:
            self.contiguous.add(id(out))
            self.neutral.add(id(out))
        elif name == "expand" and inputs_neutral:
            self.neutral.add(id(out))
