"""``vmap``: write a function for one sample, run it on a whole batch at once (as ``torch.func.vmap``).

``vmap(f)(xs)`` equals stacking ``f(x)`` over the slices ``x`` of ``xs``, but runs every op once on the whole
batch (see :mod:`chainrule.func.batching` for how). It composes with the other transforms in both orders:
``vmap(grad(f))`` gives per-sample gradients, ``grad(vmap(f))`` differentiates a batched computation, and
``jacrev``/``jacfwd`` push a whole basis through one batched backward/forward pass.
"""

from __future__ import annotations

import functools

from ..ops import _primitive  # NOTE: a module, not names: ops may still be initialising
from ..ops.join import cat
from ..tensor import Tensor, _normalize_dim
from .batching import Level
from .pytree import TreeSpec, tree_flatten, tree_unflatten

__all__ = ["vmap"]

_RANDOMNESS = ("error", "different", "same")


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """Vectorise ``func`` over a batch dimension of its inputs: ``vmap(f)(xs)[i] == f(xs[i])``.

    ``in_dims``: where each positional argument's batch dimension is: an int (the same for every argument),
    or a tuple with one entry per argument, each an int, None (not batched: every sample sees the whole
    argument) or a tuple/list/dict matching that argument's structure; negative dims count from the end.
    Keyword arguments are never batched. All batched inputs must have the same batch size.

    ``out_dims``: where the batch dimension goes in each output (same forms, matching the outputs); an
    output that does not depend on the batch is broadcast along it (None keeps it unbatched).

    ``randomness``: what random ops (``rand``, ``randn``, ``randint``, ``normal``, ``*_like``, ...) inside
    ``func`` do: ``'error'`` (default) raises, ``'different'`` draws independently per sample, ``'same'``
    draws once for the whole batch. ``chunk_size``: process the batch ``chunk_size`` samples at a time (less
    memory, same results; ``1`` is a plain loop).

    Inside ``func`` each tensor stands for a whole batch: reading its values in Python (``.item()``,
    ``if x > 0:``, ``.numpy()``) and in-place ops on batched tensors raise RuntimeError.

    Shapes: for ``xs`` of shape ``(B, *s)`` and ``f: s -> t``, ``vmap(f)(xs)`` has shape ``(B, *t)``.

    Example::

        >>> xs = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> chainrule.vmap(chainrule.dot, in_dims=(0, None))(xs, chainrule.tensor([1.0, 1.0]))
        tensor([3., 7.])
        >>> chainrule.func.vmap(chainrule.func.grad(lambda x: (x ** 2).sum()))(xs)   # per-sample gradients
        tensor([[2., 4.],
                [6., 8.]])
    """
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got "
                           f"{randomness!r}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size!r})")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        name = getattr(func, "__name__", repr(func))
        api = f"vmap({name}, in_dims={in_dims!r}, ...)(<inputs>)"
        return _vmap_call(func, args, kwargs, in_dims, out_dims, randomness, chunk_size, name, api)

    return wrapper


def _vmap_call(func, args: tuple, kwargs: dict, in_dims, out_dims, randomness: str, chunk_size, name: str,
               api: str):
    if not args:
        raise ValueError(f"{api}: got no inputs. Maybe you forgot to add inputs, or you are trying to vmap over "
                         "a function with no inputs. The latter is unsupported.")
    if not (_is_dim(in_dims) or isinstance(in_dims, tuple)):
        raise ValueError(f"{api}: expected `in_dims` to be int or a (potentially nested) tuple matching the "
                         f"structure of inputs, got: {type(in_dims).__name__}.")
    if isinstance(in_dims, tuple) and len(in_dims) != len(args):
        raise ValueError(f"{api}: expected one in_dim per positional argument: in_dims has {len(in_dims)} "
                         f"entries but {len(args)} arguments were given.")
    flat, spec = tree_flatten(args)
    dims = _per_leaf(in_dims, args, spec, "in_dims", api)
    physical, sizes = [], []
    for x, d in zip(flat, dims, strict=True):
        if d is None:
            physical.append(None)
            continue
        if not isinstance(x, Tensor):
            raise ValueError(f"{api}: Got in_dim={d} for an input but the input is of type {type(x).__name__}. "
                             "We cannot vmap over non-Tensor arguments, please use None as the respective in_dim")
        n = x._data.ndim
        if not -n <= d < n:
            raise ValueError(f"{api}: Got in_dim={d} for some input, but that input is a Tensor of dimensionality "
                             f"{n} so expected in_dim to satisfy -{n} <= in_dim < {n}.")
        sizes.append(x._data.shape[d])
        physical.append(x.movedim(d, 0))
    if not sizes:
        raise ValueError(f"{api}: at least one input must be batched, but every in_dim is None (in_dims="
                         f"{in_dims!r}).")
    if len(set(sizes)) > 1:
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension (in_dims={in_dims!r})")
    size = sizes[0]
    step = size if chunk_size is None else chunk_size
    same_draws: list = []
    chunks = []
    for start in range(0, size, step) if size else (0,):
        count = min(step, size - start)
        part = [p if p is None or count == size else p.narrow(0, start, count) for p in physical]
        chunks.append(_run(func, flat, part, spec, kwargs, count, randomness, same_draws, name, api) + (count,))
    outputs, out_spec = chunks[0][0], chunks[0][1]
    if isinstance(out_dims, tuple) and len(out_dims) == 1 and out_spec.is_leaf():
        out_dims = out_dims[0]
    out_flat_dims = _per_leaf(out_dims, tree_unflatten(outputs, out_spec), out_spec, "out_dims", api)
    result = []
    for k, d in enumerate(out_flat_dims):
        batched = any(chunk[2][k] for chunk in chunks)
        # NOTE: an output may depend on the batch in one chunk only (e.g. a random draw); expand the others
        parts = [_primitive.materialize(values[k], is_batched[k] or not batched, count)
                 for values, _, is_batched, count in chunks]
        result.append(_place(parts, batched, d, size, name, api))
    return tree_unflatten(result, out_spec)


def _run(func, flat: list, physical: list, spec: TreeSpec, kwargs: dict, size: int, randomness: str,
         same_draws: list, name: str, api: str) -> tuple:
    """One chunk: ``func`` on examples under a new level; the physical outputs (batch leading), their spec and
    whether each is batched."""
    level = Level(size, randomness, same_draws)
    examples = [x if p is None else level.example(p) for x, p in zip(flat, physical, strict=True)]
    with level:
        out = func(*tree_unflatten(examples, spec), **kwargs)
    outputs, out_spec = tree_flatten(out)
    values, batched = [], []
    for o in outputs:
        p = level.physical(o) if isinstance(o, Tensor) else None
        values.append(o if p is None else p)
        batched.append(p is not None)
    return values, out_spec, batched


def _place(parts: list, batched: bool, d, size: int, name: str, api: str):
    """One output's chunks (physical, batch leading) joined, with the batch moved to ``d``."""
    if d is None:
        if batched:
            raise ValueError(f"{api}: `{name}` can not return a batched tensor when out_dim is None (only outputs "
                             "that are the same for every sample can be returned unbatched)")
        return parts[0]
    if not isinstance(parts[0], Tensor):
        raise ValueError(f"{api}: `{name}` must only return Tensors, got type {type(parts[0]).__name__}. Did you "
                         "mean to set out_dims= to None for output?")
    if batched:
        out = parts[0] if len(parts) == 1 else cat(parts, 0)
    else:
        out = _primitive.materialize(parts[0], False, size)
    n = out._data.ndim
    if not -n <= d < n:
        raise ValueError(f"{api}: Got out_dim={d} for an output of dimensionality {n - 1} per sample, so expected "
                         f"out_dim to satisfy -{n} <= out_dim < {n}.")
    return out.movedim(0, _normalize_dim(d, n, "vmap"))


def _is_dim(d) -> bool:
    return isinstance(d, int) and not isinstance(d, bool)


def _per_leaf(dims, tree, spec: TreeSpec, what: str, api: str) -> list:
    """``dims`` (an int, None, or a structure that is a prefix of ``tree``'s) as one dim per leaf of ``tree``."""
    flat: list = []
    stack = [(dims, tree)]
    while stack:
        d, node = stack.pop()
        if d is None or _is_dim(d):
            flat.extend([d] * len(tree_flatten(node)[0]))
            continue
        if isinstance(d, dict) and isinstance(node, dict) and set(d) == set(node):
            keys = list(node)
        elif (isinstance(d, (tuple, list)) and isinstance(node, (tuple, list)) and len(d) == len(node)
              and isinstance(d, tuple) == isinstance(node, tuple)):
            keys = range(len(node))
        else:
            raise ValueError(f"{api}: {what} is not compatible with the structure of the "
                             f"{'inputs' if what == 'in_dims' else 'outputs'}: {what} has structure "
                             f"{tree_flatten(dims)[1]} but they have structure {spec}; give an int or None per "
                             "tensor (or one for a whole sub-structure).")
        stack.extend((d[k], node[k]) for k in reversed(list(keys)))
    return flat
