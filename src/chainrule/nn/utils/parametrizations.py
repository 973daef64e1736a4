"""Parametrizations of module weights: weight_norm and spectral_norm (as torch.nn.utils.parametrizations).

Each is a small Module registered with :func:`~chainrule.nn.utils.parametrize.register_parametrization`, so
the weight becomes a differentiable composite of the stored originals.
"""

from __future__ import annotations

from ... import _state, creation
from ...ops.linalg import matmul
from ...tensor import Tensor
from ..modules.module import Module
from . import parametrize

__all__ = ["weight_norm", "spectral_norm"]


def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """torch.norm_except_dim(v, 2, dim): the 2-norm over every dim but ``dim`` (kept as size 1); -1: all."""
    if dim == -1:
        return (v * v).sum().sqrt()
    dims = tuple(d for d in range(v.dim()) if d != dim)
    return (v * v).sum(dims, keepdim=True).sqrt()


class _WeightNorm(Module):
    """``weight = g * v / ||v||`` with the norm over every dim but ``dim`` (``dim=None``: the whole tensor)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple:
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as magnitude times direction: ``g * v / ||v||`` (Salimans & Kingma).

    The originals are ``parametrizations.<name>.original0`` (g, the norm over every dim but ``dim``, kept with
    size 1 elsewhere; a scalar for ``dim=None``) and ``original1`` (v, the weight itself at registration).

    Example::

        >>> layer = weight_norm(chainrule.nn.Linear(20, 40))
        >>> layer.parametrizations.weight.original0.shape
        chainrule.Size([40, 1])
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


def _normalize(x: Tensor, eps: float) -> Tensor:
    """``x / max(||x||, eps)`` for a vector (torch's F.normalize(x, dim=0, eps=eps))."""
    return x / (x * x).sum().sqrt().clamp(min=eps)


class _SpectralNorm(Module):
    """``weight / sigma`` with ``sigma`` the largest singular value of the weight (as a matrix with ``dim``
    first), estimated by power iteration on the buffers ``_u`` and ``_v`` (advanced in training mode only)."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.dim()
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got "
                             f"{dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight.detach())
            h, w = weight_mat.shape
            self.register_buffer("_u", _normalize(creation.randn(h, dtype=weight.dtype), eps))
            self.register_buffer("_v", _normalize(creation.randn(w, dtype=weight.dtype), eps))
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        with _state.no_grad():
            weight_mat = weight_mat.detach()
            for _ in range(n_power_iterations):
                self._u = _normalize(matmul(weight_mat, self._v), self.eps)
                self._v = _normalize(matmul(weight_mat.t(), self._u), self.eps)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.dim() == 1:
            return _normalize(weight, self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # NOTE: u and v are constants of the forward (no gradient through the power iteration), as in torch.
        u, v = self._u.detach(), self._v.detach()
        sigma = (u * matmul(weight_mat, v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def _is_conv_transpose(module: Module) -> bool:
    return any(cls.__name__.startswith("ConvTranspose") for cls in type(module).__mro__)


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Divide ``module.<name>`` by its spectral norm (largest singular value), estimated by power iteration.

    Each forward in training mode advances ``n_power_iterations`` steps of the estimate (buffers
    ``parametrizations.<name>.0._u``/``_v``, 15 steps at registration). ``dim`` is the output dimension (1 for
    ConvTranspose layers, else 0 by default).

    Example::

        >>> layer = spectral_norm(chainrule.nn.Linear(20, 40))
        >>> layer.parametrizations.weight.original.shape
        chainrule.Size([40, 20])
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if _is_conv_transpose(module) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
