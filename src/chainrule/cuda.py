"""``chainrule.cuda``: there is no GPU backend yet, so ``is_available()`` is False."""

from ._backend import cuda_is_available as is_available

__all__ = ["is_available", "device_count"]


def device_count() -> int:
    return 0
