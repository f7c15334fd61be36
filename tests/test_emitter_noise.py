"""Sources heard together play their own noise: a field's played IR takes a noise realisation (early diffuse
part and late band noise), 0 being what one IR alone and every table play; the app's emitters each get their
own, so four emitters playing one clip in step add their tails in power, as separate sources in a room do."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from naf_app.worker import FieldWorker, IrRequest
from naf_model.audio.player import MAIN
from naf_model.checkpoint import Checkpoint
from naf_model.conventions import SAMPLE_RATE
from naf_model.field import NeuralAcousticField
from naf_model.networks import build_network, preset
from naf_model.networks.normalisation import SpectrogramStats
from naf_model.networks.presets import FieldShape
from naf_model.split import ir_split

BOUNDS = (0.0, 0.0, 4.0, 3.0)
SPOT = (np.array([[1.0, 1.0]]), np.array([[3.0, 2.0]]), np.array([30.0]))


def _field(fused: bool) -> NeuralAcousticField:
    """An untrained field with an early and a late part (0.8 s IRs): its noise is what is tested."""
    split = ir_split(int(0.8 * SAMPLE_RATE), 0.02)
    shape = FieldShape(BOUNDS, split.early_frames, 256, (), split.late_frames)
    torch.manual_seed(0)
    config = preset("fast")
    model = build_network(config, shape)
    stats = SpectrogramStats(np.full((256, split.early_frames), -3.0, np.float32),
                             np.ones((256, split.early_frames), np.float32))  # fmt: skip
    late_stats = SpectrogramStats(np.full((7, split.late_frames), -12.0, np.float32),
                                  np.ones((7, split.late_frames), np.float32))  # fmt: skip
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    checkpoint = Checkpoint(config, shape, "two_room", "hash", split.ir_length, stats, weights, split=split,
                            late_stats=late_stats)  # fmt: skip
    return NeuralAcousticField(checkpoint, device="cpu", fused=fused)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


@pytest.mark.parametrize("fused", [True, False])
def test_realisation_0_is_the_default_and_others_are_independent_noises_of_one_level(fused):
    field = _field(fused)
    split = field.split
    e, l_, h = (np.repeat(x, 4, axis=0) for x in SPOT)
    plain = field.impulse_responses(e, l_, h)
    assert np.array_equal(field.impulse_responses(e, l_, h, noise=0), plain)
    own = field.impulse_responses(e, l_, h, noise=np.arange(4)).astype(np.float64)
    early = slice(split.late_start // 2, split.late_start)  # diffuse: the direct pulse is no noise
    late = slice(split.late_start + split.fade, split.ir_length)
    for part in (early, late):
        assert _corr(plain[0, :, part], plain[1, :, part]) > 0.999  # one noise: the same waveform
        for k in (1, 2, 3):
            assert abs(_corr(own[0, :, part], own[k, :, part])) < 0.1, (part, k)
            level = 10 * np.log10(np.square(own[k, :, part]).sum() / np.square(own[0, :, part]).sum())
            assert abs(level) < 0.5, (part, k, level)
    summed = np.square(own[:, :, late].sum(0)).sum() / np.square(own[:, :, late]).sum()
    assert abs(10 * np.log10(summed)) < 1.0  # in power; one shared noise gives +6 dB
    alone = np.stack([field.impulse_responses(e[:1], l_[:1], h[:1], noise=k)[0] for k in range(4)])
    assert np.allclose(alone, own, atol=1e-5 * np.abs(own).max())  # a row is its own, whatever the batch
    with pytest.raises(ValueError, match="ints >= 0"):
        field.impulse_responses(e, l_, h, noise=-1)


def test_the_apps_emitters_each_play_their_own_realisation(qtbot, tiny_field):
    scene, _, checkpoint = tiny_field
    worker = FieldWorker(scene, device="cpu")
    worker._load(checkpoint, None)
    asked: list[np.ndarray] = []
    real = worker._field.impulse_responses
    worker._field.impulse_responses = lambda *a, **k: asked.append(np.asarray(k["noise"])) or real(*a, **k)
    answers: list = []
    worker.answered.connect(answers.append)
    emitters = {MAIN: (0.6, 0.6), "b": (1.4, 2.2), "c": (3.3, 0.8), "d": (1.0, 1.0)}
    worker._answer(IrRequest(1, dict(emitters), (3.0, 2.2), 0.0, MAIN))
    assert {k: worker.noise_of(k) for k in emitters} == {MAIN: 0, "b": 1, "c": 2, "d": 3}
    assert [list(a) for a in asked] == [[0], [1, 2, 3]]
    irs = np.stack([answers[-1].irs[k] for k in emitters]).astype(np.float64)
    tail = slice(irs.shape[-1] // 2, None)
    summed = np.square(irs[..., tail].sum(0)).sum() / np.square(irs[..., tail]).sum()
    assert abs(10 * np.log10(summed)) < 1.5, 10 * np.log10(summed)
    del emitters["c"]  # removed: its realisation is free for the next emitter, its IR forgotten
    worker._answer(IrRequest(2, dict(emitters, e=(1.4, 0.6)), (3.0, 2.2), 0.0, MAIN))
    assert worker.noise_of("e") == 2 and "c" not in worker._answered
    worker._answer(IrRequest(3, dict(emitters, e=(1.4, 0.6), c=(3.3, 0.8)), (3.0, 2.2), 0.0, MAIN))
    assert worker.noise_of("c") == 4 and list(asked[-1]) == [4]  # back: computed again with its new one
