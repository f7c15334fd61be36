"""A plan for imported data that comes without one: the free space derived from the measured positions.

Imported IRs (the paper's metadata, SoundSpaces folders, MeshRIR) name positions but no walls. The app, the
grids of the field and the free-position tests need a plan, so one is derived: the concave hull of every
emitter and listener position (shapely, ratio CONCAVE_RATIO), grown by MARGIN_M, its holes filled. It is a
guess at the free space, not the room: the scene says so (`Scene.derived_from`), the app shows it, and the
simulator refuses it (no walls are known).
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon

from naf_model.conventions import EAR_HEIGHT_M
from naf_model.errors import DataError
from naf_model.scene import Room, Scene

CONCAVE_RATIO = 0.5
"""shapely.concave_hull's ratio: 1 is the convex hull; lower follows the positions of an L-shaped flat."""
MARGIN_M = 0.5
"""Metres the hull is grown by: every position lies at least this far (less SIMPLIFY_M) inside the plan, more
than the 0.2 m wall clearance the free-position test asks."""
SIMPLIFY_M = 0.02
"""Metres of simplification of the grown outline, which keeps its vertex count small."""
CEILING_M = 2.6
"""A ceiling height for the scene form (unknown for imported data, and used only by the simulator, which
refuses a derived plan)."""


def derived_plan(positions: np.ndarray) -> Polygon:
    """The derived free space of positions (N, 2) metres: a polygon without holes, counter-clockwise."""
    points = np.asarray(positions, np.float64).reshape(-1, 2)
    if len(points) == 0 or not np.isfinite(points).all():
        raise DataError("the imported positions are empty or not finite; no free space can be derived")
    hull = shapely.concave_hull(MultiPoint(points), ratio=CONCAVE_RATIO)
    grown = hull.buffer(MARGIN_M, quad_segs=2).simplify(SIMPLIFY_M)
    if not isinstance(grown, Polygon):  # pieces far apart: their convex hull joins them
        grown = MultiPoint(points).convex_hull.buffer(MARGIN_M, quad_segs=2).simplify(SIMPLIFY_M)
    return shapely.geometry.polygon.orient(Polygon(grown.exterior), 1.0)


def plan_note(what: str) -> str:
    """The sentence a derived scene carries (`Scene.derived_from`)."""
    return (f"plan derived from the positions of {what}: their concave hull grown by {MARGIN_M:g} m (no walls "
            "are known)")


def derived_scene(name: str, positions: np.ndarray, what: str) -> Scene:
    """A one-room scene whose free space is `derived_plan(positions)`, zero-thickness walls, marked derived."""
    plan = derived_plan(positions)
    room = Room("free space", plan, "wood", "plaster", "plaster")
    return Scene(name, [room], ceiling_height=CEILING_M, ear_height=EAR_HEIGHT_M, wall_thickness=0.0,
                 derived_from=plan_note(what))
