"""The measured ears (MIT KEMAR, the default) beside the spherical head: ITD and ILD of a source at 90 degrees,
and the front/back difference, each measured on the simulator's IRs and, for KEMAR, on the set's own HRIRs.

    PYTHONPATH=$PWD .venv/bin/python scripts/ears_compare.py

The room is free-field-like: 12 x 12 x 6 m of acoustic panel, ears 3 m up, the source 2 m away; each IR is cut
4 ms after the direct sound, before the first reflection (the floor's, 12.6 ms after it). One simulation
gives the four head orientations: facing the source (front), turned away (back), the source on the left
(heading 270) and on the right (heading 90). The set's own figures come from slab's HRIRs, at 44.1 kHz as
measured and resampled to naf's 22,050 Hz (soxr, nothing else), measured by the same functions
(`acoustics.interaural`). "played": what the listening synthesis makes of the simulated magnitudes on line of
sight (the direct pulse through the data set's ears plus the frames' magnitudes as noise), as a field that
predicted them exactly would play them.
"""

from __future__ import annotations

import json

import numpy as np

from naf_model.acoustics import interaural
from naf_model.conventions import SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.scene import Scene
from naf_model.scene.examples import shoebox_scene
from naf_model.simulate import SimulationConfig, simulate_binaural_rirs
from naf_model.simulate.ears import kemar_sha256, read_kemar

DISTANCE_M = 2.0
WINDOW_S = 0.004
SUBSAMPLE_STEPS = 8
"""Listeners SUBSAMPLE_STEPS apart by 1/SUBSAMPLE_STEPS of a sample's travel: naf's ITD measure (half-peak
crossings, interpolated between samples) moves with where the arrival falls between two samples (MIT KEMAR,
90 deg, 22,050 Hz: 796-878 us), so the figures are means over these positions."""
FRONT, LEFT, BACK = 0, 3, 2  # orientation index (headings 0, 90, 180, 270) with the source at +x


def free_field_room() -> Scene:
    """The 12 x 12 x 6 m room of acoustic panel, ears 3 m up."""
    return Scene.from_dict({**shoebox_scene(12.0, 12.0, 6.0, "acoustic_panel").to_dict(), "ear_height": 3.0})


def free_field_irs(hrtf: str) -> np.ndarray:
    """(SUBSAMPLE_STEPS, 4 orientations, 2, N) direct-sound IRs of a source DISTANCE_M (plus a fraction of a
    sample's travel) ahead of heading 0, through the ears `hrtf` (a SimulationConfig setting)."""
    scene = free_field_room()
    config = SimulationConfig(ir_seconds=0.05, ism_order=1, n_rays=200, hrtf=hrtf)
    step = SPEED_OF_SOUND / SAMPLE_RATE / SUBSAMPLE_STEPS
    listeners = np.column_stack([4.0 - step * np.arange(SUBSAMPLE_STEPS), np.full(SUBSAMPLE_STEPS, 6.0)])
    irs = simulate_binaural_rirs(scene, (4.0 + DISTANCE_M, 6.0), listeners, config)
    return irs[..., : int((DISTANCE_M / SPEED_OF_SOUND + WINDOW_S) * SAMPLE_RATE)].astype(np.float64)


def played(irs: np.ndarray, hrtf: str) -> np.ndarray:
    """What a field that predicted these IRs' magnitudes exactly would play (`field.listening.synthesize`,
    line of sight, through the data set's ears): (SUBSAMPLE_STEPS, 4, 2, N) like `free_field_irs`."""
    from naf_model.field.ears import ears_for
    from naf_model.field.listening import synthesize
    from naf_model.field.reflections import FirstReflection
    from naf_model.spectrogram import log_magnitude

    n = 4096
    padded = np.zeros(irs.shape[:-1] + (n,))
    padded[..., : irs.shape[-1]] = irs
    step = SPEED_OF_SOUND / SAMPLE_RATE / SUBSAMPLE_STEPS
    listeners = np.repeat(np.column_stack([4.0 - step * np.arange(SUBSAMPLE_STEPS), np.full(SUBSAMPLE_STEPS, 6.0)]),
                          4, axis=0)  # fmt: skip
    emitters = np.tile([[4.0 + DISTANCE_M, 6.0]], (len(listeners), 1))
    headings = np.tile([0.0, 90.0, 180.0, 270.0], SUBSAMPLE_STEPS)
    ears = ears_for(json.loads(SimulationConfig(hrtf=hrtf).to_json()))
    log = log_magnitude(padded.reshape(-1, 2, n), 1 + n // 128)
    out = synthesize("listening", log, emitters, listeners, headings, n, ears, None, log_mean=False,
                     reflections=FirstReflection.of(free_field_room()))
    return out.reshape(padded.shape)[..., : irs.shape[-1]].astype(np.float64)


def kemar_own(rate: int | None = None) -> tuple[np.ndarray, int]:
    """slab's KEMAR HRIRs (3, 2, K) at azimuth 0 (front), 90 (left), 180 (back), elevation 0, as measured
    (44.1 kHz) or resampled to `rate` by soxr (nothing else done to them), and their rate."""
    import soxr

    irs, measured, directions = read_kemar()
    pick = [int(np.argmax(directions @ d)) for d in ([1.0, 0, 0], [0, 1.0, 0], [-1.0, 0, 0])]
    if rate is None:
        return irs[pick], int(measured)
    return np.stack([soxr.resample(np.ascontiguousarray(x.T), measured, rate).T for x in irs[pick]]), rate


def cues(front: np.ndarray, left: np.ndarray, back: np.ndarray, fs: int) -> dict[str, np.ndarray]:
    """Of binaural IRs (B, 2, N) from the front, the left and the back: ITD (B,) us and mean ILD per octave
    band (bands,) dB of the source on the left; mean front/back difference (2 ears, bands) dB."""
    return {
        "itd_us": 1e6 * interaural.interaural_delay(left, fs),
        "ild_db": interaural.band_ild(left, fs).mean(0),
        "front_back_db": interaural.front_back_db(front, back, fs).mean(0),
    }


def main() -> None:
    own, rate = kemar_own()
    own22, _ = kemar_own(SAMPLE_RATE)
    rows = {
        "KEMAR, its own HRIRs (44.1 kHz)": cues(*own[:, None], rate),
        "KEMAR, its own HRIRs (22,050 Hz)": cues(*own22[:, None], SAMPLE_RATE),
    }
    for name, hrtf in (("KEMAR", kemar_sha256()), ("spherical head", "")):
        sim = free_field_irs(hrtf)
        rows[f"{name}, simulated"] = cues(*sim[:, [FRONT, LEFT, BACK]].swapaxes(0, 1), SAMPLE_RATE)
        rows[f"{name}, played"] = cues(*played(sim, hrtf)[:, [FRONT, LEFT, BACK]].swapaxes(0, 1), SAMPLE_RATE)
    bands = " ".join(f"{f:>6}" for f in interaural.ILD_BANDS_HZ)
    print(f"source at 90 deg (left), {DISTANCE_M:g} m; ITD mean (min-max) over {SUBSAMPLE_STEPS} sub-sample "
          f"positions\n{'':34} {'ITD us':>15}   ILD dB per octave: {bands}")
    for name, c in rows.items():
        itd = c["itd_us"]
        spread = f"{itd.mean():4.0f} ({itd.min():3.0f}-{itd.max():3.0f})" if len(itd) > 1 else f"{itd[0]:4.0f}"
        print(f"{name:34} {spread:>15}   {'':18} " + " ".join(f"{v:6.1f}" for v in c["ild_db"]))
    bands = " ".join(f"{f:>6}" for f in interaural.FRONT_BACK_BANDS_HZ)
    print(f"\nfront (0 deg) minus back (180 deg), dB per third-octave: {bands}   max |.|")
    for name, c in rows.items():
        for ear, label in enumerate(("left", "right")):
            values = c["front_back_db"][ear]
            print(f"{name + ', ' + label + ' ear':52} " + " ".join(f"{v:6.1f}" for v in values)
                  + f"   {np.abs(values).max():6.1f}")


if __name__ == "__main__":
    main()
