"""Read checkpoints written by ``torch.save`` without torch and without running code from the file.

``torch.save`` writes a zip archive: ``<name>/data.pkl`` (a pickle of the saved object), one record
``<name>/data/<key>`` of raw bytes per tensor storage, and ``<name>/byteorder``. A pickle is a program: any
global it names is imported and called, so an ordinary ``pickle.load`` of an untrusted file can run anything.
Here the unpickler resolves only the globals on an allowlist (:data:`_ALLOWED`, the same set torch's
``weights_only=True`` trusts: tensor rebuilders, storage types, dtypes, ``OrderedDict``, ``set``, ...) to
chainrule's own stand-ins, and refuses every other global before anything is called.
"""

from __future__ import annotations

import collections
import io
import math
import pickle
import zipfile

from . import _dtype
from ._backend import xp
from .tensor import Size, Tensor, _wrap

__all__ = ["is_torch_zip", "load_torch_zip", "widen_bfloat16"]

# NOTE: numpy has no bfloat16; its values widen to float32 exactly (they are float32 with the low 16 bits cut).
_BFLOAT16 = "bfloat16"
_STORAGES = {
    "DoubleStorage": xp.float64, "FloatStorage": xp.float32, "HalfStorage": xp.float16,
    "LongStorage": xp.int64, "IntStorage": xp.int32, "ShortStorage": xp.int16, "CharStorage": xp.int8,
    "ByteStorage": xp.uint8, "BoolStorage": xp.bool_, "BFloat16Storage": _BFLOAT16,
}
_DTYPES = {"float64": "float64", "double": "float64", "float32": "float32", "float": "float32",
           "float16": "float16", "half": "float16", "int64": "int64", "long": "int64", "int32": "int32",
           "int": "int32", "int16": "int16", "short": "int16", "int8": "int8", "uint8": "uint8", "bool": "bool"}


class _StorageType:
    """What ``torch.FloatStorage`` and friends unpickle to: just the element type of a storage record."""

    __slots__ = ("name", "np")

    def __init__(self, name: str, np_dtype):
        self.name, self.np = name, np_dtype


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None) -> Tensor:
    """torch's ``_rebuild_tensor_v2``: a (copied) strided view of a storage, checked to stay inside it."""
    size, stride = tuple(size), tuple(stride)
    if not (isinstance(storage, xp.ndarray) and len(size) == len(stride)
            and all(isinstance(v, int) and v >= 0 for v in (storage_offset, *size, *stride))):
        raise pickle.UnpicklingError(f"invalid tensor record (offset {storage_offset!r}, size {size!r}, "
                                     f"stride {stride!r})")
    if math.prod(size) == 0:
        array = xp.empty(size, dtype=storage.dtype)
    else:
        # NOTE: as_strided trusts its arguments, so a hostile record could read memory past the storage.
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= storage.size:
            raise pickle.UnpicklingError(f"tensor of size {size} and stride {stride} at offset {storage_offset} "
                                         f"reads past its storage of {storage.size} elements")
        view = xp.lib.stride_tricks.as_strided(storage[storage_offset:], size,
                                                  tuple(s * storage.itemsize for s in stride), writeable=False)
        array = xp.array(view)
    t = _wrap(array)
    t.requires_grad = bool(requires_grad) and t.is_floating_point()
    return t


def _rebuild_parameter(data: Tensor, requires_grad, backward_hooks, state=None) -> Tensor:
    """torch's ``_rebuild_parameter(_with_state)``: a Parameter comes back as a leaf tensor."""
    if not isinstance(data, Tensor):
        raise pickle.UnpicklingError(f"a parameter must hold a tensor, got {type(data).__name__}")
    data.requires_grad = bool(requires_grad) and data.is_floating_point()
    return data


def _codecs_encode(text: str, encoding: str = "utf-8") -> bytes:
    # NOTE: protocol 2 pickles bytes as _codecs.encode(latin-1 text, "latin1"); only text codecs are allowed.
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise pickle.UnpicklingError(f"_codecs.encode is only allowed on text with latin1 or utf-8, "
                                     f"got {type(text).__name__} and {encoding!r}")
    return text.encode(encoding)


_ALLOWED = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): Size,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("_codecs", "encode"): _codecs_encode,
    **{(module, name): obj for module in ("builtins", "__builtin__")
       for name, obj in (("set", set), ("frozenset", frozenset), ("complex", complex), ("bytearray", bytearray))},
    **{("torch", name): _StorageType(name, np_dtype) for name, np_dtype in _STORAGES.items()},
    **{("torch", name): _dtype.as_dtype(dtype_name) for name, dtype_name in _DTYPES.items()},
}


def _load_build(unpickler) -> None:
    # NOTE: BUILD sets attributes on the object below it; allowed on anything it would let a file rewrite the
    # allowlisted functions or the dtype singletons for the whole process. torch only BUILDs an OrderedDict
    # (a state_dict's _metadata), so that is all this accepts.
    state = unpickler.stack.pop()
    target = unpickler.stack[-1]
    if type(target) is not collections.OrderedDict or not isinstance(state, dict):
        raise pickle.UnpicklingError(f"setting the state of a {type(target).__name__} is not allowed")
    for key, value in state.items():
        if key.__class__ is not str:
            raise pickle.UnpicklingError(f"attribute names must be strings, got {key!r}")
        setattr(target, key, value)


class _RestrictedUnpickler(pickle._Unpickler):
    """Resolves only :data:`_ALLOWED` globals; storages come from the zip archive's records.

    NOTE: the pure-Python unpickler, because its opcode table can be changed (BUILD); it only reads the small
    pickle of the structure, never the tensor bytes, so its speed does not matter.
    """

    dispatch = {**pickle._Unpickler.dispatch, pickle.BUILD[0]: _load_build}

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, byteorder: str):
        super().__init__(file)
        self.archive, self.prefix, self.byteorder = archive, prefix, byteorder
        self.storages: dict = {}

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[module, name]
        except KeyError:
            hint = ("; it holds a whole pickled module: save model.state_dict() instead"
                    if module.startswith("torch.nn.") else "")
            raise pickle.UnpicklingError(
                f"the file refers to the global {module}.{name}, which is not allowed: only tensors, dicts, "
                "lists, tuples, sets, numbers, strings and dtypes are read (as torch.load(weights_only=True)), "
                f"because loading anything else could run code from the file{hint}") from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}; only tensor storages are read")
        storage_type, key = pid[1], pid[2]
        if key not in self.storages:
            self.storages[key] = self._read_storage(storage_type, key)
        return self.storages[key]

    def _read_storage(self, storage_type: _StorageType, key: str) -> xp.ndarray:
        raw = self.archive.read(f"{self.prefix}data/{key}")
        np_dtype = xp.uint16 if storage_type.np == _BFLOAT16 else xp.dtype(storage_type.np)
        itemsize = xp.dtype(np_dtype).itemsize
        if len(raw) % itemsize:
            raise pickle.UnpicklingError(f"storage {key} holds {len(raw)} bytes, not a whole number of "
                                         f"{storage_type.name} elements")
        array = xp.frombuffer(raw, dtype=xp.dtype(np_dtype).newbyteorder(
            "<" if self.byteorder == "little" else ">")).astype(np_dtype)
        return widen_bfloat16(array) if storage_type.np == _BFLOAT16 else array


def widen_bfloat16(bits: xp.ndarray) -> xp.ndarray:
    """float32 values of the bfloat16 numbers whose raw bits are the uint16 array ``bits`` (exact)."""
    return (bits.astype(xp.uint32) << 16).view(xp.float32)


def is_torch_zip(blob: bytes) -> bool:
    """Whether ``blob`` is a zip archive holding a ``data.pkl`` record (torch.save's format)."""
    if not blob.startswith(b"PK\x03\x04"):
        return False
    try:
        return _pickle_record(zipfile.ZipFile(io.BytesIO(blob))) is not None
    except zipfile.BadZipFile:
        return False


def _pickle_record(archive: zipfile.ZipFile) -> str | None:
    names = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") <= 1]
    return names[0] if names else None


def load_torch_zip(blob: bytes, name: str):
    """The object ``torch.save`` wrote into ``blob``, with torch tensors as chainrule tensors.

    Raises RuntimeError naming ``name`` when the archive is malformed or refers to anything but data.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
        record = _pickle_record(archive)
        if record is None:
            raise pickle.UnpicklingError("the zip archive has no data.pkl record")
        prefix = record[:-len("data.pkl")]
        byteorder = "little"
        if f"{prefix}byteorder" in archive.namelist():
            byteorder = archive.read(f"{prefix}byteorder").decode("ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise pickle.UnpicklingError(f"unknown byte order {byteorder!r}")
        unpickler = _RestrictedUnpickler(io.BytesIO(archive.read(record)), archive, prefix, byteorder)
        return unpickler.load()
    except (pickle.UnpicklingError, zipfile.BadZipFile, KeyError, EOFError, TypeError, ValueError, AttributeError,
            IndexError, RecursionError, MemoryError) as error:
        raise RuntimeError(f"load: cannot read the PyTorch checkpoint {name!r}: {error}") from None
