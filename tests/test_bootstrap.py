"""Bootstrap intervals over pairs and the paired comparison of two methods."""

from __future__ import annotations

import numpy as np

from naf_model.evaluation import bootstrap


def skewed_errors(n: int, seed: int) -> np.ndarray:
    """Per-pair errors shaped like T60 errors: mostly small, a long right tail."""
    return np.random.default_rng(seed).gamma(1.5, 0.04, n)


def test_intervals_contain_the_mean_and_shrink_with_more_pairs() -> None:
    widths = []
    for n in (30, 300, 3000):
        for seed in range(5):
            x = skewed_errors(n, seed)
            lo, hi = bootstrap.mean_interval(x, bootstrap.resample_indices(n, 1000, seed))
            assert lo < x.mean() < hi
        widths.append(hi - lo)
    # the width of a mean's interval falls like 1 / sqrt(n): ten times the pairs, about a third the width
    assert widths[0] > widths[1] > widths[2]
    assert 0.2 < widths[1] / widths[0] < 0.5 and 0.2 < widths[2] / widths[1] < 0.5


def test_resamples_are_seeded_and_shared() -> None:
    a, b = bootstrap.resample_indices(50, 200, 3), bootstrap.resample_indices(50, 200, 3)
    assert np.array_equal(a, b) and a.shape == (200, 50) and a.min() >= 0 and a.max() < 50
    assert not np.array_equal(a, bootstrap.resample_indices(50, 200, 4))


def test_per_pair_means_over_orientations() -> None:
    items = np.arange(12.0)  # 3 pairs x 4 orientations, pair-major
    np.testing.assert_allclose(bootstrap.per_pair(items, 4), [1.5, 5.5, 9.5])


def test_paired_comparison_counts_wins_and_measures_the_gap() -> None:
    rng = np.random.default_rng(0)
    b = skewed_errors(400, 1)
    a = b * 0.8  # better on every pair
    draws = bootstrap.resample_indices(400, 500, 0)
    c = bootstrap.paired_comparison("t60_pct", "A", a, "B", b, draws)
    assert c.win_share == 1.0 and c.win_share_ci == (1.0, 1.0)
    assert abs(c.ratio - 0.8) < 1e-12 and c.ratio_ci[0] <= 0.8 <= c.ratio_ci[1]
    assert c.mean_diff < 0 and c.mean_diff_ci[1] < 0
    # noise around equal errors: about half the pairs won, the interval holds one half and no gap is seen
    a2 = b + rng.normal(0, 0.01, 400)
    c2 = bootstrap.paired_comparison("t60_pct", "A", a2, "B", b, draws)
    assert c2.win_share_ci[0] < 0.5 < c2.win_share_ci[1]
    assert c2.mean_diff_ci[0] < 0 < c2.mean_diff_ci[1]
    # ties count half
    assert bootstrap.paired_comparison("x", "A", b, "B", b, draws).win_share == 0.5
