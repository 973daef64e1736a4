"""A failing rank or disagreeing ranks end the whole job promptly, with the error printed."""

import time

import pytest

from .launch import needs_mpi, run_ranks


@needs_mpi
@pytest.mark.parametrize("fault, message", [
    ("raise", "ValueError: rank 1 fails on purpose"),
    ("shapes", "all_reduce: the ranks disagree (rank 0 called all_reduce with shape (2,) float32, SUM; "
               "rank 1 called all_reduce with shape (3,) float32, SUM)"),
])
def test_fault_ends_the_job(fault, message):
    start = time.monotonic()
    result = run_ranks(2, "fault.py", fault, timeout=30)
    assert time.monotonic() - start < 20
    assert result.returncode != 0
    assert message in result.stderr
    assert "unreachable" not in result.stdout
