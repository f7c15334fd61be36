"""Atomic writes (`naf_model.atomic`): whole content, the user's permissions, nothing left after a failure."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from naf_model.atomic import atomic_open, atomic_path, current_umask, write_atomic


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
