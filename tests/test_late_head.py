"""The late part's network: shapes, its place in checkpoints and ensembles, and a field that plays it."""

from __future__ import annotations

import numpy as np
import torch

from naf_model.checkpoint import Checkpoint, combine_checkpoints, load_checkpoint, save_checkpoint
from naf_model.conventions import LATE_LOG_EPS, SAMPLE_RATE
from naf_model.field import NeuralAcousticField
from naf_model.networks import build_network, preset
from naf_model.networks.late import LateHead, cosine_basis
from naf_model.networks.normalisation import SpectrogramStats
from naf_model.networks.presets import FieldShape
from naf_model.split import ir_split

BOUNDS = (0.0, 0.0, 4.0, 3.0)


def _checkpoint(seed: int = 0, late: bool = True) -> Checkpoint:
    split = ir_split(int(0.5 * SAMPLE_RATE), 0.02)
    early = split.early_frames if late else 1 + split.ir_length // 128
    shape = FieldShape(BOUNDS, early, 256, (), split.late_frames if late else 0)
    torch.manual_seed(seed)
    config = preset("fast")
    model = build_network(config, shape)
    stats = SpectrogramStats(np.full((256, early), -3.0, np.float32), np.ones((256, early), np.float32))
    late_stats = SpectrogramStats(np.full((7, split.late_frames), -20.0, np.float32),
                                  np.ones((7, split.late_frames), np.float32)) if late else None
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    return Checkpoint(config, shape, "two_room", "hash", split.ir_length, stats, weights,
                      split=split if late else None, late_stats=late_stats)


def test_cosine_basis_is_orthonormal():
    b = cosine_basis(8, 50)
    assert torch.allclose(b @ b.T, torch.eye(8), atol=1e-5)


def test_late_head_shapes_and_gradients():
    head = LateHead(BOUNDS, n_frames=40)
    e, l_ = torch.rand(5, 2) * 3, torch.rand(5, 2) * 3
    y = head(e, l_, torch.tensor([0, 1, 2, 3, 0]))
    assert y.shape == (5, 2, 7, 40)
    y.square().mean().backward()
    assert all(p.grad is not None for p in head.parameters() if p.requires_grad)


def test_networks_get_a_late_head_only_with_late_frames():
    assert _checkpoint(late=False).build_model().late_head() is None
    model = _checkpoint().build_model()
    assert isinstance(model.late_head(), LateHead)
    assert any(k.startswith("late.") for k in model.state_dict())


def test_checkpoint_round_trip_keeps_split_and_late_stats(tmp_path):
    ckpt = _checkpoint()
    path = save_checkpoint(ckpt, tmp_path / "f.pt")
    back = load_checkpoint(path)
    assert back.split == ckpt.split and back.shape == ckpt.shape
    assert back.late_stats.same_as(ckpt.late_stats)
    old = load_checkpoint(save_checkpoint(_checkpoint(late=False), tmp_path / "old.pt"))
    assert old.split is None and old.ir_split.late_start == old.ir_length and not old.ir_split.has_late


def test_ensemble_late_part_is_the_members_mean(tmp_path):
    paths = [save_checkpoint(_checkpoint(seed=s), tmp_path / f"m{s}.pt") for s in (1, 2)]
    joined = combine_checkpoints(paths)
    fields = [NeuralAcousticField(load_checkpoint(p), device="cpu") for p in paths]
    ensemble = NeuralAcousticField(joined, device="cpu")
    e, l_, h = np.array([[1.0, 1.0]]), np.array([[3.0, 2.0]]), np.array([30.0])
    members = [f.late_log_powers(e, l_, h) for f in fields]
    assert np.allclose(ensemble.late_log_powers(e, l_, h), (members[0] + members[1]) / 2, atol=1e-5)


def test_a_field_with_a_late_part_plays_the_whole_length():
    field = NeuralAcousticField(_checkpoint(), device="cpu")
    split = field.split
    ir = field.impulse_response((1.0, 1.0), (3.0, 2.0), 45.0)
    assert ir.shape == (2, split.ir_length) and np.isfinite(ir).all()
    late = field.late_log_powers(np.array([[1.0, 1.0]]), np.array([[3.0, 2.0]]), np.array([45.0]))
    assert late.shape == (1, 2, 7, split.late_frames)
    # the late samples carry the described energy (within the synthesis' few dB of chance), and the end is faded
    power = np.maximum(np.exp(late[0].astype(np.float64)) - LATE_LOG_EPS, 0).sum(1).mean()  # (2,)->mean per sample
    played = np.mean(np.square(ir[:, split.late_start + split.fade : -int(0.05 * SAMPLE_RATE)]))
    assert abs(10 * np.log10(played / power)) < 3.0
    assert np.all(ir[:, -1] == 0)


def test_the_late_log_correction_is_what_noise_descriptions_measure():
    """E[ln P] of a 10 ms band frame of Gaussian noise lies LATE_LOG_CORRECTION below ln E[P] (re-measured)."""
    from naf_model.audio.late import late_envelopes
    from naf_model.audio.whole import LATE_LOG_CORRECTION

    rng = np.random.default_rng(5)
    power = np.stack([late_envelopes(rng.standard_normal((2, 4 * SAMPLE_RATE)), SAMPLE_RATE, 0.1, 0.01).power
                      for _ in range(12)])  # (12, 2, 7, T): independent frames of unit-variance noise
    measured = np.log(power.mean(axis=(0, 1, 3))) - np.log(power).mean(axis=(0, 1, 3))
    assert np.allclose(measured, LATE_LOG_CORRECTION, atol=0.03)
