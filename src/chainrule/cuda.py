"""``chainrule.cuda``: the "cuda" device, on CuPy (``pip install chainrule[cuda]`` and an NVIDIA GPU), as
``torch.cuda``. Without CuPy or a GPU, ``is_available()`` is False, ``device_count()`` is 0, the memory
counters read 0, seeding does nothing (as torch), and whatever needs a device raises torch's error.
"""

from __future__ import annotations

import importlib

from ._backend import NO_CUDA, cuda_device_count, cuda_is_available

__all__ = ["is_available", "device_count", "current_device", "set_device", "synchronize", "get_device_name",
           "manual_seed", "manual_seed_all", "memory_allocated", "max_memory_allocated", "reset_peak_memory_stats",
           "empty_cache"]

_current = [0]
_peak = [0]


def is_available() -> bool:
    """Whether CuPy is installed and sees a GPU."""
    return cuda_is_available()


def device_count() -> int:
    """The number of GPUs CuPy sees (0 without CuPy)."""
    return cuda_device_count()


def _cupy():
    if not cuda_is_available():
        raise AssertionError(NO_CUDA)
    return importlib.import_module("cupy")


def current_device() -> int:
    """The index of the current GPU."""
    _cupy()
    return _current[0]


def set_device(device) -> None:
    """Make ``device`` (an index, ``"cuda:1"`` or a ``chainrule.device``) the current GPU."""
    cupy = _cupy()
    index = device if isinstance(device, int) else (getattr(device, "index", None) or
                                                    int(str(device).partition(":")[2] or 0))
    if not 0 <= index < device_count():
        raise RuntimeError(f"set_device: invalid device ordinal {index} (there are {device_count()} devices)")
    cupy.cuda.Device(index).use()
    _current[0] = index


def synchronize(device=None) -> None:
    """Wait for all work queued on the GPU to finish."""
    _cupy().cuda.Device(_current[0] if device is None else device).synchronize()


def get_device_name(device=None) -> str:
    """The GPU's name, e.g. ``"NVIDIA H200"``."""
    cupy = _cupy()
    props = cupy.cuda.runtime.getDeviceProperties(_current[0] if device is None else int(device))
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else name


def manual_seed(seed: int) -> None:
    """Seed the current GPU's generator (does nothing without a GPU, as torch)."""
    if cuda_is_available():
        importlib.import_module("cupy").random.seed(int(seed))


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's generator."""
    manual_seed(seed)


def memory_allocated(device=None) -> int:
    """Bytes held by tensors on the GPU (CuPy's memory pool's used bytes; 0 without a GPU)."""
    if not cuda_is_available():
        return 0
    used = importlib.import_module("cupy").get_default_memory_pool().used_bytes()
    _peak[0] = max(_peak[0], used)
    return used


def max_memory_allocated(device=None) -> int:
    """The most bytes held at once since the start or :func:`reset_peak_memory_stats` (as sampled)."""
    memory_allocated(device)
    return _peak[0]


def reset_peak_memory_stats(device=None) -> None:
    _peak[0] = 0


def empty_cache() -> None:
    """Give cached, unused GPU memory back to the driver."""
    if cuda_is_available():
        importlib.import_module("cupy").get_default_memory_pool().free_all_blocks()
