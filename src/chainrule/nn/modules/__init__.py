"""The layers of ``chainrule.nn``, one family per file; each lists its names in ``__all__``."""

import importlib

_FAMILIES = [importlib.import_module(f"{__name__}.{family}") for family in (
    "module", "compiled", "container", "linear", "activation", "attention", "batchnorm", "conv", "distance", "dropout",
    "flatten", "fold", "instancenorm", "lazy", "loss", "normalization", "padding", "pooling", "rnn", "sparse",
    "transformer", "vision")]
globals().update({name: getattr(family, name) for family in _FAMILIES for name in family.__all__})
__all__ = [name for family in _FAMILIES for name in family.__all__]
