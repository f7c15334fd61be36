"""`naf ir`: the played IR at a spot (WAV, SOFA) and grids of listener positions in one SOFA file, from the
field or a simulation that follows the field's data-set settings (ears, IR length)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from naf_model.audio.resample import resample_ir
from naf_model.cli import main
from naf_model.conventions import SAMPLE_RATE
from naf_model.field import NeuralAcousticField
from naf_model.orientation import blend_orientations
from naf_model.paths import bundled_checkpoint
from naf_model.rendering.ir_export import IrSpots, export_irs
from naf_model.rendering.ir_source import ir_source, played_irs, simulation_config
from naf_model.scene import load_scene
from naf_model.simulate import SimulationConfig
from naf_model.simulate.ears import kemar_sha256
from naf_model.simulate.ir_length import room_ir_seconds

EMITTER = (0.6, 1.0)
LISTENER = (1.43, 2.17)  # off the data set's grid


@pytest.fixture(scope="module")
def field_files(tiny_field, tmp_path_factory):
    """(scene, scene.json path, checkpoint path) of the session's tiny two-room field."""
    scene, _, checkpoint = tiny_field
    folder = tmp_path_factory.mktemp("ir_scene")
    (folder / "scene.json").write_text(json.dumps(scene.to_dict()))
    return scene, folder / "scene.json", checkpoint


@pytest.fixture(scope="module")
def spherical_checkpoint(field_files, tmp_path_factory):
    """The tiny field saved as one made before measured ears: its simulation settings name no `hrtf`."""
    _, _, checkpoint = field_files
    payload = torch.load(checkpoint, map_location="cpu", weights_only=True)
    payload["simulation"] = {k: v for k, v in payload["simulation"].items() if k not in ("hrtf", "hrtf_method")}
    path = tmp_path_factory.mktemp("old_field") / "old.pt"
    torch.save(payload, path)
    return path


def _ir_argv(scene_file, out, *extra: str) -> list[str]:
    return ["ir", "--scene", str(scene_file), "--emitter", *map(str, EMITTER), "-o", str(out), *extra]


def test_one_spot_is_the_fields_played_ir_in_wav_and_sofa(field_files, tmp_path, capsys) -> None:
    import sofar

    scene, scene_file, checkpoint = field_files
    field = NeuralAcousticField.load(checkpoint, device="cpu", scene=scene)
    played = played_irs(field)(np.array([EMITTER]), np.array([LISTENER]), np.array([37.0]))[0]
    spot = ["--listener", *map(str, LISTENER), "--heading", "37", "--checkpoint", str(checkpoint), "--device", "cpu"]

    assert main(_ir_argv(scene_file, tmp_path / "ir.wav", *spot)) == 0
    data, rate = sf.read(tmp_path / "ir.wav", dtype="float32", always_2d=True)
    assert rate == SAMPLE_RATE and np.array_equal(data.T, played)
    assert "wrote" in capsys.readouterr().out

    assert main(_ir_argv(scene_file, tmp_path / "ir44.wav", *spot, "--rate", "44100")) == 0
    data44, rate44 = sf.read(tmp_path / "ir44.wav", dtype="float64", always_2d=True)
    want = resample_ir(played, SAMPLE_RATE, 44_100)
    assert rate44 == 44_100 and data44.shape == (2 * played.shape[1], 2)
    assert np.allclose(data44.T, want, atol=1e-6 * np.abs(want).max())

    assert main(_ir_argv(scene_file, tmp_path / "ir.sofa", *spot, "--rate", "48000")) == 0
    sofa = sofar.read_sofa(str(tmp_path / "ir.sofa"), verbose=False)
    sofa.verify(issue_handling="raise")
    assert sofa.GLOBAL_SOFAConventions == "GeneralFIR" and float(sofa.Data_SamplingRate) == 48_000
    assert np.array_equal(sofa.Data_IR[0], resample_ir(played, SAMPLE_RATE, 48_000))
    assert np.allclose(sofa.ListenerPosition, [[*LISTENER, scene.ear_height]])
    assert np.allclose(sofa.SourcePosition, [[*EMITTER, scene.ear_height]])
    h = np.radians(37.0)
    assert np.allclose(sofa.ListenerView, [[np.cos(h), np.sin(h), 0.0]])
    capsys.readouterr()


def test_a_grid_is_one_sofa_file_of_every_free_cell_and_heading(field_files, tmp_path, capsys) -> None:
    import sofar

    scene, scene_file, checkpoint = field_files
    out = tmp_path / "grid.sofa"
    assert main(_ir_argv(scene_file, out, "--grid", "0.9", "--headings", "0,45,270", "--checkpoint",
                         str(checkpoint), "--device", "cpu")) == 0
    assert "positions x 3 headings" in capsys.readouterr().out
    sofa = sofar.read_sofa(str(out), verbose=False)
    sofa.verify(issue_handling="raise")
    positions = scene.sample_grid(0.9)
    headings = np.array([0.0, 45.0, 270.0])
    m = len(positions) * 3
    assert len(positions) > 4 and sofa.Data_IR.shape[:2] == (m, 2)
    listeners = np.repeat(positions, 3, axis=0)
    turns = np.radians(np.tile(headings, len(positions)))
    assert np.allclose(sofa.ListenerPosition[:, :2], listeners) and np.allclose(sofa.ListenerPosition[:, 2], 1.5)
    assert np.allclose(sofa.ListenerView, np.column_stack([np.cos(turns), np.sin(turns), np.zeros(m)]), atol=1e-12)
    assert np.allclose(sofa.SourcePosition[:, :2], EMITTER)
    # each measurement is the field's played IR at its position and heading (computed here one by one)
    field = NeuralAcousticField.load(checkpoint, device="cpu", scene=scene)
    one_by_one = np.stack([played_irs(field)(np.array([EMITTER]), li[None], np.array([hd]))[0]
                           for li, hd in zip(listeners, np.degrees(turns), strict=True)])
    assert np.allclose(sofa.Data_IR, one_by_one, rtol=0, atol=1e-5 * np.abs(one_by_one).max())
    assert not np.allclose(sofa.Data_IR[0], sofa.Data_IR[1])  # headings differ


def test_the_library_call_matches_the_cli_and_checks_before_work(field_files, tmp_path) -> None:
    scene, _, checkpoint = field_files
    irs = ir_source(scene, "naf", checkpoint)
    spots = IrSpots(np.array(EMITTER), np.array([LISTENER]), np.array([37.0]))
    path = export_irs(tmp_path / "lib.wav", irs, spots, scene, 22_050)
    data, _ = sf.read(path, dtype="float32", always_2d=True)
    assert np.array_equal(data.T, played_irs(irs.field)(*spots.rows())[0])
    calls = []

    def counting(*rows):
        calls.append(rows)
        return irs(*rows)

    two = IrSpots(np.array(EMITTER), np.array([LISTENER]), np.array([0.0, 90.0]))
    with pytest.raises(Exception, match="WAV file holds one IR"):
        export_irs(tmp_path / "two.wav", counting, two, scene, 22_050)
    with pytest.raises(Exception, match="use a .wav or .sofa"):
        export_irs(tmp_path / "x.flac", counting, spots, scene, 22_050)
    with pytest.raises(Exception, match="22050, 44100, 48000, 96000"):
        export_irs(tmp_path / "x.wav", counting, spots, scene, 8_000)
    assert not calls and not list(tmp_path.glob("x.*")) and not (tmp_path / "two.wav").exists()


def test_simulations_follow_the_known_fields_settings(field_files, spherical_checkpoint) -> None:
    """Without a field the data defaults (KEMAR ears, the room's IR length); with one its data set's settings,
    the spherical head for a field made before measured ears; without a checkpoint, the bundled field's."""
    scene, _, checkpoint = field_files
    defaults = simulation_config(scene)
    assert defaults.hrtf == kemar_sha256() and defaults.ir_seconds == pytest.approx(room_ir_seconds(scene))
    recorded = NeuralAcousticField.load(checkpoint, device="cpu", scene=scene).checkpoint.simulation
    assert simulation_config(scene, checkpoint) == SimulationConfig.from_json(recorded)
    old = simulation_config(scene, spherical_checkpoint)
    assert old.hrtf == "" and old.ir_seconds == pytest.approx(0.25) and old.n_rays == 200
    assert ir_source(scene, "sim", spherical_checkpoint).n_samples == round(0.25 * SAMPLE_RATE)
    apartment = load_scene("apartment_1")  # its bundled field is the default one: KEMAR ears, the pilot's length
    shipped = simulation_config(apartment)
    bundled = NeuralAcousticField.load(bundled_checkpoint("apartment_1"), device="cpu", scene=apartment)
    assert shipped == SimulationConfig.from_json(bundled.checkpoint.simulation)
    # the regenerated field: KEMAR ears, an early/late split, and the simulation as long as its own IRs
    assert shipped.hrtf == kemar_sha256() and bundled.checkpoint.split.has_late
    assert round(shipped.ir_seconds * SAMPLE_RATE) == bundled.checkpoint.ir_length


def test_naf_ir_sim_is_the_simulator_with_the_fields_settings(field_files, spherical_checkpoint, tmp_path,
                                                              monkeypatch, capsys) -> None:
    import naf_model.simulate as simulate

    scene, scene_file, _ = field_files
    seen = []
    real = simulate.simulate_binaural_rirs

    def recording(scene_, emitter, listeners, config):
        seen.append(config)
        return real(scene_, emitter, listeners, config)

    monkeypatch.setattr(simulate, "simulate_binaural_rirs", recording)
    out = tmp_path / "sim.wav"
    assert main(_ir_argv(scene_file, out, "--listener", *map(str, LISTENER), "--heading", "30", "--source", "sim",
                         "--checkpoint", str(spherical_checkpoint))) == 0
    assert "from the simulation" in capsys.readouterr().out
    config = simulation_config(scene, spherical_checkpoint)
    assert seen == [config] and config.hrtf == ""
    data, _ = sf.read(out, dtype="float32", always_2d=True)
    four = real(scene, np.array(EMITTER), np.array([LISTENER]), config)
    assert np.array_equal(data.T, blend_orientations(np.asarray(four), np.array([30.0]))[0].astype(np.float32))


def test_naf_render_sim_follows_the_checkpoints_ears(field_files, spherical_checkpoint, tmp_path, monkeypatch,
                                                     capsys) -> None:
    """The defect mended: `naf render --source sim` simulated with the default (KEMAR) ears whatever the field."""
    import naf_model.simulate as simulate

    scene, scene_file, _ = field_files
    seen = []
    real = simulate.simulate_binaural_rirs
    monkeypatch.setattr(simulate, "simulate_binaural_rirs",
                        lambda s, e, li, config: seen.append(config) or real(s, e, li, config))
    assert main(["render", "--scene", str(scene_file), "--emitter", *map(str, EMITTER), "--listener",
                 *map(str, LISTENER), "--seconds", "0.5", "-o", str(tmp_path / "r.wav"), "--source", "sim",
                 "--checkpoint", str(spherical_checkpoint)]) == 0
    capsys.readouterr()
    assert seen and all(c.hrtf == "" and c.ir_seconds == pytest.approx(0.25) for c in seen)
