"""``chainrule.save`` / ``chainrule.load``: checkpoints that cannot run code when they are loaded.

A checkpoint is one file::

    MAGIC (8 bytes) | version (uint32) | header length (uint64) | JSON header | tensor bytes | SHA-256 (32)

The JSON header describes the saved object (dicts, lists, tuples, numbers, strings, bools, None) with each
tensor replaced by a reference to its dtype, shape and byte range in the payload, which holds the raw
little-endian array bytes. Loading parses JSON and copies bytes into arrays, never unpickles, so a file
from an untrusted source cannot execute anything. The digest covers everything before it, so a truncated
or corrupted file is refused with a clear error instead of yielding a silently wrong model.

Writes are atomic: the bytes go to a temporary file in the target's directory, which is flushed, synced and
then renamed over the target, so a crash mid-save leaves the previous checkpoint intact.

``load`` also reads the files people already have, still without running code: PyTorch checkpoints
(``torch.save``'s zip format, through an allowlisting unpickler, :mod:`chainrule._torch_pickle`) and
safetensors files (:mod:`chainrule.safetensors`), which ``save(..., format="safetensors")`` also writes.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections import OrderedDict

from . import _backend, _dtype, _files, _torch_pickle, safetensors
from ._backend import xp
from .tensor import Tensor, _wrap

__all__ = ["save", "load"]

MAGIC = b"\x89CRCKPT\n"
VERSION = 1
_PREFIX = struct.Struct("<8sIQ")
_DIGEST_SIZE = 32
# Containers are JSON objects with one of these tags; every other JSON value is a saved scalar as it is.
_CONTAINERS = ("dict", "odict", "list", "tuple")


FORMATS = ("chainrule", "safetensors")


def save(obj, f, format: str = "chainrule") -> None:
    """Save ``obj`` (typically a ``state_dict``) to the path or binary file ``f``, safely and atomically.

    ``obj`` may nest dicts (keys: str, int, float, bool or None), lists and tuples of tensors, Python numbers,
    strings, bools and None: model and optimizer state dicts, epoch counters, training curves. Tensors are
    saved by value (their dtype, shape, data and ``requires_grad``; views are saved as copies); NumPy scalars
    are saved as the Python numbers they hold. ``format="safetensors"`` writes a safetensors file instead,
    which holds only a flat dict of str to tensors (needs ``pip install 'chainrule[safetensors]'``).

    Example::

        >>> chainrule.save({"model": model.state_dict(), "epoch": 3}, "ckpt.crpt")
        >>> chainrule.load("ckpt.crpt")["epoch"]
        3
        >>> chainrule.save(model.state_dict(), "model.safetensors", format="safetensors")
    """
    if format == "safetensors":
        _files.write_bytes(f, [safetensors.save(obj)])
        return
    if format != "chainrule":
        raise ValueError(f"save: unknown format {format!r}; valid formats: {', '.join(FORMATS)}")
    arrays: list = []
    structure = _encode(obj, arrays, "obj")
    entries, offset = [], 0
    for array, requires_grad in arrays:
        entries.append({"dtype": _dtype.from_numpy_dtype(array.dtype).name, "shape": list(array.shape),
                        "offset": offset, "nbytes": array.nbytes, "requires_grad": requires_grad})
        offset += array.nbytes
    header = json.dumps({"structure": structure, "tensors": entries}, separators=(",", ":")).encode()
    chunks = [_PREFIX.pack(MAGIC, VERSION, len(header)), header]
    chunks.extend(_little_endian_bytes(array) for array, _ in arrays)
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    chunks.append(digest.digest())
    _files.write_bytes(f, chunks)


def load(f, map_location=None, weights_only: bool = True):
    """Load an object from the path or binary file ``f``: a chainrule checkpoint, a PyTorch checkpoint or a
    safetensors file (told apart by their first bytes).

    A PyTorch checkpoint (``torch.save``'s zip format) loads without torch: its tensors become chainrule
    tensors (bfloat16 widened to float32), its dicts, ``OrderedDict``s, lists, tuples, sets, numbers, strings
    and dtypes come back as they are. Any other object in it (a pickled module or function) is refused with a
    RuntimeError before anything runs, as torch's ``weights_only=True`` does; ``weights_only=False`` is
    accepted but changes nothing, since no file is ever allowed to run code. A safetensors file loads as a dict
    of tensors. ``map_location`` may name a device (only the CPU exists today). A file of none of these formats,
    truncated or corrupted raises a RuntimeError naming the file and the problem.

    Example::

        >>> state = chainrule.load("resnet_from_torch.pt")   # written by torch.save(model.state_dict(), ...)
        >>> model.load_state_dict(state)
    """
    _backend.as_device(map_location)
    name, blob = _files.read_bytes(f)
    if _torch_pickle.is_torch_zip(blob):
        return _torch_pickle.load_torch_zip(blob, name)
    if safetensors.looks_like_safetensors(blob):
        return safetensors.load(blob, name)
    header, payload = _verify(blob, name)
    try:
        header = json.loads(bytes(header))
        tensors = [_read_tensor(entry, payload) for entry in header["tensors"]]
        return _decode(header["structure"], tensors)
    except (KeyError, TypeError, ValueError, IndexError, RecursionError) as error:
        raise _fail(name, f"its checksum matches but its header is invalid ({error!r}); it was not "
                          "written by chainrule.save") from None


def _fail(name: str, problem: str):
    return RuntimeError(f"load: {name!r} is not a valid chainrule checkpoint: {problem}")


def _verify(blob: bytes, name: str) -> tuple[memoryview, memoryview]:
    """The header bytes and the payload of ``blob``, after checking magic, version, size and digest."""
    if not blob.startswith(MAGIC):
        raise _fail(name, f"{_describe_foreign(blob)}; chainrule.load reads files written by chainrule.save, "
                          "torch.save (its zip format) and safetensors (it never runs a plain pickle, since "
                          "unpickling can run arbitrary code)")
    if len(blob) < _PREFIX.size + _DIGEST_SIZE:
        raise _fail(name, f"the file is truncated ({len(blob)} bytes)")
    _, version, header_len = _PREFIX.unpack_from(blob)
    if version != VERSION:
        raise _fail(name, f"format version {version} is not supported (this chainrule reads version "
                          f"{VERSION}); upgrade chainrule")
    body, digest = blob[:-_DIGEST_SIZE], blob[-_DIGEST_SIZE:]
    if hashlib.sha256(body).digest() != digest:
        raise _fail(name, f"the checksum does not match: the file is truncated or corrupted "
                          f"({len(blob)} bytes)")
    start = _PREFIX.size + header_len
    if start > len(body):
        raise _fail(name, "the header length points past the end of the file")
    view = memoryview(body)
    return view[_PREFIX.size:start], view[start:]


def _describe_foreign(blob: bytes) -> str:
    if not blob:
        return "the file is empty"
    if blob[:1] == b"\x80":
        return ("it looks like a pickle (e.g. written by pickle.dump, or by torch.save with "
                "_use_new_zipfile_serialization=False)")
    if blob[:4] == b"PK\x03\x04":
        return "it looks like a zip archive without a data.pkl record (e.g. a .npz file), not a PyTorch checkpoint"
    if MAGIC.startswith(blob[:len(MAGIC)]):
        return f"the file is truncated ({len(blob)} bytes)"
    return f"it does not start with the chainrule magic bytes (starts with {blob[:8]!r})"


def _encode(obj, arrays: list, where: str):
    """The JSON form of ``obj``, appending each tensor's array to ``arrays``; ``where`` locates errors."""
    if isinstance(obj, Tensor):
        arrays.append((obj._data, obj.requires_grad))
        return {"tensor": len(arrays) - 1}
    if isinstance(obj, xp.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        # NOTE: JSON has no inf/nan; a tagged string keeps them (a best loss of inf is common).
        return obj if math.isfinite(obj) else {"float": repr(obj)}
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if not (key is None or isinstance(key, (bool, int, float, str))):
                raise TypeError(f"save: dict keys must be str, int, float, bool or None; got "
                                f"{type(key).__name__} key {key!r} in {where}")
            items.append([_encode(key, arrays, where), _encode(value, arrays, f"{where}[{key!r}]")])
        return {"odict" if isinstance(obj, OrderedDict) else "dict": items}
    if isinstance(obj, (list, tuple)):
        tag = "tuple" if isinstance(obj, tuple) else "list"
        return {tag: [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    raise TypeError(f"save: cannot save an object of type {type(obj).__name__} at {where}; checkpoints hold "
                    "tensors, numbers, strings, bools, None and dicts, lists and tuples of them")


def _decode(node, tensors: list):
    if not isinstance(node, dict):
        return node
    (tag, value), = node.items()
    if tag == "tensor":
        return tensors[value]
    if tag == "float":
        return float(value)
    if tag in ("dict", "odict"):
        pairs = ((_decode(k, tensors), _decode(v, tensors)) for k, v in value)
        return OrderedDict(pairs) if tag == "odict" else dict(pairs)
    if tag in ("list", "tuple"):
        items = [_decode(v, tensors) for v in value]
        return tuple(items) if tag == "tuple" else items
    raise ValueError(f"unknown tag {tag!r}")


def _little_endian_bytes(array) -> bytes:
    return xp.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def _read_tensor(entry: dict, payload: memoryview) -> Tensor:
    np_dtype = _dtype.as_dtype(entry["dtype"]).np
    shape = tuple(int(s) for s in entry["shape"])
    offset, nbytes = int(entry["offset"]), int(entry["nbytes"])
    if nbytes != math.prod(shape) * np_dtype.itemsize or offset < 0 or offset + nbytes > len(payload):
        raise ValueError(f"tensor entry {entry} does not fit the payload of {len(payload)} bytes")
    array = xp.frombuffer(payload[offset:offset + nbytes], dtype=np_dtype.newbyteorder("<"))
    t = _wrap(array.astype(np_dtype).reshape(shape))
    t.requires_grad = bool(entry["requires_grad"]) and t.is_floating_point()
    return t
