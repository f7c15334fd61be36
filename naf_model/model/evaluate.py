"""Held-out spectral error during training, and data-driven initialisation (the amortised PCA basis)."""

from __future__ import annotations

import torch
from torch import nn

from naf_model.model.amortised import AmortisedNAF, align_shift, shift_frames
from naf_model.model.batches import HeldOut
from naf_model.model.normalisation import MIN_STD, SpectrogramStats
from naf_model.model.trainset import TrainingSet

PCA_SAMPLES = 2048
"""Training spectrograms (one ear, one orientation each) the initial PCA basis is computed from."""


@torch.no_grad()
def predict_pixels(
    model: nn.Module, held: HeldOut, stats: SpectrogramStats, device: torch.device, chunk: int = 16
) -> torch.Tensor:
    """De-normalised predictions at the held-out pixels, (B, 2, P) log-magnitudes, both ears."""
    model.eval()
    out = []
    for s in range(0, held.emitter.shape[0], chunk):
        e, l_ = held.emitter[s : s + chunk].to(device), held.listener[s : s + chunk].to(device)
        o = held.orientation[s : s + chunk].to(device)
        f, t = held.freq[s : s + chunk].to(device), held.frame[s : s + chunk].to(device)
        if isinstance(model, AmortisedNAF):
            full = model(e, l_, o).float()  # (b, 2, F, T)
            rows = torch.arange(full.shape[0], device=device)[:, None]
            y = torch.stack([full[rows, ear, f, t] for ear in (0, 1)], 1)
        else:
            y = torch.stack(
                [model(e, l_, o, torch.full_like(o, ear), f.float(), t.float()).float() for ear in (0, 1)], 1
            )
        mean, scale = stats.scale_at(f, t, y)
        out.append((y * scale[:, None] + mean[:, None]).cpu())
    return torch.cat(out)


def held_out_error(model: nn.Module, held: HeldOut, stats: SpectrogramStats, device: torch.device) -> float:
    """Mean |pred - gt| of de-normalised log-magnitudes at the fixed held-out pixels (paper metric)."""
    pred = predict_pixels(model, held, stats, device)
    rows = torch.arange(held.spec.shape[0])[:, None]
    gt = torch.stack([held.spec[rows, ear, held.freq, held.frame] for ear in (0, 1)], 1)
    return float((pred - gt).abs().mean())


@torch.no_grad()
def init_from_data(model: nn.Module, data: TrainingSet, seed: int) -> float | None:
    """Initialise what depends on the data: the amortised basis from a PCA of normalised training
    spectrograms. Returns the explained variance share, or None for models with nothing to initialise."""
    if not isinstance(model, AmortisedNAF):
        return None
    g = torch.Generator().manual_seed(seed)
    n = len(data.train)
    idx = torch.randint(n, (PCA_SAMPLES,), generator=g) if n * 8 > PCA_SAMPLES else torch.arange(n)
    spec = data.train.spec[idx].float()  # (S, 4, 2, F, T) or a sample of it
    shift = align_shift(data.train.emitters[idx], data.train.listeners[idx])
    if n * 8 > PCA_SAMPLES:
        o = torch.randint(4, (len(idx),), generator=g)
        ear = torch.randint(2, (len(idx),), generator=g)
        spec = spec[torch.arange(len(idx)), o, ear]
    else:
        shift = shift.repeat_interleave(8)
        spec = spec.flatten(0, 2)
    if not model.aligned:
        return model.init_basis(data.stats.normalise(spec))
    aligned = shift_frames(spec, -shift)  # (S, F, T) log-magnitudes, direct sound at ALIGN_MARGIN_FRAMES
    mean, scale = data.stats.mean_and_scale()
    a_mean = aligned.mean(0)
    a_scale = 3.0 * aligned.std(0).clamp_min(MIN_STD)
    model.set_alignment_stats(a_mean, a_scale, mean, scale)
    return model.init_basis((aligned - a_mean) / a_scale)
