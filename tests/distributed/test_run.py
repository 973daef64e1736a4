"""The launcher's command line, and a script run without a launcher being a world of one."""

import subprocess
import sys

import pytest

from chainrule.distributed import run

from .launch import needs_mpi


def test_the_launcher_needs_a_script_and_a_positive_count(capsys):
    with pytest.raises(SystemExit) as exit_:
        run.main(["-n", "2"])
    assert exit_.value.code == 2 and "give a script to run, or -m module" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run.main(["-n", "0", "x.py"])
    assert "-n must be at least 1, got 0" in capsys.readouterr().err


def test_mpiexec_comes_from_the_environment_first(monkeypatch, tmp_path):
    fake = tmp_path / "mpiexec"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("MPIEXEC", str(fake))
    assert run.find_mpiexec() == str(fake)


@needs_mpi
def test_without_a_launcher_a_script_is_a_world_of_one():
    code = ("import chainrule as cr, chainrule.distributed as dist; dist.init_process_group(); "
            "t = cr.ones(2); dist.all_reduce(t); print(dist.get_rank(), dist.get_world_size(), t.tolist())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "1", "[1.0,", "1.0]"]
