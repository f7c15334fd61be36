"""The earliest time a reflection can reach a listener: before it, only the direct sound is in the room's IR.

The listening synthesis (`listening.listening_ir`) plays the predicted magnitudes as noise; on line of sight
that noise must not start with the direct pulse, or its first samples (the frame's whole energy spread over
the frame) reach half the peak of a weak, spread contralateral direct sound before that sound does, and the
played ITD shrinks (MIT KEMAR at 90 deg: 666 us played against 841 us simulated). Nothing reflected can
arrive before the shortest path that touches a surface of the simulator's boundary, so the noise waits for
a lower bound of that path, computed per pair from the scene's surfaces (emitter and listener both at ear
height, as the simulator places them):
- a surface wholly above or below the ear plane, by a gap g at least: every point of it lies beyond the
  plane z = ear +- g, so the path is at least the image path across that plane, sqrt(d^2 + 4 g^2);
- a surface crossing the ear plane: the image path across its own plane, sqrt(d^2 + 4 a b) (a, b the
  emitter's and listener's distances to it, same side; d otherwise), and for a vertical one also the sum of
  the plan distances of both points to its footprint segment (the reflection point lies on the segment).
The bound is loose where a far surface's plane passes near both points (it then falls back towards the
direct path, where the old gate was), never late: the synthesis may only lose noise that the room cannot
have there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from naf_model.conventions import HEAD_RADIUS_M, SPEED_OF_SOUND

VERTICAL = 1e-6
"""A surface whose unit normal has a z component below this is vertical (a wall: its footprint a segment)."""
EAR_MARGIN_S = HEAD_RADIUS_M / SPEED_OF_SOUND
"""An ear may meet a reflection this much earlier than the head's centre (the ear nearer its direction)."""


def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Plan distances (B, S) of points (B, 2) to segments a -> b (S, 2)."""
    ab = b - a  # (S, 2)
    length2 = np.maximum(np.sum(ab * ab, -1), 1e-18)
    t = np.clip(np.einsum("bsk,sk->bs", points[:, None, :] - a[None], ab) / length2, 0.0, 1.0)
    nearest = a[None] + t[..., None] * ab[None]
    return np.hypot(*(points[:, None, :] - nearest).transpose(2, 0, 1))


@dataclass(frozen=True)
class FirstReflection:
    """The scene's surfaces reduced to what bounds the earliest reflection (module docstring)."""

    ear_height: float
    gap: float  # metres: the nearest surface wholly above or below the ear plane (inf: none)
    normals: np.ndarray  # (S, 3) unit normals of the surfaces crossing the ear plane
    offsets: np.ndarray  # (S,) plane offsets: n . x = offset
    vertical: np.ndarray  # (S,) bool
    segments: np.ndarray  # (S, 2, 2) plan footprints (meaningful where vertical)

    @classmethod
    def of(cls, scene: Any) -> FirstReflection:
        """From a scene's simulation surfaces (`Scene.simulation_surfaces`) and ear height."""
        ear = float(scene.ear_height)
        gap = np.inf
        normals, offsets, vertical, segments = [], [], [], []
        for surface in scene.simulation_surfaces():
            c = np.asarray(surface.corners, np.float64)  # (3, K)
            low, high = float(c[2].min()), float(c[2].max())
            if low >= ear or high <= ear:
                gap = min(gap, low - ear if low >= ear else ear - high)
                continue
            centre = c.mean(axis=1)
            n = np.cross(c[:, 1] - c[:, 0], c[:, 2] - c[:, 0])
            if np.linalg.norm(n) < 1e-12:  # first three corners in a line: best-fit plane of all corners
                n = np.linalg.svd((c - centre[:, None]).T)[2][-1]
            n = n / np.linalg.norm(n)
            normals.append(n)
            offsets.append(float(n @ centre))
            is_vertical = abs(n[2]) < VERTICAL
            vertical.append(is_vertical)
            along = np.array([-n[1], n[0]])  # the footprint's direction in the plan
            s = along @ c[:2]
            segments.append([c[:2, int(np.argmin(s))], c[:2, int(np.argmax(s))]])
        return cls(ear, gap, np.reshape(normals, (-1, 3)), np.asarray(offsets, np.float64),
                   np.asarray(vertical, bool), np.reshape(segments, (-1, 2, 2)))  # fmt: skip

    def path_m(self, emitters: np.ndarray, listeners: np.ndarray) -> np.ndarray:
        """(B,) metres: a lower bound of the length of any reflected path from each emitter to its listener
        (B, 2), both at ear height."""
        e = np.asarray(emitters, np.float64).reshape(-1, 2)
        l_ = np.asarray(listeners, np.float64).reshape(-1, 2)
        d2 = np.sum((e - l_) ** 2, -1)
        best = np.sqrt(d2 + 4 * self.gap**2) if np.isfinite(self.gap) else np.full(len(e), np.inf)
        if len(self.offsets):
            z = np.full((len(e), 1), self.ear_height)
            de = np.hstack([e, z]) @ self.normals.T - self.offsets  # (B, S) signed plane distances
            dl = np.hstack([l_, z]) @ self.normals.T - self.offsets
            image = np.sqrt(d2[:, None] + 4 * np.maximum(de * dl, 0.0))
            if self.vertical.any():
                a, b = self.segments[self.vertical, 0], self.segments[self.vertical, 1]
                sides = _segment_distance(e, a, b) + _segment_distance(l_, a, b)
                image[:, self.vertical] = np.maximum(image[:, self.vertical], sides)
            best = np.minimum(best, image.min(axis=1))
        return best

    def earliest_s(self, emitters: np.ndarray, listeners: np.ndarray) -> np.ndarray:
        """(B,) seconds: no reflection reaches either ear before this (`path_m` / c less EAR_MARGIN_S)."""
        return self.path_m(emitters, listeners) / SPEED_OF_SOUND - EAR_MARGIN_S
