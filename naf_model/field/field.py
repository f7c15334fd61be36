"""`NeuralAcousticField`: a trained checkpoint as a queryable acoustic field for one scene.

Positions are metres in scene coordinates, headings degrees counter-clockwise from +x. Headings between the
trained orientations (0, 90, 180, 270) blend the two neighbouring orientations' log-magnitudes linearly in
angle. Positions outside the plan's free space raise PositionError.

Caching: each endpoint's share of the network's input layer (sinusoidal embedding + grid features + its
projection) is cached per role for the last position(s) seen - while the user drags only the listener the
emitter's share is reused, and a batch with one repeated emitter (a loudness map) computes it once. A cache
entry is keyed by the exact float64 coordinates and replaced as soon as that marker moves; the weights never
change after loading. The network decodes whole spectrograms itself (`AcousticNetwork.spectrogram_decoder`,
which keeps what depends only on the weights), so this class never asks which network it holds.

Two paths (`fused`): live answers (the app, render, walk, heatmaps; the default on CPU) go through the
network's fused decoder (`AcousticNetwork.fused_decoder`: weights frozen at load, a few large operations per
query) and the fused listening synthesis (`field.fused_listening`); `fused=False` keeps the module path
(evaluation; a field on a GPU always uses it). Both give the same spectrograms and IRs (tests/test_fused.py).
"""

from __future__ import annotations

import os
import time
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import torch

from naf_model.checkpoint import Checkpoint, check_scene, load_checkpoint
from naf_model.conventions import ORIENTATIONS_DEG, PHASE_METHODS, WALL_CLEARANCE_M
from naf_model.device import resolve_device
from naf_model.errors import PositionError
from naf_model.field.ears import ears_for
from naf_model.field.fused_listening import play_frames
from naf_model.field.listening import line_of_sight, play
from naf_model.field.played_energy import PlayedEnergy, played_energy
from naf_model.field.reflections import FirstReflection
from naf_model.networks.encoder import EndpointPart
from naf_model.orientation import neighbouring_orientations
from naf_model.paths import default_dataset_path

FEATURE_ROWS = 65_536
"""Network rows per `features` step (emitters are chunked to stay under it: bounded memory)."""


class NeuralAcousticField:
    """A trained field; see the module docstring and docs/internals.md for the contract."""

    def __init__(
        self, checkpoint: Checkpoint, device: str = "auto", scene: Any | None = None, path: Path | None = None,
        fused: bool = True,
    ) -> None:
        self.checkpoint = checkpoint
        self.path = path
        self.device = resolve_device(device)
        self.model = checkpoint.build_model().to(self.device)
        self.scene = scene
        self.scene_name, self.preset = checkpoint.scene_name, checkpoint.preset
        self.n_frames, self.ir_length = checkpoint.shape.n_frames, checkpoint.ir_length
        self.metrics = dict(checkpoint.metrics)
        self.ears = ears_for(checkpoint.simulation)  # the data set's ears play the direct sound
        self.latency_ms = 0.0
        self._plan = checkpoint.plan_polygon()
        if self._plan is not None:
            shapely.prepare(self._plan)
        self._decode = self.model.spectrogram_decoder(checkpoint.stats)
        self.split = checkpoint.ir_split
        self._decode_late = self.model.late_decoder(checkpoint.late_stats) if self.split.has_late else None
        self._endpoint_cache: dict[int, tuple[bytes, EndpointPart]] = {}
        self._fused = None
        if fused and self.device.type == "cpu":
            with torch.no_grad():
                self._fused = self.model.fused_decoder(checkpoint.stats, checkpoint.late_stats
                                                       if self.split.has_late else None)

    @property
    def fused(self) -> bool:
        """Whether answers go through the fused path (see the module docstring)."""
        return self._fused is not None

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], device: str = "auto", scene: Any | None = None,
        paper_data: str | os.PathLike[str] | None = None, fused: bool = True,
    ) -> NeuralAcousticField:
        """Load a checkpoint; with `scene`, CheckpointError unless the field was trained on that scene. A paper
        checkpoint (`naf_model.checkpoint_paper`) is read with `paper_data`, by default the data set the scene was
        read from (`Scene.data_file`), else the scene's default data set. `fused`: see the constructor."""
        if paper_data is None and scene is not None:
            paper_data = scene.data_file or default_dataset_path(scene.name)
        ckpt = load_checkpoint(path, scene_hash=scene.geometry_hash() if scene is not None else None,
                               paper_data=paper_data)
        return cls(ckpt, device=device, scene=scene, path=Path(path), fused=fused)

    @classmethod
    def from_checkpoint(
        cls, checkpoint: Checkpoint, path: str | os.PathLike[str], device: str = "auto", scene: Any | None = None,
        fused: bool = True,
    ) -> NeuralAcousticField:
        """A field of a checkpoint already read from `path` (a caller that needs its metrics too reads the
        file once); with `scene`, CheckpointError unless the field was trained on that scene."""
        if scene is not None:
            check_scene(checkpoint, scene.geometry_hash(), path)
        return cls(checkpoint, device=device, scene=scene, path=Path(path), fused=fused)

    # ---- positions ---------------------------------------------------------------------------------------
    def check_positions(self, xy: np.ndarray, what: str) -> np.ndarray:
        """(B, 2) metres as float64; PositionError naming the first position outside the free space."""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        if self.scene is not None:
            free = np.asarray(self.scene.is_free(xy[:, 0], xy[:, 1]), bool)
        elif self._plan is not None:
            inside = shapely.contains_xy(self._plan, xy[:, 0], xy[:, 1])
            free = inside & (
                shapely.distance(self._plan.boundary, shapely.points(xy)) >= WALL_CLEARANCE_M - 1e-9
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
        unique, inverse = np.unique(xy, axis=0, return_inverse=True) if len(xy) > 1 else (xy, None)
        if self._fused is not None:
            part = self._fused.endpoint(unique, role)
        else:
            part = self.model.endpoint(torch.as_tensor(unique, dtype=torch.float32, device=self.device), role)
        if inverse is not None:  # back from sorted unique rows to the caller's order
            idx = torch.as_tensor(inverse.reshape(-1), device=self.device)
            part = (part[0][idx], part[1][idx])
        self._endpoint_cache[role] = (key, part)
        return part

    def clear_cache(self) -> None:
        """Forget cached endpoint shares (never needed for correctness; frees memory)."""
        self._endpoint_cache.clear()

    # ---- spectrograms ------------------------------------------------------------------------------------
    def _query(self, emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> np.ndarray:
        """Early log-magnitudes (B, 2, F, T) float32 of positions checked here (the fused path's frame-major
        answer transposed)."""
        if self._fused is not None:
            return np.ascontiguousarray(self._fused_query(emitters, listeners, headings).transpose(-1, -2).numpy())
        return self._module_query(emitters, listeners, headings)

    def _checked(self, emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        e = self.check_positions(emitters, "emitter")
        l_ = self.check_positions(listeners, "listener")
        h = np.broadcast_to(np.asarray(headings, np.float64).reshape(-1), (len(e),))
        if len(l_) != len(e):
            raise ValueError(f"{len(e)} emitters but {len(l_)} listeners")
        return e, l_, h

    @torch.no_grad()
    def _fused_query(self, emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> torch.Tensor:
        """Frame-major early log-magnitudes (B, 2, T, F) float32 through the fused decoder."""
        e, l_, h = self._checked(emitters, listeners, headings)
        fused = self._fused
        fe, se = self._endpoints(e, 0)
        fl, sl = self._endpoints(l_, 1)
        lower, upper, weight = neighbouring_orientations(h)
        chunk, out = self.model.irs_per_call, []
        for s in range(0, len(e), chunk):
            part = slice(s, s + chunk)
            et, lt = torch.tensor(e[part]), torch.tensor(l_[part])  # copies: e may be a read-only view
            pair = (fe[part] + fl[part], se[part] + sl[part])
            out.append(fused.spectrograms(fused.with_pair_part(pair, et, lt), et, lt, torch.from_numpy(lower[part]),
                                          torch.from_numpy(upper[part]),
                                          torch.from_numpy(weight[part].astype(np.float32))))
        return out[0] if len(out) == 1 else torch.cat(out)

    @torch.no_grad()
    def _module_query(self, emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> np.ndarray:
        e, l_, h = self._checked(emitters, listeners, headings)
        fe, se = self._endpoints(e, 0)
        fl, sl = self._endpoints(l_, 1)
        lower, upper, weight = neighbouring_orientations(h)
        out = np.empty((len(e), 2, self.checkpoint.shape.n_freq, self.n_frames), np.float32)
        out_t = torch.from_numpy(out)
        chunk, dev = self.model.irs_per_call, self.device
        for s in range(0, len(e), chunk):
            part = slice(s, s + chunk)
            et = torch.tensor(e[part], device=dev)  # copies: e may be a read-only view
            lt = torch.tensor(l_[part], device=dev)
            y = self._decode(
                self.model.with_pair_part((fe[part] + fl[part], se[part] + sl[part]), et, lt),
                et,
                lt,
                torch.as_tensor(lower[part], device=dev),
                torch.as_tensor(upper[part], device=dev),
                torch.as_tensor(weight[part], dtype=torch.float32, device=dev),
            )
            out_t[part] = y.reshape(out_t[part].shape).cpu()
        return out

    @torch.no_grad()
    def _late_query(self, emitters: np.ndarray, listeners: np.ndarray, headings: np.ndarray) -> np.ndarray | None:
        """Late ln band powers (B, 2, 7, T_late) float32 of checked positions, or None without a late part."""
        if self._decode_late is None:
            return None
        lower, upper, weight = neighbouring_orientations(np.broadcast_to(np.asarray(headings, np.float64).reshape(-1),
                                                                         (len(emitters),)))
        if self._fused is not None and self._fused.late is not None:
            y = self._fused.late(np.asarray(emitters), np.asarray(listeners), torch.from_numpy(lower),
                                 torch.from_numpy(upper), torch.from_numpy(weight.astype(np.float32)))
            return y.numpy().astype(np.float32)
        dev = self.device
        y = self._decode_late(  # copies: the positions may be read-only views
            torch.tensor(np.asarray(emitters), dtype=torch.float32, device=dev),
            torch.tensor(np.asarray(listeners), dtype=torch.float32, device=dev),
            torch.as_tensor(lower, device=dev),
            torch.as_tensor(upper, device=dev),
            torch.as_tensor(weight, dtype=torch.float32, device=dev),
        )
        return y.cpu().numpy().astype(np.float32)

    def late_log_powers(self, emitters: Any, listeners: Any, headings: Any) -> np.ndarray | None:
        """The late part's description at (B, 2) emitters and listeners, (B,) headings: ln band power per ear,
        octave band (125 Hz-8 kHz) and frame of `split.late_frame` samples from `split.late_start`,
        (B, 2, 7, T_late) float32; None for a field without a late part (made before it existed)."""
        e = self.check_positions(emitters, "emitter")
        l_ = self.check_positions(listeners, "listener")
        return self._late_query(e, l_, np.asarray(headings, np.float64))

    def query(self, emitter_xy: Any, listener_xy: Any, heading_deg: float = 0.0) -> np.ndarray:
        """One binaural log-magnitude spectrogram of the early part, (2, 256, T) float32 ln(|X| + 1e-3) (the
        whole IR for fields without a late part)."""
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
        self, emitters: Any, listeners: Any, headings: Any, phase: str = PHASE_METHODS[0], noise: Any = 0
    ) -> np.ndarray:
        """(B, 2, N) float32 binaural IRs at 22,050 Hz; `phase` "listening" (what is played: energy-true,
        a direct pulse only on line of sight), "geometric" (the older played IR) or "random" (the paper's
        fixed-seed inversion); see `naf_model.field.listening`. `noise`: the listening phase's noise
        realisation, one int >= 0 or one per IR (`listening.noise_variants`); sources heard together (the
        app's emitters) each play their own, so their tails add as a room's do."""
        if phase not in PHASE_METHODS:
            raise ValueError(f"unknown phase {phase!r}; use one of {PHASE_METHODS}")
        t0 = time.perf_counter()
        e, l_ = (
            np.asarray(emitters, np.float64).reshape(-1, 2),
            np.asarray(listeners, np.float64).reshape(-1, 2),
        )
        h = np.broadcast_to(np.asarray(headings, np.float64).reshape(-1), (len(e),))
        if self._fused is not None:
            frames = self._fused_query(e, l_, h)
            free = self.scene.free_space if self.scene is not None else self._plan
            ir = play_frames(phase, frames, self._late_query(e, l_, h), e, l_, h, self.split, self.ears, free,
                             reflections=self.reflections, noise=noise)
        else:
            ir = self.play(phase, self._query(e, l_, h), self._late_query(e, l_, h), e, l_, h, noise)
        self.latency_ms = 1e3 * (time.perf_counter() - t0)
        return ir

    def play(self, phase: str, logmag: np.ndarray, late: np.ndarray | None, emitters: np.ndarray,
             listeners: np.ndarray, headings: np.ndarray, noise: Any = 0) -> np.ndarray:
        """The played IRs (B, 2, N) float32 of this field's predictions at checked positions: early
        log-magnitudes (B, 2, 256, T) and late ln band powers (B, 2, 7, T_late) or None (`listening.play`)."""
        free = self.scene.free_space if self.scene is not None else self._plan
        return play(phase, logmag, late, emitters, listeners, headings, self.split, self.ears, free,
                    reflections=self.reflections, noise=noise)

    def played_energy(self, emitters: Any, listeners: Any, headings: Any) -> PlayedEnergy:
        """The energy of the IRs `impulse_responses` plays (listening phase), by time block and octave band,
        straight from the predicted description (`field.played_energy`): (B, 2) emitters and listeners, (B,)
        headings."""
        e, l_, h = self._checked(emitters, listeners, headings)
        if self._fused is not None:
            frames = self._fused_query(e, l_, h)
        else:
            frames = torch.from_numpy(np.ascontiguousarray(self._module_query(e, l_, h).transpose(0, 1, 3, 2)))
        free = self.scene.free_space if self.scene is not None else self._plan
        quiet = None if self.reflections is None else self.reflections.earliest_s(e, l_)
        return played_energy(frames, self._late_query(e, l_, h), e, l_, h, line_of_sight(free, e, l_), self.ears,
                             self.split, quiet_until=quiet)

    @cached_property
    def reflections(self) -> FirstReflection | None:
        """The scene's bound on the first reflection (`reflections.FirstReflection`): the played diffuse part
        waits for it; None without a scene (a field opened from its checkpoint alone keeps the old gate)."""
        return None if self.scene is None else FirstReflection.of(self.scene)

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
        averaged over the probe listeners and the 4 orientations (`AcousticNetwork.features`: the code of an
        amortised field, D = width; the middle-layer activation over fixed pixels of a per-pixel one)."""
        e = self.check_positions(emitters, "emitter")
        l_ = self.check_positions(listeners, "listener")
        model, dev = self.model, self.device
        fe, se = model.endpoint(torch.as_tensor(e, dtype=torch.float32, device=dev), 0)
        fl, sl = model.endpoint(torch.as_tensor(l_, dtype=torch.float32, device=dev), 1)
        m = len(l_)
        chunk = max(1, FEATURE_ROWS // (m * model.feature_rows_per_pair))
        out = []
        for s in range(0, len(e), chunk):
            b = len(fe[s : s + chunk])
            first = (fe[s : s + chunk, None, :] + fl[None]).reshape(b * m, -1)
            skip = (se[s : s + chunk, None, :] + sl[None]).reshape(b * m, -1)
            first, skip = model.with_pair_part(
                (first, skip),
                torch.as_tensor(np.repeat(e[s : s + chunk], m, axis=0), device=dev),
                torch.as_tensor(np.tile(l_, (b, 1)), device=dev),
            )
            total = torch.zeros(b, fe.shape[1], device=dev)
            for o in range(len(ORIENTATIONS_DEG)):
                orient = torch.full((b * m,), o, dtype=torch.long, device=dev)
                total += model.features((first, skip), orient).reshape(b, m, -1).mean(1)
            out.append(total / len(ORIENTATIONS_DEG))
        return torch.cat(out).cpu().numpy().astype(np.float32)
