"""The IR length a scene needs: until its slowest octave band has decayed 60 dB, plus the longest direct path.

The decay comes from Eyring's formula over the scene's surfaces (`eyring.eyring_t60s`), the path from the
diagonal of the scene's bounding box (floor plan x ceiling height) at the speed of sound: the last listener
to hear the direct sound hears it that late, and its reverberation only starts decaying then. Lengths are
capped at MAX_IR_SECONDS (a data set, a field and a played IR all grow linearly with the length), and the
cap is stated, never applied silently.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from naf_model.conventions import SPEED_OF_SOUND
from naf_model.scene.materials import OCTAVE_BANDS_HZ
from naf_model.simulate.eyring import eyring_t60s

MAX_IR_SECONDS = 8.0
"""The longest IR `needed_ir_length` asks for: a cathedral's low bands (T60 6-10 s) are cut here."""
FALLBACK_IR_SECONDS = 0.6
"""The IR length of a scene without an Eyring estimate (no surfaces or no volume): the length naf used
for every scene before lengths followed the room."""
DECAY_DB = 60.0
AUTO_STEP_S = 0.01


@dataclass(frozen=True)
class IrLengthNeed:
    """What a scene's IRs need: `seconds` (capped at `cap_s`), the band whose decay set it (`band_hz`, its
    Eyring `band_t60_s`), the longest direct path's delay `path_s`, and whether the cap applied."""

    seconds: float
    band_hz: int
    band_t60_s: float
    path_s: float
    cap_s: float

    @property
    def uncapped_s(self) -> float:
        """The length the room needs without the cap: the slowest band's T60 plus the longest path."""
        return self.band_t60_s + self.path_s

    @property
    def auto_seconds(self) -> float:
        """`seconds` rounded up to whole AUTO_STEP_S (what `--ir-seconds auto` builds with): a short decimal
        that every machine computes alike, so shards of one build made on different machines share a plan."""
        steps = math.ceil(round(self.seconds / AUTO_STEP_S, 6))
        return min(round(steps * AUTO_STEP_S, 6), self.cap_s)

    @property
    def capped(self) -> bool:
        return self.uncapped_s > self.cap_s

    @property
    def reason(self) -> str:
        """Why this length, in one clause (for a plan line)."""
        why = (f"the {band_name(self.band_hz)} band needs {self.band_t60_s:.2f} s to decay {DECAY_DB:.0f} dB "
               f"(Eyring) after the longest direct path ({self.path_s:.2f} s)")
        if self.capped:
            why += f"; capped at {self.cap_s:g} s, so its tail is cut at about -{decibels(self.kept_db(self.cap_s))} dB"
        return why

    def kept_db(self, ir_seconds: float) -> float:
        """dB of its decay the slowest band keeps in IRs `ir_seconds` long, at the farthest listener (whose
        reverberation starts decaying after the longest direct path); at most 60 (DECAY_DB)."""
        if self.band_t60_s <= 0:
            return DECAY_DB
        return float(np.clip(DECAY_DB * (ir_seconds - self.path_s) / self.band_t60_s, 0.0, DECAY_DB))


def decibels(value: float) -> str:
    """A dB figure as the plan line shows it: whole dB from 10 dB on, one decimal below."""
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def band_name(band_hz: int) -> str:
    """'500 Hz' or '2 kHz'."""
    return f"{band_hz // 1000} kHz" if band_hz >= 1000 else f"{band_hz} Hz"


def longest_path_seconds(scene) -> float:
    """Seconds sound takes along the diagonal of the scene's bounding box (plan bounds x ceiling height)."""
    x0, y0, x1, y1 = scene.bounds
    return math.sqrt((x1 - x0) ** 2 + (y1 - y0) ** 2 + float(scene.ceiling_height) ** 2) / SPEED_OF_SOUND


def needed_ir_length(scene, cap_s: float = MAX_IR_SECONDS) -> IrLengthNeed:
    """The IR length `scene` needs: its slowest band's Eyring T60 plus `longest_path_seconds`, at most
    `cap_s` seconds."""
    if not cap_s > 0:
        raise ValueError(f"cap_s must be positive, got {cap_s}")
    t60s = eyring_t60s(scene)
    slowest = int(np.argmax(t60s))
    path = longest_path_seconds(scene)
    t60 = float(t60s[slowest])
    return IrLengthNeed(seconds=min(t60 + path, cap_s), band_hz=int(OCTAVE_BANDS_HZ[slowest]), band_t60_s=t60,
                        path_s=path, cap_s=cap_s)


def room_need(scene) -> IrLengthNeed | None:
    """`needed_ir_length(scene)`, or None for a scene without an Eyring estimate of its decay (no surfaces,
    no volume, a non-finite T60)."""
    try:
        need = needed_ir_length(scene)
    except (AttributeError, ValueError, ZeroDivisionError, FloatingPointError):
        return None
    if not (np.isfinite(need.band_t60_s) and need.band_t60_s >= 0):
        return None
    return need


def room_ir_seconds(scene) -> float:
    """The IR length a scene's simulations use unless told otherwise: the pilot simulation's measured length
    where one was made for this scene (`data.pilot`, cached by `naf data make`), else what Eyring says the
    room needs (`IrLengthNeed.auto_seconds`), FALLBACK_IR_SECONDS for a scene without an Eyring estimate."""
    pilot = read_pilot(scene)
    if pilot is not None:
        return pilot.seconds
    need = room_need(scene)
    return FALLBACK_IR_SECONDS if need is None else need.auto_seconds


PILOT_VERSION = 1


@dataclass(frozen=True)
class PilotNeed:
    """A measured IR length (`data.pilot.pilot_need`): `seconds` to build with, the slowest pilot pair's
    decay end `slowest_s` (inf: it did not fall), the pilot's IR length `pilot_s` and pair count, Eyring's
    length `eyring_s` and the cap."""

    seconds: float
    slowest_s: float
    pilot_s: float
    pairs: int
    eyring_s: float
    cap_s: float

    @property
    def reason(self) -> str:
        """Why this length, in one clause (for a plan line)."""
        if not math.isfinite(self.slowest_s) or self.slowest_s * 1.1 > self.cap_s:
            return (f"a pilot simulation ({self.pairs} pairs, {self.pilot_s:.2f} s) decays too slowly to end "
                    f"{DECAY_DB:.0f} dB down within the {self.cap_s:g} s cap; its tail is cut there")
        return (f"a pilot simulation ({self.pairs} pairs, {self.pilot_s:.2f} s) decays {DECAY_DB:.0f} dB by "
                f"{self.slowest_s:.2f} s at its slowest pair, plus a margin (Eyring said {self.eyring_s:.2f} s)")

    def to_dict(self) -> dict:
        return {"version": PILOT_VERSION, "seconds": self.seconds, "slowest_s": self.slowest_s,
                "pilot_s": self.pilot_s, "pairs": self.pairs, "eyring_s": self.eyring_s, "cap_s": self.cap_s}


def pilot_cache_path(scene) -> Path:
    """Where the pilot of `scene` is cached: $NAF_CACHE_DIR/ir_pilot/<geometry hash>.json (the decay depends on
    the geometry and materials; the first pilot's rays and image-source order stand for the scene)."""
    from naf_model.paths import cache_dir

    return cache_dir() / "ir_pilot" / f"{scene.geometry_hash()}.json"


def read_pilot(scene) -> PilotNeed | None:
    """The cached pilot of `scene`, or None (none made, unreadable, another version, a scene without a hash)."""
    try:
        path = pilot_cache_path(scene)
        d = json.loads(path.read_text())
        if d.pop("version", None) != PILOT_VERSION:
            return None
        return PilotNeed(**{k: float(v) if k != "pairs" else int(v) for k, v in d.items()})
    except (AttributeError, OSError, ValueError, TypeError):
        return None


def ir_length_note(need: IrLengthNeed, ir_seconds: float) -> str:
    """One line for `naf data make`'s plan: the IR length, and when it is shorter than the room needs, how much
    of the slowest band's decay it keeps and what to pass for the whole decay."""
    head = f"IRs {ir_seconds:.2f} s"
    if ir_seconds + 0.005 >= need.seconds:  # all the room needs (or the cap), to the 10 ms the line shows
        return f"{head}: {need.reason}"
    capped = f", the {need.cap_s:g} s cap" if need.capped else ""
    return (f"{head}; the {band_name(need.band_hz)} band needs {need.band_t60_s:.2f} s to decay {DECAY_DB:.0f} dB "
            f"(Eyring): the tail is cut at about -{decibels(need.kept_db(ir_seconds))} dB (use --ir-seconds auto for "
            f"{need.auto_seconds:.2f} s{capped})")
