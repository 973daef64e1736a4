"""Parametrizations of module weights: weight_norm, spectral_norm, orthogonal (as torch.nn.utils.parametrizations)."""

__all__ = []
