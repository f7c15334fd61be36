"""Settings of the binaural room simulation, kept in one frozen dataclass stored with every data set."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

from naf_model.conventions import HEAD_RADIUS_M
from naf_model.errors import NafError


class SimulationError(NafError):
    """An unusable simulation setting (negative length, zero rays, ...)."""


def _default_ears() -> str:
    """The `hrtf` setting of the default ears, the measured MIT KEMAR set (`ears`; imported here, when a
    config is made, because `ears` reaches this module through the simulator)."""
    from naf_model.simulate.ears import kemar_sha256

    return kemar_sha256()


@dataclass(frozen=True)
class SimulationConfig:
    """How `simulate_binaural_rirs` turns a scene into binaural IRs.

    ir_seconds: IR length (N = round(ir_seconds * 22,050) samples); the ray tracer stops at this time.
    ism_order: highest image-source reflection order; later energy comes from the ray tracer.
    n_rays: rays shot per emitter (directions on a Fibonacci sphere, deterministic).
    receiver_radius: metres, radius of the ray tracer's receiving sphere around each listener.
    seed: base seed; each emitter and each listener's tail noise derive their own from it and the positions.
    air_absorption: apply pyroomacoustics' octave-band air absorption (20 C, 50 % humidity defaults).
    head_radius: metres, radius of the spherical head (Woodworth ITD, Brown & Duda head shadow); also the
        ray-traced tail's interaural spread, whatever the ears.
    hist_bin_seconds: time resolution of the ray tracer's energy histograms.
    energy_threshold: relative ray energy (re. the emitted energy) at which a ray is dropped.
    hrtf: the ears rendering the image-source arrivals (`naf_model.simulate.ears`): the sha256 of a measured
        HRIR set's file, by default the MIT KEMAR set's; "" (`ears.SPHERICAL_HEAD`) the spherical head;
    hrtf_method: how a direction picks its HRIRs (`naf_model.simulate.hrtf.HRTF_METHODS`);
    hrir: the loaded set (not serialised: `hrtf` names it and `ears.hrir_set_for` finds it again).
    receiver_in_air: divide each listener's ray-traced energy by the share of its receiving sphere that lies in
        the air (`simulate.rirs.inside_share`). Near a wall the sphere reaches through it, and the energy the
        tracer counts falls with that share: -0.7 dB at 0.25 m from a plaster wall with the 0.5 m sphere, where a
        diffuse field has none (docs/internals.md). Off by default until the bundled scenes are simulated again
        with it: their fields were trained on the tracer as it was.
    The HRTF settings are left out of `to_json` for the spherical head, and settings without them read back
    as the spherical head, so data sets and plan keys made before HRTFs existed keep their keys and ears;
    likewise `receiver_in_air` when off.
    """

    ir_seconds: float = 0.6
    ism_order: int = 3
    n_rays: int = 3000
    receiver_radius: float = 0.5
    seed: int = 0
    air_absorption: bool = True
    head_radius: float = HEAD_RADIUS_M
    hist_bin_seconds: float = 0.004
    energy_threshold: float = 1e-7
    hrtf: str = dataclasses.field(default_factory=_default_ears)
    hrtf_method: str = "nearest"
    hrir: Any = dataclasses.field(default=None, compare=False, repr=False)
    receiver_in_air: bool = False

    def __post_init__(self) -> None:
        if self.hrir is not None:
            object.__setattr__(self, "hrtf", self.hrir.sha256)  # the set names itself
        checks = [
            (self.ir_seconds > 0.01, f"ir_seconds must be > 0.01 s, got {self.ir_seconds}"),
            (0 <= self.ism_order <= 12, f"ism_order must be between 0 and 12, got {self.ism_order}"),
            (self.n_rays >= 10, f"n_rays must be at least 10, got {self.n_rays}"),
            (
                0.05 <= self.receiver_radius <= 2.0,
                f"receiver_radius must be 0.05-2 m, got {self.receiver_radius}",
            ),
            (self.seed >= 0, f"seed must be >= 0, got {self.seed}"),
            (0.03 <= self.head_radius <= 0.2, f"head_radius must be 0.03-0.2 m, got {self.head_radius}"),
            (
                0.001 <= self.hist_bin_seconds <= 0.02,
                f"hist_bin_seconds must be 1-20 ms, got {self.hist_bin_seconds}",
            ),
            (
                0 < self.energy_threshold < 1,
                f"energy_threshold must be in (0, 1), got {self.energy_threshold}",
            ),
            (
                self.hrtf == "" or re.fullmatch(r"[0-9a-f]{64}", self.hrtf) is not None,
                f"hrtf must be a sha256 or '' (the spherical head), got {self.hrtf[:70]!r}",
            ),
            (
                self.hrtf_method in ("nearest", "interpolate"),
                f"hrtf_method must be 'nearest' or 'interpolate', got {self.hrtf_method!r}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise SimulationError(f"{message}; fix the simulation setting")

    def to_json(self) -> str:
        """The config as a JSON object (the data set's `simulation` attribute)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "hrir"}
        if not self.hrtf:
            del values["hrtf"], values["hrtf_method"]
        if not self.receiver_in_air:
            del values["receiver_in_air"]
        return json.dumps(values, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | dict[str, Any]) -> SimulationConfig:
        """Inverse of `to_json`; unknown keys are an error rather than silently dropped. Settings without
        `hrtf` are the spherical head's (made before measured ears were the default)."""
        values = json.loads(text) if isinstance(text, str) else dict(text)
        values.setdefault("hrtf", "")
        known = {f.name for f in dataclasses.fields(cls)} - {"hrir"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SimulationError(f"unknown simulation settings {unknown}; known ones are {sorted(known)}")
        return cls(**values)


def simulation_like(scene, settings: dict[str, Any] | None) -> SimulationConfig:
    """The simulator settings that stand beside a field: its data set's `settings` (a checkpoint's
    `simulation`; keys SimulationConfig does not know are ignored, a missing IR length is the room's), so the
    simulation has the field's ears (none recorded: the spherical head, as `field.ears.ears_for` rules), IR
    length, rays and image-source order; `settings` None (no field): the data defaults (measured KEMAR ears,
    the room's IR length, `simulate.ir_length.room_ir_seconds`)."""
    from naf_model.simulate.ir_length import room_ir_seconds

    if settings is None:
        return SimulationConfig(ir_seconds=room_ir_seconds(scene))
    known = {f.name for f in dataclasses.fields(SimulationConfig)} - {"hrir"}
    values = {k: v for k, v in settings.items() if k in known}
    if "ir_seconds" not in values:
        values["ir_seconds"] = room_ir_seconds(scene)
    return SimulationConfig.from_json(values)
