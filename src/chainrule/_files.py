"""Reading and writing whole files for the checkpoint formats: a path or an open binary file, written atomically.

A write to a path goes to a temporary file in the target's directory, which is flushed, synced and then renamed
over the target, so a crash mid-save leaves the previous file intact.
"""

from __future__ import annotations

import os
import secrets


def read_bytes(f) -> tuple[str, bytes]:
    """The name (for error messages) and the whole content of the path or binary file ``f``."""
    if hasattr(f, "read"):
        return getattr(f, "name", "<file object>"), f.read()
    name = os.fspath(f)
    with open(name, "rb") as file:
        return name, file.read()


def write_bytes(f, chunks: list) -> None:
    """Write ``chunks`` (bytes) to the binary file ``f``, or atomically to the path ``f``."""
    if hasattr(f, "write"):
        write_chunks(f, chunks)
    else:
        atomic_write(os.fspath(f), chunks)


def write_chunks(file, chunks: list) -> None:
    for chunk in chunks:
        file.write(chunk)


def atomic_write(path: str, chunks: list) -> None:
    """Write ``chunks`` to a temporary sibling of ``path``, sync it, then rename it over ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    # NOTE: os.open with mode 0o666 lets the umask decide the permissions, as a plain open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            write_chunks(file, chunks)
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
