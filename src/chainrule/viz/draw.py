"""``chainrule.viz.draw``: the computational graph as the lecture draws it.

One box per leaf (named), one node per op (its name, output shape and dtype), one edge per input; each edge
carries the forward value above it (green) and, after a backward, the gradient flowing back along it (red).
The result is a ``graphviz.Digraph``: it shows itself in Jupyter and renders with ``.render()``; its DOT text
(``.source``) needs no Graphviz install, drawing a picture does.
"""

from __future__ import annotations

import functools
import html

from .._backend import xp
from ..autograd.anomaly import format_value, shape_text, user_frame
from ..tensor import Tensor
from .composite import Group, module_spans
from .graph import GraphView, edge_source, edge_wire, n_outputs, wire_of

VALUE_COLOR = "#2e7d32"
GRAD_COLOR = "#c62828"
LARGE = 40   # gates; a larger drawing gets a note on how to make it readable

INSTALL_HINT = ("Graphviz's `dot` program was not found on PATH, so the graph cannot be rendered (its DOT "
                "text is still in .source). Install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), "
                "`brew install graphviz` (macOS) or `conda install -c conda-forge graphviz`.")


class GraphvizNotFound(RuntimeError):
    """Rendering a drawing needs Graphviz's ``dot`` program, and it is not installed."""


def draw(*outputs, params=None, show_values: bool = True, show_grads: bool = True, max_elements: int = 4,
         collapse=None, expand: bool = False, rankdir: str = "LR", max_inches: float = 30):
    """Draw the graph behind ``outputs`` as a ``graphviz.Digraph``.

    Nodes: one per leaf (named from ``params``, e.g. ``dict(model.named_parameters())``, else from the
    caller's variables, else ``x, y, ...`` in order of use), one per op (name, output shape, dtype), one per
    output.
    Edges: the forward value of the wire (``show_values``; scalars and tensors of at most ``max_elements``
    elements in full, larger ones as shape + mean/min/max) in green and, once a backward has run, the gradient
    flowing back along the edge (``show_grads``) in red; a fan-out's gradients sum at its source. While the
    graph is retained the gradients are recomputed exactly (of the sum of the scalar outputs); after a plain
    ``backward()`` only the leaves' ``.grad`` (and retained ``.grad`` of tensors you hold) are left to show.
    ``collapse``: an ``nn.Module`` (anything with ``named_modules()`` and ``named_parameters()``); each module
    that owns parameters gets its ops grouped in one cluster.
    Composites (softmax, log_softmax, cross_entropy, nll, the SVM losses, mse, ``linear``/``nn.Linear``) are
    drawn as one gate each, as are the other leaf layers when the forward ran inside ``chainrule.viz.record()``
    (or with ``collapse=``); ``expand=True`` draws their ops. ``rankdir``:
    "LR" (left to right, as the lecture) or "TB". ``max_inches``: the picture is scaled down to fit a square of
    that side, and a note under it says so when the graph is large.

    Rendering (``.render()``, ``.pipe()``, Jupyter) needs Graphviz's ``dot`` program; without it a
    :class:`GraphvizNotFound` error says how to install it, and ``.source`` still holds the DOT text.

    Example::

        >>> x, y, z = (chainrule.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
        >>> f = (x + y) * z
        >>> f.backward(retain_graph=True)
        >>> chainrule.viz.draw(f).render("graph", format="svg")   # writes graph.svg
    """
    if not outputs:
        raise TypeError("draw: expected at least one output tensor")
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"draw: output {i} is a {type(out).__name__}, expected a Tensor")
        if not out.requires_grad:
            raise RuntimeError(f"draw: output {i} has no graph (it does not require grad); compute it from "
                               "tensors created with requires_grad=True, outside no_grad")
    if isinstance(max_elements, bool) or not isinstance(max_elements, int) or max_elements < 0:
        raise TypeError(f"draw: max_elements must be a non-negative int, got {max_elements!r}")
    if collapse is not None and not all(hasattr(collapse, a) for a in ("named_modules", "named_parameters")):
        raise TypeError(f"draw: collapse must be an nn.Module (with named_modules() and named_parameters()), "
                        f"got {type(collapse).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if params is None and collapse is not None:
        params = dict(collapse.named_parameters())
    if params is not None and not hasattr(params, "items"):
        raise TypeError(f"draw: params must be a mapping of names to tensors, got {type(params).__name__}")
    with xp.errstate(all="ignore"):
        view = GraphView(outputs, params=params, frame=user_frame(), expand=expand, model=collapse)
        if show_grads and not view.freed and any(leaf.grad is not None for leaf in view.leaves):
            view.backward([None if o._data.size == 1 else o.detach() * 0 for o in outputs])
        show_grads = show_grads and (view.freed or bool(view.upstream) or any(leaf.grad is not None
                                                                              for leaf in view.leaves))
        return _Builder(view, show_values, show_grads, max_elements, collapse, rankdir, max_inches).build()


class _Builder:
    def __init__(self, view: GraphView, show_values: bool, show_grads: bool, max_elements: int, collapse,
                 rankdir: str = "LR", max_inches: float = 30):
        self.view, self.show_values, self.show_grads = view, show_values, show_grads
        self.max_elements = max_elements
        self.clusters = _clusters(view, collapse) if collapse is not None else {}
        graph_attr = {"rankdir": rankdir, "size": f"{max_inches:g},{max_inches:g}"}
        if len(view.units) > LARGE:
            graph_attr.update(label=f"{len(view.units)} gates: scaled down to fit {max_inches:g} inches. Run the "
                                    "forward inside chainrule.viz.record() (or pass collapse=model) to draw every "
                                    "layer as one gate, or use chainrule.viz.html to zoom and click.", labelloc="b",
                              fontname="Helvetica", fontsize="12")
        self.dot = _drawing_class()(name="chainrule", graph_attr=graph_attr,
                                    node_attr={"fontname": "Helvetica", "fontsize": "11"},
                                    edge_attr={"fontname": "Helvetica", "fontsize": "10"})
        self.members: dict = {}   # cluster label -> [(DOT node name, label, attrs)]
        self.ids = {id(leaf): f"leaf{k}" for k, leaf in enumerate(view.leaves)}
        self.ids.update((id(unit), f"op{k}") for k, unit in enumerate(reversed(view.units)))
        self.source: dict = {id(leaf): self.ids[id(leaf)] for leaf in view.leaves}   # wire -> DOT node
        for unit in view.units:
            outs = unit.outs if isinstance(unit, Group) else [(id(unit), i) for i in range(n_outputs(unit))]
            self.source.update((w, self.ids[id(unit)]) for w in outs)

    def build(self):
        view = self.view
        for leaf in view.leaves:
            self._node(self.ids[id(leaf)], self._leaf_label(leaf), id(leaf), shape="box", style="filled",
                       fillcolor="#e3f2fd")
        for unit in reversed(view.units):
            if isinstance(unit, Group):
                self._group(unit)
                continue
            node = unit
            label = f"<b>{html.escape(node.op.name)}</b>"
            if node.out_meta is not None:
                meta = [f"{shape_text(shape)} {dtype}" for shape, dtype in node.out_meta]
            else:
                meta = [self._meta((id(node), 0))]
            label += "".join(f"<br/>{html.escape(m)}" for m in meta if m)
            self._node(self.ids[id(node)], label, id(node), shape="ellipse")
            for i, edge in enumerate(node.next):
                self._edge(node, i, edge)
        for k, out in enumerate(view.outputs):
            wire = wire_of(out)
            name = f"out{k}"
            self.dot.node(name, f"<<b>{html.escape(view.names[wire])}</b>>", shape="oval", style="filled",
                          fillcolor="#eeeeee")
            label = self._edge_label(wire, view.value(wire), view.wire_gradient(wire))
            self.dot.edge(self.source[wire], name, label=label)
        for k, (cluster, members) in enumerate(self.members.items()):
            with self.dot.subgraph(name=f"cluster_{k}") as sub:
                sub.attr(label=cluster, style="rounded,dashed", color="#90a4ae")
                for name, label, attrs in members:
                    sub.node(name, label, **attrs)
        return self.dot

    def _group(self, group: Group) -> None:
        view = self.view
        target = self.ids[id(group)]
        label = f"<b>{html.escape(group.label(view))}</b>" + "".join(
            f"<br/>{html.escape(m)}" for m in (self._meta(w) for w in group.outs) if m)
        label += f'<br/><font point-size="9">{len(group.members)} ops</font>'
        self._node(target, label, id(group.members[0]), shape="box", style="rounded,filled",
                   fillcolor="#fff8e1", color="#f9a825")
        for k, (_, wire, t) in enumerate(group.inputs):
            if wire is None:
                self._constant(f"const_{target}_{k}", target, view.constant_names.get(id(t)), t._data)
                continue
            grad = group.edge_gradient(view, wire)
            self.dot.edge(self.source[wire], target, label=self._edge_label(wire, view.value(wire), grad))

    def _constant(self, name: str, target: str, known, value) -> None:
        text = known if known is not None else "const" if value is None else self._fmt(value)
        if known is not None and value is not None:
            text += f" = {self._fmt(value)}"
        self.dot.node(name, text, shape="plaintext", fontcolor="#757575")
        self.dot.edge(name, target, color="#bdbdbd")

    def _node(self, name: str, label: str, key, **attrs) -> None:
        cluster = self.clusters.get(key)
        if cluster is None:
            self.dot.node(name, f"<{label}>", **attrs)
        else:
            self.members.setdefault(cluster, []).append((name, f"<{label}>", attrs))

    def _meta(self, wire) -> str:
        value = self.view.value(wire)
        if value is None:
            g = self.view.wire_gradient(wire)
            value = g._data if g is not None else None
        return "" if value is None else f"{shape_text(value.shape)} {value.dtype}"

    def _leaf_label(self, leaf) -> str:
        label = f"<b>{html.escape(self.view.names[id(leaf)])}</b><br/>{shape_text(leaf._data.shape)} " \
                f"{leaf._data.dtype}"
        g = self.view.leaf_gradient(leaf)
        if self.show_grads and g is not None and len(self.view.consumers.get(id(leaf), ())) > 1:
            label += f'<br/><font color="{GRAD_COLOR}">grad {html.escape(self._fmt(g._data))}</font>'
        return label

    def _edge(self, node, i: int, edge) -> None:
        view = self.view
        target = self.ids[id(node)]
        if edge is None:
            self._constant(f"const_{target}_{i}", target, view.name_of_edge(node, i), view.input_value(node, i))
            return
        wire = edge_wire(edge)
        source = self.source[wire]
        grad = view.edge_grads.get((id(node), i))
        if grad is None and len(view.consumers.get(wire, ())) == 1:
            grad = view.leaf_gradient(edge) if edge_source(edge) is None else view.wire_gradient(wire)
        label = self._edge_label(wire, view.value(wire), grad)
        producer = edge_source(edge)
        if producer is not None and n_outputs(producer[0]) > 1:
            label = label or "<>"
            label = f"<[{producer[1]}] " + label[1:]
        self.dot.edge(source, target, label=label)

    def _edge_label(self, wire, value, grad) -> str | None:
        lines = []
        if self.show_values:
            text = html.escape(self.view.names[wire]) + ("" if value is None else f" = {self._fmt(value)}")
            lines.append(f'<font color="{VALUE_COLOR}">{text}</font>')
        if self.show_grads and grad is not None:
            lines.append(f'<font color="{GRAD_COLOR}">grad {html.escape(self._fmt(grad._data))}</font>')
        return f"<{'<br/>'.join(lines)}>" if lines else None

    def _fmt(self, value) -> str:
        return html.escape(format_value(value, self.max_elements))


def _clusters(view: GraphView, model) -> dict:
    """Node or leaf id -> the label of the innermost module that owns it (its parameters and the ops it ran,
    see :func:`~chainrule.viz.composite.module_spans`). Modules without parameters are not clusters."""
    spans = [(first, last, f"{name or 'model'} ({type(module).__name__})", direct)
             for first, last, name, module, direct in module_spans(view, model)]
    owner: dict = {}
    for node in view.nodes:
        inside = [s for s in spans if s[0] <= node.seq <= s[1]]
        if inside:
            owner[id(node)] = min(inside, key=lambda s: s[1] - s[0])[2]
    for _, _, label, direct in spans:
        for p in direct:
            owner[id(p)] = label
    return owner


@functools.cache
def _drawing_class():
    try:
        import graphviz
    except ModuleNotFoundError:
        raise ModuleNotFoundError("draw needs the Python package graphviz: pip install 'chainrule[viz]' (or "
                                  "pip install graphviz)", name="graphviz") from None

    class Drawing(graphviz.Digraph):
        """A ``graphviz.Digraph`` whose rendering explains how to install Graphviz when ``dot`` is missing."""

        def render(self, *args, **kwargs):
            try:
                return super().render(*args, **kwargs)
            except graphviz.ExecutableNotFound as error:
                raise GraphvizNotFound(INSTALL_HINT) from error

        def pipe(self, *args, **kwargs):
            try:
                return super().pipe(*args, **kwargs)
            except graphviz.ExecutableNotFound as error:
                raise GraphvizNotFound(INSTALL_HINT) from error

        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            try:
                return super()._repr_mimebundle_(include, exclude, **kwargs)
            except GraphvizNotFound as error:
                return {"text/plain": f"{error}\n\n{self.source}"}

    return Drawing
