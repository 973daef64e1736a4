"""The ``chainrule explain`` command, run as a subprocess: the explanation, the drawings, and hostile input
refused with one clean error line (never a traceback, never evaluated)."""

import json
import os
import shutil
import subprocess
import sys

import pytest


def explain(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "chainrule", "explain", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def test_the_lecture_example():
    result = explain("(x + y) * z", "x=-2", "y=5", "z=-4")
    assert result.returncode == 0, result.stderr
    assert "Backward pass of f = -12" in result.stdout
    assert "t1 = x + y = 3  (add)" in result.stdout
    assert "upstream df/dt1 = -4   local dt1/dx = 1   downstream df/dx = 1 * -4 = -4" in result.stdout
    assert "df/dz = 3" in result.stdout
    assert result.stderr == ""


def test_vectors_and_functions():
    result = explain("sigmoid(sum(w * x) + b)", "w=[2, -3]", "x=[-1, -2]", "b=-3")
    assert result.returncode == 0, result.stderr
    assert "sigmoid gate" in result.stdout
    assert "df/dw = [-0.1966, -0.3932]" in result.stdout and "df/db = 0.1966" in result.stdout
    result = explain("max(x, y) * 2", "x=[1, 5]", "y=3")
    assert result.returncode == 0, result.stderr
    assert "note: the result has shape (2,)" in result.stdout and "df/dx = [0, 2]" in result.stdout


def test_writes_svg_and_png(tmp_path):
    if not shutil.which("dot"):
        if os.environ.get("CI"):
            pytest.fail("Graphviz's dot is not installed, and CI must render the drawings (.ci/run installs it)")
        pytest.skip("Graphviz's dot is not installed (apt-get install graphviz)")
    svg, png = tmp_path / "out.svg", tmp_path / "out.png"
    result = explain("(x + y) * z", "x=-2", "y=5", "z=-4", "--svg", str(svg), "--png", str(png))
    assert result.returncode == 0, result.stderr
    assert b"<svg" in svg.read_bytes() and png.read_bytes().startswith(b"\x89PNG")
    assert "grad -4" in svg.read_text().replace("&#45;", "-")


def test_drawing_without_dot_is_one_error_line(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))
    result = explain("x * 2", "x=1", "--svg", str(tmp_path / "out.svg"), env=env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "apt-get install graphviz" in result.stderr
    assert "Traceback" not in result.stderr


HOSTILE = [
    ("x.__class__", "attribute access"),
    ("__import__('os').system('touch HACKED')", "only calls of the allowed functions"),
    ("__import__('os')", "calling '__import__' is not allowed"),
    ("x[0]", "indexing"),
    ("(lambda: 1)() + x", "allowed"),
    ("[a for a in x]", "comprehension"),
    ("open('/etc/passwd') * x", "calling 'open' is not allowed"),
    ("exp(x=1)", "keyword arguments"),
    ("x * 2**99999999", "exponent 99999999 is too large"),
    ("x * 1" + "0" * 40, "too large"),
    ("(" * 250 + "x" + ")" * 250, "not a valid expression"),
    ("((x))", "has no operation to explain"),
    ("-" * 200 + "x", "nested more than"),
    ("x + " * 300 + "x", "characters long"),
    ("x * y", "no value for y"),
    ("x if x else 1", "conditional"),
    ("'a' * x", "only numbers"),
    ("x @ x", "operator @"),
    ("x +", "not a valid expression"),
    ("exp(x, x)", "exp() takes 1 argument, got 2"),
    ("max(x, x, x)", "max() takes 1 or 2 arguments, got 3"),
    ("x ^ 2", "for a power write **, e.g. x**2"),
    ("x</script><script>alert(1)", "not a valid expression"),
]
BAD_VALUES = [
    (["x=__import__('os')"], "must be a number or a list of numbers"),
    (["x=[1, [2]]"], "flat list"),
    (["x=1e999"], "must be finite"),
    (["x=1", "x=2"], "given twice"),
    (["y=1"], "not a variable of the expression"),
    (["x"], "expected NAME=VALUE"),
]

# NOTE: one interpreter runs the CLI's entry point on every case (a process per case would cost a second
# each); anything escaping main() is reported as a traceback. Two cases also run as real commands below.
DRIVER = """
import contextlib, io, json, sys, traceback
from chainrule.cli import main
results = []
for argv in json.loads(sys.stdin.read()):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:
            code = exit.code
        except BaseException:
            code = None
            err.write(traceback.format_exc())
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def refused(tmp_path_factory):
    cases = [["explain", expression, "x=1"] for expression, _ in HOSTILE]
    cases += [["explain", "x * 2", *values] for values, _ in BAD_VALUES]
    cwd = tmp_path_factory.mktemp("cli")
    result = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(cases), capture_output=True,
                            text=True, cwd=cwd, timeout=300)
    assert result.returncode == 0, result.stderr
    assert not (cwd / "HACKED").exists()
    return json.loads(result.stdout)


def assert_one_clean_error_line(code, stdout, stderr, words):
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1 and stderr.startswith("chainrule explain: error: ")
    assert words in stderr
    assert stdout == ""


@pytest.mark.parametrize("k", range(len(HOSTILE)), ids=[f"hostile{k}" for k in range(len(HOSTILE))])
def test_hostile_expressions_are_refused_cleanly(refused, k):
    assert_one_clean_error_line(*refused[k], HOSTILE[k][1])


@pytest.mark.parametrize("k", range(len(BAD_VALUES)), ids=[f"value{k}" for k in range(len(BAD_VALUES))])
def test_bad_values_are_refused_cleanly(refused, k):
    assert_one_clean_error_line(*refused[len(HOSTILE) + k], BAD_VALUES[k][1])


@pytest.mark.parametrize("expression", ["__import__('os').system('touch HACKED')", "-" * 200 + "x"])
def test_hostile_expressions_as_real_commands(tmp_path, expression):
    result = explain(expression, "x=1", cwd=tmp_path)
    assert_one_clean_error_line(result.returncode, result.stdout, result.stderr, "")
    assert not (tmp_path / "HACKED").exists()


def test_a_leading_minus_is_an_expression_and_a_failure_while_computing_is_status_1():
    result = explain("-x*y", "x=[1, 2, 3]", "y=[1, 2]")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "cannot be broadcast" in result.stderr


def test_numbered_left_to_right_as_python_does():
    result = explain("x*y + z*w", "x=1", "y=2", "z=3", "w=4")
    assert result.returncode == 0, result.stderr
    import chainrule as cr
    x, y, z, w = (cr.tensor(v, requires_grad=True, dtype=cr.float64) for v in (1.0, 2.0, 3.0, 4.0))
    text = str(cr.explain(x * y + z * w))
    for line in ("t1 = x * y = 2  (mul)", "t2 = z * w = 12  (mul)", "f = t1 + t2 = 14  (add)"):
        assert line in result.stdout and line in text
    leaves = lambda out: [ln.split(" =")[0].strip() for ln in out.split("Leaf gradients:")[1].splitlines()[1:]]  # noqa: E731
    assert leaves(result.stdout) == leaves(text) == ["df/dx", "df/dy", "df/dz", "df/dw"]


def test_every_line_shows_its_value_max_reduces_and_no_numpy_warnings(tmp_path):
    result = explain("2*(x*y + max(z, w))", "x=3", "y=-4", "z=2", "w=-1")
    assert "t1 = x * y = -12  (mul)" in result.stdout and "t2 = maximum(z, w) = 2  (maximum)" in result.stdout
    assert "t3 = t1 + t2 = -10  (add)" in result.stdout and "f = 2 * t3 = -20  (mul)" in result.stdout
    result = explain("max(x)", "x=[1,3,3]")
    assert result.returncode == 0, result.stderr
    assert "f = max(x) = 3" in result.stdout and "df/dx = [0, 0.5, 0.5]" in result.stdout
    result = explain("log(x) + exp(y)", "x=0", "y=1000", "--svg", str(tmp_path / "g.svg"), "--html",
                     str(tmp_path / "g.html"))
    assert result.returncode == 0 and result.stderr == ""   # no RuntimeWarning with internal paths
    assert "!! t1 = log(x) = -inf" in result.stdout


def test_a_hostile_expression_writes_no_page(tmp_path):
    page = tmp_path / "x.html"
    result = explain("x<script>", "x=1", "--html", str(page))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and not page.exists()


def test_the_bare_command_points_to_the_subcommands_and_has_a_version():
    bare = subprocess.run([sys.executable, "-m", "chainrule"], capture_output=True, text=True, timeout=120)
    assert "f = (x + y) * z" in bare.stdout and "commands: train, explain" in bare.stdout
    version = subprocess.run([sys.executable, "-m", "chainrule", "--version"], capture_output=True, text=True,
                             timeout=120)
    import chainrule
    assert version.returncode == 0 and version.stdout.strip() == f"chainrule {chainrule.__version__}"
