"""NAF networks: embedding and grid shapes, the grid's Gaussian interpolation, conditioning, overfitting,
the PCA basis, and checkpoint round trips and errors."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from naf_model.checkpoint import Checkpoint, export_checkpoint, load_checkpoint, save_checkpoint
from naf_model.errors import CheckpointError, DataError
from naf_model.networks import FieldShape, build_network, preset
from naf_model.networks.amortised import ALIGN_MARGIN_FRAMES, FRAMES_PER_METRE, align_shift, shift_frames
from naf_model.networks.embedding import SinusoidalEmbedding
from naf_model.networks.grid import LocalFeatureGrid
from naf_model.networks.normalisation import SpectrogramStats
from naf_model.networks.presets import PRESETS, GridConfig, NetworkConfig

SHAPE = FieldShape((0.0, 0.0, 4.0, 3.0), n_frames=12)


def small(kind: str) -> object:
    """A tiny per-pixel, amortised or delay-aligned amortised ("aligned") config (same code paths as the
    presets, seconds to train)."""
    base = preset("cpu" if kind == "pixel" else "fast")
    net = dataclasses.replace(base.network, depth=4, width=64, n_basis=8, align_delay=kind == "aligned")
    return dataclasses.replace(base, network=net, grid=GridConfig(spacing=0.5, dim=8))


def test_embedding_shape_and_values():
    emb = SinusoidalEmbedding(2, n_freqs=10, max_log2=7.0)
    x = torch.rand(5, 3, 2) * 2 - 1
    y = emb(x)
    assert y.shape == (5, 3, 2 * 21) == (5, 3, emb.out_dim)
    assert torch.equal(y[..., :2], x)
    top = math.pi * 2**7  # highest frequency, channel 0: sin at index 2 + 9, cos at 2 + 20 + 9
    assert torch.allclose(y[..., 2 + 9], torch.sin(x[..., 0] * top), atol=1e-4)
    assert torch.allclose(y[..., 2 + 29], torch.cos(x[..., 0] * top), atol=1e-4)


def test_grid_shapes_offsets_and_bandwidth_limits():
    grid = LocalFeatureGrid((0.0, 0.0, 4.0, 3.0), spacing=0.25, dim=64)
    assert grid.features.shape == (grid.n_x * grid.n_y, 64)
    assert grid.n_x == 4 / 0.25 + 3 and grid.n_y == 3 / 0.25 + 3  # one cell of margin each side
    assert grid(torch.rand(7, 2) * torch.tensor([4.0, 3.0])).shape == (7, 64)
    with torch.no_grad():
        grid.raw_offsets.fill_(50.0)
        grid.raw_bandwidth.fill_(3.0)
    assert torch.all(grid.point_positions() - grid.points <= 0.1 + 1e-6)
    assert torch.all(grid.bandwidth() == 0.5)


def test_grid_gaussian_interpolation_fits_a_smooth_function():
    torch.manual_seed(0)
    grid = LocalFeatureGrid((0.0, 0.0, 4.0, 3.0), spacing=0.25, dim=1, init_std=0.0)

    def target(xy: torch.Tensor) -> torch.Tensor:
        return torch.sin(xy[:, 0]) * torch.cos(xy[:, 1])

    optimizer = torch.optim.Adam(grid.parameters(), lr=0.05)
    for _ in range(300):
        xy = torch.rand(256, 2) * torch.tensor([4.0, 3.0])
        loss = torch.mean((grid(xy)[:, 0] - target(xy)) ** 2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    test = torch.rand(1000, 2, generator=torch.Generator().manual_seed(1)) * torch.tensor([4.0, 3.0])
    rms = torch.sqrt(torch.mean((grid(test)[:, 0] - target(test)) ** 2)).item()
    assert rms < 0.03, rms  # the function's own RMS is ~0.5


@pytest.mark.parametrize("kind", ["pixel", "amortised"])
def test_network_shapes_and_conditioning(kind):
    torch.manual_seed(0)
    model = build_network(small(kind), SHAPE)
    e, l_ = torch.tensor([[1.0, 1.0], [3.0, 2.0]]), torch.tensor([[2.0, 2.5], [0.5, 0.5]])
    o = torch.tensor([0, 3])
    full = model.predict(e, l_, o)
    assert full.shape == (2, 2, 256, 12)
    assert not torch.allclose(full[:, 0], full[:, 1])  # ear latents separate the ears
    assert not torch.allclose(model.predict(e, l_, torch.tensor([1, 2])), full)  # orientation latents
    if kind == "pixel":
        f, t = torch.randint(256, (2, 30)).float(), torch.randint(12, (2, 30)).float()
        values = model(e, l_, o, torch.tensor([0, 1]), f, t)
        assert values.shape == (2, 30)
        rows = torch.arange(2)[:, None]
        picked = full[rows, torch.tensor([[0], [1]]), f.long(), t.long()]
        assert torch.allclose(values, picked, atol=1e-5)  # pixel path == whole-spectrogram path



@pytest.mark.parametrize("kind", ["pixel", "amortised", "aligned"])
def test_every_network_decodes_blends_and_reads_pixels_by_one_interface(kind):
    """The AcousticNetwork paths agree with the network's own whole-spectrogram forward: the decoder
    de-normalises it (and blends two orientations linearly), values_at reads it at pixels."""
    torch.manual_seed(0)
    model = build_network(small(kind), SHAPE).eval()
    rng = np.random.default_rng(0)
    mean, std = rng.normal(size=(256, 12)), rng.uniform(0.2, 1.0, (256, 12))
    stats = SpectrogramStats(mean.astype(np.float32), std.astype(np.float32))
    if kind == "aligned":  # the decoder works in the aligned frame, the forward ends in the data's normalisation
        model.set_alignment_stats(torch.rand(256, 12), torch.rand(256, 12) + 0.5, *stats.mean_and_scale())
    e, l_ = torch.tensor([[1.0, 1.0], [3.0, 2.0]]), torch.tensor([[2.0, 2.5], [0.5, 0.5]])
    lower, upper = torch.tensor([0, 3]), torch.tensor([1, 0])
    with torch.no_grad():
        pair = tuple(a + b for a, b in zip(model.endpoint(e, 0), model.endpoint(l_, 1), strict=True))
        decode = model.spectrogram_decoder(stats)
        at_lower = stats.denormalise(model.predict(e, l_, lower))
        at_upper = stats.denormalise(model.predict(e, l_, upper))
        assert torch.allclose(decode(pair, e, l_, lower, upper, torch.zeros(2)), at_lower, atol=1e-4)
        blended = decode(pair, e, l_, lower, upper, torch.tensor([0.25, 1.0]))
        w = torch.tensor([0.25, 1.0])[:, None, None, None]
        assert torch.allclose(blended, (1 - w) * at_lower + w * at_upper, atol=1e-4)
        f, t = torch.randint(256, (2, 30)), torch.randint(12, (2, 30))
        values = model.values_at(e, l_, lower, f, t)
        full = model.predict(e, l_, lower)
        rows = torch.arange(2)[:, None]
        assert values.shape == (2, 2, 30)
        assert torch.allclose(values, torch.stack([full[rows, ear, f, t] for ear in (0, 1)], 1), atol=1e-5)
        features = model.features(pair, lower)
    assert features.shape == (2, model.config.network.width) and torch.isfinite(features).all()

@pytest.mark.parametrize("kind", ["pixel", "amortised", "aligned"])
def test_one_batch_overfit_drives_loss_near_zero(kind):
    torch.manual_seed(0)
    model = build_network(small(kind), SHAPE)
    g = torch.Generator().manual_seed(0)
    e, l_ = torch.rand(4, 2, generator=g) * 3, torch.rand(4, 2, generator=g) * 3
    o = torch.randint(4, (4,), generator=g)
    if kind == "pixel":
        ear = torch.randint(2, (4,), generator=g)
        f, t = (
            torch.randint(256, (4, 64), generator=g).float(),
            torch.randint(12, (4, 64), generator=g).float(),
        )
        target = torch.randn(4, 64, generator=g) * 0.3

        def predict() -> torch.Tensor:
            return model(e, l_, o, ear, f, t)
    else:
        target = torch.randn(4, 2, 256, 12, generator=g) * 0.3
        model.init_basis(target.reshape(8, 256, 12))
        if kind == "aligned":  # physical targets: the same delay as the model's (stats are 1 by default)
            target = shift_frames(target + 1.0, align_shift(e, l_)) - 1.0

        def predict() -> torch.Tensor:
            return model(e, l_, o)

    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    first = None
    for _ in range(300):
        loss = torch.mean((predict() - target) ** 2)
        first = first or loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.01 * first, (first, loss.item())


def test_pca_basis_spans_low_rank_spectrograms():
    torch.manual_seed(0)
    model = build_network(small("amortised"), SHAPE)
    factors = torch.randn(8, 256 * 12)  # rank = K: every component carries variance
    data = (torch.randn(40, 8) @ factors).reshape(40, 256, 12)
    explained = model.init_basis(data)
    assert explained == pytest.approx(1.0, abs=1e-5)
    x = data.reshape(40, -1) - model.offset
    coefficients = torch.linalg.lstsq(model.basis.T, x.T).solution
    assert torch.allclose(model.basis.T @ coefficients, x.T, atol=1e-3)


def test_shift_frames_delays_by_whole_and_fractional_frames():
    x = torch.randn(3, 2, 5, 20)
    whole = shift_frames(x, torch.tensor([3.0, 0.0, -2.0]))
    assert torch.allclose(whole[0, ..., 3:], x[0, ..., :17], atol=1e-6)
    assert torch.allclose(whole[1], x[1], atol=1e-6)
    assert torch.allclose(whole[2, ..., :18], x[2, ..., 2:], atol=1e-6)
    assert torch.allclose(whole[0, ..., :3], x[0, ..., :1].expand(2, 5, 3))  # first frame held
    half = shift_frames(x, torch.tensor([0.5, 1.5, 2.25]))
    assert torch.allclose(half[0, ..., 1:], 0.5 * (x[0, ..., 1:] + x[0, ..., :-1]), atol=1e-6)
    assert torch.allclose(half[2, ..., 3:], 0.25 * x[2, ..., :-3] + 0.75 * x[2, ..., 1:-2], atol=1e-6)


def test_aligned_decode_moves_with_the_direct_path_delay():
    """Same code, listener further away by k frames of travel: the same spectrogram k frames later."""
    torch.manual_seed(0)
    model = build_network(small("aligned"), SHAPE).eval()
    model.set_alignment_stats(*(torch.rand(256, 12) + 0.5 for _ in range(4)))
    code = torch.randn(1, 64).expand(3, 64)
    e = torch.tensor([[0.5, 1.0]] * 3)
    frames = torch.tensor([3.0, 6.0, 5.5])  # direct-path delays: whole frames for the first two
    l_ = e + torch.stack([frames / FRAMES_PER_METRE, torch.zeros(3)], 1)
    with torch.no_grad():
        y = model.decode(code, align_shift(e, l_)) * model.norm_scale + model.norm_mean  # log-magnitudes
        with pytest.raises(ValueError, match="shift"):
            model.decode(code)
    first = int(3.0 - ALIGN_MARGIN_FRAMES) + 3  # frames before it are held edge values
    assert torch.allclose(y[1, ..., first:], y[0, ..., first - 3 : -3], atol=1e-5)
    assert torch.allclose(y[2, ..., first:], 0.5 * (y[0, ..., first - 3 : -3] + y[0, ..., first - 2 : -2]), atol=1e-5)
    assert not torch.allclose(y[0], y[1])


def _checkpoint(model: torch.nn.Module, config) -> Checkpoint:
    stats = SpectrogramStats(np.zeros((256, 12), np.float32), np.ones((256, 12), np.float32))
    return Checkpoint(
        config, SHAPE, "two_room", "hash-a", 1500, stats, model.state_dict(), training={"step": 3}
    )


@pytest.mark.parametrize("kind", ["amortised", "aligned"])
def test_save_load_round_trip_gives_identical_outputs(tmp_path, kind):
    torch.manual_seed(0)
    config = small(kind)
    model = build_network(config, SHAPE).eval()
    if kind == "aligned":  # the alignment statistics are buffers and must travel with the weights
        model.set_alignment_stats(*(torch.rand(256, 12) + 0.5 for _ in range(4)))
    path = tmp_path / "c.pt"
    save_checkpoint(_checkpoint(model, config), path)
    loaded = load_checkpoint(path, scene_hash="hash-a")
    assert loaded.config == config and loaded.shape == SHAPE and loaded.training == {"step": 3}
    again = loaded.build_model()
    e, l_, o = torch.tensor([[1.0, 1.0]]), torch.tensor([[2.5, 2.0]]), torch.tensor([2])
    with torch.no_grad():
        assert torch.equal(model(e, l_, o), again(e, l_, o))
    export_checkpoint(path, tmp_path / "shipped.pt")
    shipped = load_checkpoint(tmp_path / "shipped.pt")
    assert shipped.training is None
    assert all(torch.equal(shipped.weights[k], v) for k, v in model.state_dict().items())


def test_checkpoint_errors_are_one_line(tmp_path):
    config = small("pixel")
    path = save_checkpoint(_checkpoint(build_network(config, SHAPE), config), tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match="other geometry"):
        load_checkpoint(path, scene_hash="hash-b")
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(cut)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    ckpt = load_checkpoint(path)
    with pytest.raises(DataError, match="frames"):
        ckpt.check_stft({"n_frames": 13}, "other.h5")
    with pytest.raises(DataError, match="hop"):
        ckpt.check_stft({"hop": 256}, "other.h5")


def test_presets_are_frozen_and_named():
    assert {"paper", "medium", "cpu", "fast"} <= set(PRESETS)
    paper = PRESETS["paper"]
    assert (paper.network.depth, paper.network.width, paper.grid.spacing, paper.grid.dim) == (
        8,
        512,
        0.25,
        64,
    )
    assert PRESETS["fast"].network.kind == "amortised"
    with pytest.raises(dataclasses.FrozenInstanceError):
        paper.network.depth = 2  # type: ignore[misc]
    assert isinstance(paper.network, NetworkConfig)
