"""Presets, recipes and `--set` overrides: the old presets' configs are kept exactly (recipe files now), the
default preset is the shipped field's config, every bad override is one line before any work, the recipe is
recorded in the checkpoint, and the bundled checkpoints and those written before recipes load and run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from model_helpers import tiny_dataset

from naf_model.checkpoint import load_checkpoint
from naf_model.cli import main
from naf_model.errors import NafError
from naf_model.networks.presets import DEFAULT_PRESET, PRESETS, ModelConfig, preset
from naf_model.networks.recipes import (
    KNOBS,
    RECIPES_DIR,
    Recipe,
    bundled_recipes,
    knob_names,
    load_recipe,
    preset_recipe,
    resolve_recipe,
)
from naf_model.paths import CHECKPOINTS_DIR
from naf_model.scene import save_scene
from naf_model.scene.examples import two_room_scene

OLD_PRESETS = json.loads((Path(__file__).parent / "old_presets.json").read_text())
"""The nine presets' configs as `networks/presets.py` gave them before recipes (what docs/results/recipes.md
measured), written out by `ModelConfig.to_dict`."""


def _old_name(name: str) -> Recipe:
    """An old preset name as it is spelled now: a base preset, or the bundled recipe file of that name."""
    return preset_recipe(name) if name in PRESETS else load_recipe(name)


@pytest.mark.parametrize("name", sorted(OLD_PRESETS))
def test_every_old_preset_name_resolves_to_exactly_its_old_config(name):
    """Every old value is kept; training knobs added since take their defaults, which do what the code did
    before them (e.g. train on every pair)."""
    new, old = _old_name(name).config().to_dict(), OLD_PRESETS[name]
    assert {k: v for k, v in new.items() if k != "train"} == {k: v for k, v in old.items() if k != "train"}
    assert old["train"].items() <= new["train"].items()
    assert new == ModelConfig.from_dict(old).to_dict()


def test_every_bundled_recipe_is_an_old_preset_and_every_old_preset_is_still_there():
    assert set(bundled_recipes()) | set(PRESETS) == set(OLD_PRESETS) | {DEFAULT_PRESET}
    assert not set(bundled_recipes()) & set(PRESETS)


def test_the_default_preset_is_the_config_of_the_field_the_app_ships():
    """Everything but the name (the shipped field was trained under its recipe's name, fast_edc_swap_j2) and the
    learning rate: the checkpoint records its fine-tuning stage's 1e-4; a new run starts at the from-scratch 5e-4."""
    recorded = torch.load(CHECKPOINTS_DIR / "apartment_1.pt", map_location="cpu", weights_only=True)["config"]
    shipped = ModelConfig.from_dict(recorded).to_dict()  # knobs added since at their defaults
    default = preset(DEFAULT_PRESET).to_dict()
    assert default["train"]["lr"] == preset("fast").train.lr == 5e-4 and shipped["train"]["lr"] == 1e-4
    assert {**default, "name": shipped["name"], "train": {**default["train"], "lr": 1e-4}} == shipped
    recipe = _old_name(shipped["name"]).with_overrides([("lr", "1e-4")], "--set")
    assert recipe.config().to_dict() == shipped  # and its recipe with the fine-tune's lr gives it by name too


def _runs(ckpt) -> None:
    model = ckpt.build_model()
    x0, y0, x1, y1 = ckpt.shape.bounds
    centre = torch.tensor([[(x0 + x1) / 2, (y0 + y1) / 2]])
    with torch.no_grad():
        out = model.predict(centre, centre + 0.5, torch.tensor([1]))
    assert out.shape == (1, 2, ckpt.shape.n_freq, ckpt.shape.n_frames) and torch.isfinite(out).all()


@pytest.mark.parametrize("path", sorted(CHECKPOINTS_DIR.glob("*.pt")), ids=lambda p: p.stem)
def test_bundled_checkpoints_load_and_run(path):
    """A bundled field made under a recipe gives its config again from the recorded recipe; one made before
    recipes carries one of the old presets' names."""
    ckpt = load_checkpoint(path)
    if ckpt.recipe is None:
        assert ckpt.preset in OLD_PRESETS
    else:
        overrides = [(k, str(v)) for k, v in ckpt.recipe["overrides"].items()]
        again = resolve_recipe(ckpt.recipe["preset"], None, overrides, DEFAULT_PRESET).config()
        recorded = torch.load(path, map_location="cpu", weights_only=True)["config"]
        assert again.to_dict() == ModelConfig.from_dict(recorded).to_dict()  # knobs added since at their defaults
    _runs(ckpt)


def test_a_checkpoint_written_before_recipes_loads_and_runs(tmp_path):
    """The layout before recipes (no `recipe` entry, an old preset's name), made from a bundled field."""
    data = torch.load(CHECKPOINTS_DIR / "apartment_1.pt", map_location="cpu", weights_only=True)
    data.pop("recipe", None)
    data["preset"] = data["config"]["name"] = "fast_edc_swap_j2"  # the shipped preset's config under its old name
    torch.save(data, tmp_path / "old.pt")
    ckpt = load_checkpoint(tmp_path / "old.pt")
    assert ckpt.recipe is None and ckpt.preset == "fast_edc_swap_j2"
    _runs(ckpt)


def test_overrides_resolve_in_order_and_are_recorded_with_their_section():
    recipe = resolve_recipe("fast", None, [("lr", "1e-4"), ("train.jitter_m", "0.2"), ("edc_octaves", "true"),
                                           ("lr", "2e-4"), ("depth", "6")], DEFAULT_PRESET)
    config = recipe.config()
    assert config.name == "fast" and config.train.lr == 2e-4 and config.train.jitter_m == 0.2
    assert config.train.edc_octaves is True and config.network.depth == 6
    assert recipe.record()["overrides"] == {"train.lr": 2e-4, "train.jitter_m": 0.2, "train.edc_octaves": True,
                                            "network.depth": 6}
    assert resolve_recipe(None, None, [], DEFAULT_PRESET).config() == preset(DEFAULT_PRESET)


@pytest.mark.parametrize(
    ("base", "key", "value", "needle"),
    [
        ("fast", "colour", "red", "unknown knob 'colour'"),
        ("fast", "jitter", "0.2", "did you mean jitter_m"),
        ("fast", "grid.lr", "0.1", "unknown knob 'grid.lr'"),
        ("cpu", "n_basis", "32", "applies to the amortised network only"),
        ("cpu", "edc_weight", "1", "applies to the amortised network only"),
        ("fast", "pixels_per_ir", "100", "applies to the per-pixel NAF only"),
        ("fast", "spectral_freqs", "4", "applies to the per-pixel NAF only"),
        ("fast", "kind", "pixel", "cannot be overridden"),
        ("paper", "members", "2", "cannot be overridden"),
        ("fast", "steps", "1.5", "a whole number"),
        ("fast", "lr", "fast", "a finite number"),
        ("fast", "lr", "nan", "a finite number"),
        ("fast", "edc_octaves", "1", "true or false"),
        ("fast", "lr", "0", "out of range"),
        ("fast", "steps", "0", "out of range"),
        ("fast", "code_dropout", "1.5", "out of range"),
    ],
)
def test_a_bad_override_is_one_line_naming_it(base, key, value, needle):
    with pytest.raises(NafError, match=needle) as info:
        resolve_recipe(base, None, [(key, value)], DEFAULT_PRESET)
    assert "\n" not in str(info.value) and str(info.value).startswith(f"--set {key}={value}: ")


def test_every_knob_is_named_once_and_each_network_has_its_own():
    assert len(KNOBS) == 35
    pixel, amortised = set(knob_names("pixel")), set(knob_names("amortised"))
    assert {"n_basis", "code_dropout", "edc_weight", "swap_pairs"} <= amortised - pixel
    assert {"pixels_per_ir", "spectral_freqs"} <= pixel - amortised
    assert {"lr", "steps", "jitter_m", "depth", "spacing", "emitter_fraction", "listener_fraction"} <= pixel & amortised
    assert "kind" not in pixel | amortised and "members" not in pixel | amortised


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('preset = "fast"\n[set]\nlr = "fast"\n', "a finite number"),
        ('preset = "fast"\n[set]\nlr = "1e-4"\n', "a finite number, not '1e-4'"),
        ('preset = "fast"\n[set]\nedc_octaves = "true"\n', "true or false"),
        ('preset = "fast"\n[set]\nsteps = 2.5\n', "a whole number"),
        ('preset = "fast"\n[set]\nedc_octaves = 1\n', "true or false"),
        ('preset = "cpu"\n[set]\nswap_pairs = 8\n', "applies to the amortised network only"),
        ('preset = "fast"\nlr = 1e-4\n', "unknown entry 'lr'"),
        ('[set]\nlr = 1e-4\n', "no `preset = NAME`"),
        ('preset = "fast_edc"\n', "unknown preset 'fast_edc'"),
        ('preset = "fast"\nset = 3\n', "must be a table"),
        ('preset = "fast"\n[set\n', "not a readable TOML"),
    ],
)
def test_a_bad_recipe_file_is_one_line_naming_the_file(tmp_path, text, needle):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(NafError, match=needle) as info:
        load_recipe(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_a_recipe_file_may_qualify_its_keys_and_is_found_by_name(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('preset = "fast"\n[set.train]\nlr = 1e-4\n[set]\nwidth = 128\n')
    recipe = load_recipe(path)
    assert recipe.name == "mine" and recipe.config().train.lr == 1e-4 and recipe.config().network.width == 128
    assert load_recipe("fast_edc") == load_recipe(RECIPES_DIR / "fast_edc.toml")
    with pytest.raises(NafError, match="bundled: fast_edc"):
        load_recipe("no_such_recipe")


TINY_RECIPE = """# a recipe small enough for a test: `fast` on a coarse grid with a narrow network
preset = "fast"
[set]
depth = 4
width = 64
n_basis = 16
spacing = 0.5
dim = 8
irs_per_step = 8
lr = 2e-3
"""


def test_naf_train_records_the_recipe_and_resumes_it(tmp_path_factory, tmp_path, capsys):
    data = tiny_dataset(tmp_path_factory)
    scene = save_scene(two_room_scene(), tmp_path / "scene" / "scene.json")
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(TINY_RECIPE)
    run = tmp_path / "run"
    argv = ["train", "--scene", str(scene), "--data", str(data), "--out", str(run), "--threads", "1", "--device",
            "cpu", "--no-progress", "--recipe", str(recipe)]
    assert main([*argv, "--set", "eval_every=2", "--set", "steps=4", "--steps", "2"]) == 0
    ckpt = load_checkpoint(run / "checkpoint.pt")
    expected = load_recipe(recipe).with_overrides([("eval_every", "2"), ("steps", "4")], "--set")
    assert ckpt.recipe == expected.record() and ckpt.recipe["source"] == str(recipe)
    assert ckpt.config == expected.config() and ckpt.preset == "tiny" and ckpt.training["step"] == 2
    assert main([*argv, "--set", "lr=1e-3", "--resume"]) == 2
    assert "resumed run keeps its own recipe" in capsys.readouterr().err
    assert main([*argv, "--resume", "--steps", "4"]) == 0  # with the recipe it recorded
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert ckpt.training["step"] == 4 and ckpt.recipe == expected.record()
