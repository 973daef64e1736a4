"""``chainrule.functional`` mirrors ``torch.functional``: the functions chainrule has, under the same names."""

import chainrule as cr
import chainrule.functional as F


def test_functional_reexports_the_top_level_functions():
    assert F.__all__ == ["einsum", "norm", "split"]
    for name in F.__all__:
        assert getattr(F, name) is getattr(cr, name)
    x = cr.arange(6.0).reshape(2, 3)
    assert F.einsum("ij->ji", x).tolist() == x.t().tolist()
    assert [p.shape for p in F.split(x, [1, 2], dim=1)] == [(2, 1), (2, 2)]
    assert F.norm(cr.tensor([3.0, 4.0])).item() == 5.0
    assert cr.functional is F
