"""Factories and torch-level helpers of issue 13: logspace, asarray/from_numpy/frombuffer memory sharing,
empty_strided, tril/triu_indices, the window functions, inference_mode, threads and the small predicates."""

import array
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr


def test_logspace():
    np.testing.assert_allclose(cr.logspace(0, 2, 3).numpy(), [1.0, 10.0, 100.0])
    assert cr.logspace(0, 2, 3, base=2, dtype=cr.int64).tolist() == [1, 2, 4]
    assert cr.logspace(1, 1, 1).tolist() == [10.0] and cr.logspace(0, 1, 0).shape == (0,)
    assert cr.logspace(0, 1, 5, dtype=cr.float64).dtype == cr.float64
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        cr.logspace(0, 2, -1)


def test_full_like_and_empty_strided():
    assert cr.full_like(cr.ones(2), 3).tolist() == [3.0, 3.0]
    ints = cr.full_like(cr.ones(2, dtype=cr.int64), 3.7)
    assert ints.dtype == cr.int64 and ints.tolist() == [3, 3]
    assert cr.full_like(cr.ones(2), 1, dtype=cr.float64).dtype == cr.float64
    e = cr.empty_strided((2, 3), (1, 2))
    assert e.shape == (2, 3) and e.dtype == cr.float32
    with pytest.raises(RuntimeError, match="mismatch in length of strides"):
        cr.empty_strided((2, 3), (1,))


def test_from_numpy_and_asarray_share_memory():
    a = np.arange(3.0)
    t = cr.from_numpy(a)
    a[0] = 9.0
    assert t[0].item() == 9.0
    shared = cr.asarray(a)
    a[1] = 8.0
    assert shared.dtype == cr.float64 and shared[1].item() == 8.0
    converted = cr.asarray(a, dtype=cr.float32)
    copied = cr.asarray(a, copy=True)
    a[2] = 7.0
    assert converted[2].item() == 2.0 and copied[2].item() == 2.0
    with pytest.raises(ValueError, match="can't alias"):
        cr.asarray(a, dtype=cr.float32, copy=False)
    assert cr.asarray([1, 2.5]).tolist() == [1.0, 2.5] and cr.asarray(3).dtype == cr.int64
    with pytest.raises(ValueError, match="can't alias"):
        cr.asarray([1.0], copy=False)


def test_asarray_of_tensors():
    x = cr.ones(2)
    assert cr.asarray(x) is x
    assert cr.asarray(x, copy=True) is not x and cr.asarray(x, dtype=cr.float64).dtype == cr.float64
    y = cr.asarray(x, requires_grad=True)
    assert y.requires_grad and not x.requires_grad
    w = cr.ones(2, requires_grad=True)
    assert cr.asarray(w).requires_grad and not cr.asarray(w, requires_grad=False).requires_grad
    with pytest.raises(ValueError, match="can't alias tensor"):
        cr.asarray(x, dtype=cr.float64, copy=False)


def test_frombuffer():
    b = bytearray(b"\x01\x00\x00\x00\x02\x00\x00\x00")
    t = cr.frombuffer(b, dtype=cr.int32)
    assert t.tolist() == [1, 2] and t.dtype == cr.int32
    b[0] = 5
    assert t[0].item() == 5  # shares the buffer
    assert cr.frombuffer(b, dtype=cr.int32, count=1, offset=4).tolist() == [2]
    assert cr.frombuffer(array.array("d", [1.5, 2.5]), dtype=cr.float64).tolist() == [1.5, 2.5]
    with pytest.raises(RuntimeError, match="read-only"):
        cr.frombuffer(b"\x00\x00\x00\x00", dtype=cr.int32).add_(1)
    with pytest.raises(ValueError, match="multiple of element size"):
        cr.frombuffer(b, dtype=cr.int64, offset=1)
    with pytest.raises(ValueError, match="must not be 0"):
        cr.frombuffer(bytearray(), dtype=cr.int32)
    with pytest.raises(ValueError, match="must not be greater than actual buffer length"):
        cr.frombuffer(b, dtype=cr.int32, count=3)


def test_tril_and_triu_indices():
    assert cr.tril_indices(3, 4, 1).tolist() == [[0, 0, 1, 1, 1, 2, 2, 2, 2], [0, 1, 0, 1, 2, 0, 1, 2, 3]]
    assert cr.triu_indices(3, 2, -1).tolist() == [[0, 0, 1, 1, 2], [0, 1, 0, 1, 1]]
    assert cr.tril_indices(3, 3, dtype=cr.int32).dtype == cr.int32 and cr.tril_indices(0, 3).shape == (2, 0)
    with pytest.raises(NotImplementedError, match="not implemented for 'chainrule.float32'"):
        cr.tril_indices(3, 3, dtype=cr.float32)
    with pytest.raises(RuntimeError, match="non-negative"):
        cr.triu_indices(-1, 2)


def _periodic(n, symmetric):
    return symmetric(n + 1)[:-1]


@pytest.mark.parametrize("name, symmetric", [
    ("hann_window", lambda n: 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / (n - 1))),
    ("hamming_window", np.hamming),
    ("blackman_window", np.blackman),
    ("bartlett_window", np.bartlett),
    ("kaiser_window", lambda n: np.kaiser(n, 12.0)),
])
def test_windows(name, symmetric):
    fn = getattr(cr, name)
    np.testing.assert_allclose(fn(7, periodic=False, dtype=cr.float64).numpy(), symmetric(7), atol=1e-12)
    np.testing.assert_allclose(fn(8, dtype=cr.float64).numpy(), _periodic(8, symmetric), atol=1e-12)
    assert fn(5).dtype == cr.float32 and fn(1).tolist() == [1.0] and fn(0).shape == (0,)
    assert fn(4, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="expects floating point dtypes"):
        fn(4, dtype=cr.int64)
    with pytest.raises(RuntimeError, match="non-negative window_length"):
        fn(-1)


def test_window_parameters():
    np.testing.assert_allclose(cr.hamming_window(5, False, alpha=0.5, beta=0.5).numpy(), [0, 0.5, 1, 0.5, 0],
                               atol=1e-7)
    np.testing.assert_allclose(cr.kaiser_window(5, False, beta=5.0).numpy(), np.kaiser(5, 5.0), rtol=1e-6)
    np.testing.assert_allclose(cr.hann_window(4).numpy(), [0.0, 0.5, 1.0, 0.5], atol=1e-7)


def test_windows_against_torch_when_available():
    torch = pytest.importorskip("torch")
    for name in ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"):
        for periodic in (True, False):
            expected = getattr(torch, name)(9, periodic, dtype=torch.float64).numpy()
            np.testing.assert_allclose(getattr(cr, name)(9, periodic, dtype=cr.float64).numpy(), expected,
                                       atol=1e-12)


def test_inference_mode():
    x = cr.ones(2, requires_grad=True)
    with cr.inference_mode():
        assert cr.is_inference_mode_enabled() and not cr.is_grad_enabled()
        assert not (x * 2).requires_grad
        with cr.inference_mode(False):
            assert not cr.is_inference_mode_enabled()
    assert not cr.is_inference_mode_enabled() and cr.is_grad_enabled()

    @cr.inference_mode
    def bare():
        return cr.is_inference_mode_enabled(), (x * 2).requires_grad

    @cr.inference_mode()
    def called():
        return cr.is_inference_mode_enabled()

    assert bare() == (True, False) and called() and (x * 2).requires_grad


def test_threads():
    before = cr.get_num_threads()
    assert isinstance(before, int) and before >= 1
    try:
        cr.set_num_threads(1)
        assert cr.get_num_threads() == 1
    finally:
        cr.set_num_threads(before)
    with pytest.raises(RuntimeError, match="positive integer"):
        cr.set_num_threads(0)
    with pytest.raises(TypeError):
        cr.set_num_threads(1.5)
    assert cr.get_num_interop_threads() == 1
    cr.set_num_interop_threads(2)
    with pytest.raises(RuntimeError, match="set_num_interop_threads expects a positive integer"):
        cr.set_num_interop_threads(-1)


def test_set_num_threads_limits_numpys_own_blas():
    # NumPy's OpenBLAS is controlled directly (no threadpoolctl needed); another package's copy is left alone.
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from chainrule._threads import _openblas

    if _openblas() is None:
        pytest.skip("NumPy's BLAS here is not an OpenBLAS this process can reach")
    numpy_dir = os.path.dirname(np.__file__)
    before = cr.get_num_threads()
    try:
        cr.set_num_threads(1)
        pools = {p["filepath"]: p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"}
        assert [n for path, n in pools.items() if path.startswith(numpy_dir)] == [1]
    finally:
        cr.set_num_threads(before)


def test_predicates_and_version():
    t = cr.ones(2, 3)
    assert cr.is_tensor(t) and not cr.is_tensor(np.ones(2)) and cr.is_tensor(cr.nn.Parameter(cr.ones(1)))
    assert cr.is_floating_point(t) and not cr.is_floating_point(cr.ones(1, dtype=cr.int64))
    assert not cr.is_complex(t) and not t.is_complex()
    assert cr.numel(t) == t.numel() == 6
    assert isinstance(cr.__version__, str) and cr.__version__.count(".") >= 1
    assert math.isfinite(cr.randn(1).item())


@pytest.mark.parametrize("environment, expected", [({}, 1), ({"OPENBLAS_NUM_THREADS": "2"}, 2)])
def test_default_is_one_blas_thread_unless_the_environment_chose(environment, expected):
    # chainrule's default keeps a loaded machine steady (docs/benchmarks.md); a count in the environment wins.
    from chainrule._threads import THREAD_VARIABLES, _openblas

    if _openblas() is None:
        pytest.skip("NumPy's BLAS here is not an OpenBLAS this process can reach")
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES} | environment
    code = "import chainrule; print(chainrule.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert int(out.stdout) == min(expected, os.cpu_count())  # NOTE: OpenBLAS caps a count at the cores it has
