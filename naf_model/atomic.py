"""Atomic file writes: readers see the old file or the whole new one, never a half-written file.

Every writer goes through `atomic_path`: a temporary file in the target's folder (same file system, so
the final `os.replace` is atomic), named `.<name>.<random>.tmp<suffix>` so that writers which pick a format
from the suffix (soundfile, matplotlib, ffmpeg) still do; `<name>` is shortened where the whole would pass the
file system's name limit (`temp_affixes`), so any name the OS takes as a target can be written. The finished
file is flushed to disk, given the permissions a plain `open()` would give (0o666 minus the umask; `mkstemp`
makes owner-only files) and renamed over the target. On any failure, KeyboardInterrupt included, the
temporary file is removed and the old target is left as it was; a failure of the file system itself (disk
full, read-only, no permission) becomes a one-line `WriteError`. `atomic_paths` writes files that belong
together: all of them or none.

    write_atomic(path, "text" | b"bytes")                      # whole content at once
    with atomic_open(path, "w") as f: json.dump(obj, f)        # writers that take an open file
    with atomic_path(path) as tmp: h5py.File(tmp, "w")...     # writers that take a file name
    with atomic_paths(table, data) as (t, d): ...             # a pair that must not be split by an interrupt
"""

from __future__ import annotations

import errno
import os
import signal
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from naf_model.errors import WriteError


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


FILE_SYSTEM_FAULTS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for the file system",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EIO: "input/output error",
}
"""OS errors that say the file system, not the data, stopped a write; each a one-line `WriteError`."""

LOW_SPACE_BYTES = 1 << 20
"""Free space under which a failed write counts as disk full when the writer hid the OS error."""


def file_system_fault(exc: BaseException, folder: str | os.PathLike[str] | None = None) -> int | None:
    """The errno (a key of FILE_SYSTEM_FAULTS) if `exc`, raised while writing into `folder`, is the file
    system's doing; None if it is not (a bug stays a traceback).

    Read from an OSError in the exception's chain or, for writers that hide it (torch.save raises
    RuntimeError, soundfile "System error"), from `folder` itself: read-only, nearly full or not writable.
    """
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, OSError) and cause.errno in FILE_SYSTEM_FAULTS:
            return cause.errno
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    if folder is None:
        return None
    try:
        fs = os.statvfs(folder)
    except (OSError, AttributeError):  # gone, or not a POSIX system
        return None
    if fs.f_flag & os.ST_RDONLY:
        return errno.EROFS
    free_blocks = fs.f_bfree if os.geteuid() == 0 else fs.f_bavail  # root may use the reserved blocks
    if free_blocks * fs.f_frsize < LOW_SPACE_BYTES:
        return errno.ENOSPC
    if not os.access(folder, os.W_OK):
        return errno.EACCES
    return None


def fault_message(code: int, path: str | os.PathLike[str]) -> str:
    """The one line that reports file system fault `code` while writing `path`, and what to do."""
    remedy = (
        "make the folder writable or write elsewhere"
        if code in (errno.EROFS, errno.EACCES, errno.EPERM)
        else "check the disk" if code == errno.EIO else "free some space"
    )
    return (f"cannot write {path}: {FILE_SYSTEM_FAULTS[code]} (files written before are intact; {remedy} "
            "and run the same command again to go on)")


_INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back during a short block (renames that belong together); they act at its end.

    The signals are blocked in this thread (pthread_sigmask) and, in the main thread, their Python handlers
    are swapped for a recorder as well: a signal the kernel hands to another thread (torch's) would otherwise
    still run its handler in the main thread between two bytecodes of the block.
    """
    held: list[int] = []
    swapped: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in _INTERRUPTS:
            if signal.getsignal(signum) is not None:  # None: set outside Python, cannot be put back
                swapped[signum] = signal.signal(signum, lambda number, frame: held.append(number))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS) if hasattr(signal, "pthread_sigmask") else None
    try:
        yield
    finally:
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a pending signal reaches the recorder or ...
        for signum, handler in swapped.items():
            signal.signal(signum, handler)  # ... the handler put back here
        for signum in held:
            signal.raise_signal(signum)


_writes_in_progress = 0


def writes_in_progress() -> int:
    """How many `atomic_path` blocks are open in this process: an interrupt handler unwinds them, not exits."""
    return _writes_in_progress


NAME_MAX_BYTES = 255
"""The longest file name (bytes) where the file system does not say (Linux, macOS and Windows all allow 255)."""
_RANDOM_CHARS = 8
"""Characters `tempfile.mkstemp` puts between its prefix and suffix."""
_MAX_KEPT_SUFFIX_BYTES = 32
"""A longer "suffix" is no format a writer knows; the temporary name leaves it out."""


def name_limit(folder: str | os.PathLike[str]) -> int:
    """The longest file name, in bytes, the file system of `folder` (or of its nearest existing parent) takes."""
    where = Path(folder)
    while where.parent != where:
        try:
            if where.exists():
                break
        except OSError:  # a part of the path is itself too long to look up
            pass
        where = where.parent
    try:
        return int(os.pathconf(where, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):  # not POSIX, or the folder cannot be asked
        return NAME_MAX_BYTES


def temp_affixes(target: Path, limit: int) -> tuple[str, str]:
    """(prefix, suffix) of the temporary name for `target`: `.<name>.` and `.tmp<suffix>`, `<name>` cut (at a
    character boundary) so that prefix + random part + suffix stays within `limit` bytes."""
    suffix = target.suffix if len(os.fsencode(target.suffix)) <= _MAX_KEPT_SUFFIX_BYTES else ""
    suffix = f".tmp{suffix}"
    room = limit - len(os.fsencode(suffix)) - _RANDOM_CHARS - 2
    name = target.name
    while len(os.fsencode(name)) > room:
        name = name[: max(len(name) - max(len(os.fsencode(name)) - room, 1), 0)]
    return f".{name}.", suffix


class _Pending:
    """One target file and its temporary file, from creation to rename."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.target = Path(path)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        prefix, suffix = temp_affixes(self.target, name_limit(self.target.parent))
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=self.target.parent)
        os.close(fd)
        self.tmp = Path(name)

    def finish(self) -> None:
        """Put the data on disk before the name points at it, with the permissions of a plain open()."""
        with open(self.tmp, "rb+") as written:
            os.fsync(written.fileno())
        os.chmod(self.tmp, 0o666 & ~current_umask())


@contextmanager
def atomic_paths(*paths: str | os.PathLike[str]) -> Iterator[tuple[Path, ...]]:
    """Yield temporary names for several files that belong together; when the block ends without error
    all of them become their targets, with SIGINT/SIGTERM held back (`interrupts_held`) during the
    renames, so an interrupt lands before all of them or after all of them. See `atomic_path`."""
    global _writes_in_progress
    pending: list[_Pending] = []
    _writes_in_progress += 1
    try:
        for path in paths:
            pending.append(_Pending(path))
        yield tuple(p.tmp for p in pending)
        for p in pending:
            p.finish()
        with interrupts_held():
            for p in pending:
                os.replace(p.tmp, p.target)
    except BaseException as exc:
        fault = _fault(exc, [Path(path) for path in paths])  # before the temporary files free their space
        for p in pending:
            p.tmp.unlink(missing_ok=True)
        if fault is not None:
            code, failed = fault
            raise WriteError(fault_message(code, failed), code, str(failed)) from exc
        raise
    finally:
        _writes_in_progress -= 1


def _fault(exc: BaseException, targets: Sequence[Path]) -> tuple[int, Path] | None:
    """(errno, the target whose folder shows it) if `exc` is a file system fault not yet reported."""
    if isinstance(exc, WriteError) or not isinstance(exc, Exception):  # reported already, or an interrupt
        return None
    for target in targets:
        code = file_system_fault(exc, target.parent)
        if code is not None:
            return code, target
    return None


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary file name next to `path`; when the block ends without error it becomes `path`.

    The folder of `path` is created if needed. The temporary file exists (empty) when the block starts,
    so writers must overwrite it (h5py "w", soundfile, savefig, ffmpeg -y, torch.save all do).
    """
    with atomic_paths(path) as (tmp,):
        yield tmp


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
