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
from .gates import expression, gate
from .graph import GraphView, n_outputs, wire_of

_FREED_NOTE = ("Saved values were freed by an earlier backward(), so the local gradients are gone; showing "
               "the structure and the leaf gradients that backward left in .grad. Call "
               "backward(retain_graph=True), or explain before backward, to see every step.")


def explain(output: Tensor, gradient=None, params=None) -> Explanation:
    """Explain the backward pass from ``output``: one block per node, in the order backward visits them.

    Works before any backward (it runs one itself with ``retain_graph=True`` and leaves ``.grad`` alone)
    and after ``backward(retain_graph=True)``; after a plain ``backward()`` the saved values are gone and the
    report shows the structure and the leaf gradients. ``gradient``: the upstream gradient of ``output``
    (needed unless it has one element, as for ``backward``). ``params``: names for tensors, e.g.
    ``dict(model.named_parameters())``; otherwise names come from the caller's variables, then ``x, y, ...``.

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
    view = GraphView((output,), params=params, frame=user_frame())
    view.backward([gradient])
    return Explanation(view)


class Explanation:
    """The step-by-step account of one backward pass (see :func:`explain`).

    ``str()`` gives plain text, ``to_markdown()`` markdown; ``gradients`` maps leaf names to their gradients;
    ``marked`` lists the names of the values whose node produced a NaN or inf gradient.
    """

    def __init__(self, view: GraphView):
        self.view = view
        self.root = view.names[wire_of(view.outputs[0])]
        self.marked: list = []
        self.steps = [self._step(node) for node in view.nodes]
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

    def _args(self, node) -> list:
        args = []
        for i in range(len(node.next)):
            name = self.view.name_of_edge(node, i)
            if name is None:
                value = self.view.input_value(node, i)
                name = "const" if value is None or xp.asarray(value).size > 4 else format_value(value)
            args.append(name)
        return args

    def _step(self, node) -> tuple:
        view = self.view
        outs = [view.names[(id(node), i)] for i in range(n_outputs(node))]
        args = self._args(node)
        text = expression(node.op, args, node.params) or f"{node.op.name}({', '.join(args)})"
        upstream = [view.upstream.get((id(node), i)) for i in range(len(outs))]
        shape = ""
        if upstream[0] is not None and upstream[0]._data.ndim:
            shape = f"  {shape_text(upstream[0]._data.shape)}"
        header = f"{', '.join(outs)} = {text}  ({node.op.name}){shape}   {gate(node.op)}"
        if view.freed or all(u is None for u in upstream):
            return header, []
        up_text = "upstream " + ", ".join(f"{self._d(name)} = {self._upstream(node, k, name, u)}"
                                          for k, (name, u) in enumerate(zip(outs, upstream, strict=True))
                                          if u is not None)
        locals_ = local_gradients(node, upstream[0]._data) if len(outs) == 1 else None
        # NOTE: a constant shown by value reads badly inside a formula ("[[False, True]]"), so it keeps its
        # placeholder there.
        names = {p: a if not a.startswith("[") else p for p, a in zip(arg_names(node), args, strict=False)}
        names["out"] = outs[0]
        lines, raw = [], view.raw_grads[id(node)]
        for i, arg in enumerate(args):
            g = view.edge_grads.get((id(node), i))
            if node.next[i] is None or g is None:
                continue
            lines.append(f"{up_text}   {self._downstream(node, i, arg, upstream[0], locals_, names, g)}")
            if not xp.isfinite(g._data).all():
                consumers = [n.op.name for n, _ in view.consumers.get((id(node), 0), ())]
                lines.append("!! " + diagnose(node, upstream, raw, i, consumers))
        if any(line.startswith("!! ") for line in lines):
            self.marked.append(outs[0])
            header = "!! " + header
        return header, lines

    def _upstream(self, node, index: int, name: str, g) -> str:
        uses = self.view.consumers.get((id(node), index), ())
        parts = [self.view.edge_grads.get((id(c), j)) for c, j in uses]
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
            term = local_term(node, i, names)
            value = self._fmt(local)
            constant = (local == local.flat[0]).all() and term == format_value(local.flat[0])
            local_text = value if term is None else term if term == value or constant else f"{term} = {value}"
            out = self.view.names[(id(node), 0)]
            head = f"local d{out}/d{arg} = {local_text}   downstream {d} = "
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
                 "transpose": "upstream transposed back to", "permute": "upstream permuted back to"}
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
            uses = self.view.consumers.get(id(leaf), ())
            parts = [self.view.edge_grads.get((id(c), j)) for c, j in uses]
            if len(uses) > 1 and g is not None and all(p is not None for p in parts):
                if g._data.size == 1:
                    text += f" = {' + '.join(self._fmt(p) for p in parts)}"
                text += f"   ({name} is used {len(uses)} times: the copy gate sums their gradients)"
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
        return SavedReport(self.view, [header for header, _ in self.steps])


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
