"""Every collective on real MPI ranks against NumPy (the checks live in workers/collectives.py)."""

import pytest

import chainrule as cr
import chainrule.distributed as dist

from .launch import needs_mpi, run_ranks


@needs_mpi
@pytest.mark.parametrize("nproc", [2, 3])
def test_every_collective_matches_numpy(nproc):
    result = run_ranks(nproc, "collectives.py")
    assert result.returncode == 0, result.stderr
    assert f"checks passed on {nproc} ranks" in result.stdout


def test_collective_before_init_raises_torchs_error():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.all_reduce(cr.ones(2))
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    assert not dist.is_initialized()


def test_only_the_mpi_backend():
    with pytest.raises(ValueError, match="backend must be 'mpi'"):
        dist.init_process_group("nccl")
