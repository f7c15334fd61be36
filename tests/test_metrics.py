"""Evaluation metrics against closed forms on synthetic impulse responses with a known decay."""

from __future__ import annotations

import numpy as np
import pytest

from naf_model.acoustics import bands, decay, readout
from naf_model.audio.bands import band_weights
from naf_model.conventions import SAMPLE_RATE
from naf_model.evaluation import metrics
from naf_model.spectrogram import frames_for_length, log_magnitude

FS = SAMPLE_RATE


def decaying_noise(t60: float, n: int, seed: int, delay: int = 0, channels: int = 1) -> np.ndarray:
    """Gaussian noise under an exp envelope that loses 60 dB of energy in `t60` seconds, (channels, n)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n - delay) / FS
    tail = rng.standard_normal((channels, n - delay)) * 10 ** (-3 * t / t60)
    return np.concatenate([np.zeros((channels, delay)), tail], axis=1)


@pytest.mark.parametrize("t60", [0.2, 0.4, 0.7])
def test_rt60_of_exponential_noise(t60: float) -> None:
    x = decaying_noise(t60, int(2.5 * t60 * FS), seed=1, delay=100, channels=3)
    measured = decay.rt60(x)
    assert measured.shape == (3,)
    assert np.all(np.abs(measured - t60) / t60 < 0.05)


def test_rt60_through_random_phase_inversion() -> None:
    """The metric path (log-magnitude -> random phase -> waveform) keeps T60 within a few per cent."""
    n = int(0.6 * FS)
    for t60 in (0.25, 0.4):
        x = decaying_noise(t60, n, seed=2, delay=300, channels=2)
        logmag = log_magnitude(x, frames_for_length(n))[None]  # (1, 2, 256, T)
        params = metrics.acoustic_parameters(logmag, n, seed=0)
        assert np.all(np.abs(params.t60 - t60) / t60 < 0.08), params.t60


def test_rt60_failures_are_nan_and_count_as_full_error() -> None:
    silent = np.zeros((2, 1000))
    assert np.all(np.isnan(decay.rt60(silent)))
    err = metrics.relative_error(np.array([np.nan, 0.5, 0.5]), np.array([0.5, np.nan, 0.4]))
    np.testing.assert_allclose(err, [1.0, 1.0, 0.25])


def test_c50_matches_closed_form_for_exponential_envelope() -> None:
    """Energy exp(-2at): C50 = 10 log10((1 - e^{-2a T}) / (e^{-2a T} - e^{-2a L})) from the onset."""
    t60, delay, n = 0.5, 441, int(1.0 * FS)
    a = 3 * np.log(10) / t60  # amplitude decay rate, 1/s
    t = np.arange(n - delay) / FS
    x = np.concatenate([np.zeros(delay), np.exp(-a * t)])
    length = (n - delay) / FS
    early = 1 - np.exp(-2 * a * decay.C50_EARLY_S)
    late = np.exp(-2 * a * decay.C50_EARLY_S) - np.exp(-2 * a * length)
    assert decay.direct_onset(x) == delay
    assert decay.c50(x) == pytest.approx(10 * np.log10(early / late), abs=0.05)


@pytest.mark.parametrize("t60", [0.3, 0.8])
def test_edt_equals_t60_for_a_single_exponential(t60: float) -> None:
    """A pure exponential decays linearly in dB, so the early decay time equals the reverberation time."""
    delay, n = 200, int(2.5 * t60 * FS)
    t = np.arange(n - delay) / FS
    x = np.concatenate([np.zeros(delay), 10 ** (-3 * t / t60)])
    assert decay.edt(x[None])[0] == pytest.approx(t60, rel=0.01)


def test_edt_sees_a_fast_early_decay_that_t60_ignores() -> None:
    """Double slope: a strong fast early part then a slow tail gives EDT < T60(30 dB fit)."""
    n = int(1.2 * FS)
    t = np.arange(n) / FS
    env = 10 ** (-3 * t / 0.1) + 0.03 * 10 ** (-3 * t / 0.8)
    x = np.random.default_rng(3).standard_normal(n) * env
    assert decay.edt(x) < 0.5 * decay.rt60(x)


def test_identical_inputs_give_zero_errors() -> None:
    n = int(0.5 * FS)
    x = np.stack([decaying_noise(0.3, n, seed=s, delay=50 * s, channels=2) for s in range(3)])  # (3, 2, n)
    logmag = log_magnitude(x, frames_for_length(n))
    gt = metrics.acoustic_parameters(logmag, n)
    errs = metrics.item_errors(logmag, logmag, gt, n)
    for name in ("spectral", "t60", "c50", "edt"):
        np.testing.assert_array_equal(getattr(errs, name), 0.0)
    assert errs.summary()["t60_fail_pct"] == 0.0


def test_errors_grow_with_the_mismatch() -> None:
    """A prediction with a longer decay has larger T60 and EDT errors and a lower C50."""
    n = int(0.6 * FS)
    gt_wave = decaying_noise(0.3, n, seed=4, delay=100, channels=2)[None]
    frames = frames_for_length(n)
    gt = log_magnitude(gt_wave, frames)
    params = metrics.acoustic_parameters(gt, n)
    errors = []
    for t60 in (0.33, 0.5):
        pred = log_magnitude(decaying_noise(t60, n, seed=5, delay=100, channels=2)[None], frames)
        errors.append(metrics.item_errors(pred, gt, params, n).summary())
    assert errors[0]["t60_pct"] < errors[1]["t60_pct"]
    assert errors[0]["edt_pct"] < errors[1]["edt_pct"]
    assert errors[0]["c50_db"] < errors[1]["c50_db"]
    assert 30 < errors[1]["t60_pct"] < 110  # truth is +67 %


def test_spectral_error_is_mean_absolute_difference() -> None:
    gt = np.zeros((2, 2, 256, 5), np.float32)
    pred = gt.copy()
    pred[1] += 0.5
    np.testing.assert_allclose(metrics.spectral_error(pred, gt), [0.0, 0.5])


def test_paper_phase_is_the_papers_legacy_draw() -> None:
    np.random.seed(1234)
    expected = np.random.uniform(-np.pi, np.pi, (257, 50))
    np.testing.assert_array_equal(metrics.paper_phase(50), expected)
    wave = metrics.paper_waveforms_from_log(np.full((2, 256, 50), 3.0))  # |X| = e^3: clipped into [-1, 1]
    assert wave.shape == (2, 128 * 49) and np.abs(wave).max() <= 1.0


def test_paper_rule_counts_an_item_with_any_failed_t60_as_full_error() -> None:
    def params(t60: list[list[float]]) -> metrics.AcousticParameters:
        a = np.array(t60)
        return metrics.AcousticParameters(a, np.zeros_like(a), np.full_like(a, 0.3))

    gt = params([[0.5, 0.5], [0.5, np.nan], [0.4, 0.4]])
    pred = params([[0.6, 0.5], [0.5, 0.5], [np.nan, 0.4]])
    spectral = np.zeros(3)
    paper = metrics.errors_from_parameters(spectral, pred, gt, any_fail=True)
    naf = metrics.errors_from_parameters(spectral, pred, gt, any_fail=False)
    np.testing.assert_allclose(paper.t60, [0.1, 1.0, 1.0])
    np.testing.assert_allclose(naf.t60, [0.1, 0.5, 0.5])
    np.testing.assert_array_equal(paper.t60_failures, [0, 1, 1])


@pytest.mark.parametrize("band_hz", [250, 1000, 8000])
def test_a_band_t60_reads_the_band_decay_not_the_onset_ringing(band_hz):
    """A strong direct pulse over a 1 s noise decay: each octave band's T60 is the decay's. A brick-wall band
    rang with the pulse for the whole IR and read the 1 kHz band at 12.6 s."""
    fs = 22_050
    t = np.arange(2 * fs) / fs
    x = 0.05 * np.random.default_rng(0).standard_normal((1, 2, len(t))) * 10 ** (-3 * t / 1.0)  # 60 dB in 1 s
    x[..., 100] += 1.0
    assert readout.measure(x, "t60", band_hz=band_hz, fs=fs)[0] == pytest.approx(1.0, rel=0.05)


def test_the_octave_bands_share_out_the_spectrum_and_the_measured_band_falls_off_at_the_ends():
    freqs = np.fft.rfftfreq(4096, 1 / 22_050)
    np.testing.assert_allclose(np.square(band_weights(freqs)).sum(0), 1.0, atol=1e-12)
    closed = band_weights(freqs, open_ends=False)
    assert closed[0, freqs < 125 * 2**-0.75].max() < 1e-12  # the measured 125 Hz band ends below it ...
    assert closed[-1, -1] < 0.9 and band_weights(freqs)[-1, -1] == 1.0  # ... and the 8 kHz one falls above it
    with pytest.raises(ValueError):
        bands.octave_band(np.zeros(64), 300)


def test_the_stft_of_a_few_frames_reads_only_the_samples_they_cover() -> None:
    """`stft(x, n_frames)` (an IR's early part) equals the first frames of the whole signal's STFT and ignores
    what lies past its last frame: only those samples are converted and padded (a 4.8 s IR's early frames
    no longer copy the whole IR in float64)."""
    from naf_model.conventions import HOP, N_FFT
    from naf_model.spectrogram import stft

    x = np.random.default_rng(5).standard_normal((3, 2, 9000)).astype(np.float32)
    whole = stft(x)
    for t in (1, 7, 30, frames_for_length(9000)):
        np.testing.assert_array_equal(stft(x, t), whole[..., :t])
        changed = x.copy()
        changed[..., (t - 1) * HOP + N_FFT // 2 :] = 1.0  # past the last frame's window
        np.testing.assert_array_equal(stft(changed, t), stft(x, t))
    assert stft(x[..., :100], 5).shape == (3, 2, N_FFT // 2 + 1, 5)  # short signals are padded as before
