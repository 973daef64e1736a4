"""Matrix decompositions with gradients: svd, qr, cholesky, eigh, lstsq, ..."""

from ._primitive import exports

__all__ = exports(__name__)
