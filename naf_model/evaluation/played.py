"""The sections of `naf eval` that score what is played and where a user puts the markers.

- Off-grid, the paper's metrics: the field, nearest and linear interpolation of raw training IRs and a
  second simulation, on the off-grid test set (`offgrid.offgrid_set`), exactly as the main table scores
  held-out pairs (`metrics.item_errors`, shared random phase).
- Listening metrics (`listening.listening_errors`) on played waveforms, on-grid (the held-out pairs of the
  main table) and off-grid. Rows: the field's played IR (`NeuralAcousticField.impulse_responses` with the
  chosen phase method); the simulator's own magnitudes through the same phase method (what the method
  costs even with perfect magnitudes); nearest and linear interpolation of raw training IRs, played as
  they are; a second simulation with another seed (the floor; on-grid only on the floor pairs).
Items are (pair, orientation); every row is compared with the simulated waveform of the same item.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from naf_model.acoustics import interaural
from naf_model.data import DataSet, floor, offgrid
from naf_model.data.extra import TrainingPairs
from naf_model.evaluation import baselines, listening, metrics
from naf_model.evaluation.report import METRIC_COLUMNS
from naf_model.paths import project_path
from naf_model.spectrogram import log_magnitude

CHUNK_ITEMS = 64


@dataclass(frozen=True)
class Section:
    """One extra part of the report: a markdown block and the numbers behind it (JSON-ready)."""

    title: str
    markdown: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PlayedConfig:
    """offgrid: off-grid pairs (0: none); listening: score listening metrics; phase: the phase method of
    the played rows; seed: off-grid draw."""

    offgrid: int = 0
    listening: bool = False
    phase: str = "listening"
    seed: int = 0
    progress: bool = True


def played_sections(
    config: PlayedConfig, scene, ds: DataSet, pool: TrainingPairs, test: np.ndarray, floor_pairs: np.ndarray,
    checkpoint, device: str,
) -> list[Section]:
    """The off-grid and listening sections (module docstring). `test` and `floor_pairs` are the main table's
    pair indices (the floor's repeat simulations come from its cache), `checkpoint` the field (None: no
    field rows)."""
    if not (config.offgrid or config.listening):
        return []
    fld = None
    if checkpoint is not None:
        from naf_model.field import NeuralAcousticField

        fld = NeuralAcousticField.load(checkpoint, device=device, scene=scene)
    floor_irs = floor.floor_irs(ds, scene, floor_pairs) if config.listening and len(floor_pairs) else None
    sections: list[Section] = []
    train_points = baselines.pair_points(*pool.positions())
    headings = ds.orientations.astype(np.float64)
    if config.listening:
        pairs = ds.pairs[test]
        e, li = ds.emitters[pairs[:, 0]], ds.listeners[pairs[:, 1]]
        gt = ds.read_ir(test).astype(np.float32)
        second = None
        if floor_irs is not None and len(floor_pairs):
            second = (np.searchsorted(test, floor_pairs), np.asarray(floor_irs, np.float32))
        t0 = time.perf_counter()
        rows = _listening_rows(config, scene, ds, pool, train_points, e, li, headings, gt, second, fld)
        sections.append(_listening_section(
            f"Listening metrics on {len(test)} held-out pairs (on the grid)", rows, time.perf_counter() - t0,
            config.phase,
        ))
    if config.offgrid:
        t0 = time.perf_counter()
        og = offgrid.offgrid_set(ds, scene, config.offgrid, config.seed, config.progress)
        sim_s = time.perf_counter() - t0
        sections.append(_offgrid_paper_section(ds, og, pool, train_points, headings, fld, sim_s))
        if config.listening:
            t0 = time.perf_counter()
            rows = _listening_rows(
                config, scene, ds, pool, train_points, og.emitters, og.listeners, headings,
                og.irs, (np.arange(len(og)), og.floor_irs), fld,
            )
            sections.append(_listening_section(
                f"Listening metrics on {len(og)} off-grid pairs", rows, time.perf_counter() - t0, config.phase
            ))
    return sections


def _items(e: np.ndarray, li: np.ndarray, headings: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per item (pair-major, orientation-minor): emitters, listeners (Q * O, 2), headings (Q * O,)."""
    o = len(headings)
    return np.repeat(e, o, 0), np.repeat(li, o, 0), np.tile(headings, len(e))


def _interpolations(pool: TrainingPairs, train_points, e, li) -> dict[str, np.ndarray]:
    """Nearest and linear interpolation of raw training IRs at pairs (Q, 2): (Q, 4, 2, N) float32 each."""
    query = baselines.pair_points(e, li)
    weights = {
        "Nearest neighbour, raw IRs": baselines.nearest_weights(train_points, query),
        "Linear interpolation, raw IRs": baselines.linear_weights(train_points, query),
    }
    used = np.union1d(*(w.used() for w in weights.values()))
    raw = pool.read_ir(used)
    return {name: baselines.blend(raw, w, used) for name, w in weights.items()}


def _listening_rows(config, scene, ds, pool, train_points, e, li, headings, gt, second, fld):
    """(name, ListeningErrors) per row; gt (Q, O, 2, N) simulated IRs of the pairs (Q, 2)."""
    from naf_model.field.listening import line_of_sight, synthesize

    n, o = gt.shape[-1], len(headings)
    ie, il, ih = _items(e, li, headings)
    flat_gt = gt.reshape((-1,) + gt.shape[2:])
    los = line_of_sight(scene.free_space, ie, il)
    gt_m = [listening.measure(flat_gt[s : s + CHUNK_ITEMS]) for s in range(0, len(ie), CHUNK_ITEMS)]
    head_radius = float(ds.meta.simulation.get("head_radius", 0.0875))
    direct_itd = None  # a SOFA head's direct-sound ITD is not the spherical head's: no such reference then
    if not ds.meta.simulation.get("hrtf"):
        direct_itd = np.full(len(ie), np.nan)
        direct_itd[los] = interaural.direct_sound_itd(ie[los], il[los], ih[los], head_radius)

    def score(play, items=None) -> listening.ListeningErrors:
        parts = []
        for k, s in enumerate(range(0, len(ie), CHUNK_ITEMS)):
            sl = slice(s, s + CHUNK_ITEMS)
            ref = None if direct_itd is None else direct_itd[sl]
            parts.append(listening.listening_errors(play(sl), flat_gt[sl], los[sl], gt_m[k], ref))
        errs = listening.ListeningErrors.concatenate(parts)
        return errs if items is None else errs.take(items)

    rows = []
    if fld is not None:
        rows.append((f"NAF (field), {config.phase} phase",
                     score(lambda sl: fld.impulse_responses(ie[sl], il[sl], ih[sl], phase=config.phase))))
    rows.append((
        f"Simulated magnitudes, {config.phase} phase",
        score(lambda sl: synthesize(config.phase, log_magnitude(flat_gt[sl], ds.meta.n_frames), ie[sl], il[sl],
                                    ih[sl], n, head_radius, scene.free_space, log_mean=False)),
    ))
    for name, irs in _interpolations(pool, train_points, e, li).items():
        flat = irs.reshape(flat_gt.shape)
        rows.append((name, score(lambda sl, flat=flat: flat[sl])))
    if second is not None:
        positions, irs = second
        items = (positions[:, None] * o + np.arange(o)).ravel()
        full = np.zeros_like(flat_gt)
        full[items] = irs.reshape((-1,) + flat_gt.shape[1:])
        rows.append((f"Second simulation, other seed ({len(positions)} pairs)",
                     score(lambda sl: full[sl], items)))
    return rows


def _listening_section(title: str, rows, seconds: float, phase: str) -> Section:
    summaries = {name: errs.summary() for name, errs in rows}
    keys = listening.SUMMARY_KEYS
    head = ["Played IR"] + [t for _, t, _ in keys] + ["Items (LOS)"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for name, s in summaries.items():
        cells = [name] + [fmt.format(s[k]) for k, _, fmt in keys] + [f"{s['n_items']} ({s['n_los_items']})"]
        lines.append("| " + " | ".join(cells) + " |")
    text = (
        f"## {title}\n\nPlayed waveforms against the simulated waveform of each (pair, orientation); "
        f"the field and the simulated magnitudes are synthesised with the `{phase}` phase method. Envelope: "
        f"mean |dB| of 50 ms window energies within {listening.ENVELOPE_RANGE_DB:g} dB of the loudest; "
        "level and late (after onset + 50 ms) biases signed, positive = played louder; C50/EDT/T60 measured "
        "on the played waveforms; ITD on line-of-sight items only, against the simulated waveform's ITD and "
        "against the ITD of the direct arrival alone (the simulator's spherical head, nothing else in the IR); "
        "ILD per octave band. "
        f"Scored in {seconds:.0f} s.\n\n" + "\n".join(lines) + "\n"
    )
    return Section(title, text, {"phase": phase, "rows": summaries})


def _offgrid_paper_section(ds, og, pool, train_points, headings, fld, sim_s) -> Section:
    """The paper's metrics (shared random phase) on the off-grid pairs."""
    n, t = ds.meta.ir_length, ds.meta.n_frames
    gt = log_magnitude(og.irs.reshape((-1,) + og.irs.shape[2:]), t)
    gt_params = metrics.acoustic_parameters(gt, n)
    preds: dict[str, np.ndarray] = {}
    if fld is not None:
        ie, il, ih = _items(og.emitters, og.listeners, headings)
        preds["NAF (field)"] = np.concatenate([
            fld.query_batch(ie[s : s + CHUNK_ITEMS], il[s : s + CHUNK_ITEMS], ih[s : s + CHUNK_ITEMS])
            for s in range(0, len(ie), CHUNK_ITEMS)
        ])
    for name, irs in _interpolations(pool, train_points, og.emitters, og.listeners).items():
        preds[name] = log_magnitude(irs.reshape((-1,) + irs.shape[2:]), t)
    preds["Second simulation, other seed"] = log_magnitude(og.floor_irs.reshape((-1,) + og.irs.shape[2:]), t)
    summaries = {
        name: metrics.item_errors(p.astype(np.float32), gt, gt_params, n).summary() for name, p in preds.items()
    }
    head = ["Method"] + [title for _, title, _ in METRIC_COLUMNS] + ["T60 fail (%)"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for name, s in summaries.items():
        cells = [name] + [fmt.format(s[k]) for k, _, fmt in METRIC_COLUMNS] + [f"{s['t60_fail_pct']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    title = f"Off the grid: {len(og)} random free pairs (paper's metrics)"
    text = (
        f"## {title}\n\n{len(og)} emitter-listener pairs x {len(headings)} orientations drawn (seed "
        f"{og.path.stem.rsplit('-s', 1)[-1]}) in the free space at least {offgrid.MIN_GRID_DISTANCE_M} m from "
        f"every emitter and listener grid position, simulated with the data set's settings "
        f"({og.simulated} emitter groups simulated now, the rest from `{project_path(og.path)}`; {sim_s:.0f} s). "
        "Same metric path as the main table.\n\n" + "\n".join(lines) + "\n"
    )
    return Section(title, text, {"n_pairs": len(og), "cache": project_path(og.path), "rows": summaries})
