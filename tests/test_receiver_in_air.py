"""The ray tracer's receiving sphere near walls (`SimulationConfig.receiver_in_air`): the share of the sphere in
the air, and a simulation whose late energy is divided by it where asked, the same as before where not."""

from __future__ import annotations

import numpy as np
import pytest

from naf_model.cli import main
from naf_model.data.reader import DataSet
from naf_model.scene.examples import shoebox_scene
from naf_model.scene.io import save_scene
from naf_model.simulate import SimulationConfig, simulate_binaural_rirs
from naf_model.simulate.rirs import inside_share

FS = 22_050


def _cap_share(gap: float, radius: float = 0.5) -> float:
    """The share of a ball of `radius` on the near side of a plane `gap` from its centre (a spherical cap cut)."""
    h = radius - gap
    return 1.0 - np.pi * h * h * (3 * radius - h) / 3 / (4 / 3 * np.pi * radius**3)


def test_the_share_is_the_spheres_volume_in_the_room():
    room = shoebox_scene(6.0, 4.0, 3.0)  # ear height 1.5 m: floor and ceiling 1.5 m away, beyond the sphere
    listeners = np.array([[3.0, 2.0, 1.5], [3.0, 0.25, 1.5], [3.0, 0.4, 1.5], [0.25, 0.25, 1.5]])
    share = inside_share(room, listeners, 0.5)
    assert share[0] == 1.0
    assert share[1] == pytest.approx(_cap_share(0.25), abs=0.02)
    assert share[2] == pytest.approx(_cap_share(0.4), abs=0.02)
    assert 0.25 < share[3] < share[1]  # a corner cuts twice
    assert inside_share(room, listeners[1:2], 0.2)[0] == 1.0  # a smaller sphere stays in the room


def test_the_correction_scales_only_the_ray_traced_part_and_only_when_asked():
    room = shoebox_scene(6.0, 4.0, 3.0)
    emitter, listeners = np.array([1.5, 2.0]), np.array([[4.5, 2.0], [4.5, 0.25]])
    plain = SimulationConfig(ir_seconds=0.5, n_rays=300, ism_order=1, hrtf="", seed=3)
    fixed = SimulationConfig(ir_seconds=0.5, n_rays=300, ism_order=1, hrtf="", seed=3, receiver_in_air=True)
    a = simulate_binaural_rirs(room, emitter, listeners, plain).astype(np.float64)
    b = simulate_binaural_rirs(room, emitter, listeners, fixed).astype(np.float64)
    assert np.array_equal(a[0], b[0])  # in the middle of the room the whole sphere is air: nothing changes
    late = slice(int(0.1 * FS), None)  # the image sources (order 1) are over: the ray-traced tail alone
    gain_db = 10 * np.log10(np.square(b[1, ..., late]).sum() / np.square(a[1, ..., late]).sum())
    share = inside_share(room, np.array([[4.5, 0.25, room.ear_height]]), 0.5)[0]
    assert gain_db == pytest.approx(-10 * np.log10(share), abs=0.05) and gain_db > 0.5


def test_settings_without_it_keep_their_json_and_a_data_set_records_it(tmp_path, capsys):
    plain = SimulationConfig(ir_seconds=0.5)
    assert "receiver_in_air" not in plain.to_json()  # data sets and plan keys made before it keep theirs
    on = SimulationConfig(ir_seconds=0.5, receiver_in_air=True)
    assert SimulationConfig.from_json(on.to_json()) == on and SimulationConfig.from_json(plain.to_json()) == plain
    scene = save_scene(shoebox_scene(3.0, 2.5, 2.4), tmp_path / "room.json")
    out = tmp_path / "room.h5"
    assert main(["data", "make", "--scene", str(scene), "-o", str(out), "--ir-seconds", "0.3", "--rays", "100",
                 "--listener-spacing", "0.8", "--emitter-spacing", "1.2", "--listeners-per-emitter", "2",
                 "--hrtf", "spherical", "--workers", "1", "--receiver-in-air"]) == 0  # fmt: skip
    with DataSet(out) as ds:
        assert ds.meta.simulation["receiver_in_air"] is True
    capsys.readouterr()
    assert main(["data", "info", str(out)]) == 0
    assert "near walls: corrected (--receiver-in-air)" in capsys.readouterr().out
