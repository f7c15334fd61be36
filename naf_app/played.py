"""What the app plays: the phase synthesis of every field IR (playback, calibration, heatmap, IR export;
named in `naf_model.rendering.ir_source`, which `naf ir` uses too) and the orientation rule of every IR at a
heading between the trained ones (field and simulation alike).

The field blends its two neighbouring orientations linearly in angle (`naf_model.orientation`); the
simulation's IRs at the four trained orientations are blended by the same rule, so the A/B compares like
with like at any heading.
"""

from __future__ import annotations

import numpy as np

from naf_model.conventions import ORIENTATIONS_DEG
from naf_model.orientation import blend_orientations, neighbouring_orientations
from naf_model.rendering.ir_source import PLAYED_PHASE, played_irs

__all__ = ["PLAYED_PHASE", "orientation_rule", "played_irs", "simulated_ir_at"]


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
