"""Build the gallery of the lecture's graphs: an interactive page and a picture for each.

Run from the repository root: ``python docs/gallery/make.py`` (the pictures need Graphviz's ``dot``). It writes
``docs/gallery/<name>.html`` (one self-contained page: click a gate, step through the backward pass) and
``<name>.png`` for every example below, and ``index.html`` / ``README.md`` listing them.
"""

from __future__ import annotations

import functools
import html
import pathlib
import sys

import chainrule as cr
from chainrule import nn
from chainrule.autograd import forward_ad as fwAD
from chainrule.nn import functional as F

HERE = pathlib.Path(__file__).resolve().parent


def scalars(*values):
    return [cr.tensor(v, requires_grad=True) for v in values]


def lecture():
    """f = (x + y) z at x = -2, y = 5, z = -4: the lecture's first example."""
    x, y, z = scalars(-2.0, 5.0, -4.0)
    with cr.viz.record():
        q = x + y
        f = q * z
    return f, {"x": x, "y": y, "z": z, "q": q}, {}


def sigmoid_neuron():
    """f = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))): the lecture's sigmoid neuron, gate by gate."""
    w0, x0, w1, x1, w2 = scalars(2.0, -1.0, -3.0, -2.0, -3.0)
    with cr.viz.record():
        f = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
    return f, {"w0": w0, "x0": x0, "w1": w1, "x1": x1, "w2": w2}, {}


def add_gate():
    """The add gate distributes: both inputs get the upstream gradient unchanged."""
    x, y = scalars(3.0, -1.0)
    with cr.viz.record():
        f = (x + y) * 2
    return f, {"x": x, "y": y}, {}


def mul_gate():
    """The mul gate swaps: each input's gradient is the upstream times the other input."""
    x, y = scalars(3.0, -4.0)
    with cr.viz.record():
        f = (x * y) * 2
    return f, {"x": x, "y": y}, {}


def copy_gate():
    """The copy gate sums: W is used twice (a layer and its regularisation), so its gradients add up."""
    w, x = scalars(2.0, 3.0)
    with cr.viz.record():
        f = w * x + w * w
    return f, {"w": w, "x": x}, {}


def max_gate():
    """The max gate routes: the whole gradient goes to the larger input, the other gets 0."""
    z, w = scalars(2.0, -1.0)
    with cr.viz.record():
        f = cr.maximum(z, w) * 2
    return f, {"z": z, "w": w}, {}


def classifiers(loss):
    cr.manual_seed(0)
    W = cr.randn(3, 4, requires_grad=True)
    x = cr.randn(2, 4)
    y = cr.tensor([0, 2])
    with cr.viz.record():
        scores = x @ W.T
        L = loss(scores, y)
    return L, {"W": W, "x": x, "y": y, "scores": scores}, {}


def softmax_classifier():
    """A linear softmax classifier: scores = x W^T, then cross-entropy as one gate (local gradient p - 1[y])."""
    return classifiers(F.cross_entropy)


def svm_classifier():
    """A linear SVM: scores = x W^T, then the lecture's multiclass hinge loss as one gate."""
    return classifiers(F.multiclass_svm_loss)


def two_layer_net():
    """A 2-layer net: Linear, ReLU, Linear and cross-entropy; each layer and the loss is one gate."""
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    X, y = cr.randn(5, 4), cr.tensor([0, 1, 2, 1, 0])
    with cr.viz.record():
        loss = F.cross_entropy(model(X), y)
    return loss, {"X": X, "y": y, **dict(model.named_parameters())}, {"collapse": model}


def hessian_by_backprop():
    """A Hessian-vector product by backprop through backprop: g = df/dx with create_graph, then d(g . v)/dx."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    v = cr.tensor([1.0, 0.0])
    with cr.viz.record():
        f = (x * x * x).sum() + x[0] * x[1]
        (g,) = cr.autograd.grad(f, x, create_graph=True)
        hv = (g * v).sum()
    return hv, {"x": x, "v": v, "g": g, "f": f}, {}


def forward_mode():
    """Forward mode: make_dual gives x the tangent 1, which flows forward through f = sin(x y) + x (blue)."""
    x, y = scalars(3.0, 2.0)
    # NOTE: the page reads the tangents the tensors carry, so the level stays open until it is written.
    level = fwAD.enter_dual_level()
    with cr.viz.record():
        xd = fwAD.make_dual(x, cr.tensor(1.0))
        f = (xd * y).sin() + xd
    return f, {"x": x, "y": y, "xd": xd}, {"close": functools.partial(fwAD.exit_dual_level, level=level)}


EXAMPLES = [lecture, sigmoid_neuron, add_gate, mul_gate, copy_gate, max_gate, softmax_classifier, svm_classifier,
            two_layer_net, hessian_by_backprop, forward_mode]


def build(out: pathlib.Path = HERE, pictures: bool = True) -> list:
    """Write every example's page (and picture); returns ``[(name, summary), ...]``."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for example in EXAMPLES:
        name = example.__name__
        summary = example.__doc__.strip()
        # NOTE: the tensors stay inside ``made_by``, so no variable of this frame lends them its name.
        made_by = example()
        params, options = made_by[1], made_by[2]
        cr.viz.html(made_by[0], params=params, title=f"{name.replace('_', ' ')}: {summary}", path=out / f"{name}.html",
                    tangents=options.get("tangents"))
        if pictures:
            made_by[0].backward(retain_graph=True)
            drawing = cr.viz.draw(made_by[0], params=params, collapse=options.get("collapse"))
            (out / f"{name}.png").write_bytes(drawing.pipe(format="png"))
        options.get("close", lambda: None)()
        made.append((name, summary))
    rows = "\n".join(f'<li><a href="{n}.html">{html.escape(n.replace("_", " "))}</a> '
                     f'(<a href="{n}.png">picture</a>): {html.escape(s)}</li>' for n, s in made)
    (out / "index.html").write_text(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>chainrule gallery</title></head>"
        f"<body><h1>The backprop lecture, interactive</h1><ul>\n{rows}\n</ul></body></html>\n", encoding="utf-8")
    lines = ["# Gallery: the lecture's graphs", "",
             "Each example is an interactive page (download it and open it in a browser: click a gate, step through "
             "the backward pass with the arrow keys) and a picture. Regenerate with `python docs/gallery/make.py`.",
             ""]
    lines += [f"- **{n.replace('_', ' ')}** ([page]({n}.html), [picture]({n}.png)): {s}" for n, s in made]
    lines += ["", "![the lecture's example](lecture.png)", ""]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")
    return made


if __name__ == "__main__":
    for name, _ in build(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(f"wrote {name}.html and {name}.png")
