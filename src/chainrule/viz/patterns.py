"""Composite functions recognised in a graph built without ``chainrule.viz.record()``.

A composite (softmax, cross_entropy, ...) leaves no mark on the nodes it creates, and eager execution must
not pay for one. But each composite builds the same small subgraph every time it is called: the same
primitives, created one after another, wired the same way. So the shapes are learned from the real
functions: each composite runs once (per process, on first use) on tiny example tensors in a few variants
(reductions, 1-D and 2-D input, with and without bias, ...), and its nodes, in creation order, become a
:class:`Pattern`: each node's op and, for each input edge, whether it comes from an earlier node of the
pattern, from one of the composite's arguments, or is a constant. :func:`find` then looks for runs of
consecutive nodes (in creation order) of a graph with exactly that structure whose inner values are not used
outside. Because the patterns come from the functions themselves, they follow any change to how a composite
is implemented; a hand-written subgraph that is wired exactly like one (``x @ W.t() + b``) is that composite,
and is shown as it.
"""

from __future__ import annotations

import functools
import math

import chainrule

from .. import _state, nn
from ..nn import functional as F
from ..ops import composites
from ..tensor import Tensor
from .graph import edge_source, edge_wire, n_outputs, reachable

_REDUCTIONS = ("mean", "sum", "none")


class Pattern:
    """One composite variant's subgraph: ``name``, ``args`` (its non-tensor arguments that the gate's text
    reads, e.g. ``reduction``), ``ops`` (per node in creation order: ``(op, edges)``, each edge ``None`` for a
    constant, ``("in", k, output)`` for node ``k`` of the pattern, ``("arg", e)`` for the ``e``-th argument
    wire), ``arg_names`` (per argument wire, its parameter name) and ``result`` (``(node, output)`` returned)."""

    __slots__ = ("name", "args", "ops", "arg_names", "result")

    def __init__(self, name: str, args: tuple, out: Tensor, tensors: dict):
        self.name, self.args = name, args
        nodes = sorted(reachable([out.grad_fn]), key=lambda n: n.seq)
        index = {id(n): k for k, n in enumerate(nodes)}
        arg_of = {id(t): name for name, t in tensors.items()}
        wires: list = []
        self.ops = []
        for node in nodes:
            edges = []
            for edge in node.next:
                source = edge_source(edge)
                if edge is None:
                    edges.append(None)
                elif source is not None and id(source[0]) in index:
                    edges.append(("in", index[id(source[0])], source[1]))
                else:
                    wire = edge_wire(edge)
                    if wire not in wires:
                        wires.append(wire)
                    edges.append(("arg", wires.index(wire)))
            self.ops.append((node.op, tuple(edges)))
        self.ops = tuple(self.ops)
        self.arg_names = tuple(arg_of.get(w, f"input{k}") for k, w in enumerate(wires))
        self.result = (index[id(out.grad_fn)], out._out_nr)

    def match(self, window: list, view) -> list | None:
        """The argument wires if the nodes ``window`` (creation order) are this pattern, else None."""
        ids = {id(n): k for k, n in enumerate(window)}
        wires: list = [None] * len(self.arg_names)
        for node, (op, edges) in zip(window, self.ops, strict=True):
            if node.op is not op or len(node.next) != len(edges):
                return None
            for edge, want in zip(node.next, edges, strict=True):
                source = edge_source(edge)
                if want is None or edge is None:
                    if want is not edge:
                        return None
                elif want[0] == "in":
                    if source is None or ids.get(id(source[0])) != want[1] or source[1] != want[2]:
                        return None
                else:
                    if source is not None and id(source[0]) in ids:
                        return None
                    wire = edge_wire(edge)
                    if wires[want[1]] is None:
                        if wire in wires:
                            return None
                        wires[want[1]] = wire
                    elif wires[want[1]] != wire:
                        return None
        result = (id(window[self.result[0]]), self.result[1])
        for node in window:   # NOTE: a value inside the gate that is used outside it would vanish from the drawing
            for i in range(n_outputs(node)):
                if (id(node), i) != result and any(id(c) not in ids for c, _ in view.consumers.get((id(node), i), ())):
                    return None
        return wires


def _probes():
    """``(name, args, call)`` per composite variant; ``call()`` returns its output and tensor arguments."""
    def scores(*shape):
        return chainrule.linspace(-1.0, 1.5, math.prod(shape)).reshape(shape).requires_grad_()

    classes = {2: chainrule.tensor([2, 0]), 1: chainrule.tensor(1)}
    for ndim in (2, 1):
        shape = (2, 3)[2 - ndim:]
        for r in _REDUCTIONS:
            args = (("reduction", r),)
            s, y = scores(*shape), classes[ndim]
            probs = F.softmax(scores(*shape).detach(), -1)
            yield "cross_entropy", args, lambda s=s, y=y, r=r: (F.cross_entropy(s, y, reduction=r),
                                                                 {"input": s})
            yield "cross_entropy", args + (("label_smoothing", 0.1),), lambda s=s, y=y, r=r: (
                F.cross_entropy(s, y, reduction=r, label_smoothing=0.1), {"input": s})
            yield "cross_entropy", args + (("probabilities", True),), lambda s=s, p=probs, r=r: (
                F.cross_entropy(s, p, reduction=r), {"input": s})
            yield "nll_loss", args, lambda s=s, y=y, r=r: (F.nll_loss(s, y, reduction=r), {"input": s})
            yield "svm_loss", args, lambda s=s, y=y, r=r: (F.multi_margin_loss(s, y, reduction=r), {"input": s})
            yield "svm_loss", args + (("p", 2),), lambda s=s, y=y, r=r: (
                F.multi_margin_loss(s, y, p=2, reduction=r), {"input": s})
            yield "multiclass_svm_loss", args, lambda s=s, y=y, r=r: (
                composites.multiclass_svm_loss(s, y, reduction=r), {"input": s})
            if r == "none":
                continue   # NOTE: two ops (d * d of a difference): too common a shape to name mse
            target = scores(*shape)
            yield "mse_loss", args, lambda s=s, r=r: (F.mse_loss(s, s.detach() * 2, reduction=r), {"input": s})
            yield "mse_loss", args, lambda s=s, t=target, r=r: (F.mse_loss(s, t, reduction=r),
                                                                 {"input": s, "target": t})
        s = scores(*shape)
        yield "softmax", (), lambda s=s: (F.softmax(s, -1), {"input": s})
        yield "log_softmax", (), lambda s=s: (F.log_softmax(s, -1), {"input": s})
        for grad_input in (True, False):
            for bias in ("grad", "const", None):
                x = scores(*shape).requires_grad_(grad_input)
                w = scores(4, shape[-1])
                b = scores(4).requires_grad_(bias == "grad") if bias else None
                yield "linear", (), lambda x=x, w=w, b=b: (F.linear(x, w, b), {"input": x, "weight": w, "bias": b})
    for name, layer, shape, grad in _layers():
        x = scores(*shape).requires_grad_(grad)
        yield name, (), lambda layer=layer, x=x: (layer(x), {"input": x, **dict(layer.named_parameters())})


def _layers():
    """``(name, layer, input shape, whether the input needs a gradient)`` per layer variant. A layer reading
    data (no gradient) builds fewer nodes; only a convolution's are distinctive enough to name (a norm
    layer's would be ``x * w + b`` of any constant)."""
    for bias in (True, False):
        for grad in (True, False):
            yield "Conv1d", nn.Conv1d(2, 3, 3, bias=bias), (2, 2, 5), grad
            yield "Conv2d", nn.Conv2d(2, 3, 3, bias=bias), (2, 2, 5, 5), grad
    # NOTE: BatchNorm1d and 2d build the same nodes (training mode: batch statistics)
    yield "BatchNorm", nn.BatchNorm1d(3), (4, 3), True
    yield "BatchNorm", nn.BatchNorm2d(2), (2, 2, 3, 3), True
    for affine in (True, False):
        yield "LayerNorm", nn.LayerNorm(5, elementwise_affine=affine), (2, 5), True
    yield "GroupNorm", nn.GroupNorm(1, 2), (2, 2, 3), True
    yield "RMSNorm", nn.RMSNorm(5), (2, 5), True


def _distinctive(pattern) -> bool:
    """A layer's pattern of fewer than four ops is named only if it unfolds (a convolution's ``x @ W.reshape``
    alone is any product)."""
    return not pattern.name[:1].isupper() or len(pattern.ops) >= 4 or any(
        op.name == "unfold" for op, _ in pattern.ops)


@functools.cache
def patterns() -> tuple:
    """Every composite variant's :class:`Pattern`, longest first (a cross_entropy before the log_softmax in it);
    of two variants with the same structure, the first probed."""
    found, seen = [], set()
    # NOTE: learned once per process, whatever mode the caller is in (no_grad, anomaly, ...); building the
    # probe layers draws their initial weights, so the caller's random stream is put back.
    rng = chainrule.get_rng_state()
    try:
        with _state.enable_grad():
            for name, args, call in _probes():
                out, tensors = call()
                pattern = Pattern(name, args, out, {k: t for k, t in tensors.items() if t is not None})
                if pattern.ops not in seen and _distinctive(pattern):
                    seen.add(pattern.ops)
                    found.append(pattern)
    finally:
        chainrule.set_rng_state(rng)
    found.sort(key=lambda p: -len(p.ops))
    return tuple(found)


def find(view) -> list:
    """``(pattern, nodes, argument wires)`` for each composite call recognised in ``view``'s graph (its nodes
    in creation order), no node in two."""
    nodes = sorted(view.nodes, key=lambda n: n.seq)
    starts: dict = {}   # op -> the positions of its nodes
    for position, node in enumerate(nodes):
        starts.setdefault(node.op, []).append(position)
    claimed: set = set()
    found = []
    for pattern in patterns():
        k = len(pattern.ops)
        for start in starts.get(pattern.ops[0][0], ()):
            window = nodes[start:start + k]
            if len(window) < k or window[-1].op is not pattern.ops[-1][0]:
                continue
            if any(id(n) in claimed for n in window):
                continue
            wires = pattern.match(window, view)
            if wires is not None:
                claimed.update(id(n) for n in window)
                found.append((pattern, window, wires))
    return found
