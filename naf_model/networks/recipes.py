"""Recipes: a base preset plus overrides of its knobs, under a name; what `naf train` trains and records.

An override is `key=value` from the command line (`naf train --set lr=1e-4`, repeatable) or a recipe file, a
TOML file read with tomllib (assets/recipes/*.toml, or any path):

    # why this recipe exists (comments are free)
    preset = "fast"
    [set]
    edc_weight = 1.0
    edc_octaves = true

A key is a config field (`lr`, `jitter_m`, `depth`, ...), or the same with its section (`train.lr`); every field
name is unique across sections. An override is refused, before any work, when the key is unknown, is not read
by the preset's network (`knob(only=...)`), may not be overridden (`knob(fixed=...)`), or its value has the wrong
type or lies outside the knob's range. A recipe's name is its file's stem (the preset's name without a file);
the checkpoint records it with the preset and the resolved overrides (`Recipe.record`). Standard library only.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import tomllib
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from naf_model.errors import NafError
from naf_model.networks import presets
from naf_model.networks.presets import (
    NETWORK_KINDS,
    PRESETS,
    EmbeddingConfig,
    GridConfig,
    ModelConfig,
    NetworkConfig,
    TrainConfig,
)
from naf_model.paths import ASSETS_DIR, project_path

RECIPES_DIR = ASSETS_DIR / "recipes"
"""The bundled recipe files, one per comparison in docs/results/recipes.md; `--recipe NAME` finds them here."""

SECTIONS: dict[str, type] = {
    "network": NetworkConfig,
    "grid": GridConfig,
    "embedding": EmbeddingConfig,
    "train": TrainConfig,
}
"""`ModelConfig` attribute -> its dataclass: where the knobs live."""

_FILE_KEYS = {"preset", "set"}


@dataclass(frozen=True)
class Knob:
    """One overridable config field: its section, name, Python type and the limits `knob()` declared."""

    section: str
    name: str
    kind: type
    metadata: dict[str, Any]

    @property
    def key(self) -> str:
        """The canonical key, `section.name` (what checkpoints record)."""
        return f"{self.section}.{self.name}"


def _knobs() -> dict[str, Knob]:
    found: dict[str, Knob] = {}
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            kind = hints[f.name] if hints[f.name] in (int, float, bool) else str
            assert f.name not in found, f"knob {f.name} in two sections"  # bare keys must stay unambiguous
            found[f.name] = Knob(section, f.name, kind, dict(f.metadata))
    return found


KNOBS: dict[str, Knob] = _knobs()
"""Field name -> knob, over every section."""


def knob_names(network: str) -> list[str]:
    """The keys an override may name for a network kind ("pixel" or "amortised")."""
    return [k for k, knob in KNOBS.items() if not knob.metadata.get("fixed") and knob.metadata.get("only") in
            (None, network)]


def find_knob(key: str, preset: str, where: str) -> Knob:
    """The knob `key` (bare or `section.name`) names; NafError when the preset's network cannot take it."""
    network = PRESETS[preset].network.kind
    section, _, name = key.rpartition(".")
    knob = KNOBS.get(name)
    if knob is None or (section and section != knob.section):
        near = difflib.get_close_matches(name, list(KNOBS), n=3)
        hint = f"did you mean {' or '.join(near)}?" if near else f"known: {', '.join(knob_names(network))}"
        raise NafError(f"{where}: unknown knob {key!r}; {hint}")
    if knob.metadata.get("fixed"):
        raise NafError(f"{where}: {name} cannot be overridden ({knob.metadata['fixed']})")
    only = knob.metadata.get("only")
    if only not in (None, network):
        raise NafError(f"{where}: {name} applies to {NETWORK_KINDS[only]} only, and preset {preset!r} is "
                       f"{NETWORK_KINDS[network]}; drop it or pick a preset of that network")
    return knob


def coerce(knob: Knob, value: Any, where: str, from_text: bool) -> Any:
    """`value` (the text after `=` of `--set` when `from_text`, else a typed TOML value: a quoted number is
    not a number there) as the knob's type, checked against its range; NafError saying what was expected."""
    if from_text and knob.kind is not str:
        value = _parse_text(knob, value, where)
    if knob.kind is bool:
        ok = isinstance(value, bool)
    elif knob.kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif knob.kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        raise NafError(f"{where}: {knob.name} takes {_type_words(knob.kind)}, not {value!r}")
    low, high, low_open = knob.metadata.get("low"), knob.metadata.get("high"), knob.metadata.get("low_open")
    if knob.kind is not bool and knob.kind is not str:
        if (low is not None and (value <= low if low_open else value < low)) or (high is not None and value > high):
            bound = "more than" if low_open else "from"
            raise NafError(f"{where}: {knob.name}={value} is out of range; expected {bound} {low:g} to {high:g}")
    return value


def _parse_text(knob: Knob, text: str, where: str) -> Any:
    """The text of `--set key=text` as the knob's type (booleans as true/false)."""
    t = text.strip()
    try:
        if knob.kind is bool:
            if t.lower() in ("true", "false"):
                return t.lower() == "true"
            raise ValueError
        if knob.kind is int:
            return int(t)
        return float(t)
    except ValueError:
        raise NafError(f"{where}: {knob.name} takes {_type_words(knob.kind)}, not {text!r}") from None


def _type_words(kind: type) -> str:
    return {bool: "true or false", int: "a whole number", float: "a finite number"}.get(kind, "text")


@dataclass(frozen=True)
class Recipe:
    """A named preset plus overrides, `(section.name, value)` in the order they apply (a later one wins)."""

    name: str
    preset: str
    overrides: tuple[tuple[str, Any], ...] = ()
    source: str | None = None
    """The recipe file it was read from (project-relative), None for a preset and command-line overrides."""

    def with_overrides(self, pairs: list[tuple[str, Any]], where: str, from_text: bool = True) -> Recipe:
        """This recipe with more overrides (keys bare or qualified; values text from the command line, or
        typed when not `from_text`), each checked against the preset's network: NafError naming `where` and
        the key at the first bad one."""
        added = []
        for key, value in pairs:
            label = f"{where} {key}={value}" if isinstance(value, str) else f"{where} {key} = {value!r}"
            knob = find_knob(key, self.preset, label)
            added.append((knob.key, coerce(knob, value, label, from_text and isinstance(value, str))))
        return dataclasses.replace(self, overrides=self.overrides + tuple(added))

    def resolved(self) -> dict[str, Any]:
        """The overrides as one dict, later ones replacing earlier ones (what the checkpoint records)."""
        return dict(self.overrides)

    def config(self) -> ModelConfig:
        """The preset's config with the overrides applied, named after the recipe."""
        base = presets.preset(self.preset)  # looked up when called: tests put a tiny config in its place
        changes: dict[str, dict[str, Any]] = {}
        for key, value in self.resolved().items():
            section, name = key.split(".")
            changes.setdefault(section, {})[name] = value
        sections = {s: dataclasses.replace(getattr(base, s), **c) for s, c in changes.items()}
        return dataclasses.replace(base, name=self.name, **sections)

    def record(self) -> dict[str, Any]:
        """Plain dict for the checkpoint: name, preset, resolved overrides and the file they came from."""
        return {"name": self.name, "preset": self.preset, "overrides": self.resolved(), "source": self.source}


def preset_recipe(name: str) -> Recipe:
    """A preset as a recipe without overrides; NafError for an unknown name."""
    if name not in PRESETS:
        raise NafError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return Recipe(name, name)


def bundled_recipes() -> list[str]:
    """Names of the recipe files in assets/recipes/."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.toml"))


def recipe_path(name_or_path: str | os.PathLike[str]) -> Path:
    """A recipe file: the path as given when it names a file or has a folder or suffix, else the bundled
    recipe of that name; NafError when there is none."""
    path = Path(name_or_path)
    if path.is_dir():
        raise NafError(f"--recipe {path} is a folder; give a recipe file (.toml) or a bundled recipe's name")
    if path.is_file() or path.suffix or len(path.parts) > 1:
        if not path.is_file():
            raise NafError(f"--recipe {path} does not exist (or is not a file)")
        return path
    bundled = RECIPES_DIR / f"{path.name}.toml"
    if not bundled.is_file():
        raise NafError(f"--recipe {name_or_path}: no such file nor bundled recipe; bundled: "
                       f"{', '.join(bundled_recipes())}")
    return bundled


def load_recipe(name_or_path: str | os.PathLike[str]) -> Recipe:
    """Read a recipe file (TOML: `preset` and a `[set]` table; module docstring); NafError in one line for
    unreadable TOML, a missing or unknown preset, other top-level keys and every bad override."""
    path = recipe_path(name_or_path)
    where = f"recipe {project_path(path)}"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise NafError(f"{where}: not a readable TOML file ({' '.join(str(exc).split())})") from None
    unknown = sorted(set(doc) - _FILE_KEYS)
    if unknown:
        raise NafError(f"{where}: unknown entry {unknown[0]!r}; a recipe has `preset = NAME` and a [set] table")
    if not isinstance(doc.get("preset"), str):
        raise NafError(f"{where}: no `preset = NAME` line; presets: {', '.join(PRESETS)}")
    if doc["preset"] not in PRESETS:
        raise NafError(f"{where}: unknown preset {doc['preset']!r}; choose one of {', '.join(PRESETS)}")
    table = doc.get("set", {})
    if not isinstance(table, dict):
        raise NafError(f"{where}: `set` must be a table ([set] followed by key = value lines)")
    recipe = Recipe(path.stem, doc["preset"], source=project_path(path))
    return recipe.with_overrides(_flatten(table), where, from_text=False)


def _flatten(table: dict[str, Any]) -> list[tuple[str, Any]]:
    """[set] entries as (key, value); a sub-table (`[set.train]`, or `train.lr = ...`) qualifies its keys."""
    out = []
    for key, value in table.items():
        if isinstance(value, dict):
            out.extend((f"{key}.{k}", v) for k, v in value.items())
        else:
            out.append((key, value))
    return out


def parse_assignment(text: str) -> tuple[str, str]:
    """`key=value` from `--set` as (key, value text); ValueError without '=' or with an empty side."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise ValueError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def resolve_recipe(preset: str | None, recipe: str | os.PathLike[str] | None, sets: list[tuple[str, str]],
                   default: str) -> Recipe:
    """What `naf train` trains: the recipe file, else the preset (else `default`), then the `--set` overrides."""
    base = load_recipe(recipe) if recipe is not None else preset_recipe(preset or default)
    return base.with_overrides(sets, "--set")
