"""The recorded graph read back for people: its nodes in order, a name and a value for each wire, and the
gradient each wire carries backward.

A *wire* is a value in the graph: a leaf tensor (key ``id(leaf)``) or output ``i`` of a node (key
``(id(node), i)``). ``draw`` and ``explain`` both read a graph through :class:`GraphView`. Gradients come
from a real backward (``autograd.grad`` with ``retain_graph=True``, so ``.grad`` is left alone): hooks on
the nodes catch the upstream gradient of every wire, and each node's VJP, applied to it once more, gives
what flows along each input edge (what the engine sums at a fan-out).
"""

from __future__ import annotations

import functools

from .. import _state
from .._backend import xp
from ..autograd.anomaly import set_detect_anomaly
from ..autograd.engine import grad as autograd_grad
from ..autograd.graph import edge_source
from ..ops._primitive import Primitive, _Scratch
from ..ops.shape import sum_to
from ..tensor import Tensor, _wrap
from . import composite
from .record import recorded_constant, recorded_value

_LEAF_NAMES = ("x", "y", "z", "w", "u", "v", "a", "b", "c", "d")


def wire_of(t: Tensor):
    """The key of the wire tensor ``t`` sits on."""
    return id(t) if t.grad_fn is None else (id(t.grad_fn), t._out_nr)


def edge_wire(edge):
    """The key of the wire an edge of ``node.next`` comes from (a leaf's id or ``(id(parent), index)``)."""
    source = edge_source(edge)
    return id(edge) if source is None else (id(source[0]), source[1])


def reachable(roots: list) -> list:
    """The nodes reachable from ``roots``, consumers first (the engine's order: newest first)."""
    seen = {id(n): n for n in roots}
    stack = list(roots)
    while stack:
        for edge in stack.pop().next:
            source = edge_source(edge)
            if source is not None and id(source[0]) not in seen:
                seen[id(source[0])] = source[0]
                stack.append(source[0])
    return sorted(seen.values(), key=lambda n: -n.seq)


def n_outputs(node) -> int:
    return len(node.out_meta) if node.out_meta is not None else 1


class GraphView:
    """The graph behind ``outputs``, with names and values for its wires.

    ``nodes``: reverse topological order (consumers first); ``leaves``: in order of first use; ``consumers``:
    wire key -> ``[(node, input index), ...]`` in forward order; ``names``: wire key -> name, taken from
    ``params`` (name -> tensor), then from the variables of ``frame`` (the caller's code), else ``x, y, ...``
    for leaves, ``f`` for the output and ``t1, t2, ...`` in between.
    """

    def __init__(self, outputs: tuple, params=None, frame=None, expand: bool = False, model=None):
        self.outputs = outputs
        self.nodes = reachable([o.grad_fn for o in outputs if o.grad_fn is not None])
        self.leaves = [o for o in outputs if o.grad_fn is None and o.requires_grad]
        self.consumers: dict = {}
        seen = {id(t) for t in self.leaves}
        for node in reversed(self.nodes):
            for i, edge in enumerate(node.next):
                if edge is None:
                    continue
                if edge_source(edge) is None and id(edge) not in seen:
                    seen.add(id(edge))
                    self.leaves.append(edge)
                self.consumers.setdefault(edge_wire(edge), []).append((node, i))
        self.freed = any(node.freed for node in self.nodes)
        self._by_id = {id(node): node for node in self.nodes}
        self._by_id.update((id(t), t) for t in self.leaves)
        self.known: dict = {}   # wire -> a tensor on it that the user holds (its data survives backward)
        self.groups: list = []
        self._name(params, frame)   # NOTE: a first pass for the constants' names, which the groups read
        self.groups = [] if expand else composite.groups(self, model)
        self.group_of = {id(n): g for g in self.groups for n in g.members}
        # units: what explain, draw and html show, consumers first: the nodes, with each group as one gate
        self.units = [g for g in self.groups] + [n for n in self.nodes if id(n) not in self.group_of]
        self.units.sort(key=lambda u: -u.seq)
        self.names = self._name(params, frame)
        self.recovered = self._recover()   # wire -> value recomputed from its node's inputs
        self.upstream: dict = {}   # wire -> total gradient arriving at it
        self.edge_grads: dict = {}   # (id(node), input index) -> what the node sends along that edge
        self.raw_grads: dict = {}   # id(node) -> its VJP's results before broadcasting is undone

    # -- names -------------------------------------------------------------------------------------------
    def wires(self) -> list:
        """Every wire: the leaves, then node outputs in forward order."""
        outs = [(id(n), i) for n in reversed(self.nodes) for i in range(n_outputs(n))]
        return [id(t) for t in self.leaves] + outs

    def _name(self, params, frame) -> dict:
        wires = set(self.wires())
        names: dict = {}
        self.constant_names: dict = {}   # id(tensor) -> name, for named tensors that need no gradient
        self.constants: dict = {}   # id(tensor) -> tensor, the same ones
        sources = [list(params.items()) if params else []]
        if frame is not None:
            sources.append([(name, t) for name, t in frame.f_locals.items() if _usable(name)])
        sources.append([(None, t) for t in self.outputs])
        for source in sources:
            for name, t in source:
                if not isinstance(t, Tensor):
                    continue
                wire = wire_of(t)
                if wire in wires:
                    self.known.setdefault(wire, t)
                    if name is not None and wire not in names:
                        names[wire] = name
                elif name is not None:
                    self.constant_names.setdefault(id(t), name)
                    self.constants.setdefault(id(t), t)
        # NOTE: made-up names avoid the caller's variables too, so ``x`` never means two things.
        taken = set(names.values()) | set(frame.f_locals if frame is not None else ())
        fresh = (f"{base}{n}" if n else base for n in range(10 ** 6) for base in _LEAF_NAMES)
        for t in self.leaves:
            if id(t) not in names:
                names[id(t)] = next(n for n in fresh if n not in taken)
        roots = [wire_of(o) for o in self.outputs]
        counter = 0
        hidden = {w for g in self.groups for w in g.hidden}
        for wire in [w for w in self.wires() if w not in hidden] + [w for w in self.wires() if w in hidden]:
            if wire in names:
                continue
            if wire in roots and "f" not in taken:
                names[wire] = "f"
            else:
                counter += 1
                while f"t{counter}" in taken:
                    counter += 1
                names[wire] = f"t{counter}"
            taken.add(names[wire])
        return names

    def name_of_edge(self, node, i: int) -> str | None:
        """The name of input ``i`` of ``node``: its wire's, or a constant's that the caller named; else None."""
        edge = node.next[i]
        if edge is not None:
            return self.names[edge_wire(edge)]
        return self.constant_names.get(id(node.inputs[i])) if node.inputs is not None else None

    # -- values ------------------------------------------------------------------------------------------
    def value(self, wire):
        """The forward value on ``wire`` as an array, or None when nothing kept it (run the forward inside
        ``chainrule.viz.record()`` to keep every value)."""
        t = self.known.get(wire)
        if t is not None:
            return t._data
        if wire.__class__ is not tuple:
            return self._by_id[wire]._data
        node = self._by_id[wire[0]]
        value = recorded_value(node, wire[1])
        if value is not None:
            return value
        if node.out is not None:
            return node.out if node.out_meta is None else node.out[wire[1]]
        for node, i in self.consumers.get(wire, ()):
            if node.inputs is not None:
                return node.inputs[i]._data
        return self.recovered.get(wire)

    def input_value(self, node, i: int):
        """The value of input ``i`` of ``node`` (constants included, when saved or recorded), or None."""
        edge = node.next[i]
        if edge is not None:
            return self.value(edge_wire(edge))
        if node.inputs is not None:
            return node.inputs[i]._data
        return recorded_constant(node, i)

    def _recover(self) -> dict:
        """Values nothing kept, recomputed in forward order by running a node's forward again on its inputs'
        values (when they are all known and the op keeps its parameters on the node under their names)."""
        recovered: dict = {}
        self.recovered = recovered
        for node in reversed(self.nodes):
            if node.out_meta is not None or self.value((id(node), 0)) is not None:
                continue
            inputs = [self.input_value(node, i) for i in range(len(node.next))]
            if any(v is None for v in inputs):
                continue
            value = _rerun(node, inputs)
            if value is not None:
                recovered[(id(node), 0)] = value
        return recovered

    # -- gradients ---------------------------------------------------------------------------------------
    def backward(self, grad_outputs) -> None:
        """Run a backward from the outputs (``retain_graph=True``, ``.grad`` untouched) and keep every wire's
        upstream gradient and every edge's share. ``grad_outputs``: one gradient per output, or None."""
        if self.freed or not self.leaves:
            return
        handles, hookless = [], [node for node in self.nodes if node.hooks is None]
        for node in self.nodes:
            for i in range(n_outputs(node)):
                handles.append(node.add_hook(i, functools.partial(_keep, self.upstream, (id(node), i))))
        try:
            # NOTE: NumPy's warnings (1/x at 0, ...) would leak here with chainrule's paths; the !! lines say it
            with set_detect_anomaly(False), xp.errstate(all="ignore"):
                roots = [(o, g) for o, g in zip(self.outputs, grad_outputs, strict=True) if o.requires_grad]
                leaf_grads = autograd_grad([o for o, _ in roots], self.leaves, [g for _, g in roots],
                                           retain_graph=True, allow_unused=True)
        finally:
            for handle in handles:
                handle.remove()
            for node in hookless:
                node.hooks = None
        for t, g in zip(self.leaves, leaf_grads, strict=True):
            if g is not None:
                self.upstream[id(t)] = g
        for node in self.nodes:
            upstream = [self.upstream.get((id(node), i)) for i in range(n_outputs(node))]
            if any(g is not None for g in upstream):
                raw, grads = edge_gradients(node, upstream)
                self.raw_grads[id(node)] = raw
                for i, g in enumerate(grads):
                    if g is not None:
                        self.edge_grads[(id(node), i)] = g

    def uses(self, wire) -> list:
        """``(unit, gradient)`` for each gate that reads ``wire`` (a group counts once, its inner uses summed);
        the gradient is None where it is not known."""
        found: dict = {}
        for node, i in self.consumers.get(wire, ()):
            unit = self.group_of.get(id(node))
            key = (id(node), i) if unit is None else id(unit)
            g = self.edge_grads.get((id(node), i))
            if key in found:
                prev = found[key][1]
                g = None if prev is None or g is None else prev + g
            found[key] = (unit or node, g)
        return list(found.values())

    def leaf_gradient(self, leaf: Tensor):
        """The total gradient of a leaf: from the backward run here, else the ``.grad`` a backward left."""
        g = self.upstream.get(id(leaf))
        return g if g is not None else leaf.grad

    def wire_gradient(self, wire):
        """The total gradient of a wire if known: from the backward run here, or the ``.grad`` a backward left
        on a tensor the user holds (a leaf, or a non-leaf that called ``retain_grad()``)."""
        g = self.upstream.get(wire)
        if g is None and wire in self.known:
            g = self.known[wire].grad
        return g


def _usable(name: str) -> bool:
    # NOTE: skips private names and the hidden variables tools add to frames (pytest's @py_assert1, IPython's _3).
    return name.isidentifier() and not name.startswith("_")


def _rerun(node, inputs: list):
    """``node``'s forward on ``inputs`` (arrays) with its declared parameters; None if unknown."""
    if not issubclass(node.op, Primitive) or node.params is None:   # NOTE: a Function's forward may have effects
        return None
    try:
        with xp.errstate(all="ignore"):
            out = node.op.forward(_Scratch(), *inputs, **node.params)
    except Exception:   # NOTE: a best-effort display aid; a forward that needs more than the node kept says no
        return None
    return out if hasattr(out, "shape") else None


def _keep(store: dict, wire, g):
    store[wire] = g


def edge_gradients(node, upstream: list) -> tuple:
    """Apply ``node``'s VJP to ``upstream`` (one gradient per output, None for none).

    Returns the raw per-input results and the gradients along each input edge (broadcasting undone; None for
    inputs without an edge), as the engine computes them.
    """
    with _state.no_grad(), xp.errstate(all="ignore"):
        if node.out_meta is None:
            raw = node.op.vjp(node, upstream[0])
        else:
            raw = node.op.vjp(node, *[g if g is not None else _wrap(xp.zeros(shape, dtype=dtype))
                                      for g, (shape, dtype) in zip(upstream, node.out_meta, strict=True)])
        raw = raw if isinstance(raw, tuple) else (raw,)
        raw = tuple(g if g is None or isinstance(g, Tensor) else _wrap(xp.asarray(g)) for g in raw)
        grads = []
        for i, (edge, g) in enumerate(zip(node.next, raw, strict=True)):
            if edge is None or g is None:
                grads.append(None)
                continue
            if node.in_shapes is not None and g._data.shape != node.in_shapes[i]:
                g = sum_to(g, node.in_shapes[i])
            grads.append(g)
    return raw, grads
