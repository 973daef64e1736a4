"""chainrule.explain: the backward pass told node by node, as in the lecture."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.anomaly import format_value


def numbers_after(text: str, label: str) -> list:
    """The numbers on the line that starts with ``label`` (after it)."""
    line = next(ln for ln in text.splitlines() if ln.strip().startswith(label))
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?", line[line.index(label) + len(label):])]


def test_the_lecture_example_step_by_step():
    x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    q = x + y
    f = q * z
    text = str(cr.explain(f))
    lines = text.splitlines()
    mul = next(i for i, ln in enumerate(lines) if ln.startswith("f = q * z = -12  (mul)"))
    add = next(i for i, ln in enumerate(lines) if ln.startswith("q = x + y = 3  (add)"))
    assert mul < add   # reverse topological order
    assert "mul gate: swaps" in lines[mul] and "add gate: distributes" in lines[add]
    assert "upstream df/df = 1   local df/dq = z = -4   downstream df/dq = -4 * 1 = -4" in text
    assert "upstream df/df = 1   local df/dz = q = 3   downstream df/dz = 3 * 1 = 3" in text
    assert "upstream df/dq = -4   local dq/dx = 1   downstream df/dx = 1 * -4 = -4" in text
    assert "upstream df/dq = -4   local dq/dy = 1   downstream df/dy = 1 * -4 = -4" in text
    assert "Backward pass of f = -12" in text
    assert [numbers_after(text, f"df/d{n} =") for n in "xyz"] == [[-4], [-4], [3]]
    assert x.grad is None   # explain runs its own backward; .grad is left alone


def test_made_up_names_when_variables_are_unnamed():
    tensors = [cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0)]
    report = cr.explain((tensors[0] + tensors[1]) * tensors[2])
    text = str(report)
    assert "t1 = x + y = 3  (add)" in text and "f = t1 * z = -12  (mul)" in text
    assert {k: v.item() for k, v in report.gradients.items()} == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_sigmoid_neuron_gradients_to_two_decimals():
    w0, w1, w2 = (cr.tensor(v, requires_grad=True) for v in (2.0, -3.0, -3.0))
    x0, x1 = (cr.tensor(v, requires_grad=True) for v in (-1.0, -2.0))
    f = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
    text = str(cr.explain(f))
    got = {n: round(numbers_after(text, f"df/d{n} =")[0], 2) for n in ("w0", "w1", "w2", "x0", "x1")}
    assert got == {"w0": -0.2, "w1": -0.39, "w2": 0.2, "x0": 0.39, "x1": -0.59}
    assert "exp gate: the local gradient is the output itself" in text
    assert "*-1 gate" in text and "div gate" in text
    assert "local dt2/dw1 = x1 = -2   downstream df/dw1 = -2 * 0.1966 = -0.3932" in text


def test_sigmoid_gate_names_sigma_times_one_minus_sigma():
    w = cr.tensor([2.0, -3.0], requires_grad=True)
    x = cr.tensor([-1.0, -2.0])
    b = cr.tensor(-3.0, requires_grad=True)
    s = ((w * x).sum() + b).sigmoid()
    text = str(cr.explain(s))
    assert "sigmoid gate: local gradient sigma * (1 - sigma)" in text
    assert "local ds/dt3 = s * (1 - s) = 0.1966" in text
    assert re.search(r"ds/dw = \[-0\.19\d*, -0\.39\d*\]", text)


def test_fan_out_sums_and_max_routes():
    a = cr.tensor(3.0, requires_grad=True)
    b = cr.tensor(1.0, requires_grad=True)
    q = a * 2
    out = cr.maximum(q, b) + q
    text = str(cr.explain(out))
    assert "max gate: routes" in text
    assert "local dt1/dq = [q > b] = 1" in text and "local dt1/db = [b > q] = 0" in text
    assert "upstream dout/dq = 1 + 1 = 2   (copy gate: q feeds 2 ops, so their gradients sum)" in text
    c = cr.tensor(2.0, requires_grad=True)
    text = str(cr.explain(c * c + c))
    assert "df/dc = 5 = 2 + 2 + 1   (c is used 3 times: the copy gate sums their gradients)" in text


def test_tensors_show_shapes_and_the_implicit_product_instead_of_a_jacobian():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((2, 3)))
    W = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = cr.tensor(rng.standard_normal(4), requires_grad=True)
    L = (x @ W + b).relu().sum()
    text = str(cr.explain(L))
    assert "downstream dL/dW = x^T @ upstream  (3, 4) = (3, 2) @ (2, 4)" in text
    assert "summed to (4,) (broadcast undone)" in text
    assert "upstream copied back to (2, 4)" in text
    L.backward()
    assert "dL/db = " + format_value(b.grad._data) in text


def test_after_backward_with_retain_graph_and_after_a_plain_backward():
    x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    f = (x + y) * z
    f.backward(retain_graph=True)
    report = cr.explain(f)
    assert "downstream df/dx = 1 * -4 = -4" in str(report)
    saved = report.saved()
    assert saved.rows[0]["status"] == "kept" and saved.total_bytes == 8
    assert "input t1 () float32 (4 B), input z () float32 (4 B)" in str(saved)
    f.backward()   # frees the saved values
    freed = report.saved()
    assert freed.rows[0]["status"] == "freed" and freed.total_bytes == 0
    assert freed.rows[1]["status"] == "nothing saved"
    text = str(cr.explain(f))
    assert "were freed by an earlier backward()" in text
    assert "t1 = x + y = 3  (add)" in text and "upstream df" not in text
    assert numbers_after(text, "df/dx =") == [-8]   # two backwards accumulated into .grad


def test_where_trap_is_marked():
    x = cr.tensor([0.0, 2.0], requires_grad=True)
    with np.errstate(all="ignore"):
        y = cr.where(x > 0, x.log(), 0.0).sum()
        report = cr.explain(y)
    text = str(report)
    assert report.marked == ["t1"]
    assert "!! t1 = log(x) = [-inf, 0.6931]  (log)" in text
    assert "log: local gradient 1/x is inf at x = 0" in text and "where trap" in text
    assert "where(x > 0, x, 1).log()" in text


def test_markdown_form():
    x = cr.tensor(2.0, requires_grad=True)
    report = cr.explain(x.exp())
    md = report._repr_markdown_()
    assert md == report.to_markdown()
    assert "1. `f = exp(x) = 7.389  (exp)" in md and "**Leaf gradients:** `df/dx = 7.389`" in md
    assert "| node | op | status | saved | bytes |" in report.saved().to_markdown()


def test_bad_arguments():
    with pytest.raises(TypeError, match="expected a Tensor"):
        cr.explain(1.0)
    with pytest.raises(RuntimeError, match="no grad_fn"):
        cr.explain(cr.tensor(1.0, requires_grad=True))
    v = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="pass gradient="):
        cr.explain(v * 2)
    assert "df/dv = [3, 3]" in str(cr.explain(v * 3, cr.tensor([1.0, 1.0])))
    with pytest.raises(TypeError, match="params must be a mapping"):
        cr.explain(v.sum(), params=[v])


def test_every_line_shows_its_value_even_when_the_graph_kept_none():
    x, y, z, w = (cr.tensor(v, requires_grad=True) for v in (3.0, -4.0, 2.0, -1.0))
    text = str(cr.explain(2 * (x * y + cr.maximum(z, w))))   # add keeps nothing: its value is recomputed
    assert "t3 = t1 + t2 = -10  (add)" in text and "t1 = x * y = -12  (mul)" in text


def test_recorded_constants_read_as_the_lecture_writes_them():
    w0, w1, w2 = (cr.tensor(v, requires_grad=True) for v in (2.0, -3.0, -3.0))
    x0, x1 = (cr.tensor(v, requires_grad=True) for v in (-1.0, -2.0))
    with cr.viz.record():
        f = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
    text = str(cr.explain(f))
    assert "t7 = 1 + t6 = 1.368  (add)" in text and "f = 1 / t7 = 0.7311  (div)" in text
    assert "const" not in text


def test_indices_are_shown_and_a_max_tie_reads_as_torch_splits_it():
    w = cr.tensor([2.0, -3.0], requires_grad=True)
    x = cr.tensor([-1.0, -2.0], requires_grad=True)
    text = str(cr.explain(w[0] * x[0] + w[1:] .sum()))
    assert "t1 = w[0] = 2  (index)" in text and "t2 = x[0] = -1  (index)" in text and "w[1:]" in text
    z, v = cr.tensor(1.0, requires_grad=True), cr.tensor(1.0, requires_grad=True)
    text = str(cr.explain(cr.maximum(z, v)))
    assert "local df/dz = [z > v] + 0.5 [z == v] = 0.5   downstream df/dz = 0.5 * 1 = 0.5" in text
    assert "local df/dv = [v > z] + 0.5 [z == v] = 0.5" in text


def test_cross_entropy_is_one_gate_with_softmax_minus_onehot():
    rng = np.random.default_rng(1)
    s = cr.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    y = cr.tensor([2, 0])
    with cr.viz.record():
        loss = cr.nn.functional.cross_entropy(s, y)
    report = cr.explain(loss)
    text = str(report)
    assert len(report.steps) == 1 and "loss = cross_entropy(s, y) = " in text
    assert "local dloss/ds = (softmax(s) - onehot(y)) / 2 = " in text
    p = np.exp(s._data) / np.exp(s._data).sum(1, keepdims=True)
    np.testing.assert_allclose(report.gradients["s"]._data, (p - np.eye(3)[[2, 0]]) / 2, rtol=1e-6)
    expanded = str(cr.explain(loss, expand=True))
    assert "cross_entropy" not in expanded and "where(" in expanded and "log_softmax(" in expanded


def test_svm_loss_softmax_and_a_layer_are_named_gates():
    rng = np.random.default_rng(2)
    cr.manual_seed(0)
    layer = cr.nn.Linear(3, 4)
    x = cr.tensor(rng.standard_normal((2, 3)))
    y = cr.tensor([1, 3])
    with cr.viz.record():
        scores = layer(x)
        loss = cr.nn.functional.multi_margin_loss(scores, y) + cr.nn.functional.softmax(scores, dim=1)[0, 0]
    text = str(cr.explain(loss, params=dict(layer.named_parameters())))
    assert "= svm_loss(scores, y) = " in text and "SVM (multiclass hinge) gate" in text
    assert "= softmax(scores) = " in text and "diag(t" in text
    assert "scores = Linear(x, weight, bias) = " in text and "local dscores/dweight = x (downstream = upstream^T @ x)" \
        in text
