"""Run on N MPI ranks by tests/nn/test_norm_family.py: SyncBatchNorm on each rank's share of a batch equals
BatchNorm on the whole batch (outputs, input gradients, summed parameter gradients, running statistics)."""

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn

dist.init_process_group()
rank, size = dist.get_rank(), dist.get_world_size()
x = np.random.default_rng(0).standard_normal((2 * size, 3, 2, 2)) * 3 + 5
g = np.random.default_rng(1).standard_normal(x.shape)
mine = slice(2 * rank, 2 * rank + 2)

full = nn.BatchNorm2d(3).double()
sync = nn.SyncBatchNorm(3).double()
a, b = cr.tensor(x, requires_grad=True), cr.tensor(x[mine], requires_grad=True)
out_full, out_sync = full(a), sync(b)
out_full.backward(cr.tensor(g))
out_sync.backward(cr.tensor(g[mine]))
weight_grad = sync.weight.grad.clone()
dist.all_reduce(weight_grad)
failures = [name for name, got, expected in [
    ("output", out_sync, out_full[mine]), ("input grad", b.grad, a.grad[mine]),
    ("weight grad", weight_grad, full.weight.grad),
    ("running_mean", sync.running_mean, full.running_mean), ("running_var", sync.running_var, full.running_var)]
    if not np.allclose(got.detach().numpy(), expected.detach().numpy(), atol=1e-10)]
if rank == 0:
    print("failures:", failures) if failures else print(f"sync batchnorm checks passed on {size} ranks")
