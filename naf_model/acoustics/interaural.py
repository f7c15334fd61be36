"""Interaural measures of binaural waveforms: ITD from the ears' direct-sound onsets, ILD per octave band;
and the spectral front/back cue (`front_back_db`), which a head without pinnae lacks.

The ITD is the difference of the two ears' direct-sound onsets; the lag of the interaural cross-correlation
maximum was tried first and is biased by the simulator's head-shadow filter, whose phase differs between
the ears (sign errors of ~600 us on line-of-sight pairs of apartment_1).
"""

from __future__ import annotations

import numpy as np

from naf_model.acoustics.bands import octave_mask
from naf_model.acoustics.decay import first_onset
from naf_model.acoustics.energy import ratio_db
from naf_model.conventions import SAMPLE_RATE
from naf_model.simulate.config import SimulationConfig
from naf_model.simulate.rirs import early_renderer
from naf_model.simulate.room import Arrivals

ITD_MAX_LAG_S = 0.001
ONSET_FRACTION = 0.5
"""An ear's direct sound starts where its amplitude first reaches this fraction of its direct peak."""
ITD_SEGMENT_S = (0.001, 0.0011)
"""The direct-sound segment for the ITD: this long before and after the earlier ear's onset (the later ear's
direct sound lies within ITD_MAX_LAG_S; a reflection a little later must not count as it)."""
ILD_BANDS_HZ = (500, 1000, 2000, 4000, 8000)
DIRECT_RENDER_DELAY_S = 0.004
"""Where `direct_sound_itd` puts the head centre's direct arrival: the ITD does not depend on the common
delay, only on the direction, so every item is rendered at this delay into a short IR."""
DIRECT_RENDER_TAIL = 512
"""Samples rendered after that delay: more than a measured HRIR (256 taps at 22,050 Hz for MIT KEMAR) or
the spherical head's delays and shadow filter need."""


def interaural_delay(x: np.ndarray, fs: int = SAMPLE_RATE) -> np.ndarray:
    """ITD (B,) seconds of (B, 2, N), positive when the right ear hears the direct sound later (a source on
    the left): the difference of the ears' direct-sound onsets, each the first crossing (linearly
    interpolated between samples) of half the ear's peak amplitude within the direct-sound segment
    (ITD_SEGMENT_S around the earlier ear's onset). Clipped to +-ITD_MAX_LAG_S."""
    onset = first_onset(x)
    before, after = (int(round(s * fs)) for s in ITD_SEGMENT_S)
    out = np.zeros(len(x))
    for i, (xi, o) in enumerate(zip(np.abs(np.asarray(x, np.float64)), onset, strict=True)):
        seg = xi[:, max(int(o) - before, 0) : int(o) + after]
        times = []
        for ear in seg:
            level = ONSET_FRACTION * ear.max()
            k = int(np.argmax(ear >= level))
            frac = 0.0 if k == 0 else (level - ear[k - 1]) / max(ear[k] - ear[k - 1], 1e-30)
            times.append(k - 1 + frac if k else 0.0)
        out[i] = np.clip((times[1] - times[0]) / fs, -ITD_MAX_LAG_S, ITD_MAX_LAG_S)
    return out


def direct_sound_itd(
    emitters: np.ndarray, listeners: np.ndarray, headings_deg: np.ndarray, simulation: SimulationConfig
) -> np.ndarray:
    """The ITD (B,) seconds of the direct arrival alone: for emitters, listeners (B, 2) m at ear height and
    headings (B,) deg, the simulator renders one arrival from the emitter's direction through the ears of
    `simulation` (`simulate.rirs.early_renderer`: the spherical head or a measured HRIR set; flat band
    amplitudes), and `interaural_delay` measures it as it measures any waveform. The reference ITD of
    line-of-sight items that no reflection or ray-traced energy can move."""
    d = np.asarray(emitters, np.float64) - np.asarray(listeners, np.float64)
    azimuth = np.arctan2(d[:, 1], d[:, 0]) - np.deg2rad(np.asarray(headings_deg, np.float64))
    render = early_renderer(simulation)
    n = 1 << int(np.ceil(np.log2(DIRECT_RENDER_DELAY_S * SAMPLE_RATE + DIRECT_RENDER_TAIL)))
    out = np.empty((len(d), 2, n))
    for i, a in enumerate(azimuth):  # relative to the head: the heading-0 orientation of the render
        arrival = Arrivals(np.array([DIRECT_RENDER_DELAY_S]), np.array([[np.cos(a), np.sin(a), 0.0]]),
                           np.ones((1, 7)))
        out[i] = render(arrival, n)[0]
    return interaural_delay(out)


def band_ild(x: np.ndarray, fs: int = SAMPLE_RATE) -> np.ndarray:
    """ILD (B, len(ILD_BANDS_HZ)) dB, left over right energy per octave band, of (B, 2, N)."""
    spectrum = np.abs(np.fft.rfft(np.asarray(x, np.float64), axis=-1)) ** 2
    freqs = np.fft.rfftfreq(x.shape[-1], 1.0 / fs)
    out = []
    for fc in ILD_BANDS_HZ:
        e = (spectrum * octave_mask(freqs, fc)).sum(-1)
        out.append(ratio_db(e[:, 0], e[:, 1]))
    return np.stack(out, axis=-1)


FRONT_BACK_BANDS_HZ = (4000, 5000, 6300, 8000, 10000)
"""Third-octave bands of the front/back cue: pinnae shape the spectrum there (a spherical head does not)."""


def front_back_db(front: np.ndarray, back: np.ndarray, fs: int = SAMPLE_RATE) -> np.ndarray:
    """Level of a sound from the front over the same sound from behind, (B, 2 ears, len(FRONT_BACK_BANDS_HZ))
    dB, per third-octave band (edges fc 2^(+-1/6)) of waveforms front, back (B, 2, N)."""
    spectra = [np.abs(np.fft.rfft(np.asarray(x, np.float64), axis=-1)) ** 2 for x in (front, back)]
    freqs = np.fft.rfftfreq(np.shape(front)[-1], 1.0 / fs)
    out = []
    for fc in FRONT_BACK_BANDS_HZ:
        band = (freqs >= fc * 2 ** (-1 / 6)) & (freqs < fc * 2 ** (1 / 6))
        out.append(ratio_db(spectra[0][..., band].sum(-1), spectra[1][..., band].sum(-1)))
    return np.stack(out, axis=-1)
