"""Training loop on a tiny simulated scene: checkpoints and metrics, exact resume after a kill, SIGTERM saves,
and one-line errors for mismatched runs."""

from __future__ import annotations

import dataclasses
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from model_helpers import tiny_config, tiny_dataset

from naf_model.checkpoint import load_checkpoint
from naf_model.errors import CheckpointError, DataError, NafError
from naf_model.networks.amortised import (
    CLARITY_EARLY_FRAMES,
    clarity_db,
    energy_decay_db,
    multiscale_energy_decay_db,
    octave_bins,
    onset_frames,
)
from naf_model.networks.build import build_network
from naf_model.scene import save_scene
from naf_model.scene.examples import shoebox_scene, two_room_scene
from naf_model.training.batches import BatchSampler
from naf_model.training.train import RunOptions, _field_shape, train_field
from naf_model.training.trainset import load_training_set

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return tiny_dataset(tmp_path_factory)


def _log(run: Path) -> dict[int, dict]:
    lines = (run / "log.jsonl").read_text().splitlines() if (run / "log.jsonl").exists() else []
    return {d["step"]: d for d in map(json.loads, lines)}


def test_training_writes_checkpoints_and_learns(data, tmp_path):
    config = tiny_config("amortised", steps=90, eval_every=30)
    result = train_field(config, RunOptions(data, tmp_path, progress=False), two_room_scene())
    assert result.step == 90 and not result.interrupted
    log = _log(tmp_path)
    assert sorted(log) == [30, 60, 90]
    assert log[90]["validation_spectral_error"] < log[30]["validation_spectral_error"]
    ckpt = load_checkpoint(result.checkpoint, scene_hash=two_room_scene().geometry_hash())
    assert ckpt.training["step"] == 90 and ckpt.scene_name == "two_room" and ckpt.plan is not None
    best = load_checkpoint(result.best)
    assert best.metrics["validation_spectral_error"] == min(d["validation_spectral_error"] for d in log.values())


_CHILD = """
import sys, torch
torch.set_num_threads(1)
sys.path.insert(0, {tests!r})
from pathlib import Path
from model_helpers import tiny_config
from naf_model.networks.build import build_network
from naf_model.training.batches import BatchSampler
from naf_model.training.train import RunOptions, _field_shape, train_field
from naf_model.training.trainset import load_training_set
train_field(tiny_config("amortised", steps={steps}, eval_every=10), RunOptions(Path({data!r}), Path({out!r}),
            progress=False))
"""


def test_resume_after_kill_continues_exactly(data, tmp_path):
    steps = 300
    killed = tmp_path / "killed"
    code = _CHILD.format(tests=str(Path(__file__).parent), steps=steps, data=str(data), out=str(killed))
    child = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
    try:
        deadline = time.time() + 120
        while len(_log(killed)) < 2 and child.poll() is None and time.time() < deadline:
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    stopped_at = load_checkpoint(killed / "checkpoint.pt").training["step"]
    assert 10 <= stopped_at < steps, stopped_at
    config = tiny_config("amortised", steps=steps, eval_every=10)
    resumed = train_field(config, RunOptions(data, killed, resume=True, progress=False))
    straight = train_field(config, RunOptions(data, tmp_path / "straight", progress=False))
    assert resumed.step == straight.step == steps
    a, b = resumed.model.state_dict(), straight.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    log_a, log_b = _log(killed), _log(tmp_path / "straight")
    later = [s for s in log_b if s > stopped_at]
    assert later and all(log_a[s]["validation_spectral_error"] == log_b[s]["validation_spectral_error"] for s in later)


def test_cli_sigterm_saves_first_and_resume_finishes(data, tmp_path):
    scene_file = save_scene(two_room_scene(), tmp_path / "scene" / "scene.json")
    out = tmp_path / "run"

    def cmd(*extra: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "naf_model",
            "train",
            "--scene",
            str(scene_file),
            "--data",
            str(data),
            "--preset",
            "fast",
            "--out",
            str(out),
            "--threads",
            "1",
            "--no-progress",
            *extra,
        ]

    child = subprocess.Popen(
        cmd("--steps", "100000"), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 120
    while not out.exists() and child.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    child.send_signal(signal.SIGTERM)
    stdout, stderr = child.communicate(timeout=120)
    assert child.returncode == 130, stderr
    ckpt = load_checkpoint(out / "checkpoint.pt")
    step = ckpt.training["step"]
    assert step > 0 and f"step {step}/" in stdout
    shipped = tmp_path / "shipped.pt"
    done = subprocess.run(
        cmd("--steps", str(step + 5), "--resume", "--export", str(shipped)),
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert load_checkpoint(out / "checkpoint.pt").training["step"] == step + 5
    assert load_checkpoint(shipped).training is None


def test_mismatched_runs_fail_with_one_line_errors(data, tmp_path):
    with pytest.raises(DataError, match="other geometry"):
        train_field(tiny_config(steps=1), RunOptions(data, tmp_path, progress=False), shoebox_scene())
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train_field(tiny_config(steps=1), RunOptions(data, tmp_path / "none", resume=True, progress=False))
    train_field(tiny_config(steps=2, eval_every=2), RunOptions(data, tmp_path / "a", progress=False))
    with pytest.raises(CheckpointError, match="preset"):
        train_field(
            tiny_config("pixel", steps=4), RunOptions(data, tmp_path / "a", resume=True, progress=False)
        )
    with pytest.raises(DataError, match="no data set|does not exist"):
        train_field(tiny_config(steps=1), RunOptions(tmp_path / "missing.h5", tmp_path / "b", progress=False))


def test_energy_decay_curve_of_an_exponential_decay_has_its_slope():
    """ln|X| falling a per frame: energy falls 20 a / ln 10 dB per frame, and so does the Schroeder
    integral (up to the truncation at the end); the curve starts at 0 dB and never rises."""
    a = 0.3
    logmag = torch.randn(2, 256, 1) * 0.5 - a * torch.arange(60.0)
    edc = energy_decay_db(logmag)
    assert edc.shape == (2, 60)
    assert torch.all(edc[:, 0] == 0) and torch.all(edc.diff(dim=-1) <= 0)
    slope = edc[:, :30].diff(dim=-1)
    expected = -20 * a / math.log(10)
    assert torch.allclose(slope, torch.full_like(slope, expected), atol=1e-3)


def test_octave_energy_decay_curves_see_each_band_decay():
    """Two bands decaying at different rates: each octave curve has its own band's slope, the broadband one
    follows the slower band once the fast one has died away; bands tile the spectrum from 88 Hz to the top bin."""
    bands = octave_bins(256)
    assert bands[0][0] == 2 and bands[-1][1] == 256
    assert all(a[1] == b[0] for a, b in zip(bands[:-1], bands[1:], strict=True))
    t = torch.arange(60.0)
    logmag = torch.full((1, 256, 60), -30.0)
    lo, hi = bands[2]  # 500 Hz octave: slow decay
    logmag[0, lo:hi] = -0.1 * t
    lo4, hi4 = bands[4]  # 2 kHz octave: fast decay
    logmag[0, lo4:hi4] = -0.4 * t
    curves = multiscale_energy_decay_db(logmag)
    assert curves.shape == (1, 1 + len(bands), 60)
    per_frame = -20 / math.log(10)
    assert torch.allclose(curves[0, 3, :20].diff(), torch.full((19,), 0.1 * per_frame), atol=1e-3)
    assert torch.allclose(curves[0, 5, :20].diff(), torch.full((19,), 0.4 * per_frame), atol=1e-3)
    assert torch.allclose(curves[0, 0, 10:30].diff(), torch.full((19,), 0.1 * per_frame), atol=1e-2)


@pytest.mark.parametrize("octaves", [False, True])
def test_edc_loss_term_trains(data, tmp_path, octaves):
    config = tiny_config("amortised", steps=10, eval_every=10)
    train = dataclasses.replace(config.train, edc_weight=1.0, edc_octaves=octaves)
    result = train_field(dataclasses.replace(config, train=train), RunOptions(data, tmp_path, progress=False),
                         two_room_scene())  # fmt: skip
    assert math.isfinite(result.metrics["train_loss"]) and result.step == 10


def test_swapped_pairs_exchange_the_ends_and_target_the_head_averaged_mean(data):
    ts = load_training_set(data)
    sampler = BatchSampler(ts.train, ts.stats, seed=3, jitter_m=0.0, pad_fraction=0.0)
    gen_state = sampler.generator.get_state()
    b = sampler.swapped(5)
    assert b.target.shape == (20, 2) + ts.train.spec.shape[-2:]
    sampler.generator.set_state(gen_state)
    pair = torch.randint(len(ts.train), (5,), generator=sampler.generator)
    assert torch.equal(b.emitter[::4], ts.train.listeners[pair])
    assert torch.equal(b.listener[::4], ts.train.emitters[pair])
    assert torch.equal(b.orientation, torch.arange(4).repeat(5))
    mean = ts.stats.normalise(ts.train.spec[pair].float()).mean(dim=(1, 2))
    assert torch.allclose(b.target[4 * 2 + 3, 1], mean[2]) and torch.allclose(b.target[4 * 2, 0], mean[2])


def test_the_swap_loss_scores_only_the_head_averaged_mean_and_trains(data, tmp_path):
    config = tiny_config("amortised", steps=10, eval_every=10)
    train = dataclasses.replace(config.train, swap_pairs=3, swap_weight=1.0)
    config = dataclasses.replace(config, train=train)
    ts = load_training_set(data)
    shape = _field_shape(ts, two_room_scene())
    model = build_network(config, shape)
    f, t = shape.n_freq, shape.n_frames
    target = torch.randn(train.irs_per_step + 12, 2, f, t)
    target[-12:] = target[-12:][::4, :1].repeat_interleave(4, 0).expand(-1, 2, -1, -1)
    pred = target.clone()
    # the swapped items differ per orientation and ear, but their mean is the target's: no swap loss
    wiggle = torch.randn(3, 8, f, t)
    pred[-12:] += (wiggle - wiggle.mean(1, keepdim=True)).reshape(12, 2, f, t)
    assert model.training_loss(pred, target, ts.stats, train) < 1e-10
    pred[-12:] += 0.5
    assert model.training_loss(pred, target, ts.stats, train) == pytest.approx(0.25, rel=1e-4)
    result = train_field(config, RunOptions(data, tmp_path, progress=False), two_room_scene())
    assert math.isfinite(result.metrics["train_loss"]) and result.step == 10


def test_clarity_of_a_flat_tail_is_the_ratio_of_early_to_late_frames():
    """Equal energy in every frame from the onset on: C50 is 10 log10 of the early window's frames over the
    frames after it; the onset is the first frame within 20 dB of the loudest."""
    t = 100
    logmag = torch.full((1, 2, 256, t), -7.0)  # ~60 dB below the tail: silence before the onset
    logmag[..., 10:] = 0.0
    logmag[0, 1, :, 5] = -0.5  # right ear: an earlier frame within 20 dB of the loudest
    onset = onset_frames(logmag)
    assert onset.tolist() == [[10, 5]]
    c50 = clarity_db(logmag, onset)
    early = CLARITY_EARLY_FRAMES
    assert c50[0, 0] == pytest.approx(10 * math.log10(early / (t - 10 - early)), abs=0.05)
    # Right ear: the window opens at frame 5 (one quieter frame, silence, then the loud frames from 10 on).
    right_early, right_late = math.exp(-1.0) + 5 + early - 10, t - (5 + early)
    assert c50[0, 1] == pytest.approx(10 * math.log10(right_early / right_late), abs=0.05)


def test_the_clarity_loss_is_zero_at_the_target_and_trains(data, tmp_path):
    config = tiny_config("amortised", steps=10, eval_every=10)
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, c50_weight=5.0))
    ts = load_training_set(data)
    model = build_network(config, _field_shape(ts, two_room_scene()))
    target = ts.stats.normalise(ts.train.spec[:4].float())
    assert model.training_loss(target.clone(), target, ts.stats, config.train) < 1e-10
    tail = torch.zeros_like(target)
    tail[..., 15:] = 0.2  # louder tail only (of 26 frames): MSE and clarity terms both see it
    base = dataclasses.replace(config.train, c50_weight=0.0)
    assert model.training_loss(target + tail, target, ts.stats, config.train) > model.training_loss(
        target + tail, target, ts.stats, base
    )
    result = train_field(config, RunOptions(data, tmp_path, progress=False), two_room_scene())
    assert math.isfinite(result.metrics["train_loss"]) and result.step == 10


def test_a_run_can_start_from_a_trained_field_of_the_same_network(data, tmp_path):
    config = tiny_config("amortised", steps=4, eval_every=4)
    first = train_field(config, RunOptions(data, tmp_path / "a", progress=False), two_room_scene())
    source = load_checkpoint(first.best)
    tuned = dataclasses.replace(config, name="tuned",
                                train=dataclasses.replace(config.train, c50_weight=1.0, lr=1e-12))
    options = RunOptions(data, tmp_path / "b", steps=1, progress=False, init_from=first.best)
    second = train_field(tuned, options, two_room_scene())
    ckpt = load_checkpoint(second.checkpoint)
    assert ckpt.config.train.lr == 1e-12 and ckpt.preset == "tuned"
    for name, value in source.weights.items():  # one step at lr 1e-12: still the source's weights
        assert torch.allclose(ckpt.weights[name], value, atol=1e-6), name
    other = dataclasses.replace(config, network=dataclasses.replace(config.network, width=32))
    with pytest.raises(CheckpointError, match="another network"):
        train_field(other, dataclasses.replace(options, out_dir=tmp_path / "c"), two_room_scene())


def test_a_resumed_run_refuses_a_new_start(data, tmp_path):
    with pytest.raises(NafError, match="resumed run keeps"):
        train_field(tiny_config(steps=1), RunOptions(data, tmp_path, resume=True, progress=False,
                                                     init_from=tmp_path / "a.pt"))


def _folder(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run.iterdir())}


def test_a_new_run_never_replaces_a_run_unless_told_and_never_its_own_start(data, tmp_path):
    """A folder holding a run is refused without resume or overwrite; with overwrite the old run's files go
    first (the log holds the new run's lines only); a start (--init) that the run would replace is refused
    even with overwrite. Every refusal leaves the folder as it was."""
    run = tmp_path / "run"
    config = tiny_config("amortised", steps=4, eval_every=2)
    train_field(config, RunOptions(data, run, progress=False), two_room_scene())
    before = _folder(run)
    with pytest.raises(NafError, match="holds a run .*--resume.*--force"):
        train_field(config, RunOptions(data, run, progress=False), two_room_scene())
    for name in ("checkpoint.pt", "best.pt"):
        for overwrite in (False, True):
            options = RunOptions(data, run, progress=False, init_from=run / name, overwrite=overwrite)
            with pytest.raises(NafError, match="this run replaces"):
                train_field(config, options, two_room_scene())
            (tmp_path / "via").mkdir(exist_ok=True)
            (tmp_path / "via" / name).unlink(missing_ok=True)
            (tmp_path / "via" / name).symlink_to(run / name)  # another name for it: refused as well
            with pytest.raises(NafError, match="this run replaces"):
                train_field(config, dataclasses.replace(options, init_from=tmp_path / "via" / name), None)
    assert _folder(run) == before
    again = tiny_config("amortised", steps=2, eval_every=2)
    train_field(again, RunOptions(data, run, progress=False, overwrite=True), two_room_scene())
    assert sorted(_log(run)) == [2] and load_checkpoint(run / "checkpoint.pt").training["total_steps"] == 2


def test_a_data_set_given_twice_is_refused(data, tmp_path):
    """--extra equal to --data, the same --extra twice, or another name of the same file (a hard link)."""
    (tmp_path / "link.h5").hardlink_to(data)
    config = tiny_config(steps=1)
    for extra, needle in [((data,), "--data"), ((tmp_path / "link.h5",), "--data"),
                          ((tmp_path / "free.h5", tmp_path / "sub" / ".." / "free.h5"), "--extra")]:
        with pytest.raises(DataError, match=f"same data set as {needle}"):
            train_field(config, RunOptions(data, tmp_path / "run", progress=False, extra=extra))
    assert not (tmp_path / "run").exists()
