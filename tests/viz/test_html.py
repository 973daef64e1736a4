"""chainrule.viz.html: the interactive page's content (its data, escaping, composites, forward mode); the
page in a real browser is tested in test_browser.py."""

import json
import re
import subprocess
import sys

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd.anomaly import format_value


def page_data(page: str) -> dict:
    raw = re.search(r'<script type="application/json" id="cr-data">(.*?)</script>', page, re.S).group(1)
    return json.loads(raw)


def lecture_page(**kwargs):
    x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    with cr.viz.record():
        f = (x + y) * z
    return cr.viz.html(f, **kwargs), (x, y, z)


def test_one_self_contained_page_with_every_value_and_gradient():
    page, _ = lecture_page()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:|//)""", page)   # nothing fetched
    assert "default-src 'none'" in page
    data = page_data(page)
    edges = {e["name"]: e for e in data["edges"]}
    assert {n: edges[n]["value"]["t"] for n in ("x", "y", "z")} == {"x": "-2", "y": "5", "z": "-4"}
    q = next(e for e in data["edges"] if e["name"] not in ("x", "y", "z", "f"))
    assert (q["value"]["t"], q["grad"]["t"]) == ("3", "-4")
    assert {n: edges[n]["grad"]["t"] for n in ("x", "y", "z")} == {"x": "-4", "y": "-4", "z": "3"}
    mul = next(b for b in data["boxes"] if b.get("op") == "mul")
    assert [(i["name"], i["local"], i["local_value"]["t"], i["down"]["t"]) for i in mul["inputs"]] == [
        ("t1", "z", "-4", "-4"), ("z", "t1", "3", "3")]
    assert len(data["backward"]) == 3 and data["backward"][1]["box"] == mul["id"]


def test_values_on_every_edge_for_the_issue_expression(tmp_path):
    out = tmp_path / "m.html"
    result = subprocess.run([sys.executable, "-m", "chainrule", "explain", "2*(x*y + max(z, w))", "x=3", "y=-4",
                             "z=2", "w=-1", "--html", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"wrote the page to {out}" in result.stdout
    data = page_data(out.read_text())
    assert all(e["value"] is not None for e in data["edges"])
    values = {e["name"]: e["value"]["t"] for e in data["edges"]}
    assert values["t1"] == "-12" and values["t2"] == "2" and values["t3"] == "-10" and values["f"] == "-20"
    assert data["note"] == ""


def test_names_and_values_are_escaped():
    hostile = "<script>alert(1)</script>"
    x = cr.tensor(2.0, requires_grad=True)
    page = cr.viz.html(x * x, params={hostile: x}, title="</script><b>title</b>")
    assert page.count("<script") == 2   # only the page's own data and code
    assert hostile not in page and "<b>title</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page   # in the SVG, as text
    assert any(b["label"] == hostile for b in page_data(page)["boxes"])   # and intact in the data


def test_cross_entropy_is_one_gate_with_its_local_gradient():
    rng = np.random.default_rng(0)
    s = cr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    y = cr.tensor([0, 2, 1, 2])
    with cr.viz.record():
        loss = F.cross_entropy(s, y)
    data = page_data(cr.viz.html(loss))
    ops = [b for b in data["boxes"] if b["kind"] in ("op", "group")]
    assert [b["op"] for b in ops] == ["cross_entropy"]
    (gate,) = ops
    assert gate["inputs"][0]["local"] == "(softmax(s) - onehot(y)) / 4"
    p = np.exp(s._data) / np.exp(s._data).sum(1, keepdims=True)
    expected = (p - np.eye(3)[[0, 2, 1, 2]]) / 4
    assert gate["inputs"][0]["down"]["full"] == format_value(expected, 64)
    assert len(gate["inner"]) > 5 and any("where(" in h for h in gate["inner"])   # expandable
    expanded = page_data(cr.viz.html(loss, expand=True))
    assert len([b for b in expanded["boxes"] if b["kind"] == "op"]) == len(gate["inner"])


def test_large_values_get_shape_stats_and_a_heatmap():
    W = cr.tensor(np.arange(200.0).reshape(10, 20) / 100, requires_grad=True)
    data = page_data(cr.viz.html((W * W).sum()))
    leaf = next(b for b in data["boxes"] if b["kind"] == "leaf")
    assert leaf["value"]["shape"] == "(10, 20)" and "mean" in leaf["value"]["t"] and "full" not in leaf["value"]
    assert len(leaf["value"]["heat"]) == 10 and len(leaf["value"]["heat"][0]) == 20


def test_forward_mode_tangents_flow_forward():
    x, y = cr.tensor(3.0, requires_grad=True), cr.tensor(2.0, requires_grad=True)
    with cr.viz.record():
        f = (x * y).sin() + x
    data = page_data(cr.viz.html(f, tangents={x: 1.0}))
    out = next(e for e in data["edges"] if e["to"] == data["boxes"][-1]["id"])
    assert np.isclose(float(out["tangent"]["t"]), np.cos(6.0) * 2 + 1, rtol=1e-3)
    assert len(data["forward"]) == 1 + 3   # the seed, then mul, sin, add


def test_forward_mode_reads_the_tangents_a_dual_level_graph_carries():
    from chainrule.autograd import forward_ad as fwAD
    x, y = cr.tensor(3.0, requires_grad=True), cr.tensor(2.0, requires_grad=True)
    with fwAD.dual_level():
        xd = fwAD.make_dual(x, cr.tensor(1.0))
        f = (xd * y).sin() + xd
        data = page_data(cr.viz.html(f))   # no tangents=: read from the tensors' forward-AD state
        engine = float(fwAD.unpack_dual(f).tangent)
    tangents = {e["name"]: float(e["tangent"]["t"]) for e in data["edges"] if e["tangent"]}
    assert np.isclose(tangents["f"], engine, rtol=1e-3) and np.isclose(engine, np.cos(6.0) * 2 + 1)
    assert tangents["xd"] == 1 and tangents["t1"] == 2 and np.isclose(tangents["t2"], np.cos(6.0) * 2, rtol=1e-3)
    texts = [s["text"] for s in data["forward"]]
    assert texts[0] == "seed: the tangent xd carries (forward_ad.make_dual)" and len(texts) == 4
    assert texts[1].startswith("tangent out = JVP of t1 = xd * y")
    every = {e for s in data["forward"] for e in s["edges"]}
    assert every >= {e["id"] for e in data["edges"] if e["tangent"]}   # stepping shows every tangent
    # a make_dual input that needs no gradient is a constant of the graph; its tangent still flows
    c, w = cr.tensor(3.0), cr.tensor(2.0, requires_grad=True)
    with fwAD.dual_level():
        g = (fwAD.make_dual(c, cr.tensor(1.0)) * w).exp()
        data = page_data(cr.viz.html(g))
        engine = float(fwAD.unpack_dual(g).tangent)
    out = next(e for e in data["edges"] if e["to"] == data["boxes"][-1]["id"])
    assert np.isclose(float(out["tangent"]["t"]), engine, rtol=1e-3) and np.isclose(engine, 2 * np.exp(6.0))
    # outside a dual level there are no tangents to read, and tangents= still wins inside one
    assert "forward" not in page_data(cr.viz.html(g))
    with fwAD.dual_level():
        xd = fwAD.make_dual(x, cr.tensor(1.0))
        h = xd * y
        data = page_data(cr.viz.html(h, tangents={y: 10.0}))
    assert next(e for e in data["edges"] if e["name"] == "h")["tangent"]["t"] == "30"


def test_fan_out_copy_gate_and_anomaly_are_in_the_data():
    c = cr.tensor(2.0, requires_grad=True)
    data = page_data(cr.viz.html(c * c + c))
    leaf = next(b for b in data["boxes"] if b["kind"] == "leaf")
    assert [v["t"] for v in leaf["copy"]] == ["2", "2", "1"] and leaf["grad"]["t"] == "5"
    x = cr.tensor([0.0, 2.0], requires_grad=True)
    with np.errstate(all="ignore"):
        data = page_data(cr.viz.html(cr.where(x > 0, x.log(), 0.0).sum()))
    (log,) = [b for b in data["boxes"] if b.get("op") == "log"]
    assert "where trap" in log["anomaly"]


def test_repr_html_in_jupyter():
    x = cr.tensor(1.5, requires_grad=True)
    frame = (x * x)._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "&lt;svg" in frame
    assert x._repr_html_() is None   # no graph: the plain repr
