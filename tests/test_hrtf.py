"""Measured HRTFs: a tiny SOFA HRIR set written in the test renders arrivals with its own delays and levels,
turns with the head, enters the data set's settings and key, and bad files are one-line errors."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import sofar

from naf_model.cli import main
from naf_model.conventions import SAMPLE_RATE
from naf_model.errors import NafError
from naf_model.simulate import SimulationConfig, simulate_binaural_rirs
from naf_model.simulate.ears import SPHERICAL_HEAD
from naf_model.simulate.hrtf import HrtfError, load_hrir_set, render_arrivals_hrir
from naf_model.simulate.room import Arrivals

FS = 48_000
# azimuth (deg) -> (left delay, left gain, right delay, right gain) in samples at 48 kHz; onsets after a
# 40-sample lead, so the frontal ears' mean onset (the head centre) is sample 40
EARS = {0: (40, 0.8, 40, 0.8), 90: (28, 1.0, 52, 0.3), 180: (40, 0.5, 40, 0.5), 270: (52, 0.3, 28, 1.0)}


def write_sofa(path, rate=FS, convention="SimpleFreeFieldHRIR", n=128):
    """Four horizontal directions, each ear one impulse (delay, gain) from `EARS`."""
    sofa = sofar.Sofa(convention)
    irs = np.zeros((len(EARS), 2, n))
    for m, (dl, gl, dr, gr) in enumerate(EARS.values()):
        irs[m, 0, dl], irs[m, 1, dr] = gl, gr
    if convention == "SimpleFreeFieldHRIR":
        sofa.Data_IR = irs
        sofa.Data_SamplingRate = rate
        sofa.SourcePosition = [[az, 0.0, 1.5] for az in EARS]
    sofar.write_sofa(str(path), sofa, compression=0)
    return path


@pytest.fixture
def sofa_file(tmp_path):
    return write_sofa(tmp_path / "tiny.sofa")


def _one_arrival(direction, delay_s=0.01):
    return Arrivals(np.array([delay_s]), np.asarray([direction], float), np.ones((1, 7)))


def _peak(x):
    return int(np.argmax(np.abs(x))), float(np.max(np.abs(x)))


def test_a_source_on_the_left_gets_the_left_ears_delay_and_level(sofa_file):
    hrirs = load_hrir_set(sofa_file)
    assert hrirs.irs.shape[:2] == (4, 2) and hrirs.lead == round(40 * SAMPLE_RATE / FS)
    ir = render_arrivals_hrir(_one_arrival([0.0, 1.0, 0.0]), 2048, hrirs)  # +90 deg at heading 0
    delay = 0.01 * SAMPLE_RATE
    (tl, al), (tr, ar) = _peak(ir[0, 0]), _peak(ir[0, 1])
    # the left ear leads the head centre by 12 samples at 48 kHz, the right one lags by 12
    assert abs(tl - (delay - 12 * SAMPLE_RATE / FS)) <= 1 and abs(tr - (delay + 12 * SAMPLE_RATE / FS)) <= 1
    assert 20 * np.log10(al / ar) == pytest.approx(20 * np.log10(1.0 / 0.3), abs=1.0)
    # facing +y (heading 90) the same source is in front: equal ears at the head centre's time
    (fl, gl), (fr, gr) = _peak(ir[1, 0]), _peak(ir[1, 1])
    assert abs(fl - delay) <= 1 and abs(fr - delay) <= 1 and gl == pytest.approx(gr, rel=1e-6)
    # heading 180: the source is on the right; heading 270: behind
    assert _peak(ir[2, 1])[1] > 3 * _peak(ir[2, 0])[1]
    assert _peak(ir[3, 0])[1] == pytest.approx(0.5 / 0.8 * gl, rel=0.05)


def test_interpolation_is_exact_on_measured_directions_and_blends_between(sofa_file):
    hrirs = load_hrir_set(sofa_file)
    left = _one_arrival([0.0, 1.0, 0.0])
    np.testing.assert_allclose(
        render_arrivals_hrir(left, 2048, hrirs, "interpolate"), render_arrivals_hrir(left, 2048, hrirs), atol=1e-9
    )
    between = _one_arrival([np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0])  # 45 deg: front and left equally
    blend = render_arrivals_hrir(between, 2048, hrirs, "interpolate")[0, 0]
    assert np.sum(np.abs(blend) > 0.2 * np.abs(blend).max()) >= 2  # two impulses, not one


def test_the_hrtf_changes_the_early_part_only_and_enters_the_settings(sofa_file):
    from naf_model.scene.examples import shoebox_scene

    scene = shoebox_scene()
    base = SimulationConfig(ir_seconds=0.2, n_rays=200, hrtf=SPHERICAL_HEAD)
    with_hrtf = SimulationConfig(ir_seconds=0.2, n_rays=200, hrir=load_hrir_set(sofa_file))
    assert json.loads(with_hrtf.to_json())["hrtf"] == with_hrtf.hrir.sha256
    assert "hrtf" not in json.loads(base.to_json())  # spherical-head settings keep their old form
    a = simulate_binaural_rirs(scene, [1.0, 2.0], [[4.0, 2.0]], base)
    b = simulate_binaural_rirs(scene, [1.0, 2.0], [[4.0, 2.0]], with_hrtf)
    assert not np.allclose(a, b)
    direct = int(3.0 / 343.0 * SAMPLE_RATE)
    # the emitter (-x of the listener) is on the left at heading 90 (+y forward): the left ear is louder
    early = b[0, 1, :, direct - 20 : direct + 40]
    assert np.abs(early[0]).max() > 2 * np.abs(early[1]).max()
    with pytest.raises(HrtfError, match="--hrtf FILE.sofa"):  # loaded, never registered: not on this machine
        simulate_binaural_rirs(scene, [1.0, 2.0], [[4.0, 2.0]], SimulationConfig.from_json(with_hrtf.to_json()))


def test_naf_data_make_with_hrtf_records_its_hash_and_keeps_the_file_for_re_simulations(
    tmp_path, sofa_file, monkeypatch
):
    """The data set's settings name the set by hash; a copy in the HRTF store lets everything that simulates
    the data set again (off-grid and floor sets, the app, the field's direct sound) find it by that hash."""
    from naf_model.field.ears import MeasuredHead, ears_for
    from naf_model.scene.examples import shoebox_scene

    monkeypatch.setenv("NAF_CACHE_DIR", str(tmp_path / "cache"))
    scene_path = tmp_path / "scene.json"
    scene_path.write_text(json.dumps(shoebox_scene(3.0, 2.5, 2.5).to_dict()))
    args = ["data", "make", "--scene", str(scene_path), "--workers", "1", "--listener-spacing", "0.8"]
    args += ["--emitter-spacing", "1.5", "--listeners-per-emitter", "3", "--ir-seconds", "0.1", "--rays", "100"]
    out = tmp_path / "hrtf.h5"
    assert main([*args, "-o", str(out), "--hrtf", str(sofa_file), "--hrtf-method", "interpolate"]) == 0
    with h5py.File(out, "r") as f:
        settings = json.loads(f.attrs["simulation"])
    assert settings["hrtf"] == load_hrir_set(sofa_file).sha256 and settings["hrtf_method"] == "interpolate"
    assert (tmp_path / "cache" / "hrtf" / f"{settings['hrtf']}.sofa").read_bytes() == sofa_file.read_bytes()
    sofa_file.unlink()  # the user's file is gone; the store's copy serves
    again = simulate_binaural_rirs(shoebox_scene(3.0, 2.5, 2.5), [0.75, 0.75], [[2.0, 1.5]],
                                   SimulationConfig.from_json(settings))  # fmt: skip
    assert np.isfinite(again).all() and np.abs(again).max() > 0
    ears = ears_for(settings)
    assert isinstance(ears, MeasuredHead) and ears.hrirs.sha256 == settings["hrtf"] and ears.method == "interpolate"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: write_sofa(p, convention="GeneralTF"), "not an HRIR set"),
        (lambda p: write_sofa(p, rate=1e9), "cannot be resampled"),
        (lambda p: write_sofa(p, rate=3.0), "cannot be resampled"),
        (lambda p: p.write_bytes(b"RIFF....WAVEfmt not a sofa file") and p, "not a SOFA file"),
        (lambda p: p.with_name("missing.sofa"), "no SOFA file"),
    ],
)
def test_bad_sofa_files_are_one_line_errors_and_nothing_is_written(tmp_path, capsys, make, message):
    bad = make(tmp_path / "bad.sofa")
    with pytest.raises(HrtfError, match=message):
        load_hrir_set(bad)
    assert issubclass(HrtfError, NafError)
    out = tmp_path / "out.h5"
    args = ["data", "make", "--scene", "apartment_1", "-o", str(out), "--hrtf", str(bad)]
    assert main(args) != 0
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert not out.exists() and not out.with_name("out.h5.parts").exists()
