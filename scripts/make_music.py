"""Synthesise the bundled music loop: 32 s of piano and drums in stereo, to assets/audio/music_loop.flac.

Everything is generated here (no recordings): piano-like notes are sums of slightly inharmonic partials
with a hammer attack and a two-stage decay in which high partials die first; kick, snare and hi-hat are
shaped noise and pitch-swept sines. The phrase mixes sharp transients (drums, staccato chords) with
sustained chords and two bars of breaks with silence, so a room's reverberation is easy to hear. The loop
is circular: tails that run past the end are added back to the start, so it repeats without a seam.

    .venv/bin/python scripts/make_music.py [-o assets/audio/music_loop.flac]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import scipy.signal

from naf_model.audio import peak_dbfs, rms_dbfs, write_audio
from naf_model.paths import AUDIO_DIR

RATE = 44_100
BPM = 120.0
BEAT = 60.0 / BPM
BARS = 16  # 4 beats each: 32 s
PROGRESSION = [  # (bass MIDI note, chord MIDI notes), one per bar: C - Am - F - G, twice, then variations
    (36, (60, 64, 67)), (45, (60, 64, 69)), (41, (60, 65, 69)), (43, (59, 62, 67)),
    (36, (60, 64, 67)), (45, (60, 64, 69)), (41, (60, 65, 69)), (43, (59, 62, 67)),
    (41, (60, 65, 69)), (43, (62, 67, 71)), (36, (60, 64, 67)), (45, (60, 64, 69)),
    (38, (62, 65, 69)), (43, (59, 62, 65)), (36, (60, 64, 67)), (36, (60, 64, 67)),
]
MELODY = [  # (beat from the start, MIDI note, beats held)
    (0, 72, 1), (1, 74, 0.5), (1.5, 76, 1.5), (3, 79, 1), (4, 81, 1), (5, 79, 0.5), (5.5, 76, 1.5),
    (8, 77, 1), (9, 76, 1), (10, 74, 2), (12, 71, 1), (13, 74, 1), (14, 79, 2),
    (32, 84, 0.5), (32.5, 83, 0.5), (33, 81, 1), (34, 79, 2), (36, 77, 1), (37, 79, 1), (38, 81, 2),
    (40, 76, 1.5), (41.5, 77, 0.5), (42, 79, 2), (44, 74, 1), (45, 72, 1), (46, 71, 2),
    (48, 74, 1), (49, 77, 1), (50, 81, 2), (52, 79, 1), (53, 77, 1), (54, 74, 2), (56, 72, 2),
]
BREAK_BARS = (7, 15)  # drums stop and one staccato chord rings into silence: reverberation alone


def midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def piano(note: float, held_s: float, velocity: float) -> np.ndarray:
    """A piano-like note (frames,): inharmonic partials, hammer attack, damped after `held_s` seconds."""
    f0 = midi_hz(note)
    length = held_s + 0.6
    t = np.arange(int(length * RATE)) / RATE
    tone = np.zeros_like(t)
    inharmonicity = 2e-4
    for k in range(1, 13):
        fk = k * f0 * np.sqrt(1 + inharmonicity * k * k)
        if fk > 0.45 * RATE:
            break
        amp = velocity / k**1.2 * (1.0 if k > 1 else 1.3)
        fast, slow = 0.25 / (1 + 0.35 * k), 3.0 / (1 + 0.25 * k) * (261.6 / f0) ** 0.3
        env = 0.6 * np.exp(-t / fast) + 0.4 * np.exp(-t / slow)
        tone += amp * env * np.sin(2 * np.pi * fk * t + 0.3 * k)
    attack = np.minimum(t / 0.003, 1.0)
    release = np.where(t < held_s, 1.0, np.exp(-(t - held_s) / 0.12))  # the damper falls
    return tone * attack * release


def kick(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.45 * RATE)) / RATE
    freq = 45 + 75 * np.exp(-t / 0.04)
    body = np.sin(2 * np.pi * np.cumsum(freq) / RATE) * np.exp(-t / 0.16)
    click = rng.standard_normal(len(t)) * np.exp(-t / 0.003) * 0.3
    return body + click


def snare(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.3 * RATE)) / RATE
    sos = scipy.signal.butter(2, [1200, 6000], "bandpass", fs=RATE, output="sos")
    noise = scipy.signal.sosfilt(sos, rng.standard_normal(len(t))) * np.exp(-t / 0.07) * 1.6
    tone = np.sin(2 * np.pi * 185 * t) * np.exp(-t / 0.05) * 0.5
    return noise + tone


def hat(rng: np.random.Generator, open_: bool = False) -> np.ndarray:
    t = np.arange(int((0.25 if open_ else 0.06) * RATE)) / RATE
    sos = scipy.signal.butter(4, 7000, "highpass", fs=RATE, output="sos")
    return scipy.signal.sosfilt(sos, rng.standard_normal(len(t))) * np.exp(-t / (0.08 if open_ else 0.015))


def make_loop(seed: int = 7) -> np.ndarray:
    """The whole loop, (frames, 2) float64 in [-1, 1], circularly wrapped."""
    rng = np.random.default_rng(seed)
    total = int(BARS * 4 * BEAT * RATE)
    mix = np.zeros((total + 3 * RATE, 2))

    def add(sound: np.ndarray, beat: float, pan: float, gain: float) -> None:
        start = int(round(beat * BEAT * RATE))
        left, right = np.cos((pan + 1) * np.pi / 4), np.sin((pan + 1) * np.pi / 4)
        mix[start : start + len(sound), 0] += gain * left * sound
        mix[start : start + len(sound), 1] += gain * right * sound

    for bar, (bass, chord) in enumerate(PROGRESSION):
        b0 = bar * 4
        if bar in BREAK_BARS:  # one short chord and silence: the room rings on its own
            for n in (bass + 12, *chord):
                add(piano(n, 0.15, 0.9), b0, (n - 60) / 30, 0.30)
            add(kick(rng), b0, 0.0, 0.9)
            continue
        add(piano(bass, 1.8, 0.9), b0, -0.3, 0.45)
        add(piano(bass + 7, 1.8, 0.7), b0 + 2, -0.25, 0.35)
        for i, beat in enumerate((0.0, 1.0, 1.5, 2.5, 3.0)):  # syncopated chord stabs and one sustained chord
            held = 1.4 if i == 0 else 0.3
            for n in chord:
                add(piano(n, held, 0.55 + 0.1 * (i == 0)), b0 + beat, (n - 60) / 24, 0.22)
        for beat in (0.0, 2.0, 2.75):
            add(kick(rng), b0 + beat, 0.0, 0.85)
        for beat in (1.0, 3.0):
            add(snare(rng), b0 + beat, 0.1, 0.45)
        for eighth in range(8):
            add(hat(rng, open_=eighth == 7), b0 + eighth / 2, 0.45, 0.14 if eighth % 2 else 0.2)
    phrase = [(beat + 16, note, held) for beat, note, held in MELODY if beat < 12]  # answered in bars 4-6
    for beat, note, held in MELODY + phrase:
        add(piano(note, held * BEAT, 0.8), beat, 0.2, 0.3)

    loop = mix[:total].copy()
    loop[: len(mix) - total] += mix[total:]  # tails past the end ring over the start: seamless repeat
    return loop / np.max(np.abs(loop)) * 10 ** (-1.0 / 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=AUDIO_DIR / "music_loop.flac",
                        help="where to write the loop (.flac or .wav)")
    args = parser.parse_args()
    loop = make_loop()
    path = write_audio(args.output, loop, RATE, bits=16)
    print(f"{path}: {len(loop) / RATE:.1f} s stereo at {RATE} Hz, peak {peak_dbfs(loop):.1f} dBFS, "
          f"RMS {rms_dbfs(loop):.1f} dBFS, {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
