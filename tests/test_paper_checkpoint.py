"""The paper's own checkpoints (aluo-x/Learning_Neural_Acoustic_Fields) load as naf fields and predict what the
paper's code predicts.

`reference_spectrogram` below is the paper's forward pass written out from its code's equations
(`embedding_module_log`, `fit_predict_torch`, `kernel_residual_fc_embeds.forward`, the data loader's scaling),
apart from naf's network; random weights under the paper's parameter names are saved as the paper's `train.py`
saves them ({"network": state_dict}), read through naf, and must give the same spectrograms. naf's positions
and headings are the imported data's (points.txt's (x, y), headings counter-clockwise from +x); the paper's code
reads (x, -y) and SoundSpaces azimuth folders (clockwise from +y): the test converts them itself.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from naf_model import conventions
from naf_model.checkpoint import load_checkpoint, save_checkpoint
from naf_model.checkpoint_paper import IMPORTED_ATTRIBUTE
from naf_model.cli import main
from naf_model.errors import CheckpointError
from naf_model.field import NeuralAcousticField

BOUNDS = (-0.3, 0.2, 4.1, 3.3)  # min x, min y, max x, max y (the paper's min/max in its frame, metres)
N_FRAMES = 9
WIDTH, BLOCKS, GRID_CH, N_SIN, GAP = 16, 6, 4, 3, 0.5


def paper_state(bounds=BOUNDS, seed: int = 0, blocks: int = BLOCKS) -> dict[str, torch.Tensor]:
    """Random weights under the paper network's names and shapes (bandwidths partly outside the clamp)."""
    g = torch.Generator().manual_seed(seed)
    input_ch = 6 * (1 + 2 * N_SIN) + 2 * GRID_CH
    xs, ys = np.meshgrid(np.arange(bounds[0], bounds[2], GAP), np.arange(bounds[1], bounds[3], GAP))
    coors = torch.from_numpy(np.stack([xs.flatten(), ys.flatten()], 1)).float()

    def rnd(*shape: int, scale: float = 0.3) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * scale

    state = {f"left_right_{k}": rnd(1, 1, 2, WIDTH) for k in range(blocks - 1)}
    state |= {f"rot_{k}": rnd(blocks - 1, 1, 1, WIDTH) for k in range(4)}
    state |= {"proj.proj.weight": rnd(WIDTH, input_ch), "proj.proj.bias": rnd(WIDTH),
              "residual_1.0.proj.weight": rnd(WIDTH, input_ch), "residual_1.0.proj.bias": rnd(WIDTH),
              "residual_1.2.proj.weight": rnd(WIDTH, WIDTH), "residual_1.2.proj.bias": rnd(WIDTH)}
    for k in range(blocks - 2):
        state |= {f"layers.{k}.block.1.proj.weight": rnd(WIDTH, WIDTH), f"layers.{k}.block.1.proj.bias": rnd(WIDTH)}
    state |= {"out_layer.weight": rnd(1, WIDTH), "out_layer.bias": rnd(1),
              "bandwidths": 0.05 + torch.rand(len(coors), generator=g) * 0.6,
              "grid_coors_xy": coors, "xy_offset": rnd(len(coors), 2, scale=1.0),
              "grid_0": rnd(len(coors), GRID_CH, scale=1.0)}
    return state


def embed(x: torch.Tensor, max_freq: float) -> torch.Tensor:
    """`embedding_module_log(num_freqs=N_SIN, max_freq, ch_dim=-1)`: x, then sin at each frequency, then cos."""
    freqs = (2.0 ** torch.from_numpy(np.linspace(0.0, max_freq, N_SIN).astype(np.single))).to(x.dtype)
    return torch.cat([x] + [torch.sin(x * f) for f in freqs] + [torch.cos(x * f) for f in freqs], dim=-1)


def to_paper(xy) -> tuple[float, float]:
    """naf position -> the paper code's (`sound_loader`: [x, -y] of points.txt)."""
    return (xy[0], -xy[1])


def paper_rotation(heading: float) -> int:
    """naf heading (degrees counter-clockwise from +x) -> the paper's rotation index (azimuth folder 0, 90, 180,
    270, clockwise from +y)."""
    return int(((90 - heading) % 360) // 90)


def reference_spectrogram(state, bounds, listener, emitter, rot: int, dtype=torch.float32) -> torch.Tensor:
    """The paper's prediction for one (receiver, source, rotation) in its own frame: (2, 256, N_FRAMES)
    normalised values, computed in `dtype` (the paper's code: float32)."""
    state = {k: v.to(dtype) for k, v in state.items()}
    lo, hi = np.array(bounds[:2]), np.array(bounds[2:])
    scaled = [np.clip(((np.array(p) - lo) / (hi - lo) - 0.5) * 2.0, -1, 1) for p in (listener, emitter)]
    position = torch.from_numpy(np.concatenate(scaled)).to(dtype)[None]  # (1, 4): receiver first
    t, f = np.meshgrid(np.arange(N_FRAMES), np.arange(256))
    freqs = (2.0 * torch.from_numpy(f.reshape(-1)).to(dtype) / 255.0 - 1.0)[:, None] * 2.0 * math.pi
    times = (2.0 * torch.from_numpy(t.reshape(-1)).to(dtype) / float(N_FRAMES - 1) - 1.0)[:, None] * 2.0 * math.pi
    n = len(freqs)
    total_in = torch.cat([embed(position, 7).expand(n, -1), embed(freqs, 10), embed(times, 10)], -1)
    bandwidth = state["bandwidths"].clamp(0.1, 0.5)
    points = state["grid_coors_xy"] + torch.tanh(state["xy_offset"]) * 0.1

    def grid(p) -> torch.Tensor:
        q = torch.tensor([p], dtype=dtype)
        dist = (q**2).sum(-1, keepdim=True) + (points**2).sum(-1)[None] - 2 * q @ points.T
        w = torch.exp(-dist / (2.0 * bandwidth[None] ** 2))
        return (w @ state["grid_0"]) / w.sum(1, keepdim=True)

    my_input = torch.cat([torch.cat([grid(listener), grid(emitter)], -1).expand(n, -1), total_in], -1)

    def lin(name: str, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, state[f"{name}.weight"], state[f"{name}.bias"])

    out = lin("proj.proj", my_input)[:, None, :] + state["left_right_0"][0, 0] + state[f"rot_{rot}"][0, 0]
    n_layers = BLOCKS - 2
    for k in range(n_layers):
        out = lin(f"layers.{k}.block.1.proj", F.leaky_relu(out, 0.1))
        out = out + state[f"left_right_{k + 1}"][0, 0] + state[f"rot_{rot}"][k + 1, 0]
        if k == n_layers // 2 - 1:
            out = out + lin("residual_1.2.proj", F.leaky_relu(lin("residual_1.0.proj", my_input), 0.1))[:, None]
    y = lin("out_layer", out)[..., 0]  # (pixels, 2 ears)
    return y.T.reshape(2, 256, N_FRAMES)


def write_imported(path: Path, bounds=BOUNDS, std_scale: float = 1.0, paper: bool = True) -> Path:
    """A minimal naf data set as the paper's import leaves it: statistics (256, N_FRAMES), the min/max."""
    g = np.random.default_rng(1)
    with h5py.File(path, "w") as f:
        f.attrs["format_version"] = 1
        for name, value in conventions.STFT_SETTINGS.items():
            f.attrs[name] = value
        f.attrs.update({"complete": True, "scene_name": "paper_room", "scene_hash": "a" * 64,
                        "n_frames": N_FRAMES, "ir_length": (N_FRAMES - 1) * conventions.HOP, "seed": 0,
                        "simulation": "{}", "data_config": "{}", "plan_key": "k"})
        if paper:
            f.attrs[IMPORTED_ATTRIBUTE] = json.dumps({"format": "paper", "paper_min_xy": list(bounds[:2]),
                                                      "paper_max_xy": list(bounds[2:])})
        f["emitters"] = np.zeros((2, 2))
        f["listeners"] = np.ones((3, 2))
        f["pairs"] = np.array([[0, 0], [0, 1], [1, 2], [1, 0]], np.int32)
        f["split"] = np.array([0, 1, 0, 1], np.uint8)
        f["orientations"] = np.array([0, 90, 180, 270], np.float32)
        f["spec"] = np.zeros((4, 4, 2, 256, N_FRAMES), np.float16)
        f["ir"] = np.zeros((4, 4, 2, (N_FRAMES - 1) * conventions.HOP), np.float16)
        f["stats/mean"] = g.normal(-4, 1, (256, N_FRAMES)).astype(np.float32)
        f["stats/std"] = (std_scale * g.uniform(0.5, 2, (256, N_FRAMES))).astype(np.float32)
    return path


@pytest.fixture
def paper_files(tmp_path) -> dict[str, Path]:
    state = paper_state()
    ckpt = tmp_path / "00200.chkpt"
    torch.save({"network": state}, ckpt)
    return {"checkpoint": ckpt, "data": write_imported(tmp_path / "paper_room.h5"), "folder": tmp_path}


POSITIONS = [((1.0, -1.2), (3.1, -2.5)), ((0.4, -2.9), (0.2, -0.3)), ((-0.2, -0.25), (4.0, -3.2))]
"""(listener, emitter) in naf's frame, inside BOUNDS mirrored."""


def test_the_network_computes_the_paper_code_in_float64(paper_files) -> None:
    """In float64 the rounding of a different order of sums vanishes: equal to 1e-9 means the same equations."""
    state = torch.load(paper_files["checkpoint"], weights_only=True)["network"]
    model = load_checkpoint(paper_files["checkpoint"], paper_data=paper_files["data"]).build_model().double()
    for index, heading in enumerate(conventions.ORIENTATIONS_DEG):
        for listener, emitter in POSITIONS:
            got = model.predict(torch.tensor([emitter], dtype=torch.float64),
                                torch.tensor([listener], dtype=torch.float64), torch.tensor([index]))[0]
            ref = reference_spectrogram(state, BOUNDS, to_paper(listener), to_paper(emitter), paper_rotation(heading),
                                        torch.float64)
            torch.testing.assert_close(got, ref, rtol=0, atol=1e-9)


def test_naf_predicts_what_the_paper_code_predicts(paper_files) -> None:
    """The field as it runs (float32): within float32 rounding of the paper's own float32 computation."""
    state = torch.load(paper_files["checkpoint"], weights_only=True)["network"]
    field = NeuralAcousticField.from_checkpoint(
        load_checkpoint(paper_files["checkpoint"], paper_data=paper_files["data"]), paper_files["checkpoint"],
        device="cpu")
    with h5py.File(paper_files["data"]) as f:
        mean, std = f["stats/mean"][()], f["stats/std"][()]
    for heading in conventions.ORIENTATIONS_DEG:
        emitters = np.array([e for _, e in POSITIONS])
        listeners = np.array([li for li, _ in POSITIONS])
        got = field.query_batch(emitters, listeners, np.full(len(POSITIONS), heading))
        for i, (listener, emitter) in enumerate(POSITIONS):
            ref = reference_spectrogram(state, BOUNDS, to_paper(listener), to_paper(emitter),
                                        paper_rotation(heading)).numpy()
            np.testing.assert_allclose((got[i] - mean) / (3 * std), ref, rtol=0, atol=2e-5)
    # the emitter and listener are not interchangeable: the receiver is the paper's first position
    swapped = field.query(POSITIONS[0][0], POSITIONS[0][1], 0.0)
    assert np.abs(swapped - field.query(POSITIONS[0][1], POSITIONS[0][0], 0.0)).max() > 1e-2


def test_the_paper_field_plays_through_the_field_api(paper_files) -> None:
    ckpt = load_checkpoint(paper_files["checkpoint"], paper_data=paper_files["data"])
    assert ckpt.ir_split.has_late is False and ckpt.preset == "paper_released"
    field = NeuralAcousticField.from_checkpoint(ckpt, paper_files["checkpoint"], device="cpu")
    spec = field.query_batch([[1, -1], [2, -2]], [[3, -2], [0.5, -3]], [45.0, 300.0])
    assert spec.shape == (2, 2, 256, N_FRAMES) and np.isfinite(spec).all()
    e, li = (1, -1), (3, -2)
    between = field.query(e, li, 45.0)  # halfway: the mean of the normalised 0 and 90 degree outputs
    np.testing.assert_allclose(between, (field.query(e, li, 0.0) + field.query(e, li, 90.0)) / 2, rtol=1e-5,
                               atol=1e-4)
    for phase in conventions.PHASE_METHODS:
        ir = field.impulse_responses([e], [li], [10.0], phase=phase)
        assert ir.shape == (1, 2, ckpt.ir_length) and np.isfinite(ir).all() and np.abs(ir).max() > 0
    features = field.features(np.array([[1.0, -1.0], [2.0, -2.0]]), np.array([[3.0, -2.0], [0.5, -3.0]]))
    assert features.shape == (2, WIDTH) and np.isfinite(features).all()
    embedding, grid = field.model.position_inputs(torch.tensor([[1.0, -1.0]]))
    assert embedding.shape == (1, 2 * (1 + 2 * N_SIN)) and grid.shape == (1, GRID_CH)
    # written as a naf checkpoint it loads with no data set and predicts the same
    copy = save_checkpoint(ckpt, paper_files["folder"] / "as_naf.pt")
    again = NeuralAcousticField.from_checkpoint(load_checkpoint(copy), copy, device="cpu")
    np.testing.assert_array_equal(again.query(e, li, 30.0), field.query(e, li, 30.0))


class _Runs:
    """Pickled into a checkpoint: loading it naively would call `print`."""

    def __reduce__(self):
        return (print, ("this ran",))


def _bad_files(folder: Path, good: Path) -> dict[str, tuple[Path, Path | None, str]]:
    """name -> (checkpoint, data set, words the one line must hold)."""
    data = folder / "paper_room.h5"
    state = paper_state()
    (folder / "random.chkpt").write_bytes(np.random.default_rng(0).bytes(4096))
    (folder / "truncated.chkpt").write_bytes(good.read_bytes()[:3000])
    torch.save({"model": {"weight": torch.zeros(3)}}, folder / "other_keys.chkpt")
    torch.save({"network": {k: v for k, v in state.items() if not k.startswith("layers.1.")}},
               folder / "missing_layer.chkpt")
    torch.save({"network": state | {"extra.weight": torch.zeros(2)}}, folder / "extra_key.chkpt")
    torch.save({"network": paper_state(bounds=(0.0, 0.0, 6.0, 5.0))}, folder / "other_scene.chkpt")
    torch.save({"network": state, "runs": _Runs()}, folder / "code.chkpt")
    (folder / "code.pkl").write_bytes(pickle.dumps({"network": _Runs()}, protocol=2))
    bad_state = dict(state, grid_0=torch.full_like(state["grid_0"], float("nan")))
    torch.save({"network": bad_state}, folder / "nan.chkpt")
    write_imported(folder / "not_paper.h5", paper=False)
    write_imported(folder / "other_box.h5", bounds=(0.0, 0.0, 2.0, 2.0))
    return {
        "random-bytes": (folder / "random.chkpt", data, "not a checkpoint"),
        "truncated": (folder / "truncated.chkpt", data, "truncated"),
        "other-keys": (folder / "other_keys.chkpt", data, "not a naf checkpoint"),
        "missing-layer": (folder / "missing_layer.chkpt", data, "not a checkpoint of the paper's network"),
        "extra-key": (folder / "extra_key.chkpt", data, "not a checkpoint of the paper's network"),
        "other-scene": (folder / "other_scene.chkpt", data, "another scene"),
        "pickled-code": (folder / "code.chkpt", data, "not a checkpoint"),
        "plain-pickle-code": (folder / "code.pkl", data, "not a checkpoint"),
        "nan-weights": (folder / "nan.chkpt", data, "NaN"),
        "no-data-set": (good, None, "holds weights only"),
        "missing-data-set": (good, folder / "absent.h5", "import it with `naf data import paper`"),
        "data-not-from-paper": (good, folder / "not_paper.h5", "not imported from the paper"),
        "data-of-other-box": (good, folder / "other_box.h5", "another scene"),
    }


def test_bad_paper_checkpoints_are_one_line_errors(paper_files, capsys) -> None:
    for name, (ckpt, data, words) in _bad_files(paper_files["folder"], paper_files["checkpoint"]).items():
        with pytest.raises(CheckpointError) as err:
            load_checkpoint(ckpt, paper_data=data)
        message = str(err.value)
        assert words in message and "\n" not in message, (name, message)
    assert "this ran" not in capsys.readouterr().out


@pytest.fixture(scope="module")
def imported_scene(tmp_path_factory) -> dict[str, Path]:
    """A tiny simulated two-room data set without a late part, marked as the paper's import marks it (its
    scene's bounding box as the min/max), and a random paper-format checkpoint over that box."""
    from model_helpers import tiny_data

    from naf_model.data import make_dataset
    from naf_model.scene import save_scene
    from naf_model.scene.examples import two_room_scene

    folder = tmp_path_factory.mktemp("paper_eval")
    scene = two_room_scene()
    scene_path = save_scene(scene, folder / "two_room" / "scene.json")
    config = dataclasses.replace(tiny_data(0.5, 1.0, listeners_per_emitter=12, test_fraction=0.25, seed=1,
                                           ir_seconds=0.2, n_rays=200), late_part=False)
    data = make_dataset(scene, config, folder / "two_room.h5", workers=1, progress=False)
    xmin, ymin, xmax, ymax = (float(b) for b in scene.free_space.bounds)
    bounds = (xmin, -ymax, xmax, -ymin)  # the paper's frame mirrors y
    with h5py.File(data, "r+") as f:
        f.attrs[IMPORTED_ATTRIBUTE] = json.dumps({"format": "paper", "paper_min_xy": [xmin, -ymax],
                                                  "paper_max_xy": [xmax, -ymin]})
        assert int(f.attrs["n_frames"]) > 2
    ckpt = folder / "00200.chkpt"
    torch.save({"network": paper_state(bounds=bounds)}, ckpt)
    return {"scene": scene_path, "data": data, "checkpoint": ckpt}


def test_naf_eval_scores_a_paper_checkpoint(imported_scene, tmp_path, capsys) -> None:
    code = main(["eval", "--scene", str(imported_scene["scene"]), "--data", str(imported_scene["data"]),
                 "--checkpoint", str(imported_scene["checkpoint"]), "--max-pairs", "4", "--floor-pairs", "2",
                 "--out-dir", str(tmp_path)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "NAF (field)" in out.out


@pytest.mark.parametrize("case", ["random-bytes", "pickled-code", "other-scene", "extra-key"])
def test_naf_eval_refuses_a_bad_paper_checkpoint_in_one_line(case, imported_scene, tmp_path, capsys) -> None:
    files = _bad_files(tmp_path, imported_scene["checkpoint"])
    ckpt = files[case][0]
    data = imported_scene["data"]
    if case == "other-scene":  # a paper checkpoint over the box of the unit tests' scene, not this one
        torch.save({"network": paper_state()}, ckpt)
    code = main(["eval", "--scene", str(imported_scene["scene"]), "--data", str(data), "--checkpoint", str(ckpt),
                 "--max-pairs", "4", "--floor-pairs", "2", "--out-dir", str(tmp_path / "out")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("naf: error:"), lines
    assert not (tmp_path / "out").exists()


def test_render_and_the_app_find_the_imported_data_set_of_their_scene(imported_scene, tmp_path, monkeypatch,
                                                                      capsys) -> None:
    """Commands given a scene read a paper checkpoint with that scene's data set in the data folder."""
    import soundfile as sf

    from naf_app.worker import load_field
    from naf_model.scene import load_scene

    monkeypatch.setenv("NAF_DATA_DIR", str(imported_scene["data"].parent))  # holds two_room.h5
    out = tmp_path / "paper.wav"
    assert main(["render", "--scene", str(imported_scene["scene"]), "--emitter", "1", "1", "--listener", "3", "2",
                 "--seconds", "0.5", "-o", str(out), "--source", "naf",
                 "--checkpoint", str(imported_scene["checkpoint"])]) == 0, capsys.readouterr().err
    audio, _ = sf.read(out)
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0
    field, info = load_field(imported_scene["checkpoint"], load_scene(str(imported_scene["scene"])), "cpu")
    assert info.preset == "paper_released" and info.scene_name == "two_room"
    assert np.isfinite(field.impulse_response((1, 1), (3, 2), 20.0)).all()
    monkeypatch.setenv("NAF_DATA_DIR", str(tmp_path))  # no imported data set there: one line
    assert main(["render", "--scene", str(imported_scene["scene"]), "--emitter", "1", "1", "--listener", "3", "2",
                 "-o", str(tmp_path / "x.wav"), "--source", "naf",
                 "--checkpoint", str(imported_scene["checkpoint"])]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("naf: error:") and "\n" not in err and "naf data import paper" in err
    assert not (tmp_path / "x.wav").exists()


def test_naf_import_checkpoint_writes_a_field_that_needs_no_data_set(paper_files, capsys) -> None:
    out = paper_files["folder"] / "field.pt"
    assert main(["import-checkpoint", str(paper_files["checkpoint"]), "--data", str(paper_files["data"]),
                 "-o", str(out)]) == 0, capsys.readouterr().err
    assert "paper_room" in capsys.readouterr().out
    direct = load_checkpoint(paper_files["checkpoint"], paper_data=paper_files["data"])
    written = load_checkpoint(out)
    assert written.preset == "paper_released" and written.scene_hash == direct.scene_hash
    fields = [NeuralAcousticField.from_checkpoint(c, out, device="cpu") for c in (direct, written)]
    np.testing.assert_array_equal(*(f.query((1, -1), (3, -2), 90.0) for f in fields))
