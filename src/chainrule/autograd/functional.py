"""Derivatives of whole functions at a point, as ``torch.autograd.functional``: vjp, jvp, jacobian, hessian,
hvp and vhp.

Each takes ``func`` and ``inputs`` (a tensor or a tuple of tensors) and nests its results as torch does: a
tensor for a single tensor, tuples otherwise (``jacobian(...)[i][j]`` is output i by input j). With
``create_graph=False`` (the default) results are detached; with ``create_graph=True`` they stay
differentiable with respect to inputs that require grad. ``strict=True`` raises where an output is
independent of an input instead of returning zeros.

Built on ``chainrule.func``. ``hvp`` is forward-over-reverse (one forward-mode pass through the gradient
computation) and ``vhp`` reverse-over-reverse (one differentiable backward, then one more backward): neither
forms the Hessian, so both take O(n) memory for n inputs.
"""

from __future__ import annotations

from .._backend import xp
from ..func.jacobian import forward_blocks, reverse_blocks
from ..func.pytree import tree_flatten, tree_unflatten
from ..func.transforms import Trace, check_primal, push_forward, zeros_like
from ..tensor import Tensor, _wrap

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _as_tuple(value, what: str, api: str) -> tuple:
    """``(tensors, was_tuple)`` for a tensor or a tuple of tensors."""
    if isinstance(value, Tensor):
        return (value,), False
    if isinstance(value, tuple) and all(isinstance(v, Tensor) for v in value):
        return value, True
    raise TypeError(f"{api}: the {what} must be either a Tensor or a tuple of Tensors, got "
                    f"{type(value).__name__}")


def _inputs(inputs, create_graph: bool, api: str) -> tuple:
    xs, is_tuple = _as_tuple(inputs, f"inputs given to {api}", api)
    for x in xs:
        if x._data.dtype.kind != "f":
            raise RuntimeError(f"{api}: only floating point inputs can be differentiated, got an input of "
                               f"dtype {x.dtype} and shape {tuple(x._data.shape)}")
    # NOTE: without create_graph nothing may stay connected to the caller's graph, so inputs start afresh.
    return (xs if create_graph else tuple(x.detach() for x in xs)), is_tuple


def _vector(v, like: tuple, what: str, api: str) -> tuple:
    """``v`` as one tensor per entry of ``like`` (the function's inputs or outputs), checked."""
    if v is None:
        if len(like) != 1 or like[0]._data.size != 1:
            raise RuntimeError(f"{api}: the vector v can only be None if the {what} of the user-provided "
                               "function is a single Tensor with a single element")
        return (_wrap(xp.ones_like(like[0]._data)),)
    vs, _ = _as_tuple(v, "v", api)
    if len(vs) != len(like):
        raise RuntimeError(f"{api}: v has {len(vs)} tensors but the user-provided function has {len(like)} "
                           f"{what}s; pass one per {what}")
    for i, (t, ref) in enumerate(zip(vs, like, strict=True)):
        if t._data.shape != ref._data.shape:
            raise RuntimeError(f"{api}: v has invalid size: entry {i} should be {tuple(ref._data.shape)} but "
                               f"got {tuple(t._data.shape)}")
    return vs


def _outputs(out, api: str) -> tuple:
    return _as_tuple(out, f"outputs of the user-provided function given to {api}", api)


def _check_independent(entries: list, strict: bool, message: str) -> None:
    """In strict mode, an error for the first None entry (``message`` has a ``{}`` for its index)."""
    for i, e in enumerate(entries):
        if e is None and strict:
            raise RuntimeError(message.format(i) + " This is not allowed in strict mode.")


def _filled(entries: list, like, strict: bool, message: str) -> list:
    _check_independent(entries, strict, message)
    return [zeros_like(x) if e is None else e for e, x in zip(entries, like, strict=True)]


def _result(tensors, is_tuple: bool, create_graph: bool):
    tensors = tuple(t if create_graph else t.detach() for t in tensors)
    return tensors if is_tuple else tensors[0]


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``, in one backward pass.

    ``v``: one tensor per output, of its shape (may be None for a single one-element output). The second
    result has the structure of ``inputs``.

    Example::

        >>> vjp(lambda x: x ** 2, chainrule.tensor([1.0, 2.0]), chainrule.ones(2))
        (tensor([1., 4.]), tensor([2., 4.]))
    """
    xs, in_tuple = _inputs(inputs, create_graph, "vjp")
    trace = Trace(func, xs, {}, tuple(range(len(xs))), False, "vjp")
    outs, out_tuple = _outputs(trace.out, "vjp")
    vs = _vector(v, outs, "output", "vjp")
    for i, o in enumerate(outs):
        if strict and not o.requires_grad:
            raise RuntimeError(f"vjp: output {i} of the user-provided function does not require gradients. "
                               "The outputs must be computed in a differentiable manner from the input when "
                               "running in strict mode.")
    grads = _filled(trace.pullback(list(vs), create_graph), trace.inputs, strict,
                    "vjp: the output of the user-provided function is independent of input {}.")
    return _result(outs, out_tuple, create_graph), _result(grads, in_tuple, create_graph)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``: the Jacobian-vector product at ``inputs``, in one forward-mode pass.

    ``v``: one tensor per input, of its shape (may be None for a single one-element input). The second
    result has the structure of the output.

    Example::

        >>> jvp(lambda x: x ** 2, chainrule.tensor([1.0, 2.0]), chainrule.ones(2))
        (tensor([1., 4.]), tensor([2., 4.]))
    """
    xs, _ = _inputs(inputs, create_graph, "jvp")
    vs = _vector(v, xs, "input", "jvp")
    flat, spec = tree_flatten(xs)
    outs, out_spec, out_ts, _ = push_forward(func, flat, spec, list(vs), {}, False, "jvp")
    outs, out_tuple = _outputs(tree_unflatten(outs, out_spec), "jvp")
    out_ts = _filled(out_ts, outs, strict, "jvp: output {} of the user-provided function is independent of "
                                           "the inputs.")
    return _result(outs, out_tuple, create_graph), _result(out_ts, out_tuple, create_graph)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: block ``[i][j]`` has shape ``output_i.shape + input_j.shape``.

    A single tensor output and input give one tensor; tuples give tuples (outputs outside, inputs inside).
    ``strategy="reverse-mode"``: one forward pass, then one batched backward pass over every output element
    (``vmap``); ``"forward-mode"``: one batched forward-mode pass over every input element. ``vectorize`` is
    accepted for torch compatibility and changes nothing: the rows are always batched.

    Example::

        >>> jacobian(lambda x: x ** 2, chainrule.tensor([1.0, 2.0]))
        tensor([[2., 0.],
                [0., 4.]])
    """
    api = "jacobian"
    xs, in_tuple = _inputs(inputs, create_graph, api)
    if strategy == "reverse-mode":
        trace = Trace(func, xs, {}, tuple(range(len(xs))), False, api)
        outs, out_tuple = _outputs(trace.out, api)
        blocks = reverse_blocks(trace)
    elif strategy == "forward-mode":
        flat, spec = tree_flatten(xs)
        blocks, outs, out_spec, _ = forward_blocks(func, flat, spec, list(range(len(flat))), {}, False, api)
        outs, out_tuple = _outputs(tree_unflatten(outs, out_spec), api)
    else:
        raise ValueError(f'{api}: expected strategy to be either "forward-mode" or "reverse-mode", got '
                         f"{strategy!r}")
    rows = []
    for i, (row, o) in enumerate(zip(blocks, outs, strict=True)):
        _check_independent(row, strict, f"{api}: output {i} of the user-provided function is independent of "
                                        "input {}.")
        row = [_wrap(xp.zeros(o._data.shape + x._data.shape, dtype=x._data.dtype)) if b is None else b
               for b, x in zip(row, xs, strict=True)]
        rows.append(_result(row, in_tuple, create_graph))
    return tuple(rows) if out_tuple else rows[0]


def _gradient(func, strict: bool, api: str):
    """``(*xs) -> (d func / d x for each x) + (func(*xs),)`` for a one-element ``func``: what hessian, hvp and
    vhp differentiate once more. Its results stay differentiable (the inputs are lifted by the caller)."""
    def gradient(*xs):
        trace = Trace(func, xs, {}, tuple(range(len(xs))), False, api)
        out = trace.out
        if not isinstance(out, Tensor):
            raise TypeError(f"{api}: the function given to {api} must return a single Tensor, got "
                            f"{type(out).__name__}")
        if out._data.size != 1:
            raise RuntimeError(f"{api}: the Tensor returned by the function given to {api} should contain a "
                               f"single element, got shape {tuple(out._data.shape)}")
        grads = trace.pullback([_wrap(xp.ones_like(out._data))])
        grads = _filled(grads, trace.inputs, strict, f"{api}: the output of the user-provided function is "
                                                     "independent of input {}.")
        return tuple(grads) + (trace.released(out),)

    return gradient


def hessian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar ``func`` at ``inputs``: block ``[i][j] = d^2 f / d x_i d x_j`` of shape
    ``x_i.shape + x_j.shape`` (a single tensor for a single input).

    The gradient is differentiated once more by ``outer_jacobian_strategy``: ``"reverse-mode"``
    (reverse-over-reverse: ``func`` runs once, then one batched backward pass over every input element) or
    ``"forward-mode"`` (forward-over-reverse: one batched forward-mode pass of the gradient).

    Example::

        >>> hessian(lambda x: (x ** 3).sum(), chainrule.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    xs, in_tuple = _inputs(inputs, create_graph, "hessian")
    gradient = _gradient(func, strict, "hessian")

    def gradient_only(*args):
        grads = gradient(*args)[:-1]
        return grads if in_tuple else grads[0]

    return jacobian(gradient_only, xs if in_tuple else xs[0], create_graph, strict, vectorize,
                    outer_jacobian_strategy)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)``: the Hessian of scalar ``func`` times ``v``, without forming the Hessian.

    Forward-over-reverse: one forward-mode pass through ``func`` and its backward, so the time is a small
    multiple of one gradient's and memory is O(n) for n inputs. ``v`` has the structure of ``inputs`` (may
    be None for a single one-element input).

    Example::

        >>> hvp(lambda x: (x ** 3).sum(), chainrule.tensor([1.0, 2.0]), chainrule.ones(2))
        (tensor(9.), tensor([ 6., 12.]))
    """
    xs, in_tuple = _inputs(inputs, create_graph, "hvp")
    vs = _vector(v, xs, "input", "hvp")
    flat, spec = tree_flatten(xs)
    for x in flat:
        check_primal(x, "hvp")
    gradient = _gradient(func, strict, "hvp")
    results, _, tangents, _ = push_forward(gradient, flat, spec, list(vs), {}, False, "hvp")
    products = _filled(tangents[:-1], xs, strict, "hvp: the gradient of the user-provided function is "
                                                  "independent of input {}.")
    return _result(results[-1:], False, create_graph), _result(products, in_tuple, create_graph)


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)``: equal to :func:`hvp` (the Hessian is symmetric), computed
    reverse-over-reverse: one differentiable backward pass, then one backward pass through it. Memory is
    O(n) for n inputs.

    Example::

        >>> vhp(lambda x: (x ** 3).sum(), chainrule.tensor([1.0, 2.0]), chainrule.ones(2))
        (tensor(9.), tensor([ 6., 12.]))
    """
    xs, in_tuple = _inputs(inputs, create_graph, "vhp")
    vs = _vector(v, xs, "input", "vhp")
    trace = Trace(_gradient(func, strict, "vhp"), xs, {}, tuple(range(len(xs))), False, "vhp")
    products = _filled(trace.pullback(list(vs) + [None], create_graph), trace.inputs, strict,
                       "vhp: the gradient of the user-provided function is independent of input {}.")
    return _result(trace.outputs[-1:], False, create_graph), _result(products, in_tuple, create_graph)
