"""Timing Python statements as ``torch.utils.benchmark`` does: ``Timer`` and the ``Measurement`` it returns.

Code written for ``torch.utils.benchmark`` runs unchanged with ``chainrule.utils.benchmark``::

    >>> t = Timer("x @ x", setup="x = chainrule.randn(64, 64)")
    >>> m = t.blocked_autorange(min_run_time=0.2)
    >>> m.median          # seconds per run
    >>> print(m)          # a readable summary, as torch's
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
import timeit as _timeit

import chainrule

from .._backend import xp

__all__ = ["Timer", "Measurement", "TaskSpec", "select_unit"]

_MAX_SIGNIFICANT_FIGURES = 4
_MIN_CONFIDENCE_INTERVAL = 25e-9
# A measurement warns when its interquartile range is this large relative to its median.
_IQR_WARN_THRESHOLD = 0.1
_IQR_GROSS_WARN_THRESHOLD = 0.25


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """What was timed: the statement, its setup and the labels shown in a measurement's summary."""

    stmt: str
    setup: str
    label: str | None = None
    sub_label: str | None = None
    description: str | None = None
    env: str | None = None
    num_threads: int = 1

    @property
    def title(self) -> str:
        """The label (or the statement) with the sub-label, as the first line of a summary."""
        sub = f": {self.sub_label}" if self.sub_label else ""
        if self.label is not None:
            return self.label + sub
        if "\n" not in self.stmt:
            return self.stmt + sub
        return f"stmt:{f' ({self.sub_label})' if self.sub_label else ''}\n{textwrap.indent(self.stmt, '  ')}"

    def setup_str(self) -> str:
        if self.setup in ("pass", ""):
            return ""
        if "\n" in self.setup:
            return f"setup:\n{textwrap.indent(self.setup, '  ')}"
        return f"setup: {self.setup}"

    def summarize(self) -> str:
        sections = [self.title, self.description or "", self.setup_str()]
        return "\n".join(f"{s}\n" if "\n" in s else s for s in sections if s)


_TASKSPEC_FIELDS = tuple(field.name for field in dataclasses.fields(TaskSpec))


def select_unit(t: float) -> tuple[str, float]:
    """The unit (ns, us, ms, s) that shows ``t`` seconds with one to three digits before the point."""
    unit = {-3: "ns", -2: "us", -1: "ms"}.get(int(math.log10(t) // 3), "s") if t > 0 else "ns"
    return unit, {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


@dataclasses.dataclass(repr=False)
class Measurement:
    """The result of timing a statement: ``raw_times`` are seconds per block of ``number_per_run`` runs.

    ``times`` are seconds per run; ``median``, ``mean`` and ``iqr`` summarise them. The task's fields
    (``stmt``, ``label``, ``description``, ...) can be read directly on the measurement, as in torch.
    """

    number_per_run: int
    raw_times: list
    task_spec: TaskSpec
    metadata: dict | None = None

    def __getattr__(self, name: str):
        if name in _TASKSPEC_FIELDS:
            return getattr(self.task_spec, name)
        raise AttributeError(f"'Measurement' object has no attribute {name!r}")

    @property
    def times(self) -> list[float]:
        return [t / self.number_per_run for t in self.raw_times]

    def _quantile(self, q: float) -> float:
        return float(xp.quantile(xp.asarray(self.times, dtype=xp.float64), q))

    @property
    def median(self) -> float:
        return self._quantile(0.5)

    @property
    def mean(self) -> float:
        return float(xp.mean(xp.asarray(self.times, dtype=xp.float64)))

    @property
    def iqr(self) -> float:
        return self._quantile(0.75) - self._quantile(0.25)

    @property
    def significant_figures(self) -> int:
        """A rough count of trustworthy digits, from the spread of the middle half of the times."""
        times = sorted(self.times)
        n = len(times)
        middle = xp.asarray(times[n // 4:math.ceil(3 * n / 4)], dtype=xp.float64)
        interval = max(1.645 * float(middle.std()) / math.sqrt(len(middle)), _MIN_CONFIDENCE_INTERVAL)
        figures = math.floor(math.log10(self.median / interval))
        return min(max(figures, 1), _MAX_SIGNIFICANT_FIGURES)

    def meets_confidence(self, threshold: float = _IQR_WARN_THRESHOLD) -> bool:
        return self.iqr / self.median < threshold

    @property
    def _warnings(self) -> list[str]:
        if self.meets_confidence(_IQR_GROSS_WARN_THRESHOLD) and self.meets_confidence(_IQR_WARN_THRESHOLD):
            return []
        gross = not self.meets_confidence(_IQR_GROSS_WARN_THRESHOLD)
        hint = ("This suggests significant environmental influence." if gross
                else "This could indicate system fluctuation.")
        return [f"  WARNING: Interquartile range is {self.iqr / self.median * 100:.1f}% of the median "
                f"measurement.\n           {hint}"]

    @property
    def has_warnings(self) -> bool:
        return bool(self._warnings)

    @property
    def title(self) -> str:
        return self.task_spec.title

    @property
    def env(self) -> str:
        return "Unspecified env" if self.task_spec.env is None else self.task_spec.env

    def __repr__(self) -> str:
        n = len(self.raw_times)
        unit, scale = select_unit(self.median)
        lines = [object.__repr__(self), self.task_spec.summarize(),
                 f"  {'Median: ' if n > 1 else ''}{self.median / scale:.2f} {unit}"]
        if n >= 4:
            lines.append(f"  IQR:    {self.iqr / scale:.2f} {unit} ({self._quantile(0.25) / scale:.2f} to "
                         f"{self._quantile(0.75) / scale:.2f})")
        threads = self.task_spec.num_threads
        lines.append(f"  {n} measurement{'s' if n > 1 else ''}, {self.number_per_run} runs "
                     f"{'per measurement,' if n > 1 else ','} {threads} thread{'s' if threads > 1 else ''}")
        lines.extend(self._warnings)
        return "\n".join(lines)


class Timer:
    """Time a Python statement, as ``torch.utils.benchmark.Timer``.

    Args:
        stmt: the code to time (default ``"pass"``).
        setup: code run once before timing (default ``"pass"``).
        timer: the clock (default :func:`timeit.default_timer`).
        globals: the namespace ``stmt`` and ``setup`` run in; ``chainrule`` is added when missing.
        label, sub_label, description, env: text shown in the measurement's summary.
        num_threads: recorded in the summary; NumPy's own thread pool is not changed.

    Example::

        >>> m = Timer("model(x)", globals={"model": model, "x": x}).blocked_autorange()
        >>> print(f"{m.median * 1e3:.2f} ms")
    """

    def __init__(self, stmt: str = "pass", setup: str = "pass", timer=_timeit.default_timer, globals=None,
                 label: str | None = None, sub_label: str | None = None, description: str | None = None,
                 env: str | None = None, num_threads: int = 1):
        if not isinstance(stmt, str):
            raise ValueError(f"Timer: only a str stmt is supported, got {type(stmt).__name__}")
        namespace = dict(globals or {})
        namespace.setdefault("chainrule", chainrule)
        stmt, setup = _clean(stmt), _clean(setup)
        self._timer = _timeit.Timer(stmt=stmt, setup=setup, timer=timer, globals=namespace)
        self._task_spec = TaskSpec(stmt=stmt, setup=setup, label=label, sub_label=sub_label,
                                   description=description, env=env, num_threads=num_threads)

    def _timeit(self, number: int) -> float:
        return max(self._timer.timeit(number), 1e-9)

    def timeit(self, number: int = 1000000) -> Measurement:
        """Run ``stmt`` ``number`` times (after a short warm-up) and measure the total as one block."""
        self._timeit(max(number // 100, 2))
        return Measurement(number_per_run=number, raw_times=[self._timeit(number)], task_spec=self._task_spec)

    def blocked_autorange(self, callback=None, min_run_time: float = 0.2) -> Measurement:
        """Time blocks of runs until ``min_run_time`` seconds have passed.

        The block size is chosen first so that the timer's own overhead is negligible; each block then gives
        one of the measurement's ``times``. ``callback(number, seconds)`` is called after each block.
        """
        number = self._estimate_block_size(min_run_time)
        times = self._measurement_loop(number, lambda times: True, min_run_time, None, callback)
        return Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01,
                           max_run_time: float = 10.0, callback=None) -> Measurement:
        """Time blocks until the interquartile range is within ``threshold`` of the median, or time is up."""
        number = self._estimate_block_size(min_run_time=0.05)

        def confident(times: list) -> bool:
            return len(times) > 3 and Measurement(number, times, self._task_spec).meets_confidence(threshold)
        times = self._measurement_loop(number, confident, min_run_time, max_run_time, callback)
        return Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def _measurement_loop(self, number: int, can_stop, min_run_time: float, max_run_time, callback) -> list:
        total, times, stop = 0.0, [], False
        while total < min_run_time or not stop:
            spent = self._timeit(number)
            times.append(spent)
            total += spent
            if callback:
                callback(number, spent)
            stop = can_stop(times)
            if max_run_time and total > max_run_time:
                break
        return times

    def _estimate_block_size(self, min_run_time: float) -> int:
        """The smallest power of ten of runs whose time dwarfs the timer's overhead (as torch picks it)."""
        overhead = float(xp.median([self._timeit(0) for _ in range(5)]))
        number = 1
        while True:
            taken = self._timeit(number)
            if overhead / taken <= 1e-4 and taken >= min_run_time / 1000:
                break
            if taken > min_run_time or number * 10 > 2147483647:
                break
            number *= 10
        return number


def _clean(code: str) -> str:
    code = textwrap.dedent(code)
    return (code[1:] if code.startswith("\n") else code).rstrip()
