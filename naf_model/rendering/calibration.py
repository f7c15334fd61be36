"""The session's output level for an emitter: which reference IRs set it, one rule for the app and the renders.

The gain itself is `naf_model.audio.session_gain` (music as the emitter plays it, through the loudest
reference IR, at the target RMS). The references are the emitter heard at the free grid points nearest to it,
none closer than a head fits: `reference_irs(scene, irs, emitter)` with any IR function (the simulator, the
field's `impulse_responses`), so `naf render`, `naf walk` and the app give one emitter the same gain.
"""

from __future__ import annotations

import numpy as np

from naf_model.errors import AudioError
from naf_model.rendering.ir_source import IRFunction

CALIBRATION_LISTENERS = 16
CALIBRATION_SPACING_M = 0.5
CALIBRATION_MIN_DISTANCE_M = 0.5
CALIBRATION_HEADING_DEG = 0.0


def calibration_spots(scene, emitter: np.ndarray, count: int = CALIBRATION_LISTENERS,
                      spacing: float = CALIBRATION_SPACING_M) -> np.ndarray:
    """The `count` free grid points nearest to `emitter` but at least CALIBRATION_MIN_DISTANCE_M from it,
    (count, 2) metres, nearest first: the spots whose loudest IR sets the gain (none closer: a head does not
    fit there)."""
    em = np.asarray(emitter, np.float64).reshape(2)
    grid = np.asarray(scene.sample_grid(spacing), np.float64).reshape(-1, 2)
    dist = np.hypot(grid[:, 0] - em[0], grid[:, 1] - em[1])
    order = np.argsort(dist, kind="stable")
    order = order[dist[order] >= CALIBRATION_MIN_DISTANCE_M]
    return grid[order[:count]]


def reference_irs(scene, irs: IRFunction, emitter: np.ndarray) -> np.ndarray:
    """IRs (B, 2, N) at 22,050 Hz from `emitter` to its `calibration_spots`, heading 0, for `session_gain`.

    AudioError if the scene has no free grid point far enough from the emitter (a plan smaller than a head).
    """
    spots = calibration_spots(scene, emitter)
    if len(spots) == 0:
        raise AudioError(f"no free {CALIBRATION_SPACING_M} m grid point is {CALIBRATION_MIN_DISTANCE_M} m or more "
                         "from the emitter, so there is no reference IR to set the output level")
    emitters = np.broadcast_to(np.asarray(emitter, np.float64).reshape(2), spots.shape)
    return np.asarray(irs(emitters, spots, np.full(len(spots), CALIBRATION_HEADING_DEG)))
