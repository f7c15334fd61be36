"""The structure probe as one PNG: every score with its interval, the wall-distance maps, and the t-SNE maps
coloured by room (trained against untrained activations)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from naf_model.analysis.figures import draw_plan, raster, save_figure
from naf_model.analysis.probe import FEATURES, TARGETS, StructureProbe
from naf_model.analysis.scores import Score

FEATURE_COLOURS = {"position": "#7f7f7f", "grid": "#1f77b4", "grid_untrained": "#9ecae1", "hidden": "#d62728",
                   "hidden_untrained": "#fc9272"}
PANEL_TITLES = {"wall": "distance to nearest wall: held-out R²", "depth": "depth ring (8 rays): held-out R²",
                "room": "room: held-out accuracy (linear)", "tsne": "room: k-NN accuracy in 2-D t-SNE"}


def _score_panel(ax: Any, title: str, scores: dict[str, Score], chance: Score | None = None) -> None:
    """Each feature set's score as a dot with its 95 % interval, one row per set."""
    names = list(scores)
    for row, name in enumerate(names):
        s = scores[name]
        ax.errorbar(s.value, row, xerr=[[s.value - s.low], [s.high - s.value]], fmt="o", capsize=3,
                    color=FEATURE_COLOURS.get(name, "black"))
        ax.annotate(f"{s.value:.2f} [{s.low:.2f}, {s.high:.2f}]", (s.value, row), textcoords="offset points",
                    xytext=(0, 7), ha="center", fontsize=7)
    if chance is not None:
        ax.axvline(chance.value, color="black", ls=":", lw=1.0, label=f"chance {chance.value:.2f}")
        ax.legend(fontsize=7, loc="lower right")
    ax.axvline(0.0, color="black", lw=0.6)
    ax.set_yticks(range(len(names)), [n.replace("_", "\n") for n in names], fontsize=8)
    ax.set_ylim(-0.6, len(names) - 0.3)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=9)
    ax.grid(axis="x", alpha=0.3)


def _map_panel(ax: Any, scene: Any, probe: StructureProbe, values: np.ndarray, title: str, vmax: float) -> Any:
    image, extent = raster(probe.positions, values, probe.spacing)
    shown = ax.imshow(image, origin="lower", extent=extent, cmap="viridis", vmin=0.0, vmax=vmax,
                      interpolation="nearest", zorder=1)
    draw_plan(ax, scene, labels=False)
    ax.set_title(title, fontsize=9)
    return shown


def _tsne_panel(ax: Any, probe: StructureProbe, embedding: np.ndarray, title: str) -> None:
    colours = np.array([f"C{i % 10}" for i in range(len(probe.room_names))])
    for i, name in enumerate(probe.room_names):
        pick = probe.rooms == i
        ax.scatter(embedding[pick, 0], embedding[pick, 1], s=4, c=colours[i], label=name)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)


def save_probe_png(
    scene: Any, probe: StructureProbe, path: str | os.PathLike, tsne: dict[str, tuple[np.ndarray, Score]] | None = None
) -> Path:
    """Top: held-out scores of every target x feature set (dots, 95 % block-bootstrap intervals), and with
    `tsne` (name -> (2-D embedding (M, 2), k-NN room accuracy)) the room separation in each map. Bottom: true and
    held-out predicted wall distance (trained activations), and the t-SNE maps of trained and untrained
    activations coloured by room."""
    tsne = tsne or {}
    columns = 4 if tsne else 3
    fig = Figure(figsize=(5.0 * columns, 9.0), layout="constrained")
    grid = fig.add_gridspec(2, columns, height_ratios=[1.0, 1.2])
    features = [f for f in FEATURES if ("wall", f) in probe.scores]
    for col, target in enumerate(TARGETS):
        scores = {f: probe.score(target, f) for f in features}
        _score_panel(fig.add_subplot(grid[0, col]), PANEL_TITLES[target], scores,
                     probe.chance if target == "room" else None)
    if tsne:
        _score_panel(fig.add_subplot(grid[0, 3]), PANEL_TITLES["tsne"], {f: s for f, (_, s) in tsne.items()},
                     probe.chance)
    vmax = float(probe.wall.max())
    ax = fig.add_subplot(grid[1, 0])
    _map_panel(ax, scene, probe, probe.wall, "distance to nearest wall (m): true", vmax)
    hidden = probe.score("wall", "hidden") if ("wall", "hidden") in probe.scores else None
    source = "hidden" if hidden is not None else features[0]
    ax = fig.add_subplot(grid[1, 1])
    shown = _map_panel(ax, scene, probe, probe.predicted[("wall", source)],
                       f"held-out prediction from '{source}' (R² {probe.score('wall', source).value:.2f})", vmax)
    fig.colorbar(shown, ax=ax, shrink=0.7, label="m")
    for col, name in enumerate([n for n in ("hidden", "hidden_untrained") if n in tsne][: columns - 2], start=2):
        embedding, score = tsne[name]
        ax = fig.add_subplot(grid[1, col])
        _tsne_panel(ax, probe, embedding, f"t-SNE of '{name}' by room (k-NN acc. {score.value:.2f})")
        if col == 2:
            ax.legend(fontsize=7, markerscale=3, loc="best")
    s = probe.settings
    fig.suptitle(
        f"{scene.name}: is scene structure linearly readable from the field's features? "
        f"{len(probe.positions)} cells at {probe.spacing:g} m, {s.get('folds')} folds of {s.get('block_m'):g} m "
        f"blocks (guard {s.get('gap_m'):g} m), 95 % intervals by block bootstrap", fontsize=11,
    )
    return save_figure(fig, path)
