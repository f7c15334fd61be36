"""One-file checkpoints: config, scene identity, STFT settings, normalisation, weights, metrics, and (training
checkpoints only) optimizer, step and RNG states. Writes are atomic; every mismatch is a one-line error.

The file format is read by the field and written by training; it holds plain types and tensors only (no
pickled classes), so moving modules never breaks old checkpoints."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import torch

from naf_model.atomic import atomic_path
from naf_model.conventions import STFT_SETTINGS
from naf_model.errors import CheckpointError, DataError
from naf_model.networks.base import AcousticNetwork
from naf_model.networks.build import build_network
from naf_model.networks.normalisation import SpectrogramStats
from naf_model.networks.presets import FieldShape, ModelConfig
from naf_model.paths import same_file
from naf_model.split import IrSplit, no_split

FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """Everything a field needs; `training` is None in exported (shipped) checkpoints.

    `plan` is the free space's outer boundary [[x, y], ...] in metres (None when trained without a scene
    object) and `plan_holes` its holes (obstacles across ear height), one ring [[x, y], ...] each, so a field
    can reject positions outside the free space without the scene file. Checkpoints written before holes were
    stored have no `plan_holes` and read as a plan without holes (what they were trained on was checked
    against the exterior only).
    """

    config: ModelConfig
    shape: FieldShape
    scene_name: str
    scene_hash: str
    ir_length: int
    stats: SpectrogramStats
    weights: dict[str, torch.Tensor]
    plan: list[list[float]] | None = None
    plan_holes: list[list[list[float]]] = field(default_factory=list)
    stft: dict[str, int] = field(default_factory=lambda: dict(STFT_SETTINGS))
    metrics: dict[str, Any] = field(default_factory=dict)
    simulation: dict[str, Any] = field(default_factory=dict)
    """The data set's simulation settings (the geometric phase reads `head_radius`)."""
    training: dict[str, Any] | None = None
    recipe: dict[str, Any] | None = None
    """How the config was made (`networks.recipes.Recipe.record`: name, preset, resolved overrides, recipe
    file); None in checkpoints written before recipes (their config names the preset they used) and in
    ensembles (their members' recipes may differ)."""
    split: IrSplit | None = None
    """Where the early part ends and the late part starts (`naf_model.split`); None in checkpoints made
    before the late part existed (all early: `no_split(ir_length)`)."""
    late_stats: SpectrogramStats | None = None
    """Normalisation of the late log-powers, mean and std (7, late frames); None without a late part."""

    @property
    def ir_split(self) -> IrSplit:
        """The split of this field's IRs (all early for fields made before the late part existed)."""
        return self.split if self.split is not None else no_split(self.ir_length)

    @property
    def preset(self) -> str:
        """The preset name the model was trained with."""
        return self.config.name

    def to_payload(self) -> dict[str, Any]:
        """A dict of plain types and tensors (loadable with torch.load(weights_only=True))."""
        return {
            "format_version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "preset": self.preset,
            "bounds": list(self.shape.bounds),
            "n_frames": self.shape.n_frames,
            "n_freq": self.shape.n_freq,
            "scene_name": self.scene_name,
            "scene_hash": self.scene_hash,
            "plan": self.plan,
            "plan_holes": [list(map(list, ring)) for ring in self.plan_holes],
            "stft": dict(self.stft),
            "ir_length": self.ir_length,
            "stats": {"mean": torch.as_tensor(self.stats.mean), "std": torch.as_tensor(self.stats.std)},
            "weights": self.weights,
            "metrics": dict(self.metrics),
            "simulation": dict(self.simulation),
            "training": self.training,
            "recipe": self.recipe,
            "late_frames": self.shape.late_frames,
            "split": self.split.to_dict() if self.split is not None else None,
            "late_stats": None if self.late_stats is None else {
                "mean": torch.as_tensor(self.late_stats.mean), "std": torch.as_tensor(self.late_stats.std)},
        }

    @staticmethod
    def from_payload(p: dict[str, Any], source: str) -> Checkpoint:
        """Inverse of `to_payload`; CheckpointError when fields are missing or of another format version."""
        if not isinstance(p, dict) or p.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(
                f"{source} is not a naf checkpoint of format {FORMAT_VERSION}; retrain or re-export"
            )
        try:
            return Checkpoint(
                config=ModelConfig.from_dict(p["config"]),
                shape=FieldShape(
                    tuple(float(b) for b in p["bounds"]),
                    int(p["n_frames"]),
                    int(p["n_freq"]),
                    shape_plan(p["plan"], p.get("plan_holes", [])),
                    int(p.get("late_frames", 0)),
                ),
                scene_name=str(p["scene_name"]),
                scene_hash=str(p["scene_hash"]),
                ir_length=int(p["ir_length"]),
                stats=SpectrogramStats(p["stats"]["mean"].numpy(), p["stats"]["std"].numpy()),
                weights=p["weights"],
                plan=p["plan"],
                plan_holes=list(p.get("plan_holes", [])),
                stft=dict(p["stft"]),
                metrics=dict(p["metrics"]),
                simulation=dict(p["simulation"]),
                training=p["training"],
                recipe=p.get("recipe"),
                split=IrSplit(**{k: int(v) for k, v in p["split"].items()}) if p.get("split") else None,
                late_stats=SpectrogramStats(p["late_stats"]["mean"].numpy(), p["late_stats"]["std"].numpy())
                if p.get("late_stats") else None,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise CheckpointError(
                f"{source} is missing checkpoint field {exc}; retrain or re-export it"
            ) from exc

    def plan_polygon(self) -> shapely.Polygon | None:
        """The stored free space as a polygon with its holes, or None when no plan was stored."""
        if not self.plan:
            return None
        return shapely.Polygon(self.plan, self.plan_holes or None)

    def build_model(self) -> AcousticNetwork:
        """The network with these weights loaded, in eval mode."""
        model = build_network(self.config, self.shape)
        try:
            model.load_state_dict(self.weights)
        except RuntimeError as exc:
            raise CheckpointError(
                f"checkpoint weights do not fit preset {self.preset!r}: retrain it"
            ) from exc
        return model.eval()

    def check_stft(self, meta: dict[str, Any], source: str) -> None:
        """DataError if a data set's STFT settings or frame count differ from this checkpoint's."""
        for key, value in self.stft.items():
            if key in meta and int(meta[key]) != int(value):
                raise DataError(f"{source} has {key}={meta[key]} but the checkpoint was trained with {value}")
        if "n_frames" in meta and int(meta["n_frames"]) != self.shape.n_frames:
            raise DataError(
                f"{source} has {meta['n_frames']} frames per IR but the checkpoint has {self.shape.n_frames}"
            )


def shape_plan(plan: list[list[float]] | None, holes: list[list[list[float]]]) -> tuple:
    """The checkpoint's plan as `FieldShape.plan` (rings of (x, y) tuples, exterior first; () without one)."""
    if not plan:
        return ()
    return tuple(tuple((float(x), float(y)) for x, y in ring) for ring in [plan, *holes])


def plan_rings(free_space: shapely.Polygon) -> tuple[list[list[float]], list[list[list[float]]]]:
    """A free-space polygon as (exterior ring, hole rings), lists of [x, y] metres (the checkpoint's plan)."""
    exterior = [[float(x), float(y)] for x, y in free_space.exterior.coords]
    holes = [[[float(x), float(y)] for x, y in ring.coords] for ring in free_space.interiors]
    return exterior, holes


def save_checkpoint(checkpoint: Checkpoint, path: str | os.PathLike[str]) -> Path:
    """Write atomically (`naf_model.atomic`: temp file in the same folder, then os.replace)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(checkpoint.to_payload(), tmp)
    return path


def load_checkpoint(
    path: str | os.PathLike[str], scene_hash: str | None = None, paper_data: str | os.PathLike[str] | None = None
) -> Checkpoint:
    """Read a checkpoint; CheckpointError if missing, truncated, foreign, or trained on another scene. A
    checkpoint of the paper's code (`naf_model.checkpoint_paper`) is read in the context of `paper_data`, the
    data set imported from the paper for its scene (an error without one)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train one with `naf train` or pass another path")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise CheckpointError(
            f"{path} is truncated or not a checkpoint ({type(exc).__name__}); retrain it"
        ) from exc
    from naf_model import checkpoint_paper as paper  # it builds on this module's Checkpoint

    if paper.is_paper_payload(payload):
        if paper_data is None:
            raise CheckpointError(
                f"{path} is a checkpoint of the paper's code ({paper.PAPER_CODE}), which holds weights only: naf "
                "reads it with its scene's data set imported from the paper (`naf data import paper`), in `naf "
                "eval`, `naf render`, the analyses and the app"
            )
        ckpt = paper.paper_checkpoint(payload, path, paper.PaperContext.from_dataset(paper_data, path))
    else:
        ckpt = Checkpoint.from_payload(payload, str(path))
    weights = ckpt.weights.items()
    bad = [k for k, v in weights if torch.is_tensor(v) and v.is_floating_point() and not v.isfinite().all()]
    stats = [ckpt.stats] + ([ckpt.late_stats] if ckpt.late_stats is not None else [])
    if bad or not all(np.isfinite(s.mean).all() and np.isfinite(s.std).all() for s in stats):
        raise CheckpointError(
            f"{path} holds NaN or infinite {'weights (' + bad[0] + ')' if bad else 'statistics'}: its training "
            "diverged; retrain it (check the data set with `naf data info`)"
        )
    if scene_hash is not None:
        check_scene(ckpt, scene_hash, path)
    return ckpt


def check_scene(ckpt: Checkpoint, scene_hash: str, source: str | os.PathLike[str]) -> None:
    """CheckpointError unless `ckpt` (read from `source`) was trained on the scene of geometry `scene_hash`."""
    if scene_hash != ckpt.scene_hash:
        raise CheckpointError(
            f"{source} was trained on scene {ckpt.scene_name!r} (geometry {ckpt.scene_hash[:12]}), not on this "
            f"scene (other geometry, {scene_hash[:12]}); train a field for this scene with `naf train`"
        )


def export_checkpoint(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Copy a checkpoint without optimizer, step and RNG state (the file shipped with the app)."""
    return save_checkpoint(exported(load_checkpoint(src)), dst)


def exported(ckpt: Checkpoint) -> Checkpoint:
    """A checkpoint as shipped: without optimizer, step and RNG state, its weights in storage of their own."""
    weights = {k: v.detach().clone().contiguous() for k, v in ckpt.weights.items()}
    return replace(ckpt, training=None, weights=weights)


def combine_checkpoints(paths: list[str | os.PathLike[str]]) -> Checkpoint:
    """One ensemble checkpoint (`networks.ensemble`) of two or more trained fields: same scene, data set
    statistics, STFT, IR length, field shape and network config up to the training recipe. The members'
    weights become `members.{k}.*`; the preset is named `<preset>_x<K>` and `metrics` keeps each member's
    own metrics and path. CheckpointError naming the first mismatch, or a member given twice (the same file,
    or equal weights: a copy adds nothing to the mean but cost)."""
    if len(paths) < 2:
        raise CheckpointError("an ensemble needs two or more checkpoints")
    for i, path in enumerate(paths):
        for earlier in paths[:i]:
            if same_file(path, earlier):
                same = f"{path} is given twice" if str(path) == str(earlier) else f"{path} and {earlier} are one file"
                raise CheckpointError(f"{same}: an ensemble joins different fields")
    members = [load_checkpoint(p) for p in paths]
    first, source = members[0], str(paths[0])
    for path, c in zip(paths[1:], members[1:], strict=True):
        what = None
        if c.scene_hash != first.scene_hash:
            what = f"scene ({c.scene_name!r} vs {first.scene_name!r}, or other geometry)"
        elif c.config.network.members > 1 or first.config.network.members > 1:
            what = "kind: one of them is an ensemble already (join its members instead)"
        elif c.config.architecture() != first.config.architecture():
            what = "network configuration"
        elif (c.shape != first.shape or c.ir_length != first.ir_length or c.stft != first.stft
              or c.split != first.split):
            what = "field shape, IR length or STFT settings"
        elif not c.stats.same_as(first.stats) or (c.late_stats is None) != (first.late_stats is None) or (
                c.late_stats is not None and not c.late_stats.same_as(first.late_stats)):
            what = "normalisation statistics (trained on another data set)"
        if what is not None:
            raise CheckpointError(f"{path} and {source} differ in {what}: they cannot be joined")
    for i, (path, c) in enumerate(zip(paths, members, strict=True)):
        for earlier, e in zip(paths[:i], members[:i], strict=True):
            if _same_weights(c, e):
                raise CheckpointError(f"{path} has the same weights as {earlier}: an ensemble of copies predicts "
                                      "what one of them does; join fields trained with other seeds")
    k = len(members)
    network = replace(first.config.network, members=k)
    config = replace(first.config, name=f"{first.preset}_x{k}", network=network)
    weights = {
        f"members.{i}.{name}": value.detach().clone().contiguous()
        for i, c in enumerate(members)
        for name, value in c.weights.items()
    }
    return replace(
        first,
        config=config,
        weights=weights,
        metrics={"members": [dict(c.metrics, path=str(p)) for p, c in zip(paths, members, strict=True)]},
        training=None,
        recipe=None,
    )


def _same_weights(a: Checkpoint, b: Checkpoint) -> bool:
    """Whether two checkpoints hold equal weights under the same names."""
    return a.weights.keys() == b.weights.keys() and all(
        torch.is_tensor(v) and torch.equal(v, b.weights[k]) or not torch.is_tensor(v) and v == b.weights[k]
        for k, v in a.weights.items()
    )
