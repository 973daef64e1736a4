"""``chainrule.viz.flat_backprop``: a function's forward and backward pass as straight-line code.

The lecture writes backprop "flat": the forward pass one op per line (``q = x + y``), then the backward pass
in reverse, one line per local-gradient step (``dq = z * df``), accumulating with ``+=`` where a value fans
out. This module runs the function once on example inputs, records every op it applies, and generates that
code from the recording. The code is ordinary chainrule and is compiled, so it runs: ``run(*inputs)`` gives
the same value and gradients as backward.
"""

from __future__ import annotations

import functools
import inspect
import keyword
import linecache
import sys
from typing import NamedTuple

import chainrule

from .._backend import xp
from .._dtype import from_numpy_dtype
from ..autograd.engine import grad as autograd_grad
from ..autograd.function import Function
from ..ops import _primitive
from ..tensor import Tensor, _wrap
from .gates import OPERATORS, expression
from .graph import edge_gradients

_APPLY_CODES = (_primitive.apply.__code__, Function.apply.__func__.__code__)


class _Call(NamedTuple):
    op: type
    inputs: tuple    # the tensor inputs
    args: tuple      # everything the op was called with (tensors first for a primitive)
    ctx: object      # the node (or scratch ctx) holding the op's parameters
    outputs: tuple
    packed: bool     # the op returned a tuple


class _Tracer:
    """A profile function that records every top-level ``apply`` (primitives and Functions) while it is set,
    and the local variables of ``code`` (the traced function) when it returns.

    NOTE: profiling, rather than a hook in ``apply``, keeps the per-op hot path free of tracing checks.
    """

    def __init__(self, code):
        self.code, self.calls, self.depth, self.names = code, [], 0, {}

    def __call__(self, frame, event, arg):
        code = frame.f_code
        if code in _APPLY_CODES:
            if event == "call":
                self.depth += 1
            elif event == "return":
                self.depth -= 1
                if self.depth == 0 and arg is not None:
                    self._record(code, frame.f_locals, arg)
        elif code is self.code and event == "return":
            self.names = {id(v): k for k, v in frame.f_locals.items() if isinstance(v, Tensor)}

    def _record(self, code, f_locals, result):
        packed = isinstance(result, tuple)
        outputs = result if packed else (result,)
        if code is _APPLY_CODES[0]:
            inputs = f_locals["inputs"]
            args = inputs + f_locals["params"]
            call = _Call(f_locals["op"], inputs, args, f_locals["ctx"], outputs, packed)
        else:
            args = f_locals["args"]
            inputs = tuple(a for a in args if isinstance(a, Tensor))
            call = _Call(f_locals["cls"], inputs, args, f_locals["ctx"], outputs, packed)
        self.calls.append(call)


class FlatResult(NamedTuple):
    value: Tensor
    grads: tuple


class FlatBackprop:
    """Straight-line forward and backward code of a traced function (see :func:`flat_backprop`).

    ``str()`` / ``code``: the Python source; ``namespace``: what it runs in (``cr`` is chainrule, ``vjp`` an
    op's own VJP rule, plus constants too large to print); ``run(*inputs)``: execute it, returning
    ``FlatResult(value, grads)`` with one gradient per input (None for inputs that are not floating point).
    """

    def __init__(self, code: str, namespace: dict, name: str, needs_graph: bool):
        self.code, self.namespace, self._needs_graph = code, namespace, needs_graph
        filename = f"<flat_backprop {name}>"
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        exec(compile(code, filename, "exec"), namespace)  # generated here from the trace, never user text
        self._function = namespace[name]

    def run(self, *inputs) -> FlatResult:
        """Run the flat code on ``inputs`` (tensors or numbers, as for the traced function)."""
        # NOTE: the code is plain arithmetic on values; only the VJP-rule fallback needs the forward recorded.
        with chainrule.set_grad_enabled(self._needs_graph):
            value, grads = self._function(*[_as_input(v) for v in inputs])
        return FlatResult(value.detach(), tuple(g if g is None else g.detach() for g in grads))

    def __str__(self) -> str:
        return self.code

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        return f"```python\n{self.code}```"


def flat_backprop(fn, *example_inputs) -> FlatBackprop:
    """Trace ``fn(*example_inputs)`` and write its backprop as flat, runnable code.

    ``fn`` returns a one-element tensor computed from its inputs (tensors; numbers and lists become tensors of
    the default float dtype; floating inputs are differentiated). The result prints the forward pass, one line
    per op (``q = x + y``), then the backward pass in reverse order, one line per local-gradient step
    (``dq = z * df``; ``+=`` where a value is used more than once; ``cr.sum_to`` where broadcasting is
    undone). Names come from ``fn``'s parameters and local variables, ``t1, t2, ...`` otherwise. Ops without
    a lecture formula call their own VJP rule (``vjp``).

    A trace records one path through ``fn``: Python control flow that depends on values, and in-place ops,
    are not captured. The code is checked once against the real backward on the example inputs, and a
    RuntimeError says so if it disagrees.

    Example::

        >>> def f(x, y, z):
        ...     q = x + y
        ...     return q * z
        >>> flat = chainrule.viz.flat_backprop(f, -2.0, 5.0, -4.0)
        >>> print(flat)             # q = x + y / f = q * z / df = ... / dq = z * df / dz = q * df / ...
        >>> flat.run(-2.0, 5.0, -4.0).grads
        (tensor(-4.), tensor(-4.), tensor(3.))
    """
    if not callable(fn):
        raise TypeError(f"flat_backprop: fn must be callable, got {type(fn).__name__}")
    inputs = [_as_input(v) for v in example_inputs]
    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is None:   # a module or other callable object: its forward is what runs
        code = getattr(getattr(fn, "forward", None), "__code__", None)
    tracer = _Tracer(code)
    previous = sys.getprofile()
    sys.setprofile(tracer)
    try:
        out = fn(*inputs)
    finally:
        sys.setprofile(previous)
    if not isinstance(out, Tensor) or out._data.size != 1 or out.grad_fn is None:
        raise RuntimeError("flat_backprop: fn must return a one-element tensor computed from its floating "
                           f"inputs, got {_describe(out)}")
    writer = _Writer(fn, inputs, tracer, out)
    flat = FlatBackprop(writer.source(), writer.namespace, writer.fn_name, writer.uses_vjp)
    _check(flat, inputs, out)
    return flat


def _describe(out) -> str:
    if isinstance(out, Tensor):
        return f"a tensor of shape {tuple(out._data.shape)}" + ("" if out.grad_fn else " without a grad_fn")
    return f"a {type(out).__name__}"


def _as_input(value) -> Tensor:
    if isinstance(value, Tensor):
        t = _wrap(value._data.copy())
    else:
        t = chainrule.tensor(value)
        if t._data.dtype.kind in "iu" and not isinstance(value, xp.ndarray):
            t = chainrule.tensor(value, dtype=chainrule.get_default_dtype())
    t.requires_grad = t._data.dtype.kind == "f"
    return t


def _check(flat: FlatBackprop, inputs: list, out: Tensor) -> None:
    wrt = [t for t in inputs if t.requires_grad]
    expected = autograd_grad(out, wrt, allow_unused=True, materialize_grads=True)
    value, grads = flat.run(*inputs)
    got = [g for g, t in zip(grads, inputs, strict=True) if t.requires_grad]
    for a, b in zip([value, *got], [out, *expected], strict=True):
        scale = max(1.0, float(xp.abs(b._data).max())) if b._data.size else 1.0
        if a._data.shape != b._data.shape or not xp.allclose(a._data, b._data, rtol=1e-4, atol=1e-6 * scale,
                                                           equal_nan=True):
            raise RuntimeError("flat_backprop: the generated code does not reproduce fn on the example "
                               "inputs (a trace records one path: in-place ops and Python control flow that "
                               f"depends on values are not captured). The code was:\n{flat.code}")


# -- writing the code ---------------------------------------------------------------------------------------

class _Writer:
    """Turns a trace into the source of ``def flat_<fn>(inputs): forward; backward; return value, grads``."""

    def __init__(self, fn, inputs: list, tracer: _Tracer, out: Tensor):
        self.inputs, self.calls, self.out = inputs, tracer.calls, out
        self.producer = {id(o): k for k, call in enumerate(self.calls) for o in call.outputs}
        self.needed = self._needed()
        self.namespace = {"cr": chainrule, "vjp": _vjp}
        self.uses_vjp = False
        self.taken = set(self.namespace)
        self.names: dict = {}
        self.counter = 0
        for i, (name, t) in enumerate(zip(_parameter_names(fn, len(inputs)), inputs, strict=True)):
            self.names[id(t)] = self._fresh(name or f"x{i}")
        for k in self.needed:
            for o in self.calls[k].outputs:
                if id(o) in tracer.names and id(o) not in self.names:
                    self.names[id(o)] = self._fresh(tracer.names[id(o)])
        if id(out) not in self.names:
            self.names[id(out)] = self._fresh("f" if "f" not in self.taken else "out")
        self.fn_name = self._fresh("flat_" + getattr(fn, "__name__", type(fn).__name__).strip("<>"))

    def _needed(self) -> list:
        """Indices of the calls the output depends on, in order (dead code is left out)."""
        needed, stack = set(), [id(self.out)]
        while stack:
            k = self.producer.get(stack.pop())
            if k is not None and k not in needed:
                needed.add(k)
                stack.extend(id(t) for t in self.calls[k].inputs)
        return sorted(needed)

    def _fresh(self, name: str) -> str:
        if not name.isidentifier() or keyword.iskeyword(name):
            name = "v_" + "".join(ch if ch.isalnum() else "_" for ch in name)
        base, n = name, 1
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return name

    def _name(self, t: Tensor) -> str:
        if id(t) not in self.names:
            self.counter += 1
            while f"t{self.counter}" in self.taken:
                self.counter += 1
            self.names[id(t)] = self._fresh(f"t{self.counter}")
        return self.names[id(t)]

    def _arg(self, t, call: _Call) -> str:
        """One argument: a variable, or a constant as a literal (or a name in the namespace)."""
        if not isinstance(t, Tensor):
            return self._value(t)
        if id(t) in self.names or id(t) in self.producer:
            return self._name(t)
        array = t._data
        # NOTE: a Python number is promoted exactly as the 0-d tensor was when another input has its dtype.
        scalar_ok = call.op.name in OPERATORS or call.op.name in ("where", "maximum", "minimum")
        same = any(o is not t and o._data.dtype == array.dtype for o in call.inputs)
        if scalar_ok and same and array.ndim == 0:
            v = array.item()
            text = repr(v) if array.dtype.kind != "f" or xp.isfinite(array) else f"float('{v}')"
            return f"({text})" if text.startswith("-") else text
        if array.size <= 16 and (array.dtype.kind != "f" or xp.isfinite(array).all()):
            return f"cr.tensor({array.tolist()!r}, dtype=cr.{array.dtype})"
        return self._value(t)

    def _value(self, value, hint: str = "c") -> str:
        plain = (bool, int, float, str, type(None))
        if isinstance(value, plain) or isinstance(value, tuple) and all(isinstance(v, plain) for v in value):
            return repr(value)
        name = self._fresh(hint)
        self.namespace[name] = value
        return name

    def _outs(self, call: _Call) -> str:
        return ", ".join(self._name(o) for o in call.outputs) + ("," if call.packed and len(call.outputs) == 1
                                                                  else "")

    def _forward_line(self, call: _Call) -> str:
        if _is_function(call):
            args = ", ".join(self._arg(a, call) for a in call.args)
            return f"{self._outs(call)} = {self._value(call.op, call.op.__name__)}.apply({args})"
        args = [self._arg(t, call) for t in call.inputs]
        text = expression(call.op, args, call.ctx, prefix="cr.")
        if text is None:
            fn = self._value(functools.partial(_apply_primitive, call.op, call.args[len(call.inputs):]),
                             call.op.name)
            text = f"{fn}({', '.join(args)})"
        return f"{self._outs(call)} = {text}"

    def _backward(self) -> list:
        live = {id(t) for t in self.inputs if t.requires_grad}
        for k in self.needed:
            if any(id(t) in live for t in self.calls[k].inputs):
                live.update(id(o) for o in self.calls[k].outputs if o.grad_fn is not None)
        root = self._fresh(f"d{self.names[id(self.out)]}")
        self.grads = {id(self.out): root}
        lines = [f"{root} = cr.ones_like({self.names[id(self.out)]})"]
        pending: dict = {}   # gradient variable -> line of its first assignment, if that is a view
        for k in reversed(self.needed):
            call = self.calls[k]
            ups = [self.grads.get(id(o)) for o in call.outputs]
            if all(g is None for g in ups) or not any(id(t) in live for t in call.inputs):
                continue
            terms = self._terms(call, ups, lines)
            for t, term in zip(call.inputs, terms, strict=True):
                if id(t) not in live or term is None:
                    continue
                expr, fresh = term
                var = self.grads.get(id(t))
                if var is None:
                    var = self.grads[id(t)] = self._fresh(f"d{self._name(t)}")
                    lines.append(f"{var} = {expr}")
                    if not fresh:
                        pending[var] = len(lines) - 1
                else:
                    if var in pending:
                        # NOTE: += writes in place, so the first term must own its array, not view another.
                        lines[pending.pop(var)] += ".clone()"
                    lines.append(f"{var} += {expr}")
        return lines

    def _terms(self, call: _Call, ups: list, lines: list) -> list:
        """Per tensor input: (its gradient contribution, whether that is a fresh array) or None."""
        args = [self._arg(t, call) for t in call.inputs]
        terms = None if _is_function(call) or len(ups) != 1 else \
            _local_terms(call, args, self._name(call.outputs[0]), ups[0])
        if terms is None:
            self.uses_vjp = True
            var = self._fresh(f"g_{self._name(call.outputs[0])}")
            grads = [g or f"cr.zeros_like({self._name(o)})" for g, o in zip(ups, call.outputs, strict=True)]
            outs = ", ".join(self._name(o) for o in call.outputs) + ","
            lines.append(f"{var} = vjp(({outs}), {', '.join(grads)})   # {call.op.name}: its own VJP rule")
            return [(f"{var}[{i}]", False) for i in range(len(call.inputs))]
        out_shape = call.outputs[0]._data.shape
        return [(f"cr.sum_to({term[0]}, {tuple(t._data.shape)})", True)
                if term is not None and call.op.broadcasts and t._data.shape != out_shape else term
                for t, term in zip(call.inputs, terms, strict=True)]

    def source(self) -> str:
        forward = [self._forward_line(self.calls[k]) for k in self.needed]
        backward = self._backward()
        grads = [self.grads.get(id(t)) or (f"cr.zeros_like({self._name(t)})" if t.requires_grad else "None")
                 for t in self.inputs]
        result = ", ".join(grads) + ("," if len(grads) == 1 else "")
        body = ["# forward pass", *forward, "# backward pass", *backward,
                f"return {self.names[id(self.out)]}, ({result})"]
        notes = [f"# {name}: {_summary(v)}" for name, v in self.namespace.items()
                 if name not in ("cr", "vjp")]
        params = ", ".join(self._name(t) for t in self.inputs)
        return "\n".join([*notes, f"def {self.fn_name}({params}):", *("    " + line for line in body)]) + "\n"


def _is_function(call: _Call) -> bool:
    return isinstance(call.op, type) and issubclass(call.op, Function)


# Ops whose gradient term is a view of the upstream gradient (so a later += must not write through it).
_VIEWS = ("reshape", "sum_to", "transpose", "permute", "to_copy")


def _local_terms(call: _Call, a: list, out: str, g: str) -> list | None:
    """Per input, the lecture's local gradient times the upstream ``g`` and whether that is a fresh array;
    None for ops without such a formula."""
    terms = _formulas(call, a, out, g)
    if terms is None:
        return None
    return [None if t is None else (t, call.op.name not in _VIEWS) for t in terms]


def _formulas(call: _Call, a: list, out: str, g: str) -> list | None:
    op = call.op.name
    ctx = call.ctx.__dict__ if hasattr(call.ctx, "__dict__") else {}
    if op in ("add", "sub"):
        return [f"1.0 * {g}", f"{'-' if op == 'sub' else ''}1.0 * {g}"]
    if op == "mul":
        return [f"{a[1]} * {g}", f"{a[0]} * {g}"]
    if op == "div":
        return [f"{g} / {a[1]}", f"-{a[0]} / {a[1]} ** 2 * {g}"]
    if op in ("maximum", "minimum"):
        cmp, tie = (">" if op == "maximum" else "<"), f"0.5 * ({a[0]} == {a[1]})"
        return [f"(({a[0]} {cmp} {a[1]}) + {tie}) * {g}", f"(({a[1]} {cmp} {a[0]}) + {tie}) * {g}"]
    if op == "where":
        return [None, f"cr.where({a[0]}, {g}, 0.0)", f"cr.where({a[0]}, 0.0, {g})"]
    if op == "pow_scalar":
        p = ctx["p"]
        return [f"0.0 * {g}" if p == 0 else f"1.0 * {g}" if p == 1 else f"2 * {a[0]} * {g}" if p == 2 else
                f"{p!r} * {a[0]} ** {p - 1!r} * {g}"]
    unary = {"neg": f"-{g}", "exp": f"{out} * {g}", "log": f"{g} / {a[0]}", "sqrt": f"0.5 / {out} * {g}",
             "reciprocal": f"-{g} / {a[0]} ** 2", "sigmoid": f"{out} * (1 - {out}) * {g}",
             "tanh": f"(1 - {out} ** 2) * {g}", "relu": f"({a[0]} > 0) * {g}", "sin": f"cr.cos({a[0]}) * {g}",
             "cos": f"-cr.sin({a[0]}) * {g}", "abs": f"cr.sign({a[0]}) * {g}", "square": f"2 * {a[0]} * {g}",
             "clone": f"1.0 * {g}", "alias": f"1.0 * {g}"}
    if op in unary:
        return [unary[op]]
    if op == "matmul" and all(t._data.ndim == 2 for t in call.inputs):
        return [f"{g} @ {a[1]}.T", f"{a[0]}.T @ {g}"]
    if op == "sum":
        dims, keepdim, shape = ctx["dims"], ctx["keepdim"], ctx["in_shape"]
        kept = g if keepdim or len(dims) == len(shape) else \
            f"{g}.reshape({tuple(1 if d in dims else s for d, s in enumerate(shape))})"
        return [f"cr.ones_like({a[0]}) * {kept}"]
    if op in ("reshape", "expand", "sum_to"):
        fn = {"reshape": f"{g}.reshape", "expand": f"cr.sum_to({g}, ", "sum_to": f"cr.broadcast_to({g}, "}[op]
        return [f"{fn}({ctx['in_shape']})" if op == "reshape" else f"{fn}{ctx['in_shape']})"]
    if op == "transpose":
        return [f"{g}.transpose({ctx['dims'][0]}, {ctx['dims'][1]})"]
    if op == "permute":
        inverse = tuple(sorted(range(len(ctx["dims"])), key=ctx["dims"].__getitem__))
        return [f"{g}.permute({inverse})"]
    if op == "to_copy":
        return [f"{g}.to(cr.{from_numpy_dtype(ctx['in_dtype']).name})"]
    return None


def _apply_primitive(op, params, *inputs):
    return _primitive.apply(op, inputs, *params)


def _vjp(outputs: tuple, *grads) -> tuple:
    """The gradient of each tensor input of the op that made ``outputs``, from its own VJP rule."""
    node = next(o.grad_fn for o in outputs if o.grad_fn is not None)
    return tuple(edge_gradients(node, list(grads))[1])


def _parameter_names(fn, n: int) -> list:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return [None] * n
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return (names + [None] * n)[:n]


def _summary(value) -> str:
    if isinstance(value, Tensor):
        return f"constant tensor of shape {tuple(value._data.shape)}, {value.dtype} (in .namespace)"
    if isinstance(value, functools.partial):
        return f"the {value.args[0].name} primitive with its parameters (in .namespace)"
    return f"{getattr(value, '__name__', type(value).__name__)} (in .namespace)"
