"""The reverse-mode engine: walk the graph from the outputs back to the leaves, once, without recursion.

Order: every node has a creation sequence number, and a node can only consume tensors made before it, so
visiting the reachable nodes by decreasing sequence number is a reverse topological order. The reachable
set is found with an explicit stack, so a chain of a million ops needs no recursion. A leaf's gradient is
accumulated (and its post-accumulate hooks run) as soon as the last edge into it is done, not at the end, so
data-parallel training can start communicating it while the rest of the pass runs. Each node's VJP runs
with grad mode set to ``create_graph``: the same rules give plain gradients cheaply or a differentiable
graph for higher derivatives. Gradients that meet at a fan-out are summed (out of place, never into a
tracked tensor).
"""

from __future__ import annotations

import operator
import sys

from .. import _state
from .._backend import QUIET, errstate_var, xp
from ..ops.shape import sum_to
from ..tensor import Tensor, _wrap
from .anomaly import check_gradients
from .graph import FREED_MESSAGE, Node

# NOTE: reference counts tell when a gradient buffer can be stolen instead of copied; CPython only.
_getrefcount = sys.getrefcount if sys.implementation.name == "cpython" else None


def _as_tuple(value) -> tuple:
    if value is None:
        return ()
    if isinstance(value, Tensor):
        return (value,)
    return tuple(value)


def _root_gradients(outputs: tuple, grad_outputs, op: str) -> list:
    grads = list(_as_tuple(grad_outputs)) if grad_outputs is not None else [None] * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"{op}: got {len(grads)} gradients for {len(outputs)} outputs; pass one per output")
    for i, (out, g) in enumerate(zip(outputs, grads)):
        if not isinstance(out, Tensor):
            raise TypeError(f"{op}: output {i} is a {type(out).__name__}, expected a Tensor")
        if not out.requires_grad:
            raise RuntimeError(f"{op}: element {i} of tensors does not require grad and does not have a grad_fn "
                               "(was it computed under no_grad, or from tensors without requires_grad=True?)")
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for scalar outputs; output {i} has "
                                   f"shape {tuple(out._data.shape)}, so pass gradient= of that shape")
            grads[i] = _wrap(xp.ones_like(out._data))
        else:
            if not isinstance(g, Tensor):
                g = _wrap(xp.asarray(g, dtype=out._data.dtype))
            if g._data.shape != out._data.shape:
                raise RuntimeError(f"{op}: mismatch in shape: gradient {i} has shape {tuple(g._data.shape)} and "
                                   f"output {i} has shape {tuple(out._data.shape)}")
            grads[i] = g
    return grads


def _reachable(roots: list, leaf_edges: dict) -> list:
    """Nodes reachable from ``roots``, sorted so that consumers come before producers.

    Counts into ``leaf_edges`` how many edges of those nodes lead to each leaf: ``{id(leaf): count}``.
    """
    # NOTE: nodes are set members and dict keys themselves (hashed by identity in C, no id() calls)
    seen = set(roots)
    stack = list(roots)
    while stack:
        for edge in stack.pop().next:
            if edge is None:
                continue
            if isinstance(edge, Tensor):
                leaf_edges[id(edge)] = leaf_edges.get(id(edge), 0) + 1
                continue
            parent = edge[0] if edge.__class__ is tuple else edge
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return sorted(seen, key=_SEQ, reverse=True)


_SEQ = operator.attrgetter("seq")


def _prune(order: list, targets: set, leaf_targets: set) -> set:
    """ids of nodes from which some target (a node id or a leaf id) can be reached."""
    useful = set()
    for node in reversed(order):  # producers first
        nid = id(node)
        if nid in targets:
            useful.add(nid)
            continue
        for edge in node.next:
            if edge is None:
                continue
            if isinstance(edge, Tensor):
                if id(edge) in leaf_targets:
                    useful.add(nid)
                    break
            elif id(edge[0] if edge.__class__ is tuple else edge) in useful:
                useful.add(nid)
                break
    return useful


def _zeros_for(node: Node, index: int) -> Tensor:
    shape, dtype = node.out_meta[index]
    return _wrap(xp.zeros(shape, dtype=dtype))


def _run_hooks(hooks, g):
    for hook in hooks:
        result = hook(g)
        if result is not None:
            g = result
    return g


def _replaced(node: Node, hook, old: tuple, new, what: str) -> tuple:
    """``new`` (a hook's return value) as the gradients replacing ``old``, checked for length."""
    if new is None:
        return old
    new = tuple(new)
    if len(new) != len(old):
        raise RuntimeError(f"{node.name()}: hook {getattr(hook, '__name__', hook)!r} returned {len(new)} {what}, "
                           f"expected {len(old)}")
    return new


def _run_pre_hooks(node: Node, hooks: list, node_grads: list) -> list:
    """``grad_fn.register_prehook`` hooks: ``hook(grad_outputs)`` before the node's VJP."""
    grads = tuple(node_grads)
    for hook in hooks:
        grads = _replaced(node, hook, grads, hook(grads), "grad_outputs")
    return list(grads)


def _run_post_hooks(node: Node, hooks: list, result: tuple, node_grads: list) -> tuple:
    """``grad_fn.register_hook`` hooks: ``hook(grad_inputs, grad_outputs)`` on the VJP's reduced gradients."""
    grad_inputs = []
    for edge, gi, shape in zip(node.next, result, node.in_shapes or (None,) * len(result)):
        if edge is None or gi is None:
            gi = None
        else:
            gi = gi if isinstance(gi, Tensor) else _wrap(xp.asarray(gi))
            if shape is not None and gi._data.shape != shape:
                gi = sum_to(gi, shape)
        grad_inputs.append(gi)
    grad_inputs, grad_outputs = tuple(grad_inputs), tuple(node_grads)
    for hook in hooks:
        grad_inputs = _replaced(node, hook, grad_inputs, hook(grad_inputs, grad_outputs), "grad_inputs")
    return grad_inputs


def run_backward(outputs: tuple, grads: list, retain_graph: bool, create_graph: bool,
                 inputs: tuple | None = None, op: str = "backward") -> dict | None:
    """Backpropagate ``grads`` from ``outputs``.

    With ``inputs`` None, gradients accumulate into the ``.grad`` of every leaf reached. Otherwise only the
    gradients of ``inputs`` are computed and returned as ``{id(tensor): grad}`` (nothing is accumulated).
    """
    capture = inputs is not None
    if _state.interpreter is not None:
        _state.interpreter.mark("backward")
    buffers: dict = {}   # node -> list of gradients, one per output
    leaf_grads: dict = {}  # id(leaf) -> [leaf, gradient]
    leaf_edges: dict = {}  # id(leaf) -> edges into it not yet backpropagated
    roots = []
    for out, g in zip(outputs, grads):
        node = out.grad_fn
        if node is None:
            _add_leaf(leaf_grads, out, g)
            continue
        _add_node(buffers, node, out._out_nr, g)
        roots.append(node)
    order = _reachable(roots, leaf_edges)

    captured: dict = {}
    wanted_outputs: dict = {}
    useful = None
    if capture:
        leaf_targets = {id(t) for t in inputs if t.grad_fn is None}
        for t in inputs:
            if t.grad_fn is not None:
                wanted_outputs.setdefault(id(t.grad_fn), []).append((t._out_nr, t))
        useful = _prune(order, set(wanted_outputs), leaf_targets)

    prev_mode = _state.grad_enabled
    _state.grad_enabled = create_graph
    # NOTE: inf/nan are values, as in torch: NumPy's warnings are off for the whole pass (one context write).
    quiet = errstate_var.set(QUIET)
    try:
        for node in order:
            node_grads = buffers.pop(node, None)
            if node_grads is None:
                continue
            if node.hooks:
                for index, hooks in node.hooks.items():
                    if node_grads[index] is not None:
                        node_grads[index] = _run_hooks(hooks, node_grads[index])
            if node.retained:
                for index, ref in node.retained.items():
                    tensor = ref()
                    if tensor is not None and node_grads[index] is not None:
                        tensor._grad = node_grads[index] if create_graph else node_grads[index].detach()
            if capture:
                nid = id(node)
                for index, tensor in wanted_outputs.get(nid, ()):
                    if node_grads[index] is not None:
                        captured[id(tensor)] = node_grads[index]
                if nid not in useful:
                    continue
            done = _backprop_node(node, node_grads, buffers, leaf_grads, leaf_edges, useful)
            if done:
                node_grads = None  # NOTE: released first, so that a leaf can take over a buffer it referenced
                for lid in done:
                    _finish_leaf(leaf_grads, lid, create_graph, captured if capture else None)
            if not retain_graph:
                node.release()
    finally:
        errstate_var.reset(quiet)
        _state.grad_enabled = prev_mode

    # NOTE: leaves still waiting here hang off nodes that got no gradient (or were pruned); they are done now.
    for lid in list(leaf_grads):
        _finish_leaf(leaf_grads, lid, create_graph, captured if capture else None)
    return captured if capture else None


def _finish_leaf(leaf_grads: dict, lid: int, create_graph: bool, captured: dict | None) -> None:
    """Run the leaf's hooks on its complete gradient, then capture or accumulate it."""
    leaf, g = leaf_grads.pop(lid)
    if leaf._hooks:
        with _state.set_grad_enabled(create_graph):
            g = _run_hooks(leaf._hooks, g)
    if captured is not None:
        captured[lid] = g
    else:
        _accumulate(leaf, g, create_graph)


def _backprop_node(node: Node, node_grads: list, buffers: dict, leaf_grads: dict, leaf_edges: dict,
                   useful) -> list | None:
    """Run ``node``'s VJP and route its gradients; returns the ids of leaves whose gradient is now complete."""
    op = node.op
    if node.freed:
        raise RuntimeError(FREED_MESSAGE.format(name=op.name))
    if node.versions or node.input_versions is not None:
        node.check_versions()
    fn_hooks = node.fn_hooks
    if fn_hooks is not None:
        node_grads = _run_pre_hooks(node, fn_hooks[0], node_grads)
    if node.out_meta is None:
        result = op.vjp(node, node_grads[0])
    else:
        if getattr(node, "materialize_grads", True):
            node_grads = [g if g is not None else _zeros_for(node, i) for i, g in enumerate(node_grads)]
        result = op.vjp(node, *node_grads)
    if result.__class__ is not tuple:
        result = (result,)
    edges = node.next
    if len(result) != len(edges):
        raise RuntimeError(f"{op.name}: its backward returned {len(result)} gradients, but the op has "
                           f"{len(edges)} tensor inputs")
    if _state.anomaly_enabled:
        check_gradients(node, node_grads, result)
    if fn_hooks is not None and fn_hooks[1]:
        result = _run_post_hooks(node, fn_hooks[1], result, node_grads)
    in_shapes = node.in_shapes
    done = None
    for i, edge in enumerate(edges):
        gi = result[i]
        if edge is None:
            continue
        leaf = isinstance(edge, Tensor)
        if leaf:
            lid = id(edge)
            leaf_edges[lid] -= 1
            if leaf_edges[lid] == 0 and (gi is not None or lid in leaf_grads):
                done = [lid] if done is None else done + [lid]
        if gi is None:
            continue
        if not isinstance(gi, Tensor):
            gi = _wrap(xp.asarray(gi))
        if in_shapes is not None and gi._data.shape != in_shapes[i]:
            gi = sum_to(gi, in_shapes[i])
        if not leaf:
            parent, index = edge if edge.__class__ is tuple else (edge, 0)
            if useful is not None and id(parent) not in useful:
                continue
            _add_node(buffers, parent, index, gi)
        else:
            if gi._data.shape != edge._data.shape:
                raise RuntimeError(f"{op.name}: its backward returned a gradient of shape {tuple(gi._data.shape)} "
                                   f"for an input of shape {tuple(edge._data.shape)}")
            _add_leaf(leaf_grads, edge, gi)
    return done


def _add_node(buffers: dict, node: Node, index: int, g: Tensor) -> None:
    slots = buffers.get(node)
    if slots is None:
        slots = buffers[node] = [None] * (len(node.out_meta) if node.out_meta is not None else 1)
    slots[index] = g if slots[index] is None else slots[index] + g


def _add_leaf(leaf_grads: dict, leaf: Tensor, g: Tensor) -> None:
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, g]
    else:
        entry[1] = entry[1] + g


def _accumulate(leaf: Tensor, g: Tensor, create_graph: bool) -> None:
    if g._data.dtype != leaf._data.dtype:
        g = g.to(leaf.dtype)
    if create_graph:
        leaf._grad = g if leaf._grad is None else leaf._grad + g
    elif _state.interpreter is not None:
        # NOTE: under a transform the accumulation is an op, so that a recorder sees it (the compiler replays it)
        leaf._grad = g.detach().clone() if leaf._grad is None else (leaf._grad + g).detach()
    elif leaf._grad is None:
        # NOTE: .grad must never alias another tensor's gradient or a view of one, so it is a copy unless the
        # engine holds the only reference to a gradient that owns its memory (torch steals such buffers too).
        leaf._grad = g.detach() if _exclusively_owned(g) else _wrap(g._data.copy())
    elif leaf._grad.requires_grad:
        leaf._grad = (leaf._grad + g).detach()
    else:
        xp.add(leaf._grad._data, g._data, out=leaf._grad._data)
        leaf._grad._counter()[0] += 1
    if leaf._post_hooks:
        for hook in leaf._post_hooks:
            hook(leaf)


# References to a leaf's gradient tensor while _exclusively_owned runs: the caller's local (popped from the
# engine's table), _accumulate's and _exclusively_owned's parameters, and getrefcount's argument. Its array: the
# tensor's slot and getrefcount's argument (and the local ``array``). The base of a view: the view's slot, the
# local ``base`` and getrefcount's argument.
_ENGINE_REFS_TO_GRAD = 4
_ENGINE_REFS_TO_ARRAY = 3
_ENGINE_REFS_TO_BASE = 3


def _exclusively_owned(g: Tensor) -> bool:
    array = g._data
    if _getrefcount is None or not array.flags.writeable:
        return False
    base = array.base
    # NOTE: a row-major view of a whole array nobody else holds (a product computed transposed, then transposed
    # back: a linear layer's weight gradient) is as good as that array.
    if base is not None and (base.__class__ is not xp.ndarray or base.size != array.size
                             or not array.flags.c_contiguous or _getrefcount(base) > _ENGINE_REFS_TO_BASE):
        return False
    return _getrefcount(g) <= _ENGINE_REFS_TO_GRAD and _getrefcount(array) <= _ENGINE_REFS_TO_ARRAY


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False, grad_variables=None,
             inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves (``chainrule.autograd.backward``).

    ``grad_tensors``: the gradient w.r.t. each output (needed unless it is a scalar). ``retain_graph``
    (default: ``create_graph``) keeps saved values for another backward. ``inputs``: accumulate only into these.
    """
    outputs = _as_tuple(tensors)
    grads = _root_gradients(outputs, grad_tensors if grad_tensors is not None else grad_variables, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None:
        run_backward(outputs, grads, retain_graph, create_graph)
        return
    inputs = _as_tuple(inputs)
    captured = run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs)
    for t in inputs:
        g = captured.pop(id(t), None)
        if g is not None:
            _accumulate(t, g, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False, only_inputs=True,
         allow_unused=None, is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` w.r.t. ``inputs``, returned (not accumulated into ``.grad``).

    Shapes: one gradient per input, each of its input's shape. With ``create_graph=True`` the results are
    themselves differentiable. An input the outputs do not depend on raises unless ``allow_unused=True``
    (then its gradient is None, or zeros with ``materialize_grads=True``).
    """
    outs = _as_tuple(outputs)
    ins = _as_tuple(inputs)
    if not ins:
        raise RuntimeError("grad: the inputs argument is empty; pass the tensors to differentiate with respect to")
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: input {i} is a {type(t).__name__}, expected a Tensor")
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {tuple(t._data.shape)}, {t.dtype}) does not require grad; "
                               "create it with requires_grad=True")
    if allow_unused is None:
        allow_unused = materialize_grads
    if is_grads_batched:
        raise RuntimeError("grad: is_grads_batched=True is not supported; use chainrule.func.vmap over a vjp")
    grads = _root_gradients(outs, grad_outputs, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    captured = run_backward(outs, grads, retain_graph, create_graph, inputs=ins, op="grad")
    result = []
    for i, t in enumerate(ins):
        g = captured.get(id(t))
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad: input {i} (shape {tuple(t._data.shape)}) appears to not have been used "
                                   "in the graph; set allow_unused=True if this is the desired behavior")
            if materialize_grads:
                g = _wrap(xp.zeros_like(t._data))
        elif g._data.dtype != t._data.dtype:
            g = g.to(t.dtype)
        result.append(g)
    return tuple(result)


def _tensor_backward(self, gradient=None, retain_graph=None, create_graph: bool = False, inputs=None) -> None:
    """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see :func:`chainrule.autograd.backward`)."""
    backward(self, gradient, retain_graph, create_graph, inputs=inputs)


Tensor.backward = _tensor_backward
