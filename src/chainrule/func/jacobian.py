"""Jacobians and Hessians as functions: ``jacrev``, ``jacfwd`` and ``hessian`` (as ``torch.func``).

Cost model, for f: R^n -> R^m (a "pass" is one sweep over f's graph, about the cost of evaluating f):

- ``jacrev``: 1 forward pass, then 1 batched backward pass through the retained graph: the pullback
  ``vmap``-ed over all m basis cotangents at once (one sweep of batched ops instead of m sweeps);
- ``jacfwd``: 1 batched forward-mode pass: f run once with all n basis tangents at once (``vmap``);
- ``hessian`` of f: R^n -> R: ``jacfwd(jacrev(f))``, forward-over-reverse: one batched forward-mode pass
  over the n basis tangents through f and its gradient.

The batched passes do the same arithmetic as m (or n) separate passes, but each op runs once on a batch, so
the Python overhead per op is paid once; the per-row/per-column loops survive as ``chunk_size=1``. Prefer
``jacrev`` when m < n and ``jacfwd`` when n < m.
"""

from __future__ import annotations

import functools

from .._backend import xp
from ..tensor import Tensor, _wrap
from .pytree import tree_flatten, tree_unflatten
from .transforms import Trace, check_argnums, check_outputs, check_primal, push_forward, regroup
from .vmap import vmap

__all__ = ["jacrev", "jacfwd", "hessian"]


def _zeros(shape: tuple, dtype) -> Tensor:
    return _wrap(xp.zeros(shape, dtype=dtype))


def _identity(t: Tensor) -> Tensor:
    """Every standard basis tensor of ``t``'s shape, stacked: shape ``(t.numel(), *t.shape)``."""
    n = t._data.size
    return _wrap(xp.eye(n, dtype=t._data.dtype).reshape((n,) + t._data.shape))


def reverse_blocks(trace: Trace, chunk_size=None) -> list:
    """``blocks[i][j] = d outputs[i] / d inputs[j]`` (shape ``o.shape + x.shape``; None: independent).

    One batched backward pass through the trace's retained graph per output: ``vmap`` of the pullback over
    every basis cotangent of that output at once (``chunk_size`` at a time, if given).
    """
    blocks = []
    for i, o in enumerate(trace.outputs):
        if not o.requires_grad or o._data.size == 0:
            blocks.append([None] * len(trace.inputs))
            continue
        unused: list = []

        def pull(u, i=i, unused=unused):
            cotangents = [None] * len(trace.outputs)
            cotangents[i] = u
            grads = trace.pullback(cotangents)
            unused[:] = [g is None for g in grads]
            return tuple(_zeros(x._data.shape, x._data.dtype) if g is None else g
                         for x, g in zip(trace.inputs, grads, strict=True))

        rows = vmap(pull, chunk_size=chunk_size)(_identity(o))
        blocks.append([None if skip else r.reshape(o._data.shape + x._data.shape)
                       for r, x, skip in zip(rows, trace.inputs, unused, strict=True)])
    return blocks


def forward_blocks(func, flat: list, spec, wrt: list, kwargs: dict, has_aux: bool, api: str,
                   randomness: str = "error") -> tuple:
    """``(blocks, outputs, out_spec, aux)`` with ``blocks[i][j] = d outputs[i] / d flat[wrt[j]]`` (None:
    independent), from one batched forward-mode pass of ``func(*tree_unflatten(flat, spec))`` per
    differentiated input: ``vmap`` of the pushforward over every basis tangent of that input at once."""
    for j in wrt:
        check_primal(flat[j], api)
    columns = []
    result = None
    for j in wrt:
        if flat[j]._data.size == 0:
            columns.append(None)
            continue
        independent: list = []
        meta: list = []

        def push(t, j=j, independent=independent, meta=meta):
            tangents = [None] * len(flat)
            tangents[j] = t
            outputs, out_spec, out_tangents, aux = push_forward(func, flat, spec, tangents, kwargs, has_aux, api)
            independent[:] = [t is None for t in out_tangents]
            meta[:] = [out_spec]
            return (tuple(_zeros(o._data.shape, o._data.dtype) if t is None else t
                          for o, t in zip(outputs, out_tangents, strict=True)), tuple(outputs), aux)

        out_t, outputs, aux = vmap(push, out_dims=(-1, None, None), randomness=randomness)(_identity(flat[j]))
        result = list(outputs), meta[0], aux
        columns.append([None if skip else t for t, skip in zip(out_t, independent, strict=True)])
    if result is None:  # every differentiated input is empty: still evaluate f for the output's shapes
        outputs, out_spec, _, aux = push_forward(func, flat, spec, [None] * len(flat), kwargs, has_aux, api)
        result = outputs, out_spec, aux
    outputs, out_spec, aux = result
    blocks = [[None if col is None or col[i] is None else col[i].reshape(o._data.shape + flat[j]._data.shape)
               for col, j in zip(columns, wrt, strict=True)] for i, o in enumerate(outputs)]
    return blocks, outputs, out_spec, aux


def _jacobian_tree(blocks: list, outputs: list, inputs: list, out_spec, groups: list, single: bool):
    """``blocks[i][j]`` (None: zeros) arranged as torch.func does: the output's structure outside, then a
    tuple over argnums (unless ``single``), then each argument's structure."""
    rows = [[_wrap(xp.zeros(o._data.shape + x._data.shape, dtype=x._data.dtype)) if b is None else b
             for b, x in zip(row, inputs, strict=True)] for row, o in zip(blocks, outputs, strict=True)]
    return tree_unflatten([regroup(row, groups, single) for row in rows], out_spec)


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None):
    """The Jacobian of ``func`` with respect to ``args[argnums]``, computed in reverse mode, as a function.

    ``jacrev(f)(*args)`` has, for each output leaf ``o`` and differentiated input leaf ``x``, a block of
    shape ``o.shape + x.shape``; blocks are arranged as the output's structure, then (for a tuple
    ``argnums``) a tuple over arguments, then each argument's structure. With ``has_aux``, ``func`` returns
    ``(output, aux)`` and the result is ``(jacobian, aux)``.

    Cost: one forward pass of ``func``, then one batched backward pass through the retained graph that
    pulls back every basis cotangent at once (``vmap`` over the identity; ``func`` is not re-run).
    ``chunk_size``: pull back that many rows at a time (less memory; ``1`` is one backward pass per row).
    Prefer :func:`jacfwd` when outputs outnumber inputs.

    Example::

        >>> A = chainrule.randn(3, 2, dtype=chainrule.float64)
        >>> chainrule.func.jacrev(lambda x: A @ x)(chainrule.zeros(2, dtype=chainrule.float64))  # == A
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        api = "jacrev(f, argnums)(*args)"
        trace = Trace(func, args, kwargs, check_argnums(argnums, len(args), api), has_aux, api)
        check_outputs(trace.outputs, api)
        jac = _jacobian_tree(reverse_blocks(trace, chunk_size), trace.outputs, trace.inputs, trace.out_spec,
                             trace.groups, not isinstance(argnums, tuple))
        return (jac, trace.released(trace.aux)) if has_aux else jac

    return wrapper


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian of ``func`` with respect to ``args[argnums]``, computed in forward mode, as a function.

    Same result and structure as :func:`jacrev` (blocks of shape ``output.shape + input.shape``). Works for
    functions with forward-mode rules only (e.g. a custom ``Function`` with ``jvp`` but no ``backward``).

    Cost: one batched forward-mode pass: ``func`` runs once, carrying all n basis tangents at once
    (``vmap`` over the identity), about 2-3 times the cost of ``func`` on a batch of n. ``randomness``: what
    random ops in ``func`` do, as in :func:`vmap` (default ``'error'``). Prefer :func:`jacrev` when inputs
    outnumber outputs.

    Example::

        >>> chainrule.func.jacfwd(chainrule.sin)(chainrule.tensor([0.0, 1.0]))   # diag(cos(x))
        tensor([[1.    , 0.    ],
                [0.    , 0.5403]])
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        api = "jacfwd(f, argnums)(*args)"
        nums = check_argnums(argnums, len(args), api)
        flat, spec = tree_flatten(args)
        starts = [0]
        for child in spec.children:
            starts.append(starts[-1] + child.num_leaves)
        groups, wrt = [], []  # groups index into wrt, the flat positions of the differentiated leaves
        for i in nums:
            groups.append((spec.children[i], len(wrt), len(wrt) + starts[i + 1] - starts[i]))
            wrt.extend(range(starts[i], starts[i + 1]))
        blocks, outputs, out_spec, aux = forward_blocks(func, flat, spec, wrt, kwargs, has_aux, api, randomness)
        jac = _jacobian_tree(blocks, outputs, [flat[j] for j in wrt], out_spec, groups,
                             not isinstance(argnums, tuple))
        return (jac, aux) if has_aux else jac

    return wrapper


def hessian(func, argnums=0):
    """The Hessian of a scalar ``func`` with respect to ``args[argnums]``, as a function.

    For ``x`` of shape ``s`` the result has shape ``s + s`` (for a non-scalar output of shape ``o``:
    ``o + s + s``); tuple ``argnums`` and pytree inputs give nested blocks as ``torch.func.hessian``,
    ``H[i][j] = d^2 f / d x_i d x_j``.

    Computed as torch does, ``jacfwd(jacrev(f))`` (forward-over-reverse). Cost: one batched forward-mode
    pass that carries all n basis tangents through ``func`` and its backward pass at once (``vmap``).

    Example::

        >>> chainrule.func.hessian(lambda x: (x ** 3).sum())(chainrule.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    return jacfwd(jacrev(func, argnums), argnums)
