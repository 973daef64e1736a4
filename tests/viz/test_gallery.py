"""docs/gallery/make.py builds the lecture's gallery: every page self-contained, every edge with its value."""

import importlib.util
import json
import pathlib
import re

MAKE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "gallery" / "make.py"


def test_the_gallery_builds_with_every_value_shown(tmp_path):
    spec = importlib.util.spec_from_file_location("gallery_make", MAKE)
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    made = dict(make.build(tmp_path, pictures=False))
    assert {"lecture", "sigmoid_neuron", "add_gate", "mul_gate", "copy_gate", "max_gate", "softmax_classifier",
            "svm_classifier", "two_layer_net", "hessian_by_backprop", "forward_mode"} <= set(made)
    pages = {}
    for name in made:
        page = (tmp_path / f"{name}.html").read_text()
        assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:|//)""", page)
        raw = re.search(r'id="cr-data">(.*?)</script>', page, re.S).group(1)
        pages[name] = json.loads(raw)
        assert all(e["value"] is not None for e in pages[name]["edges"]), name
    leaves = {b["label"]: b["grad"]["t"] for b in pages["sigmoid_neuron"]["boxes"] if b["kind"] == "leaf"}
    assert leaves == {"w0": "-0.1966", "x0": "0.3932", "w1": "-0.3932", "x1": "-0.5898", "w2": "0.1966"}
    gates = [b["op"] for b in pages["two_layer_net"]["boxes"] if b["kind"] in ("op", "group")]
    assert gates == ["Linear", "relu", "Linear", "cross_entropy"]
    # the forward-mode page reads the tangents that make_dual's tensors carry (no tangents= given)
    assert pages["forward_mode"]["forward"][0]["text"] == "seed: the tangent xd carries (forward_ad.make_dual)"
    out = next(e for e in pages["forward_mode"]["edges"] if e["name"] == "f")
    assert out["tangent"]["t"] == "2.92"   # d/dx (sin(x y) + x) = cos(6) * 2 + 1
    assert 'href="lecture.html"' in (tmp_path / "index.html").read_text()
