"""Tensor metadata methods torch users call: ndimension, itemsize, nbytes, is_signed, is_same_size, get_device,
is_nonzero, is_inference, is_contiguous, stride (chainrule reports every tensor as contiguous)."""

import pytest

import chainrule as cr


def test_sizes_and_kinds():
    t = cr.zeros(2, 3, dtype=cr.float64)
    assert t.ndimension() == 2 and t.itemsize == 8 and t.nbytes == 48
    assert cr.zeros(0).nbytes == 0 and cr.zeros(3, dtype=cr.int16).itemsize == 2
    assert t.is_signed() and cr.tensor([1]).is_signed()
    assert not cr.tensor([True]).is_signed() and not cr.tensor([1], dtype=cr.uint8).is_signed()
    assert t.is_same_size(cr.ones(2, 3)) and not t.is_same_size(cr.ones(3, 2))
    assert t.get_device() == -1


def test_is_nonzero_follows_torch():
    assert cr.tensor([2.0]).is_nonzero() and not cr.tensor(0).is_nonzero()
    with pytest.raises(RuntimeError, match="with more than one value is ambiguous"):
        cr.zeros(2).is_nonzero()
    with pytest.raises(RuntimeError, match="with no values is ambiguous"):
        cr.zeros(0).is_nonzero()


def test_inference_and_layout():
    with cr.inference_mode():
        made = cr.ones(2) * 2
    assert not made.is_inference()  # NOTE: documented difference: torch says True here
    assert cr.zeros(2, 0, 3).stride() == (3, 3, 1) and cr.zeros(()).stride() == ()
    assert cr.zeros(4, 5).stride(-2) == 5 and cr.zeros(4, 5).stride(1) == 1
    x = cr.zeros(4, 5)
    assert x.is_contiguous() and x.t().is_contiguous() and x.contiguous() is x
    with pytest.raises(IndexError):
        x.stride(2)
