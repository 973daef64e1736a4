"""``chainrule.viz.flat_backprop``: a function's forward and backward pass as straight-line code.

The lecture writes backprop "flat": the forward pass one op per line (``q = x + y``), then the backward pass
in reverse, one line per local-gradient step (``dq = z * df``), accumulating with ``+=`` where a value fans
out. This module runs the function once on example inputs under a program recorder
(:class:`chainrule.program.Recorder`, an interpreter that sees every op applied), and writes that code from
the recorded program: each line comes from its primitive's declaration (its ``expression`` and gradient
code). The code is ordinary chainrule and is compiled, so it runs: ``run(*inputs)`` gives the same value and
gradients as backward, on these inputs or new ones.
"""

from __future__ import annotations

import functools
import inspect
import keyword
import linecache
from typing import NamedTuple

import chainrule

from .._backend import xp
from ..autograd.engine import grad as autograd_grad
from ..autograd.function import Function
from ..ops._primitive import apply
from ..program import trace
from ..tensor import Tensor, _wrap
from .gates import expression, names_for
from .graph import edge_gradients


class _Call(NamedTuple):
    op: type
    inputs: tuple    # the tensor inputs
    params: dict     # the op's parameters
    outputs: tuple
    packed: bool     # the op returned a tuple


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
    recorder, out = trace(fn, tuple(inputs), watch=code)
    if not isinstance(out, Tensor) or out._data.size != 1 or out.grad_fn is None:
        raise RuntimeError("flat_backprop: fn must return a one-element tensor computed from its floating "
                           f"inputs, got {_describe(out)}")
    writer = _Writer(fn, inputs, _calls(recorder), recorder.local_names(), out)
    flat = FlatBackprop(writer.source(), writer.namespace, writer.fn_name, writer.uses_vjp)
    _check(flat, inputs, out)
    return flat


def _calls(recorder) -> list:
    """The recorded equations as calls on the tensors they were applied to."""
    tensors = {id(v): t for t in recorder.alive for v in (recorder.vars[id(t)],)}
    calls = []
    for eq in recorder.program.equations:
        packed = len(eq.outputs) > 1 or getattr(eq.op, "n_outputs", 1) != 1
        calls.append(_Call(eq.op, tuple(tensors[id(v)] for v in eq.inputs), eq.params,
                           tuple(tensors[id(v)] for v in eq.outputs), packed))
    return calls


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

    def __init__(self, fn, inputs: list, calls: list, local_names: dict, out: Tensor):
        self.inputs, self.calls, self.out = inputs, calls, out
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
                if id(o) in local_names and id(o) not in self.names:
                    self.names[id(o)] = self._fresh(local_names[id(o)])
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
        scalar_ok = getattr(call.op, "broadcasts", False) and getattr(call.op, "expression", None) is not None
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
            args = ", ".join(self._arg(a, call) for a in call.op.arguments(call.inputs, call.params))
            return f"{self._outs(call)} = {self._value(call.op, call.op.__name__)}.apply({args})"
        args = [self._arg(t, call) for t in call.inputs]
        text = expression(call.op, args, call.params, prefix="cr.", shapes=_shapes(call))
        if text is None:
            fn = self._value(functools.partial(_apply_primitive, call.op, call.params), call.op.name)
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


def _shapes(call: _Call) -> tuple:
    return tuple(t._data.shape for t in call.inputs)


def _local_terms(call: _Call, a: list, out: str, g: str) -> list | None:
    """Per input, its gradient term as the op declares it (the downstream gradient as code) and whether that
    is a fresh array; None for ops that declare no such code."""
    code = getattr(call.op, "gradient_code", None)
    templates = code(call.params, _shapes(call)) if code is not None else None
    if templates is None:
        return None
    names = {**names_for(call.op, a, _shapes(call), "cr."), "out": out, "g": g}
    fields = {**names, **{k: repr(v) for k, v in call.params.items()}}
    fresh = not call.op.backward_view
    return [None if t is None else (t.format(**fields), fresh) for t in templates]


def _apply_primitive(op, params, *inputs):
    return apply(op, inputs, **params)


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
