"""chainrule.utils.benchmark: Timer measurements are sane and print like torch's."""

import pytest

import chainrule as cr
from chainrule.utils import benchmark


def test_timeit_measures_one_block():
    m = benchmark.Timer("y = x * 2", setup="x = 3").timeit(1000)
    assert m.number_per_run == 1000 and len(m.times) == 1
    assert 0 < m.mean == m.median < 1e-3
    assert m.times[0] == pytest.approx(m.raw_times[0] / 1000)
    lines = repr(m).splitlines()
    assert lines[1:] == ["y = x * 2", "setup: x = 3", lines[3], "  1 measurement, 1000 runs , 1 thread"]
    assert lines[3].strip().endswith(("ns", "us"))


def test_blocked_autorange_runs_for_at_least_min_run_time():
    x = cr.randn(16, 16)
    m = benchmark.Timer("x @ x", globals={"x": x}, label="matmul", sub_label="16x16",
                        description="chainrule").blocked_autorange(min_run_time=0.05)
    assert sum(m.raw_times) >= 0.05 and m.number_per_run >= 1
    assert min(m.times) <= m.median <= max(m.times) and min(m.times) <= m.mean <= max(m.times)
    assert m.iqr >= 0 and 1 <= m.significant_figures <= 4
    text = repr(m)
    assert text.startswith("<chainrule.utils.benchmark.Measurement object at")
    assert "matmul: 16x16\nchainrule\n" in text and "Median:" in text and "runs per measurement" in text
    assert m.stmt == "x @ x" and m.label == "matmul" and m.title == "matmul: 16x16"


def test_chainrule_is_in_the_namespace_and_callbacks_see_each_block():
    calls = []
    m = benchmark.Timer("chainrule.zeros(3)").blocked_autorange(
        callback=lambda number, seconds: calls.append((number, seconds)), min_run_time=0.02)
    assert len(calls) == len(m.raw_times) and all(n == m.number_per_run for n, _ in calls)


def test_adaptive_autorange_stops_within_its_budget():
    m = benchmark.Timer("sum(range(50))").adaptive_autorange(min_run_time=0.01, max_run_time=0.3)
    assert len(m.raw_times) >= 1 and sum(m.raw_times) < 1.0


def test_multiline_statement_and_select_unit():
    m = benchmark.Timer("a = 1\nb = 2").timeit(10)
    assert repr(m).splitlines()[1:4] == ["stmt:", "  a = 1", "  b = 2"]
    assert benchmark.select_unit(2.5e-6) == ("us", 1e-6) and benchmark.select_unit(3.0) == ("s", 1.0)


def test_stmt_must_be_a_string():
    with pytest.raises(ValueError, match="only a str stmt"):
        benchmark.Timer(lambda: None)
