"""Band T60s of a simulated plaster shoebox through naf's smooth octave bands and through brick-wall bands,
beside Eyring's: why the band measures (`acoustics.bands.octave_band`) filter through smooth bands.

    .venv/bin/python scripts/band_t60.py            # 5 x 4 x 3 m plaster room, 4 s IR, prints one line a band
"""

from __future__ import annotations

import numpy as np

from naf_model.acoustics import decay
from naf_model.acoustics.bands import octave_band, octave_mask
from naf_model.audio.bands import OCTAVE_CENTRES_HZ
from naf_model.conventions import SAMPLE_RATE
from naf_model.scene.examples import shoebox_scene
from naf_model.simulate import SimulationConfig, simulate_binaural_rirs
from naf_model.simulate.eyring import eyring_t60


def brick_wall(x: np.ndarray, fc: float) -> np.ndarray:
    """x (..., N) with every FFT bin outside [fc / sqrt 2, fc sqrt 2) set to zero (the band rule before)."""
    spectrum = np.fft.rfft(x, axis=-1)
    spectrum *= octave_mask(np.fft.rfftfreq(x.shape[-1], 1.0 / SAMPLE_RATE), fc)
    return np.fft.irfft(spectrum, x.shape[-1], axis=-1)


def main() -> None:
    scene = shoebox_scene(5.0, 4.0, 3.0, "plaster")
    config = SimulationConfig(ir_seconds=4.0)
    ir = simulate_binaural_rirs(scene, np.array([1.2, 1.1]), np.array([[3.6, 2.7]]), config)[0, 0].astype(np.float64)
    print("band | Eyring T60 (s) | brick-wall band (s) | smooth band (s)")
    for fc in OCTAVE_CENTRES_HZ:
        old, new = (float(np.nanmean(decay.rt60(f(ir, fc)))) for f in (brick_wall, octave_band))
        print(f"{fc} Hz | {eyring_t60(scene, fc):.2f} | {old:.2f} | {new:.2f}")


if __name__ == "__main__":
    main()
