"""pyroomacoustics set-up: a scene's surfaces become walls, one hybrid (image sources + rays) run per emitter.

The run returns what the binaural renderer needs per listener: the visible image sources (delay, direction,
octave-band amplitude including wall damping, 1/r spreading and air absorption, exactly as pyroomacoustics'
own `compute_ism_rir` weights them) and the ray tracer's octave-band energy histograms for the late part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyroomacoustics as pra
import shapely

from naf_model.conventions import SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.scene.materials import MATERIALS
from naf_model.simulate.bands import N_BANDS
from naf_model.simulate.config import SimulationConfig

NEAR_FIELD_M = 0.2
"""Distances below this (the head's diameter, rounded up) count as this for the 1/r law, so a listener on
top of the emitter gets a loud but finite direct sound."""


@dataclass(frozen=True)
class WallSpec:
    """One pyroomacoustics wall: corners (3, K) metres, counter-clockwise seen from outside the air volume;
    energy absorption and scattering per octave band (7,)."""

    corners: np.ndarray
    absorption: np.ndarray
    scattering: np.ndarray
    name: str


@dataclass(frozen=True)
class Arrivals:
    """The image-source arrivals at one listener's head centre, K of them (K = 0 when walls hide them all).

    delays: (K,) seconds from emission; directions: (K, 3) unit vectors from the listener towards each image
    source (where the sound comes from; zero if the listener is on the emitter); amplitudes: (K, 7)
    octave-band pressure amplitudes, 1.0 = free field at 1 m.
    """

    delays: np.ndarray
    directions: np.ndarray
    amplitudes: np.ndarray


@dataclass(frozen=True)
class RoomResult:
    """Everything one emitter's run yields for L listeners.

    arrivals: L `Arrivals`; histograms: (L, 7, B) ray-traced energy per octave band and time bin (bin b
    covers [b, b + 1) * hist_bin_seconds from emission; same energy scale as amplitudes**2); direct_delays:
    (L,) seconds, line-of-sight distance / c whether or not the path is blocked; volume: m^3;
    air_absorption: (7,) energy absorption per metre per band (zeros when disabled); hist_bin_seconds: the
    histogram's exact bin width.
    """

    arrivals: list[Arrivals]
    histograms: np.ndarray
    direct_delays: np.ndarray
    volume: float
    air_absorption: np.ndarray
    hist_bin_seconds: float


def newell_normal(corners: np.ndarray) -> np.ndarray:
    """Unit normal of a planar polygon (3, K) by Newell's method, right-handed to the corner order."""
    p = np.asarray(corners, dtype=np.float64)
    q = np.roll(p, -1, axis=1)
    n = np.array(
        [
            np.sum((p[1] - q[1]) * (p[2] + q[2])),
            np.sum((p[2] - q[2]) * (p[0] + q[0])),
            np.sum((p[0] - q[0]) * (p[1] + q[1])),
        ]
    )
    return n / np.linalg.norm(n)


def point_on_surface(corners: np.ndarray) -> np.ndarray:
    """A point (3,) inside a planar polygon (3, K): its vertex mean if that lies inside, else shapely's
    representative point of the polygon projected on its dominant plane."""
    corners = np.asarray(corners, dtype=np.float64)
    n = newell_normal(corners)
    drop = int(np.argmax(np.abs(n)))
    keep = [i for i in range(3) if i != drop]
    flat = shapely.Polygon(corners[keep].T)
    centre = corners.mean(axis=1)
    if flat.is_valid and not flat.contains(shapely.Point(centre[keep])):
        q = flat.representative_point()
        # the dropped coordinate from the plane equation n . (p - corner0) = 0
        p = np.zeros(3)
        p[keep] = (q.x, q.y)
        p[drop] = corners[drop, 0] - (n[keep] @ (p[keep] - corners[keep, 0])) / n[drop]
        return p
    return centre


PROBE_M = 0.005
"""Metres off a surface where `orient_outward` tests for air (thinner than the thinnest obstacle, 2 cm)."""


def orient_outward(corners: np.ndarray, is_air: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Reorder a surface's corners so its normal points out of the air volume, as pyroomacoustics expects.

    is_air: (N, 3) points -> (N,) bool. Tested PROBE_M along the normal from a point inside the polygon:
    if that point is air, the corners are reversed.
    """
    corners = np.asarray(corners, dtype=np.float64)
    probe = point_on_surface(corners) + PROBE_M * newell_normal(corners)
    outward = not bool(is_air(probe[None])[0])
    return corners if outward else corners[:, ::-1].copy()


def wall_specs(surfaces: Sequence, materials: dict, is_air: Callable[[np.ndarray], np.ndarray]) -> list[WallSpec]:
    """Surfaces (naf_model.scene.surface.Surface) with material names -> oriented `WallSpec`s."""
    specs = []
    for i, surface in enumerate(surfaces):
        material = materials[surface.material]
        absorption = np.asarray(material.absorption, dtype=np.float64)
        assert absorption.shape == (N_BANDS,), f"material {surface.material} needs {N_BANDS} bands"
        scattering = np.broadcast_to(np.asarray(material.scattering, dtype=np.float64), (N_BANDS,)).copy()
        corners = orient_outward(surface.corners, is_air)
        specs.append(WallSpec(corners, absorption, scattering, f"{surface.kind}_{i}_{surface.material}"))
    return specs


def scene_walls(scene) -> list[WallSpec]:
    """The oriented walls of a `naf_model.scene.Scene` as the simulator gets them (`simulation_surfaces`),
    with their materials' coefficients."""
    return wall_specs(scene.simulation_surfaces(), MATERIALS, scene.is_air)


def position_seed(base_seed: int, *coords: float) -> np.random.SeedSequence:
    """A seed depending only on the base seed and the exact positions, so results don't depend on batching."""
    digest = hashlib.blake2b(np.asarray(coords, dtype=np.float64).tobytes(), digest_size=16).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.SeedSequence([base_seed, *words])


def _inside_by_caller(p: np.ndarray, include_borders: bool = True) -> bool:
    """pyroomacoustics' `Room.is_inside` for positions the caller has already checked against the scene."""
    return True


def run_room(
    walls: list[WallSpec], emitter: np.ndarray, listeners: np.ndarray, config: SimulationConfig, n_rays: int
) -> RoomResult:
    """One hybrid pyroomacoustics run: emitter (3,) and listeners (L, 3) in metres, all inside the walls.

    The libroom ray tracer's RNG (used for diffuse reflections) is seeded from `config.seed` and the emitter
    position only; ray directions are a fixed Fibonacci set, so each listener's histogram does not depend on
    which other listeners share the run.
    """
    emitter = np.asarray(emitter, dtype=np.float64)
    listeners = np.atleast_2d(np.asarray(listeners, dtype=np.float64))
    room = pra.Room(
        [pra.wall_factory(w.corners, w.absorption, w.scattering, w.name) for w in walls],
        fs=SAMPLE_RATE,
        max_order=config.ism_order,
        air_absorption=config.air_absorption,
        # `set_ray_tracing` below turns the tracer on with our ray count; turned on here, pyroomacoustics
        # would first pick its own count from the volume and warn (> 100,000 rays in a cathedral)
        ray_tracing=False,
    )
    # The simulator walls leave the floor uncut under standing obstacles (`Scene.simulation_surfaces`), so
    # pyroomacoustics' parity test (one ray to below the floor) counts the floor under an obstacle as a
    # second crossing and calls many free points outside: it would refuse the source and silence the image
    # sources of those listeners. Callers check every position against the scene's own air first
    # (`simulate.rirs._positions`), so the room takes them as inside.
    room.is_inside = _inside_by_caller
    room.set_sound_speed(SPEED_OF_SOUND)
    room.set_ray_tracing(
        n_rays=n_rays,
        receiver_radius=config.receiver_radius,
        energy_thres=config.energy_threshold,
        time_thres=config.ir_seconds + 2 * config.hist_bin_seconds,  # the last bins are complete
        hist_bin_size=config.hist_bin_seconds,
    )
    room.add_source(emitter)
    room.add_microphone_array(listeners.T)

    state = position_seed(config.seed, *emitter).generate_state(2, dtype=np.uint64)
    pra.random.seed(numpy=int(state[0]), libroom=int(state[1]))
    room.image_source_model()
    room.ray_tracing()

    source = room.sources[0]
    visibility = np.asarray(room.visibility[0], dtype=bool)  # (L, K)
    images = getattr(source, "images", np.zeros((3, 0)))
    damping = getattr(source, "damping", np.zeros((N_BANDS, 0)))
    air = np.asarray(room.air_absorption, dtype=np.float64) if config.air_absorption else np.zeros(N_BANDS)
    arrivals = []
    for m, mic in enumerate(listeners):
        visible = visibility[m, : images.shape[1]]
        offsets = (images[:, visible] - mic[:, None]).T  # (K, 3)
        dist = np.linalg.norm(offsets, axis=1)
        spreading = damping[:, visible].T / np.maximum(dist, NEAR_FIELD_M)[:, None]
        amplitudes = spreading * np.exp(-0.5 * air[None, :] * dist[:, None])
        directions = offsets / np.maximum(dist, 1e-9)[:, None]
        arrivals.append(Arrivals(dist / SPEED_OF_SOUND, directions, amplitudes))

    n_bins = max(1, int(np.ceil(config.ir_seconds / room.rt_args["hist_bin_size"])) + 1)
    histograms = np.zeros((len(listeners), N_BANDS, n_bins))
    for m in range(len(listeners)):
        hist = np.asarray(room.rt_histograms[m][0][0], dtype=np.float64)  # omni receiver: one direction
        keep = min(n_bins, hist.shape[1])
        histograms[m, :, :keep] = hist[:, :keep]
    direct = np.linalg.norm(listeners - emitter[None, :], axis=1) / SPEED_OF_SOUND
    return RoomResult(arrivals, histograms, direct, float(room.get_volume()), air, room.rt_args["hist_bin_size"])
