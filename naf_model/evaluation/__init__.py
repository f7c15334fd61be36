"""Evaluation of a field against interpolation baselines and the simulation floor (`naf eval`).

Modules: `metrics` (the paper's protocol; definitions in docs/metrics.md, measures in `naf_model.acoustics`),
`listening` (errors of the played waveform), `baselines` (nearest / linear interpolation), `codecs` (AAC-LC /
Opus round trips), `rows` (row identifiers, labels, rules, scorers), `pipeline` (query sets, the methods'
predictions, `score_rows`), `tables` (the rows of each table), `bootstrap`, `report` (markdown + JSON),
`runner` (`evaluate`). The defaults live here so `naf --help` need not import numpy-heavy modules.
"""

from naf_model.paths import REPO_ROOT

DEFAULT_MAX_PAIRS = 200
"""Held-out pairs scored by default: all rows of apartment_1 in about 10 minutes on 2 cores."""
DEFAULT_FLOOR_PAIRS = 48
"""Held-out pairs simulated a second time for the floor row."""
FLOOR_REPEATS = 3
"""Ray-tracer seeds the floor rows average (`data.floor` simulates one repeat per seed)."""
RESAMPLES = 1000
"""Bootstrap resamples per interval (bootstrap.RESAMPLES is this)."""
RESULTS_DIR = REPO_ROOT / "docs" / "results"
