"""The older hook forms of weight and spectral normalisation (torch's ``nn.utils.weight_norm`` (deprecated),
``spectral_norm`` and their ``remove_*``): the originals become parameters (``<name>_g``/``<name>_v``, resp.
``<name>_orig`` with the buffers ``<name>_u``/``<name>_v``) and a forward pre-hook recomputes ``<name>``, with
torch's names, so torch's state dicts load. New code should use :mod:`~chainrule.nn.utils.parametrizations`.
"""

from __future__ import annotations

import warnings

from ... import _state, creation
from ...ops.linalg import matmul
from ..modules.module import Module
from ..parameter import Parameter, is_lazy
from .parametrizations import _is_conv_transpose, _norm_except_dim, _normalize

__all__ = ["weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"]


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


def _hooks(module: Module, name: str, kind: type) -> list:
    return [hook.fn for hook in module._forward_pre_hooks if isinstance(hook.fn, kind) and hook.fn.name == name]


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
    if _hooks(module, name, WeightNorm):
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
    for fn in _hooks(module, name, WeightNorm):
        weight = fn.compute_weight(module).detach()
        fn.handle.remove()
        delattr(module, name)
        del module._parameters[name + "_g"], module._parameters[name + "_v"]
        setattr(module, name, Parameter(weight))
        return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")


class SpectralNorm:
    """The forward pre-hook: ``<name> = <name>_orig / sigma``, ``sigma = u . (W v)`` with ``W`` the weight as a
    matrix (``dim`` first); in training mode ``n_power_iterations`` steps first advance ``u`` and ``v`` in place."""

    def __init__(self, name: str, n_power_iterations: int, dim: int, eps: float) -> None:
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps
        self.handle = None

    def matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module: Module, do_power_iteration: bool):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        weight_mat = self.matrix(weight)
        if do_power_iteration:
            with _state.no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(_normalize(matmul(weight_mat.t(), u), self.eps))
                    u.copy_(_normalize(matmul(weight_mat, v), self.eps))
        # NOTE: u and v are constants of the forward (clones, so later in-place updates do not disturb backward).
        u, v = u.detach().clone(), v.detach().clone()
        return weight / (u * matmul(weight_mat, v)).sum()

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Divide ``module.<name>`` by its largest singular value, estimated by power iteration (torch's hook form):
    parameter ``<name>_orig``, buffers ``<name>_u``/``<name>_v``; ``dim``: the output dimension (1 for
    ConvTranspose layers, else 0, by default). Returns ``module``.

    Example::

        >>> layer = chainrule.nn.utils.spectral_norm(chainrule.nn.Linear(20, 40))
        >>> layer.weight_u.shape, layer.weight_v.shape
        (chainrule.Size([40]), chainrule.Size([20]))
    """
    if _hooks(module, name, SpectralNorm):
        raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
    dim = (1 if _is_conv_transpose(module) else 0) if dim is None else dim
    fn = SpectralNorm(name, n_power_iterations, dim, eps)
    weight = module._parameters[name]
    if is_lazy(weight):
        raise ValueError("The module passed to `SpectralNorm` can't have uninitialized parameters. Make sure to run "
                         "the dummy forward before applying spectral normalization")
    h, w = fn.matrix(weight.detach()).shape
    u = _normalize(creation.randn(h, dtype=weight.dtype, device=weight.device), eps)
    v = _normalize(creation.randn(w, dtype=weight.dtype, device=weight.device), eps)
    del module._parameters[name]
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, weight.detach())
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    fn.handle = module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo :func:`spectral_norm`: ``<name>`` becomes a Parameter holding the current ``<name>_orig / sigma``."""
    for fn in _hooks(module, name, SpectralNorm):
        with _state.no_grad():
            weight = fn.compute_weight(module, do_power_iteration=False)
        fn.handle.remove()
        delattr(module, name)
        for suffix in ("_u", "_v", "_orig"):
            delattr(module, name + suffix)
        module.register_parameter(name, Parameter(weight.detach()))
        return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
