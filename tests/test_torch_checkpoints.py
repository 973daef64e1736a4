"""``chainrule.load`` reads ``torch.save`` checkpoints without torch and refuses pickles that would run code.

The fixture was written by torch (tests/fixtures/make_torch_fixtures.py); the hostile files are built here with
the standard pickle module. A last test writes fresh checkpoints with torch when it happens to be installed.
"""

import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture(scope="module")
def checkpoint():
    return cr.load(os.path.join(FIXTURES, "torch_checkpoint.pt"))


def test_state_dict_and_optimizer_state(checkpoint):
    state = checkpoint["model"]
    assert isinstance(state, OrderedDict) and list(state) == ["weight", "bias"]
    # NOTE: the fixture's weights are arange / 4 and [-1, 0.5], after one SGD step of lr 0.1 with gradient 1.
    np.testing.assert_allclose(state["weight"].numpy(), np.arange(6.0).reshape(2, 3) / 4 - 0.1, rtol=1e-6)
    np.testing.assert_allclose(state["bias"].numpy(), [-1.1, 0.4], rtol=1e-6)
    assert state["weight"].dtype is cr.float32 and not state["weight"].requires_grad
    model = cr.nn.Linear(3, 2)
    model.load_state_dict(state)
    np.testing.assert_allclose(model(cr.ones(1, 3)).detach().numpy(), [[-1.1 + 0.45, 0.4 + 2.7]], rtol=1e-6)
    optimizer = checkpoint["optimizer"]
    assert optimizer["state"][0]["momentum_buffer"].tolist() == [[1.0] * 3] * 2
    assert optimizer["param_groups"] == [{"lr": 0.1, "momentum": 0.9, "dampening": 0, "weight_decay": 0,
                                          "nesterov": False, "maximize": False, "foreach": None,
                                          "differentiable": False, "fused": None, "params": [0, 1]}]


def test_dtypes_views_and_plain_values(checkpoint):
    for name, t in checkpoint["dtypes"].items():
        assert t.dtype is getattr(cr, name) and t.tolist() == ([False, True, True] if name == "bool" else [0, 1, 2])
    assert checkpoint["bfloat16"].dtype is cr.float32 and checkpoint["bfloat16"].tolist() == [1.5, -2.0, 0.25]
    base = np.arange(12.0).reshape(3, 4)
    views = checkpoint["views"]
    for key, expected in [("t", base.T), ("row", base[1]), ("strided", base[:, ::2])]:
        np.testing.assert_array_equal(views[key].numpy(), expected)
    views["row"].add_(1)  # NOTE: views of one torch storage load as independent copies.
    assert views["t"][1, 0].item() == 1.0
    assert checkpoint["scalar"].shape == () and checkpoint["scalar"].item() == 3.5
    assert checkpoint["empty"].shape == (0, 3)
    assert checkpoint["param"].requires_grad and checkpoint["param"].is_leaf
    assert checkpoint["meta"] == {"epoch": 3, "lr": 0.1, "name": "run", "flags": (True, None),
                                  "size": cr.Size([2, 3]), "dtype": cr.float16, "raw": b"\x00\xff", "tags": {"a"}}


# -- hostile files ----------------------------------------------------------------------------------------

def torch_zip(path, payload: bytes, records: dict | None = None) -> None:
    """A zip laid out as torch.save's, with ``payload`` as its pickle."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        archive.writestr("archive/byteorder", "little")
        for name, data in (records or {}).items():
            archive.writestr(f"archive/data/{name}", data)


class RemoveCanary:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.remove, (self.path,))


def raw_pickle(*ops: bytes) -> bytes:
    return b"\x80\x02" + b"".join(ops) + b"."


def test_reduce_to_os_remove_is_refused_before_running(tmp_path):
    canary = tmp_path / "canary"
    canary.write_text("alive")
    torch_zip(tmp_path / "evil.pt", pickle.dumps({"w": RemoveCanary(str(canary))}, protocol=2))
    with pytest.raises(RuntimeError, match=r"evil\.pt.*global posix\.remove, which is not allowed"):
        cr.load(tmp_path / "evil.pt")
    assert canary.read_text() == "alive"


@pytest.mark.parametrize("payload, message", [
    (raw_pickle(b"cbuiltins\neval\n", b"X\x04\x00\x00\x001+1;\x85R"), "global builtins.eval"),
    (raw_pickle(b"cos\nsystem\n", b"X\x04\x00\x00\x00true\x85R"), "global os.system"),
    (raw_pickle(b"ctorch\nload\n"), "global torch.load"),
    # NOTE: BUILD on the float32 dtype would rewrite chainrule.float32 for the whole process.
    (raw_pickle(b"ctorch\nfloat32\n", b"N}X\x02\x00\x00\x00npX\x01\x00\x00\x00xs\x86b"),
     "setting the state of a dtype"),
    (raw_pickle(b"X\x01\x00\x00\x00x", b"Q"), "unsupported persistent id"),
])
def test_other_globals_and_state_changes_are_refused(tmp_path, payload, message):
    torch_zip(tmp_path / "evil.pt", payload)
    with pytest.raises(RuntimeError, match=message):
        cr.load(tmp_path / "evil.pt")
    assert cr.float32.np == np.float32


def storage_pid(key: str, numel: int) -> bytes:
    """The persistent id torch writes for a FloatStorage record, as raw pickle opcodes."""
    return (b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX" + len(key).to_bytes(4, "little") + key.encode()
            + b"X\x03\x00\x00\x00cpuK" + bytes([numel]) + b"tQ")


def rebuild(pid: bytes, offset: int, size: int, stride: int) -> bytes:
    return raw_pickle(b"ctorch._utils\n_rebuild_tensor_v2\n(", pid, b"K", bytes([offset]), b"K", bytes([size]),
                      b"\x85K", bytes([stride]), b"\x85\x89ccollections\nOrderedDict\n)RtR")


def test_tensor_records_are_bounds_checked(tmp_path):
    data = np.arange(4, dtype="<f4").tobytes()
    torch_zip(tmp_path / "ok.pt", rebuild(storage_pid("0", 4), 1, 2, 2), {"0": data})
    assert cr.load(tmp_path / "ok.pt").tolist() == [1.0, 3.0]
    torch_zip(tmp_path / "past.pt", rebuild(storage_pid("0", 4), 1, 3, 2), {"0": data})
    with pytest.raises(RuntimeError, match="reads past its storage of 4 elements"):
        cr.load(tmp_path / "past.pt")
    torch_zip(tmp_path / "odd.pt", rebuild(storage_pid("0", 4), 0, 1, 1), {"0": data[:6]})
    with pytest.raises(RuntimeError, match="not a whole number of FloatStorage elements"):
        cr.load(tmp_path / "odd.pt")
    torch_zip(tmp_path / "missing.pt", rebuild(storage_pid("0", 4), 0, 1, 1))
    with pytest.raises(RuntimeError, match="cannot read the PyTorch checkpoint"):
        cr.load(tmp_path / "missing.pt")


def test_legacy_pickle_checkpoints_are_refused_unread(tmp_path):
    canary = tmp_path / "canary"
    canary.write_text("alive")
    (tmp_path / "old.pt").write_bytes(pickle.dumps(RemoveCanary(str(canary)), protocol=2))
    with pytest.raises(RuntimeError, match="looks like a pickle.*_use_new_zipfile_serialization=False"):
        cr.load(tmp_path / "old.pt")
    assert canary.read_text() == "alive"


# -- fresh files from torch, when it is installed -----------------------------------------------------------

def test_checkpoints_written_by_installed_torch(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    optimizer = torch.optim.Adam(net.parameters())
    net(torch.randn(4, 5)).pow(2).sum().backward()
    optimizer.step()
    torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict()}, tmp_path / "run.pt")
    loaded = cr.load(tmp_path / "run.pt")
    ours = cr.nn.Sequential(cr.nn.Linear(5, 8), cr.nn.Tanh(), cr.nn.Linear(8, 3))
    ours.load_state_dict(loaded["model"])
    x = torch.randn(6, 5)
    np.testing.assert_allclose(ours(cr.tensor(x.numpy())).detach().numpy(), net(x).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    for index, state in optimizer.state_dict()["state"].items():
        for key, value in state.items():
            np.testing.assert_array_equal(loaded["optimizer"]["state"][index][key].numpy(), value.numpy())


def test_a_pickled_module_is_refused_with_a_hint(tmp_path):
    payload = raw_pickle(b"ctorch.nn.modules.linear\nLinear\n)\x81")
    torch_zip(tmp_path / "model.pt", payload)
    with pytest.raises(RuntimeError, match=r"global torch\.nn\.modules\.linear\.Linear.*save model\.state_dict\(\)"):
        cr.load(tmp_path / "model.pt")
