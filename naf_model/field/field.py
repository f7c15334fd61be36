"""`NeuralAcousticField`: a trained checkpoint as a queryable acoustic field for one scene.

Positions are metres in scene coordinates, headings degrees counter-clockwise from +x. Headings between the
trained orientations (0, 90, 180, 270) blend the two neighbouring orientations' log-magnitudes linearly in
angle. Positions outside the plan's free space raise PositionError.

Caching: each endpoint's share of the network's input layer (sinusoidal embedding + grid features + its
projection) is cached per role for the last position(s) seen - while the user drags only the listener the
emitter's share is reused, and a batch with one repeated emitter (a loudness map) computes it once. A cache
entry is keyed by the exact float64 coordinates and replaced as soon as that marker moves; the weights never
change after loading. Per-pixel models also keep the (frequency, time) pixels' share, which never changes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import torch

from naf_model.conventions import ORIENTATIONS_DEG, PHASE_METHODS, WALL_CLEARANCE_M
from naf_model.errors import PositionError
from naf_model.field.listening import synthesize
from naf_model.field.phase import DEFAULT_HEAD_RADIUS_M
from naf_model.model.amortised import ALIGN_MARGIN_FRAMES, FRAMES_PER_METRE, AmortisedNAF, shift_frames
from naf_model.model.checkpoint import Checkpoint, load_checkpoint
from naf_model.model.distributed import resolve_device
from naf_model.model.network import EndpointPart, PixelNAF

CHUNK_IRS = 128
"""Spectrograms computed per network call in batch queries (bounds memory: ~27 MB per 128 at T=104)."""
FEATURE_PIXELS = 16
"""Per-pixel models: fixed (f, t) samples the middle-layer features are averaged over."""
FEATURE_ROWS = 65_536
"""Network rows per `features` step (emitters are chunked to stay under it: bounded memory)."""


def _blend(headings: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Headings (B,) deg -> lower and upper orientation indices (B,) and the upper one's weight in [0, 1)."""
    step = 360.0 / len(ORIENTATIONS_DEG)
    h = np.mod(np.asarray(headings, np.float64), 360.0) / step
    lower = np.floor(h).astype(np.int64) % len(ORIENTATIONS_DEG)
    weight = h - np.floor(h)
    return lower, (lower + 1) % len(ORIENTATIONS_DEG), weight


class NeuralAcousticField:
    """A trained field; see the module docstring and docs/internals.md for the contract."""

    def __init__(
        self, checkpoint: Checkpoint, device: str = "auto", scene: Any | None = None, path: Path | None = None
    ) -> None:
        self.checkpoint = checkpoint
        self.path = path
        self.device = resolve_device(device)
        self.model = checkpoint.build_model().to(self.device)
        self.scene = scene
        self.scene_name, self.preset = checkpoint.scene_name, checkpoint.preset
        self.n_frames, self.ir_length = checkpoint.shape.n_frames, checkpoint.ir_length
        self.metrics = dict(checkpoint.metrics)
        self.head_radius = float(checkpoint.simulation.get("head_radius", DEFAULT_HEAD_RADIUS_M))
        self.latency_ms = 0.0
        self._plan = shapely.Polygon(checkpoint.plan) if checkpoint.plan else None
        if self._plan is not None:
            shapely.prepare(self._plan)
        self._mean, self._scale = checkpoint.stats.mean_and_scale(self.device)
        self._endpoint_cache: dict[int, tuple[bytes, EndpointPart]] = {}
        self._pixels: EndpointPart | None = None
        self._scaled_basis: tuple[torch.Tensor, torch.Tensor] | None = None

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], device: str = "auto", scene: Any | None = None
    ) -> NeuralAcousticField:
        """Load a checkpoint; with `scene`, CheckpointError unless the field was trained on that scene."""
        ckpt = load_checkpoint(path, scene_hash=scene.geometry_hash() if scene is not None else None)
        return cls(ckpt, device=device, scene=scene, path=Path(path))

    # ---- positions ---------------------------------------------------------------------------------------
    def check_positions(self, xy: np.ndarray, what: str) -> np.ndarray:
        """(B, 2) metres as float64; PositionError naming the first position outside the free space."""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        if self.scene is not None:
            free = np.asarray(self.scene.is_free(xy[:, 0], xy[:, 1]), bool)
        elif self._plan is not None:
            inside = shapely.contains_xy(self._plan, xy[:, 0], xy[:, 1])
            free = inside & (
                shapely.distance(self._plan.exterior, shapely.points(xy)) >= WALL_CLEARANCE_M - 1e-9
            )
        else:
            x0, y0, x1, y1 = self.checkpoint.shape.bounds
            free = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
        if not free.all():
            x, y = xy[int(np.argmin(free))]
            raise PositionError(
                f"{what} at ({x:.2f}, {y:.2f}) m is outside the free space of scene {self.scene_name!r} "
                f"(inside a wall, within {WALL_CLEARANCE_M} m of one, or off the plan); move it into a room"
            )
        return xy

    def _endpoints(self, xy: np.ndarray, role: int) -> EndpointPart:
        """Input-layer shares of emitters (role 0) or listeners (role 1) at (B, 2), cached (see module)."""
        key = xy.tobytes()
        hit = self._endpoint_cache.get(role)
        if hit is not None and hit[0] == key:
            return hit[1]
        unique, inverse = np.unique(xy, axis=0, return_inverse=True)
        part = self.model.encoder.endpoint(
            torch.as_tensor(unique, dtype=torch.float32, device=self.device), role
        )
        if len(xy) > 1:  # back from sorted unique rows to the caller's order
            idx = torch.as_tensor(inverse.reshape(-1), device=self.device)
            part = (part[0][idx], part[1][idx])
        self._endpoint_cache[role] = (key, part)
        return part

    def clear_cache(self) -> None:
        """Forget cached endpoint shares (never needed for correctness; frees memory)."""
        self._endpoint_cache.clear()

    # ---- spectrograms ------------------------------------------------------------------------------------
    def _normalised(self, pair: EndpointPart, orientation: torch.Tensor) -> torch.Tensor:
        """Per-pixel models: pair shares (B, W) x2 and orientations (B,) -> (B, 2, F, T) normalised."""
        model: PixelNAF = self.model
        if self._pixels is None:
            self._pixels = model.pixel_part(*model.full_grid())
        ears = [
            model.decode(pair, self._pixels, orientation, torch.full_like(orientation, e)) for e in (0, 1)
        ]
        return torch.stack(ears, 1).reshape(-1, 2, model.shape.n_freq, model.shape.n_frames)

    @torch.no_grad()
    def _query(self, emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> np.ndarray:
        e = self.check_positions(emitters, "emitter")
        l_ = self.check_positions(listeners, "listener")
        h = np.broadcast_to(np.asarray(headings, np.float64).reshape(-1), (len(e),))
        if len(l_) != len(e):
            raise ValueError(f"{len(e)} emitters but {len(l_)} listeners")
        fe, se = self._endpoints(e, 0)
        fl, sl = self._endpoints(l_, 1)
        lower, upper, weight = _blend(h)
        out = np.empty((len(e), 2, self.checkpoint.shape.n_freq, self.n_frames), np.float32)
        out_t = torch.from_numpy(out)
        chunk = CHUNK_IRS if isinstance(self.model, AmortisedNAF) else 1
        for s in range(0, len(e), chunk):
            part = slice(s, s + chunk)
            pair = (fe[part] + fl[part], se[part] + sl[part])
            w = torch.as_tensor(weight[part], dtype=torch.float32, device=self.device)
            orients = (
                torch.as_tensor(lower[part], device=self.device),
                torch.as_tensor(upper[part], device=self.device),
            )
            if isinstance(self.model, AmortisedNAF):
                shift = None
                if self.model.aligned:
                    d = np.linalg.norm(e[part] - l_[part], axis=-1)
                    shift = torch.as_tensor(d * FRAMES_PER_METRE - ALIGN_MARGIN_FRAMES, device=self.device)
                y = self._decode_amortised(pair, orients, w, shift)
            else:
                y = self._normalised(pair, orients[0])
                if bool((w > 0).any()):
                    wt = w[:, None, None, None]
                    y = (1 - wt) * y + wt * self._normalised(pair, orients[1])
                y = torch.addcmul(self._mean, y, self._scale)
            out_t[part] = y.reshape(out_t[part].shape).cpu()
        return out

    def _decode_amortised(
        self,
        pair: EndpointPart,
        orients: tuple[torch.Tensor, torch.Tensor],
        w: torch.Tensor,
        shift: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """De-normalised log-magnitudes (b * 2, F * T) in one product: the decoder is linear in the basis
        coefficients, so blending orientations blends coefficients, and the de-normalisation is folded
        into a scaled copy of the basis. Delay-aligned models decode in the aligned frame, then shift
        by `shift` (b,) frames."""
        model: AmortisedNAF = self.model
        if self._scaled_basis is None:
            scale, mean = self._scale.flatten(), self._mean.flatten()
            if model.aligned:
                scale, mean = model.aligned_scale.flatten(), model.aligned_mean.flatten()
            self._scaled_basis = (model.basis * scale, model.offset * scale + mean)
        c = model.coefficients(model.code_from_parts(pair, orients[0]))
        if bool((w > 0).any()):
            c_up = model.coefficients(model.code_from_parts(pair, orients[1]))
            c = c + w[:, None, None] * (c_up - c)
        basis, offset = self._scaled_basis
        y = torch.addmm(offset, c.reshape(-1, c.shape[-1]), basis)
        if shift is None:
            return y
        frames = model.shape.n_frames
        return shift_frames(y.reshape(len(shift), -1, frames), shift).reshape(y.shape)

    def query(self, emitter_xy: Any, listener_xy: Any, heading_deg: float = 0.0) -> np.ndarray:
        """One binaural log-magnitude spectrogram, (2, 256, T) float32 ln(|X| + 1e-3)."""
        t0 = time.perf_counter()
        out = self._query(
            np.reshape(emitter_xy, (1, 2)), np.reshape(listener_xy, (1, 2)), np.array([heading_deg])
        )
        self.latency_ms = 1e3 * (time.perf_counter() - t0)
        return out[0]

    def query_batch(self, emitters: Any, listeners: Any, headings: Any) -> np.ndarray:
        """(B, 2) emitters, (B, 2) listeners, (B,) headings -> (B, 2, 256, T) float32, no loop over items."""
        t0 = time.perf_counter()
        out = self._query(np.asarray(emitters), np.asarray(listeners), np.asarray(headings))
        self.latency_ms = 1e3 * (time.perf_counter() - t0)
        return out

    # ---- waveforms ---------------------------------------------------------------------------------------
    def impulse_responses(
        self, emitters: Any, listeners: Any, headings: Any, phase: str = PHASE_METHODS[0]
    ) -> np.ndarray:
        """(B, 2, N) float32 binaural IRs at 22,050 Hz; `phase` "listening" (what is played: energy-true,
        a direct pulse only on line of sight), "geometric" (the older played IR) or "random" (the paper's
        fixed-seed inversion); see `naf_model.field.listening`."""
        if phase not in PHASE_METHODS:
            raise ValueError(f"unknown phase {phase!r}; use one of {PHASE_METHODS}")
        t0 = time.perf_counter()
        e, l_ = (
            np.asarray(emitters, np.float64).reshape(-1, 2),
            np.asarray(listeners, np.float64).reshape(-1, 2),
        )
        h = np.broadcast_to(np.asarray(headings, np.float64).reshape(-1), (len(e),))
        logmag = self._query(e, l_, h)
        free = self.scene.free_space if self.scene is not None else self._plan
        ir = synthesize(phase, logmag, e, l_, h, self.ir_length, self.head_radius, free)
        self.latency_ms = 1e3 * (time.perf_counter() - t0)
        return ir

    def impulse_response(
        self, emitter_xy: Any, listener_xy: Any, heading_deg: float = 0.0, phase: str = PHASE_METHODS[0]
    ) -> np.ndarray:
        """One binaural IR, (2, N) float32 at 22,050 Hz."""
        return self.impulse_responses(
            np.reshape(emitter_xy, (1, 2)), np.reshape(listener_xy, (1, 2)), np.array([heading_deg]), phase
        )[0]

    # ---- features ----------------------------------------------------------------------------------------
    @torch.no_grad()
    def features(self, emitters: Any, listeners: Any) -> np.ndarray:
        """(B, 2) emitters, (M, 2) probe listeners -> (B, D) float32: the network's features at each emitter
        averaged over the probe listeners and the 4 orientations. Amortised fields: the code (D = width);
        per-pixel fields: the middle-layer activation averaged also over FEATURE_PIXELS fixed (f, t) pixels
        and both ears."""
        e = self.check_positions(emitters, "emitter")
        l_ = self.check_positions(listeners, "listener")
        enc, dev = self.model.encoder, self.device
        fe, se = enc.endpoint(torch.as_tensor(e, dtype=torch.float32, device=dev), 0)
        fl, sl = enc.endpoint(torch.as_tensor(l_, dtype=torch.float32, device=dev), 1)
        m = len(l_)
        per_pair = 1 if isinstance(self.model, AmortisedNAF) else 2 * FEATURE_PIXELS
        chunk = max(1, FEATURE_ROWS // (m * per_pair))
        out = []
        for s in range(0, len(e), chunk):
            b = len(fe[s : s + chunk])
            first = (fe[s : s + chunk, None, :] + fl[None]).reshape(b * m, -1)
            skip = (se[s : s + chunk, None, :] + sl[None]).reshape(b * m, -1)
            total = torch.zeros(b, fe.shape[1], device=dev)
            for o in range(len(ORIENTATIONS_DEG)):
                orient = torch.full((b * m,), o, dtype=torch.long, device=dev)
                total += self._feature(first, skip, orient).reshape(b, m, -1).mean(1)
            out.append(total / len(ORIENTATIONS_DEG))
        return torch.cat(out).cpu().numpy().astype(np.float32)

    def _feature(self, first: torch.Tensor, skip: torch.Tensor, orientation: torch.Tensor) -> torch.Tensor:
        """(R, W) pair shares -> (R, W) features for one orientation."""
        if isinstance(self.model, AmortisedNAF):
            return self.model.code_from_parts((first, skip), orientation)
        model: PixelNAF = self.model
        g = torch.Generator().manual_seed(0)
        f = torch.randint(model.shape.n_freq, (FEATURE_PIXELS,), generator=g).float().to(self.device)
        t = torch.randint(model.shape.n_frames, (FEATURE_PIXELS,), generator=g).float().to(self.device)
        pixels = model.pixel_part(f, t)
        acc = torch.zeros_like(first)
        for ear in (0, 1):
            ears = torch.full_like(orientation, ear)
            acc += model.decode((first, skip), pixels, orientation, ears, middle_only=True).mean(1)
        return acc / 2
