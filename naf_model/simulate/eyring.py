"""Eyring's reverberation time of a scene from its surfaces (walls, floors, ceilings and obstacles)."""

from __future__ import annotations

import numpy as np
import pyroomacoustics as pra

from naf_model.conventions import SPEED_OF_SOUND
from naf_model.scene.materials import MATERIALS, OCTAVE_BANDS_HZ


def surface_area(corners: np.ndarray) -> float:
    """Area (m2) of a planar polygon (3, K) metres, by the vector area of its triangle fan."""
    p, q = corners, np.roll(corners, -1, axis=1)
    return float(np.linalg.norm(0.5 * np.cross(p.T, q.T).sum(axis=0)))


def surface_areas(corners: list[np.ndarray]) -> np.ndarray:
    """`surface_area` of many polygons (each (3, K) metres) at once: stacked by corner count, so a mesh of
    hundreds of thousands of walls takes one numpy pass per K instead of a Python call per wall."""
    areas = np.zeros(len(corners))
    by_count: dict[int, list[int]] = {}
    for i, c in enumerate(corners):
        by_count.setdefault(c.shape[1], []).append(i)
    for members in by_count.values():
        p = np.stack([corners[i].T for i in members])  # (n, K, 3)
        areas[members] = np.linalg.norm(0.5 * np.cross(p, np.roll(p, -1, axis=1)).sum(axis=1), axis=1)
    return areas


def eyring_t60(scene, band_hz: int, air_absorption: bool = True) -> float:
    """T60 in seconds at one octave band (a key of OCTAVE_BANDS_HZ): 0.161 V / (-S ln(1 - a) + 4 m V).

    S and the area-weighted absorption a count every surface of the air's boundary, obstacles included;
    V is the air volume (the plan's volume minus the obstacles'); m is pyroomacoustics' air absorption.
    """
    return float(eyring_t60s(scene, air_absorption)[OCTAVE_BANDS_HZ.index(band_hz)])


def eyring_t60s(scene, air_absorption: bool = True) -> np.ndarray:
    """`eyring_t60` of every band of OCTAVE_BANDS_HZ at once, (7,) seconds: the surfaces are read once."""
    surfaces = scene.surfaces()
    areas = surface_areas([s.corners for s in surfaces])
    alphas = np.array([MATERIALS[s.material].absorption for s in surfaces])  # (walls, 7)
    volume = float(scene.volume)
    mean_alpha = areas @ alphas / areas.sum()
    air = np.zeros(len(OCTAVE_BANDS_HZ))
    if air_absorption:
        air = np.asarray(pra.Physics().from_speed(SPEED_OF_SOUND).get_air_absorption()["coeffs"], np.float64)
    with np.errstate(divide="ignore"):  # a fully absorbing boundary: ln(0), T60 0
        return 0.161 * volume / (-areas.sum() * np.log(1 - mean_alpha) + 4 * air * volume)
