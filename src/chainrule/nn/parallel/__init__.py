"""``chainrule.nn.parallel``: data-parallel training over ``chainrule.distributed`` ranks."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
