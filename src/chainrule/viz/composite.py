"""Composite functions and layers shown as one named gate, as the lecture draws a softmax or a whole layer.

A composite (softmax, log_softmax, cross_entropy, the SVM loss, mse, a linear layer) runs several primitives.
When its forward ran inside ``chainrule.viz.record()`` its nodes carry the call they came from
(:mod:`chainrule.viz.record`); otherwise the call is recognised from the structure of its nodes
(:mod:`chainrule.viz.patterns`), and a layer from ``collapse=model``. :func:`groups` gathers each call's nodes
into one :class:`Group`: one gate whose inputs
are the wires entering it and whose downstream gradient is the sum of what its inner nodes send along them.
Its local gradient is stated in the lecture's form (cross-entropy's ``softmax(s) - onehot(y)``), not as a
chain of a dozen primitive steps; ``expand=True`` shows those steps instead.
"""

from __future__ import annotations

from ..tensor import Tensor
from . import patterns
from .graph import edge_wire, n_outputs, wire_of
from .record import Scope, scopes_of, was_recorded

_HINGE = "[{input}_j - {input}_{target} + margin > 0] for j != {target}, minus their count at {target}"
# Per composite: the local gradient d out / d input for its tensor arguments, by argument name, with the
# names of the values filled in ({input}, {target}, {weight}, {out}); "/ N" is added for a mean over N rows.
LOCAL_TEXTS = {
    "cross_entropy": {"input": "softmax({input}) - onehot({target})"},
    "nll_loss": {"input": "-onehot({target})"},
    "multiclass_svm_loss": {"input": _HINGE},
    "svm_loss": {"input": f"({_HINGE}) / C"},
    "mse_loss": {"input": "2 ({input} - {target})", "target": "-2 ({input} - {target})"},
    "softmax": {"input": "diag({out}) - {out} {out}^T (per row)"},
    "log_softmax": {"input": "I - softmax({input}) (per row)"},
    "linear": {"input": "{weight} (downstream = upstream @ {weight})",
               "weight": "{input} (downstream = upstream^T @ {input})",
               "bias": "1 (downstream = upstream summed over rows)"},
}
LOCAL_TEXTS["Linear"] = LOCAL_TEXTS["linear"]

GATE_TEXTS = {
    "cross_entropy": "cross-entropy gate: softmax then -log of the true class; local gradient p - 1[y]",
    "nll_loss": "nll gate: picks -log p of the true class; local gradient -1[y]",
    "multiclass_svm_loss": "SVM (multiclass hinge) gate: each margin-violating class gets +1, the true class "
                           "minus their count",
    "svm_loss": "SVM (multiclass hinge) gate, divided by the class count C as torch's multi_margin_loss: each "
                "margin-violating class gets +1/C, the true class minus their count / C",
    "mse_loss": "mse gate: mean squared error; local gradient 2 (x - y) / N",
    "softmax": "softmax gate: exp(x) / sum(exp(x)); its Jacobian diag(p) - p p^T is never formed",
    "log_softmax": "log_softmax gate: x - logsumexp(x); local gradient I - softmax(x)",
    "linear": "linear layer: x @ W^T + b; the gradients are implicit matrix products",
}
_MEAN = ("cross_entropy", "nll_loss", "svm_loss", "multiclass_svm_loss", "mse_loss")


class _Placeholders(dict):
    """Names for a gate's formula; an argument that is not known (a class target that left no wire in a graph
    built without ``record()``) is written as its parameter name."""

    def __missing__(self, key: str) -> str:
        return key


def _textbook(name: str, args: tuple) -> bool:
    """False for the loss variants whose local gradient is not the lecture's formula (class weights, ignored
    targets, label smoothing, class-probability targets, a squared hinge): their gate shows the value only."""
    if name not in ("cross_entropy", "nll_loss", "svm_loss"):
        return True
    given = dict(args)
    target = given.get("target")
    if isinstance(target, Tensor) and target._data.dtype.kind == "f" or given.get("probabilities"):
        return False
    ignored = isinstance(target, Tensor) and (target._data == given.get("ignore_index", -100)).any()
    return not ignored and given.get("weight") is None and not given.get("label_smoothing") and \
        given.get("p", 1) == 1


class Group:
    """One call of a composite function or layer, drawn and explained as one gate.

    ``members``: its nodes (consumers first); ``inputs``: ``(argument name, wire key, None)`` for the wires
    entering from outside and ``(argument name, None, tensor)`` for constant tensors such as class targets;
    ``outs``: the wires it produces that are read outside it (its result).
    """

    def __init__(self, scope, members: list, view):
        self.scope, self.members = scope, members
        self.name = scope.name
        self.ids = {id(n) for n in members}
        produced = {(id(n), i) for n in members for i in range(n_outputs(n))}
        entering: list = []
        for node in reversed(members):
            for edge in node.next:
                if edge is not None and edge_wire(edge) not in produced and edge_wire(edge) not in entering:
                    entering.append(edge_wire(edge))
        self.inputs: list = []
        if scope.wires is not None:   # NOTE: its constant arguments (a class target read back) are in its args
            bound = [(arg, wire, None) for arg, wire in scope.wires] + \
                [(arg, None, value) for arg, value in scope.tensor_args()]
        else:
            bound = [(arg, wire_of(value), value) for arg, value in scope.tensor_args()]
        for arg, wire, value in bound:
            if wire in entering:
                entering.remove(wire)
                self.inputs.append((arg, wire, None))
            elif value is not None and not value.requires_grad:
                self.inputs.append((arg, None, value))
        if scope.wires is not None or not scope.args:
            # NOTE: a call found without record() (a layer, a recognised composite): its named constant inputs
            for node in reversed(members):
                for i, edge in enumerate(node.next):
                    t = node.inputs[i] if edge is None and node.inputs is not None else None
                    if t is not None and id(t) in view.constant_names:
                        self.inputs.append(("input", None, t))
        names = [n for n, _ in scope.module.named_parameters()] if scope.module is not None else []
        if scope.wires is not None:   # NOTE: a recognised call's inputs in its signature's order
            names = ["input", "target", "weight", "bias"]
        by_id = {id(p): n for n, p in scope.module.named_parameters()} if scope.module is not None else {}
        for wire in entering:
            arg = by_id.get(wire) if wire.__class__ is not tuple else None
            self.inputs.append((arg or f"input{len(self.inputs)}", wire, None))
        self.inputs.sort(key=lambda item: names.index(item[0]) + 1 if item[0] in names else 0)
        roots = {wire_of(o) for o in view.outputs}
        result = scope.result if scope.wires is not None else wire_of(scope.out) if isinstance(scope.out, Tensor) \
            else None
        self.outs = [w for w in sorted(produced, key=lambda w: (self._seq(w, members), w[1]))
                     if w == result or w in roots or any(id(c) not in self.ids for c, _ in
                                                         view.consumers.get(w, ()))]
        self.hidden = [w for w in produced if w not in self.outs]

    @staticmethod
    def _seq(wire, members) -> int:
        return next(n.seq for n in members if id(n) == wire[0])

    @property
    def seq(self) -> int:
        return max(n.seq for n in self.members)

    def label(self, view=None) -> str:
        """The gate's name: the function's, or a layer's path and type (``fc1: Linear``) when its parameters
        are named (a layer recognised without ``record()`` too, ``linear`` as ``Linear``)."""
        recognised = self.scope.wires is not None and (self.name == "linear" or self.name[:1].isupper())
        if self.scope.module is None and not recognised:
            return self.name
        kind = "Linear" if self.name == "linear" else self.name
        if view is not None:
            for wire in (w for _, w, _ in self.inputs if w is not None and w.__class__ is not tuple):
                name = view.names.get(wire, "")
                if "." in name:
                    return f"{name.rsplit('.', 1)[0]}: {kind}"
        return self.name if self.scope.module is None else f"{self.name} layer"

    def gate(self) -> str:
        return GATE_TEXTS.get("linear" if self.name in ("linear", "Linear") else self.name,
                              f"{self.name}: a composite of {len(self.members)} ops, shown as one gate")

    def local_text(self, arg: str, names: dict, rows: int) -> str | None:
        texts = LOCAL_TEXTS.get(self.name)
        if texts is None or arg not in texts or not _textbook(self.name, self.scope.args):
            return None
        text = texts[arg].format_map(_Placeholders(names))
        if self.name in _MEAN and dict(self.scope.args).get("reduction", "mean") == "mean" and rows > 1:
            text = f"({text}) / {rows}"
        return text

    def edge_gradient(self, view, wire):
        """What the group sends back along ``wire``: the sum of its inner nodes' gradients on that wire."""
        total = None
        for node, i in view.consumers.get(wire, ()):
            if id(node) in self.ids:
                g = view.edge_grads.get((id(node), i))
                if g is not None:
                    total = g if total is None else total + g
        return total


def module_spans(view, model) -> list:
    """``(first seq, last seq, name, module, its own parameters)`` for each module of ``model`` whose own
    parameters ``view`` reads: its ops are taken as those created between the first and the last op that reads
    one of them (a module runs in one go, so creation order brackets it)."""
    spans = []
    for name, module in model.named_modules():
        direct = [p for _, p in module.named_parameters(recurse=False)]
        users = [node.seq for p in direct for node, _ in view.consumers.get(id(p), ())]
        if users:
            spans.append((min(users), max(users), name, module, direct))
    return spans


def _layer_scopes(view, model) -> dict:
    """id(node) -> a Scope for the leaf layer of ``model`` that ran it, for graphs recorded without
    ``record()`` (which would have noted the call itself)."""
    found: dict = {}
    for first, last, _, module, _ in module_spans(view, model):
        if not _leaf_layer(module):
            continue
        scope = Scope(type(module).__name__, (), module)
        for node in view.nodes:
            if first <= node.seq <= last and not scopes_of(node):
                found[id(node)] = scope
    return found


def _leaf_layer(module) -> bool:
    children = getattr(module, "children", None)
    return callable(children) and not any(True for _ in children())


def _recognised(view, taken: dict) -> dict:
    """id(node) -> a Scope for the composite calls recognised by their structure (:mod:`.patterns`) among
    the nodes made outside ``record()`` that no layer in ``taken`` claims."""
    free = [n for n in view.nodes if not was_recorded(n) and id(n) not in taken]
    if not free:
        return {}
    found: dict = {}
    for pattern, window, wires in patterns.find(view):
        if any(was_recorded(n) or id(n) in taken for n in window):
            continue
        node, index = window[pattern.result[0]], pattern.result[1]
        args = pattern.args
        if _weighted(pattern, window):
            args += (("weight", "per sample"),)
        else:
            target = _target(pattern, window, view)
            args += (("target", target),) if target is not None else ()
        scope = Scope(pattern.name, args, wires=tuple(zip(pattern.arg_names, wires, strict=True)),
                      result=(id(node), index))
        found.update((id(n), scope) for n in window)
    return found


def _weighted(pattern, window: list) -> bool:
    """True when a recognised nll/cross-entropy weights its samples (class weights, ignored targets): the
    constant factor of its ``-picked * w`` product is not all ones (unknown once the graph is freed)."""
    if pattern.name not in ("cross_entropy", "nll_loss"):
        return False
    return any(edge is None and not (node.inputs[i]._data == 1).all()
               for node in window if node.op.name == "mul" and node.inputs is not None
               for i, edge in enumerate(node.next))


def _target(pattern, window: list, view):
    """The class target of a recognised loss: the caller's tensor holding the classes of its one-hot mask (the
    condition of its first ``where``), or None (the formula then names the parameter, ``onehot(target)``)."""
    if pattern.name not in ("cross_entropy", "nll_loss", "svm_loss", "multiclass_svm_loss"):
        return None
    node = next((n for n in window if n.op.name == "where"), None)
    mask = node.inputs[0]._data if node is not None and node.inputs is not None else None
    if mask is None or mask.dtype.kind != "b" or mask.ndim > 2 or not (mask.sum(-1) == 1).all():
        return None
    classes = mask.argmax(-1)
    return next((t for t in view.constants.values() if t._data.dtype.kind in "iu" and
                 t._data.shape == classes.shape and (t._data == classes).all()), None)


def groups(view, model=None) -> list:
    """The composite calls in ``view`` with at least two nodes (from the outermost collapsible scope of each
    recorded node, else the leaf layer of ``model`` that ran it, else a composite recognised by the structure
    of its nodes), consumers first."""
    members: dict = {}
    scopes: dict = {}
    layers = _layer_scopes(view, model) if model is not None else {}
    layers.update(_recognised(view, layers))
    for node in view.nodes:
        scope = next((s for s in scopes_of(node) if s.collapsible()), None) or layers.get(id(node))
        if scope is not None:
            members.setdefault(id(scope), []).append(node)
            scopes[id(scope)] = scope
    found = [Group(scopes[k], nodes, view) for k, nodes in members.items() if len(nodes) > 1]
    found = [g for g in found if g.outs]
    found.sort(key=lambda g: -g.seq)
    return found
