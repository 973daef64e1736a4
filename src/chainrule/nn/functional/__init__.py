"""``chainrule.nn.functional``: the function form of every layer, activation and loss (``import ... as F``).

Mirrors ``torch.nn.functional``: same names, arguments and defaults. Everything here is built from
differentiable chainrule ops, so gradients (and gradients of gradients) come for free. Each family module
lists its names in ``__all__``; this package exports them all.
"""

import importlib

from ...ops._primitive import checking_tensors
from ...ops.conv import fold, unfold
from ...ops.join import pad

_FAMILIES = [importlib.import_module(f"{__name__}.{family}") for family in (
    "activation", "attention", "conv", "distance", "dropout", "linear", "loss", "normalization", "padding", "pooling",
    "sparse", "vision")]
# NOTE: the public functions check their tensor arguments' types at the boundary (torch's message for a None)
globals().update({name: checking_tensors(getattr(family, name)) for family in _FAMILIES for name in family.__all__})
__all__ = ["unfold", "fold", "pad"] + [name for family in _FAMILIES for name in family.__all__]
