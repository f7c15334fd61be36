"""`naf data import`: each format's tiny fixture (built here, in its published layout) round-trips positions,
orientations, split and spectrograms; waveform formats' spectrograms are naf's own computation on the
(resampled) waveforms; a pickle that would run code is refused in one line and runs nothing; an imported set
trains, evaluates and opens in the app on its derived plan."""

from __future__ import annotations

import pickle

import h5py
import numpy as np
import pytest
import soundfile
from import_helpers import POINTS, meshrir_session, paper_metadata, soundspaces_room
from scipy.signal import resample_poly

from naf_model.cli import main
from naf_model.conventions import ORIENTATIONS_DEG
from naf_model.data import DataSet
from naf_model.data.described import early_spectrogram, late_description
from naf_model.data.imports import paper
from naf_model.data.imports.soundspaces import FOLDER_OF_NAF_ORIENTATION
from naf_model.data.plan import SPLIT_TEST, SPLIT_TRAIN, SPLIT_VALIDATION
from naf_model.errors import SceneError
from naf_model.safe_pickle import loads_data
from naf_model.scene import load_scene
from naf_model.simulate import simulate_binaural_rirs


def _ids(ds: DataSet, name: str) -> list[str]:
    return [v.decode() for v in ds._file[f"source/{name}"][()]]


def _import(*argv: str) -> int:
    return main(["data", "import", *argv, "--no-progress"])


def _check_positions(ds: DataSet) -> None:
    for ids, xy in ((_ids(ds, "emitter_ids"), ds.emitters), (_ids(ds, "listener_ids"), ds.listeners)):
        np.testing.assert_array_equal(xy, [POINTS[i][:2] for i in ids])


def test_paper_metadata_round_trips_exactly(tmp_path) -> None:
    written = paper_metadata(tmp_path / "meta", frames=12)
    out = tmp_path / "paper.h5"
    assert _import("paper", str(tmp_path / "meta"), "-o", str(out)) == 0
    with DataSet(out) as ds:
        _check_positions(ds)
        np.testing.assert_array_equal(ds.orientations, ORIENTATIONS_DEG)
        emitter_ids, listener_ids = _ids(ds, "emitter_ids"), _ids(ds, "listener_ids")
        pids = [f"{listener_ids[lst]}_{emitter_ids[e]}" for e, lst in ds.pairs]
        assert sorted(pids) == sorted(written["ids"])
        split = ds.split
        assert {p for p, s in zip(pids, split, strict=True) if s == SPLIT_TEST} == set(written["test"]["0"])
        assert {p for p, s in zip(pids, split, strict=True) if s in (SPLIT_TRAIN, SPLIT_VALIDATION)} == set(
            written["train"]["0"])
        spec, frames = ds.read_spec(), ds._file["source/frames"][()]
        silence = np.float16(np.log(1e-3))
        for i, pid in enumerate(pids):
            for j, label in enumerate(FOLDER_OF_NAF_ORIENTATION):
                stored = written["specs"][f"{label}_{pid}"][:, :, :12]
                assert frames[i, j] == stored.shape[2]
                np.testing.assert_array_equal(spec[i, j, :, :, : stored.shape[2]], stored)
                assert (spec[i, j, :, :, stored.shape[2]:] == silence).all()
        np.testing.assert_array_equal(ds.stats.mean, written["mean"])
        np.testing.assert_array_equal(ds.stats.std, written["std"])
        assert not ds.has_ir.any() and not ds.has_late and ds.imported["format"] == "paper"
        assert ds.imported["paper_min_xy"] == [0.5, -4.0]
    scene = load_scene(out)
    assert scene.derived_from and "derived" in scene.derived_from
    with DataSet(out) as ds:
        ds.check_scene(scene)
        assert scene.is_free(ds.emitters[:, 0], ds.emitters[:, 1]).all()


def test_the_paper_conventions_agree_with_soundspaces() -> None:
    # SoundSpaces azimuth a (clockwise from +y) is naf heading 90 - a; the paper's index of naf's orientations
    assert [paper.NAF_HEADING_OF_LABEL[a] for a in FOLDER_OF_NAF_ORIENTATION] == [0, 90, 180, 270]
    assert paper.NAF_TO_PAPER_ORIENTATION == (1, 0, 3, 2)
    np.testing.assert_array_equal(paper.paper_xy_from_naf(np.array([[1.0, 2.0]])), [[1.0, -2.0]])


def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path, capsys) -> None:
    target = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(target), "w"))

    paper_metadata(tmp_path / "meta", split_pickle=pickle.dumps(Payload()))
    out = tmp_path / "out.h5"
    assert _import("paper", str(tmp_path / "meta"), "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused" in err and "io.open" in err and "Traceback" not in err
    assert not target.exists() and not out.exists()
    assert not list(tmp_path.glob("*.tmp*"))


def test_the_restricted_unpickler_keeps_plain_data_and_arrays() -> None:
    data = [{"0": ["1_2"], "90": ("a", 3, 4.5)}, np.arange(6, dtype=np.float32).reshape(2, 3), np.float64(2.5)]
    for protocol in (2, 4, 5):
        back = loads_data(pickle.dumps(data, protocol=protocol))
        assert back[0] == data[0] and back[2] == 2.5
        np.testing.assert_array_equal(back[1], data[1])


@pytest.mark.parametrize("rate", [22_050, 44_100])
def test_soundspaces_spectrograms_are_nafs_own_of_the_waveforms(tmp_path, rate) -> None:
    irs = soundspaces_room(tmp_path / "room", rate=rate)
    out = tmp_path / "ss.h5"
    assert _import("auto", str(tmp_path / "room"), "-o", str(out)) == 0
    with DataSet(out) as ds:
        _check_positions(ds)
        split_info = ds.split_info
        emitter_ids, listener_ids = _ids(ds, "emitter_ids"), _ids(ds, "listener_ids")
        stored_ir, spec, late = ds.read_ir(), ds.read_spec(), ds.read_late()
        n = ds.meta.ir_length
        for i, (e, lst) in enumerate(ds.pairs):
            expected = np.zeros((4, 2, n), np.float32)
            for j, label in enumerate(FOLDER_OF_NAF_ORIENTATION):
                wav = irs[f"{label}/{listener_ids[lst]}_{emitter_ids[e]}"].T
                wav = wav if rate == 22_050 else resample_poly(wav.astype(np.float64), 1, 2, axis=-1)
                expected[j, :, : wav.shape[1]] = wav
            np.testing.assert_array_equal(stored_ir[i], expected.astype(np.float16))
            np.testing.assert_array_equal(spec[i], early_spectrogram(expected, split_info).astype(np.float16))
            np.testing.assert_array_equal(late[i], late_description(expected, split_info).astype(np.float16))
        counts = np.bincount(ds.split, minlength=3)
        assert counts[SPLIT_TEST] == 2 and counts[SPLIT_VALIDATION] == 1 and ds.has_ir.all()
        assert ds.imported["resampled"] == (rate != 22_050)


def test_soundspaces_with_the_papers_split(tmp_path) -> None:
    written = paper_metadata(tmp_path / "meta")
    soundspaces_room(tmp_path / "room")
    out = tmp_path / "ss.h5"
    pkl = tmp_path / "meta" / "train_test_split" / "test_room_complete.pkl"
    assert _import("soundspaces", str(tmp_path / "room"), "-o", str(out), "--split-pickle", str(pkl)) == 0
    with DataSet(out) as ds:
        emitter_ids, listener_ids = _ids(ds, "emitter_ids"), _ids(ds, "listener_ids")
        test = {f"{listener_ids[lst]}_{emitter_ids[e]}" for (e, lst), s in zip(ds.pairs, ds.split, strict=True)
                if s == SPLIT_TEST}  # fmt: skip
        assert test == set(written["test"]["0"])


def test_meshrir_is_mono_on_both_ears_and_every_heading(tmp_path, capsys) -> None:
    session = meshrir_session(tmp_path / "S2-M6_npy")
    out = tmp_path / "mesh.h5"
    assert _import("meshrir", str(tmp_path / "S2-M6_npy"), "-o", str(out)) == 2
    assert "--height" in capsys.readouterr().err
    assert _import("meshrir", str(tmp_path / "S2-M6_npy"), "-o", str(out), "--height", "0.1") == 0
    assert "mono" in capsys.readouterr().out
    with DataSet(out) as ds:
        np.testing.assert_array_equal(ds.emitters, session["sources"][:, :2])
        mics = ds._file["source/mic_indices"][()]
        np.testing.assert_array_equal(mics, [3, 4, 5])
        np.testing.assert_array_equal(ds.listeners, session["mics"][mics, :2])
        stored, spec = ds.read_ir(), ds.read_spec()
        for i, (s, m) in enumerate(ds.pairs):
            ir = resample_poly(session["irs"][int(mics[m])][s], 147, 320).astype(np.float32)
            expected = np.zeros((4, 2, ds.meta.ir_length), np.float32)
            expected[..., : len(ir)] = ir[: ds.meta.ir_length]
            np.testing.assert_array_equal(stored[i], expected.astype(np.float16))
            np.testing.assert_array_equal(spec[i], early_spectrogram(expected, ds.split_info).astype(np.float16))
        assert "mono" in ds.imported["channels"]


def test_a_derived_plan_cannot_be_simulated(tmp_path) -> None:
    soundspaces_room(tmp_path / "room", n=1_000)
    out = tmp_path / "ss.h5"
    assert _import("soundspaces", str(tmp_path / "room"), "-o", str(out)) == 0
    scene = load_scene(out)
    with pytest.raises(SceneError, match="no walls to simulate"):
        simulate_binaural_rirs(scene, (2.0, 2.0), np.array([[1.0, 1.0]]))
    with pytest.raises(SceneError, match="naf data make"):  # a simulated data set names its scene instead
        path = tmp_path / "plain.h5"
        with h5py.File(path, "w") as f:
            f.attrs["scene_name"] = "x"
        load_scene(path)


def test_bad_sources_are_one_line_before_any_work(tmp_path, capsys) -> None:
    out = tmp_path / "out.h5"
    room = tmp_path / "room"
    soundspaces_room(room, n=500)
    (room / "points.txt").unlink()
    cases = [
        (["paper", str(tmp_path / "missing"), "-o", str(out)], "not a folder"),
        (["auto", str(tmp_path), "-o", str(out)], "cannot tell the format"),
        (["soundspaces", str(room), "-o", str(out)], "points file"),
        (["soundspaces", str(room), "-o", str(out), "--height", "1"], "meshrir format only"),
        (["paper", str(room), "-o", str(tmp_path / "out.txt")], "unknown file type"),
    ]
    for argv, needle in cases:
        assert _import(*argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err and "Traceback" not in err, (argv, err)
    assert not out.exists()
    soundfile.write(room / "0" / "bad_name_here.wav", np.zeros((10, 2)), 22_050)  # not '<r>_<s>': ignored


def test_an_imported_set_trains_evaluates_and_opens_in_the_app(tmp_path, capsys, qtbot) -> None:
    soundspaces_room(tmp_path / "room", n=2_000)
    data = tmp_path / "ss.h5"
    assert _import("soundspaces", str(tmp_path / "room"), "-o", str(data)) == 0
    run = tmp_path / "run"
    assert main(
        ["train", "--data", str(data), "--preset", "fast", "--set", "depth=2", "--set", "width=32", "--set",
         "n_basis=8", "--set", "irs_per_step=4", "--set", "eval_every=100", "--steps", "200", "--out", str(run),
         "--device", "cpu", "--no-progress", "--threads", "1"]
    ) == 0  # fmt: skip
    assert (run / "best.pt").is_file()
    results = tmp_path / "results"
    assert main(
        ["eval", "--data", str(data), "--checkpoint", str(run / "best.pt"), "--max-pairs", "2", "--no-codecs",
         "--resamples", "20", "--out-dir", str(results)]
    ) == 0  # fmt: skip
    report = (results / "soundspaces_room.md").read_text()
    assert "No floor, off-grid or listening rows" in report and "NAF (field)" in report
    capsys.readouterr()

    from naf_app.window import MainWindow

    window = MainWindow(load_scene(data), run / "best.pt", device="cpu", audio=None, scene_arg=str(data))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.state.field is not None, timeout=60_000)
    assert "derived plan" in window.windowTitle()
    window.close()
