"""chainrule.viz.draw: the DOT text of the lecture's graphs (nodes, edges, values, gradients), clusters per
module, and rendering to SVG/PNG (with Graphviz's dot; a clear error without it)."""

import os
import re
import shutil

import pytest

import chainrule as cr
from chainrule.viz import GraphvizNotFound, draw

graphviz = pytest.importorskip("graphviz")


def lecture_graph():
    x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    return x, y, z, (x + y) * z


def nodes_and_edges(source: str) -> tuple:
    nodes = re.findall(r"^\s*(\w+) \[label=", source, flags=re.M)
    edges = re.findall(r"^\s*(\w+) -> (\w+)", source, flags=re.M)
    return nodes, edges


def edge_label(source: str, a: str, b: str) -> str:
    return re.search(rf"^\s*{a} -> {b} \[label=<(.*)>\]$", source, flags=re.M).group(1)


def test_lecture_graph_has_a_node_per_leaf_op_and_output_and_an_edge_per_input():
    x, y, z, f = lecture_graph()
    f.backward(retain_graph=True)
    dot = draw(f)
    assert isinstance(dot, graphviz.Digraph)
    nodes, edges = nodes_and_edges(dot.source)
    assert len(nodes) == 6   # x, y, z, add, mul, f
    assert len(edges) == 5   # x->add, y->add, add->mul, z->mul, mul->f
    assert "<b>add</b><br/>() float32" in dot.source and "<b>mul</b>" in dot.source


def test_edges_carry_values_in_green_and_gradients_in_red_after_backward():
    x, y, z, f = lecture_graph()
    f.backward(retain_graph=True)
    source = draw(f).source
    assert '<font color="#2e7d32">x = -2</font><br/><font color="#c62828">grad -4</font>' in edge_label(
        source, "leaf0", "op0")
    assert "= 3</font>" in edge_label(source, "op0", "op1") and "grad -4" in edge_label(source, "op0", "op1")
    assert "z = -4" in edge_label(source, "leaf2", "op1") and "grad 3" in edge_label(source, "leaf2", "op1")
    assert "f = -12" in edge_label(source, "op1", "out0") and "grad 1" in edge_label(source, "op1", "out0")


def test_no_gradients_before_backward_and_none_when_hidden():
    *_, f = lecture_graph()
    source = draw(f).source
    assert "grad" not in source and "f = -12" in source
    f.backward(retain_graph=True)
    hidden = draw(f, show_grads=False, show_values=False).source
    assert "grad" not in hidden and "-12" not in hidden


def test_after_a_plain_backward_the_leaf_gradients_are_still_drawn():
    x, y, z, f = lecture_graph()
    f.backward()
    source = draw(f).source
    assert "grad -4" in edge_label(source, "leaf0", "op0")
    assert "grad 3" in edge_label(source, "leaf2", "op1")


def test_names_come_from_params_then_variables_and_fan_out_totals_sit_on_the_leaf():
    w = cr.tensor(3.0, requires_grad=True)
    b = cr.tensor(1.0, requires_grad=True)
    out = w * w + b
    out.backward(retain_graph=True)
    source = draw(out, params={"weight": w}).source
    assert "<b>weight</b>" in source and "<b>b</b>" in source
    assert "grad 6" in source   # d(w*w)/dw = 2w, the sum of the two edges (3 each)
    assert source.count("grad 3") == 2


def test_large_tensors_are_summarised_and_small_ones_shown_in_full():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    v = cr.tensor([1.0, -1.0], requires_grad=True)
    out = (x * v).sum()
    out.backward(retain_graph=True)
    source = draw(out).source
    assert "(3, 2) mean 3.5 min 1 max 6" in source
    assert "v = [1, -1]" in source
    assert "grad [9, 12]" in source   # v's gradient: column sums of x, broadcasting undone
    assert "[[1, 2], [3, 4], [5, 6]]" in draw(out, max_elements=6).source


class Block:
    """A stand-in nn.Module: draw only needs named_modules() and named_parameters()."""

    def __init__(self, children=(), **params):
        self.children, self.params = dict(children), params

    def named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self.children.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self, prefix="", recurse=True):
        for name, p in self.params.items():
            yield (f"{prefix}.{name}" if prefix else name), p
        if recurse:
            for name, child in self.children.items():
                yield from child.named_parameters(f"{prefix}.{name}" if prefix else name)


def test_collapse_groups_each_modules_ops_in_a_cluster():
    w1, b1 = cr.randn(3, 4, requires_grad=True), cr.zeros(4, requires_grad=True)
    w2 = cr.randn(4, 1, requires_grad=True)
    model = Block({"fc1": Block(weight=w1, bias=b1), "fc2": Block(weight=w2)})
    x = cr.randn(2, 3)
    loss = ((x @ w1 + b1).relu() @ w2).sum()
    source = draw(loss, collapse=model).source
    clusters = re.findall(r"subgraph (cluster_\d+) \{(.*?)\}", source, flags=re.S)
    assert len(clusters) == 2
    first, second = (body for _, body in clusters)
    assert 'label="fc1 (Block)"' in first and "<b>fc1.weight</b>" in first and "<b>matmul</b>" in first
    assert "<b>add</b>" in first and "<b>relu</b>" not in first
    assert 'label="fc2 (Block)"' in second and "<b>fc2.weight</b>" in second
    assert "<b>relu</b>" in source.split("subgraph")[0]


def test_bad_arguments_raise_clear_errors():
    *_, f = lecture_graph()
    with pytest.raises(TypeError, match="expected at least one"):
        draw()
    with pytest.raises(TypeError, match="output 0 is a float"):
        draw(1.0)
    with pytest.raises(RuntimeError, match="no graph"):
        draw(cr.tensor(1.0))
    with pytest.raises(TypeError, match="max_elements"):
        draw(f, max_elements=-1)
    with pytest.raises(TypeError, match="collapse must be an nn.Module"):
        draw(f, collapse=object())


def dot_available() -> bool:
    if shutil.which("dot"):
        return True
    if os.environ.get("CI"):
        pytest.fail("Graphviz's dot is not installed, and CI must render the drawings (.ci/run installs it)")
    pytest.skip("Graphviz's dot is not installed (apt-get install graphviz)")


@pytest.mark.parametrize("fmt, magic", [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_renders_svg_and_png_with_dot(tmp_path, fmt, magic):
    dot_available()
    *_, f = lecture_graph()
    f.backward(retain_graph=True)
    path = draw(f).render(tmp_path / "graph", format=fmt)
    data = open(path, "rb").read()
    assert magic in data[:400]
    if fmt == "svg":
        text = data.decode().replace("&#45;", "-")
        assert "f = -12" in text and "grad -4" in text


def test_rendering_without_dot_says_how_to_install_graphviz(monkeypatch, tmp_path):
    *_, f = lecture_graph()
    dot = draw(f)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz"):
        dot.pipe(format="svg")
    with pytest.raises(GraphvizNotFound, match="brew install graphviz"):
        dot.render(tmp_path / "graph", format="png")
    bundle = dot._repr_mimebundle_()
    assert "apt-get install graphviz" in bundle["text/plain"] and "digraph" in bundle["text/plain"]
    assert "digraph chainrule" in dot.source


def test_composites_and_layers_are_one_gate_and_large_graphs_get_a_note():
    from chainrule import nn
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    X, y = cr.randn(5, 4), cr.tensor([0, 1, 2, 1, 0])
    with cr.viz.record():
        loss = cr.nn.functional.cross_entropy(model(X), y)
    loss.backward(retain_graph=True)
    source = draw(loss, collapse=model).source
    nodes, _ = nodes_and_edges(source)
    assert "<b>0: Linear</b>" in source and "<b>2: Linear</b>" in source and "<b>cross_entropy</b>" in source
    assert "7 ops" in source and "where" not in source
    assert re.search(r'label="X = \(5, 4\) mean', source)   # the input is named, as explain names it
    assert 'size="30,30"' in source and "scaled down" not in source
    expanded = draw(loss, collapse=model, expand=True, rankdir="TB").source
    assert "<b>where</b>" in expanded and "rankdir=TB" in expanded
    x = cr.tensor(1.0, requires_grad=True)
    long = x
    for _ in range(45):
        long = long * 1.01 + 0.1
    assert "90 gates: scaled down to fit 30 inches" in draw(long).source


def test_every_edge_carries_its_value_without_record():
    x, y, z, w = (cr.tensor(v, requires_grad=True) for v in (3.0, -4.0, 2.0, -1.0))
    f = 2 * (x * y + cr.maximum(z, w))
    source = draw(f).source
    for text in ("t1 = -12", "t2 = 2", "t3 = -10", "f = -20"):
        assert text in source
    with pytest.raises(ValueError, match="rankdir"):
        draw(f, rankdir="up")


def test_collapse_makes_each_leaf_layer_one_gate_even_without_record():
    from chainrule import nn
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    X = cr.randn(5, 4)
    out = model(X).sum()
    out.backward(retain_graph=True)
    source = draw(out, collapse=model).source
    assert "<b>0: Linear</b>" in source and "<b>2: Linear</b>" in source and "<b>matmul</b>" not in source
    assert re.search(r'label="X = \(5, 4\) mean', source)
