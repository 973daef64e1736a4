"""``chainrule.functional``: the counterpart of ``torch.functional`` (``import torch.functional as F`` in old code).

torch keeps a few tensor functions in that module; this one re-exports those chainrule has, so the same import
works. Of torch's list chainrule lacks: atleast_1d/2d/3d, block_diag, broadcast_shapes, broadcast_tensors,
cartesian_prod, cdist, chain_matmul, istft, lu, meshgrid, pca_lowrank, stft, svd_lowrank, tensordot, unique,
unique_consecutive and unravel_index (see docs/interop.md).

Example::

    >>> import chainrule.functional as F
    >>> F.einsum("ij,jk->ik", chainrule.ones(2, 3), chainrule.ones(3, 4)).shape
    chainrule.Size([2, 4])
"""

from .ops.join import split
from .ops.linalg import einsum
from .ops.reduce import norm

__all__ = ["einsum", "norm", "split"]
