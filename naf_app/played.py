"""What the app plays, named once: the phase synthesis of every field IR (playback, calibration, heatmap)
and the orientation rule of every IR at a heading between the trained ones (field and simulation alike).

The field blends its two neighbouring orientations linearly in angle (`naf_model.orientation`); the
simulation's IRs at the four trained orientations are blended by the same rule, so the A/B compares like
with like at any heading.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from naf_model.conventions import ORIENTATIONS_DEG, PHASE_METHODS
from naf_model.orientation import blend_orientations, neighbouring_orientations

PLAYED_PHASE = PHASE_METHODS[0]
"""The phase synthesis of every IR the app plays and shows: the field's default ("listening"), the one
`naf render`, `naf walk` and `naf eval`'s played rows use too."""


def played_irs(field):
    """The field's IR function as played: (emitters (B, 2), listeners (B, 2), headings (B,)) -> (B, 2, N)
    float32 at 22,050 Hz, phase PLAYED_PHASE. Playback, the output level's calibration and the heatmap all
    use it."""
    return partial(field.impulse_responses, phase=PLAYED_PHASE)


def simulated_ir_at(irs: np.ndarray, heading: float) -> np.ndarray:
    """The simulation's IR (2, N) at `heading` degrees from its IRs (4, 2, N) at the trained orientations,
    by the field's own rule (`naf_model.orientation`: the two neighbours blended linearly in angle)."""
    return blend_orientations(np.asarray(irs)[None], np.array([float(heading)]))[0]


def orientation_rule(heading: float) -> str:
    """One line saying how an IR at `heading` degrees is made from the trained orientations: the rule both
    sides of the A/B use (the UI shows it)."""
    lower, upper, weight = (float(v[0]) for v in neighbouring_orientations(np.array([float(heading)])))
    a, b = ORIENTATIONS_DEG[int(lower)], ORIENTATIONS_DEG[int(upper)]
    if weight < 1e-9:
        return f"both at trained orientation {a:.0f}°"
    return (f"both blend {a:.0f}° ({100 * (1 - weight):.0f} %) and {b:.0f}° ({100 * weight:.0f} %) "
            "linearly in angle")
