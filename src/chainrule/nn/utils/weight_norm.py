"""The older hook form of weight normalisation (torch's deprecated ``nn.utils.weight_norm`` and
``remove_weight_norm``): parameters ``<name>_g`` and ``<name>_v``, and ``<name>`` recomputed as
``g * v / ||v||`` by a forward pre-hook. New code should use :func:`~chainrule.nn.utils.parametrizations.weight_norm`.
"""

from __future__ import annotations

import warnings

from ..modules.module import Module
from ..parameter import Parameter, is_lazy
from .parametrizations import _norm_except_dim

__all__ = ["weight_norm", "remove_weight_norm"]


class WeightNorm:
    """The forward pre-hook: ``<name> = <name>_g * <name>_v / ||<name>_v||`` (the norm over every dim but ``dim``;
    -1: the whole tensor)."""

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim
        self.handle = None

    def compute_weight(self, module: Module):
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))


def _hooks(module: Module, name: str) -> list:
    return [hook.fn for hook in module._forward_pre_hooks if isinstance(hook.fn, WeightNorm) and hook.fn.name == name]


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrise ``module.<name>`` as ``g * v / ||v||`` (``g``: the norm over every dim but ``dim``, kept with
    size 1; ``dim=None``: one norm for the whole tensor), with torch's FutureWarning. Returns ``module``.

    Example::

        >>> layer = chainrule.nn.utils.weight_norm(chainrule.nn.Linear(20, 40))
        >>> layer.weight_g.shape, layer.weight_v.shape
        (chainrule.Size([40, 1]), chainrule.Size([40, 20]))
    """
    warnings.warn("torch.nn.utils.weight_norm is deprecated in favor of "
                  "torch.nn.utils.parametrizations.weight_norm.", FutureWarning, stacklevel=2)
    if _hooks(module, name):
        raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
    fn = WeightNorm(name, -1 if dim is None else dim)
    weight = getattr(module, name)
    if is_lazy(weight):
        raise ValueError("The module passed to `WeightNorm` can't have uninitialized parameters. Make sure to run "
                         "the dummy forward before applying weight normalization")
    del module._parameters[name]
    module.register_parameter(name + "_g", Parameter(_norm_except_dim(weight, fn.dim).detach()))
    module.register_parameter(name + "_v", Parameter(weight.detach()))
    setattr(module, name, fn.compute_weight(module))
    fn.handle = module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo :func:`weight_norm`: ``<name>`` becomes a Parameter again, holding the current ``g * v / ||v||``."""
    for fn in _hooks(module, name):
        weight = fn.compute_weight(module).detach()
        fn.handle.remove()
        delattr(module, name)
        del module._parameters[name + "_g"], module._parameters[name + "_v"]
        setattr(module, name, Parameter(weight))
        return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
