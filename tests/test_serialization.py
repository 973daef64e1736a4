"""chainrule.save / chainrule.load: exact round trips, atomic writes, refusal of foreign or damaged files."""

import io
import math
import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import _files, serialization

ALL_DTYPES = [cr.float16, cr.float32, cr.float64, cr.int8, cr.int16, cr.int32, cr.int64, cr.uint8, cr.bool]


def sample_object():
    rng = np.random.default_rng(0)
    return {
        "model": OrderedDict([("fc.weight", cr.tensor(rng.normal(size=(3, 4)))), ("fc.bias", cr.zeros(3))]),
        "dtypes": {d.name: cr.tensor(rng.integers(0, 2, size=(2, 3))).to(d) for d in ALL_DTYPES},
        "scalar": cr.tensor(2.5, dtype=cr.float64),
        "empty": cr.zeros(0, 3),
        "view": cr.tensor(rng.normal(size=(4, 5))).t(),
        "param": cr.ones(2, requires_grad=True),
        "optimizer": {"state": {0: {"step": cr.tensor(3.0)}}, "param_groups": [{"lr": 0.1, "params": [0]}]},
        "meta": [1, -2.5, True, None, "text", (1, (2, "x")), math.inf, -math.inf],
        7: "int key", 0.5: "float key", None: "none key", False: "bool key",
        "numpy_scalar": np.float32(1.5),
    }


def assert_same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, cr.Tensor):
        assert a.dtype is b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert a == b


def test_round_trip_keeps_values_dtypes_and_nesting(tmp_path):
    obj = sample_object()
    cr.save(obj, tmp_path / "ckpt.crpt")
    loaded = cr.load(tmp_path / "ckpt.crpt")
    expected = dict(obj, numpy_scalar=1.5)
    assert_same(expected, loaded)
    assert isinstance(loaded["model"], OrderedDict) and isinstance(loaded["meta"][5], tuple)


def test_loaded_tensors_are_independent_and_writable(tmp_path):
    t = cr.arange(6).reshape(2, 3)
    cr.save({"t": t}, tmp_path / "a")
    loaded = cr.load(tmp_path / "a")["t"]
    loaded.add_(1)
    assert t.tolist() == [[0, 1, 2], [3, 4, 5]] and loaded.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_nan_and_file_objects(tmp_path):
    buffer = io.BytesIO()
    cr.save({"nan": math.nan, "x": cr.tensor([math.nan, 1.0])}, buffer)
    buffer.seek(0)
    loaded = cr.load(buffer, map_location="cpu", weights_only=True)
    assert math.isnan(loaded["nan"]) and np.isnan(loaded["x"].numpy()[0])


def test_unsupported_objects_are_refused_with_their_location(tmp_path):
    with pytest.raises(TypeError, match=r"cannot save an object of type function at obj\['a'\]\[1\]"):
        cr.save({"a": [1, lambda: 0]}, tmp_path / "x")
    with pytest.raises(TypeError, match="dict keys must be"):
        cr.save({(1, 2): 3}, tmp_path / "x")
    assert not os.listdir(tmp_path)


def test_map_location_other_than_cpu_is_refused(tmp_path):
    cr.save({}, tmp_path / "x")
    with pytest.raises(RuntimeError, match="not available"):
        cr.load(tmp_path / "x", map_location="cuda")


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown format 'pickle'; valid formats: chainrule, safetensors"):
        cr.save({}, tmp_path / "x", format="pickle")
    assert not os.listdir(tmp_path)


# -- atomic writes ------------------------------------------------------------------------------------

def failing_writer(file, chunks):
    """Write half of the bytes, then fail as a full disk or a crash would."""
    data = b"".join(chunks)
    file.write(data[:len(data) // 2])
    raise OSError("simulated failure mid-write")


def test_failure_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "model.crpt"
    cr.save({"version": 1, "w": cr.ones(1000)}, path)
    before = path.read_bytes()
    monkeypatch.setattr(_files, "write_chunks", failing_writer)
    with pytest.raises(OSError, match="simulated failure"):
        cr.save({"version": 2, "w": cr.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert cr.load(path)["version"] == 1
    assert os.listdir(tmp_path) == ["model.crpt"]


def test_failure_on_a_new_path_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(_files, "write_chunks", failing_writer)
    with pytest.raises(OSError):
        cr.save({"w": cr.ones(10)}, tmp_path / "new.crpt")
    assert os.listdir(tmp_path) == []


def test_overwrite_replaces_the_file(tmp_path):
    path = tmp_path / "model.crpt"
    cr.save({"version": 1}, path)
    cr.save({"version": 2}, str(path))
    assert cr.load(str(path)) == {"version": 2} and os.listdir(tmp_path) == ["model.crpt"]


# -- damaged and foreign files ------------------------------------------------------------------------

@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "good.crpt"
    cr.save({"w": cr.arange(100).float(), "lr": 0.1}, path)
    return path


def test_corrupted_byte_is_detected(checkpoint):
    data = bytearray(checkpoint.read_bytes())
    data[len(data) // 2] ^= 0x01
    checkpoint.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match=r"good\.crpt.*checksum does not match"):
        cr.load(checkpoint)


@pytest.mark.parametrize("keep", [0, 4, 16, 40, -1])
def test_truncated_file_is_detected(checkpoint, keep):
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[:keep] if keep >= 0 else data[:-1])
    expected = "the file is empty" if keep == 0 else "truncated"
    with pytest.raises(RuntimeError, match=expected):
        cr.load(checkpoint)


def test_pickle_is_refused_without_being_unpickled(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.remove, (str(tmp_path / "canary"),))

    (tmp_path / "canary").write_text("alive")
    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"state": Boom()}))
    with pytest.raises(RuntimeError, match=r"evil\.pt.*looks like a pickle.*never runs a plain pickle"):
        cr.load(tmp_path / "evil.pt")
    assert (tmp_path / "canary").read_text() == "alive"


def test_text_and_zip_files_are_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("epoch 3: loss 0.1\n")
    with pytest.raises(RuntimeError, match=r"notes\.txt.*does not start with the chainrule magic bytes"):
        cr.load(tmp_path / "notes.txt")
    np.savez(tmp_path / "arrays.npz", a=np.zeros(3))
    with pytest.raises(RuntimeError, match="zip archive without a data.pkl record"):
        cr.load(tmp_path / "arrays.npz")


def test_future_version_is_refused(checkpoint):
    data = bytearray(checkpoint.read_bytes())
    data[8:12] = (serialization.VERSION + 1).to_bytes(4, "little")
    checkpoint.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="format version 2 is not supported"):
        cr.load(checkpoint)


def test_valid_checksum_with_a_bad_header_is_refused(tmp_path):
    import hashlib
    import struct
    header = b'{"structure":{"tensor":5},"tensors":[]}'
    body = struct.pack("<8sIQ", serialization.MAGIC, serialization.VERSION, len(header)) + header
    (tmp_path / "crafted").write_bytes(body + hashlib.sha256(body).digest())
    with pytest.raises(RuntimeError, match="header is invalid"):
        cr.load(tmp_path / "crafted")
