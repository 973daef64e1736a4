"""DistributedDataParallel on 2 ranks against one process on the concatenated batch; rank 0 reports."""

import sys
import warnings

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn
from chainrule.nn.parallel import DistributedDataParallel as DDP

cr.set_default_dtype(cr.float64)
dist.init_process_group()
rank, size = dist.get_rank(), dist.get_world_size()
B, STEPS = 4, 3
rng = np.random.default_rng(0)
X = cr.tensor(rng.standard_normal((STEPS, 2, size * B, 6)))  # step, micro-batch, samples, features
Y = cr.tensor(rng.standard_normal((STEPS, 2, size * B, 2)))
mine = slice(rank * B, (rank + 1) * B)
failures, checks = [], []


def mlp(seed, batchnorm=False):
    cr.manual_seed(seed)
    layers = [nn.Linear(6, 16), nn.BatchNorm1d(16)] if batchnorm else [nn.Linear(6, 16)]
    return nn.Sequential(*layers, nn.Tanh(), nn.Linear(16, 2))


def compare(name, ddp_model, ref_model):
    checks.append(name)
    got, want = ddp_model.module.state_dict(), ref_model.state_dict()
    for key in want:
        if not np.allclose(got[key].numpy(), want[key].numpy(), rtol=1e-10, atol=1e-12):
            failures.append(f"rank {rank} {name}: {key} differs by "
                            f"{np.abs(got[key].numpy() - want[key].numpy()).max():.3g}")


def mse(out, y):
    return ((out - y) ** 2).mean()


def train_pair(name, optimizer, accumulate=False, set_to_none=True, **ddp_options):
    # NOTE: every rank starts from different weights; DDP must copy rank 0's (seed 0) to all.
    model = DDP(mlp(rank), **ddp_options)
    ref = mlp(0)
    opt, ref_opt = optimizer(model.parameters()), optimizer(ref.parameters())
    for step in range(STEPS):
        opt.zero_grad(set_to_none=set_to_none)
        ref_opt.zero_grad(set_to_none=set_to_none)
        if accumulate:
            with model.no_sync():
                mse(model(X[step, 0, mine]), Y[step, 0, mine]).backward()
            mse(model(X[step, 1, mine]), Y[step, 1, mine]).backward()
            for micro in range(2):
                mse(ref(X[step, micro]), Y[step, micro]).backward()
        else:
            mse(model(X[step, 0, mine]), Y[step, 0, mine]).backward()
            mse(ref(X[step, 0]), Y[step, 0]).backward()
        opt.step()
        ref_opt.step()
    compare(name, model, ref)
    return model


def sgd(params):
    return cr.optim.SGD(params, lr=0.1, momentum=0.9)


def adam(params):
    return cr.optim.Adam(params, lr=0.01)


train_pair("SGD", sgd)
model = train_pair("Adam, a bucket per few parameters", adam, bucket_cap_mb=0.0001)
checks.append("several buckets")
if len(model.reducer.buckets) < 3:
    failures.append(f"expected several buckets, got {len(model.reducer.buckets)}")
train_pair("SGD with no_sync accumulation", sgd, accumulate=True)
train_pair("Adam with no_sync accumulation", adam, accumulate=True)
for set_to_none in (True, False):
    model = train_pair(f"gradient_as_bucket_view, zero_grad(set_to_none={set_to_none}), no_sync", sgd,
                       accumulate=True, set_to_none=set_to_none, gradient_as_bucket_view=True, bucket_cap_mb=0.0001)
    checks.append("gradients are views of the buckets")
    for bucket in model.reducer.buckets:
        for p in bucket.params:
            if not np.shares_memory(p.grad.numpy(), bucket.flat):
                failures.append("a gradient is not a view of its bucket under gradient_as_bucket_view")

# a parameter of 1 MB or more has a bucket of its own and is averaged in its gradient's own array
cr.manual_seed(rank)
big = DDP(nn.Sequential(nn.Linear(6, 400), nn.Tanh(), nn.Linear(400, 400), nn.Tanh(), nn.Linear(400, 2)))
cr.manual_seed(5)
ref = nn.Sequential(nn.Linear(6, 400), nn.Tanh(), nn.Linear(400, 400), nn.Tanh(), nn.Linear(400, 2))
ref.load_state_dict(big.module.state_dict())
opt, ref_opt = sgd(big.parameters()), sgd(ref.parameters())
for step in range(STEPS):
    opt.zero_grad()
    ref_opt.zero_grad()
    mse(big(X[step, 0, mine]), Y[step, 0, mine]).backward()
    mse(ref(X[step, 0]), Y[step, 0]).backward()
    opt.step()
    ref_opt.step()
compare("large parameters reduced in place", big, ref)
alone = [b for b in big.reducer.buckets if b.params[0] is big.module[2].weight]
if len(alone) != 1 or len(alone[0].params) != 1 or not alone[0].in_place or "flat" in vars(alone[0]):
    failures.append("the 1.28 MB weight was not all-reduced in its own gradient array (or a flat buffer was made)")


def compiled_pair(whole_step):
    # chainrule.compile with DDP: a compiled module inside DDP runs its forward and backward as generated code
    # (the gradients still reach the hooks); a compiled step containing DDP's backward cannot hold the MPI calls,
    # so it breaks the graph and runs eagerly, with a warning, never without the all-reduce.
    inner = mlp(rank)
    if not whole_step:
        inner.compile()
    model, ref = DDP(inner), mlp(0)
    opt, ref_opt = sgd(model.parameters()), sgd(ref.parameters())

    def step(x, y):
        opt.zero_grad()
        mse(model(x), y).backward()
        opt.step()

    run = cr.compile(step) if whole_step else step
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(STEPS):
            run(X[i, 0, mine], Y[i, 0, mine])
            ref_opt.zero_grad()
            mse(ref(X[i, 0]), Y[i, 0]).backward()
            ref_opt.step()
    compare(f"chainrule.compile ({'the whole step' if whole_step else 'the module'})", model, ref)
    broke = [w for w in caught if "graph break" in str(w.message) and "all-reduce" in str(w.message)]
    if whole_step and (len(broke) != 1 or run.stats.compiles != 0):
        failures.append(f"a compiled step with DDP did not fall back once with a warning: {broke}, {run.stats}")


compiled_pair(whole_step=False)
compiled_pair(whole_step=True)


class Branchy(nn.Module):
    """``extra`` is used on rank 0 only and ``never`` by no rank."""

    def __init__(self):
        super().__init__()
        self.body, self.extra, self.never = mlp(0), nn.Linear(2, 2), nn.Linear(2, 2)

    def forward(self, x, use_extra):
        out = self.body(x)
        return self.extra(out) if use_extra else out


cr.manual_seed(1)
model = DDP(Branchy(), find_unused_parameters=True)
cr.manual_seed(1)
ref = Branchy()
opt, ref_opt = sgd(model.parameters()), sgd(ref.parameters())
for step in range(STEPS):
    opt.zero_grad()
    ref_opt.zero_grad()
    mse(model(X[step, 0, mine], rank == 0), Y[step, 0, mine]).backward()
    # NOTE: DDP averages per-rank gradients, so the reference averages the per-rank losses.
    halves = [mse(ref(X[step, 0, r * B:(r + 1) * B], r == 0), Y[step, 0, r * B:(r + 1) * B]) for r in range(size)]
    (sum(halves) / size).backward()
    opt.step()
    ref_opt.step()
compare("unused parameters", model, ref)
checks.append("a parameter no rank used keeps grad None")
if model.module.never.weight.grad is not None:
    failures.append("never.weight got a gradient")

# BatchNorm: each rank normalises its own batch; rank 0's running statistics are broadcast at every forward.
model, ref = DDP(mlp(rank, batchnorm=True)), mlp(0, batchnorm=True)
opt, ref_opt = sgd(model.parameters()), sgd(ref.parameters())
for step in range(STEPS):
    opt.zero_grad()
    ref_opt.zero_grad()
    mse(model(X[step, 0, mine]), Y[step, 0, mine]).backward()
    saved = [t.clone() for t in ref.buffers()]
    others = [mse(ref(X[step, 0, r * B:(r + 1) * B]), Y[step, 0, r * B:(r + 1) * B]) for r in range(1, size)]
    for t, value in zip(ref.buffers(), saved):
        t.copy_(value)  # NOTE: the surviving statistics are rank 0's
    ((mse(ref(X[step, 0, :B]), Y[step, 0, :B]) + sum(others)) / size).backward()
    opt.step()
    ref_opt.step()
model.eval()
model(X[0, 0, mine])  # an eval forward brings rank 0's running statistics to every rank
compare("BatchNorm buffers", model, ref)

# a parameter unused without find_unused_parameters: the next forward says which
model = DDP(Branchy())
model(X[0, 0, mine], False).sum().backward()
checks.append("unused parameter error")
try:
    model(X[0, 0, mine], False)
    failures.append("no error for an unfinished reduction")
except RuntimeError as error:
    if "extra.weight" not in str(error) or "find_unused_parameters=True" not in str(error):
        failures.append(f"unhelpful error: {error}")

# models that differ across ranks are refused on every rank, naming the parameter and both shapes
checks.append("mismatched models")
try:
    DDP(nn.Linear(3 + rank, 2))
    failures.append("no error for models that differ across ranks")
except RuntimeError as error:
    if "weight has shape (2, 3) float64 on rank" not in str(error) or "(2, 4)" not in str(error):
        failures.append(f"unhelpful error: {error}")

if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
if rank == 0:
    print(f"{len(checks)} DDP checks passed")
