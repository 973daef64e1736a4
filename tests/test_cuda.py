"""The "cuda" device on CuPy. Without a GPU (CI has none) only the plumbing and its errors are checked; the
GPU cases skip with their reason and run where ``chainrule.cuda.is_available()``."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

GPU = cr.cuda.is_available()
needs_gpu = pytest.mark.skipif(not GPU, reason="no CUDA GPU with CuPy on this machine (pip install chainrule[cuda])")


@pytest.mark.skipif(GPU, reason="checks the behaviour without a GPU")
def test_without_a_gpu_the_api_answers_as_torch_and_refuses_cuda_tensors_clearly():
    assert cr.cuda.is_available() is False and cr.cuda.device_count() == 0
    assert cr.cuda.memory_allocated() == 0 and cr.cuda.max_memory_allocated() == 0
    cr.cuda.manual_seed(0)
    cr.cuda.manual_seed_all(0)
    cr.cuda.empty_cache()
    with pytest.raises(AssertionError, match="CUDA device is not available"):
        cr.cuda.current_device()
    for make in (lambda: cr.ones(2).cuda(), lambda: cr.ones(2, device="cuda"), lambda: cr.ones(2).to("cuda:0"),
                 lambda: nn.Linear(2, 2).cuda()):
        with pytest.raises(RuntimeError, match=r"pip install chainrule\[cuda\]"):
            make()


def test_device_objects_and_flags():
    assert str(cr.device("cuda:1")) == "cuda:1" and cr.device("cuda", 0) == "cuda:0"
    x = cr.ones(2)
    assert x.cpu() is x and x.is_cpu and not x.is_cuda and not x.is_meta
    with pytest.raises(RuntimeError, match="expected one of cpu, cuda, meta"):
        cr.device("tpu")


def test_tensors_on_two_devices_in_one_op_raise_torchs_error():
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, but found at least two "
                                           "devices, meta and cpu"):
        cr.empty(2, device="meta") * cr.ones(2)
    assert (cr.empty(2, device="meta") * cr.tensor(3.0)).is_meta  # NOTE: a 0-d CPU tensor goes anywhere


@needs_gpu
def test_ops_and_gradients_on_the_gpu_match_the_cpu():
    x = cr.randn(4, 3, dtype=cr.float64)
    w = cr.randn(3, 2, dtype=cr.float64, requires_grad=True)
    wg = w.detach().cuda().requires_grad_(True)
    out_cpu = (x @ w).tanh().sum()
    out_gpu = (x.cuda() @ wg).tanh().sum()
    out_cpu.backward()
    out_gpu.backward()
    assert out_gpu.device == cr.device("cuda:0") and wg.grad.is_cuda
    np.testing.assert_allclose(out_gpu.cpu().item(), out_cpu.item(), rtol=1e-12)
    np.testing.assert_allclose(wg.grad.cpu().numpy(), w.grad.numpy(), rtol=1e-10)
    with pytest.raises(TypeError, match="Use Tensor.cpu"):
        x.cuda().numpy()
    assert "device='cuda:0'" in repr(x.cuda())


@needs_gpu
def test_a_module_and_its_optimizer_train_on_the_gpu():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)).cuda()
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    x, y = cr.randn(32, 8).cuda(), cr.randint(0, 3, (32,)).cuda()
    first = None
    for _ in range(50):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first
    assert all(p.is_cuda for p in model.parameters())
    assert all(v.is_cuda for s in opt.state.values() for v in s.values() if isinstance(v, cr.Tensor))


@needs_gpu
def test_seeded_gpu_randomness_is_reproducible():
    cr.cuda.manual_seed(3)
    a = cr.randn(5, device="cuda")
    cr.cuda.manual_seed(3)
    assert a.cpu().tolist() == cr.randn(5, device="cuda").cpu().tolist()
