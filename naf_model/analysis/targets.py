"""What the probe reads out of the features: scene structure at each position, from the geometry alone.

Distance to the nearest wall, a coarse "depth ring" (free distance along 8 directions, closer to the NAF
paper's depth images than one distance) and the room a position lies in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

DEPTH_DIRECTIONS = 8
"""Rays of the depth ring, evenly spaced counter-clockwise from +x."""


def wall_distance(scene: Any, positions: np.ndarray) -> np.ndarray:
    """Distance in metres from each (M, 2) position to the nearest wall face of the scene, (M,) float64.

    The wall faces are the boundary of `scene.free_space` (door gaps included, so the jambs count as walls).
    """
    points = shapely.points(np.asarray(positions, dtype=np.float64))
    return np.asarray(shapely.distance(points, scene.free_space.boundary), dtype=np.float64)


def depth_ring(scene: Any, positions: np.ndarray, n_directions: int = DEPTH_DIRECTIONS) -> np.ndarray:
    """Free distance in metres from each (M, 2) position to the free-space boundary along `n_directions`
    rays (angle 2 pi k / n from +x), (M, n) float64: a ray cast against walls, jambs and obstacles.

    Rays longer than the plan's diagonal cannot miss a closed boundary; a miss (a point outside) reads as
    that length.
    """
    xy = np.asarray(positions, dtype=np.float64)
    xmin, ymin, xmax, ymax = scene.free_space.bounds
    reach = 2.0 * float(np.hypot(xmax - xmin, ymax - ymin)) + 1.0
    angles = 2.0 * np.pi * np.arange(n_directions) / n_directions
    ends = xy[:, None, :] + reach * np.stack([np.cos(angles), np.sin(angles)], axis=1)[None]  # (M, n, 2)
    starts = np.broadcast_to(xy[:, None, :], ends.shape)
    rays = shapely.linestrings(np.stack([starts, ends], axis=2).reshape(-1, 2, 2))
    boundary = scene.free_space.boundary
    shapely.prepare(boundary)
    hits = shapely.intersection(rays, boundary)
    origins = shapely.points(starts.reshape(-1, 2))
    distance = np.asarray(shapely.distance(origins, hits), dtype=np.float64)
    distance = np.where(np.isfinite(distance), distance, reach)
    return distance.reshape(len(xy), n_directions)


def room_labels(scene: Any, positions: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Index into `scene.rooms` of the room holding each (M, 2) position, (M,) int, and the room names.

    A position in no room's floor (a door gap's middle) goes to the room whose floor is nearest.
    """
    names = [room.name for room in scene.rooms]
    labels = np.empty(len(positions), dtype=np.int64)
    for i, (x, y) in enumerate(np.asarray(positions, dtype=np.float64)):
        name = scene.room_at(x, y)
        if name is None:
            point = shapely.Point(x, y)
            name = names[int(np.argmin([room.polygon.distance(point) for room in scene.rooms]))]
        labels[i] = names.index(name)
    return labels, names
