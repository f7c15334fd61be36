"""The IR length a room needs (Eyring decay of its slowest band + its longest direct path), the cap, and what
the plan line says about IRs cut shorter than that."""

from __future__ import annotations

import math

import numpy as np
import pytest

from naf_model.cli import data as cli_data
from naf_model.cli import main
from naf_model.scene import Scene
from naf_model.scene.examples import shoebox_scene
from naf_model.simulate import ir_length
from naf_model.simulate.ir_length import IrLengthNeed, ir_length_note, needed_ir_length

AIR = (0.0001, 0.0003, 0.0006, 0.001, 0.0019, 0.0058, 0.0203)
"""pyroomacoustics' energy absorption of air per metre, 125 Hz-8 kHz (20 C, 50 % humidity)."""
PLASTER = (0.013, 0.015, 0.02, 0.03, 0.04, 0.05, 0.05)
CARPET = (0.02, 0.06, 0.14, 0.37, 0.60, 0.65, 0.65)
PLASTERBOARD = (0.29, 0.10, 0.05, 0.04, 0.07, 0.09, 0.09)


def mixed_shoebox(w: float, d: float, h: float) -> Scene:
    """A w x d x h m room: plaster walls, carpet floor, plasterboard ceiling."""
    return Scene.from_dict({
        "name": "mixed", "ceiling_height": h, "wall_thickness": 0.0,
        "defaults": {"walls": "plaster", "floor": "carpet", "ceiling": "plasterboard"},
        "rooms": [{"name": "room", "polygon": [[0, 0], [w, 0], [w, d], [0, d]]}],
    })


def test_the_length_is_60_db_of_eyring_decay_in_the_slowest_band_plus_the_diagonal():
    w, d, h = 6.0, 4.0, 3.0
    volume, walls, floor = w * d * h, 2 * (w + d) * h, w * d
    area = walls + 2 * floor
    t60 = []
    for band in range(7):
        alpha = (walls * PLASTER[band] + floor * CARPET[band] + floor * PLASTERBOARD[band]) / area
        t60.append(0.161 * volume / (-area * math.log(1 - alpha) + 4 * AIR[band] * volume))
    slowest = int(np.argmax(t60))
    diagonal = math.sqrt(w * w + d * d + h * h) / 343.0

    need = needed_ir_length(mixed_shoebox(w, d, h))
    assert need.band_hz == 125 * 2**slowest
    assert need.band_t60_s == pytest.approx(t60[slowest], rel=1e-9)
    assert need.path_s == pytest.approx(diagonal, rel=1e-9)
    assert need.seconds == pytest.approx(t60[slowest] + diagonal, rel=1e-9)
    assert need.auto_seconds == math.ceil((t60[slowest] + diagonal) * 100) / 100
    assert not need.capped
    assert f"{need.band_hz} Hz" in need.reason or f"{need.band_hz // 1000} kHz" in need.reason
    assert "Eyring" in need.reason and "capped" not in need.reason


def test_a_harder_room_needs_longer_irs_and_the_cap_applies_and_is_stated():
    soft = needed_ir_length(shoebox_scene(5.0, 4.0, 3.0, "curtains"))
    hard = needed_ir_length(shoebox_scene(5.0, 4.0, 3.0, "tiles"))
    assert soft.seconds < hard.seconds
    hall = needed_ir_length(shoebox_scene(60.0, 40.0, 20.0, "concrete"))  # T60 far above a minute at 125 Hz
    assert hall.capped and hall.seconds == ir_length.MAX_IR_SECONDS == 8.0
    assert hall.uncapped_s > 8.0
    assert "capped at 8 s" in hall.reason and "cut at about" in hall.reason
    small_cap = needed_ir_length(shoebox_scene(5.0, 4.0, 3.0, "tiles"), cap_s=0.3)
    assert small_cap.seconds == 0.3 and small_cap.capped
    with pytest.raises(ValueError, match="cap_s"):
        needed_ir_length(shoebox_scene(), cap_s=0.0)


def test_the_plan_line_says_the_length_and_what_is_cut():
    need = IrLengthNeed(seconds=3.0, band_hz=500, band_t60_s=2.9, path_s=0.1, cap_s=8.0)
    line = ir_length_note(need, 0.6)
    assert line.startswith("IRs 0.60 s; the 500 Hz band needs 2.90 s to decay 60 dB (Eyring)")
    kept = 60 * (0.6 - 0.1) / 2.9  # the farthest listener's reverberation decays from 0.1 s on
    assert f"cut at about -{kept:.0f} dB" in line
    assert "--ir-seconds auto for 3.00 s" in line
    assert IrLengthNeed(2.901, 500, 2.8, 0.101, 8.0).auto_seconds == 2.91
    assert need.kept_db(3.0) == 60.0 and need.kept_db(0.05) == 0.0
    whole = ir_length_note(need, 3.0)
    assert whole.startswith("IRs 3.00 s: the 500 Hz band needs 2.90 s") and "cut" not in whole
    capped = IrLengthNeed(seconds=8.0, band_hz=125, band_t60_s=12.0, path_s=0.2, cap_s=8.0)
    assert "cut at about -39 dB" in ir_length_note(capped, 8.0)
    assert "auto for 8.00 s, the 8 s cap" in ir_length_note(capped, 1.0)


def test_the_command_line_cap_is_the_library_cap():
    assert cli_data.MAX_IR_SECONDS == ir_length.MAX_IR_SECONDS


def test_ir_seconds_auto_asks_the_simulator_for_the_length_the_room_needs(tmp_path, monkeypatch):
    """`naf data make --ir-seconds auto` plans with Eyring's length and asks the build to measure it
    (`make_dataset(measure_length=True)`: the pilot of test_data.py; the build itself is replaced here)."""
    import naf_model.data

    seen = {}

    def fake_make(scene, config, output, **kwargs):
        seen["scene"], seen["config"], seen["kwargs"] = scene, config, kwargs
        return output

    monkeypatch.setattr(naf_model.data, "make_dataset", fake_make)
    monkeypatch.setenv("NAF_DATA_DIR", str(tmp_path))
    assert main(["data", "make", "--scene", "apartment_1", "-o", str(tmp_path / "d.h5"), "--ir-seconds", "auto"]) == 0
    need = needed_ir_length(seen["scene"])
    expected = seen["config"].simulation.ir_seconds
    assert expected == need.auto_seconds and 0 <= expected - need.seconds < 0.01
    assert seen["kwargs"]["measure_length"]  # the build measures it with a pilot once its plan is sound
    assert expected == round(expected, 2)  # whole 10 ms: shards on other machines agree on the plan
    assert 0.6 < expected < 8.0
    assert main(["data", "make", "--scene", "apartment_1", "-o", str(tmp_path / "e.h5")]) == 0
    assert seen["config"].simulation.ir_seconds == expected  # the default is the room's length
    assert seen["config"].waveforms == "held-out"
    assert main(["data", "make", "--scene", "apartment_1", "-o", str(tmp_path / "f.h5"), "--ir-seconds", "0.6",
                 "--waveforms", "all"]) == 0
    assert seen["config"].simulation.ir_seconds == 0.6 and seen["config"].waveforms == "all"


def test_a_scene_without_an_eyring_estimate_keeps_the_old_length():
    """No surfaces to read absorption from: 0.6 s, and the plan line says why."""
    from naf_model.data.make import ir_length_line
    from naf_model.data.plan import room_config

    class NoSurfaces:
        name, bounds, ceiling_height = "bare", (0.0, 0.0, 4.0, 3.0), 2.5

    assert ir_length.room_ir_seconds(NoSurfaces()) == ir_length.FALLBACK_IR_SECONDS == 0.6
    assert room_config(NoSurfaces()).simulation.ir_seconds == 0.6
    assert ir_length_line(NoSurfaces(), 0.6) == "IRs 0.60 s (no Eyring estimate of this scene's decay)"
