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
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import struct
from collections import OrderedDict

from . import _backend, _dtype
from ._backend import xp
from .tensor import Tensor, _wrap

__all__ = ["save", "load"]

MAGIC = b"\x89CRCKPT\n"
VERSION = 1
_PREFIX = struct.Struct("<8sIQ")
_DIGEST_SIZE = 32
# Containers are JSON objects with one of these tags; every other JSON value is a saved scalar as it is.
_CONTAINERS = ("dict", "odict", "list", "tuple")


def save(obj, f) -> None:
    """Save ``obj`` (typically a ``state_dict``) to the path or binary file ``f``, safely and atomically.

    ``obj`` may nest dicts (keys: str, int, float, bool or None), lists and tuples of tensors, Python numbers,
    strings, bools and None: model and optimizer state dicts, epoch counters, training curves. Tensors are
    saved by value (their dtype, shape, data and ``requires_grad``; views are saved as copies); NumPy scalars
    are saved as the Python numbers they hold.

    Example::

        >>> chainrule.save({"model": model.state_dict(), "epoch": 3}, "ckpt.crpt")
        >>> chainrule.load("ckpt.crpt")["epoch"]
        3
    """
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
    if hasattr(f, "write"):
        _write_chunks(f, chunks)
    else:
        _atomic_write(os.fspath(f), chunks)


def load(f, map_location=None, weights_only: bool = True):
    """Load an object saved by :func:`save` from the path or binary file ``f``.

    ``map_location`` may name a device (only the CPU exists today). ``weights_only`` is accepted for torch
    compatibility: chainrule checkpoints only ever hold data, so loading is always as safe as torch's
    ``weights_only=True``. A file that is not a chainrule checkpoint (a pickle, a text file), truncated or
    corrupted raises a RuntimeError naming the file and the problem.
    """
    _backend.as_device(map_location)
    if hasattr(f, "read"):
        name, blob = getattr(f, "name", "<file object>"), f.read()
    else:
        name = os.fspath(f)
        with open(name, "rb") as file:
            blob = file.read()
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
        raise _fail(name, f"{_describe_foreign(blob)}; chainrule.load only reads files written by "
                          "chainrule.save (it never unpickles, since unpickling can run arbitrary code)")
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
        return "it looks like a pickle (e.g. written by torch.save with pickle or pickle.dump)"
    if blob[:4] == b"PK\x03\x04":
        return "it looks like a zip archive (e.g. a PyTorch checkpoint or a .npz file)"
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


def _write_chunks(file, chunks: list) -> None:
    for chunk in chunks:
        file.write(chunk)


def _atomic_write(path: str, chunks: list) -> None:
    """Write ``chunks`` to a temporary sibling of ``path``, sync it, then rename it over ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    # NOTE: os.open with mode 0o666 lets the umask decide the permissions, as a plain open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            _write_chunks(file, chunks)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _sync_directory(directory)


def _sync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); platforms that cannot open directories skip it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
