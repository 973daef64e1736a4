"""``chainrule.functional`` mirrors ``torch.functional``: the same functions as ``chainrule.<name>``."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F

TORCH_FUNCTIONAL = ["atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes", "broadcast_tensors",
                    "cartesian_prod", "block_diag", "cdist", "chain_matmul", "einsum", "istft", "lu", "norm",
                    "meshgrid", "pca_lowrank", "split", "stft", "svd_lowrank", "tensordot", "unique",
                    "unique_consecutive", "unravel_index"]


def test_functional_has_torchs_functions_as_the_top_level_ones():
    assert sorted(F.__all__) == sorted(set(TORCH_FUNCTIONAL) - {"stft", "istft"})
    for name in F.__all__:
        assert getattr(F, name) is getattr(cr, name), name
    x = cr.arange(6.0).reshape(2, 3)
    assert F.einsum("ij->ji", x).tolist() == x.t().tolist()
    assert [p.shape for p in F.split(x, [1, 2], dim=1)] == [(2, 1), (2, 2)]
    assert F.norm(cr.tensor([3.0, 4.0])).item() == 5.0
    assert cr.functional is F


def test_unravel_index_matches_numpy_and_wraps_negative_indices_as_torch():
    flat = np.array([0, 4, 5, 1])
    for got, want in zip(F.unravel_index(cr.tensor(flat), (2, 3)), np.unravel_index(flat, (2, 3))):
        assert got.dtype == cr.int64 and got.tolist() == want.tolist()
    assert [t.tolist() for t in F.unravel_index(cr.tensor([-1]), (2, 3))] == [[1], [2]]
    assert [t.item() for t in F.unravel_index(cr.tensor(4), 6)] == [4]
    with pytest.raises(TypeError, match="integer dtype"):
        F.unravel_index(cr.tensor([1.0]), (2, 3))


def test_chain_matmul_and_the_low_rank_decompositions():
    a, b, c = cr.randn(2, 3, dtype=cr.float64), cr.randn(3, 4, dtype=cr.float64), cr.randn(4, 2, dtype=cr.float64)
    np.testing.assert_allclose(F.chain_matmul(a, b, c).numpy(), a.numpy() @ b.numpy() @ c.numpy())
    m = cr.randn(6, 2, dtype=cr.float64) @ cr.randn(2, 5, dtype=cr.float64)
    U, S, V = F.svd_lowrank(m, q=2)
    assert (U.shape, S.shape, V.shape) == ((6, 2), (2,), (5, 2))
    np.testing.assert_allclose((U * S) @ V.mT, m.numpy(), atol=1e-10)
    U, S, V = F.pca_lowrank(m, q=2)
    centred = m.numpy() - m.numpy().mean(0)
    np.testing.assert_allclose(S.numpy(), np.linalg.svd(centred, compute_uv=False)[:2])
    with pytest.raises(ValueError, match="q=9"):
        F.svd_lowrank(m, q=9)
