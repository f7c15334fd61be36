"""The ears of a played IR's direct sound: the same ears as the data set the field learnt from.

A listening synthesis (`listening.listening_ir`) places the free-field direct sound coherently on line of
sight. It must be the simulator's own, so that the played ITD, ILD and spectral cues are those of the data:
- `SphericalHead` (settings without `hrtf`, and every field made before measured ears): 1/r through Brown &
  Duda's head-shadow filter at each ear's Woodworth delay;
- `MeasuredHead` (settings naming an HRIR set, the MIT KEMAR one by default): the HRIR of the source's
  direction chosen by the simulator's rule (`hrtf.hrir_weights`, the settings' `hrtf_method`), scaled 1/r and
  delayed as the simulator delays it (head centre at distance / c, each ear at its own onset).
`ears_for(settings)` picks one from a data set's or checkpoint's simulation settings; a measured set that is
not on this machine is an HrtfError (one line).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from naf_model.conventions import HEAD_RADIUS_M, N_FFT, N_FREQ, SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.field.phase import ear_delays
from naf_model.simulate.binaural import shadow_alpha
from naf_model.simulate.hrtf import HrirSet, hrir_weights

START_FRACTION = 0.05
"""A measured ear's direct sound starts at its first sample reaching this fraction of its peak: what comes
before (resampling ripple) is left to the causal gate."""


def _geometry(emitters: np.ndarray, listeners: np.ndarray, headings_deg: np.ndarray) -> tuple[np.ndarray, ...]:
    """Distance (B,) m (at least 1 mm) and azimuth (B,) rad of each emitter seen from its listener's head."""
    d = np.asarray(emitters, np.float64).reshape(-1, 2) - np.asarray(listeners, np.float64).reshape(-1, 2)
    dist = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-3)
    azimuth = np.arctan2(d[:, 1], d[:, 0]) - np.deg2rad(np.asarray(headings_deg, np.float64).reshape(-1))
    return dist, azimuth


@dataclass(frozen=True)
class SphericalHead:
    """The simulator's spherical head of `radius` metres."""

    radius: float = HEAD_RADIUS_M

    def delays(self, emitters: np.ndarray, listeners: np.ndarray, headings_deg: np.ndarray) -> np.ndarray:
        """Direct-sound arrival at (left, right) ear, (B, 2) seconds (`phase.ear_delays`, Woodworth)."""
        return ear_delays(emitters, listeners, headings_deg, self.radius)

    def direct(
        self, emitters: np.ndarray, listeners: np.ndarray, headings_deg: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The free-field direct sound at each ear, (B, 2, N_FREQ) complex64 on the STFT grid without its
        delay, and the delays (B, 2) s: amplitude 1 / distance (1 at 1 m) through Brown & Duda's head-shadow
        filter (1 + j alpha w / 2 w0) / (1 + j w / 2 w0), w0 = c / a, alpha from the angle between the ear's
        axis and the source (`simulate.binaural.shadow_alpha`); air absorption (< 0.5 dB over 5 m at 8 kHz)
        is left out."""
        dist, azimuth = _geometry(emitters, listeners, headings_deg)
        axes = np.array([np.pi / 2, -np.pi / 2])  # left, right ear axes in the head frame
        psi = np.abs(np.angle(np.exp(1j * (azimuth[:, None] - axes))))  # (B, 2) in [0, pi]
        alpha = shadow_alpha(psi)
        r = 2 * np.pi * np.arange(N_FREQ) * (SAMPLE_RATE / N_FFT) * self.radius / (2 * SPEED_OF_SOUND)
        shadow = (1 + 1j * alpha[..., None] * r) / (1 + 1j * r)
        return (shadow / dist[:, None, None]).astype(np.complex64), self.delays(emitters, listeners, headings_deg)


@dataclass(frozen=True, eq=False)
class MeasuredHead:
    """A measured HRIR set (`simulate.hrtf.HrirSet`) used as the simulator uses it, `method` its rule."""

    hrirs: HrirSet
    method: str = "nearest"

    def responses(self, emitters: np.ndarray, listeners: np.ndarray, headings_deg: np.ndarray) -> np.ndarray:
        """The HRIRs (B, 2, K) at 22,050 Hz of each source's direction in its listener's head frame, as the
        simulator picks and blends them (horizontal: emitter and listener share the ear height)."""
        _, azimuth = _geometry(emitters, listeners, headings_deg)
        head = np.stack([np.cos(azimuth), np.sin(azimuth), np.zeros_like(azimuth)], axis=-1)
        idx, w = hrir_weights(head, self.hrirs, self.method)  # (B, J)
        return np.einsum("bj,bjek->bek", w, self.hrirs.irs[idx])

    def _starts(self, responses: np.ndarray) -> np.ndarray:
        """First sample (B, 2) of each ear's response reaching START_FRACTION of its peak."""
        mag = np.abs(responses)
        return np.argmax(mag >= START_FRACTION * mag.max(-1, keepdims=True), axis=-1)

    def delays(self, emitters: np.ndarray, listeners: np.ndarray, headings_deg: np.ndarray) -> np.ndarray:
        """Where each ear's direct sound starts, (B, 2) seconds: distance / c at the head centre (the set's
        `lead` sample), each ear at its response's start."""
        return self._placed(emitters, listeners, headings_deg, self.responses(emitters, listeners, headings_deg))

    def _placed(self, emitters, listeners, headings_deg, responses: np.ndarray) -> np.ndarray:
        dist, _ = _geometry(emitters, listeners, headings_deg)
        return dist[:, None] / SPEED_OF_SOUND + (self._starts(responses) - self.hrirs.lead) / SAMPLE_RATE

    def direct(
        self, emitters: np.ndarray, listeners: np.ndarray, headings_deg: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The free-field direct sound at each ear, (B, 2, N_FREQ) complex64 on the STFT grid from each ear's
        start on, amplitude 1 / distance (the set is scaled to 1 at 1 m), and the starts (B, 2) s
        (`delays`); air absorption is left out, as for the spherical head."""
        dist, _ = _geometry(emitters, listeners, headings_deg)
        responses = self.responses(emitters, listeners, headings_deg)  # (B, 2, K)
        starts = self._starts(responses)
        k = responses.shape[-1]
        taps = starts[..., None] + np.arange(min(k, N_FFT))  # (B, 2, n): from each start on
        segment = np.where(taps < k, np.take_along_axis(responses, np.minimum(taps, k - 1), axis=-1), 0.0)
        spectra = np.fft.rfft(segment, n=N_FFT, axis=-1)[..., :N_FREQ] / dist[:, None, None]
        return spectra.astype(np.complex64), self._placed(emitters, listeners, headings_deg, responses)


Ears = SphericalHead | MeasuredHead


def ears_for(simulation: dict[str, Any]) -> Ears:
    """The ears of simulation settings (a data set's or checkpoint's `simulation`): the spherical head of
    `head_radius` without `hrtf`, else the measured set the hash names (`simulate.ears.hrir_set_for`,
    HrtfError when it is not on this machine)."""
    if not simulation.get("hrtf"):
        return SphericalHead(float(simulation.get("head_radius", HEAD_RADIUS_M)))
    from naf_model.simulate.ears import hrir_set_for

    return MeasuredHead(hrir_set_for(str(simulation["hrtf"])), str(simulation.get("hrtf_method", "nearest")))
