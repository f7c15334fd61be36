"""The earliest time a reflection can reach a listener: before it, only the direct sound is in the room's IR.

The listening synthesis (`listening.listening_ir`) plays the predicted magnitudes as noise; on line of sight
that noise must not start with the direct pulse, or its first samples (the frame's whole energy spread over
the frame) reach half the peak of a weak, spread contralateral direct sound before that sound does, and the
played ITD shrinks (MIT KEMAR at 90 deg: 666 us played against 841 us simulated). Nothing reflected can
arrive before the shortest path that touches a surface of the simulator's boundary, so the noise waits for
a lower bound of that path, computed per pair from the scene's surfaces (emitter and listener both at ear
height, as the simulator places them):
- a surface wholly above or below the ear plane, by a gap g at least: every point of it lies beyond the
  plane z = ear +- g and, in the plan, in its footprint's bounding box, so the path is at least the image
  path across that plane, sqrt(d^2 + 4 g^2), and at least sqrt(a^2 + g^2) + sqrt(b^2 + g^2) (a, b the plan
  distances of emitter and listener to the box): a low table far away says little, the floor a lot;
- a surface crossing the ear plane: none where emitter and listener lie on opposite sides of its plane (a
  path leaves a face on the side it came from: in a flat, a wall of the next room, seen past its end
  through a door); else the image path across its plane, sqrt(d^2 + 4 a b) (a, b their distances to it),
  and for a vertical one also the sum of the plan distances of both points to its footprint segment (the
  reflection point lies on the segment).
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


def _box_distance(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Plan distances (B, S) of points (B, 2) to axis-aligned boxes (S, 4) = (x0, y0, x1, y1)."""
    dx = np.maximum(np.maximum(boxes[:, 0] - points[:, :1], points[:, :1] - boxes[:, 2]), 0.0)
    dy = np.maximum(np.maximum(boxes[:, 1] - points[:, 1:], points[:, 1:] - boxes[:, 3]), 0.0)
    return np.hypot(dx, dy)


@dataclass(frozen=True)
class FirstReflection:
    """The scene's surfaces reduced to what bounds the earliest reflection (module docstring)."""

    ear_height: float
    gaps: np.ndarray  # (G,) metres between the ear plane and each surface wholly above or below it
    boxes: np.ndarray  # (G, 4) their footprints' bounding boxes (x0, y0, x1, y1)
    normals: np.ndarray  # (S, 3) unit normals of the surfaces crossing the ear plane
    offsets: np.ndarray  # (S,) plane offsets: n . x = offset
    vertical: np.ndarray  # (S,) bool
    segments: np.ndarray  # (V, 2, 2) plan footprints of the vertical ones

    @classmethod
    def of(cls, scene: Any) -> FirstReflection:
        """From a scene's simulation surfaces (`Scene.simulation_surfaces`) and ear height."""
        ear = float(scene.ear_height)
        gaps, boxes, normals, offsets, vertical, segments = [], [], [], [], [], []
        for surface in scene.simulation_surfaces():
            c = np.asarray(surface.corners, np.float64)  # (3, K)
            low, high = float(c[2].min()), float(c[2].max())
            if low >= ear or high <= ear:
                gaps.append(low - ear if low >= ear else ear - high)
                boxes.append([c[0].min(), c[1].min(), c[0].max(), c[1].max()])
                continue
            centre = c.mean(axis=1)
            n = np.cross(c[:, 1] - c[:, 0], c[:, 2] - c[:, 0])
            if np.linalg.norm(n) < 1e-12:  # first three corners in a line: best-fit plane of all corners
                n = np.linalg.svd((c - centre[:, None]).T)[2][-1]
            n = n / np.linalg.norm(n)
            normals.append(n)
            offsets.append(float(n @ centre))
            vertical.append(abs(n[2]) < VERTICAL)
            if vertical[-1]:
                s = np.array([-n[1], n[0]]) @ c[:2]  # position along the footprint's direction
                segments.append([c[:2, int(np.argmin(s))], c[:2, int(np.argmax(s))]])
        return cls(ear, np.asarray(gaps, np.float64), np.reshape(boxes, (-1, 4)), np.reshape(normals, (-1, 3)),
                   np.asarray(offsets, np.float64), np.asarray(vertical, bool),
                   np.reshape(segments, (-1, 2, 2)))  # fmt: skip

    def path_m(self, emitters: np.ndarray, listeners: np.ndarray) -> np.ndarray:
        """(B,) metres: a lower bound of the length of any reflected path from each emitter to its listener
        (B, 2), both at ear height."""
        e = np.asarray(emitters, np.float64).reshape(-1, 2)
        l_ = np.asarray(listeners, np.float64).reshape(-1, 2)
        d2 = np.sum((e - l_) ** 2, -1)[:, None]
        best = np.full(len(e), np.inf)
        if len(self.gaps):
            g2 = self.gaps**2
            beside = np.sqrt(_box_distance(e, self.boxes) ** 2 + g2) + np.sqrt(_box_distance(l_, self.boxes) ** 2 + g2)
            best = np.maximum(np.sqrt(d2 + 4 * g2), beside).min(axis=1)
        if len(self.offsets):
            z = np.full((len(e), 1), self.ear_height)
            de = np.hstack([e, z]) @ self.normals.T - self.offsets  # (B, S) signed plane distances
            dl = np.hstack([l_, z]) @ self.normals.T - self.offsets
            both = de * dl  # a face reflects only between points on one side of it (the air's)
            image = np.where(both >= 0.0, np.sqrt(d2 + 4 * np.abs(both)), np.inf)
            if len(self.segments):
                a, b = self.segments[:, 0], self.segments[:, 1]
                sides = _segment_distance(e, a, b) + _segment_distance(l_, a, b)
                image[:, self.vertical] = np.maximum(image[:, self.vertical], sides)
            best = np.minimum(best, image.min(axis=1))
        return best

    def earliest_s(self, emitters: np.ndarray, listeners: np.ndarray) -> np.ndarray:
        """(B,) seconds: no reflection reaches either ear before this (`path_m` / c less EAR_MARGIN_S)."""
        return self.path_m(emitters, listeners) / SPEED_OF_SOUND - EAR_MARGIN_S
