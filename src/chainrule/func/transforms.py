"""Function transforms: ``grad``, ``grad_and_value``, ``vjp``, ``jvp`` and ``linearize`` (as ``torch.func``).

A reverse-mode transform calls ``func`` once on *lifted* inputs: new tensors that share the caller's data
and require grad, so the caller's tensors (and their ``.grad``) are never touched. When a caller's tensor
already requires grad (an outer transform, or the user's own graph) its lifted input is an alias inside
that graph, so results stay differentiable from outside: that is how transforms nest (``grad(grad(f))``).
Forward-mode tangents ride on the inputs through the forward and the backward pass, which is how
``jvp(grad(f), ...)`` (forward-over-reverse) works.

Whether the backward passes record a graph is decided once per call: only when the outputs depend on
something outside the transform (found by walking the recorded graph) do they use ``create_graph=True``;
otherwise the results are plain tensors with no history, as ``torch.func`` returns them at top level.
"""

from __future__ import annotations

import functools

from .. import _state
from .._backend import xp
from ..autograd import forward_ad
from ..autograd.engine import grad as autograd_grad
from ..autograd.graph import edge_source
from ..ops._primitive import apply
from ..ops.shape import Alias
from ..tensor import Tensor, _wrap
from .pytree import tree_flatten, tree_leaves, tree_map, tree_unflatten

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize"]


# -- shared machinery (the Jacobian transforms use it too) ---------------------------------------------

def check_argnums(argnums, n_args: int, api: str) -> tuple:
    """``argnums`` (an int or a tuple of ints, negative counting from the end) as non-negative positions."""
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    if not nums:
        raise RuntimeError(f"{api}: argnums must be non-empty")
    out = []
    for a in nums:
        if isinstance(a, bool) or not isinstance(a, int):
            raise RuntimeError(f"{api}: argnums must be int or Tuple[int, ...], got {type(argnums).__name__} "
                               f"{argnums!r}")
        if not -n_args <= a < n_args:
            raise RuntimeError(f"{api}: got argnums={a}, but f was called with only {n_args} positional "
                               f"inputs (valid argnums: {-n_args}..{n_args - 1})")
        out.append(a % n_args)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{api}: argnums elements must be unique, got {argnums}")
    return tuple(out)


def zeros_like(t: Tensor) -> Tensor:
    return _wrap(xp.zeros_like(t._data))


def _lift(x, api: str) -> Tensor:
    """A stand-in for ``x`` that requires grad: a new leaf, or an alias of ``x`` when ``x`` is tracked."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{api}: every differentiated input must be a Tensor, got {type(x).__name__}; pass "
                         "numbers as tensors, or exclude that argument from argnums")
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{api}: only floating point tensors can be differentiated, got an input of dtype "
                           f"{x.dtype} and shape {tuple(x._data.shape)}; convert it first, e.g. x.double()")
    # NOTE: Alias carries x's forward-AD tangents, and records a node only when x is tracked from outside.
    y = apply(Alias, (x,))
    if not y.requires_grad:
        y.requires_grad = True
    return y


def _reaches_outside(tensors, inside: set) -> bool:
    """Whether any of ``tensors`` or their forward-AD tangents depends, through the recorded graph, on a leaf
    not in ``inside`` (ids): then the transform's results must stay differentiable from outside."""
    tensors = [t for t in tensors if isinstance(t, Tensor)]
    tensors += [tangent for t in tensors if t._fw for tangent in t._fw.values()]
    stack, seen = [], set()
    for t in tensors:
        if t.requires_grad:
            if t.grad_fn is None:
                if id(t) not in inside:
                    return True
            else:
                stack.append(t.grad_fn)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for edge in node.next:
            source = edge_source(edge)
            if source is not None:
                stack.append(source[0])
            elif edge is not None and id(edge) not in inside:
                return True
    return False


def _released(x):
    """``x`` cut from the graph recorded inside a transform; its forward-AD tangents are kept."""
    if not isinstance(x, Tensor) or not x.requires_grad:
        return x
    out = x.detach()
    for level, tangent in (x._fw or {}).items():
        if level in _state.forward_levels:
            forward_ad._set_tangent(out, level, tangent)
    return out


def split_aux(result, has_aux: bool, api: str):
    """``(output, aux)`` of ``func``'s result (aux is None without ``has_aux``)."""
    if not has_aux:
        return result, None
    if not isinstance(result, tuple) or len(result) != 2:
        length = f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) if has_aux is "
                           f"True, got {type(result).__name__}{length}")
    return result


def check_outputs(outputs: list, api: str) -> None:
    for o in outputs:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected f(*args) to return only tensors (or a tuple/list/dict of "
                               f"them), got {type(o).__name__}")


def regroup(flat: list, groups: list, single: bool):
    """Per-input-leaf results in the differentiated arguments' structure (a tuple of them unless ``single``).

    ``groups``: ``(spec, start, stop)`` per differentiated argument, its leaves being ``flat[start:stop]``.
    """
    trees = tuple(tree_unflatten(flat[a:b], spec) for spec, a, b in groups)
    return trees[0] if single else trees


def basis(t: Tensor, k: int) -> Tensor:
    """The ``k``-th standard basis tensor of ``t``'s shape and dtype (element k, in row-major order, is 1)."""
    e = xp.zeros(t._data.size, dtype=t._data.dtype)
    e[k] = 1
    return _wrap(e.reshape(t._data.shape))


class Trace:
    """``func`` called once on lifted inputs; reverse-mode transforms pull cotangents back through it.

    ``inputs``: the lifted leaves of the differentiated arguments, flattened; ``outputs`` / ``out_spec``:
    the flattened result; ``keep``: whether results must stay differentiable from outside (see the module
    docstring). The graph is retained, so :meth:`pullback` can run any number of times.
    """

    def __init__(self, func, args: tuple, kwargs: dict, argnums: tuple, has_aux: bool, api: str):
        args = list(args)
        self.inputs: list = []
        self.groups: list = []  # (spec, start, stop) of each differentiated argument's leaves in inputs
        for i in argnums:
            leaves, spec = tree_flatten(args[i])
            lifted = [_lift(x, api) for x in leaves]
            self.groups.append((spec, len(self.inputs), len(self.inputs) + len(lifted)))
            self.inputs.extend(lifted)
            args[i] = tree_unflatten(lifted, spec)
        with _state.enable_grad():
            result = func(*args, **kwargs)
        self.out, self.aux = split_aux(result, has_aux, api)
        self.outputs, self.out_spec = tree_flatten(self.out)
        inside = {id(t) for t in self.inputs}
        self.keep = _reaches_outside(self.outputs + tree_leaves(self.aux), inside)

    def pullback(self, cotangents: list, create_graph: bool = False) -> list:
        """``J^T u`` for one cotangent ``u`` per output (None skips it): a gradient per input, None if unused.

        This is the per-row pass of ``jacrev``: one backward through the retained graph.
        """
        pairs = [(o, u) for o, u in zip(self.outputs, cotangents, strict=True)
                 if u is not None and o.requires_grad]
        if not pairs or not self.inputs:
            return [None] * len(self.inputs)
        outs, cots = [o for o, _ in pairs], [u for _, u in pairs]
        return list(autograd_grad(outs, self.inputs, cots, retain_graph=True,
                                  create_graph=self.keep or create_graph, allow_unused=True))

    def released(self, tree):
        """``tree`` for the caller: cut from the transform's own graph unless it must stay differentiable."""
        return tree if self.keep else tree_map(_released, tree)


def push_forward(func, flat_primals: list, spec, flat_tangents: list, kwargs: dict, has_aux: bool, api: str):
    """Run ``func`` once in a new dual level, with ``flat_tangents[i]`` (None: none) on ``flat_primals[i]``.

    Returns ``(flat primal outputs, output spec, flat output tangents (None: independent), aux)``. This is
    the per-column pass of ``jacfwd``: one forward-mode evaluation of ``func``.
    """
    with forward_ad.dual_level():
        duals = [x if t is None else forward_ad.make_dual(x, t)
                 for x, t in zip(flat_primals, flat_tangents, strict=True)]
        result = func(*tree_unflatten(duals, spec), **kwargs)
        out, aux = split_aux(result, has_aux, api)
        outputs, out_spec = tree_flatten(out)
        check_outputs(outputs, api)
        unpacked = [forward_ad.unpack_dual(o) for o in outputs]
        aux = tree_map(lambda a: forward_ad.unpack_dual(a).primal if isinstance(a, Tensor) else a, aux)
    return [u.primal for u in unpacked], out_spec, [u.tangent for u in unpacked], aux


def check_primal(x, api: str) -> None:
    if not isinstance(x, Tensor):
        raise ValueError(f"{api}: expected every primal to be a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind != "f":
        raise ValueError(f"{api}: expected primal to be floating point, but got {x.dtype} (shape "
                         f"{tuple(x._data.shape)}); only floating point inputs can be differentiated")


# -- reverse mode ----------------------------------------------------------------------------------------

def grad_and_value(func, argnums=0, has_aux: bool = False):
    """Like :func:`grad`, but the returned function gives ``(gradient, value)`` (``(gradient, (value, aux))``
    with ``has_aux``), computing both in one forward and one backward pass.

    Example::

        >>> g, v = chainrule.func.grad_and_value(lambda x: (x ** 2).sum())(chainrule.tensor([1.0, 2.0]))
        >>> g, v
        (tensor([2., 4.]), tensor(5.))
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        api = "grad_and_value(f)(*args)"
        trace = Trace(func, args, kwargs, check_argnums(argnums, len(args), api), has_aux, api)
        out = trace.out
        if not isinstance(out, Tensor):
            raise RuntimeError(f"{api}: expected f(*args) to return a Tensor, got {type(out).__name__}")
        if out._data.ndim != 0:
            raise RuntimeError(f"{api}: expected f(*args) to return a scalar (0-d) Tensor, got a tensor with "
                               f"{out._data.ndim} dims (shape {tuple(out._data.shape)}); maybe you wanted the "
                               "vjp or jacrev APIs instead, or to .sum() the output")
        grads = trace.pullback([_wrap(xp.ones_like(out._data))])
        grads = [zeros_like(x) if g is None else g for x, g in zip(trace.inputs, grads, strict=True)]
        g = regroup(grads, trace.groups, not isinstance(argnums, tuple))
        if has_aux:
            return g, (trace.released(out), trace.released(trace.aux))
        return g, trace.released(out)

    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """The gradient of a scalar ``func`` as a function: ``grad(f)(*args)`` is d f / d ``args[argnums]``.

    ``argnums``: which positional argument(s) to differentiate (an int, or a tuple giving a tuple of
    gradients); each may be a tensor or a tuple/list/dict of tensors, and its gradient has the same
    structure and shapes. ``f`` must return a 0-d tensor (with ``has_aux``: a pair ``(output, aux)``, and
    the result is ``(gradient, aux)``). Inputs ``f`` does not use get zero gradients, as in ``torch.func``.
    Transforms nest: ``grad(grad(f))(x)`` is the second derivative of a scalar function.

    Cost: one forward and one backward pass of ``f``.

    Example::

        >>> d3 = chainrule.func.grad(chainrule.func.grad(chainrule.func.grad(chainrule.tanh)))
        >>> d3(chainrule.tensor(0.5))   # tanh''' = -2 (1 - t^2)(1 - 3 t^2), t = tanh(0.5)
        tensor(-0.5652)
    """
    value_and_grad = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = value_and_grad(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func, *primals, has_aux: bool = False):
    """``(output, vjp_fn)``: ``func(*primals)`` and the function ``cotangents -> J^T cotangents``.

    ``vjp_fn`` takes cotangents with the structure and shapes of the output and returns a tuple with one
    gradient per primal (each with that primal's structure). The graph is kept, so ``vjp_fn`` can be
    called any number of times, each call one backward pass. With ``has_aux``, ``func`` returns
    ``(output, aux)`` and the result is ``(output, vjp_fn, aux)``.

    Example::

        >>> out, vjp_fn = chainrule.func.vjp(chainrule.sin, chainrule.tensor([0.0, 1.0]))
        >>> vjp_fn(chainrule.ones(2))   # (cos(x),)
        (tensor([1.    , 0.5403]),)
    """
    api = "vjp(f, *primals)"
    if not primals:
        raise RuntimeError(f"{api}: expected at least one primal to differentiate with respect to")
    trace = Trace(func, primals, {}, tuple(range(len(primals))), has_aux, api)
    check_outputs(trace.outputs, api)

    def vjp_fn(cotangents):
        flat, spec = tree_flatten(cotangents)
        if spec != trace.out_spec:
            raise RuntimeError(f"vjp_fn: expected the pytree structure of cotangents to be the same as that "
                               f"of the outputs of f: cotangents: {spec}, primal output: {trace.out_spec}")
        for i, (o, u) in enumerate(zip(trace.outputs, flat, strict=True)):
            if not isinstance(u, Tensor):
                raise RuntimeError(f"vjp_fn: expected cotangent {i} to be a Tensor, got {type(u).__name__}")
            if u._data.shape != o._data.shape:
                raise RuntimeError(f"vjp_fn: mismatch in shape: cotangent {i} has shape "
                                   f"{tuple(u._data.shape)} and output {i} has shape {tuple(o._data.shape)}")
        grads = trace.pullback(flat, create_graph=any(u.requires_grad for u in flat))
        grads = [zeros_like(x) if g is None else g for x, g in zip(trace.inputs, grads, strict=True)]
        return regroup(grads, trace.groups, single=False)

    if has_aux:
        return trace.released(trace.out), vjp_fn, trace.released(trace.aux)
    return trace.released(trace.out), vjp_fn


def linearize(func, *primals):
    """``(output, jvp_fn)``: ``func(*primals)`` and the linear map ``tangents -> J tangents``, built once.

    Unlike :func:`jvp`, ``func`` is not run again for each tangent: the reverse graph is recorded once and
    transposed (the double-VJP trick), so each ``jvp_fn(*tangents)`` call is one backward pass through it.
    Cost: one forward and one differentiable backward up front, then one backward pass per call. Use it to
    push many tangents through the same point; ``func`` must be differentiable in reverse mode.

    Example::

        >>> out, jvp_fn = chainrule.func.linearize(chainrule.sin, chainrule.tensor([0.0, 1.0]))
        >>> jvp_fn(chainrule.tensor([2.0, 2.0]))   # cos(x) * v
        tensor([2.    , 1.0806])
    """
    api = "linearize(f, *primals)"
    if not primals:
        raise RuntimeError(f"{api}: expected at least one primal")
    trace = Trace(func, primals, {}, tuple(range(len(primals))), False, api)
    check_outputs(trace.outputs, api)
    # NOTE: J^T u is linear in the dummy cotangent u, so differentiating it with respect to u at a
    # cotangent v gives J v; u's value (zero) never matters.
    dummies = [zeros_like(o).requires_grad_() if o.requires_grad else None for o in trace.outputs]
    transposed = trace.pullback(dummies, create_graph=True)
    primal_spec = tree_flatten(primals)[1]

    def jvp_fn(*tangents):
        flat, spec = tree_flatten(tangents)
        if spec != primal_spec:
            raise RuntimeError(f"jvp_fn: expected tangents with the structure of the primals: {primal_spec}, "
                               f"got {spec}")
        for i, (x, t) in enumerate(zip(trace.inputs, flat, strict=True)):
            if not isinstance(t, Tensor) or t._data.shape != x._data.shape:
                raise RuntimeError(f"jvp_fn: tangent {i} must be a Tensor of the primal's shape "
                                   f"{tuple(x._data.shape)}, got {getattr(t, 'shape', type(t).__name__)}")
        pairs = [(c, t) for c, t in zip(transposed, flat, strict=True) if c is not None and c.requires_grad]
        wrt = [u for u in dummies if u is not None]
        out_t = [None] * len(wrt)
        if pairs and wrt:
            out_t = autograd_grad([c for c, _ in pairs], wrt, [t for _, t in pairs], retain_graph=True,
                                  create_graph=trace.keep, allow_unused=True)
        grads, result = iter(out_t), []
        for o, u in zip(trace.outputs, dummies, strict=True):
            g = None if u is None else next(grads)
            result.append(zeros_like(o) if g is None else g)
        return tree_unflatten(result, trace.out_spec)

    return trace.released(trace.out), jvp_fn


# -- forward mode ---------------------------------------------------------------------------------------

def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(output, jvp_out)``: ``func(*primals)`` and its directional derivative ``J tangents`` (forward mode).

    ``primals`` and ``tangents`` are tuples of the same structure (entries may be tensors or pytrees of
    them); ``jvp_out`` has the output's structure. One forward-mode pass of ``func``: no reverse graph is
    recorded unless an input requires grad. ``strict=True`` raises if the output does not depend on the
    inputs. With ``has_aux`` the result is ``(output, jvp_out, aux)``.

    Example::

        >>> chainrule.func.jvp(chainrule.sin, (chainrule.tensor([0.0, 1.0]),), (chainrule.ones(2),))
        (tensor([0.    , 0.8415]), tensor([1.    , 0.5403]))
    """
    api = "jvp(f, primals, tangents)"
    for name, value in (("primals", primals), ("tangents", tangents)):
        if not isinstance(value, tuple):
            raise RuntimeError(f"{api}: expected {name} to be a tuple (e.g. it should be valid to call "
                               f"f(*primals)), got {type(value).__name__}")
    flat_p, spec = tree_flatten(primals)
    flat_t, spec_t = tree_flatten(tangents)
    if spec != spec_t:
        raise RuntimeError(f"{api}: expected primals and tangents to have the same structure, got {spec} and "
                           f"{spec_t}")
    for i, (x, t) in enumerate(zip(flat_p, flat_t, strict=True)):
        check_primal(x, api)
        if not isinstance(t, Tensor):
            raise ValueError(f"{api}: expected every tangent to be a Tensor, got {type(t).__name__}")
        if t._data.shape != x._data.shape:
            raise RuntimeError(f"{api}: tangent {i} has shape {tuple(t._data.shape)} but its primal has shape "
                               f"{tuple(x._data.shape)}; they must match")
    outs, out_spec, out_ts, aux = push_forward(func, flat_p, spec, flat_t, {}, has_aux, api)
    if strict and all(t is None for t in out_ts):
        raise RuntimeError(f"{api}: strict=True: the output of f is independent of the inputs")
    out_ts = [zeros_like(o) if t is None else t for o, t in zip(outs, out_ts, strict=True)]
    result = (tree_unflatten(outs, out_spec), tree_unflatten(out_ts, out_spec))
    return result + (aux,) if has_aux else result
