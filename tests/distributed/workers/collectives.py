"""Every collective against NumPy, for float32, float64 and int64; rank 0 prints failures and the count of checks."""

import sys

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule.distributed.nn import functional as dfn

dist.init_process_group()
rank, size = dist.get_rank(), dist.get_world_size()
checks, failures = [], []


def value(r, dtype, shape=(2, 3), offset=0):
    """Rank r's input: distinct per rank, exact in every dtype."""
    return (np.arange(np.prod(shape)).reshape(shape) + 10 * r + offset + 1).astype(dtype)


def check(name, got, expected):
    checks.append(name)
    got = got.numpy() if isinstance(got, cr.Tensor) else got
    if got.dtype != np.asarray(expected).dtype or not np.allclose(got, expected, rtol=1e-6):
        failures.append(f"rank {rank} {name}: got {got!r}, expected {expected!r}")


everyone = [value(r, "float64") for r in range(size)]
for dtype in ("float32", "float64", "int64"):
    mine = value(rank, dtype)
    all_inputs = [value(r, dtype) for r in range(size)]
    reductions = {dist.ReduceOp.SUM: np.sum, dist.ReduceOp.PRODUCT: np.prod, dist.ReduceOp.MAX: np.max,
                  dist.ReduceOp.MIN: np.min}
    if dtype != "int64":
        reductions[dist.ReduceOp.AVG] = np.mean
    for op, fn in reductions.items():
        expected = fn(np.stack(all_inputs), axis=0).astype(dtype)
        t = cr.tensor(mine)
        dist.all_reduce(t, op=op)
        check(f"all_reduce {op.name} {dtype}", t, expected)
        t = cr.tensor(mine)
        dist.reduce(t, dst=size - 1, op=op)
        check(f"reduce {op.name} {dtype}", t, expected if rank == size - 1 else mine)
        out = cr.tensor(np.zeros((1, 3), dtype))
        big = cr.tensor(np.concatenate([value(rank, dtype, (1, 3), j) for j in range(size)]))
        dist.reduce_scatter_tensor(out, big, op=op)
        check(f"reduce_scatter_tensor {op.name} {dtype}", out,
              fn(np.stack([value(r, dtype, (1, 3), rank) for r in range(size)]), axis=0).astype(dtype))
    if dtype == "int64":
        try:
            dist.all_reduce(cr.tensor(mine), op=dist.ReduceOp.AVG)
            failures.append("all_reduce AVG on int64 did not raise")
        except ValueError as error:
            check("AVG needs floats", np.array("floating" in str(error)), np.array(True))

    t = cr.tensor(mine)
    work = dist.all_reduce(t, async_op=True)
    work.wait()
    check(f"all_reduce async {dtype}", t, np.sum(np.stack(all_inputs), axis=0).astype(dtype))
    check("is_completed after wait", np.array(work.is_completed()), np.array(True))

    t = cr.tensor(mine)
    dist.broadcast(t, src=size - 1)
    check(f"broadcast {dtype}", t, all_inputs[-1])

    outs = [cr.tensor(np.zeros((2, 3), dtype)) for _ in range(size)]
    dist.all_gather(outs, cr.tensor(mine))
    for r in range(size):
        check(f"all_gather {dtype} [{r}]", outs[r], all_inputs[r])
    out = cr.tensor(np.zeros((2 * size, 3), dtype))
    dist.all_gather_into_tensor(out, cr.tensor(mine))
    check(f"all_gather_into_tensor {dtype}", out, np.concatenate(all_inputs))

    out = cr.tensor(np.zeros((2, 3), dtype))
    dist.reduce_scatter(out, [cr.tensor(value(rank, dtype, offset=j)) for j in range(size)])
    check(f"reduce_scatter {dtype}", out, sum(value(r, dtype, offset=rank) for r in range(size)).astype(dtype))

    gathered = [cr.tensor(np.zeros((2, 3), dtype)) for _ in range(size)] if rank == 0 else None
    dist.gather(cr.tensor(mine), gathered, dst=0)
    if rank == 0:
        for r in range(size):
            check(f"gather {dtype} [{r}]", gathered[r], all_inputs[r])

    out = cr.tensor(np.zeros((2, 3), dtype))
    pieces = [cr.tensor(value(0, dtype, offset=100 * j)) for j in range(size)] if rank == 0 else None
    dist.scatter(out, pieces, src=0)
    check(f"scatter {dtype}", out, value(0, dtype, offset=100 * rank))

    # NOTE: rank r sends r + j + 1 elements to rank j, so every pair has a different size.
    sends = [cr.tensor(np.full(rank + j + 1, 100 * rank + j, dtype)) for j in range(size)]
    recvs = [cr.tensor(np.zeros(j + rank + 1, dtype)) for j in range(size)]
    dist.all_to_all(recvs, sends)
    for j in range(size):
        check(f"all_to_all {dtype} from {j}", recvs[j], np.full(j + rank + 1, 100 * j + rank, dtype))
    out = cr.tensor(np.zeros((size, 2), dtype))
    dist.all_to_all_single(out, cr.tensor(np.stack([np.full(2, 10 * rank + j, dtype) for j in range(size)])))
    check(f"all_to_all_single {dtype}", out, np.stack([np.full(2, 10 * j + rank, dtype) for j in range(size)]))

    # point to point: a ring
    t = cr.tensor(np.zeros((2, 3), dtype))
    request = dist.isend(cr.tensor(mine), dst=(rank + 1) % size)
    sender = dist.recv(t, src=None)
    request.wait()
    check(f"send/recv {dtype}", t, all_inputs[(rank - 1) % size])
    check("recv returns the sender", np.array(sender), np.array((rank - 1) % size))
    t = cr.tensor(np.zeros((2, 3), dtype))
    work = dist.irecv(t, src=(rank - 1) % size)
    dist.send(cr.tensor(mine), dst=(rank + 1) % size)
    work.wait()
    check(f"isend/irecv {dtype}", t, all_inputs[(rank - 1) % size])

# a non-contiguous tensor is reduced in place too
t = cr.tensor(value(rank, "float64", (3, 2))).t()
dist.all_reduce(t)
check("all_reduce transposed", t, np.sum(np.stack([value(r, "float64", (3, 2)).T for r in range(size)]), axis=0))

# sub-groups take global ranks
evens = dist.new_group([0, size - 1])
t = cr.tensor(value(rank, "float64"))
dist.all_reduce(t, group=evens)
if rank in (0, size - 1):
    check("new_group all_reduce", t, everyone[0] + everyone[-1])
    check("new_group rank", np.array(dist.get_rank(evens)), np.array(0 if rank == 0 else 1))
else:
    check("outside the group: unchanged", t, everyone[rank])
    check("outside the group: rank -1", np.array(dist.get_rank(evens)), np.array(-1))

objects = [{"rank": rank}] if rank == 1 else [None]
dist.broadcast_object_list(objects, src=1)
check("broadcast_object_list", np.array(objects[0]["rank"]), np.array(1))
gathered = []
dist.all_gather_object(gathered, ("r", rank))
check("all_gather_object", np.array([g[1] for g in gathered]), np.arange(size))

# differentiable collectives: the gradient of a collective is its transpose
x = cr.tensor(value(rank, "float64"), requires_grad=True)
(dfn.all_reduce(x) * float(rank + 1)).sum().backward()
check("d all_reduce", x.grad, np.full((2, 3), float(sum(r + 1 for r in range(size)))))
x = cr.tensor(value(rank, "float64"), requires_grad=True)
(dfn.broadcast(x, src=0) * float(rank + 1)).sum().backward()
check("d broadcast", x.grad, np.full((2, 3), float(sum(r + 1 for r in range(size))) if rank == 0 else 0.0))
x = cr.tensor(value(rank, "float64"), requires_grad=True)
parts = dfn.all_gather(x)
check("all_gather forward", parts[size - 1].detach(), everyone[-1])
sum(p * float(j + 1) for j, p in enumerate(parts)).sum().backward()
check("d all_gather", x.grad, np.full((2, 3), float(size * (rank + 1))))
xs = [cr.tensor(np.full(2, float(rank)), requires_grad=True) for _ in range(size)]
outs = dfn.all_to_all([cr.zeros(2) for _ in range(size)], xs)
sum(o * float(j + 1) for j, o in enumerate(outs)).sum().backward()
for j in range(size):
    check(f"d all_to_all to {j}", xs[j].grad, np.full(2, float(rank + 1)))

dist.barrier()
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
if rank == 0:
    print(f"{len(checks)} checks passed on {size} ranks")
dist.destroy_process_group()
