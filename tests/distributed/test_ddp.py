"""DistributedDataParallel on 2 real ranks against one process on the concatenated batch (workers/ddp.py)."""

from .launch import needs_mpi, run_ranks


@needs_mpi
def test_ddp_matches_one_process_on_the_whole_batch():
    # SGD and Adam, several buckets, no_sync accumulation, gradient_as_bucket_view (with both kinds of
    # zero_grad), large parameters reduced in their own arrays, chainrule.compile of the module and of the whole
    # step (a graph break), unused parameters, BatchNorm buffers, and the
    # errors for an unfinished reduction and for models that differ across ranks
    result = run_ranks(2, "ddp.py")
    assert result.returncode == 0, result.stderr
    assert "17 DDP checks passed" in result.stdout
