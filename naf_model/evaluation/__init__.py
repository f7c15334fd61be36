"""Evaluation of a field against interpolation baselines and the simulation floor (`naf eval`).

Modules: `metrics` (the paper's protocol: spectral error, T60, C50, EDT of random-phase inversions;
definitions in docs/metrics.md, the measures themselves in `naf_model.acoustics`), `listening` (errors of
the played waveform), `baselines` (nearest / linear interpolation, the paper's and naf's), `codecs` (AAC-LC /
Opus round trips, the paper's per-file stereo rule and naf's per-channel streams), `rows` (scorers and the
rule of each row), `bootstrap` (intervals over pairs, paired comparison), `report` (markdown + JSON),
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
