"""Tensors print as torch's do (``torch._tensor_str``): the strings below are torch 2.13's, with ``torch``
written ``chainrule``; ``set_printoptions`` changes precision, summarizing, line width and notation."""

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture(autouse=True)
def default_print_options():
    cr.set_printoptions(profile="default")
    yield
    cr.set_printoptions(profile="default")


CASES = [
    (lambda: cr.tensor(0.235), "tensor(0.2350)"),
    (lambda: cr.tensor([1., 2.]), "tensor([1., 2.])"),
    (lambda: cr.tensor([1, 2]), "tensor([1, 2])"),
    (lambda: cr.tensor([True, False]), "tensor([ True, False])"),
    (lambda: cr.tensor([1.5, 2.25], dtype=cr.float64), "tensor([1.5000, 2.2500], dtype=chainrule.float64)"),
    (lambda: cr.tensor([1, 2], dtype=cr.int32), "tensor([1, 2], dtype=chainrule.int32)"),
    (lambda: cr.tensor([1.0, 2.0], requires_grad=True), "tensor([1., 2.], requires_grad=True)"),
    (lambda: cr.tensor([1.0, 2.0], requires_grad=True) * 2, "tensor([2., 4.], grad_fn=<MulBackward0>)"),
    (lambda: cr.ones(10, dtype=cr.float64, requires_grad=True).sum(),
     "tensor(10., dtype=chainrule.float64, grad_fn=<SumBackward0>)"),
    (lambda: cr.tensor([[1.0, -2.5], [3.25, 4.0]]), "tensor([[ 1.0000, -2.5000],\n        [ 3.2500,  4.0000]])"),
    (lambda: cr.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (lambda: cr.tensor([1e10, 1.0]), "tensor([1.0000e+10, 1.0000e+00])"),
    (lambda: cr.tensor([123456.789, 0.5]), "tensor([1.2346e+05, 5.0000e-01])"),
    (lambda: cr.tensor([float("nan"), float("inf"), -float("inf"), 1.0]), "tensor([nan, inf, -inf, 1.])"),
    (lambda: cr.tensor([float("nan"), 1.5]), "tensor([   nan, 1.5000])"),
    (lambda: cr.tensor([0.0, 0.0]), "tensor([0., 0.])"),
    (lambda: cr.tensor(3), "tensor(3)"),
    (lambda: cr.tensor(-0.0), "tensor(-0.)"),
    (lambda: cr.tensor([-1, 100000]), "tensor([    -1, 100000])"),
    (lambda: cr.tensor([1.0, 2.0], dtype=cr.float16), "tensor([1., 2.], dtype=chainrule.float16)"),
    (lambda: cr.zeros(0), "tensor([])"),
    (lambda: cr.zeros(0, 3), "tensor([], size=(0, 3))"),
    (lambda: cr.zeros(0, dtype=cr.int64), "tensor([], dtype=chainrule.int64)"),
    (lambda: cr.zeros(2, 0, dtype=cr.float64), "tensor([], size=(2, 0), dtype=chainrule.float64)"),
    (lambda: cr.arange(2000), "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"),
    (lambda: cr.arange(2000.), "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
                               "        1.9990e+03])"),
    (lambda: cr.arange(12.).reshape(2, 2, 3), "tensor([[[ 0.,  1.,  2.],\n         [ 3.,  4.,  5.]],\n\n"
                                             "        [[ 6.,  7.,  8.],\n         [ 9., 10., 11.]]])"),
    (lambda: cr.ones(3, 3, dtype=cr.float64, requires_grad=True),
     "tensor([[1., 1., 1.],\n        [1., 1., 1.],\n        [1., 1., 1.]], dtype=chainrule.float64, "
     "requires_grad=True)"),
    (lambda: cr.ones(12) / 3, "tensor([0.3333, 0.3333, 0.3333, 0.3333, 0.3333, 0.3333, 0.3333, 0.3333, 0.3333,\n"
                              "        0.3333, 0.3333, 0.3333])"),
]


@pytest.mark.parametrize("make, expected", CASES)
def test_repr_is_torchs(make, expected):
    assert repr(make()) == expected
    assert str(make()) == expected


def test_summarized_matrix_keeps_edge_rows_and_columns():
    lines = repr(cr.arange(3000).reshape(30, 100)).split("\n")
    assert lines[0] == "tensor([[   0,    1,    2,  ...,   97,   98,   99],"
    assert lines[3] == "        ...,"
    assert lines[-1] == "        [2900, 2901, 2902,  ..., 2997, 2998, 2999]])"


def test_set_printoptions():
    cr.set_printoptions(precision=2)
    assert repr(cr.tensor([1.12345, 3.0])) == "tensor([1.12, 3.00])"
    cr.set_printoptions(threshold=5)
    assert repr(cr.arange(10)) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    cr.set_printoptions(profile="short")
    assert repr(cr.arange(100.).reshape(10, 10) / 3).startswith("tensor([[ 0.00,  0.33,  0.67,  1.00,")
    cr.set_printoptions(sci_mode=True)
    assert repr(cr.tensor([1.5, 2.0])) == "tensor([1.50e+00, 2.00e+00])"
    cr.set_printoptions(profile="default", sci_mode=False)
    assert repr(cr.tensor([1e-6, 1.0])) == "tensor([0.0000, 1.0000])"
    cr.set_printoptions(edgeitems=0, threshold=3)
    assert repr(cr.arange(10.)) == "tensor([...], size=(10,))"
    cr.set_printoptions(profile="full")
    assert "..." not in repr(cr.arange(1200))
    cr.set_printoptions(profile="default", linewidth=30)
    assert repr(cr.arange(6.) / 3) == "tensor([0.0000, 0.3333,\n        0.6667, 1.0000,\n        1.3333, 1.6667])"
    assert repr(cr.tensor([1.0, 2.0], requires_grad=True) * 2) == "tensor([2., 4.],\n       grad_fn=<MulBackward0>)"
    with pytest.raises(ValueError, match="unknown profile"):
        cr.set_printoptions(profile="tiny")


def test_a_dual_tensor_shows_its_tangent():
    with cr.autograd.forward_ad.dual_level():
        dual = cr.autograd.forward_ad.make_dual(cr.ones(2), cr.tensor([0.5, 2.0]))
        assert repr(dual) == "tensor([1., 1.], tangent=tensor([0.5000, 2.0000]))"
    assert repr(dual) == "tensor([1., 1.])"


def test_format_of_a_0d_tensor_is_its_number():
    assert f"{cr.tensor(0.5):.2f}" == "0.50"


def test_against_torch_when_available():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal(7) * 1e5,
              rng.integers(-50, 50, (3, 3)), np.float32(rng.standard_normal()), rng.uniform(0, 1, 1500)]
    for a in arrays:
        expected = repr(torch.tensor(a)).replace("torch.", "chainrule.")
        assert repr(cr.tensor(a)) == expected
