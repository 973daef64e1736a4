"""Jacobians and Hessians as functions: ``jacrev``, ``jacfwd`` and ``hessian`` (as ``torch.func``).

Cost model, for f: R^n -> R^m (a "pass" is one sweep over f's graph, about the cost of evaluating f):

- ``jacrev``: 1 forward pass, then m backward passes through the one retained graph, a row each;
- ``jacfwd``: n forward-mode passes (f re-run with one basis tangent each), a column each;
- ``hessian`` of f: R^n -> R: 1 forward pass, 1 differentiable backward pass building the gradient's graph,
  then n backward passes through that retained graph (reverse-over-reverse).

Prefer ``jacrev`` when m < n and ``jacfwd`` when n < m. Each row and each column is one call of a single
function (``Trace.pullback`` / ``push_forward``), the unit a later ``vmap`` will batch.
"""

from __future__ import annotations

import functools

from .._backend import xp
from ..tensor import Tensor, _wrap
from .pytree import tree_flatten, tree_unflatten
from .transforms import Trace, basis, check_argnums, check_outputs, check_primal, push_forward, regroup

__all__ = ["jacrev", "jacfwd", "hessian"]


def _join(parts: list, dim: int, part_shape: tuple, shape: tuple, dtype) -> Tensor | None:
    """Stack per-row (``dim`` 0) or per-column (``dim`` -1) results into one block of ``shape``.

    None parts are zeros; None when every part is (the output does not depend on that input).
    """
    if all(p is None for p in parts):
        return None
    # NOTE: imported here because func is imported while the ops package is still initialising.
    from ..ops import stack
    parts = [_wrap(xp.zeros(part_shape, dtype=dtype)) if p is None else p for p in parts]
    return stack(parts, dim).reshape(shape)


def reverse_blocks(trace: Trace) -> list:
    """``blocks[i][j] = d outputs[i] / d inputs[j]`` (shape ``o.shape + x.shape``; None: independent).

    One backward pass through the trace's retained graph per output element.
    """
    blocks = []
    for i, o in enumerate(trace.outputs):
        rows = [[] for _ in trace.inputs]
        for k in range(o.data.size if o.requires_grad else 0):
            cotangents = [None] * len(trace.outputs)
            cotangents[i] = basis(o, k)
            for j, g in enumerate(trace.pullback(cotangents)):
                rows[j].append(g)
        blocks.append([_join(r, 0, x.data.shape, o.data.shape + x.data.shape, x.data.dtype)
                       for r, x in zip(rows, trace.inputs, strict=True)])
    return blocks


def forward_blocks(func, flat: list, spec, wrt: list, kwargs: dict, has_aux: bool, api: str) -> tuple:
    """``(blocks, outputs, out_spec, aux)`` with ``blocks[i][j] = d outputs[i] / d flat[wrt[j]]`` (None:
    independent), from one forward-mode pass of ``func(*tree_unflatten(flat, spec))`` per input element."""
    for j in wrt:
        check_primal(flat[j], api)
    columns = [[] for _ in wrt]
    result = None
    for c, j in enumerate(wrt):
        for k in range(flat[j].data.size):
            tangents = [None] * len(flat)
            tangents[j] = basis(flat[j], k)
            result = push_forward(func, flat, spec, tangents, kwargs, has_aux, api)
            columns[c].append(result[2])
    if result is None:  # every differentiated input is empty: still evaluate f for the output's shapes
        result = push_forward(func, flat, spec, [None] * len(flat), kwargs, has_aux, api)
    outputs, out_spec, _, aux = result
    blocks = [[_join([col[i] for col in cols], -1, o.data.shape, o.data.shape + flat[j].data.shape,
                     o.data.dtype) for cols, j in zip(columns, wrt, strict=True)]
              for i, o in enumerate(outputs)]
    return blocks, outputs, out_spec, aux


def _jacobian_tree(blocks: list, outputs: list, inputs: list, out_spec, groups: list, single: bool):
    """``blocks[i][j]`` (None: zeros) arranged as torch.func does: the output's structure outside, then a
    tuple over argnums (unless ``single``), then each argument's structure."""
    rows = [[_wrap(xp.zeros(o.data.shape + x.data.shape, dtype=x.data.dtype)) if b is None else b
             for b, x in zip(row, inputs, strict=True)] for row, o in zip(blocks, outputs, strict=True)]
    return tree_unflatten([regroup(row, groups, single) for row in rows], out_spec)


def jacrev(func, argnums=0, *, has_aux: bool = False):
    """The Jacobian of ``func`` with respect to ``args[argnums]``, computed in reverse mode, as a function.

    ``jacrev(f)(*args)`` has, for each output leaf ``o`` and differentiated input leaf ``x``, a block of
    shape ``o.shape + x.shape``; blocks are arranged as the output's structure, then (for a tuple
    ``argnums``) a tuple over arguments, then each argument's structure. With ``has_aux``, ``func`` returns
    ``(output, aux)`` and the result is ``(jacobian, aux)``.

    Cost: one forward pass of ``func``, then one backward pass per output element through the retained
    graph (m passes for m outputs; ``func`` is not re-run). Prefer :func:`jacfwd` when outputs outnumber
    inputs.

    Example::

        >>> A = chainrule.randn(3, 2, dtype=chainrule.float64)
        >>> chainrule.func.jacrev(lambda x: A @ x)(chainrule.zeros(2, dtype=chainrule.float64))  # == A
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        api = "jacrev(f, argnums)(*args)"
        trace = Trace(func, args, kwargs, check_argnums(argnums, len(args), api), has_aux, api)
        check_outputs(trace.outputs, api)
        jac = _jacobian_tree(reverse_blocks(trace), trace.outputs, trace.inputs, trace.out_spec, trace.groups,
                             not isinstance(argnums, tuple))
        return (jac, trace.released(trace.aux)) if has_aux else jac

    return wrapper


def jacfwd(func, argnums=0, has_aux: bool = False):
    """The Jacobian of ``func`` with respect to ``args[argnums]``, computed in forward mode, as a function.

    Same result and structure as :func:`jacrev` (blocks of shape ``output.shape + input.shape``). Works for
    functions with forward-mode rules only (e.g. a custom ``Function`` with ``jvp`` but no ``backward``).

    Cost: one forward-mode pass of ``func`` per input element (n passes for n inputs; each re-runs
    ``func`` with one basis tangent, about 2-3 times the cost of ``func``). Prefer :func:`jacrev` when
    inputs outnumber outputs.

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
        blocks, outputs, out_spec, aux = forward_blocks(func, flat, spec, wrt, kwargs, has_aux, api)
        jac = _jacobian_tree(blocks, outputs, [flat[j] for j in wrt], out_spec, groups,
                             not isinstance(argnums, tuple))
        return (jac, aux) if has_aux else jac

    return wrapper


def hessian(func, argnums=0):
    """The Hessian of a scalar ``func`` with respect to ``args[argnums]``, as a function.

    For ``x`` of shape ``s`` the result has shape ``s + s`` (for a non-scalar output of shape ``o``:
    ``o + s + s``); tuple ``argnums`` and pytree inputs give nested blocks as ``torch.func.hessian``,
    ``H[i][j] = d^2 f / d x_i d x_j``.

    Cost: one forward pass of ``func``, one differentiable backward pass (the gradient and its graph), then
    one backward pass through that retained graph per input element: n cheap passes, ``func`` is never
    re-run. NOTE: torch computes ``jacfwd(jacrev(f))`` (forward-over-reverse); without ``vmap`` that would
    re-run ``func`` n times, so this is ``jacrev(jacrev(f))``: equal for twice-differentiable ``func``.

    Example::

        >>> chainrule.func.hessian(lambda x: (x ** 3).sum())(chainrule.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    return jacrev(jacrev(func, argnums), argnums)
