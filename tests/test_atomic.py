"""Atomic writes (`naf_model.atomic`): whole content, the user's permissions, nothing left after a failure."""

from __future__ import annotations

import errno
import os
import pickle
import signal
import stat

import numpy as np
import pytest

from naf_model import atomic
from naf_model.atomic import atomic_open, atomic_path, atomic_paths, current_umask, write_atomic
from naf_model.errors import WriteError


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    old = os.umask(0o022)
    os.umask(old)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


def test_write_atomic_writes_text_and_bytes_and_creates_the_folder(tmp_path):
    text = tmp_path / "sub" / "deeper" / "notes.txt"
    assert write_atomic(text, "grüß dich\n") == text
    assert text.read_bytes() == "grüß dich\n".encode()
    blob = tmp_path / "blob.bin"
    write_atomic(blob, bytes(range(256)))
    assert blob.read_bytes() == bytes(range(256))
    write_atomic(blob, b"shorter")  # replaces the whole file
    assert blob.read_bytes() == b"shorter"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin", "sub"]


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_mode_follows_the_umask(tmp_path, umask, mask):
    umask(mask)
    assert current_umask() == mask
    path = tmp_path / "f.json"
    write_atomic(path, "{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    with atomic_path(tmp_path / "g.npy") as tmp:
        np.save(tmp, np.arange(3))  # a writer that takes a file name (and keeps the suffix)
    assert stat.S_IMODE((tmp_path / "g.npy").stat().st_mode) == 0o666 & ~mask


def test_temporary_name_keeps_the_suffix_and_sits_in_the_target_folder(tmp_path):
    with atomic_path(tmp_path / "walk.mp4") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".walk.mp4.") and tmp.suffix == ".mp4"
        assert tmp.exists() and not (tmp_path / "walk.mp4").exists()
        tmp.write_bytes(b"video")
    assert (tmp_path / "walk.mp4").read_bytes() == b"video" and not tmp.exists()


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failure_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, error):
    path = tmp_path / "data.txt"
    write_atomic(path, "old content\n")
    with pytest.raises(error), atomic_open(path, "w") as handle:
        handle.write("new, half wri")
        handle.flush()
        raise error("interrupted in the middle of writing")
    assert path.read_text() == "old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["data.txt"]
    with pytest.raises(error), atomic_path(tmp_path / "fresh.bin") as tmp:
        tmp.write_bytes(b"partial")
        raise error("interrupted")
    assert [p.name for p in tmp_path.iterdir()] == ["data.txt"]


def test_atomic_open_refuses_modes_that_do_not_write_a_whole_file(tmp_path):
    with pytest.raises(ValueError, match="mode"), atomic_open(tmp_path / "x", "a"):
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("code", "said"), [(errno.ENOSPC, "no space left on device"),
                                            (errno.EROFS, "read-only file system"),
                                            (errno.EACCES, "permission denied")])
def test_a_file_system_fault_mid_write_is_one_line_and_keeps_the_old_file(tmp_path, code, said):
    path = tmp_path / "data.bin"
    write_atomic(path, b"old")
    with pytest.raises(WriteError) as caught, atomic_open(path, "wb") as handle:
        handle.write(b"new, half")
        raise OSError(code, os.strerror(code))
    message = str(caught.value)
    assert message.startswith(f"cannot write {path}: {said}") and "\n" not in message
    assert isinstance(caught.value, OSError) and caught.value.errno == code  # callers catching OSError still do
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["data.bin"]


def test_a_writer_that_hides_the_os_error_is_diagnosed_from_the_folder(tmp_path, monkeypatch):
    """torch.save raises RuntimeError and soundfile "System error" on a full disk: the folder tells."""
    path = tmp_path / "weights.pt"
    with pytest.raises(RuntimeError), atomic_path(path):
        raise RuntimeError("a bug, with plenty of space: stays itself")
    real = os.statvfs(tmp_path)
    full = os.statvfs_result((real.f_bsize, real.f_frsize, real.f_blocks, 0, 0, *real[5:]))
    monkeypatch.setattr(os, "statvfs", lambda folder: full)
    with pytest.raises(WriteError, match="no space left on device"), atomic_path(path):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")
    assert list(tmp_path.iterdir()) == []


def test_a_pair_of_files_is_written_whole_or_not_at_all(tmp_path):
    table, data = tmp_path / "r.md", tmp_path / "r.json"
    with atomic_paths(table, data) as (t, d):
        t.write_text("table 1")
        d.write_text("data 1")
    with pytest.raises(KeyboardInterrupt), atomic_paths(table, data) as (t, d):
        t.write_text("table 2")
        raise KeyboardInterrupt  # before the renames: neither is replaced
    assert (table.read_text(), data.read_text()) == ("table 1", "data 1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.md"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_during_the_renames_lands_after_both(tmp_path, monkeypatch, signum):
    """The signal arrives while the first file is renamed: it takes effect once the second one is too."""
    from naf_model.evaluation.report import write_report

    class Report:
        scene = "room"

        def __init__(self, n: int) -> None:
            self.n = n

        def to_markdown(self) -> str:
            return f"table {self.n}\n"

        def to_json(self) -> str:
            return f'{{"n": {self.n}}}'

    write_report(Report(1), tmp_path)
    real_replace, calls = os.replace, []

    def replace_and_interrupt(src, dst):
        calls.append(dst)
        if len(calls) == 1:
            os.kill(os.getpid(), signum)
        real_replace(src, dst)

    def interrupted(number, frame):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", replace_and_interrupt)
    previous = signal.signal(signum, interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):
            write_report(Report(2), tmp_path)
    finally:
        signal.signal(signum, previous)
    assert len(calls) == 2
    assert (tmp_path / "room.md").read_text() == "table 2\n" and (tmp_path / "room.json").read_text() == '{"n": 2}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["room.json", "room.md"]


def test_a_write_error_survives_the_trip_from_a_pool_worker():
    sent = WriteError("cannot write x.npz: no space left on device", errno.ENOSPC, "x.npz")
    got = pickle.loads(pickle.dumps(sent))
    assert (type(got), str(got), got.errno, got.filename) == (WriteError, str(sent), errno.ENOSPC, "x.npz")


@pytest.mark.parametrize("name", ["a" * 250 + ".png", "é" * 125 + ".wav", "x." + "s" * 240])
def test_any_name_the_file_system_takes_can_be_written(tmp_path, name):
    """The temporary name is `.<name>.<random>.tmp<suffix>`: for a target near the 255-byte limit `<name>` is
    shortened, so that the write does not fail with "File name too long" after all the work is done."""
    target = tmp_path / name
    assert len(os.fsencode(name)) <= atomic.name_limit(tmp_path)
    with atomic_path(target) as tmp:
        assert len(os.fsencode(tmp.name)) <= atomic.name_limit(tmp_path)
        assert tmp.name.startswith(".") and tmp.suffix == (target.suffix if len(target.suffix) < 30 else ".tmp")
        tmp.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"
    assert [p.name for p in tmp_path.iterdir()] == [name]
