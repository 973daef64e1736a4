"""Parametrizations of module weights: weight_norm, spectral_norm and orthogonal (as
torch.nn.utils.parametrizations).

Each is a small Module registered with :func:`~chainrule.nn.utils.parametrize.register_parametrization`, so
the weight becomes a differentiable composite of the stored originals.
"""

from __future__ import annotations

from ... import _state, creation, linalg
from ..._backend import xp
from ...ops.join import cat
from ...ops.linalg import matmul
from ...tensor import Tensor
from ..modules.module import Module
from . import parametrize

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


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
    ``load_state_dict`` also accepts the ``<name>_g``/``<name>_v`` keys of the older ``nn.utils.weight_norm``.

    Example::

        >>> layer = weight_norm(chainrule.nn.Linear(20, 40))
        >>> layer.parametrizations.weight.original0.shape
        chainrule.Size([40, 1])
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def load_legacy_keys(state_dict, prefix, *args) -> None:
        # NOTE: checkpoints of the older nn.utils.weight_norm store "<name>_g"/"<name>_v"; torch renames them.
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module._register_load_state_dict_pre_hook(load_legacy_keys)
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


# -- orthogonal ----------------------------------------------------------------------------------------------

_ORTHOGONAL_MAPS = ("matrix_exp", "cayley", "householder")


def _is_orthogonal(q: Tensor) -> bool:
    """torch's check: ``allclose(Q^T Q, I)`` with atol ``10 * n * eps``."""
    n, k = q.shape[-2], q.shape[-1]
    eye = creation.eye(k, dtype=q.dtype)
    atol = 10.0 * n * float(xp.finfo(q.dtype.np).eps)
    return bool(((q.mT @ q - eye).abs() <= atol + 1e-5 * eye.abs()).all())


def _make_orthogonal(a: Tensor) -> Tensor:
    """The Q of A's QR decomposition with the signs of R's diagonal moved into it (torch's geqrf path)."""
    q, r = linalg.qr(a)
    return q * r.diagonal(dim1=-2, dim2=-1).sign().unsqueeze(-2)


class _Orthogonal(Module):
    """An orthogonal matrix (orthonormal columns, or rows when wide) from an unconstrained one.

    ``matrix_exp``/``cayley`` map the skew-symmetric part of the lower triangle; ``householder`` reads the
    strictly lower triangle as Householder reflectors. With ``use_trivialization`` the result multiplies the
    buffer ``base``, the orthogonal matrix given at registration or assignment (the parameter then starts at
    "minus identity", which every map sends to the identity), as in torch.
    """

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True) -> None:
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, x: Tensor) -> Tensor:
        n, k = x.shape[-2], x.shape[-1]
        transposed = n < k
        if transposed:
            x = x.mT
            n, k = k, n
        if self.orthogonal_map == "householder":
            a = x.tril(-1)
            tau = 2.0 / (1.0 + (a * a).sum(-2))
            q = linalg.householder_product(a, tau) * x.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        else:
            x = x.tril()
            if n != k:
                x = cat([x, creation.zeros(*x.shape[:-1], n - k, dtype=x.dtype)], -1)
            a = x - x.mT
            if self.orthogonal_map == "matrix_exp":
                q = linalg.matrix_exp(a)
            else:
                eye = creation.eye(n, dtype=a.dtype)
                q = linalg.solve(eye - 0.5 * a, eye + 0.5 * a)
            if n != k:
                q = q[..., :k]
        if "base" in self._buffers:
            q = self.base @ q
        return q.mT if transposed else q

    def right_inverse(self, q: Tensor) -> Tensor:
        if q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. Got a tensor of shape "
                             f"{q.shape}.")
        if "base" not in self._buffers:
            # NOTE: torch stores geqrf's reflectors here; chainrule has no geqrf, so this case is refused (the
            # registration then starts from the weight itself, read as reflectors).
            raise NotImplementedError("orthogonal: assigning to a parametrization with use_trivialization=False "
                                      "is not supported")
        with _state.no_grad():
            q_init = q
            n, k = q.shape[-2], q.shape[-1]
            if n < k:
                q = q.mT
                n, k = k, n
            if n != k:
                q = _make_orthogonal(cat([q, creation.randn(*q.shape[:-1], n - k, dtype=q.dtype)], -1))
            elif not _is_orthogonal(q):
                q = _make_orthogonal(q)
            else:
                q = q.clone()
            self.base = q
            m, j = q_init.shape[-2], q_init.shape[-1]
            return (-creation.eye(m, j, dtype=q_init.dtype)).expand(*q_init.shape).clone()


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Constrain ``module.<name>`` (a matrix or batch of matrices) to be orthogonal (orthonormal columns, or
    rows when it is wide), keeping its current value when it already is one.

    ``orthogonal_map``: "matrix_exp" (default for square matrices), "cayley" or "householder" (default
    otherwise). Training updates the unconstrained ``parametrizations.<name>.original``; the map keeps the
    weight orthogonal after every step.

    Example::

        >>> layer = orthogonal(chainrule.nn.Linear(20, 40))
        >>> bool((layer.weight.T @ layer.weight - chainrule.eye(20)).abs().max() < 1e-5)
        True
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.dim() < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.dim()} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _ORTHOGONAL_MAPS:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: '
                         f"{orthogonal_map}")
    parametrize.register_parametrization(
        module, name, _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization), unsafe=True)
    return module
