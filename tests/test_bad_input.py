"""Bad input at every command's boundary: one stderr line, exit status 2, no traceback, nothing written.

Each case runs the `naf` (or `naf-app`) entry point in-process, in a temporary folder holding the files the
cases point at (scenes, audio, data sets, checkpoints, earlier outputs). Before and after each case the
folder's contents are snapshot (names, sizes, hashes): a refused command must leave it exactly as it was.
A few memory blow-up cases run in a child process under RLIMIT_AS, so that one failing costs the test, not
the machine. Hypothesis explores scene files and option values with a small budget.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from naf_model import conventions
from naf_model.cli import build_parser, main
from naf_model.errors import NafError
from naf_model.paths import REPO_ROOT
from naf_model.scene import load_scene
from naf_model.scene.examples import two_room_scene

BUNDLED_CHECKPOINT = REPO_ROOT / "assets" / "checkpoints" / "apartment_1.pt"
NO_CUDA = not torch.cuda.is_available()
ROOT = os.geteuid() == 0


def _scene_dict(scale: float = 1.0, offset: float = 0.0) -> dict:
    d = two_room_scene().to_dict()
    for room in d["rooms"]:
        room["polygon"] = [[x * scale + offset, y * scale + offset] for x, y in room["polygon"]]
    for door in d.get("doors", []):
        door["at"] = [v * scale + offset for v in door["at"]]
    for window in d.get("windows", []):
        window["from"] = [v * scale + offset for v in window["from"]]
        window["to"] = [v * scale + offset for v in window["to"]]
    return d


def _write_h5(path: Path, n_pairs: int = 4, *, pairs: np.ndarray | None = None, spec_freq: int = conventions.N_FREQ,
              nan_stats: bool = False, nan_spec: bool = False) -> None:
    """A small file that looks like a naf data set, with one defect chosen by the arguments."""
    t, n = 8, 64
    with h5py.File(path, "w") as f:
        f.attrs["format_version"] = 1
        for name, value in conventions.STFT_SETTINGS.items():
            f.attrs[name] = value
        f.attrs.update({"complete": True, "scene_name": "two_rooms", "scene_hash": "0" * 64, "n_frames": t,
                        "ir_length": n, "seed": 0, "simulation": "{}", "data_config": "{}", "plan_key": "k"})
        f["emitters"] = np.zeros((2, 2))
        f["listeners"] = np.ones((3, 2))
        f["pairs"] = pairs if pairs is not None else np.array([[0, 0], [0, 1], [1, 2], [1, 0]][:n_pairs], np.int32)
        f["split"] = np.array([0, 1, 0, 1][:n_pairs], np.uint8)
        f["orientations"] = np.array([0, 90, 180, 270], np.float32)
        f["spec"] = np.full((n_pairs, 4, 2, spec_freq, t), np.nan if nan_spec else 0, np.float16)
        f["ir"] = np.zeros((n_pairs, 4, 2, n), np.float16)
        mean = np.zeros((conventions.N_FREQ, t), np.float32)
        f["stats/mean"] = mean + (np.nan if nan_stats else 0)
        f["stats/std"] = mean + 1


class _RunsCode:
    """Pickled into a checkpoint: a naive load would call `print`."""

    def __reduce__(self):
        return (print, ("this ran",))


def _write_sofa(path: Path, positions: list | np.ndarray) -> None:
    """A 4-direction SOFA HRIR set (one impulse per ear) at the given source positions (az, el, r)."""
    import sofar

    sofa = sofar.Sofa("SimpleFreeFieldHRIR")
    irs = np.zeros((4, 2, 64))
    irs[:, :, 10] = 1.0
    sofa.Data_IR, sofa.Data_SamplingRate, sofa.SourcePosition = irs, 48_000, positions
    sofar.write_sofa(str(path), sofa, compression=0)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """The folder of inputs the cases name, built once: scenes good and bad, audio, data sets, checkpoints."""
    root = tmp_path_factory.mktemp("bad_input")
    (root / "two.json").write_text(json.dumps(_scene_dict()))
    (root / "binary.json").write_bytes(bytes(range(256)) * 8)
    (root / "binary_scene").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    strings = _scene_dict()
    strings["rooms"][0]["polygon"][1] = ["four", 0]
    (root / "strings.json").write_text(json.dumps(strings))
    nan_scene = _scene_dict()
    (root / "nan.json").write_text(json.dumps(nan_scene).replace("3.0", "NaN", 1))
    (root / "millimetres.json").write_text(json.dumps(_scene_dict(scale=1000.0)))
    (root / "huge.json").write_text(json.dumps(_scene_dict(offset=1e9)))
    (root / "bigint.json").write_text(json.dumps(_scene_dict()).replace("3.0", "1" + "0" * 400, 1))
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (root / "list.json").write_text("[1, 2, 3]")
    (root / "empty.json").write_text("")
    (root / "unknown_field.json").write_text(json.dumps({**_scene_dict(), "colour": "red"}))
    (root / "no_rooms.json").write_text(json.dumps({"name": "x", "rooms": []}))
    (root / "folder").mkdir()
    (root / "folder" / "keep.txt").write_text("keep")
    (root / "not_a_folder").write_text("a file")
    sr = 22_050
    tone = (0.1 * np.sin(np.linspace(0, 200, sr))).astype(np.float32)
    import soundfile as sf

    sf.write(root / "song.wav", np.column_stack([tone, tone]), sr)
    (root / "not_audio.wav").write_text("not audio at all")
    (root / "existing.png").write_bytes(b"\x89PNG earlier picture")
    (root / "existing.wav").write_bytes(b"RIFF earlier render")
    (root / "existing.pt").write_bytes(b"earlier checkpoint")
    (root / "existing.json").write_text("{}")
    (root / "notes.txt").write_text("notes")
    (root / "walk.csv").write_text("this,is\nnot,a path\n")
    (root / "truncated.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    _write_h5(root / "bad_shape.h5", spec_freq=100)
    _write_h5(root / "bad_pairs.h5", pairs=np.array([[0, 0], [5, 1], [1, 2], [1, 9]], np.int32))
    _write_h5(root / "nan_stats.h5", nan_stats=True)
    payload = torch.load(BUNDLED_CHECKPOINT, map_location="cpu", weights_only=True)
    first = next(k for k, v in payload["weights"].items() if v.is_floating_point())
    payload["weights"][first] = torch.full_like(payload["weights"][first], float("nan"))
    torch.save(payload, root / "nan.pt")
    (root / "truncated.pt").write_bytes(BUNDLED_CHECKPOINT.read_bytes()[:5000])
    # the paper's checkpoints: one without its imported data set, foreign torch files, a pickle that runs code
    from naf_model.checkpoint_paper import PAPER_KEYS

    torch.save({"network": {k: torch.zeros(2, 2) for k in PAPER_KEYS}}, root / "paper.chkpt")
    torch.save({"model": {"weight": torch.zeros(3)}}, root / "other_keys.pt")
    torch.save({"network": {"grid_0": torch.zeros(2)}, "code": _RunsCode()}, root / "code.pt")
    # a new user's sweep: implausible music, a walk in milliseconds, NaN SOFA positions, NaN spectrograms
    sf.write(root / "rate_1hz.wav", np.zeros((40, 2), np.float32), 1)
    sf.write(root / "rate_4mhz.wav", np.zeros((400, 2), np.float32), 4_000_000)
    sf.write(root / "one_sample.wav", np.full((1, 2), 0.9, np.float32), 44_100)
    (root / "ms_walk.csv").write_text("t,x,y\n0,1,1\n0.001,1.1,1\n")
    _write_sofa(root / "nan_positions.sofa", np.full((4, 3), np.nan))
    _write_sofa(root / "two_directions.sofa", [[0, 0, 1.5], [90, 0, 1.5], [0, 0, 1.5], [90, 0, 1.5]])
    _write_h5(root / "nan_spec.h5", nan_spec=True)
    _write_h5(root / "two_rooms.h5")
    (root / "finished_run").mkdir()  # a run folder: what `naf train --out` must not replace unasked
    (root / "finished_run" / "checkpoint.pt").write_bytes(b"a finished run's checkpoint")
    _inputs_sweep_files(root)
    if not ROOT:
        (root / "readonly").mkdir()
        os.chmod(root / "readonly", 0o555)
    return root


def _box_obj(x: float, y: float, z: float, extra_face: str = "") -> str:
    """A closed box room x by y by z (file units) as OBJ text, faces wound out of the air; `extra_face` appended."""
    corners = [(i * x, j * y, k * z) for k in (0, 1) for j in (0, 1) for i in (0, 1)]
    quads = [(1, 3, 4, 2), (5, 6, 8, 7), (1, 2, 6, 5), (3, 7, 8, 4), (1, 5, 7, 3), (2, 4, 8, 6)]
    lines = [f"v {a:g} {b:g} {c:g}" for a, b, c in corners]
    lines += [f"f {a} {b} {c}\nf {a} {c} {d}" for a, b, c, d in quads]
    return "\n".join([*lines, extra_face]) + "\n"


def _inputs_sweep_files(root: Path) -> None:
    """Files of the fresh bad-input sweep ("One job per room", item 7): outputs left at their default names,
    scene names and sizes from files, meshes and material maps."""
    (root / "kept.json").write_text(json.dumps({**_scene_dict(), "name": "kept"}))
    (root / "kept_plan.png").write_bytes(b"\x89PNG the user's own plan")
    (root / "loudness.png").write_bytes(b"\x89PNG the user's own map")
    (root / "empty_name.json").write_text(json.dumps({**_scene_dict(), "name": ""}))
    (root / "dots_name.json").write_text(json.dumps({**_scene_dict(), "name": "../.."}))
    (root / "ceiling_mm.json").write_text(json.dumps({**_scene_dict(), "ceiling_height": 2600}))
    (root / "ceiling_km.json").write_text(json.dumps({**_scene_dict(), "ceiling_height": 1_000_000}))
    (root / "wall_mm.json").write_text(json.dumps({**_scene_dict(), "wall_thickness": 120}))
    (root / "box.obj").write_text(_box_obj(4, 3, 2.6))
    (root / "tall.obj").write_text(_box_obj(10, 10, 150))
    (root / "bad_index.obj").write_text(_box_obj(4, 3, 2.6, "f 1 2 99"))
    (root / "nan_vertex.obj").write_text(_box_obj(4, 3, 2.6).replace("v 0 0 0", "v nan 0 0"))
    (root / "latin1.json").write_bytes(json.dumps({"plâtre": "plaster"}, ensure_ascii=False).encode("latin-1"))
    (root / "hall64.json").write_text(json.dumps(_column_hall(64)))


def _column_hall(n: int) -> dict:
    """A 27 m wide hall, 6 m high, with `n` concrete columns 0.5 m square on a 3 m grid, 8 to a row."""
    depth = 3.0 * ((n - 1) // 8 + 2)
    columns = [{"kind": "box", "center": [3.0 + 3 * (i % 8), 3.0 + 3 * (i // 8)], "size": [0.5, 0.5], "z": [0, 6],
                "material": "concrete", "name": f"column {i + 1}"} for i in range(n)]
    return {"name": f"hall{n}", "ceiling_height": 6, "obstacles": columns,
            "rooms": [{"name": "hall", "polygon": [[0, 0], [27, 0], [27, depth], [0, depth]]}]}


def _snapshot(folder: Path) -> dict[str, tuple]:
    """Every path under `folder` with its size, content hash and permission bits."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st_ = p.lstat()
        digest = hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        out[str(p.relative_to(folder))] = (st_.st_size if p.is_file() else 0, digest, st_.st_mode)
    return out


TWO = "two.json"
SCENE_FILES = ["binary.json", "binary_scene", "strings.json", "nan.json", "millimetres.json", "huge.json",
               "bigint.json", "deep.json", "list.json", "empty.json", "unknown_field.json", "no_rooms.json",
               "missing.json", "folder", "no_such_scene"]
NUMBERS_BAD = ["nan", "inf", "-inf", "abc", ""]
RENDER = ["render", "--scene", TWO, "--emitter", "1", "1", "--listener", "3", "2"]
WALK = ["walk", "--scene", TWO, "--emitter", "1", "1"]
LOUD = ["loudness", "--scene", TWO, "--emitter", "1", "1"]


def _cases() -> list[tuple[str, list[str], str]]:
    """(id, argv, text the error line must contain); argv paths are relative to the files folder."""
    c: list[tuple[str, list[str], str]] = []

    def add(name: str, argv: list[str], needle: str = "") -> None:
        c.append((name, argv, needle))

    # naf itself and scene
    add("naf-unknown-command", ["fly"], "invalid choice")
    add("naf-unknown-option", ["--colour"], "unrecognized")
    add("scene-list-extra", ["scene", "list", "extra"], "unrecognized")
    add("scene-no-action", ["scene"], "required")
    for scene in SCENE_FILES:
        add(f"scene-show-{scene}", ["scene", "show", scene, "-o", "plan.png"])
    for v in [*NUMBERS_BAD, "-1", "1e-9", "1e9"]:
        add(f"scene-show-grid-{v}", ["scene", "show", TWO, "--grid", v, "-o", "plan.png"], "--grid")
    add("scene-show-o-json", ["scene", "show", TWO, "-o", "plan.json"], "unknown file type")
    add("scene-show-o-no-suffix", ["scene", "show", TWO, "-o", "plan"], "unknown file type")
    add("scene-show-o-folder", ["scene", "show", TWO, "-o", "folder"], "is a folder")
    add("scene-show-o-existing", ["scene", "show", TWO, "-o", "existing.png"], "--force")
    add("scene-show-o-under-file", ["scene", "show", TWO, "-o", "not_a_folder/plan.png"], "not a folder")
    add("scene-show-o-is-input", ["scene", "show", TWO, "-o", TWO], "")
    add("scene-show-units", ["scene", "show", TWO, "--units", "furlong"], "invalid choice")
    add("scene-show-materials-json", ["scene", "show", TWO, "--materials", "existing.json", "-o", "p.png"],
        "mesh scenes only")
    add("scene-show-mesh-missing", ["scene", "show", "room.obj", "-o", "p.png"], "does not exist")
    add("scene-show-mesh-garbage", ["scene", "show", "notes.txt", "-o", "p.png"])
    if not ROOT:
        add("scene-show-o-readonly", ["scene", "show", TWO, "-o", "readonly/plan.png"], "cannot write")

    # data make / merge / info
    make = ["data", "make", "--scene", TWO, "-o", "d.h5"]
    for opt in ["--listener-spacing", "--emitter-spacing"]:
        for v in [*NUMBERS_BAD, "0", "-1", "1e-9", "1e9"]:
            add(f"make{opt}-{v}", [*make, opt, v], opt)
    for v in ["-1", "2e40", "1.5", "abc", str(2**40)]:
        add(f"make-seed-{v}", [*make, "--seed", v], "--seed")
    for v in ["0", "-3", "abc"]:
        add(f"make-workers-{v}", [*make, "--workers", v], "--workers")
    for v in ["nan", "0", "-1", "100"]:
        add(f"make-ir-seconds-{v}", [*make, "--ir-seconds", v], "--ir-seconds")
    add("make-rays-neg", [*make, "--rays", "-1"], "--rays")
    for v in ["-1", "99"]:
        add(f"make-ism-{v}", [*make, "--ism-order", v], "--ism-order")
    for v in ["3/2", "a/b", "-1/2", "1", "0/0"]:
        add(f"make-shard-{v}", [*make, "--shard", v], "--shard")
    for v in ["0", "-1", "abc"]:
        add(f"make-lpe-{v}", [*make, "--listeners-per-emitter", v], "--listeners-per-emitter")
    for v in ["0", "-5", "abc", "1.5"]:
        add(f"make-free-pairs-{v}", [*make, "--free-pairs", v], "--free-pairs")
    add("make-o-txt", ["data", "make", "--scene", TWO, "-o", "d.txt"], "unknown file type")
    add("make-o-folder", ["data", "make", "--scene", TWO, "-o", "folder"], "is a folder")
    add("make-o-under-file", ["data", "make", "--scene", TWO, "-o", "not_a_folder/d.h5"], "not a folder")
    add("make-no-scene", ["data", "make"], "required")
    for scene in SCENE_FILES:
        add(f"make-scene-{scene}", ["data", "make", "--scene", scene, "-o", "d.h5"])
    add("make-too-many-pairs", ["data", "make", "--scene", "apartment_1", "-o", "d.h5", "--listener-spacing",
                                "0.05", "--emitter-spacing", "0.1", "--listeners-per-emitter", "all"], "pairs")
    add("merge-parts-file", ["data", "merge", "-o", "d.h5", "notes.txt"], "not a folder")
    add("merge-no-target", ["data", "merge"], "required")
    add("merge-both-targets", ["data", "merge", "--scene", "x", "-o", "d.h5"], "not allowed")
    add("merge-o-txt", ["data", "merge", "-o", "d.txt", "folder"], "unknown file type")
    add("merge-missing-parts", ["data", "merge", "-o", "d.h5", "no_parts_here"])
    add("merge-empty-folder", ["data", "merge", "-o", "new.h5", "folder"])
    for name in ["truncated.h5", "bad_shape.h5", "bad_pairs.h5", "nan_stats.h5", "notes.txt", "missing.h5",
                 "song.wav"]:
        add(f"info-{name}", ["data", "info", name])
    add("info-nothing", ["data", "info"], "data set path")

    # train
    train = ["train", "--scene", TWO, "--out", "run"]
    for v in [*NUMBERS_BAD, "0", "-1", "1e300"]:
        add(f"train-minutes-{v}", [*train, "--minutes", v], "--minutes")
    for v in ["0", "-1", "1.5", "abc"]:
        add(f"train-steps-{v}", [*train, "--steps", v], "--steps")
    for v in ["-1", "abc", str(2**40)]:
        add(f"train-seed-{v}", [*train, "--seed", v], "--seed")
    for v in ["0", "-1", "abc"]:
        add(f"train-threads-{v}", [*train, "--threads", v], "--threads")
    for v in ["banana", "cuda:x", "gpu", ""]:
        add(f"train-device-{v}", [*train, "--device", v], "--device")
    if NO_CUDA:
        add("train-device-cuda", [*train, "--device", "cuda"], "CUDA")
        add("train-device-cuda1", [*train, "--device", "cuda:1"], "CUDA")
    add("train-preset", [*train, "--preset", "huge"], "invalid choice")
    add("train-steps-and-minutes", [*train, "--steps", "5", "--minutes", "1"], "not allowed")
    add("train-export-json", [*train, "--export", "x.json"], "unknown file type")
    add("train-export-existing", [*train, "--export", "existing.pt"], "--force")
    add("train-export-folder", [*train, "--export", "folder"], "is a folder")
    add("train-out-file", ["train", "--scene", TWO, "--out", "notes.txt"], "is a file")
    for ckpt in ["missing.pt", "truncated.pt", "notes.txt"]:
        add(f"train-init-{ckpt}", [*train, "--init", ckpt])
    add("train-init-and-resume", [*train, "--init", "existing.pt", "--resume"], "not allowed")
    for v in ["0", "-1e-4", "nan", "2"]:
        add(f"train-lr-{v}", [*train, "--lr", v], "--lr")
    for v in ["abc", "2XB", "1KB", "-1GB", "inf", ""]:
        add(f"train-memory-budget-{v}", [*train, "--memory-budget", v], "--memory-budget")
    add("train-lr-resume", [*train, "--resume", "--lr", "1e-4"], "--lr")
    for name in ["truncated.h5", "bad_shape.h5", "bad_pairs.h5", "nan_stats.h5", "missing.h5", "notes.txt"]:
        add(f"train-data-{name}", [*train, "--data", name])
    for name in ["truncated.h5", "bad_shape.h5", "missing.h5", "notes.txt"]:
        add(f"train-extra-{name}", [*train, "--extra", name])

    # ensemble
    shipped = str(BUNDLED_CHECKPOINT)
    add("ensemble-one", ["ensemble", shipped, "-o", "e.pt"], "two or more")
    add("ensemble-no-output", ["ensemble", shipped, shipped], "-o/--output")
    add("ensemble-o-existing", ["ensemble", shipped, shipped, "-o", "existing.pt"], "--force")
    add("ensemble-o-json", ["ensemble", shipped, shipped, "-o", "e.json"], "unknown file type")
    add("ensemble-o-is-input", ["ensemble", shipped, "existing.pt", "-o", "existing.pt", "-y"], "also the input")
    for ckpt in ["nan.pt", "truncated.pt", "missing.pt"]:
        add(f"ensemble-{ckpt}", ["ensemble", shipped, ckpt, "-o", "e.pt"])
    add("ensemble-other-scene", ["ensemble", shipped, str(BUNDLED_CHECKPOINT.with_name("small_house.pt")), "-o",
                                 "e.pt"], "cannot be joined")
    add("train-export-is-data", [*train, "--data", "bad_shape.h5", "--export", "bad_shape.h5"], "also the input")
    for scene in ["binary.json", "strings.json", "millimetres.json", "huge.json", "no_such_scene"]:
        add(f"train-scene-{scene}", ["train", "--scene", scene, "--out", "run"])

    # eval
    ev = ["eval", "--scene", TWO, "--out-dir", "results"]
    for v in ["0", "-1", "abc", "1e99"]:
        add(f"eval-max-pairs-{v}", [*ev, "--max-pairs", v], "--max-pairs")
    for v in ["-1", "abc"]:
        add(f"eval-floor-pairs-{v}", [*ev, "--floor-pairs", v], "--floor-pairs")
    add("eval-seed", [*ev, "--seed", "-1"], "--seed")
    add("eval-device", [*ev, "--device", "banana"], "--device")
    if NO_CUDA:
        add("eval-device-cuda", [*ev, "--device", "cuda"], "CUDA")
    add("eval-out-dir-file", ["eval", "--scene", TWO, "--out-dir", "notes.txt"], "is a file")
    for name in ["missing.h5", "notes.txt", "folder"]:
        add(f"eval-extra-{name}", [*ev, "--extra", name])
    add("eval-checkpoint-nan", [*ev, "--checkpoint", "nan.pt", "--data", "bad_shape.h5"])
    add("eval-data-bad", [*ev, "--data", "bad_pairs.h5", "--checkpoint", "nan.pt"])
    add("eval-scene-binary", ["eval", "--scene", "binary.json", "--out-dir", "results"])

    # render and walk
    for v in [*NUMBERS_BAD, "0", "-1", "1e-9", "1e9"]:
        add(f"render-seconds-{v}", [*RENDER, "-o", "r.wav", "--seconds", v], "--seconds")
    for v in ["nan", "inf", "abc"]:
        add(f"render-heading-{v}", [*RENDER, "-o", "r.wav", "--heading", v], "--heading")
    for pos in [["nan", "1"], ["inf", "1"], ["1e9", "1"], ["a", "b"], ["1"]]:
        argv = ["render", "--scene", TWO, "--emitter", *pos, "--listener", "3", "2", "-o", "r.wav"]
        add(f"render-emitter-{'_'.join(pos)}", argv, "--emitter")
        argv = ["render", "--scene", TWO, "--emitter", "1", "1", "--listener", *pos, "-o", "r.wav"]
        add(f"render-listener-{'_'.join(pos)}", argv, "--listener")
    for v in ["0", "100", "5000", "abc"]:
        add(f"render-block-{v}", [*RENDER, "-o", "r.wav", "--block-size", v], "--block-size")
    for out in ["r.mp3", "r.txt", "r", "folder"]:
        add(f"render-o-{out}", [*RENDER, "-o", out])
    add("render-o-existing", [*RENDER, "-o", "existing.wav"], "--force")
    add("render-o-is-music", [*RENDER, "--music", "song.wav", "-o", "song.wav"], "also the input --music")
    add("render-o-is-music-force", [*RENDER, "--music", "song.wav", "-o", "song.wav", "--force"], "also the input")
    add("render-o-is-music-dots", [*RENDER, "--music", "song.wav", "-o", "./folder/../song.wav", "-y"],
        "also the input")
    add("render-music-missing", [*RENDER, "--music", "missing.wav", "-o", "r.wav"], "does not exist")
    add("render-music-text", [*RENDER, "--music", "not_audio.wav", "-o", "r.wav"], "cannot read audio")
    add("render-music-folder", [*RENDER, "--music", "folder", "-o", "r.wav"], "is a folder")
    add("render-source", [*RENDER, "-o", "r.wav", "--source", "tape"], "invalid choice")
    add("render-ckpt-nan", [*RENDER, "-o", "r.wav", "--source", "naf", "--checkpoint", "nan.pt"])
    add("render-ckpt-truncated", [*RENDER, "-o", "r.wav", "--source", "naf", "--checkpoint", "truncated.pt"])
    add("render-ckpt-paper-no-data", [*RENDER, "-o", "r.wav", "--source", "naf", "--checkpoint", "paper.chkpt"],
        "naf data import paper")
    add("render-ckpt-other-keys", [*RENDER, "-o", "r.wav", "--source", "naf", "--checkpoint", "other_keys.pt"],
        "not a naf checkpoint")
    add("render-ckpt-code", [*RENDER, "-o", "r.wav", "--source", "naf", "--checkpoint", "code.pt"])
    imp = ["import-checkpoint", "--data", "two_rooms.h5", "-o", "f.pt"]
    add("import-checkpoint-not-imported-data", [*imp, "paper.chkpt"], "not imported from the paper")
    add("import-checkpoint-naf", [*imp, str(BUNDLED_CHECKPOINT)], "a naf checkpoint already")
    for ckpt in ["code.pt", "other_keys.pt", "truncated.pt", "missing.pt", "notes.txt"]:
        add(f"import-checkpoint-{ckpt}", [*imp, ckpt])
    add("import-checkpoint-no-data", ["import-checkpoint", "paper.chkpt", "--data", "missing.h5", "-o", "f.pt"])
    add("import-checkpoint-o-existing", [*imp, "paper.chkpt", "-o", "existing.pt"], "--force")
    add("render-emitter-outside", ["render", "--scene", TWO, "--emitter", "50", "50", "--listener", "3", "2", "-o",
                                   "r.wav"])
    add("render-missing-listener", ["render", "--scene", TWO, "--emitter", "1", "1", "-o", "r.wav"], "required")
    for scene in SCENE_FILES:
        add(f"render-scene-{scene}", ["render", "--scene", scene, "--emitter", "1", "1", "--listener", "3", "2",
                                      "-o", "r.wav"])
    add("walk-video-is-output", [*WALK, "--line", "1", "1", "3", "2", "--seconds", "2", "-o", "w.wav", "--video",
                                 "w.wav"], "also the output")
    add("walk-video-avi", [*WALK, "--line", "1", "1", "3", "2", "--seconds", "2", "-o", "w.wav", "--video", "w.avi"],
        "unknown file type")
    add("walk-video-existing", [*WALK, "--line", "1", "1", "3", "2", "--seconds", "2", "-o", "w.wav", "--video",
                                "existing.wav"], "")
    for v in ["nan", "inf", "1e9"]:
        add(f"walk-line-{v}", [*WALK, "--line", v, "1", "3", "2", "--seconds", "2", "-o", "w.wav"], "--line")
    for v in ["nan", "0", "-2", "1e9"]:
        add(f"walk-seconds-{v}", [*WALK, "--line", "1", "1", "3", "2", "--seconds", v, "-o", "w.wav"], "--seconds")
    add("walk-line-no-seconds", [*WALK, "--line", "1", "1", "3", "2", "-o", "w.wav"], "--seconds")
    add("walk-path-missing", [*WALK, "--path", "missing.csv", "-o", "w.wav"], "does not exist")
    add("walk-path-garbage", [*WALK, "--path", "walk.csv", "-o", "w.wav"])
    add("walk-path-and-seconds", [*WALK, "--path", "walk.csv", "--seconds", "3", "-o", "w.wav"])
    add("walk-no-route", [*WALK, "-o", "w.wav"], "required")
    add("walk-o-is-path", [*WALK, "--path", "walk.csv", "-o", "walk.csv"])
    add("walk-o-is-music", [*WALK, "--line", "1", "1", "3", "2", "--seconds", "2", "--music", "song.wav", "-o",
                            "song.wav", "-y"], "also the input")

    # loudness, tsne, probe
    for v in [*NUMBERS_BAD, "0", "-1", "1e-9"]:
        add(f"loudness-spacing-{v}", [*LOUD, "--spacing", v, "-o", "m.png"], "--spacing")
    for v in ["nan", "inf"]:
        add(f"loudness-heading-{v}", [*LOUD, "--heading", v, "-o", "m.png"], "--heading")
        add(f"loudness-emitter-{v}", ["loudness", "--scene", TWO, "--emitter", v, "2", "-o", "m.png"],
            "--emitter")
    add("loudness-device", [*LOUD, "--device", "banana", "-o", "m.png"], "--device")
    if NO_CUDA:
        add("loudness-device-cuda", [*LOUD, "--device", "cuda", "-o", "m.png"], "CUDA")
    for out in ["m.json", "m.jpg", "folder"]:
        add(f"loudness-o-{out}", [*LOUD, "-o", out])
    add("loudness-o-existing", [*LOUD, "-o", "existing.png"], "--force")
    add("loudness-o-is-checkpoint", [*LOUD, "--checkpoint", "existing.pt", "-o", "existing.pt", "-y"], "")
    for ckpt in ["nan.pt", "truncated.pt", "missing.pt", "notes.txt", "paper.chkpt", "other_keys.pt", "code.pt"]:
        add(f"loudness-ckpt-{ckpt}", [*LOUD, "--checkpoint", ckpt, "-o", "m.png"])
    for scene in ["binary.json", "strings.json", "huge.json", "no_such_scene"]:
        add(f"loudness-scene-{scene}", ["loudness", "--scene", scene, "--emitter", "2", "2", "-o", "m.png"])
    for cmd in ["tsne", "probe"]:
        base = [cmd, "--scene", TWO, "-o", f"{cmd}.png"]
        for v in ["nan", "0", "-1", "1e-9"]:
            add(f"{cmd}-spacing-{v}", [*base, "--spacing", v], "--spacing")
        for v in ["0", "-1", "abc"]:
            add(f"{cmd}-probes-{v}", [*base, "--probes", v], "--probes")
        add(f"{cmd}-seed", [*base, "--seed", "-1"], "--seed")
        add(f"{cmd}-device", [*base, "--device", "banana"], "--device")
        add(f"{cmd}-ckpt-nan", [*base, "--checkpoint", "nan.pt"], "NaN")
        add(f"{cmd}-ckpt-truncated", [*base, "--checkpoint", "truncated.pt"])
        add(f"{cmd}-o-existing", [cmd, "--scene", TWO, "-o", "existing.png"], "--force")
        add(f"{cmd}-o-txt", [cmd, "--scene", TWO, "-o", "x.txt"], "unknown file type")
    probe = ["probe", "--scene", TWO, "-o", "probe.png"]
    # the structure probe's protocol (issue 31): block size, folds, bootstrap draws
    for v in ["0", "0.05", "nan", "-1", "abc"]:
        add(f"probe-block-{v}", [*probe, "--block", v], "--block")
    for v in ["0", "1", "51", "2.5", "abc"]:
        add(f"probe-folds-{v}", [*probe, "--folds", v], "--folds")
    for v in ["0", "99", "abc"]:
        add(f"probe-resamples-{v}", [*probe, "--resamples", v], "--resamples")
    add("probe-json-txt", [*probe, "--json", "p.txt"], "unknown file type")
    add("probe-json-existing", [*probe, "--json", "existing.json"], "--force")
    add("probe-json-is-output", ["probe", "--scene", TWO, "-o", "same.png", "--json", "same.png"])

    # bench
    for v in ["banana", "gpu"]:
        add(f"bench-devices-{v}", ["bench", "--devices", v], "--devices")
    if NO_CUDA:
        add("bench-devices-cuda", ["bench", "--devices", "cuda", "--scene", TWO], "CUDA")
    for opt in ["--single", "--batch", "--batches", "--train-steps"]:
        for v in ["0", "-1", "abc"]:
            add(f"bench{opt}-{v}", ["bench", opt, v], opt)
    for v in ["nan", "0", "-1"]:
        add(f"bench-budget-{v}", ["bench", "--budget", v], "--budget")
        add(f"bench-map-spacing-{v}", ["bench", "--map-spacing", v], "--map-spacing")
    add("bench-error-pairs", ["bench", "--error-pairs", "-1"], "--error-pairs")
    add("bench-json-txt", ["bench", "--json", "b.txt"], "unknown file type")
    add("bench-json-existing", ["bench", "--json", "existing.json"], "--force")
    add("bench-ckpt-missing", ["bench", "missing.pt"])
    add("bench-ckpt-nan", ["bench", "nan.pt", "--devices", "cpu-1"], "NaN")
    add("bench-train-device", ["bench", "--train-speed", "--train-device", "banana"], "--train-device")

    # a new user's sweep: music, walks, SOFA files, data values and eval data checked before any work
    walk_line = [*WALK, "--line", "1", "1", "3", "2", "--seconds", "2"]
    for name in ["rate_1hz.wav", "rate_4mhz.wav"]:
        add(f"render-music-{name}", [*RENDER, "--music", name, "-o", "r.wav"], "sample rate")
        add(f"walk-music-{name}", [*walk_line, "--music", name, "-o", "w.wav"], "sample rate")
    add("render-music-one-sample", [*RENDER, "--music", "one_sample.wav", "-o", "r.wav"], "at least 0.1 s")
    add("walk-music-one-sample", [*walk_line, "--music", "one_sample.wav", "-o", "w.wav"], "at least 0.1 s")
    add("walk-path-milliseconds", [*WALK, "--path", "ms_walk.csv", "-o", "w.wav"], "less than 0.1 s")
    add("walk-path-folder", [*WALK, "--path", "folder", "-o", "w.wav"], "is a folder")
    add("make-hrtf-nan-positions", [*make, "--hrtf", "nan_positions.sofa"], "NaN or infinite")
    add("make-hrtf-two-directions", [*make, "--hrtf", "two_directions.sofa"], "2 distinct direction(s)")
    add("info-nan-spectrograms", ["data", "info", "nan_spec.h5"], "NaN or infinite spectrograms")
    add("eval-data-other-scene", ["eval", "--scene", "apartment_1", "--data", "two_rooms.h5", "--out-dir", "results"],
        "made for scene 'two_rooms', not 'apartment_1'")
    add("eval-max-pairs-negative", [*ev, "--max-pairs", "-1"], "at least 1,")

    # train: recipes and --set overrides, run folders, data sets given twice; ensemble members given twice
    for v, needle in [("colour=red", "unknown knob"), ("jitter=0.2", "did you mean jitter_m"),
                      ("steps=1.5", "whole number"), ("lr=abc", "finite number"), ("lr=-1", "out of range"),
                      ("edc_octaves=yes", "true or false"), ("kind=pixel", "cannot be overridden"),
                      ("members=2", "cannot be overridden"), ("lr", "KEY=VALUE"), ("=1", "KEY=VALUE")]:
        add(f"train-set-{v}", [*train, "--set", v], needle)
    add("train-preset-is-recipe", [*train, "--preset", "fast_edc"], "use --recipe fast_edc")
    add("train-set-other-network", [*train, "--preset", "cpu", "--set", "n_basis=8"], "amortised network only")
    add("train-recipe-other-network", [*train, "--recipe", "fast_edc", "--set", "pixels_per_ir=9"], "per-pixel")
    add("train-set-resume", [*train, "--resume", "--set", "lr=1e-4"], "--set")
    add("train-recipe-and-preset", [*train, "--recipe", "fast_edc", "--preset", "fast"], "not allowed")
    add("train-recipe-missing", [*train, "--recipe", "missing.toml"], "does not exist")
    add("train-recipe-unknown-name", [*train, "--recipe", "no_such_recipe"], "bundled")
    add("train-recipe-not-toml", [*train, "--recipe", "notes.txt"], "TOML")
    add("train-recipe-folder", [*train, "--recipe", "folder"], "folder")
    finished = ["train", "--scene", TWO, "--out", "finished_run"]
    add("train-out-holds-run", finished, "--resume")
    add("train-out-holds-run-preset", [*finished, "--preset", "fast", "--steps", "5"], "holds a run")
    add("train-init-in-out", [*finished, "--init", "finished_run/checkpoint.pt"], "this run replaces")
    add("train-init-in-out-force", [*finished, "--init", "finished_run/checkpoint.pt", "--force"], "this run replaces")
    add("train-init-in-out-dots", [*finished, "--init", "folder/../finished_run/checkpoint.pt", "-y"], "replaces")
    add("train-extra-is-data", [*train, "--data", "bad_shape.h5", "--extra", "bad_shape.h5"], "same data set as --data")
    add("train-extra-is-data-dots", [*train, "--data", "bad_shape.h5", "--extra", "folder/../bad_shape.h5"],
        "same data set as --data")
    add("train-extra-twice", [*train, "--data", "bad_pairs.h5", "--extra", "bad_shape.h5", "--extra",
                              "./bad_shape.h5"], "same data set as --extra")
    add("ensemble-same-file", ["ensemble", shipped, shipped, "-o", "e.pt"], "given twice")
    add("ensemble-same-file-dots", ["ensemble", shipped, str(BUNDLED_CHECKPOINT.parent / ".." / "checkpoints" /
                                                             BUNDLED_CHECKPOINT.name), "-o", "e.pt"], "one file")

    # fresh sweep ("One job per room", item 7): default outputs, names, implausible sizes, meshes (files:
    # `_inputs_sweep_files`)
    add("scene-show-default-output-existing", ["scene", "show", "kept.json", "--grid", "0"], "--force")
    add("loudness-default-output-existing", [*LOUD], "--force")
    add("scene-show-name-empty", ["scene", "show", "empty_name.json", "-o", "p.png"], "empty")
    add("scene-show-name-dots", ["scene", "show", "dots_name.json", "--grid", "0"], "file name")
    add("scene-show-ceiling-millimetres", ["scene", "show", "ceiling_mm.json", "-o", "p.png"], "millimetres")
    add("scene-show-ceiling-million", ["scene", "show", "ceiling_km.json", "-o", "p.png"], "100 m limit")
    add("scene-show-wall-millimetres", ["scene", "show", "wall_mm.json", "-o", "p.png"], "millimetres")
    add("make-ceiling-millimetres", ["data", "make", "--scene", "ceiling_mm.json", "-o", "d.h5"], "millimetres")
    add("scene-show-mesh-tall", ["scene", "show", "tall.obj", "-o", "p.png"], "--units cm")
    add("scene-show-mesh-bad-index", ["scene", "show", "bad_index.obj", "-o", "p.png"], "line 21")
    add("scene-show-mesh-nan-vertex", ["scene", "show", "nan_vertex.obj", "-o", "p.png"], "line 1")
    add("scene-show-materials-latin1", ["scene", "show", "box.obj", "--materials", "latin1.json", "-o", "p.png"],
        "not UTF-8")
    add("scene-show-o-too-long", ["scene", "show", TWO, "-o", "a" * 300 + ".png"], "longer than the file system")
    add("scene-show-o-folder-too-long", ["scene", "show", TWO, "-o", "d" * 300 + "/p.png"], "longer than")
    add("scene-show-o-not-utf8", ["scene", "show", TWO, "-o", "\udcff.png"], "not valid UTF-8")
    add("render-o-not-utf8", [*RENDER, "-o", "\udcffx.wav"], "not valid UTF-8")
    add("loudness-o-too-long", [*LOUD, "-o", "m" * 300 + ".png"], "longer than the file system")
    add("train-out-too-long", ["train", "--scene", TWO, "--out", "r" * 300], "longer than the file system")
    hall = ["--scene", "hall64.json", "--emitter", "1.5", "1.5"]
    add("render-sim-long-needs-yes", ["render", *hall, "--listener", "10.5", "7.5", "-o", "r.wav"], "--yes")
    add("walk-sim-long-needs-yes", ["walk", *hall, "--line", "1.5", "7.5", "10.5", "7.5", "--seconds", "2", "-o",
                                    "w.wav"], "--yes")

    # reverb as long as the room's (issue 28): --ir-seconds is a length up to the 8 s cap, or 'auto'
    for v in ["autox", "Auto", "0", "-0.5", "8.5", "1e9", ""]:
        add(f"make-ir-seconds-room-{v}", [*make, "--ir-seconds", v], "--ir-seconds")

    # IRs out (issue 30, item 5): `naf ir` checks the file, rate, positions and field before any work
    ir = ["ir", "--scene", TWO, "--emitter", "1", "1", "--listener", "3", "2"]
    grid = ["ir", "--scene", TWO, "--emitter", "1", "1", "--grid", "0.5"]
    for out in ["i.mp3", "i.flac", "i", "folder"]:
        add(f"ir-o-{out}", [*ir, "-o", out])
    add("ir-o-existing", [*ir, "-o", "existing.wav"], "--force")
    add("ir-o-is-checkpoint", [*ir, "--checkpoint", "existing.wav", "-o", "existing.wav", "-y"], "also the input")
    for v in ["8000", "44", "abc", "-1"]:
        add(f"ir-rate-{v}", [*ir, "-o", "i.wav", "--rate", v], "--rate")
    add("ir-emitter-outside", ["ir", "--scene", TWO, "--emitter", "50", "50", "--listener", "3", "2", "-o", "i.wav"],
        "emitter at")
    add("ir-listener-outside", ["ir", "--scene", TWO, "--emitter", "1", "1", "--listener", "2", "0.05", "-o",
                                "i.wav"], "listener at")
    add("ir-grid-emitter-outside", ["ir", "--scene", TWO, "--emitter", "-3", "1", "--grid", "0.5", "-o", "g.sofa"],
        "emitter at")
    add("ir-no-checkpoint", [*ir, "-o", "i.wav"], "no checkpoint for scene")
    for ckpt in ["missing.pt", "truncated.pt", "nan.pt", "notes.txt"]:
        add(f"ir-ckpt-{ckpt}", [*ir, "-o", "i.wav", "--checkpoint", ckpt])
    add("ir-ckpt-other-scene", [*ir, "-o", "i.sofa", "--checkpoint", shipped], "not on this scene")
    add("ir-sim-ckpt-other-scene", [*ir, "-o", "i.sofa", "--source", "sim", "--checkpoint", shipped],
        "not on this scene")
    add("ir-grid-wav", [*grid, "-o", "g.wav"], ".sofa")
    add("ir-headings-wav", [*ir, "--headings", "0,90", "-o", "i.wav"], "WAV file holds one IR")
    add("ir-grid-and-listener", [*ir, "--grid", "0.5", "-o", "g.sofa"], "not allowed")
    add("ir-heading-and-headings", [*ir, "--heading", "0", "--headings", "0,90", "-o", "i.sofa"], "not allowed")
    add("ir-no-position", ["ir", "--scene", TWO, "--emitter", "1", "1", "-o", "i.wav"], "required")
    for v in ["abc", "", "0,,90", "nan", "0,inf", "1e9"]:
        add(f"ir-headings-{v}", [*ir, "--headings", v, "-o", "i.sofa"], "--headings")
    for v in ["0", "-1", "nan", "abc", "0.01"]:
        add(f"ir-grid-{v}", ["ir", "--scene", TWO, "--emitter", "1", "1", "--grid", v, "-o", "g.sofa"], "--grid")
    add("ir-grid-no-free-cell", [*grid[:-1], "40", "-o", "g.sofa"], "no free cell")
    add("ir-grid-too-big", [*grid[:-1], "0.05", "--headings", "0,90,180,270", "--rate", "96000", "--source", "sim",
                            "-o", "g.sofa"], "GiB")
    add("ir-device", [*ir, "--device", "banana", "-o", "i.wav"], "--device")
    add("ir-source", [*ir, "--source", "tape", "-o", "i.wav"], "invalid choice")
    add("ir-sim-long-needs-yes", ["ir", *hall, "--grid", "1.5", "--source", "sim", "-o", "h.sofa"], "--yes")
    for scene in ["binary.json", "no_such_scene", "missing.json"]:
        add(f"ir-scene-{scene}", ["ir", "--scene", scene, "--emitter", "1", "1", "--listener", "3", "2", "-o",
                                  "i.wav"])
    return c


CASES = _cases()
APP_CASES = [
    ("app-no-scene", [], "required"),
    ("app-unknown-option", ["--scene", TWO, "--colour"], "unrecognized"),
    ("app-device-banana", ["--scene", TWO, "--device", "banana"], "invalid choice"),
    *[(f"app-scene-{s}", ["--scene", s, "--no-audio"], "") for s in SCENE_FILES],
]


def _check_refused(code: object, err: str, program: str, needle: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, (code, err)
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{program}: error: "), err
    assert "Traceback" not in err
    assert needle in lines[0], (needle, lines[0])


def _run(entry, argv: list[str]) -> object:
    try:
        return entry(argv)
    except SystemExit as exc:  # argparse errors exit from parse_args
        return exc.code


@pytest.fixture
def in_files(files, monkeypatch) -> Path:
    monkeypatch.chdir(files)
    monkeypatch.setenv("NAF_DATA_DIR", str(files / "data"))
    monkeypatch.setenv("NAF_RUNS_DIR", str(files / "runs"))
    return files


def test_the_suite_covers_enough_cases() -> None:
    every = CASES + APP_CASES + FAULT_CASES
    assert len(every) >= 200
    assert len({name for name, _, _ in every}) == len(every)


@pytest.mark.parametrize(("argv", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_naf_refuses_in_one_line_and_writes_nothing(argv, needle, in_files, capsys) -> None:
    before = _snapshot(in_files)
    code = _run(main, argv)
    err = capsys.readouterr().err
    _check_refused(code, err, "naf", needle)
    assert _snapshot(in_files) == before


@pytest.mark.parametrize(("argv", "needle"), [c[1:] for c in APP_CASES], ids=[c[0] for c in APP_CASES])
def test_app_refuses_in_one_line_and_writes_nothing(argv, needle, in_files, capsys) -> None:
    from naf_app.main import main as app_main

    before = _snapshot(in_files)
    code = _run(app_main, argv)
    _check_refused(code, capsys.readouterr().err, "naf-app", needle)
    assert _snapshot(in_files) == before


def test_the_app_plays_the_bundled_loop_instead_of_implausible_music(files) -> None:
    """naf-app --music with a 1 Hz header once ran out of memory resampling it: now one warning line."""
    from naf_app.audio_link import AudioLink

    link = AudioLink.open(no_audio=True, music=files / "rate_1hz.wav")
    try:
        problem = link.music_problem or ""
        assert "sample rate is 1 Hz" in problem and "bundled loop" in problem and "\n" not in problem
        assert link.engine is not None
    finally:
        link.close()


def test_force_replaces_an_existing_output(in_files, capsys) -> None:
    target = in_files / "forced.png"
    target.write_bytes(b"old")
    assert _run(main, ["scene", "show", TWO, "-o", "forced.png", "--grid", "0"]) == 2
    assert target.read_bytes() == b"old"
    assert _run(main, ["scene", "show", TWO, "-o", "forced.png", "--grid", "0", "-y"]) == 0
    assert target.read_bytes().startswith(b"\x89PNG")
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    target.unlink()
    capsys.readouterr()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_default_output_obeys_the_exists_rule_like_a_given_one(in_files, capsys) -> None:
    """`naf scene show` without -o writes <scene>_plan.png; a later run does not replace it without -y."""
    argv = ["scene", "show", TWO, "--grid", "0"]
    assert _run(main, argv) == 0
    written = in_files / "two_room_plan.png"
    written.write_bytes(b"the user's own picture")
    assert _run(main, argv) == 2 and written.read_bytes() == b"the user's own picture"
    assert "--force" in capsys.readouterr().err
    assert _run(main, [*argv, "-y"]) == 0 and written.read_bytes().startswith(b"\x89PNG")
    written.unlink()


def test_a_scene_name_from_a_file_makes_a_file_in_the_working_folder_only(in_files, capsys) -> None:
    """A scene named "../imp/notes" is drawn to imp_notes_plan.png here, never to ../imp/notes_plan.png."""
    outside = _snapshot(in_files.parent)
    scene = in_files / "escape.json"
    scene.write_text(json.dumps({**_scene_dict(), "name": "../imp/notes"}))
    try:
        assert _run(main, ["scene", "show", "escape.json", "--grid", "0"]) == 0
        assert "wrote imp_notes_plan.png (imp_notes:" in capsys.readouterr().out
        assert (in_files / "imp_notes_plan.png").is_file() and not (in_files.parent / "imp").exists()
        (in_files / "imp_notes_plan.png").unlink()
    finally:
        scene.unlink()
    assert _snapshot(in_files.parent) == outside


def test_an_output_name_near_the_file_system_limit_is_written(in_files, capsys) -> None:
    """A 254-byte -o name is legal; its atomic temporary name used to be longer and failed after the work."""
    name = "p" * 250 + ".png"
    assert _run(main, ["scene", "show", TWO, "--grid", "0", "-o", name]) == 0
    assert (in_files / name).read_bytes().startswith(b"\x89PNG")
    (in_files / name).unlink()
    capsys.readouterr()


class _Terminal(io.StringIO):
    """A standard input that is a terminal, with the user's answer typed in."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("answer", ["n\n", "y\n"])
def test_a_long_simulated_render_asks_on_a_terminal_and_yes_skips_the_question(answer, in_files, capsys,
                                                                               monkeypatch) -> None:
    """With the bar for "long" at zero, every `--source sim` render is long: at a terminal it asks, "n" stops it
    before any work (one line, nothing written), "y" (or --yes, without a terminal) renders."""
    from naf_model.rendering import plan

    monkeypatch.setattr(plan, "LONG_SIMULATION_S", 0.0)
    monkeypatch.setattr(sys, "stdin", _Terminal(answer))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    argv = [*RENDER, "--seconds", "0.5", "-o", "asked.wav"]
    code = _run(main, argv)
    err = capsys.readouterr().err
    assert "listener spots" in err and "start it? [y/N]" in err
    if answer == "n\n":
        assert code == 2 and "not started" in err.splitlines()[-1] and not (in_files / "asked.wav").exists()
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        assert _run(main, [*argv, "--yes"]) == 0 and "start it?" not in capsys.readouterr().err
    else:
        assert code == 0
    (in_files / "asked.wav").unlink()


def test_the_estimated_progress_bar_returns_the_irs_and_stops_its_clock() -> None:
    import threading

    from naf_model.rendering.plan import SimulationPlan, with_estimated_progress

    irs = with_estimated_progress(lambda e, li, h: np.full((len(li), 2, 4), 0.5), SimulationPlan(3, 20, 3, 2.0),
                                  tick_s=0.01)
    out = irs(np.zeros((3, 2)), np.ones((3, 2)), np.zeros(3))
    assert out.shape == (3, 2, 4) and (out == 0.5).all()
    assert not [t for t in threading.enumerate() if t.name == "estimated-progress"]


FAULT_CASES = [
    ("fault-scene-show-png", ["scene", "show", TWO, "-o", "fault.png", "--grid", "0"], errno.ENOSPC),
    ("fault-scene-show-svg-readonly", ["scene", "show", TWO, "-o", "fault.svg", "--grid", "0"], errno.EROFS),
    ("fault-render", [*RENDER, "--seconds", "1", "--source", "sim", "-o", "fault.wav"], errno.ENOSPC),
    ("fault-render-over-existing", [*RENDER, "--seconds", "1", "--source", "sim", "-o", "existing.wav", "-y"],
     errno.EROFS),
    ("fault-ir-sofa", ["ir", "--scene", TWO, "--emitter", "1", "1", "--listener", "3", "2", "--source", "sim", "-o",
                       "fault.sofa"], errno.ENOSPC),
    ("fault-data-make", ["data", "make", "--scene", TWO, "-o", "fault.h5", "--workers", "1", "--listener-spacing",
                         "0.8", "--emitter-spacing", "1.2", "--listeners-per-emitter", "2", "--ir-seconds", "0.1",
                         "--rays", "50"], errno.ENOSPC),
]
"""Commands that would succeed, run with the disk full (or read-only) at every atomic write, after the writer
has filled its temporary file (`fsync` fails, as delayed allocation does): one line, status 2, nothing changed.
Faults part-way through a job, and the resume after them, are in tests/test_faults.py."""


@pytest.mark.parametrize(("argv", "code"), [c[1:] for c in FAULT_CASES], ids=[c[0] for c in FAULT_CASES])
def test_a_full_or_read_only_disk_is_one_line_and_changes_nothing(argv, code, in_files, capsys, monkeypatch) -> None:
    from naf_model import atomic

    def fail(pending) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic._Pending, "finish", fail)
    before = _snapshot(in_files)
    result = _run(main, argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("naf: error: ")]
    assert result == 2 and "Traceback" not in err and len(lines) == 1 and err.rstrip().endswith(lines[0]), err
    assert atomic.FILE_SYSTEM_FAULTS[code] in lines[0], lines[0]
    assert _snapshot(in_files) == before


MEMORY_CEILING = 2 * 1024**3


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CEILING, MEMORY_CEILING))


@pytest.mark.parametrize(
    "argv",
    [
        ["scene", "show", "huge.json", "-o", "plan.png"],
        ["scene", "show", "millimetres.json", "-o", "plan.png"],
        ["data", "make", "--scene", "apartment_1", "-o", "d.h5", "--listener-spacing", "0.01",
         "--listeners-per-emitter", "all"],
        ["data", "make", "--scene", "apartment_1", "-o", "d.h5", "--listener-spacing", "0.01",
         "--emitter-spacing", "0.01", "--listeners-per-emitter", "all"],
    ],
    ids=["huge-coordinates", "millimetres", "fine-listener-grid", "too-many-pairs"],
)
def test_memory_blow_ups_are_refused_under_a_ceiling(argv, files) -> None:
    before = _snapshot(files)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "NAF_DATA_DIR": str(files / "data")}
    proc = subprocess.run([sys.executable, "-m", "naf_model.cli", *argv], cwd=files, env=env, capture_output=True,
                          text=True, preexec_fn=_limit_memory, timeout=120)
    _check_refused(proc.returncode, proc.stderr, "naf", "")
    assert _snapshot(files) == before


COORDINATES = st.floats() | st.integers() | st.text(max_size=2)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    rooms=st.lists(
        st.fixed_dictionaries(
            {"name": st.text(max_size=4), "polygon": st.lists(st.lists(COORDINATES, max_size=3), max_size=6)}
        ),
        max_size=3,
    ),
    extra=st.dictionaries(st.sampled_from(["doors", "windows", "obstacles", "ceiling_height", "ear_height",
                                            "wall_thickness", "defaults"]), JSON_VALUES, max_size=3),
)
def test_any_scene_file_is_a_scene_or_one_scene_error(rooms, extra, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("hyp") / "scene.json"
    path.write_text(json.dumps({"name": "h", "rooms": rooms, **extra}))
    try:
        scene = load_scene(path)
    except NafError as exc:
        assert "\n" not in str(exc)
    else:
        assert max(scene.bounds[2] - scene.bounds[0], scene.bounds[3] - scene.bounds[1]) <= 200


@settings(max_examples=60, deadline=None)
@given(
    option=st.sampled_from([("render", "--seconds"), ("render", "--heading"), ("loudness", "--spacing"),
                            ("train", "--minutes"), ("data make", "--listener-spacing"), ("probe", "--block"),
                            ("train", "--seed"), ("render", "--emitter")]),
    value=st.text(max_size=8) | st.floats().map(repr) | st.integers().map(str),
)
def test_any_option_value_parses_or_is_refused_in_one_line(option, value) -> None:
    command, flag = option
    argv = [*command.split(), "--scene", "s", flag, value]
    if flag == "--emitter":
        argv.append("1")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            _PARSER.parse_known_args(argv)
        except SystemExit as exc:
            assert exc.code == 2
        else:
            assert not err.getvalue()
    text = err.getvalue()
    assert len(text.strip().splitlines()) <= 1 and "Traceback" not in text, text


_PARSER = build_parser()


@pytest.mark.parametrize(("signum", "delay"), [(2, 0.3), (2, 1.5), (15, 0.8), (15, 3.0)])
def test_an_interrupt_at_any_moment_is_one_line_and_leaves_no_partial_file(signum, delay, tmp_path) -> None:
    """Ctrl-C or SIGTERM during imports, set-up or the render: `naf: interrupted`, status 130, no file;
    or, if the render finished first, the complete WAV."""
    import signal
    import time

    import soundfile as sf

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    argv = [sys.executable, "-m", "naf_model.cli", "render", "--scene", "apartment_1", "--emitter", "2", "2",
            "--listener", "5", "4", "-o", "here.wav", "--seconds", "5"]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(delay)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    left = sorted(p.name for p in tmp_path.iterdir())
    if proc.returncode == 0:
        assert left == ["here.wav"] and sf.info(tmp_path / "here.wav").duration == pytest.approx(5, abs=0.1)
    else:
        said = [line for line in err.strip().splitlines() if not line.startswith("apartment_1: simulating IRs at")]
        assert proc.returncode == 130 and said == ["naf: interrupted"], (proc.returncode, err)  # after the plan line
        assert left == []


def test_an_interrupt_while_a_library_has_silenced_stderr_is_still_one_line(tmp_path) -> None:
    """sounddevice points descriptor 2 at /dev/null while PortAudio starts (pyroomacoustics imports it): a
    SIGTERM in that window once exited 130 with nothing said. The message goes to naf's own copy of stderr."""
    code = (
        "import os, signal, sys, time\n"
        "sys.argv[0] = 'naf'\n"
        "import naf_model.cli\n"
        "null = os.open(os.devnull, os.O_WRONLY)\n"
        "os.dup2(null, 2)\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "time.sleep(30)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert (proc.returncode, proc.stderr.strip()) == (130, "naf: interrupted")


# ---- naf-app: a remembered session that cannot be read (it used to abort every start: SIGABRT, "QThread:
# Destroyed while thread is still running"). The app sets the file aside, says so in one line, starts afresh.
APP_SESSION_CASES = [
    ("app-session-emitters-a-number", "emitters", 3),
    ("app-session-heading-a-word", "heading", "north"),
    ("app-session-listener-nan", "listener", [float("nan"), 1.0]),
]


@pytest.mark.parametrize(("field", "value"), [c[1:] for c in APP_SESSION_CASES], ids=[c[0] for c in APP_SESSION_CASES])
def test_app_sets_an_unreadable_session_aside_and_starts_afresh(field, value, tmp_path, monkeypatch, capsys,
                                                                 qtbot) -> None:
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from naf_app.main import main as app_main
    from naf_app.session_file import default_session_path, load_session
    from naf_app.window import MainWindow

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    path = default_session_path()
    path.parent.mkdir(parents=True)
    session = {"version": 1, "scene": "two_room", "listener": [3.0, 2.2], "heading": 0.0, "selected": "emitter",
               "emitters": [{"key": "emitter", "xy": [1.0, 1.0], "gain_db": 0.0, "sound": None}]}
    session[field] = value
    path.write_text(json.dumps(session))
    messages: list[str] = []

    def close_when_shown() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not windows:
            QTimer.singleShot(50, close_when_shown)
            return
        messages.extend(windows[0].messages)
        windows[0].close()

    QTimer.singleShot(50, close_when_shown)
    scene_file = tmp_path / "two_room.json"
    scene_file.write_text(json.dumps(two_room_scene().to_dict()))
    assert app_main(["--scene", str(scene_file), "--no-audio", "--device", "cpu"]) == 0
    assert capsys.readouterr().err == ""
    (aside,) = path.parent.glob("session.json.bad-*")
    notices = [m for m in messages if aside.name in m]
    assert len(notices) == 1 and "\n" not in notices[0] and field in notices[0], messages
    assert load_session(path)["emitters"][0]["key"] == "emitter", "the fresh session is remembered on close"
