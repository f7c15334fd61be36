"""A planar boundary surface of a scene, the unit the acoustic simulator consumes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class Surface:
    """One planar polygon of the room boundary.

    corners: (3, K) metres, K >= 3 coplanar points in order; material: a key of `MATERIALS`;
    kind: whether it is a vertical wall, a floor or a ceiling piece.
    """

    corners: np.ndarray
    material: str
    kind: Literal["wall", "floor", "ceiling"]
