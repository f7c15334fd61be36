"""`simulate_binaural_rirs`: one pyroomacoustics run per emitter, rendered per listener, orientation, ear."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from naf_model.conventions import ORIENTATIONS_DEG, SAMPLE_RATE
from naf_model.errors import PositionError, SceneError
from naf_model.simulate.binaural import render_arrivals
from naf_model.simulate.config import SimulationConfig, SimulationError
from naf_model.simulate.ears import hrir_set_for
from naf_model.simulate.hrtf import render_arrivals_hrir
from naf_model.simulate.room import RoomResult, position_seed, run_room, scene_walls
from naf_model.simulate.tail import render_tail

RAY_RETRIES = 2
"""Times the rays are quadrupled for listeners that no ray reached before giving up."""


def _positions(scene, emitter_xy, listeners_xy) -> tuple[np.ndarray, np.ndarray]:
    emitter = np.asarray(emitter_xy, dtype=np.float64).reshape(-1)
    listeners = np.asarray(listeners_xy, dtype=np.float64)
    if emitter.shape != (2,):
        raise PositionError(f"the emitter must be one (x, y) position in metres, got shape {emitter.shape}")
    if listeners.ndim != 2 or listeners.shape[1] != 2 or len(listeners) == 0:
        raise PositionError(
            f"listeners must be an (L, 2) array of positions in metres, got shape {listeners.shape}"
        )
    points = np.vstack([emitter[None], listeners])
    free = np.atleast_1d(scene.is_free(points[:, 0], points[:, 1]))
    if not free.all():
        i = int(np.flatnonzero(~free)[0])
        what = "emitter" if i == 0 else f"listener {i - 1}"
        x, y = points[i]
        raise PositionError(
            f"{what} at ({x:.2f}, {y:.2f}) is not in the free space of scene {scene.name!r}; "
            "move it inside a room, at least 0.2 m from the walls"
        )
    height = float(scene.ear_height)
    return np.append(emitter, height), np.column_stack([listeners, np.full(len(listeners), height)])


def _silent(result: RoomResult) -> list[int]:
    """Listeners that neither saw an image source nor caught a ray."""
    reached = np.any(result.histograms > 0, axis=(1, 2))
    return [m for m, a in enumerate(result.arrivals) if len(a.delays) == 0 and not reached[m]]


def _fill_silent(walls, emitter, listeners, config: SimulationConfig, result: RoomResult) -> RoomResult:
    """Trace again, with 4x then 16x the rays, for the listeners no sound reached; raise if still none."""
    n_rays = config.n_rays
    for _ in range(RAY_RETRIES):
        silent = _silent(result)
        if not silent:
            return result
        n_rays *= 4
        result.histograms[silent] = run_room(walls, emitter, listeners[silent], config, n_rays).histograms
    silent = _silent(result)
    if silent:
        x, y = listeners[silent[0], :2]
        raise SimulationError(
            f"{len(silent)} listener(s), e.g. at ({x:.2f}, {y:.2f}), received no sound with {n_rays} rays; "
            "raise n_rays or receiver_radius"
        )
    return result


SPHERE_POINTS = 4096
"""Points (a fixed draw, uniform in the ball) at which `inside_share` tests the receiving sphere: the share's
standard error is below 0.6 % (0.03 dB)."""
MIN_INSIDE_SHARE = 0.25
"""`inside_share` is at least this: a listener in a corner keeps about 0.6 of its sphere; less is a geometry the
correction should not amplify by more than 6 dB."""


@functools.lru_cache(maxsize=1)
def _ball_points() -> np.ndarray:
    """(SPHERE_POINTS, 3) fixed points uniform in the unit ball."""
    rng = np.random.default_rng(20_261_208)
    p = rng.standard_normal((SPHERE_POINTS, 3))
    return p / np.linalg.norm(p, axis=1, keepdims=True) * rng.uniform(0.0, 1.0, (SPHERE_POINTS, 1)) ** (1 / 3)


def inside_share(scene, listeners: np.ndarray, radius: float) -> np.ndarray:
    """(L,) the share of the volume of each listener's receiving sphere (centre (L, 3) metres, `radius`) that
    lies in the scene's air (`scene.is_air`: outside walls, obstacles, floor and ceiling), at least
    MIN_INSIDE_SHARE. The ray tracer counts the energy of rays crossing the sphere as if all of it were air, so
    its late energy is that share of the room's near a wall (`SimulationConfig.receiver_in_air`)."""
    ball = radius * _ball_points()
    return np.array([max(float(np.mean(scene.is_air(c[None] + ball))), MIN_INSIDE_SHARE)
                     for c in np.atleast_2d(listeners)])  # fmt: skip


def simulate_binaural_rirs(
    scene, emitter_xy, listeners_xy, config: SimulationConfig | None = None
) -> np.ndarray:
    """Binaural room impulse responses from one emitter to L listeners, (L, 4, 2, N) float32 at 22,050 Hz.

    scene: a `naf_model.scene.Scene`; emitter_xy: (2,) metres; listeners_xy: (L, 2) metres; both at the
    scene's ear height. Axis 1 is the head orientation (0, 90, 180, 270 deg counter-clockwise from +x),
    axis 2 the ear (0 left, 1 right), N = round(ir_seconds * 22,050). Time zero is the emission: the
    line-of-sight sound reaches the head centre at distance / 343 m/s (earlier at the near ear). Early
    reflections come from pyroomacoustics' image sources (walls occlude), rendered through the config's ears
    (`ears`: the measured KEMAR set by default, a SOFA set, or the spherical head), the rest from its ray
    tracer; the
    same inputs and seed give bit-identical output, and a listener's IR does not depend on the other
    listeners in the call.
    """
    if getattr(scene, "derived_from", None):
        raise SceneError(
            f"scene {scene.name!r} has no walls to simulate: {scene.derived_from}; simulation needs a scene file "
            "or mesh of the room"
        )
    config = config or SimulationConfig()
    early = early_renderer(config)  # a missing HRIR set fails before the room is simulated
    emitter, listeners = _positions(scene, emitter_xy, listeners_xy)
    walls = scene_walls(scene)
    result = _fill_silent(
        walls, emitter, listeners, config, run_room(walls, emitter, listeners, config, config.n_rays)
    )
    if config.receiver_in_air:
        share = inside_share(scene, listeners, config.receiver_radius)
        result = dataclasses.replace(result, histograms=result.histograms / share[:, None, None])

    n_samples = int(round(config.ir_seconds * SAMPLE_RATE))
    irs = np.empty((len(listeners), len(ORIENTATIONS_DEG), 2, n_samples), dtype=np.float32)
    for m, listener in enumerate(listeners):
        rng = np.random.default_rng(position_seed(config.seed, *emitter[:2], *listener[:2]))
        tail = render_tail(
            result.histograms[m],
            result.hist_bin_seconds,
            result.direct_delays[m],
            result.volume,
            result.air_absorption,
            n_samples,
            config.head_radius,
            rng,
        )
        irs[m] = early(result.arrivals[m], n_samples) + tail[None]
    return irs


def early_renderer(config: SimulationConfig):
    """(arrivals, n_samples) -> (4, 2, n_samples): the spherical head, or the config's measured HRIR set (the
    loaded one, else the one its hash names: `ears.hrir_set_for`, HrtfError when it is not on this machine)."""
    if not config.hrtf:
        return lambda arrivals, n: render_arrivals(arrivals, n, config.head_radius)
    hrirs = config.hrir if config.hrir is not None and config.hrir.sha256 == config.hrtf else hrir_set_for(config.hrtf)
    return lambda arrivals, n: render_arrivals_hrir(arrivals, n, hrirs, config.hrtf_method)
