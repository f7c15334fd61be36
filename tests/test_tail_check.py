"""scripts/tail_check.py: where an IR ends, and whether its last half second still decays as it did or lies flat
in a noise floor."""

from __future__ import annotations

import numpy as np
from script_helpers import load_script

FS = 22_050


def test_decay_rates_tell_a_decay_from_a_noise_floor() -> None:
    tail = load_script("tail_check")
    rng = np.random.default_rng(0)
    t = np.arange(int(2.0 * FS)) / FS
    decaying = rng.standard_normal((2, len(t))) * 10 ** (-3 * t / 1.0)  # 60 dB in 1 s: -60 dB/s in level
    floored = decaying + 1e-3 * rng.standard_normal((2, len(t)))  # meets a floor 60 dB down at 1 s
    end, main = tail.decay_rates(np.stack([decaying, floored]))
    assert np.allclose(main, -60.0, rtol=0.1), main  # both decay alike from -20 to -40 dB
    assert abs(end[0] + 60.0) < 6.0 and abs(end[1]) < 6.0, end  # still falling at the end, or flat
    ends = tail.last_window_db(np.stack([decaying, floored]))
    assert ends[0] < -100 and -65 < ends[1] < -55, ends
