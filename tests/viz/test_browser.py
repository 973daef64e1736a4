"""The interactive page in a real (headless) Chromium: clicks, stepping, escaping, no network, no errors.

Needs Selenium and Debian's chromium + chromium-driver (``.ci/run`` installs them); skipped otherwise.
"""

import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.anomaly import format_value

webdriver = pytest.importorskip("selenium.webdriver", reason="the browser tests need selenium (pip install selenium)")

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if BROWSER is None or DRIVER is None:
        pytest.skip("no headless browser: apt-get install chromium chromium-driver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    options = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,900"):
        options.add_argument(arg)
    options.binary_location = BROWSER
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    except Exception as error:   # a browser that will not start (no display libraries, ...) is a skip
        pytest.skip(f"chromium did not start: {str(error).splitlines()[0]}")
    yield driver
    driver.quit()


def open_page(browser, tmp_path, page: str, name="page.html"):
    path = tmp_path / name
    path.write_text(page, encoding="utf-8")
    browser.get(path.as_uri())
    return browser


def panel(browser, role: str) -> dict:
    """The panel's values with ``data-role`` = role, by their data-name."""
    found = browser.find_elements("css selector", f'#cr-panel [data-role="{role}"]')
    return {e.get_attribute("data-name"): e.text for e in found}


def click_op(browser, op_text: str):
    for box in browser.find_elements("css selector", "g.box.op, g.box.group"):
        if box.get_attribute("aria-label") == op_text:
            browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", box)
            return
    raise AssertionError(f"no gate {op_text!r}")


def test_click_a_gate_shows_the_lecture_numbers(browser, tmp_path):
    x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    with cr.viz.record():
        q = x + y
        f = q * z
    open_page(browser, tmp_path, cr.viz.html(f))
    click_op(browser, "\u00d7")
    assert panel(browser, "value") == {"f": "-12"}
    assert panel(browser, "upstream") == {"f": "1"}
    assert panel(browser, "down") == {"q": "-4", "z": "3"}
    assert panel(browser, "local") == {"q": "-4", "z": "3"}
    click_op(browser, "+")
    assert panel(browser, "upstream") == {"q": "-4"}
    assert panel(browser, "down") == {"x": "-4", "y": "-4"}
    assert "downstream = local \u00d7 upstream" in browser.find_element("id", "cr-panel").text.lower()


def test_step_through_the_whole_backward_pass(browser, tmp_path):
    w0, w1, w2 = (cr.tensor(v, requires_grad=True) for v in (2.0, -3.0, -3.0))
    x0, x1 = (cr.tensor(v, requires_grad=True) for v in (-1.0, -2.0))
    with cr.viz.record():
        f = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
    report = cr.explain(f)
    open_page(browser, tmp_path, cr.viz.html(f))
    shown = lambda: {e.get_attribute("id"): e.find_element("css selector", "text.grad").get_attribute(  # noqa: E731
        "data-value") for e in browser.find_elements("css selector", "g.edge")}
    assert set(shown().values()) == {""}   # before the backward: values only
    status = browser.find_element("id", "cr-status")
    expected_downstream = [sorted(format_value(i["downstream"]._data) for i in step.inputs
                                  if i["downstream"] is not None) for step in report.steps]
    for k in range(len(report.steps) + 1):
        browser.find_element("id", "cr-next").click()
        assert status.text.startswith(f"step {k + 1} of {len(report.steps) + 1}")
        if k:   # the panel follows the gate being computed, with the engine's numbers
            assert sorted(panel(browser, "down").values()) == expected_downstream[k - 1]
        active = browser.find_elements("css selector", "g.edge.active")
        assert active and all(a.find_element("css selector", "text.grad").text for a in active)
    leaves = {b.get_attribute("aria-label"): b.find_element("css selector", "text.grad").text
              for b in browser.find_elements("css selector", "g.box.leaf")}
    f.backward()
    assert leaves == {n: f"grad {format_value(t.grad._data)}" for n, t in
                      (("w0", w0), ("w1", w1), ("w2", w2), ("x0", x0), ("x1", x1))}
    assert leaves["w0"] == "grad -0.1966"
    browser.find_element("tag name", "body").send_keys("\ue012")   # ArrowLeft steps back
    assert status.text.startswith(f"step {len(report.steps)} of")


def test_fan_out_anomaly_and_escaping(browser, tmp_path):
    c = cr.tensor(2.0, requires_grad=True)
    hostile = '<img src=x onerror="window.pwned=1">'
    open_page(browser, tmp_path, cr.viz.html(c * c + c, params={hostile: c}))
    leaf = browser.find_element("css selector", "g.box.leaf")
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", leaf)
    panel_text = browser.find_element("id", "cr-panel").text
    assert hostile in panel_text   # shown as text ...
    assert browser.execute_script("return window.pwned === undefined && !document.querySelector('img')")
    copy = browser.find_element("css selector", '#cr-panel [data-role="copy"]').text
    assert copy.endswith("feeds 3 gates, so their gradients sum: 2 + 2 + 1 = 5")
    x = cr.tensor([0.0, 2.0], requires_grad=True)
    with np.errstate(all="ignore"):
        page = cr.viz.html(cr.where(x > 0, x.log(), 0.0).sum())
    open_page(browser, tmp_path, page, "trap.html")
    (bad,) = browser.find_elements("css selector", "g.box.anomaly")
    assert bad.get_attribute("aria-label") == "log"
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", bad)
    assert "where trap" in browser.find_element("css selector", "#cr-panel .anom").text


def test_loads_offline_without_errors_and_draws_something(browser, tmp_path):
    from chainrule import nn
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    X, y = cr.randn(5, 4), cr.tensor([0, 1, 2, 1, 0])
    with cr.viz.record():
        loss = cr.nn.functional.cross_entropy(model(X), y)
    open_page(browser, tmp_path, cr.viz.html(loss, params=dict(model.named_parameters())))
    browser.find_element("id", "cr-next").click()
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    png = tmp_path / "mlp.png"
    assert browser.save_screenshot(str(png))
    from matplotlib import image
    pixels = image.imread(str(png))
    assert pixels.shape[0] > 300 and pixels[..., :3].std() > 0.05   # not blank
    labels = {b.get_attribute("aria-label") for b in browser.find_elements("css selector", "g.box")}
    assert {"0: Linear", "2: Linear", "cross_entropy", "X", "y"} <= labels


def test_forward_mode_steps_the_tangents_of_a_dual_level_graph(browser, tmp_path):
    from selenium.webdriver.support.ui import Select

    from chainrule.autograd import forward_ad as fwAD
    x, y = cr.tensor(3.0, requires_grad=True), cr.tensor(2.0, requires_grad=True)
    with fwAD.dual_level():
        xd = fwAD.make_dual(x, cr.tensor(1.0))
        f = (xd * y).sin() + xd
        page = cr.viz.html(f)   # no tangents=: the page reads them from the graph's tensors
        engine = fwAD.unpack_dual(f).tangent
    open_page(browser, tmp_path, page)
    Select(browser.find_element("id", "cr-mode")).select_by_value("forward")
    status = browser.find_element("id", "cr-status")
    assert status.text == "press next to push tangents forward"
    tangents = lambda: {e.get_attribute("id"): e.find_element("css selector", "text.tan").text  # noqa: E731
                        for e in browser.find_elements("css selector", "g.edge")}
    assert set(tangents().values()) == {""}
    for k in range(4):
        browser.find_element("id", "cr-next").click()
        assert status.text.startswith(f"step {k + 1} of 4")
    assert status.text.endswith(": tangent out = JVP of f = t2 + xd = 2.721")
    shown = sorted(t for t in tangents().values() if t)
    assert shown == sorted(f"tangent {v}" for v in ("1", "1", "2", format_value(np.cos(6.0) * 2),
                                                    format_value(engine._data)))
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
