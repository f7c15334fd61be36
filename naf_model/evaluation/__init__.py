"""Evaluation of a field against interpolation baselines and the simulation floor (`naf eval`).

Modules: `metrics` (spectral, T60, C50, EDT), `baselines` (nearest / linear interpolation), `codecs`
(AAC-LC / Opus round trips), `floor` (repeat simulations), `report` (markdown + JSON), `runner`
(`evaluate`). The defaults live here so `naf --help` need not import numpy-heavy modules.
"""

from naf_model.paths import REPO_ROOT

DEFAULT_MAX_PAIRS = 200
"""Held-out pairs scored by default: all rows of apartment_1 in about 10 minutes on 2 cores."""
DEFAULT_FLOOR_PAIRS = 48
"""Held-out pairs simulated a second time for the floor row."""
RESULTS_DIR = REPO_ROOT / "docs" / "results"
