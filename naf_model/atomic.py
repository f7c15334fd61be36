"""Atomic file writes: readers see the old file or the whole new one, never a half-written file.

Every writer goes through `atomic_path`: a temporary file in the target's folder (same file system, so
the final `os.replace` is atomic), named `.<name>.<random>.tmp<suffix>` so that writers which pick a format
from the suffix (soundfile, matplotlib, ffmpeg) still do. The finished file is flushed to disk, given the
permissions a plain `open()` would give (0o666 minus the umask; `mkstemp` makes owner-only files) and
renamed over the target. On any failure, KeyboardInterrupt included, the temporary file is removed and the
old target is left as it was.

    write_atomic(path, "text" | b"bytes")                      # whole content at once
    with atomic_open(path, "w") as f: json.dump(obj, f)        # writers that take an open file
    with atomic_path(path) as tmp: h5py.File(tmp, "w")...     # writers that take a file name
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def current_umask() -> int:
    """The process's umask, read without changing it where the OS allows (Linux: /proc/self/status)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it (briefly) and restore it
    os.umask(mask)
    return mask


_writes_in_progress = 0


def writes_in_progress() -> int:
    """How many `atomic_path` blocks are open in this process: an interrupt handler unwinds them, not exits."""
    return _writes_in_progress


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary file name next to `path`; when the block ends without error it becomes `path`.

    The folder of `path` is created if needed. The temporary file exists (empty) when the block starts,
    so writers must overwrite it (h5py "w", soundfile, savefig, ffmpeg -y, torch.save all do).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    global _writes_in_progress
    _writes_in_progress += 1
    try:
        yield tmp
        with open(tmp, "rb+") as written:
            os.fsync(written.fileno())  # the data is on disk before the name points at it
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        _writes_in_progress -= 1


@contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Yield `path`'s temporary file opened for writing in `mode` ("w" text, "wb" binary); see `atomic_path`."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', not {mode!r}")
    with atomic_path(path) as tmp, open(tmp, mode, encoding=None if "b" in mode else encoding) as handle:
        yield handle


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write `data` (str as UTF-8, or bytes) to `path` atomically; returns the path."""
    with atomic_open(path, "wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)
