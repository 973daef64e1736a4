"""``chainrule.viz.html``: watch backprop happen, in one self-contained HTML page.

The page draws the graph (values in green on every edge), and lets you click any gate to see what the
lecture writes for it: its op, inputs and output value, the upstream gradient, the local gradient (the
primitive's formula and its value) and the downstream gradient = local x upstream. Next / previous (or the
arrow keys) step through the backward pass in the engine's order, filling in each gradient (red) as it is
computed; a fan-out shows its copy gate summing; a NaN/inf gradient is marked red with anomaly mode's
explanation. Given ``tangents``, or for a graph whose tensors carry forward-AD tangents, a forward-mode pass
(tangents flowing forward, blue) can be stepped too.

Everything is inline (CSS, JS, SVG, data): no network, and every name and value is escaped.
"""

from __future__ import annotations

import html as _html
import json
from collections.abc import Mapping

from .. import _state
from .._backend import xp
from ..autograd.anomaly import format_value, shape_text, user_frame
from ..tensor import Tensor, _wrap
from ._page import SCRIPT, STYLE
from .composite import Group
from .explain import Explanation
from .graph import GraphView, edge_wire, n_outputs, reachable, wire_of
from .layout import layered

SYMBOLS = {"add": "+", "sub": "\u2212", "mul": "\u00d7", "div": "\u00f7", "neg": "\u2212x", "pow": "x^y",
           "pow_scalar": "x^p", "maximum": "max", "minimum": "min", "matmul": "@", "reciprocal": "1/x",
           "sum": "\u03a3", "mean": "mean"}
MAX_HEAT = 24   # heatmap cells per side
MAX_FULL = 64   # elements shown in full in the panel


def html(output: Tensor, gradient=None, params=None, expand: bool = False, tangents=None, path=None,
         title: str | None = None, direction: str = "LR") -> str:
    """The interactive page of ``output``'s graph and backward pass, as one HTML string (also written to
    ``path`` when given).

    ``gradient``: the upstream gradient of ``output`` (as for backward; None for a scalar). ``params``: names
    for tensors (``dict(model.named_parameters())``). ``expand``: show the primitive ops of composites
    (softmax, cross_entropy, layers) instead of one gate each. ``tangents``: ``{tensor: tangent}`` to also
    step through forward mode; without it, a graph built inside ``forward_ad.dual_level()`` (called inside
    that block) shows the tangents its ``make_dual`` tensors carry. ``direction``: "LR" or "TB".
    Run the forward inside ``chainrule.viz.record()`` to keep every value and see every layer as one gate.

    Example::

        >>> x, y, z = (chainrule.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
        >>> with chainrule.viz.record():
        ...     f = (x + y) * z
        >>> chainrule.viz.html(f, path="f.html")   # open f.html in a browser
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"html: expected a Tensor, got {type(output).__name__}")
    if output.grad_fn is None:
        raise RuntimeError("html: the output has no grad_fn, so there is no graph to show; compute it from "
                           "tensors created with requires_grad=True (and not under no_grad)")
    if direction not in ("LR", "TB"):
        raise ValueError(f"html: direction must be 'LR' or 'TB', got {direction!r}")
    if gradient is None and output._data.size != 1:
        gradient = output.detach() * 0 + 1
    if params is not None and not isinstance(params, Mapping):
        raise TypeError(f"html: params must be a mapping of names to tensors, got {type(params).__name__}")
    with xp.errstate(all="ignore"):
        frame = user_frame()
        view = GraphView((output,), params=params, frame=frame, expand=expand)
        view.backward([gradient])
        report = Explanation(view)
        inner = None
        if view.groups:
            full = GraphView((output,), params=params, frame=frame, expand=True)
            full.backward([gradient])
            inner = Explanation(full)
        page = _Page(report, inner, tangents, direction).render(title)
    if path is not None:
        with open(path, "w", encoding="utf-8") as file:
            file.write(page)
    return page


def _value(array) -> dict | None:
    """A value for the page: short text, shape, the full text when small, a heatmap when large."""
    if array is None:
        return None
    array = xp.asarray(array._data if isinstance(array, Tensor) else array)
    out = {"t": format_value(array), "shape": shape_text(array.shape)}
    if array.size <= MAX_FULL:
        out["full"] = format_value(array, MAX_FULL)
    elif array.dtype.kind in "fiub":
        grid = array.astype(float).reshape(array.shape[0], -1) if array.ndim > 1 else array.astype(float)[None]
        rs, cs = max(1, -(-grid.shape[0] // MAX_HEAT)), max(1, -(-grid.shape[1] // MAX_HEAT))
        grid = grid[::rs, ::cs]
        finite = grid[xp.isfinite(grid)]
        scale = float(abs(finite).max()) if finite.size else 1.0
        out["heat"] = [[round(float(v) / scale, 3) if xp.isfinite(v) and scale else 0 for v in r] for r in grid]
        out["scale"] = format_value(scale)
    return out


class _Page:
    def __init__(self, report: Explanation, inner: Explanation | None, tangents, direction: str):
        self.report, self.view, self.inner = report, report.view, inner
        self.direction = direction
        self.boxes: list = []    # dicts, in forward order
        self.edges: list = []
        self.box_of: dict = {}   # wire -> box id
        seeds = self._given(tangents) if tangents else self._carried()
        self.seeds = set(seeds or ())
        self.tangents = self._tangents(seeds) if seeds else None

    # -- the data -----------------------------------------------------------------------------------------
    def _box(self, kind: str, label: str, **extra) -> str:
        box = {"id": f"n{len(self.boxes)}", "kind": kind, "label": label, **extra}
        self.boxes.append(box)
        return box["id"]

    def _edge(self, source: str, target: str, name: str, value, grad, tangent=None) -> str:
        edge = {"id": f"e{len(self.edges)}", "from": source, "to": target, "name": name, "value": _value(value),
                "grad": _value(grad), "tangent": _value(tangent)}
        self.edges.append(edge)
        return edge["id"]

    def build(self) -> dict:
        view, report = self.view, self.report
        steps_by_unit = {id(step.unit): step for step in report.steps}
        for leaf in view.leaves:
            name = view.names[id(leaf)]
            uses = view.uses(id(leaf))
            self.box_of[id(leaf)] = self._box(
                "leaf", name, value=_value(leaf._data), grad=_value(view.leaf_gradient(leaf)),
                copy=[_value(g) for _, g in uses] if len(uses) > 1 else None,
                tangent=_value(self.tangents.get(id(leaf))) if self.tangents else None)
        unit_box: dict = {}
        steps = []
        for unit in reversed(view.units):
            step = steps_by_unit[id(unit)]
            outs = unit.outs if isinstance(unit, Group) else [(id(unit), i) for i in range(n_outputs(unit))]
            box = self._unit_box(unit, step, outs)
            unit_box[id(unit)] = box
            for wire in outs:
                self.box_of[wire] = box
        for unit in reversed(view.units):
            step = steps_by_unit[id(unit)]
            edges = []
            for k, item in enumerate(step.inputs):
                wire = item["wire"]
                if wire is None:
                    source = self._box("const", item["name"], value=_value(item["value"]))
                else:
                    source = self.box_of[wire]
                key = wire if wire is not None or isinstance(unit, Group) else ("const", id(unit), k)
                tangent = self.tangents.get(key) if self.tangents and key is not None else None
                edges.append(self._edge(source, unit_box[id(unit)], item["name"], item["value"],
                                        item["downstream"], tangent))
                item["edge"] = edges[-1]
            steps.append((unit, step, edges))
        root = wire_of(view.outputs[0])
        out_box = self._box("output", view.names[root], value=_value(view.value(root)))
        seed = view.upstream.get(root)
        out_edge = self._edge(self.box_of[root], out_box, view.names[root], view.value(root), seed,
                              self.tangents.get(root) if self.tangents else None)
        start = format_value(seed._data) if seed is not None else "1"
        backward = [{"box": out_box, "edges": [out_edge],
                     "text": f"start: d{report.root}/d{report.root} = {start} (the gradient of the output with "
                             "respect to itself)"}]
        for unit, step, edges in reversed(steps):
            backward.append({"box": unit_box[id(unit)], "edges": [e for e, item in zip(edges, step.inputs,
                                                                                       strict=True)
                                                                  if item["downstream"] is not None],
                             "text": step.header.removeprefix("!! ")})
        data = {"root": report.root, "value": _value(view.value(root)), "boxes": self.boxes,
                "edges": self.edges, "backward": backward, "freed": view.freed,
                "note": "" if not self._missing() else
                "Some values were not kept by the graph: run the forward inside chainrule.viz.record() to "
                "see them all."}
        if self.tangents is not None:
            boxes = {b["id"]: b for b in self.boxes}
            forward = [{"box": self.box_of[id(leaf)], "text": f"seed: tangent of {view.names[id(leaf)]}",
                        "edges": [e["id"] for e in self.edges if e["from"] == self.box_of[id(leaf)]]}
                       for leaf in view.leaves if id(leaf) in self.tangents]
            for unit, step, edges in steps:
                # NOTE: a gate's step fills in the tangents it sends on, and those of constants it reads
                # (a make_dual input that needs no gradient).
                outs = [e["id"] for e in self.edges if e["from"] == unit_box[id(unit)]]
                consts = [e["id"] for e in self.edges if e["to"] == unit_box[id(unit)] and e["tangent"] and
                          boxes[e["from"]]["kind"] == "const"]
                text = "tangent out = JVP of " + step.header.removeprefix("!! ").split("  (")[0]
                incoming = {e["id"]: e for e in self.edges if e["to"] == unit_box[id(unit)]}
                if self._seeded(unit) and not any(incoming[e]["tangent"] for e in edges):
                    text = f"seed: the tangent {step.outs[0]} carries (forward_ad.make_dual)"
                forward.append({"box": unit_box[id(unit)], "edges": consts + outs, "text": text})
            data["forward"] = forward
        return data

    def _unit_box(self, unit, step, outs: list) -> str:
        view = self.view
        uses = [view.uses(w) for w in outs]
        copy = [_value(g) for _, g in uses[0]] if len(outs) == 1 and len(uses[0]) > 1 else None
        if isinstance(unit, Group):
            op, symbol, gate = unit.name, unit.label(view), unit.gate()
            inner = [s.header for s in self.inner.steps if id(s.unit) in unit.ids] if self.inner else []
            inner_lines = [line for s in self.inner.steps if id(s.unit) in unit.ids for line in s.lines] \
                if self.inner else []
        else:
            op, symbol = unit.op.name, SYMBOLS.get(unit.op.name, unit.op.name)
            gate = step.header.split("   ", 1)[-1]
            inner, inner_lines = [], []
        text = step.header.removeprefix("!! ").split("  (")[0]
        tangent = self.tangents.get(outs[0]) if self.tangents else None
        value = step.value
        marked = step.marked
        if marked is None and value is not None and xp.asarray(value).dtype.kind == "f" and \
                not xp.isfinite(value).all():
            marked = f"its value is {format_value(value)}: a NaN/inf appears in the forward pass here"
        return self._box(
            "group" if isinstance(unit, Group) else "op", symbol, op=op, text=text, gate=gate,
            outs=step.outs, value=_value(value), upstream=[_value(u) for u in step.upstream],
            inputs=[{"name": i["name"], "value": _value(i["value"]), "local": i["local"],
                     "local_value": _value(i["local_value"]), "down": _value(i["downstream"])}
                    for i in step.inputs],
            lines=step.lines, copy=copy, anomaly=marked, inner=inner, inner_lines=inner_lines,
            tangent=_value(tangent))

    def _seeded(self, unit) -> bool:
        return not isinstance(unit, Group) and (id(unit), 0) in self.seeds

    def _missing(self) -> bool:
        return any(e["value"] is None for e in self.edges)

    @staticmethod
    def _given(seeds) -> dict:
        """``tangents=`` as seeds: wire -> tangent array shaped like the tensor."""
        found = {}
        for t, tangent in seeds.items():
            value = xp.asarray(tangent._data if isinstance(tangent, Tensor) else tangent, dtype=t._data.dtype)
            found[wire_of(t)] = xp.broadcast_to(value, t._data.shape)
        return found

    def _carried(self) -> dict | None:
        """Without ``tangents=``: the tangents the graph's tensors carry at the innermost forward-AD level (a
        graph built inside ``forward_ad.dual_level()`` from ``make_dual`` tensors), read from the outputs, the
        tensors the caller holds, the leaves, the inputs nodes kept and the outputs' tangents nodes kept; a
        constant input's under ``("const", id(node), index)``."""
        if not _state.forward_levels:
            return None
        level, view = _state.forward_levels[-1], self.view
        found: dict = {}

        def take(key, t) -> None:
            tangent = t._fw.get(level) if isinstance(t, Tensor) and t._fw else None
            if tangent is not None:
                found.setdefault(key, tangent._data)

        for t in view.outputs:
            take(wire_of(t), t)
        for wire, t in view.known.items():
            take(wire, t)
        for t in view.leaves:
            take(id(t), t)
        for node in view.nodes:
            for i, t in enumerate(node.inputs or ()):
                take(_input_key(node, i), t)
            for i, fw in enumerate(node.out_fw or ()):
                if fw and level in fw:
                    found.setdefault((id(node), i), fw[level]._data)
        return found or None

    def _tangents(self, seeds: dict) -> dict:
        """Forward mode: each wire's tangent, from ``seeds`` (wire -> tangent) pushed through every node's JVP
        rule in forward order (a seeded wire keeps its tangent)."""
        view = self.view
        found = dict(seeds)
        with _state.no_grad():
            for node in reversed(view.nodes):
                if node.op.jvp is None or node.out_meta is not None or node.freed or (id(node), 0) in found:
                    continue
                ins = []
                for i in range(len(node.next)):
                    tangent = found.get(_input_key(node, i))
                    if tangent is None:
                        value = view.input_value(node, i)
                        tangent = xp.zeros_like(value) if value is not None else None
                    ins.append(tangent)
                if any(t is None for t in ins) or all(not xp.any(t) for t in ins):
                    continue
                try:
                    out = node.op.jvp(node, *[_wrap(xp.asarray(t)) for t in ins])
                except (RuntimeError, TypeError, ValueError, IndexError):
                    continue
                found[(id(node), 0)] = out._data if isinstance(out, Tensor) else xp.asarray(out)
        return found

    # -- the page -----------------------------------------------------------------------------------------
    def render(self, title: str | None) -> str:
        data = self.build()
        positions = layered([b["id"] for b in self.boxes], [(e["from"], e["to"]) for e in self.edges],
                            self.direction, {b["id"] for b in self.boxes if b["kind"] == "const"})
        svg = self._svg(positions)
        payload = json.dumps(data, separators=(",", ":"))
        # NOTE: inside <script>, "</" would end the element: escape <, > and & as JSON unicode escapes.
        payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        title = title or f"backprop of {self.report.root}"
        esc = _html.escape
        value = data["value"]["t"] if data["value"] else "?"
        forward_option = '<option value="forward">forward mode (tangents)</option>' if self.tangents else ""
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>chainrule: {esc(title)}</title><style>{STYLE}</style></head>
<body><header><h1>{esc(title)}</h1><p class="sub">{esc(self.report.root)} = {esc(value)} &middot; green: forward
values &middot; red: gradients &middot; click a gate; step with the buttons or the arrow keys</p></header>
<nav><button id="cr-prev" type="button">&larr; previous</button><button id="cr-next" type="button">next
&rarr;</button><button id="cr-reset" type="button">reset</button>
<label><select id="cr-mode"><option value="backward">backward pass</option>{forward_option}</select></label>
<span id="cr-status" aria-live="polite"></span></nav>
<main><div id="cr-graph">{svg}</div><aside id="cr-panel"><p class="hint">Click a gate or a value to see its
forward value, the upstream gradient, its local gradient and the downstream gradient.</p></aside></main>
<p class="note" id="cr-note">{esc(data["note"])}</p>
<script type="application/json" id="cr-data">{payload}</script>
<script>{SCRIPT}</script></body></html>
"""

    def _svg(self, positions: dict) -> str:
        esc = _html.escape
        xs = [p[0] for p in positions.values()] or [0]
        ys = [p[1] for p in positions.values()] or [0]
        width, height = max(xs) + 110, max(ys) + 70
        kinds = {b["id"]: b for b in self.boxes}
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="cr-svg" viewBox="0 0 {width:.0f} {height:.0f}" '
                 f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="computational graph">',
                 '<defs><marker id="cr-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                 'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#78909c"/></marker></defs>']
        for e in self.edges:
            (x1, y1), (x2, y2) = positions[e["from"]], positions[e["to"]]
            if self.direction == "LR":
                x1, x2 = x1 + _half(kinds[e["from"]]), x2 - _half(kinds[e["to"]])
                mid = (x1 + x2) / 2
                path = f"M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
            else:
                y1, y2 = y1 + 22, y2 - 22
                mid = (y1 + y2) / 2
                path = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{mid:.0f} {x2:.0f},{mid:.0f} {x2:.0f},{y2:.0f}"
            lx, ly = (x1 + x2) / 2, (y1 + y2) / 2
            value = e["name"]
            if e["value"] and kinds[e["from"]]["kind"] != "const":   # NOTE: a constant's box shows its value
                text = e["value"]["t"]
                value += f" = {text}" if len(text) <= 16 else f" {e['value']['shape']}"
            elif kinds[e["from"]]["kind"] == "const":
                value = ""
            parts.append(
                f'<g class="edge" id="{e["id"]}" data-from="{e["from"]}" data-to="{e["to"]}">'
                f'<path d="{path}" marker-end="url(#cr-arrow)"/><path class="hit" d="{path}"/>'
                f'<text class="val" x="{lx:.0f}" y="{ly - 6:.0f}">{esc(_short(value))}</text>'
                f'<text class="grad" x="{lx:.0f}" y="{ly + 14:.0f}"></text>'
                f'<text class="tan" x="{lx:.0f}" y="{ly + 28:.0f}"></text></g>')
        for b in self.boxes:
            x, y = positions[b["id"]]
            label = esc(_short(b["label"], 18))
            cls = f'box {b["kind"]}' + (" anomaly" if b.get("anomaly") else "")
            if b["kind"] in ("leaf", "output", "group"):
                w = _half(b) * 2
                shape = f'<rect x="{x - w / 2:.0f}" y="{y - 20:.0f}" width="{w:.0f}" height="40" rx="' \
                        f'{14 if b["kind"] != "leaf" else 4}"/>'
            elif b["kind"] == "const":
                shape = f'<rect x="{x - 34:.0f}" y="{y - 13:.0f}" width="68" height="26" rx="13"/>'
            else:
                shape = f'<circle cx="{x:.0f}" cy="{y:.0f}" r="24"/>'
            parts.append(f'<g class="{cls}" id="{b["id"]}" tabindex="0" role="button" aria-label="{label}">'
                         f'{shape}<text x="{x:.0f}" y="{y + 5:.0f}">{label}</text>'
                         f'<text class="grad" x="{x:.0f}" y="{y + 36:.0f}"></text></g>')
        parts.append("</svg>")
        return "".join(parts)


def _input_key(node, i: int):
    """The key of input ``i`` of ``node`` among the tangents: its wire, or the constant's own key."""
    edge = node.next[i]
    return edge_wire(edge) if edge is not None else ("const", id(node), i)


def _half(box: dict) -> float:
    if box["kind"] in ("op",):
        return 24
    if box["kind"] == "const":
        return 34
    return max(30, 5 + 4.5 * min(len(box["label"]), 18))


def _short(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def repr_html(tensor: Tensor):
    """``Tensor._repr_html_``: the interactive page of a small graph, in an isolated frame (Jupyter)."""
    if not isinstance(tensor, Tensor) or tensor.grad_fn is None:
        return None
    if len(reachable([tensor.grad_fn])) > 300:
        return None
    page = html(tensor)
    return (f'<iframe srcdoc="{_html.escape(page, quote=True)}" style="width:100%;height:620px;border:0" '
            'sandbox="allow-scripts" title="chainrule graph"></iframe>')
