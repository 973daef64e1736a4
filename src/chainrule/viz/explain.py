"""``chainrule.explain``: the backward pass told step by step, in the lecture's words.

Each node, visited in reverse topological order, multiplies the gradient arriving at its output (upstream)
by its local gradient to get what it sends to each input (downstream). The report says so for every node,
naming the gate pattern (add distributes, mul swaps, max routes, a fan-out sums), and for tensors shows the
implicit product that replaces the Jacobian (``dL/dW = x^T @ upstream  (3, 4) = (3, 2) @ (2, 4)``).
``saved()`` lists what every node keeps alive for backward.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._backend import xp
from ..autograd.anomaly import arg_names, diagnose, format_value, local_gradients, local_term, shape_text, user_frame
from ..tensor import Tensor
from .composite import Group
from .gates import expression, gate
from .graph import GraphView, edge_wire, n_outputs, wire_of

_FREED_NOTE = ("Saved values were freed by an earlier backward(), so the local gradients are gone; showing "
               "the structure and the leaf gradients that backward left in .grad. Call "
               "backward(retain_graph=True), or explain before backward, to see every step.")


def explain(output: Tensor, gradient=None, params=None, expand: bool = False) -> Explanation:
    """Explain the backward pass from ``output``: one block per node, in the order backward visits them.

    Works before any backward (it runs one itself with ``retain_graph=True`` and leaves ``.grad`` alone)
    and after ``backward(retain_graph=True)``; after a plain ``backward()`` the saved values are gone and the
    report shows the structure and the leaf gradients. ``gradient``: the upstream gradient of ``output``
    (needed unless it has one element, as for ``backward``). ``params``: names for tensors, e.g.
    ``dict(model.named_parameters())``; otherwise names come from the caller's variables, then ``x, y, ...``.
    Values the graph did not keep are recomputed where possible; run the forward inside
    ``chainrule.viz.record()`` to keep them all. Composite functions (softmax, cross_entropy, the SVM loss,
    ``linear``) are one gate each with their own local gradient (``expand=True``: their ops); so are all
    layers when the forward ran inside ``record()``.

    Returns an :class:`Explanation`: print it, or show it in Jupyter (markdown); ``.gradients`` maps each leaf
    name to its gradient, ``.saved()`` lists what the nodes keep for backward.

    Example::

        >>> x, y, z = (chainrule.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
        >>> q = x + y
        >>> f = q * z
        >>> print(chainrule.explain(f))      # ... q = x + y  (add) ... downstream df/dx = 1 * -4 = -4 ...
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"explain: expected a Tensor, got {type(output).__name__}")
    if output.grad_fn is None:
        raise RuntimeError("explain: the output has no grad_fn, so there is no backward pass to explain; "
                           "compute it from tensors created with requires_grad=True (and not under no_grad)")
    if gradient is None and output._data.size != 1:
        raise RuntimeError(f"explain: the output has shape {tuple(output._data.shape)}; pass gradient= of "
                           "that shape (the upstream gradient of the output), as for backward")
    if params is not None and not isinstance(params, Mapping):
        raise TypeError(f"explain: params must be a mapping of names to tensors (e.g. "
                        f"dict(model.named_parameters())), got {type(params).__name__}")
    view = GraphView((output,), params=params, frame=user_frame(), expand=expand)
    view.backward([gradient])
    return Explanation(view)


def forward_text(node, args: list) -> str:
    """A node's forward as one line over its argument texts: ``x * y``, ``maximum(z, w)``, ``w[0]``."""
    if node.op.name == "index" and node.params:
        return args[0] + "".join(index_text(stage) for stage in node.params["stages"])
    name = {"amax": "max", "amin": "min"}.get(node.op.name, node.op.name)
    return expression(node.op, args, node.params) or f"{name}({', '.join(args)})"


def index_text(key: tuple) -> str:
    """An index as Python writes it: ``[0]``, ``[:, 1]``, ``[1:3]``, ``[[0, 2]]``."""
    parts = list(key)
    while parts and parts[-1] is Ellipsis:
        parts.pop()
    texts = []
    for k in parts:
        if isinstance(k, slice):
            text = ":".join("" if v is None else str(v) for v in (k.start, k.stop))
            texts.append(text + (f":{k.step}" if k.step is not None else ""))
        elif k is Ellipsis:
            texts.append("...")
        elif k is None:
            texts.append("None")
        elif hasattr(k, "shape") and k.shape:
            texts.append(format_value(k, 6))
        else:
            texts.append(str(int(k)) if hasattr(k, "__index__") else repr(k))
    return f"[{', '.join(texts) or '...'}]"


def _named(text: str, node, i: int, names: dict) -> str:
    """anomaly's diagnosis with the node's own names in the formula (it writes ``x``, ``out``)."""
    generic = local_term(node, i, {**{p: p for p in arg_names(node)}, "out": "out"})
    named = local_term(node, i, names)
    return text.replace(generic, named, 1) if generic and named else text


class Step:
    """One gate of the backward pass, as explain prints it and the interactive page shows it.

    ``unit``: the node or :class:`~chainrule.viz.composite.Group`; ``header`` and ``lines``: the text;
    ``outs``: output names; ``value``: the output value; ``upstream``: the gradient arriving at each output;
    ``inputs``: per input a dict with ``name``, ``wire`` (None for a constant), ``value``, ``local`` (formula
    text), ``local_value``, ``downstream`` (the gradient sent back along that edge).
    """

    def __init__(self, unit, header: str, lines: list, outs: list, value, upstream: list, inputs: list,
                 marked: str | None = None):
        self.unit, self.header, self.lines, self.outs = unit, header, lines, outs
        self.value, self.upstream, self.inputs, self.marked = value, upstream, inputs, marked

    def __iter__(self):   # NOTE: unpacks as (header, lines), the shape the text renderers read
        return iter((self.header, self.lines))


class Explanation:
    """The step-by-step account of one backward pass (see :func:`explain`).

    ``str()`` gives plain text, ``to_markdown()`` markdown; ``gradients`` maps leaf names to their gradients;
    ``marked`` lists the names of the values whose node produced a NaN or inf gradient; ``steps`` holds one
    :class:`Step` per gate, in the order backward visits them.
    """

    def __init__(self, view: GraphView):
        self.view = view
        self.root = view.names[wire_of(view.outputs[0])]
        self.marked: list = []
        self.steps = [self._group_step(u) if isinstance(u, Group) else self._step(u) for u in view.units]
        self.gradients = {}
        for leaf in view.leaves:
            g = view.leaf_gradient(leaf)
            if g is not None:
                self.gradients[view.names[id(leaf)]] = g

    # -- building --------------------------------------------------------------------------------------
    def _d(self, name: str) -> str:
        return f"d{self.root}/d{name}"

    def _fmt(self, value) -> str:
        return format_value(value._data if isinstance(value, Tensor) else value)

    def _const(self, value) -> str:
        if value is None:
            return "const"
        value = xp.asarray(value)
        return format_value(value) if value.size <= 4 else f"const{shape_text(value.shape)}"

    def _args(self, node) -> list:
        args = []
        for i in range(len(node.next)):
            name = self.view.name_of_edge(node, i)
            args.append(name if name is not None else self._const(self.view.input_value(node, i)))
        return args

    def _header(self, outs: list, text: str, value, op: str, upstream, gate_text: str) -> str:
        shown = f" = {self._fmt(value)}" if value is not None and len(outs) == 1 else ""
        shape = ""
        if upstream is not None and upstream._data.ndim:
            shape = f"  {shape_text(upstream._data.shape)}"
        return f"{', '.join(outs)} = {text}{shown}  ({op}){shape}   {gate_text}"

    def _step(self, node) -> Step:
        view = self.view
        outs = [view.names[(id(node), i)] for i in range(n_outputs(node))]
        args = self._args(node)
        text = forward_text(node, args)
        upstream = [view.upstream.get((id(node), i)) for i in range(len(outs))]
        value = view.value((id(node), 0)) if len(outs) == 1 else None
        header = self._header(outs, text, value, node.op.name, upstream[0], gate(node.op))
        inputs = [{"name": arg, "wire": None if node.next[i] is None else edge_wire(node.next[i]),
                   "value": view.input_value(node, i), "local": None, "local_value": None,
                   "downstream": None} for i, arg in enumerate(args)]
        if view.freed or all(u is None for u in upstream):
            return Step(node, header, [], outs, value, upstream, inputs)
        up_text = "upstream " + ", ".join(f"{self._d(name)} = {self._upstream((id(node), k), name, u)}"
                                          for k, (name, u) in enumerate(zip(outs, upstream, strict=True))
                                          if u is not None)
        locals_ = local_gradients(node, upstream[0]._data) if len(outs) == 1 else None
        # NOTE: a constant shown by value reads badly inside a formula ("[[False, True]]"), so it keeps its
        # placeholder there.
        names = {p: a if not a.startswith(("[", "const")) else p
                 for p, a in zip(arg_names(node), args, strict=False)}
        names["out"] = outs[0]
        lines, raw, marked = [], view.raw_grads[id(node)], None
        for i, arg in enumerate(args):
            g = view.edge_grads.get((id(node), i))
            if node.next[i] is None or g is None:
                continue
            inputs[i]["downstream"] = g
            if locals_ is not None and locals_[i] is not None:
                inputs[i]["local"] = local_term(node, i, names)
                inputs[i]["local_value"] = locals_[i]
            # NOTE: a multi-output op (slogdet, svd) may get gradients on its later outputs only.
            up = next(u for u in upstream if u is not None)
            lines.append(f"{up_text}   {self._downstream(node, i, arg, up, locals_, names, g)}")
            if not xp.isfinite(g._data).all():
                consumers = [n.op.name for n, _ in view.consumers.get((id(node), 0), ())]
                marked = _named(diagnose(node, upstream, raw, i, consumers), node, i, names)
                lines.append("!! " + marked)
        if marked is not None:
            self.marked.append(outs[0])
            header = "!! " + header
        return Step(node, header, lines, outs, value, upstream, inputs, marked)

    def _group_step(self, group: Group) -> Step:
        view = self.view
        outs = [view.names[w] for w in group.outs]
        upstream = [view.upstream.get(w) for w in group.outs]
        value = view.value(group.outs[0]) if len(outs) == 1 else None
        args = [view.names[wire] if wire is not None else
                view.constant_names.get(id(t)) or self._const(t._data) for _, wire, t in group.inputs]
        text = f"{group.name}({', '.join(args)})"
        label = group.label(view)
        op = f"{len(group.members)} ops as one gate" + (f", layer {label.split(':')[0]}" if ": " in label else "")
        header = self._header(outs, text, value, op, upstream[0], group.gate())
        names = {arg: shown for (arg, _, _), shown in zip(group.inputs, args, strict=True)}
        names["out"] = outs[0]
        rows = 1
        first = view.value(group.inputs[0][1]) if group.inputs and group.inputs[0][1] is not None else None
        if first is not None and first.ndim > 1:
            rows = first.shape[0]
        inputs, lines = [], []
        up = upstream[0]
        for (arg, wire, const), shown in zip(group.inputs, args, strict=True):
            item = {"name": shown, "wire": wire, "value": const._data if wire is None else view.value(wire),
                    "local": group.local_text(arg, names, rows), "local_value": None, "downstream": None}
            inputs.append(item)
            g = group.edge_gradient(view, wire) if wire is not None and up is not None else None
            if g is None:
                continue
            item["downstream"] = g
            if len(outs) == 1 and up._data.size == 1 and float(up._data.reshape(())) != 0:
                with xp.errstate(all="ignore"):
                    item["local_value"] = g._data / up._data.reshape(())
            term = item["local"] or "its local Jacobian (never formed)"
            d = self._d(shown)
            head = (f"upstream {self._d(outs[0])} = {self._upstream(group.outs[0], outs[0], up)}   "
                    f"local d{outs[0]}/d{shown} = {term}")
            if item["local_value"] is not None and g._data.size == 1:
                lines.append(f"{head} = {self._fmt(item['local_value'])}   downstream {d} = "
                             f"{self._fmt(item['local_value'])} * {self._fmt(up)} = {self._fmt(g)}")
            elif item["local_value"] is not None:
                lines.append(f"{head} = {self._fmt(item['local_value'])}   downstream {d} = local * upstream "
                             f"= {self._fmt(g)}")
            else:
                lines.append(f"{head}   downstream {d} = its VJP of upstream {shape_text(up._data.shape)} -> "
                             f"{shape_text(g._data.shape)} = {self._fmt(g)}")
        return Step(group, header, lines, outs, value, upstream, inputs)

    def _local_text(self, node, i: int, names: dict, local) -> str:
        term = local_term(node, i, names)
        value = self._fmt(local)
        if term is None or term == value:
            return value
        constant = (local == local.flat[0]).all()
        if constant and term == format_value(local.flat[0]):
            return term
        return f"{term} = {value}"

    def _upstream(self, wire, name: str, g) -> str:
        parts = [p for _, p in self.view.uses(wire)]
        if len(parts) < 2 or any(p is None for p in parts):
            return self._fmt(g)
        note = f"   (copy gate: {name} feeds {len(parts)} ops, so their gradients sum)"
        if g._data.size == 1:
            return " + ".join(self._fmt(p) for p in parts) + f" = {self._fmt(g)}{note}"
        return self._fmt(g) + note

    def _downstream(self, node, i: int, arg: str, up, locals_, names: dict, g) -> str:
        d = self._d(arg)
        if locals_ is not None and locals_[i] is not None:
            local = locals_[i]
            value = self._fmt(local)
            out = self.view.names[(id(node), 0)]
            head = f"local d{out}/d{arg} = {self._local_text(node, i, names, local)}   downstream {d} = "
            if local.size == 1 and g._data.size == 1:
                return head + f"{value} * {self._fmt(up)} = {self._fmt(g)}"
            summed = ""
            if g._data.shape != local.shape:
                summed = f", summed to {shape_text(g._data.shape)} (broadcast undone)"
            return head + f"local * upstream, elementwise{summed} = {self._fmt(g)}"
        return f"downstream {d} = {self._product(node, i, up, g)} = {self._fmt(g)}"

    def _product(self, node, i: int, up, g) -> str:
        """The implicit product a non-elementwise node uses instead of a Jacobian, with shapes."""
        op, gs, us = node.op.name, shape_text(g._data.shape), shape_text(up._data.shape)
        if op == "matmul" and node.inputs is not None:
            x, y = (t._data.shape for t in node.inputs)
            xn, yn = (self.view.name_of_edge(node, j) or "const" for j in (0, 1))
            if len(x) == 1 and len(y) == 1:
                return f"upstream * {yn if i == 0 else xn}"
            if i == 0:
                if len(x) == 1:
                    return f"{yn} @ upstream  {gs} = {shape_text(y)} @ {us}"
                if len(y) == 1:
                    return f"outer(upstream, {yn})  {gs}"
                return f"upstream @ {yn}^T  {gs} = {us} @ {shape_text(y[:-2] + (y[-1], y[-2]))}"
            if len(x) == 1:
                return f"outer({xn}, upstream)  {gs}"
            xt = shape_text(x[:-2] + (x[-1], x[-2]))
            return f"{xn}^T @ upstream  {gs} = {xt} @ {us}"
        words = {"sum": "upstream copied back to", "expand": "upstream summed to",
                 "sum_to": "upstream copied to", "reshape": "upstream reshaped to",
                 "transpose": "upstream transposed back to", "permute": "upstream permuted back to",
                 "amax": "upstream routed to the largest element(s) (ties split) of",
                 "amin": "upstream routed to the smallest element(s) (ties split) of",
                 "index": "upstream placed back at the index in zeros of"}
        if op in words:
            return f"{words[op]} {gs}"
        return f"its VJP of upstream {us} -> {gs}"

    # -- rendering -------------------------------------------------------------------------------------
    def _intro(self) -> list:
        value = self.view.value(wire_of(self.view.outputs[0]))
        lines = [f"Backward pass of {self.root} = {format_value(value)}, in reverse topological order: each "
                 "node multiplies the upstream gradient by its local gradient (downstream = local * "
                 "upstream)."]
        if self.view.freed:
            lines.append(_FREED_NOTE)
        if self.marked:
            lines.append(f"!! marks the nodes whose backward gives a NaN/inf gradient; it starts at "
                         f"{self.marked[0]}.")
        return lines

    def _leaf_lines(self) -> list:
        lines = []
        for leaf in self.view.leaves:
            name = self.view.names[id(leaf)]
            g = self.gradients.get(name)
            text = f"{self._d(name)} = " + ("(not computed)" if g is None else self._fmt(g))
            parts = [p for _, p in self.view.uses(id(leaf))]
            if len(parts) > 1 and g is not None and all(p is not None for p in parts):
                if g._data.size == 1:
                    text += f" = {' + '.join(self._fmt(p) for p in parts)}"
                text += f"   ({name} is used {len(parts)} times: the copy gate sums their gradients)"
            lines.append(text)
        return lines

    def __str__(self) -> str:
        out = self._intro() + [""]
        for header, lines in self.steps:
            out.append(header)
            out.extend("    " + line for line in lines)
        out += ["", "Leaf gradients:"] + ["    " + line for line in self._leaf_lines()]
        return "\n".join(out)

    __repr__ = __str__

    def to_markdown(self) -> str:
        out = [" ".join(self._intro()), ""]
        for k, (header, lines) in enumerate(self.steps, 1):
            out.append(f"{k}. `{header}`")
            out.extend(f"    - `{line}`" for line in lines)
        out += ["", "**Leaf gradients:** " + ", ".join(f"`{line}`" for line in self._leaf_lines())]
        return "\n".join(out)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def saved(self) -> SavedReport:
        """What each node keeps alive for backward right now (shapes, bytes), and what has been freed."""
        headers = {id(step.unit): step.header for step in self.steps}
        for group in self.view.groups:
            for node in group.members:
                headers[id(node)] = f"{self.view.names[(id(node), 0)]} = {node.op.name}(...)  (in {group.name})"
        return SavedReport(self.view, [headers[id(node)] for node in self.view.nodes])


class SavedReport:
    """Per node, what it saved for backward (``save_for_backward``, its inputs, its output) and whether it is
    still held or was freed by a backward. ``rows``: one dict per node; ``total_bytes``: the memory they hold,
    each array counted once."""

    def __init__(self, view: GraphView, headers: list):
        self.rows = []
        held: dict = {}
        for node, header in zip(view.nodes, headers, strict=True):
            items = []
            if node.inputs is not None:
                items += [(f"input {view.name_of_edge(node, i) or 'const'}", t._data)
                          for i, t in enumerate(node.inputs)]
            if node.out is not None:
                outs = (node.out,) if node.out_meta is None else node.out
                items += [(f"output {view.names[(id(node), i)]}", a) for i, a in enumerate(outs)]
            items += [("saved", v._data if isinstance(v, Tensor) else xp.asarray(v)) for v in node.saved or ()]
            for _, array in items:
                held[id(array)] = array.nbytes
            status = "freed" if node.freed else "kept" if items else "nothing saved"
            self.rows.append({"node": header.removeprefix("!! ").split("  (")[0], "op": node.op.name,
                              "status": status, "bytes": sum(a.nbytes for _, a in items),
                              "items": [(what, a.shape, a.dtype, a.nbytes) for what, a in items]})
        self.total_bytes = sum(held.values())

    def _row_text(self, row) -> str:
        items = ", ".join(f"{what} {shape_text(shape)} {dtype} ({nbytes} B)" for what, shape, dtype, nbytes in
                          row["items"])
        return f"{row['node']}  ({row['op']})   {row['status']}" + (f": {items}" if items else "")

    def __str__(self) -> str:
        lines = ["Saved for backward, per node:"] + ["    " + self._row_text(row) for row in self.rows]
        lines.append(f"Held now: {self.total_bytes} bytes (arrays shared between nodes counted once).")
        return "\n".join(lines)

    __repr__ = __str__

    def to_markdown(self) -> str:
        lines = ["| node | op | status | saved | bytes |", "|---|---|---|---|---|"]
        for row in self.rows:
            items = "<br>".join(f"{what} {shape_text(shape)} {dtype}" for what, shape, dtype, _ in
                                row["items"])
            lines.append(f"| `{row['node']}` | {row['op']} | {row['status']} | {items} | {row['bytes']} |")
        lines.append(f"\nHeld now: **{self.total_bytes} bytes** (arrays shared between nodes counted once).")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()
