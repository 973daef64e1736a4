"""The interactive page's style and script, inlined by :mod:`chainrule.viz.html` (no network, no files).

The script reads the page's JSON (``#cr-data``), fills the side panel for the clicked gate and walks the
backward (or forward-mode) pass one gate at a time. It only ever sets ``textContent``, so names and values
from the graph are never parsed as HTML.
"""

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#263238;
background:#fafafa}
header{padding:10px 16px 0}
h1{font-size:18px;margin:0 0 2px}
.sub{margin:0;color:#607d8b;font-size:13px}
nav{padding:8px 16px;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
button,select{font:inherit;font-size:13px;padding:4px 10px;border:1px solid #b0bec5;border-radius:4px;background:#fff;
cursor:pointer}
#cr-status{font-size:13px;color:#37474f;font-family:ui-monospace,Menlo,Consolas,monospace}
main{display:flex;gap:12px;padding:0 16px 12px;align-items:flex-start}
#cr-graph{flex:1 1 auto;overflow:auto;max-height:78vh;background:#fff;border:1px solid #eceff1;border-radius:6px}
#cr-panel{flex:0 0 380px;max-height:78vh;overflow:auto;background:#fff;border:1px solid #eceff1;border-radius:6px;
padding:10px 12px;font-size:13px}
#cr-panel h2{font-size:14px;margin:0 0 6px;font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
#cr-panel h3{font-size:12px;margin:10px 0 3px;color:#546e7a;text-transform:uppercase;letter-spacing:.04em}
#cr-panel code{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all}
.row{margin:2px 0}
.gate{color:#607d8b;font-style:italic}
.anom{background:#ffebee;color:#b71c1c;padding:6px;border-radius:4px;margin-top:6px}
.vv{color:#2e7d32}
.gg{color:#c62828}
.tt{color:#1565c0}
.hint,.note{color:#78909c;font-size:12px}
.note{padding:0 16px}
svg text{font-size:12px;text-anchor:middle;pointer-events:none;font-family:ui-monospace,Menlo,Consolas,monospace}
.edge path{fill:none;stroke:#90a4ae;stroke-width:1.6}
.edge path.hit{stroke:transparent;stroke-width:12;cursor:pointer}
.edge text.val{fill:#2e7d32}
.edge text.grad{fill:#c62828}
.edge text.tan{fill:#1565c0}
.edge.active path:first-child{stroke:#c62828;stroke-width:3}
.edge.done path:first-child{stroke:#ef9a9a}
.edge.factive path:first-child{stroke:#1565c0;stroke-width:3}
.box{cursor:pointer}
.box rect,.box circle{fill:#fff;stroke:#546e7a;stroke-width:1.5}
.box.leaf rect{fill:#e3f2fd}
.box.output rect{fill:#eeeeee}
.box.group rect{fill:#fff8e1;stroke:#f9a825}
.box.const rect{fill:#f5f5f5;stroke:#bdbdbd;stroke-dasharray:3 2}
.box text.grad{fill:#c62828;font-size:11px}
.box.current rect,.box.current circle{stroke:#c62828;stroke-width:3}
.box.selected rect,.box.selected circle{fill:#fffde7}
.box.anomaly rect,.box.anomaly circle{fill:#ffcdd2;stroke:#b71c1c;stroke-width:2.5}
.heat{display:block;margin:4px 0;border:1px solid #eceff1}
details{margin-top:6px}
summary{cursor:pointer;color:#37474f}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("cr-data").textContent);
  var boxes = {}, edges = {};
  data.boxes.forEach(function (b) { boxes[b.id] = b; });
  data.edges.forEach(function (e) { edges[e.id] = e; });
  var panel = document.getElementById("cr-panel"), statusEl = document.getElementById("cr-status");
  var mode = "backward", pos = -1, selected = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function steps() { return data[mode] || []; }
  function heat(v) {
    var ns = "http://www.w3.org/2000/svg", c = 8, s = document.createElementNS(ns, "svg");
    s.setAttribute("width", v.heat[0].length * c); s.setAttribute("height", v.heat.length * c);
    s.setAttribute("class", "heat");
    v.heat.forEach(function (r, i) { r.forEach(function (x, j) {
      var q = document.createElementNS(ns, "rect");
      q.setAttribute("x", j * c); q.setAttribute("y", i * c); q.setAttribute("width", c); q.setAttribute("height", c);
      q.setAttribute("fill", x >= 0 ? "rgba(198,40,40," + x + ")" : "rgba(21,101,192," + (-x) + ")");
      s.appendChild(q);
    }); });
    return s;
  }
  function value(v, role, name, cls) {
    var d = el(v && v.heat ? "div" : "span");
    var code = el("code", cls || "vv",
                  v ? (v.full || v.t) : "(not kept: run the forward inside chainrule.viz.record())");
    code.setAttribute("data-role", role);
    if (name !== undefined) code.setAttribute("data-name", name);
    d.appendChild(code);
    if (v && v.heat) {
      d.appendChild(heat(v));
      d.appendChild(el("div", "hint",
                       "shape " + v.shape + "; colour scale \u00b1" + v.scale + " (red +, blue \u2212)"));
    } else if (v && v.shape !== "()") {
      d.appendChild(el("span", "hint", "  shape " + v.shape));
    }
    return d;
  }
  function labelled(label, v, role, name, cls) {
    var d = el("div", "row");
    d.appendChild(el("span", null, label + " = "));
    d.appendChild(value(v, role, name, cls));
    return d;
  }
  function show(id) {
    var b = boxes[id];
    selected = id;
    document.querySelectorAll(".box.selected").forEach(function (n) { n.classList.remove("selected"); });
    var g = document.getElementById(id);
    if (g) g.classList.add("selected");
    panel.textContent = "";
    panel.setAttribute("data-box", id);
    var root = data.root;
    if (b.kind === "leaf" || b.kind === "const" || b.kind === "output") {
      panel.appendChild(el("h2", null, b.label));
      panel.appendChild(el("div", "gate", b.kind === "leaf" ? "input (a leaf of the graph)" :
        b.kind === "const" ? "a constant: it needs no gradient" : "the output"));
      panel.appendChild(el("h3", null, "value"));
      panel.appendChild(value(b.value, "value"));
      if (b.kind === "leaf") {
        panel.appendChild(el("h3", null, "gradient"));
        panel.appendChild(labelled("d" + root + "/d" + b.label, b.grad, "grad", b.label, "gg"));
        if (b.copy) copyGate(b.label, b.copy, b.grad);
      }
      if (b.tangent) panel.appendChild(labelled("tangent", b.tangent, "tangent", b.label, "tt"));
      return;
    }
    var out = b.outs[0];
    panel.appendChild(el("h2", null, b.text));
    panel.appendChild(el("div", null, "op: " + b.op));
    panel.appendChild(el("div", "gate", b.gate));
    if (b.anomaly) panel.appendChild(el("div", "anom", "NaN/inf: " + b.anomaly));
    panel.appendChild(el("h3", null, "forward"));
    b.inputs.forEach(function (i) { panel.appendChild(labelled("input " + i.name, i.value, "input", i.name)); });
    panel.appendChild(labelled("output " + out, b.value, "value", out));
    if (b.tangent) panel.appendChild(labelled("tangent of " + out, b.tangent, "tangent", out, "tt"));
    panel.appendChild(el("h3", null, "backward: downstream = local \u00d7 upstream"));
    panel.appendChild(labelled("upstream d" + root + "/d" + out, b.upstream[0], "upstream", out, "gg"));
    if (b.copy) copyGate(out, b.copy, b.upstream[0]);
    b.inputs.forEach(function (i) {
      if (!i.down) return;
      var box = el("div", "row");
      var local = el("div", "row");
      local.appendChild(el("span", null, "local d" + out + "/d" + i.name + " = " + (i.local ? i.local : "") +
                           (i.local && i.local_value ? " = " : "") +
                           (i.local || i.local_value ? "" : "(its local Jacobian is never formed: the VJP below)")));
      if (i.local_value) local.appendChild(value(i.local_value, "local", i.name));
      box.appendChild(local);
      box.appendChild(labelled("downstream d" + root + "/d" + i.name, i.down, "down", i.name, "gg"));
      var up = b.upstream[0], lv = i.local_value;
      if (up && lv && up.shape === "()" && lv.shape === "()" && i.down.shape === "()") {
        box.appendChild(el("div", "row hint",
                           "= local \u00d7 upstream = " + lv.t + " \u00d7 " + up.t + " = " + i.down.t));
      }
      panel.appendChild(box);
    });
    if (b.lines && b.lines.length) {
      var det = el("details");
      det.appendChild(el("summary", null, "as explain prints it"));
      b.lines.forEach(function (l) { det.appendChild(el("div", null, l)).className = "row"; });
      panel.appendChild(det);
    }
    if (b.inner && b.inner.length) {
      var inner = el("details");
      inner.setAttribute("data-role", "inner");
      inner.appendChild(el("summary", null, "expand: the " + b.inner.length + " ops inside " + b.op));
      b.inner.forEach(function (h) { inner.appendChild(el("div", "row", h)); });
      b.inner_lines.forEach(function (h) { inner.appendChild(el("div", "row hint", h)); });
      panel.appendChild(inner);
    }
  }
  function copyGate(name, parts, total) {
    var d = el("div", "row");
    d.setAttribute("data-role", "copy");
    d.textContent = "copy gate: " + name + " feeds " + parts.length + " gates, so their gradients sum: " +
      parts.map(function (p) { return p ? p.t : "?"; }).join(" + ") + " = " + (total ? total.t : "?");
    panel.appendChild(d);
  }
  function render() {
    var list = steps(), done = {}, active = {};
    for (var k = 0; k <= pos && k < list.length; k++) {
      list[k].edges.forEach(function (e) { done[e] = true; if (k === pos) active[e] = true; });
    }
    data.edges.forEach(function (e) {
      var g = document.getElementById(e.id);
      var isBack = mode === "backward";
      g.classList.toggle("done", !!done[e.id] && isBack);
      g.classList.toggle("active", !!active[e.id] && isBack);
      g.classList.toggle("factive", !!active[e.id] && !isBack);
      var grad = g.querySelector("text.grad"), tan = g.querySelector("text.tan");
      grad.textContent = isBack && done[e.id] && e.grad ? "grad " + short(e.grad) : "";
      grad.setAttribute("data-value", isBack && done[e.id] && e.grad ? e.grad.t : "");
      tan.textContent = !isBack && done[e.id] && e.tangent ? "tangent " + short(e.tangent) : "";
    });
    data.boxes.forEach(function (b) {
      var g = document.getElementById(b.id);
      g.classList.toggle("current", pos >= 0 && list[pos] && list[pos].box === b.id);
      if (b.kind !== "leaf") return;
      var mine = data.edges.filter(function (e) { return e.from === b.id; });
      var all = mine.length && mine.every(function (e) { return done[e.id]; });
      var t = g.querySelector("text.grad");
      t.textContent = mode === "backward" && all && b.grad ? "grad " + short(b.grad) : "";
    });
    statusEl.textContent = pos < 0 ? (mode === "backward" ? "forward values shown; press next to start backward" :
      "press next to push tangents forward") : "step " + (pos + 1) + " of " + list.length + ": " + list[pos].text;
    if (pos >= 0 && list[pos]) {
      show(list[pos].box);
      var current = document.getElementById(list[pos].box);
      if (current.scrollIntoView) current.scrollIntoView({block: "nearest", inline: "center"});
    }
  }
  function short(v) { return v.t.length <= 16 ? v.t : v.shape; }
  function step(d) { pos = Math.max(-1, Math.min(steps().length - 1, pos + d)); render(); }
  document.getElementById("cr-next").addEventListener("click", function () { step(1); });
  document.getElementById("cr-prev").addEventListener("click", function () { step(-1); });
  document.getElementById("cr-reset").addEventListener("click", function () { pos = -1; render(); });
  document.getElementById("cr-mode").addEventListener("change", function (ev) {
    mode = ev.target.value; pos = -1; render();
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowRight") { step(1); ev.preventDefault(); }
    if (ev.key === "ArrowLeft") { step(-1); ev.preventDefault(); }
  });
  data.boxes.forEach(function (b) {
    var g = document.getElementById(b.id);
    g.addEventListener("click", function () { show(b.id); });
    g.addEventListener("keydown", function (ev) { if (ev.key === "Enter") show(b.id); });
  });
  data.edges.forEach(function (e) {
    document.getElementById(e.id).addEventListener("click", function () { show(e.to); });
  });
  render();
})();
"""
