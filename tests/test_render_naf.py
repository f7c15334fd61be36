"""`naf render --source naf`: music through the trained field's IRs, with the scene check of the checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from model_helpers import tiny_config, tiny_dataset

from naf_model.cli import main
from naf_model.field import NeuralAcousticField
from naf_model.rendering.ir_source import ir_source
from naf_model.scene.examples import shoebox_scene, two_room_scene
from naf_model.training.train import RunOptions, train_field

SCENE = two_room_scene()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.set_num_threads(1)
    data = tiny_dataset(tmp_path_factory)
    out = tmp_path_factory.mktemp("naf_source")
    train_field(tiny_config("amortised", steps=40, eval_every=40), RunOptions(data, out, progress=False), SCENE)
    return out / "checkpoint.pt"


def test_field_source_gives_the_fields_listening_irs(checkpoint) -> None:
    irs = ir_source(SCENE, "naf", checkpoint)
    em = np.array([[0.6, 1.0], [0.6, 1.0]])
    li = np.array([[1.5, 2.2], [3.4, 0.5]])
    hd = np.array([30.0, 200.0])
    got = irs(em, li, hd)
    field = NeuralAcousticField.load(checkpoint, device="cpu", scene=SCENE)
    assert got.shape == (2, 2, field.ir_length) and got.dtype == np.float32
    np.testing.assert_allclose(got, field.impulse_responses(em, li, hd), rtol=1e-5, atol=1e-7)


def test_naf_render_cli(checkpoint, tmp_path, capsys) -> None:
    folder = tmp_path / "scene"
    folder.mkdir()
    (folder / "scene.json").write_text(json.dumps(SCENE.to_dict()))
    out = tmp_path / "naf.wav"
    assert main(["render", "--scene", str(folder / "scene.json"), "--emitter", "0.6", "1.0", "--listener", "1.5",
                 "2.2", "--seconds", "1", "-o", str(out), "--source", "naf", "--checkpoint", str(checkpoint)]) == 0
    audio, rate = sf.read(out)
    assert np.all(np.isfinite(audio)) and 0 < np.max(np.abs(audio)) < 1.0
    capsys.readouterr()

    other = tmp_path / "other"
    other.mkdir()
    (other / "scene.json").write_text(json.dumps(shoebox_scene(4.0, 3.0, 2.5, "plaster").to_dict()))
    assert main(["render", "--scene", str(other / "scene.json"), "--emitter", "1", "1", "--listener", "2", "2",
                 "-o", str(tmp_path / "x.wav"), "--source", "naf", "--checkpoint", str(checkpoint)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("naf: error:") and "\n" not in err
