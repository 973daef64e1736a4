"""``chainrule.safetensors``: read and write safetensors files, the weights format of the Hugging Face hub.

A safetensors file is a JSON header (each tensor's dtype, shape and byte range) followed by raw little-endian
bytes: like chainrule's own checkpoints it holds data only, so loading one never runs code. It stores a flat
dict of named tensors (a ``state_dict``), nothing else. The functions mirror ``safetensors.torch`` and run on the
``safetensors`` package's NumPy API: ``pip install 'chainrule[safetensors]'``.
"""

from __future__ import annotations

import importlib

from . import _backend, _files
from ._backend import xp
from ._torch_pickle import widen_bfloat16
from .tensor import Tensor, _wrap

__all__ = ["save", "load", "save_file", "load_file"]

# NOTE: little-endian, as the format stores every tensor; BF16 is read as its raw bits, then widened.
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
           "I8": "i1", "U8": "u1", "BOOL": "?"}


def save(tensors: dict, metadata: dict | None = None) -> bytes:
    """The safetensors bytes of ``tensors``, a dict of str names to tensors of any shape and dtype.

    ``metadata`` is an optional dict of str to str stored in the header. Views are saved as copies.

    Example::

        >>> data = chainrule.safetensors.save({"w": chainrule.ones(2, 3)})
        >>> chainrule.safetensors.load(data)["w"].shape
        chainrule.Size([2, 3])
    """
    if not isinstance(tensors, dict):
        raise TypeError(f"safetensors.save: expected a dict of str to Tensor, got {type(tensors).__name__}")
    arrays = {}
    for key, value in tensors.items():
        if not isinstance(key, str) or not isinstance(value, Tensor):
            raise TypeError(f"safetensors.save: expected a dict of str to Tensor, got the {type(key).__name__} "
                            f"key {key!r} with a {type(value).__name__} value; safetensors files hold only "
                            "named tensors (save other objects with chainrule.save)")
        # NOTE: safetensors reads the array's buffer from its pointer and byte size, so a view must be copied.
        arrays[key] = xp.asarray(value._data, order="C")
    if metadata is not None and not (isinstance(metadata, dict)
                                     and all(isinstance(v, str) for kv in metadata.items() for v in kv)):
        raise TypeError(f"safetensors.save: metadata must be a dict of str to str, got {metadata!r}")
    return _package().numpy.save(arrays, metadata=metadata)


def load(data: bytes, name: str = "<bytes>") -> dict:
    """The dict of tensors in the safetensors bytes ``data``; ``name`` names the source in errors.

    bfloat16 tensors come back as float32 (exactly; chainrule has no bfloat16). Raises RuntimeError when
    ``data`` is not a valid safetensors file or holds a dtype chainrule lacks.
    """
    deserialize = _package().deserialize
    try:
        records = deserialize(bytes(data))
    except Exception as error:  # NOTE: safetensors raises its own SafetensorError and assorted builtins.
        raise RuntimeError(f"load: {name!r} is not a valid safetensors file: {error}") from None
    tensors = {}
    # NOTE: sorted by name, as safetensors.torch returns them, so the order does not depend on the writer.
    for key, record in sorted(records, key=lambda item: item[0]):
        if record["dtype"] not in _DTYPES:
            raise RuntimeError(f"load: {name!r}: tensor {key!r} has the safetensors dtype {record['dtype']}, "
                               f"which chainrule does not support (supported: {', '.join(_DTYPES)})")
        array = xp.frombuffer(record["data"], dtype=_DTYPES[record["dtype"]]).reshape(record["shape"])
        # NOTE: the copy gives each tensor its own writable memory instead of a read-only view of ``data``.
        tensors[key] = _wrap(widen_bfloat16(array) if record["dtype"] == "BF16" else xp.array(array))
    return tensors


def save_file(tensors: dict, filename, metadata: dict | None = None) -> None:
    """Save ``tensors`` (a dict of str to Tensor) to ``filename`` atomically; see :func:`save`.

    Example::

        >>> chainrule.safetensors.save_file(model.state_dict(), "model.safetensors")
        >>> model.load_state_dict(chainrule.safetensors.load_file("model.safetensors"))
    """
    _files.write_bytes(filename, [save(tensors, metadata)])


def load_file(filename, device="cpu") -> dict:
    """The dict of tensors saved in the safetensors file ``filename`` (``device``: only "cpu" exists)."""
    _backend.as_device(device)
    name, data = _files.read_bytes(filename)
    return load(data, name)


def looks_like_safetensors(blob: bytes) -> bool:
    """Whether ``blob`` starts as a safetensors file does: a little-endian header length, then a JSON object."""
    return len(blob) >= 10 and blob[8:9] == b"{" and 8 + int.from_bytes(blob[:8], "little") <= len(blob)


def _package():
    """The safetensors package, with its ``numpy`` submodule loaded."""
    try:
        importlib.import_module("safetensors.numpy")
    except ImportError:
        raise ImportError("safetensors files need the safetensors package: pip install 'chainrule[safetensors]'"
                          ) from None
    return importlib.import_module("safetensors")
