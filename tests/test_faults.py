"""File system faults in the middle of a job (issue 16, item 8): a full disk or a read-only folder strikes a
part write or the assembly of `naf data make`, a checkpoint save of `naf train`, or the WAV of `naf render`.

Each fault is injected into the real writer (numpy, h5py, torch, soundfile), which writes part of its output
and then raises the OS error. The command must print one line (`naf: error: cannot write ...: no space left
on device ...`), exit with status 2, leave the files written before intact and no temporary file; the same
command run again without the fault goes on from there and gives what an uninterrupted run gives.
"""

from __future__ import annotations

import errno
import io
import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile
import torch
from model_helpers import tiny_config, tiny_dataset
from test_data import TINY, TINY_CLI, assert_same_content

from naf_model.checkpoint import load_checkpoint
from naf_model.cli import main
from naf_model.data import make_dataset
from naf_model.data.parts import parts_folder
from naf_model.networks import presets
from naf_model.scene import save_scene
from naf_model.scene.examples import two_room_scene

FAULTS = {errno.ENOSPC: "no space left on device", errno.EROFS: "read-only file system"}


class Fault:
    """Counts the calls of a writer; from call `at` on, writes half its output and raises OSError(code)."""

    def __init__(self, at: int, code: int = errno.ENOSPC) -> None:
        self.at, self.code, self.calls = at, code, 0

    def strike(self) -> bool:
        self.calls += 1
        return self.calls >= self.at

    def fail(self, handle_or_path, data: bytes) -> None:
        half = data[: len(data) // 2]
        if isinstance(handle_or_path, (str, os.PathLike)):
            Path(handle_or_path).write_bytes(half)
        else:
            handle_or_path.write(half)
        raise OSError(self.code, os.strerror(self.code))


def _check_one_line(code: int, err: str, said: str, path_part: str) -> None:
    errors = [line for line in err.splitlines() if line.startswith("naf: error:")]
    assert code == 2, err
    assert "Traceback" not in err
    assert len(errors) == 1 and err.rstrip().endswith(errors[0]), err
    assert f": {said} (" in errors[0] and path_part in errors[0], errors[0]


def _no_temporaries(folder: Path) -> None:
    assert not [p for p in folder.rglob(".*") if p.is_file()], list(folder.rglob(".*"))


@pytest.fixture(scope="module")
def scene_file(tmp_path_factory) -> Path:
    return save_scene(two_room_scene(), tmp_path_factory.mktemp("scene") / "two_room" / "scene.json")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The tiny data set of tests/test_data.py, made in one uninterrupted run."""
    return make_dataset(two_room_scene(), TINY, tmp_path_factory.mktemp("built") / "tiny.h5", workers=1,
                        progress=False)


@pytest.mark.parametrize("code", FAULTS)
def test_a_fault_in_a_part_write_keeps_the_finished_parts_and_resumes(code, scene_file, built, tmp_path, monkeypatch,
                                                                      capsys) -> None:
    out = tmp_path / "made.h5"
    argv = ["data", "make", "--scene", str(scene_file), "-o", str(out), "--workers", "1", *TINY_CLI]
    fault, savez = Fault(at=3, code=code), np.savez

    def full_savez(handle, **arrays) -> None:
        if not fault.strike():
            return savez(handle, **arrays)
        buffer = io.BytesIO()
        savez(buffer, **arrays)
        fault.fail(handle, buffer.getvalue())

    monkeypatch.setattr(np, "savez", full_savez)
    _check_one_line(main(argv), capsys.readouterr().err, FAULTS[code], "emitter_00002.npz")
    parts = parts_folder(out)
    finished = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in parts.glob("emitter_*.npz")}
    assert sorted(finished) == ["emitter_00000.npz", "emitter_00001.npz"] and not out.exists()
    _no_temporaries(tmp_path)
    monkeypatch.setattr(np, "savez", savez)
    assert main(argv) == 0
    assert "resuming: 2 of 4 emitters done" in capsys.readouterr().err
    assert_same_content(out, built)
    assert not parts.exists()


def test_a_fault_while_assembling_keeps_every_part_and_resumes(scene_file, built, tmp_path, monkeypatch,
                                                               capsys) -> None:
    out = tmp_path / "made.h5"
    argv = ["data", "make", "--scene", str(scene_file), "-o", str(out), "--workers", "1", "--keep-parts", *TINY_CLI]
    fault, setitem = Fault(at=5), h5py.Dataset.__setitem__

    def full_setitem(dataset, rows, values) -> None:
        if fault.strike():
            raise OSError(errno.ENOSPC, "Can't synchronously write data (file write failed: errno = 28)")
        setitem(dataset, rows, values)

    monkeypatch.setattr(h5py.Dataset, "__setitem__", full_setitem)
    _check_one_line(main(argv), capsys.readouterr().err, "no space left on device", str(out))
    parts = sorted(parts_folder(out).glob("emitter_*.npz"))
    stamps = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in parts]
    assert len(parts) == len(h5py.File(built, "r")["emitters"]) and not out.exists()
    _no_temporaries(tmp_path)
    monkeypatch.setattr(h5py.Dataset, "__setitem__", setitem)
    assert main(argv) == 0, capsys.readouterr().err
    assert_same_content(out, built)
    assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in parts] == stamps  # assembled, not simulated again


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return tiny_dataset(tmp_path_factory)


def test_a_fault_in_a_checkpoint_save_keeps_the_last_one_and_resume_finishes_exactly(scene_file, data, tmp_path,
                                                                                   monkeypatch, capsys) -> None:
    config = tiny_config("amortised", steps=30, eval_every=10)
    monkeypatch.setattr(presets, "preset", lambda name: config)

    def train(out: Path, *extra: str) -> int:
        return main(["train", "--scene", str(scene_file), "--data", str(data), "--out", str(out), "--threads", "1",
                     "--device", "cpu", "--no-progress", *extra])

    fault, save = Fault(at=2), torch.save

    def full_save(payload, path) -> None:
        if not (Path(path).name.startswith(".checkpoint.pt.") and fault.strike()):
            return save(payload, path)
        buffer = io.BytesIO()
        save(payload, buffer)
        fault.fail(path, buffer.getvalue())

    run = tmp_path / "run"
    monkeypatch.setattr(torch, "save", full_save)
    code = train(run)
    err = capsys.readouterr().err
    _check_one_line(code, err, "no space left on device", "checkpoint.pt")
    assert err.rstrip().endswith("add --resume to continue from the last checkpoint"), err
    assert load_checkpoint(run / "checkpoint.pt").training["step"] == 10  # the last good one, whole
    assert len((run / "log.jsonl").read_text().splitlines()) == 1
    _no_temporaries(tmp_path)
    monkeypatch.setattr(torch, "save", save)
    assert train(run, "--resume") == 0
    assert train(tmp_path / "straight") == 0
    capsys.readouterr()
    resumed, straight = load_checkpoint(run / "checkpoint.pt"), load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    assert resumed.training["step"] == straight.training["step"] == 30
    assert all(torch.equal(resumed.weights[k], straight.weights[k]) for k in straight.weights)
    assert _validation_log(run) == _validation_log(tmp_path / "straight")


def _validation_log(run: Path) -> list[tuple[int, float]]:
    return [(d["step"], d["validation_spectral_error"]) for d in map(json.loads, (run / "log.jsonl").open())]


@pytest.mark.parametrize("code", FAULTS)
def test_a_fault_in_a_render_keeps_the_earlier_render(code, scene_file, tmp_path, monkeypatch, capsys) -> None:
    out = tmp_path / "render.wav"
    argv = ["render", "--scene", str(scene_file), "--emitter", "0.6", "1.0", "--listener", "1.5", "2.2",
            "--seconds", "1", "--source", "sim", "-o", str(out), "-y"]
    assert main(argv) == 0
    earlier = out.read_bytes()
    fault, write = Fault(at=1, code=code), soundfile.write

    def full_write(path, samples, rate, **kwargs) -> None:
        buffer = io.BytesIO()
        write(buffer, samples, rate, **kwargs)
        fault.strike()
        fault.fail(path, buffer.getvalue())

    monkeypatch.setattr(soundfile, "write", full_write)
    capsys.readouterr()
    _check_one_line(main(argv), capsys.readouterr().err, FAULTS[code], str(out))
    assert out.read_bytes() == earlier
    _no_temporaries(tmp_path)
    monkeypatch.setattr(soundfile, "write", write)
    assert main(argv) == 0
    assert out.read_bytes() == earlier  # the same render as the uninterrupted one


def test_a_log_line_is_appended_whole_or_not_at_all(tmp_path, monkeypatch) -> None:
    """The disk fills after a short write of part of the line: the part is taken back."""
    from naf_model.training import loop as training

    log = tmp_path / "log.jsonl"
    training.append_log_line(log, '{"step": 10}')

    class NearlyFull(io.FileIO):
        room = 12

        def write(self, data) -> int:
            data = bytes(data)[: self.room]
            if not data:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.room -= len(data)
            return super().write(data)

    monkeypatch.setattr(training, "open", lambda path, mode, buffering: NearlyFull(path, mode), raising=False)
    with pytest.raises(OSError, match="No space left"):
        training.append_log_line(log, '{"step": 20, "validation_spectral_error": 0.5}')
    assert log.read_text() == '{"step": 10}\n'
