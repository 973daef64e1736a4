"""The backend seam: the array module and the device come from the arrays themselves."""

import types

import numpy
import pytest

from chainrule import _backend


class _FakeCupyArray:
    """Stands in for a CuPy array: only its type's module name and ``.device.id`` are read."""

    __module__ = "cupy._core.core"
    device = types.SimpleNamespace(id=1)


def test_numpy_arrays_give_numpy():
    assert _backend.array_module(numpy.zeros(3), numpy.ones((2, 2))) is numpy
    assert _backend.array_module() is numpy
    assert _backend.device_module("cpu") is numpy
    assert _backend.device_of(numpy.zeros(3)) == "cpu"


def test_a_cupy_array_gives_cupy_without_cupy_for_numpy_ones(monkeypatch):
    fake = types.ModuleType("cupy")
    monkeypatch.setattr(_backend, "_cupy", lambda: fake)
    assert _backend.array_module(numpy.zeros(3), _FakeCupyArray()) is fake
    assert _backend.array_module(numpy.zeros(3)) is numpy
    assert _backend.device_module("cuda:0") is fake
    assert _backend.device_of(_FakeCupyArray()) == _backend.device("cuda", 1)


def test_to_device_keeps_an_array_already_there():
    x = numpy.arange(3.0)
    assert _backend.to_device(x, _backend.device("cpu")) is x
    assert _backend.to_device(x, "cpu") is x


@pytest.mark.parametrize("name", ["zeros", "arange"])
def test_like_keeps_numpy_results_plain(name):
    x = numpy.ones(2)
    out = getattr(_backend.xp, name)(3, like=x)
    assert type(out) is numpy.ndarray and out.shape == (3,)
