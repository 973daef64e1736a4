"""Training utilities, mirroring ``torch.utils``: ``data`` (datasets, loaders) and ``benchmark`` (timing)."""

from . import benchmark, data

__all__ = ["benchmark", "data"]
