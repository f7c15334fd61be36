"""Where the early part should end (conventions.EARLY_AFTER_DIRECT_S), by measurement: simulated binaural IRs
whose late part, from each candidate split on, is replaced by the live synthesis of their own late description
(`split.ir_split` + `audio.late.late_envelopes` -> `audio.late_render.assemble_ir`), measured as played
against the simulation (`evaluation.listening.listening_errors` and band T60s through `acoustics.bands`).

    PYTHONPATH=. .venv/bin/python scripts/late_split.py          # ~4.5 min on one core: prints the table,
                                                                 # writes docs/results/late_split.md
    PYTHONPATH=. .venv/bin/python scripts/late_split.py --bank   # the live synthesis' band level and T60
                                                                 # errors by calibration rounds (~1 min)
    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. taskset -c 0 .venv/bin/python scripts/late_split.py --cost
                                                                 # ms per binaural 3 s late part, one core

Scenes: a reverberant room built here (6 x 4.5 x 3 m, plaster walls, wood floor, plasterboard ceiling: Eyring
T60 2.7 s at 500 Hz) and the bundled apartment_1, each simulated as long as it needs
(`needed_ir_length(scene).auto_seconds`), 4 emitters x 4 listeners x 4 headings at seeded free positions.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from naf_model.acoustics import decay
from naf_model.acoustics.bands import octave_band
from naf_model.atomic import write_atomic
from naf_model.audio.bands import OCTAVE_CENTRES_HZ, band_split, band_weights
from naf_model.audio.late import late_envelopes
from naf_model.audio.late_render import assemble_ir, noise_bank, render_from, render_late
from naf_model.conventions import EARLY_AFTER_DIRECT_S, LATE_LOG_EPS, SAMPLE_RATE
from naf_model.evaluation.listening import listening_errors
from naf_model.evaluation.metrics import relative_error
from naf_model.scene.io import load_scene
from naf_model.scene.scene import Scene
from naf_model.simulate import SimulationConfig, simulate_binaural_rirs
from naf_model.simulate.eyring import eyring_t60s
from naf_model.simulate.ir_length import longest_path_seconds, needed_ir_length
from naf_model.split import IrSplit, ir_split

SPLITS_S = (0.030, 0.050, 0.080, 0.100, 0.150, 0.200)
EMITTERS, LISTENERS, MIN_DISTANCE_M, SEED, N_RAYS = 4, 4, 1.0, 0, 2000
RESULT = Path("docs/results/late_split.md")
COMMAND = "PYTHONPATH=. .venv/bin/python scripts/late_split.py"
FINE_S, SPAN_S, NED_WINDOW_S = 0.005, 0.100, 0.020
COLUMNS = ("split (ms)", "early frames", "peak in late (%)", "envelope (dB)", "5 ms envelope (dB)", "NED replaced",
           "NED error", "late bias (dB)", "C50 (dB)", "EDT (%)", "T60 (%)", "band T60 (%)", "worst band T60 (%)",
           "ITD (µs)", "ILD (dB)")


METHOD = """Each simulated IR is played as the field would play a perfect prediction: its own first samples as
the early waveform up to the split (the scene's longest direct path plus the split) and 20 ms beyond, crossfaded
(equal power) into the live synthesis of its own late description (`audio.late_render.assemble_ir`), measured
against the simulation. Columns: the early spectrogram's STFT frames (`IrSplit.early_frames`: what the split
costs in data set size and network output); the share of IRs whose strongest arrival falls in the synthesized
part; the listening metrics (`evaluation.listening`: 50 ms envelope |dB|, late bias dB after onset + 50 ms, C50
|dB|, EDT and T60 relative, ITD µs, ILD |dB| mean over 500 Hz-8 kHz); band T60 relative through
`acoustics.bands.octave_band`, mean over bands and the worst band; and over the 100 ms after the split, what the
coarse measures miss: the 5 ms envelope |dB| and the normalised echo density (Abel and Huang 2006) of the
simulation there ("NED replaced": ~0.9 is the simulator's diffuse tail, a Poisson train capped at 10,000
impulses/s; well below would be distinct reflections) and its |error| (~0.1 is that tail against Gaussian noise)."""

MARGIN = 2.0
"""The split must reach this many times past the latest strongest arrival seen (after the longest direct path):
an occluded pair's strongest sound comes through a door on a path longer than the plan's diagonal, that detour
grows with the plan, and 16 pairs of two scenes do not show the worst one."""
CONCLUSION = """Why (as measured when this was written; the tables above are the evidence): every measure of the
played IR is flat across the candidates once the strongest arrival is in the early part, within the synthesis'
own scatter (envelope 0.14-0.25 dB, C50 at most 0.05 dB, T60 under 2 %, band T60 under 6 % with the 125 Hz band
worst, ILD at most 0.1 dB), and the echo density of what the synthesis replaces is the simulator's diffuse tail's
(0.89-0.91) at every split: in these scenes no split replaces distinct reflections. What a short split does get
wrong is the arrival of occluded pairs: at 30 ms, apartment_1 had the strongest arrival of 19 % of its IRs in the
synthesized part, and one pair's onset and ITD moved by 400 µs. So the split is set by the latest strongest
arrival, with MARGIN for bigger plans; each 10 ms more costs about 1.7 STFT frames (256 bins, 2 ears) of every
stored and predicted early part. This holds for the simulator's IRs: image sources to order 3
(SimulationConfig.ism_order), the ray tracer's diffuse tail after them; a higher order or measured IRs would
keep distinct reflections later, and should be measured again before they are trained on."""


def reverberant_room() -> Scene:
    """6 x 4.5 x 3 m, plaster walls, wood floor, plasterboard ceiling (Eyring T60 2.7 s at 500 Hz)."""
    return Scene.from_dict({"name": "plaster_room", "ceiling_height": 3.0, "wall_thickness": 0.0,
                            "defaults": {"walls": "plaster", "floor": "wood", "ceiling": "plasterboard"},
                            "rooms": [{"name": "room", "polygon": [[0, 0], [6, 0], [6, 4.5], [0, 4.5]]}]})


def free_points(scene: Scene, count: int, rng: np.random.Generator, away_from: np.ndarray | None = None) -> np.ndarray:
    """`count` (x, y) positions in the scene's free space, MIN_DISTANCE_M from `away_from` if given."""
    x0, y0, x1, y1 = scene.bounds
    points: list[np.ndarray] = []
    while len(points) < count:
        p = rng.uniform([x0, y0], [x1, y1])
        if scene.is_free(p[:1], p[1:])[0] and (away_from is None or np.hypot(*(p - away_from)) >= MIN_DISTANCE_M):
            points.append(p)
    return np.array(points)


def simulate(scene: Scene) -> np.ndarray:
    """Binaural IRs (EMITTERS * LISTENERS * 4, 2, N) float64 at seeded free positions."""
    config = SimulationConfig(ir_seconds=needed_ir_length(scene).auto_seconds, n_rays=N_RAYS)
    rng = np.random.default_rng(SEED)
    out = []
    for emitter in free_points(scene, EMITTERS, rng):
        irs = simulate_binaural_rirs(scene, emitter, free_points(scene, LISTENERS, rng, emitter), config)
        out.append(irs.reshape(-1, 2, irs.shape[-1]))
    return np.concatenate(out).astype(np.float64)


def echo_density(x: np.ndarray) -> np.ndarray:
    """Normalised echo density (..., W) of waveforms (..., N) in Hann windows of NED_WINDOW_S every quarter
    window (Abel and Huang 2006): the weighted share of samples beyond the window's rms, over a Gaussian's
    (erfc(1 / sqrt 2)); ~1 for diffuse noise, well below for distinct reflections."""
    win = int(round(NED_WINDOW_S * SAMPLE_RATE))
    weights = np.hanning(win) / np.hanning(win).sum()
    frames = np.lib.stride_tricks.sliding_window_view(x, win, axis=-1)[..., :: win // 4, :]
    rms = np.sqrt((np.square(frames) * weights).sum(-1, keepdims=True))
    return ((np.abs(frames) > rms) * weights).sum(-1) / math.erfc(1 / math.sqrt(2))


def replaced_span(x: np.ndarray, start: int) -> np.ndarray:
    """x (..., N) from `start` for SPAN_S: the span whose fine structure the synthesis replaces first."""
    return x[..., start : start + int(round(SPAN_S * SAMPLE_RATE))]


def fine_structure(x: np.ndarray, truth: np.ndarray, start: int) -> tuple[float, float, float]:
    """(5 ms envelope error dB, the truth's mean echo density, mean |echo density error|) over the SPAN_S
    after `start`: what the coarse measures do not see of the reflections the split replaces by noise."""
    a, b = replaced_span(x, start), replaced_span(truth, start)
    fine = int(round(FINE_S * SAMPLE_RATE))
    n = a.shape[-1] // fine
    ea, eb = (np.square(v[..., : n * fine]).reshape(v.shape[:-1] + (n, fine)).sum(-1) for v in (a, b))
    envelope = float(np.mean(np.abs(10 * np.log10(np.maximum(ea, 1e-30) / np.maximum(eb, 1e-30)))))
    na, nb = echo_density(a), echo_density(b)
    return envelope, float(nb.mean()), float(np.abs(na - nb).mean())


def played(irs: np.ndarray, path_s: float, early_after_s: float) -> tuple[np.ndarray, IrSplit]:
    """(IRs (B, 2, N) with each late part replaced by the synthesis of its own description, their split)."""
    split = ir_split(irs.shape[-1], path_s, early_after_s)
    descriptions = np.stack([np.log(late_envelopes(ir, SAMPLE_RATE, split.late_start / SAMPLE_RATE,
                                                   split.late_frame / SAMPLE_RATE).power + LATE_LOG_EPS)
                             for ir in irs])
    return assemble_ir(irs[..., : split.early_samples], descriptions, split).astype(np.float64), split


def band_t60s(x: np.ndarray) -> np.ndarray:
    """T60 (B, 2, 7) s per octave band (acoustics.bands.octave_band, Schroeder 30 dB fit)."""
    return np.stack([decay.rt60(octave_band(x, fc)) for fc in OCTAVE_CENTRES_HZ], axis=-1)


def measure_scene(scene: Scene) -> tuple[list[list[str]], str, dict[float, bool], float]:
    """Table rows (one a split), a line describing the scene and its IRs, for each split whether it kept
    every IR's strongest arrival in the early part and its ITD, and how long after the longest direct path the
    latest strongest arrival came (s)."""
    start = time.perf_counter()
    irs = simulate(scene)
    path_s = longest_path_seconds(scene)
    truth_bands = band_t60s(irs)
    peak = np.argmax(np.square(irs).sum(1), axis=-1)  # (B,) the strongest arrival, both ears
    rows, kept = [], {}
    for split_s in SPLITS_S:
        x, split = played(irs, path_s, split_s)
        e = listening_errors(x, irs, np.ones(len(irs), bool))
        fine, ned_truth, ned_error = fine_structure(x, irs, split.late_start)
        band = relative_error(band_t60s(x), truth_bands).mean(axis=(0, 1))  # (7,)
        s = e.summary()
        in_late = float(np.mean(peak >= split.late_start))
        kept[split_s] = in_late == 0 and s["itd_us"] < 1
        rows.append([f"{1000 * split_s:.0f}", f"{split.early_frames}", f"{100 * in_late:.1f}",
                     f"{s['envelope_db']:.2f}", f"{fine:.2f}",
                     f"{ned_truth:.2f}", f"{ned_error:.2f}", f"{s['late_bias_db']:+.2f}", f"{s['c50_db']:.2f}",
                     f"{s['edt_pct']:.1f}", f"{s['t60_pct']:.1f}",
                     f"{100 * band.mean():.1f}", f"{100 * band.max():.1f} ({OCTAVE_CENTRES_HZ[int(band.argmax())]})",
                     f"{s['itd_us']:.0f}", f"{e.ild.mean():.2f}"])
    t60 = eyring_t60s(scene)
    line = (f"{scene.name}: {len(irs) // 4} pairs x 4 headings, IRs {irs.shape[-1] / SAMPLE_RATE:.2f} s, longest "
            f"direct path {1000 * path_s:.0f} ms, Eyring T60 {t60.min():.2f}-{t60.max():.2f} s "
            f"({t60[2]:.2f} s at 500 Hz); strongest arrival up to {1000 * (peak.max() / SAMPLE_RATE - path_s):.0f} "
            f"ms after the longest direct path; {time.perf_counter() - start:.0f} s")
    return rows, line, kept, float(peak.max() / SAMPLE_RATE - path_s)


def table(rows: list[list[str]]) -> str:
    head = "| " + " | ".join(COLUMNS) + " |\n|" + "---:|" * len(COLUMNS) + "\n"
    return head + "".join("| " + " | ".join(r) + " |\n" for r in rows)


def given_decay(seed: int, n: int, t60: np.ndarray) -> np.ndarray:
    """A binaural late part (2, n): independent noise per ear and quarter-octave sub-band, each decaying with
    the T60 log-interpolated from `t60` (7,) s at the octave centres."""
    rng = np.random.default_rng(seed)
    noises = np.fft.irfft(np.fft.rfft(rng.standard_normal((2, 25, n)), axis=-1)
                          * band_weights(np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE), 4), n, axis=-1)
    t60_sub = np.exp(np.interp(np.arange(25) / 4, np.arange(7), np.log(t60)))
    return (noises * 10 ** (-3 * (np.arange(n) / SAMPLE_RATE)[None] / t60_sub[:, None])).sum(axis=1)


def bank_errors() -> None:
    """Worst band level error (the description's bands) and band T60 error (octave_band) of the live synthesis
    of 4 given decays (T60 3 s at 125 Hz to 0.5 s at 8 kHz, 2.9 s), each from 3 banks, by calibration rounds."""
    t60 = np.array([3.0, 2.5, 2.0, 1.5, 1.0, 0.7, 0.5])
    n, frame = 64_000, 220
    given = np.stack([given_decay(seed, n, t60) for seed in range(4)])
    power = np.stack([late_envelopes(g, SAMPLE_RATE, 0.0, frame / SAMPLE_RATE).power for g in given])
    given_level = 10 * np.log10(np.square(band_split(given, SAMPLE_RATE)).sum(-1))
    given_t60 = band_t60s(given)
    print("rounds | worst band level error (dB) by band | worst band T60 error (%) by band")
    for rounds in range(4):
        level, decays = [], []
        for bank_seed in range(3):
            bank = noise_bank.__wrapped__(n, frame, SAMPLE_RATE, bank_seed, rounds)  # uncached: one-off banks
            late = render_from(bank, np.log(power + LATE_LOG_EPS)).astype(np.float64)
            level.append(np.abs(10 * np.log10(np.square(band_split(late, SAMPLE_RATE)).sum(-1)) - given_level))
            decays.append(np.abs(band_t60s(late) / given_t60 - 1))
        worst_level, worst_t60 = (np.max(v, axis=(0, 1, 2)) for v in (level, decays))
        print(f"{rounds} | {' '.join(f'{v:.2f}' for v in worst_level)} | "
              f"{' '.join(f'{100 * v:.1f}' for v in worst_t60)}")


def cost(repeats: int = 50) -> None:
    """Median and 90th percentile ms of `render_late` and `assemble_ir` for batches of 1 and 4 binaural 3 s IRs
    (66,150 samples, late part from 100 ms), of building the bank, and of one band split of a late part (what a
    per-call correction round needs at least)."""
    split = ir_split(66_150, 0.0)
    n = split.ir_length - split.late_start
    rng = np.random.default_rng(0)
    t = (np.arange(split.late_frames) + 0.5) * split.late_frame / SAMPLE_RATE
    start = time.perf_counter()
    noise_bank(n, split.late_frame)
    print(f"noise bank ({n} samples): {time.perf_counter() - start:.2f} s once")

    def timed(what: str, run, per: int) -> None:
        run()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(1000 * (time.perf_counter() - start))
        p50, p90 = np.percentile(times, [50, 90])
        print(f"{what}: p50 {p50:.2f} ms, p90 {p90:.2f} ms ({p50 / per:.2f} ms an IR)")

    for batch in (1, 4):
        log_power = (-6.9 * t / 2.0 + rng.normal(0, 0.3, (batch, 2, 7, len(t)))).astype(np.float32)
        early = rng.standard_normal((batch, 2, split.early_samples)).astype(np.float32)
        timed(f"render_late B={batch}", lambda lp=log_power: render_late(lp, split.late_frame, n), batch)
        timed(f"assemble_ir B={batch}", lambda e=early, lp=log_power: assemble_ir(e, lp, split), batch)
    late = rng.standard_normal((2, n))
    timed("band_split of one late part", lambda: band_split(late, SAMPLE_RATE), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", action="store_true", help="only the live synthesis' errors by calibration rounds")
    parser.add_argument("--cost", action="store_true", help="only the live synthesis' cost on this machine")
    args = parser.parse_args()
    if args.bank or args.cost:
        bank_errors() if args.bank else cost()
        return
    sections, safe, detour = [], set(SPLITS_S), 0.0
    for scene in (reverberant_room(), load_scene("apartment_1")):
        rows, line, kept, latest = measure_scene(scene)
        safe &= {s for s, ok in kept.items() if ok}
        detour = max(detour, latest)
        print(line)
        print(table(rows))
        sections.append(f"## {line}\n\n{table(rows)}")
    smallest = f"{1000 * min(safe):.0f} ms" if safe else "none"
    margined = [s for s in sorted(safe) if s >= MARGIN * detour]
    chosen = f"{1000 * margined[0]:.0f} ms" if margined else "none of the candidates"
    choice = (f"Smallest split that keeps every IR's strongest arrival (and so its onset and ITD) in the early part "
              f"in both scenes: {smallest}. The latest strongest arrival came {1000 * detour:.0f} ms after the longest "
              f"direct path; the smallest candidate of at least {MARGIN:g} times that: **{chosen}**.")
    print(choice)
    text = (f"# Where the early part ends: EARLY_AFTER_DIRECT_S by measurement\n\nRegenerate: `{COMMAND}` "
            f"(conventions.EARLY_AFTER_DIRECT_S was {1000 * EARLY_AFTER_DIRECT_S:.0f} ms when this ran)\n\n"
            f"{METHOD}\n\n" + "\n".join(sections) + f"\n## Choice\n\n{choice}\n\n{CONCLUSION}\n")
    write_atomic(RESULT, text)
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
