"""Free-path features of an (emitter, listener) pair: whether walls block the straight line between them and
how far round the walls the shortest path through the free space goes.

The network reads each endpoint through a local grid and a sinusoidal embedding, so whether a wall stands
between two endpoints is a function it must learn from the training pairs alone; between the grid's pairs
(where users put markers) it guesses, and the early energy of occluded pairs regresses to the mean (C50,
docs/results/recipes.md). These features give it the answer from the floor plan instead.

The shortest free path bends only at reflex corners of the free space (door jambs, wall ends, furniture
corners), so it is found on the visibility graph of those corners: corner-to-corner distances are solved
once when the network is built (shapely, scipy), a query only tests which corners each endpoint sees
(B x corners x edges segment tests in torch, no Python loop). Cost on apartment_1 (56 edges, 28 reflex
corners), one CPU thread: +0.56 ms per single IR query (`naf bench`, docs/benchmarks.md; mostly torch's
per-operation overhead), batches no slower.
"""

from __future__ import annotations

import numpy as np
import shapely
import torch
from scipy.sparse.csgraph import shortest_path
from torch import nn

N_FREE_PATH_FEATURES = 4
"""line of sight (0/1), walls crossed by the straight line (/ 4, at most 1), detour of the shortest free path
over the straight one (/ 4 m, at most 2), length of the shortest free path (/ 10 m, at most 2)."""
_CROSS_EPS = 1e-10
"""m^4: orientation products within this of 0 count as touching, not crossing (corners, collinear edges)."""
_UNREACHABLE_M = 20.0
"""Free path length used when no path exists (an endpoint outside the free space)."""


def plan_edges(rings: tuple[tuple[tuple[float, float], ...], ...]) -> np.ndarray:
    """(N, 2, 2) boundary edges of the free space's rings (closed or not) in metres."""
    edges = []
    for ring in rings:
        pts = np.asarray(ring, np.float64)
        if len(pts) > 1 and np.allclose(pts[0], pts[-1]):
            pts = pts[:-1]
        if len(pts) >= 2:
            edges.append(np.stack([pts, np.roll(pts, -1, axis=0)], axis=1))
    return np.concatenate(edges) if edges else np.zeros((0, 2, 2))


def reflex_corners(polygon: shapely.Polygon) -> np.ndarray:
    """(V, 2) corners where the free space turns by more than 180 degrees (where shortest paths bend)."""
    polygon = shapely.geometry.polygon.orient(polygon, sign=1.0)  # free space on the left of every ring
    corners = []
    for ring in (polygon.exterior, *polygon.interiors):
        pts = np.asarray(ring.coords, np.float64)[:-1]
        before, after = pts - np.roll(pts, 1, axis=0), np.roll(pts, -1, axis=0) - pts
        turn = before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0]
        corners.append(pts[turn < -1e-12])
    return np.concatenate(corners) if corners else np.zeros((0, 2))


def _orientation(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Twice the signed area of triangles (a, b, c), (...)."""
    return (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (c[..., 0] - a[..., 0])


def crossings(p: torch.Tensor, q: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Edges (N, 2, 2) the segments p-q (..., 2) cross properly (touching at a corner is no crossing), (...)."""
    a, b = p[..., None, :], q[..., None, :]
    c, d = edges[:, 0], edges[:, 1]
    side_cd = _orientation(a, b, c) * _orientation(a, b, d)
    side_ab = _orientation(c, d, a) * _orientation(c, d, b)
    return ((side_cd < -_CROSS_EPS) & (side_ab < -_CROSS_EPS)).sum(-1)


class FreePathFeatures(nn.Module):
    """(emitter (B, 2), listener (B, 2)) metres -> (B, N_FREE_PATH_FEATURES) free-path features of a plan.

    The plan is the free space's rings (exterior first, then holes, metres; `FieldShape.plan`). Everything is
    derived from it at construction (buffers, not saved: the checkpoint stores the plan)."""

    def __init__(self, rings: tuple[tuple[tuple[float, float], ...], ...]) -> None:
        super().__init__()
        if not rings:
            raise ValueError("free-path features need the scene's plan; train with a scene")
        polygon = shapely.Polygon(rings[0], list(rings[1:]) or None)
        corners = reflex_corners(polygon)
        n = len(corners)
        dist = np.full((n, n), np.inf)
        if n:
            i, j = np.triu_indices(n, 1)
            lines = shapely.linestrings(np.stack([corners[i], corners[j]], axis=1))
            seen = np.asarray(shapely.covers(polygon, lines), bool)
            length = np.linalg.norm(corners[i] - corners[j], axis=1)
            graph = np.zeros((n, n))
            graph[i[seen], j[seen]] = length[seen]
            dist = shortest_path(graph, method="D", directed=False)
        self.register_buffer("edges", torch.tensor(plan_edges(rings), dtype=torch.float32), persistent=False)
        self.register_buffer("corners", torch.tensor(corners, dtype=torch.float32), persistent=False)
        self.register_buffer(
            "corner_dist", torch.tensor(np.minimum(dist, 1e6), dtype=torch.float32), persistent=False
        )

    def shortest_path_length(
        self, emitter: torch.Tensor, listener: torch.Tensor, walls: torch.Tensor, straight: torch.Tensor
    ) -> torch.Tensor:
        """(B,) metres of the shortest free path: `straight` (B,) where no wall is crossed (`walls` (B,) 0),
        else round the reflex corners."""
        if len(self.corners) == 0:
            return torch.where(walls == 0, straight, torch.full_like(straight, _UNREACHABLE_M))
        corners = self.corners.expand(len(emitter), -1, -1)

        def to_corners(p: torch.Tensor) -> torch.Tensor:  # (B, V) metres to each visible corner, inf if hidden
            seen = crossings(p[:, None, :].expand_as(corners), corners, self.edges) == 0
            d = torch.linalg.vector_norm(corners - p[:, None, :], dim=-1)
            return torch.where(seen, d, torch.full_like(d, torch.inf))

        via = (to_corners(emitter)[:, :, None] + self.corner_dist).amin(1)  # (B, V) emitter -> corner v
        around = (via + to_corners(listener)).amin(1).clamp(max=_UNREACHABLE_M)
        return torch.where(walls == 0, straight, around)

    @torch.no_grad()
    def forward(self, emitter: torch.Tensor, listener: torch.Tensor) -> torch.Tensor:
        """See the class docstring and N_FREE_PATH_FEATURES (positions of any float dtype; features float32)."""
        emitter, listener = emitter.to(self.edges.dtype), listener.to(self.edges.dtype)
        walls = crossings(emitter, listener, self.edges)
        straight = torch.linalg.vector_norm(emitter - listener, dim=-1)
        length = self.shortest_path_length(emitter, listener, walls, straight)
        return torch.stack(
            [
                (walls == 0).to(emitter.dtype),
                (walls.to(emitter.dtype) / 2).clamp(max=4) / 4,
                ((length - straight) / 4).clamp(0, 2),
                (length / 10).clamp(max=2),
            ],
            dim=-1,
        )
