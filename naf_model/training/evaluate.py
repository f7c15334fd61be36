"""Held-out spectral error during training, and the data a network initialises from (the amortised PCA basis)."""

from __future__ import annotations

import math

import torch

from naf_model.networks.base import AcousticNetwork
from naf_model.networks.normalisation import SpectrogramStats
from naf_model.training.batches import HeldOut
from naf_model.training.streamed import rows_per_read
from naf_model.training.trainset import TrainingSet

PCA_SAMPLES = 2048
"""Training spectrograms (one ear, one orientation each) a network initialises from."""


@torch.no_grad()
def predict_pixels(
    model: AcousticNetwork, held: HeldOut, stats: SpectrogramStats, device: torch.device, chunk: int = 16
) -> torch.Tensor:
    """De-normalised predictions at the held-out pixels, (B, 2, P) log-magnitudes, both ears."""
    model.eval()
    out = []
    for s in range(0, held.emitter.shape[0], chunk):
        e, l_ = held.emitter[s : s + chunk].to(device), held.listener[s : s + chunk].to(device)
        o = held.orientation[s : s + chunk].to(device)
        f, t = held.freq[s : s + chunk].to(device), held.frame[s : s + chunk].to(device)
        y = model.values_at(e, l_, o, f, t).float()
        mean, scale = stats.scale_at(f, t, y)
        out.append((y * scale[:, None] + mean[:, None]).cpu())
    return torch.cat(out)


def held_out_error(
    model: AcousticNetwork, held: HeldOut, stats: SpectrogramStats, device: torch.device
) -> float:
    """Mean |pred - gt| of de-normalised log-magnitudes at the fixed held-out pixels (paper metric)."""
    pred = predict_pixels(model, held, stats, device)
    rows = torch.arange(held.spec.shape[0])[:, None]
    gt = torch.stack([held.spec[rows, ear, held.freq, held.frame] for ear in (0, 1)], 1)
    return float((pred - gt).abs().mean())


@torch.no_grad()
def held_out_late_error(
    model: AcousticNetwork, held: HeldOut, late_stats: SpectrogramStats | None, device: torch.device
) -> float:
    """Mean |pred - gt| in dB of the held-out items' late band powers (per ear, band and frame)."""
    head = model.late_head()
    if head is None or held.late is None or late_stats is None:
        return float("nan")
    model.eval()
    pred = late_stats.denormalise(head(held.emitter.to(device), held.listener.to(device),
                                       held.orientation.to(device)).float()).cpu()
    return float((pred - held.late).abs().mean() * (10.0 / math.log(10.0)))


def data_sample(data: TrainingSet, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A seeded sample of training spectrograms: (S, F, T) log-magnitudes with their emitters and listeners
    (S, 2): PCA_SAMPLES random (pair, orientation, ear) items, or every one of a small data set; read a few
    rows at a time (`rows_per_read`), so a streamed split stays within its budget."""
    g = torch.Generator().manual_seed(seed)
    n = len(data.train)
    step = rows_per_read(data.train.spec)
    if n * 8 > PCA_SAMPLES:
        idx = torch.randint(n, (PCA_SAMPLES,), generator=g)
        o = torch.randint(4, (len(idx),), generator=g)
        ear = torch.randint(2, (len(idx),), generator=g)
        spec = torch.cat([data.train.spec[idx[s : s + step], o[s : s + step], ear[s : s + step]].float()
                          for s in range(0, len(idx), step)])
        return spec, data.train.emitters[idx], data.train.listeners[idx]
    spec = torch.cat([data.train.spec[s : s + step].float().flatten(0, 2) for s in range(0, n, step)])
    return spec, data.train.emitters.repeat_interleave(8, 0), data.train.listeners.repeat_interleave(8, 0)


def init_from_data(model: AcousticNetwork, data: TrainingSet, seed: int) -> float | None:
    """Let the network initialise from the training data (drawn only if it asks); see its `init_from_data`."""
    return model.init_from_data(lambda: data_sample(data, seed), data.stats)
