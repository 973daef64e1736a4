"""Composites recognised without ``record()``: a graph built by plain eager code shows softmax, the losses and
linear layers as one named gate each (chainrule.viz.patterns), exactly as a recorded one does."""

import json
import re

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.viz import draw, patterns
from chainrule.viz.composite import Group
from chainrule.viz.record import scopes_of, was_recorded


def gates(report) -> list:
    return [step.unit.name if isinstance(step.unit, Group) else step.unit.op.name for step in report.steps]


def scores_and_classes(seed: int = 1):
    rng = np.random.default_rng(seed)
    return cr.tensor(rng.standard_normal((2, 3)), requires_grad=True), cr.tensor([2, 0])


def test_cross_entropy_without_record_is_one_gate_with_softmax_minus_onehot():
    s, y = scores_and_classes()
    loss = F.cross_entropy(s, y)
    report = cr.explain(loss)
    text = str(report)
    assert gates(report) == ["cross_entropy"] and "(7 ops as one gate)" in text
    # the class target leaves no wire in the graph; its one-hot mask names the caller's tensor of those classes
    assert "loss = cross_entropy(s, y) = " in text and "local dloss/ds = (softmax(s) - onehot(y)) / 2 = " in text
    other = F.cross_entropy(s, cr.tensor([1, 1]))   # classes no variable of this frame holds
    assert "= (softmax(s) - onehot(target)) / 2 = " in str(cr.explain(other))
    p = np.exp(s._data) / np.exp(s._data).sum(1, keepdims=True)
    expected = (p - np.eye(3)[[2, 0]]) / 2
    np.testing.assert_allclose(report.gradients["s"]._data, expected, rtol=1e-12)
    (step,) = report.steps
    np.testing.assert_allclose(step.inputs[0]["local_value"], expected, rtol=1e-12)
    expanded = cr.explain(loss, expand=True)
    assert "cross_entropy" not in str(expanded) and len(expanded.steps) == 7


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_every_reduction_and_a_1d_input_are_recognised(reduction):
    s, y = scores_and_classes()
    gradient = None if reduction != "none" else cr.ones(2)
    assert gates(cr.explain(F.cross_entropy(s, y, reduction=reduction), gradient=gradient)) == ["cross_entropy"]
    assert gates(cr.explain(F.nll_loss(s, y, reduction=reduction), gradient=gradient)) == ["nll_loss"]
    assert gates(cr.explain(F.multi_margin_loss(s, y, reduction=reduction), gradient=gradient)) == ["svm_loss"]
    assert gates(cr.explain(F.multiclass_svm_loss(s, y, reduction=reduction), gradient=gradient)) == \
        ["multiclass_svm_loss"]
    one = cr.tensor([0.2, -0.4, 1.0], requires_grad=True)
    assert gates(cr.explain(F.cross_entropy(one, cr.tensor(1), reduction=reduction))) == ["cross_entropy"]


def test_softmax_log_softmax_svm_and_a_linear_layer_are_named_gates():
    cr.manual_seed(0)
    layer = cr.nn.Linear(3, 4)
    x = cr.tensor(np.random.default_rng(2).standard_normal((2, 3)), dtype=cr.float32)
    y = cr.tensor([1, 3])
    scores = layer(x)
    loss = F.multiclass_svm_loss(scores, y) + F.softmax(scores, dim=1)[0, 0] + F.log_softmax(scores, 1)[1, 2]
    report = cr.explain(loss, params=dict(layer.named_parameters()))
    text = str(report)
    assert {"linear", "multiclass_svm_loss", "softmax", "log_softmax"} <= set(gates(report))
    assert "scores = linear(x, weight, bias) = " in text
    assert "local dscores/dweight = x (downstream = upstream^T @ x)" in text
    assert "= multiclass_svm_loss(scores, y) = " in text and "SVM (multiclass hinge) gate" in text
    assert "= softmax(scores) = " in text and "= log_softmax(scores)" in text
    # the gate's gradients are the engine's
    loss.backward()
    np.testing.assert_allclose(report.gradients["weight"]._data, layer.weight.grad._data, rtol=1e-6)


def test_variants_whose_gradient_is_not_the_textbook_one_show_the_value_only():
    s, y = scores_and_classes()
    (step,) = cr.explain(F.cross_entropy(s, y, label_smoothing=0.2)).steps
    assert step.unit.name == "cross_entropy" and step.inputs[0]["local"] is None
    assert step.inputs[0]["local_value"] is not None
    for weighted in (F.cross_entropy(s, y, weight=cr.tensor([1.0, 2.0, 0.5], dtype=cr.float64)),
                     F.nll_loss(s, cr.tensor([2, -100]))):
        (step,) = cr.explain(weighted).steps
        assert step.unit.name in ("cross_entropy", "nll_loss") and step.inputs[0]["local"] is None
    with cr.viz.record():   # the same inside record(), which sees the arguments
        weighted = F.nll_loss(s, cr.tensor([2, -100]))
        plain = F.linear(s, cr.eye(3, dtype=cr.float64, requires_grad=True)).sum()
    (step,) = cr.explain(weighted).steps
    assert step.inputs[0]["local"] is None
    assert any(i["local"] == "s (downstream = upstream^T @ s)" for step in cr.explain(plain).steps
               for i in step.inputs)   # a linear's weight is not a loss's class weight
    (step,) = cr.explain(F.multi_margin_loss(s, y, p=2)).steps
    assert step.unit.name == "svm_loss" and step.inputs[0]["local"] is None


def test_look_alikes_are_not_collapsed():
    x = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    # a softmax written without the max shift is four plain ops
    report = cr.explain((x.exp() / x.exp().sum())[0])
    assert "softmax" not in gates(report)
    # a squared error whose difference is also used outside cannot hide that difference in one gate
    a, b = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([0.5, 0.0], requires_grad=True)
    d = a - b
    out = (d * d).sum() / 2 + d.sum()
    assert "mse_loss" not in gates(cr.explain(out))


def test_a_recorded_graph_keeps_what_record_saw():
    x = cr.tensor([[0.5, -1.0]], requires_grad=True)
    w = cr.tensor([[1.0, 2.0], [0.0, 1.0]], requires_grad=True)
    with cr.viz.record():
        out = (x @ w.t()).sum()   # written by hand: record() saw no linear call
    assert gates(cr.explain(out)) == ["sum", "matmul", "transpose"]
    assert gates(cr.explain((x @ w.t()).sum())) == ["sum", "linear"]   # the same wiring as F.linear


def test_draw_and_html_collapse_without_record_and_expand_on_request():
    from chainrule import nn
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    X, y = cr.randn(5, 4), cr.tensor([0, 1, 2, 1, 0])
    loss = F.cross_entropy(model(X), y)
    loss.backward(retain_graph=True)
    source = draw(loss).source
    assert "<b>cross_entropy</b>" in source and "7 ops" in source and "<b>where</b>" not in source
    assert source.count("<b>linear</b>") == 2
    assert "<b>where</b>" in draw(loss, expand=True).source
    page = cr.viz.html(loss)
    raw = re.search(r'<script type="application/json" id="cr-data">(.*?)</script>', page, re.S).group(1)
    boxes = [b for b in json.loads(raw)["boxes"] if b["kind"] in ("op", "group")]
    assert [b["op"] for b in boxes] == ["linear", "relu", "linear", "cross_entropy"]
    assert all(len(b["inner"]) > 1 for b in boxes if b["kind"] == "group")   # a click expands them


def test_patterns_are_learned_in_any_mode_and_cost_nothing_eagerly():
    s, y = scores_and_classes()
    loss = F.cross_entropy(s, y)
    # eager code leaves no mark on its nodes (nothing is recorded): the structure alone is read
    assert not any(was_recorded(node) or scopes_of(node) for node in patterns.reachable([loss.grad_fn]))
    patterns.patterns.cache_clear()
    with cr.no_grad(), cr.viz.record():
        report = cr.explain(loss)
    assert gates(report) == ["cross_entropy"]


def test_layers_are_recognised_and_named_by_their_parameters_path():
    from chainrule import nn
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3),
                          nn.LayerNorm(3))
    X, y = cr.randn(4, 1, 4, 4), cr.tensor([0, 1, 2, 1])
    loss = F.cross_entropy(model(X), y)
    report = cr.explain(loss, params=dict(model.named_parameters()))
    labels = [step.unit.label(report.view) for step in report.steps if isinstance(step.unit, Group)]
    assert labels == ["cross_entropy", "5: LayerNorm", "4: Linear", "1: BatchNorm", "0: Conv2d"]
    loss.backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(report.gradients[name]._data, p.grad._data, rtol=1e-5, atol=1e-7)
    # x * w + b of a constant is not taken for a norm layer
    w, b = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([0.5, 0.5], requires_grad=True)
    assert gates(cr.explain((cr.tensor([3.0, 4.0]) * w + b).sum())) == ["sum", "add", "mul"]


def test_learning_the_patterns_leaves_the_random_stream_alone():
    patterns.patterns.cache_clear()
    cr.manual_seed(5)
    expected = cr.randn(3)
    cr.manual_seed(5)
    patterns.patterns()   # builds probe layers, whose initial weights are random
    np.testing.assert_array_equal(cr.randn(3)._data, expected._data)
