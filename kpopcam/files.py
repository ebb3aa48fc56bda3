"""Writing files so that a crash, a kill or a full disk never leaves half of one.

Everything kpopcam keeps (portraits, settings, weights, the galleries' exports) is written to
a temporary file in the target's folder, flushed to disk, then renamed over the target: the
target is either the old file or the whole new one.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed into place when the block ends
    without an error, removed when it fails. Made readable by others like any file the user
    saves (mkstemp alone makes it private, and the rename would keep that)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o644)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def writable_folder(path: Path | str) -> Path:
    """The folder, made if missing, after checking that a file can be written in it; an
    OSError (with the path) if not. Commands call it before hours of work, not after."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=path):
        pass
    return path


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: Path | str, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_REASONS = {
    errno.ENOTDIR: "a file is in the way where a folder should be",
    errno.EEXIST: "a file is in the way where a folder should be",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENOENT: "there is no such file or folder",
    errno.EACCES: "you have no permission to use it",
    errno.EPERM: "the system does not allow writing there",
    errno.EROFS: "the disk is read-only",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "your disk quota is used up",
}


def reason_of(exc: OSError) -> str:
    """What went wrong with a file or folder, in words for a fan (no path)."""
    return _REASONS.get(exc.errno) or exc.strerror or str(exc)


def why(exc: OSError) -> str:
    """'PATH: reason' for a failed file operation."""
    return f"{exc.filename}: {reason_of(exc)}" if exc.filename else reason_of(exc)
