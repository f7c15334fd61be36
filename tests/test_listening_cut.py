"""scripts/listening_cut.py: the listening metrics of IRs cut at an old length, per pair, with intervals."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from script_helpers import SCRIPTS, load_script

from naf_model.evaluation.listening import listening_errors

FS = 22_050


def _decays(rng: np.random.Generator, n: int, seconds: float, t60: float) -> np.ndarray:
    """n binaural noise decays (n, 2, samples) of T60 `t60`, each after a direct pulse at 5 ms."""
    t = np.arange(int(seconds * FS)) / FS
    x = rng.standard_normal((n, 2, len(t))) * 10 ** (-3 * t / t60) * 0.05
    x[..., int(0.005 * FS)] = 1.0
    return x


def test_a_cut_scores_the_first_samples_only_and_none_scores_the_whole() -> None:
    cut = load_script("listening_cut")
    rng = np.random.default_rng(0)
    gt, pred = _decays(rng, 4, 2.0, 1.5), _decays(rng, 4, 2.0, 1.5)
    pred[..., int(0.6 * FS) :] *= 4.0  # a tail 12 dB too loud after 0.6 s: the cut must not see it
    los = np.ones(4, bool)
    whole = cut.cut_errors(pred, gt, los, None)
    short = cut.cut_errors(pred, gt, los, int(0.6 * FS))
    direct = listening_errors(pred[..., : int(0.6 * FS)], gt[..., : int(0.6 * FS)], los)
    assert np.array_equal(short.envelope, direct.envelope) and np.array_equal(short.late, direct.late)
    assert np.array_equal(whole.envelope, listening_errors(pred, gt, los).envelope)
    assert np.all(short.envelope < 1.0) and np.all(whole.envelope > 3.0), (short.envelope, whole.envelope)


def test_pairs_average_their_headings_and_the_interval_holds_the_mean() -> None:
    cut = load_script("listening_cut")
    rng = np.random.default_rng(1)
    gt, pred = _decays(rng, 8, 1.0, 0.8), _decays(rng, 8, 1.0, 0.8)
    errors = cut.cut_errors(pred, gt, np.ones(8, bool), None)
    pairs = cut.per_pair(errors, 4)
    assert set(pairs) == {name for name, *_ in cut.COLUMNS}
    assert np.allclose(pairs["c50"], errors.c50.reshape(2, 4).mean(1))
    values = rng.normal(1.0, 0.2, 200)
    lo, hi = cut.bootstrap(values, 500)
    assert lo < values.mean() < hi and hi - lo < 0.1, (lo, hi)
    text = cut.table({"field, cut at 0.6 s": pairs}, 100)
    assert text.count("\n") == 2 and "field, cut at 0.6 s" in text


def test_bad_input_gives_one_line(tmp_path) -> None:
    script = SCRIPTS / "listening_cut.py"
    cases = (["--scene", "apartment_1", "--offgrid", "0"], ["--scene", "apartment_1", "--cut", "0.01"],
             ["--scene", "apartment_1", "--checkpoint", str(tmp_path / "none.pt")])  # fmt: skip
    for bad in cases:
        run = subprocess.run([sys.executable, str(script), *bad], capture_output=True, text=True, timeout=300,
                             cwd=tmp_path)  # fmt: skip
        lines = (run.stdout + run.stderr).strip().splitlines()
        assert run.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), (bad, lines)
