"""Normalisation layers: running statistics updated by hand (momentum, cumulative average), evaluation mode,
buffers and state_dict keys as torch, GroupNorm/InstanceNorm/RMSNorm/LocalResponseNorm closed forms, errors,
and (optionally) torch state_dicts loading with the same outputs and gradients."""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.nn.modules.normalization import _cross_map_window

from ..distributed.launch import needs_mpi
from ..helpers import close

rng = np.random.default_rng(0)


def d(values, requires_grad=False):
    return cr.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# -- batch norm -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm1d, (5, 3)), (nn.BatchNorm1d, (4, 3, 2)),
                                        (nn.BatchNorm2d, (2, 3, 2, 2)), (nn.BatchNorm3d, (2, 3, 2, 1, 2))])
def test_batch_norm_running_statistics_by_hand(cls, shape):
    m = cls(3, momentum=0.2).double()
    x = rng.standard_normal(shape)
    axes = (0,) + tuple(range(2, len(shape)))
    out = m(d(x))
    count = x.size // 3
    close(m.running_mean, 0.8 * 0 + 0.2 * x.mean(axes))
    close(m.running_var, 0.8 * 1 + 0.2 * x.var(axes) * count / (count - 1))  # unbiased
    assert m.num_batches_tracked.item() == 1 and m.num_batches_tracked.dtype == cr.int64
    shape_c = (1, 3) + (1,) * (len(shape) - 2)
    close(out, (x - x.mean(axes).reshape(shape_c)) / np.sqrt(x.var(axes).reshape(shape_c) + 1e-5))
    m.eval()
    mean, var = m.running_mean.numpy().reshape(shape_c), m.running_var.numpy().reshape(shape_c)
    close(m(d(x)), (x - mean) / np.sqrt(var + 1e-5))
    assert m.num_batches_tracked.item() == 1  # evaluation does not count


def test_batch_norm_momentum_none_is_a_cumulative_average():
    m = nn.BatchNorm1d(2, momentum=None).double()
    batches = [rng.standard_normal((4, 2)) for _ in range(3)]
    for x in batches:
        m(d(x))
    close(m.running_mean, np.mean([x.mean(0) for x in batches], 0))
    close(m.running_var, np.mean([x.var(0, ddof=1) for x in batches], 0))
    assert m.num_batches_tracked.item() == 3


def test_batch_norm_without_tracking_uses_batch_statistics_in_eval():
    m = nn.BatchNorm1d(2, track_running_stats=False, affine=False).double().eval()
    x = rng.standard_normal((4, 2))
    close(m(d(x)), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5))
    assert list(m.state_dict()) == [] and m.running_mean is None


def test_batch_norm_state_dict_keys_and_errors():
    assert list(nn.BatchNorm3d(2).state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                                    "num_batches_tracked"]
    assert list(nn.BatchNorm2d(2, bias=False).state_dict()) == ["weight", "running_mean", "running_var",
                                                                "num_batches_tracked"]
    assert repr(nn.BatchNorm3d(2)) == ("BatchNorm3d(2, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                                       "track_running_stats=True)")
    with pytest.raises(ValueError, match="expected 5D input \\(got 4D input\\)"):
        nn.BatchNorm3d(2)(cr.ones(1, 2, 2, 2))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(2)(cr.ones(1, 2))


# -- instance norm ----------------------------------------------------------------------------------------

def test_instance_norm_normalises_each_sample_and_channel():
    x = rng.standard_normal((2, 3, 5))
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    m = nn.InstanceNorm1d(3).double()
    close(m(d(x)), expected)
    close(m.eval()(d(x)), expected)  # no tracked statistics: the instance's own, in eval too
    close(m(d(x[0])), expected[0])  # unbatched (C, L)
    assert list(m.state_dict()) == [] and m.weight is None
    assert repr(m) == "InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)"


def test_instance_norm_running_statistics_by_hand():
    m = nn.InstanceNorm2d(2, track_running_stats=True, affine=True).double()
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    x = rng.standard_normal((3, 2, 2, 2))
    m(d(x))
    per_instance_mean = x.mean((2, 3))
    per_instance_var = x.var((2, 3), ddof=1)
    close(m.running_mean, 0.9 * 0 + 0.1 * per_instance_mean.mean(0))
    close(m.running_var, 0.9 * 1 + 0.1 * per_instance_var.mean(0))
    m.eval()
    mean, var = m.running_mean.numpy()[:, None, None], m.running_var.numpy()[:, None, None]
    close(m(d(x)), (x - mean) / np.sqrt(var + 1e-5))


def test_instance_norm_errors_and_warning():
    with pytest.raises(ValueError, match="expected 2D or 3D input \\(got 4D input\\)"):
        nn.InstanceNorm1d(3)(cr.ones(1, 3, 2, 2))
    with pytest.raises(ValueError, match="expected input's size at dim=1 to match num_features \\(3\\)"):
        nn.InstanceNorm1d(3, affine=True)(cr.ones(2, 4, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(3)(cr.randn(2, 4, 5))
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        F.instance_norm(cr.ones(2, 3, 1))


# -- group, RMS, local response ---------------------------------------------------------------------------

def test_group_norm_by_hand():
    x = rng.standard_normal((2, 4, 3))
    m = nn.GroupNorm(2, 4).double()
    assert [name for name, _ in m.named_parameters()] == ["weight", "bias"]
    close(m.weight, np.ones(4))
    close(m.bias, np.zeros(4))
    groups = x.reshape(2, 2, 6)
    expected = ((groups - groups.mean(-1, keepdims=True)) / np.sqrt(groups.var(-1, keepdims=True) + 1e-5))
    close(m(d(x)), expected.reshape(x.shape))
    assert repr(m) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    with pytest.raises(ValueError, match="num_channels \\(3\\) must be divisible by num_groups \\(2\\)"):
        nn.GroupNorm(2, 3)
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F.group_norm(cr.ones(2, 3, 4), 2)


def test_rms_norm_eps_defaults_to_the_dtype_epsilon():
    x = np.array([[3.0, 4.0]])
    close(F.rms_norm(d(x), (2,), eps=0.0), x / np.sqrt(12.5))
    for np_dtype in (np.float64, np.float32):
        small = cr.tensor(np.array([[1e-4, 0.0]], dtype=np_dtype))
        eps = np.finfo(np_dtype).eps
        close(F.rms_norm(small, [2]), np.array([[1e-4, 0.0]]) / np.sqrt(0.5e-8 + eps), 1e-5)
    m = nn.RMSNorm([2, 2])
    assert [name for name, _ in m.named_parameters()] == ["weight"] and not hasattr(m, "bias")
    assert repr(m) == "RMSNorm((2, 2), eps=None, elementwise_affine=True)"
    assert list(nn.RMSNorm(3, elementwise_affine=False).state_dict()) == []
    with pytest.raises(RuntimeError, match="normalized_shape=\\[2\\]"):
        F.rms_norm(cr.ones(2, 3), (2,))


def test_local_response_norm_by_hand():
    x = rng.standard_normal((1, 3, 2))
    sq = x ** 2
    # size 2: the window of channel c is {c - 1, c} (zero-padded), always divided by 2
    window = np.stack([sq[:, 0] / 2, (sq[:, 0] + sq[:, 1]) / 2, (sq[:, 1] + sq[:, 2]) / 2], 1)
    close(nn.LocalResponseNorm(2, alpha=0.4, beta=0.5, k=2.0)(d(x)), x / (2.0 + 0.4 * window) ** 0.5)
    assert repr(nn.LocalResponseNorm(2)) == "LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)"
    with pytest.raises(ValueError, match="Expected 3D or higher dimensionality input"):
        F.local_response_norm(cr.ones(2, 3), 2)


def test_cross_map_lrn2d_reproduces_torchs_legacy_windows():
    # torch's running sum: channel 3's window drops channel 1 but keeps channel 0 (its off-by-one)
    close(_cross_map_window(4, 3), [[1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 1, 1]])
    x = rng.standard_normal((1, 4, 2, 1))
    sums = np.einsum("cj,njhw->nchw", _cross_map_window(4, 3), x ** 2)
    close(nn.CrossMapLRN2d(3, alpha=0.3, beta=0.5, k=2.0)(d(x)), x * (2.0 + 0.1 * sums) ** -0.5)
    with pytest.raises(ValueError, match="Expected input to be 4D, got 3D instead"):
        nn.CrossMapLRN2d(3)(cr.ones(2, 3, 4))


def test_cross_map_lrn2d_matches_torch_forward():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 7, 3, 2))
    for size in (1, 2, 3, 4, 5):
        ref = torch.nn.CrossMapLRN2d(size, 0.2, 0.75, 1.5)(torch.tensor(x))
        close(nn.CrossMapLRN2d(size, 0.2, 0.75, 1.5)(d(x)), ref.numpy(), 1e-12)
    assert repr(nn.CrossMapLRN2d(3, 0.1, 0.75, 2.0)) == repr(torch.nn.CrossMapLRN2d(3, 0.1, 0.75, 2.0))


def test_sync_batch_norm_is_batch_norm_on_one_process():
    sync, plain = nn.SyncBatchNorm(3, momentum=None).double(), nn.BatchNorm3d(3, momentum=None).double()
    for _ in range(2):
        x = rng.standard_normal((2, 3, 2, 1, 2))
        close(sync(d(x)), plain(d(x)))
    close(sync.running_var, plain.running_var)
    with pytest.raises(ValueError, match="expected at least 2D input \\(got 1D input\\)"):
        sync(cr.ones(3))
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert isinstance(converted[1], nn.SyncBatchNorm) and converted[1].weight is model[1].weight
    assert converted[1].running_mean is model[1].running_mean


@needs_mpi
@pytest.mark.parametrize("nproc", [2, 3])
def test_sync_batch_norm_across_ranks_equals_batch_norm_on_the_whole_batch(nproc):
    worker = Path(__file__).parent / "sync_batchnorm_worker.py"
    result = subprocess.run([sys.executable, "-m", "chainrule.distributed.run", "-n", str(nproc), str(worker)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"sync batchnorm checks passed on {nproc} ranks" in result.stdout, result.stdout


def test_layer_norm_bias_false():
    m = nn.LayerNorm(3, bias=False)
    assert [name for name, _ in m.named_parameters()] == ["weight"] and m.bias is None


# -- optional parity with torch (a torch state_dict loads and gives the same outputs and gradients) --------

CASES = [("BatchNorm1d", (3,), dict(momentum=None), (4, 3, 5)),
         ("BatchNorm3d", (3,), {}, (2, 3, 2, 2, 2)),
         ("InstanceNorm1d", (3,), dict(affine=True, track_running_stats=True), (4, 3, 5)),
         ("InstanceNorm3d", (3,), dict(affine=True), (2, 3, 2, 3, 2)),
         ("GroupNorm", (2, 4), {}, (3, 4, 5)),
         ("LayerNorm", ((4, 5),), {}, (3, 4, 5)),
         ("RMSNorm", (5,), {}, (3, 4, 5)),
         ("LocalResponseNorm", (3,), dict(alpha=0.1), (2, 4, 3))]


@pytest.mark.parametrize("name, args, kwargs, shape", CASES, ids=[c[0] for c in CASES])
def test_torch_state_dict_loads_and_matches(name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape))))
    ours = getattr(nn, name)(*args, **kwargs).double()
    ours.load_state_dict({k: cr.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    for training in (True, True, False):
        ours.train(training)
        theirs.train(training)
        x = rng.standard_normal(shape)
        a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out, ref = ours(a), theirs(b)
        close(out, ref.detach().numpy(), 1e-9)
        (out * cr.tensor(np.arange(out.numel(), dtype=np.float64).reshape(tuple(out.shape)))).sum().backward()
        (ref * torch.arange(ref.numel(), dtype=torch.float64).reshape(ref.shape)).sum().backward()
        close(a.grad, b.grad.numpy(), 1e-8)
        for p, q in zip(ours.parameters(), theirs.parameters()):
            close(p.grad, q.grad.numpy(), 1e-8)
            p.grad = None
            q.grad = None
    for key, value in theirs.state_dict().items():
        close(ours.state_dict()[key], value.numpy(), 1e-10)
