"""safetensors files: round trips through ``chainrule.safetensors`` and ``chainrule.save(..., format=...)``, files
written by torch's safetensors, and the optional dependency's install hint."""

import io
import os
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import safetensors as st

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")

pytest.importorskip("safetensors")


def state():
    return {"w": cr.arange(12.0).reshape(3, 4).t(), "b": cr.tensor([1.5, -2.0], dtype=cr.float16),
            "steps": cr.arange(3), "mask": cr.tensor([True, False]), "scalar": cr.tensor(2.0, dtype=cr.float64),
            "empty": cr.zeros(0, 2)}


def assert_same_tensors(a: dict, b: dict):
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype is b[key].dtype and a[key].shape == b[key].shape, key
        np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())


def test_save_file_and_load_file_round_trip(tmp_path):
    path = tmp_path / "model.safetensors"
    st.save_file(state(), path, metadata={"epoch": "3"})
    loaded = st.load_file(path)
    assert_same_tensors(state(), loaded)
    assert list(loaded) == sorted(loaded)
    loaded["w"].add_(1)  # NOTE: loaded tensors own writable memory.
    assert os.listdir(tmp_path) == ["model.safetensors"]


def test_chainrule_save_and_load_speak_safetensors(tmp_path):
    cr.save(state(), tmp_path / "m.safetensors", format="safetensors")
    assert_same_tensors(state(), cr.load(tmp_path / "m.safetensors"))
    buffer = io.BytesIO()
    cr.save(state(), buffer, format="safetensors")
    buffer.seek(0)
    assert_same_tensors(state(), cr.load(buffer))
    assert_same_tensors(state(), st.load(st.save(state())))


def test_model_state_dict_round_trip(tmp_path):
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    st.save_file(model.state_dict(), tmp_path / "m.safetensors")
    other = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    other.load_state_dict(st.load_file(tmp_path / "m.safetensors"))
    x = cr.randn(5, 3)
    assert cr.equal(model(x), other(x))


def test_file_written_by_torch_safetensors():
    loaded = st.load_file(os.path.join(FIXTURES, "torch_weights.safetensors"))
    assert list(loaded) == ["half", "i", "w"]
    assert loaded["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and loaded["w"].dtype is cr.float32
    assert loaded["half"].tolist() == [0.0, 0.5, 1.0] and loaded["half"].dtype is cr.float32  # NOTE: from bf16
    assert loaded["i"].tolist() == [0, 1, 2, 3] and loaded["i"].dtype is cr.int64


def test_only_named_tensors_are_saved(tmp_path):
    with pytest.raises(TypeError, match="expected a dict of str to Tensor, got the str key 'epoch' with a int"):
        cr.save({"epoch": 3}, tmp_path / "x", format="safetensors")
    with pytest.raises(TypeError, match="expected a dict of str to Tensor, got list"):
        st.save([cr.ones(1)])
    with pytest.raises(TypeError, match="metadata must be a dict of str to str"):
        st.save({"w": cr.ones(1)}, metadata={"epoch": 3})
    assert not os.listdir(tmp_path)


def test_damaged_files_are_refused(tmp_path):
    data = bytearray(st.save({"w": cr.ones(4)}))
    (tmp_path / "cut.safetensors").write_bytes(bytes(data[:-3]))
    with pytest.raises(RuntimeError, match=r"cut\.safetensors' is not a valid safetensors file"):
        cr.load(tmp_path / "cut.safetensors")
    header = b'{"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}'
    (tmp_path / "complex.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + bytes(8))
    with pytest.raises(RuntimeError, match="dtype C64, which chainrule does not support"):
        st.load_file(tmp_path / "complex.safetensors")


def test_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[safetensors\]'"):
        st.save({"w": cr.ones(1)})
