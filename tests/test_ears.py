"""The default ears: the measured MIT KEMAR set (from slab) renders with the set's own ITD, ILD and front/back cue
in a free-field-like room, the spherical head stays an option, the field plays its direct sound through the data
set's ears, and a missing or damaged set is a one-line error."""

from __future__ import annotations

import bz2
import json

import h5py
import numpy as np
import pytest

from naf_model.acoustics import interaural
from naf_model.cli import main
from naf_model.conventions import HEAD_RADIUS_M, N_FFT, SAMPLE_RATE, SPEED_OF_SOUND
from naf_model.field.ears import MeasuredHead, SphericalHead, ears_for
from naf_model.scene import Scene
from naf_model.scene.examples import shoebox_scene
from naf_model.simulate import SimulationConfig, simulate_binaural_rirs
from naf_model.simulate import ears as ears_module
from naf_model.simulate.ears import SPHERICAL_HEAD, kemar_hrir_set, kemar_sha256, read_kemar
from naf_model.simulate.hrtf import HrtfError

STEPS = 8
"""Listeners 1/STEPS of a sample's travel apart: naf's ITD measure (half-peak crossings between samples) moves
with where an arrival falls between two samples (KEMAR at 90 deg: 796-878 us), so ITDs are compared as means."""
FRONT, BACK, LEFT = 0, 2, 3  # orientations (headings 0, 90, 180, 270) for a source at +x


@pytest.fixture(scope="module")
def free_field():
    """Direct-sound IRs (hrtf -> (STEPS, 4, 2, N)) of a source 2 m ahead of heading 0 in a 12 x 12 x 6 m
    absorbing room, ears 3 m up, cut 4 ms after the direct sound (the floor's reflection comes 12.6 ms later)."""
    scene = Scene.from_dict({**shoebox_scene(12.0, 12.0, 6.0, "acoustic_panel").to_dict(), "ear_height": 3.0})
    step = SPEED_OF_SOUND / SAMPLE_RATE / STEPS
    listeners = np.column_stack([4.0 - step * np.arange(STEPS), np.full(STEPS, 6.0)])
    n = int((2.0 / SPEED_OF_SOUND + 0.004) * SAMPLE_RATE)
    out = {}
    for hrtf in (kemar_sha256(), SPHERICAL_HEAD):
        config = SimulationConfig(ir_seconds=0.05, ism_order=1, n_rays=200, hrtf=hrtf)
        out[hrtf] = simulate_binaural_rirs(scene, (6.0, 6.0), listeners, config)[..., :n].astype(np.float64)
    return out


def _kemar_own(azimuth_deg: float) -> np.ndarray:
    """slab's KEMAR HRIR pair (1, 2, K) at 44.1 kHz for a horizontal direction, as measured."""
    irs, _, directions = read_kemar()
    a = np.deg2rad(azimuth_deg)
    return irs[[int(np.argmax(directions @ [np.cos(a), np.sin(a), 0.0]))]]


def test_the_default_ears_are_the_measured_kemar_set():
    config = SimulationConfig()
    assert config.hrtf == kemar_sha256() and json.loads(config.to_json())["hrtf"] == kemar_sha256()
    hrirs = kemar_hrir_set()
    assert hrirs.irs.shape[:2] == (710, 2) and hrirs.sha256 == kemar_sha256()
    # settings made before measured ears (no hrtf) stay the spherical head's, and keep their JSON
    old = json.loads(SimulationConfig(hrtf=SPHERICAL_HEAD).to_json())
    assert "hrtf" not in old and SimulationConfig.from_json(old).hrtf == SPHERICAL_HEAD
    assert isinstance(ears_for(old), SphericalHead) and ears_for(old).radius == HEAD_RADIUS_M
    assert isinstance(ears_for(json.loads(config.to_json())), MeasuredHead)


def test_kemar_itd_and_ild_at_90_degrees_are_the_sets_own(free_field):
    own = _kemar_own(90.0)
    left = free_field[kemar_sha256()][:, LEFT]  # heading 270: the source on the left
    itd = interaural.interaural_delay(left)
    assert abs(itd.mean() - interaural.interaural_delay(own, 44_100)[0]) < 50e-6, itd
    ild = interaural.band_ild(left).mean(0)  # octave bands 500 Hz - 8 kHz
    np.testing.assert_allclose(ild, interaural.band_ild(own, 44_100)[0], atol=2.0)
    # the spherical head's ITD is Woodworth's, far from KEMAR's
    sphere = interaural.interaural_delay(free_field[SPHERICAL_HEAD][:, LEFT]).mean()
    assert sphere == pytest.approx(HEAD_RADIUS_M * (np.pi / 2 + 1) / SPEED_OF_SOUND, abs=50e-6)


def test_front_and_back_differ_with_kemar_and_not_with_the_spherical_head(free_field):
    kemar, sphere = free_field[kemar_sha256()], free_field[SPHERICAL_HEAD]
    measured = interaural.front_back_db(kemar[:, FRONT], kemar[:, BACK]).mean(0)  # (2 ears, 4-10 kHz bands)
    spherical = interaural.front_back_db(sphere[:, FRONT], sphere[:, BACK]).mean(0)
    assert np.abs(measured).max() >= 3.0 and np.abs(spherical).max() < 0.5
    own = interaural.front_back_db(_kemar_own(0.0), _kemar_own(180.0), 44_100)[0]
    assert np.abs(measured - own)[:, :-1].max() < 2.0  # the set's own cue (10 kHz: near 22,050 Hz's band edge)


def _placed(ears, emitters, listeners, headings, n: int) -> np.ndarray:
    """The direct sound (B, 2, n) a listening synthesis places on line of sight (`ears.direct`: spectra on the
    STFT grid from each ear's start, and the starts), put at its delays by an exact fractional shift."""
    spectra, delays = ears.direct(emitters, listeners, headings)
    pulses = np.fft.irfft(spectra, n=N_FFT, axis=-1)  # from each ear's start on
    shift = np.exp(-2j * np.pi * np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE) * delays[..., None])
    return np.fft.irfft(np.fft.rfft(pulses, n=n, axis=-1) * shift, n=n, axis=-1)


def test_the_played_direct_sound_is_the_simulators_through_the_data_sets_ears(free_field):
    """What the listening synthesis places on line of sight for a KEMAR data set is the simulated direct sound:
    the HRIR of the direction, 1/r, at the simulator's delays (its ITD and ILD); the spherical head's is not."""
    sim = free_field[kemar_sha256()][:, LEFT]  # (STEPS, 2, n): heading 270, the source on the left
    n = sim.shape[-1]
    step = SPEED_OF_SOUND / SAMPLE_RATE / STEPS
    emitters, headings = np.tile([[6.0, 6.0]], (STEPS, 1)), np.full(STEPS, 270.0)
    listeners = np.column_stack([4.0 - step * np.arange(STEPS), np.full(STEPS, 6.0)])
    ears = ears_for(json.loads(SimulationConfig().to_json()))
    direct = _placed(ears, emitters, listeners, headings, n)
    # sample by sample, but for air absorption (left out of the played pulse) and the room's faint rest
    assert np.sum((direct - sim) ** 2) < 0.01 * np.sum(sim**2)
    assert abs(interaural.interaural_delay(direct).mean() - interaural.interaural_delay(sim).mean()) < 10e-6
    np.testing.assert_allclose(interaural.band_ild(direct), interaural.band_ild(sim), atol=0.5)
    sphere = _placed(SphericalHead(), emitters, listeners, headings, n)
    assert abs(interaural.interaural_delay(sphere).mean() - interaural.interaural_delay(sim).mean()) > 100e-6


def test_naf_data_make_records_the_ears_kemar_by_default_or_the_spherical_head(tmp_path, capsys):
    scene_path = tmp_path / "scene.json"
    scene_path.write_text(json.dumps(shoebox_scene(3.0, 2.5, 2.5).to_dict()))
    args = ["data", "make", "--scene", str(scene_path), "--workers", "1", "--listener-spacing", "0.8",
            "--emitter-spacing", "1.5", "--listeners-per-emitter", "2", "--ir-seconds", "0.06", "--rays", "50"]
    settings = {}
    for name, extra in (("default", []), ("spherical", ["--hrtf", "spherical"])):
        out = tmp_path / f"{name}.h5"
        assert main([*args, "-o", str(out), *extra]) == 0
        with h5py.File(out, "r") as f:
            settings[name] = json.loads(f.attrs["simulation"])
        capsys.readouterr()
        assert main(["data", "info", str(out)]) == 0
        settings[name + " info"] = capsys.readouterr().out
    assert settings["default"]["hrtf"] == kemar_sha256() and settings["default"]["hrtf_method"] == "nearest"
    assert "hrtf" not in settings["spherical"]
    assert "ears: MIT KEMAR dummy head" in settings["default info"]
    assert "ears: spherical head" in settings["spherical info"]


@pytest.fixture
def no_kemar_cache():
    """Forget the process's KEMAR set before and after a test that fakes slab's file."""
    ears_module.kemar_sha256.cache_clear(), ears_module.kemar_hrir_set.cache_clear()
    yield
    ears_module.kemar_sha256.cache_clear(), ears_module.kemar_hrir_set.cache_clear()


@pytest.mark.parametrize("damage, message", [
    ("missing", "Python package slab, which is not installed"),
    ("corrupt", "is not the KEMAR set naf reads"),
    ("foreign", "is not the KEMAR set naf reads"),
])  # fmt: skip
def test_a_missing_or_damaged_kemar_set_is_one_line(tmp_path, monkeypatch, capsys, no_kemar_cache, damage, message):
    fake = tmp_path / "slab" / "data" / "mit_kemar_normal_pinna.bz2"
    fake.parent.mkdir(parents=True)
    if damage == "corrupt":
        fake.write_bytes(b"BZh9 not really bzip2")
    elif damage == "foreign":  # a pickle that would run code: refused, never run
        fake.write_bytes(bz2.compress(b"cos\nsystem\n(S'touch " + str(tmp_path / "ran").encode() + b"'\ntR."))
    monkeypatch.setattr(ears_module, "KEMAR_FILE", str(fake) if damage != "missing" else str(tmp_path / "none"))
    with pytest.raises(HrtfError, match=message):
        kemar_hrir_set()
    assert not (tmp_path / "ran").exists()
    out = tmp_path / "out.h5"
    assert main(["data", "make", "--scene", "apartment_1", "-o", str(out), "--hrtf", "kemar"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err and not out.exists()


def test_the_spherical_head_needs_no_slab(tmp_path, monkeypatch, no_kemar_cache):
    monkeypatch.setattr(ears_module, "KEMAR_FILE", str(tmp_path / "none"))
    scene_path = tmp_path / "scene.json"
    scene_path.write_text(json.dumps(shoebox_scene(3.0, 2.5, 2.5).to_dict()))
    out = tmp_path / "spherical.h5"
    args = ["data", "make", "--scene", str(scene_path), "--workers", "1", "--listener-spacing", "0.8", "--hrtf",
            "spherical", "--emitter-spacing", "1.5", "--listeners-per-emitter", "2", "--ir-seconds", "0.06",
            "--rays", "50", "-o", str(out)]  # fmt: skip
    assert main(args) == 0 and out.is_file()
