"""The one scoring pipeline of `naf eval`: every table, on the grid or off it, is rows scored on a query set.

A `QuerySet` is the pairs one table scores (held-out pairs of the data set, or off-grid pairs) with the
ground truth of its items: one item per pair and head orientation, pair-major. Each `Row` names a source,
which predicts items (the field, interpolation of training IRs under the paper's rules or naf's, raw or
through a codec, stored simulations, the simulator's own magnitudes played through a phase method), and a
scorer, which measures a prediction against the ground truth of the same items (`rows`). `score_rows` walks
the query set in chunks of whole pairs, at most `metrics.CHUNK_ITEMS` items each (bounded memory whatever
--max-pairs is); in each chunk every source predicts once, whatever number of rows score its prediction.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from naf_model.checkpoint import exported, save_checkpoint
from naf_model.conventions import HOP
from naf_model.data.described import early_spectrogram, late_description
from naf_model.data.extra import TrainingPairs
from naf_model.evaluation import baselines, codecs, metrics
from naf_model.evaluation.metrics import CHUNK_ITEMS
from naf_model.evaluation.rows import RowId
from naf_model.evaluation.spill import RowFile, row_chunks
from naf_model.field.listening import play as listening_play
from naf_model.spectrogram import log_magnitude
from naf_model.split import IrSplit, no_split


@dataclass
class QuerySet:
    """The pairs one table scores: emitters, listeners (Q, 2) m, headings (O,) deg, and per item the ground
    truth's early log-magnitudes gt_log (Q * O, 2, 256, T), waveforms gt_wave (Q * O, 2, N) at 22,050 Hz (None for
    an imported data set of spectrograms only: then only the rows that read spectrograms are scored) and
    late ln band powers gt_late (Q * O, 2, 7, T_late), split as `split` says (None, and no gt_late: data made
    before the late part, whose gt_log is the whole IR's)."""

    emitters: np.ndarray
    listeners: np.ndarray
    headings: np.ndarray
    gt_log: np.ndarray
    gt_wave: np.ndarray | None
    gt_late: np.ndarray | None = None
    split: IrSplit | None = None

    @property
    def ir_split(self) -> IrSplit:
        """The split of the ground truth's IRs (all early for data made before the late part; for spectrograms
        without waveforms, IRs of the length their frames cover)."""
        if self.split is not None:
            return self.split
        return no_split(self.gt_wave.shape[-1] if self.gt_wave is not None else (self.n_frames - 1) * HOP)

    def describe(self, waves: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Early log-magnitudes and late ln band powers of waveforms (b, 2, N), as the ground truth's."""
        if self.split is None:
            return log_magnitude(waves, self.n_frames), None
        return early_spectrogram(waves, self.split), late_description(waves, self.split)

    def __len__(self) -> int:
        return len(self.emitters)

    @property
    def n_orient(self) -> int:
        return len(self.headings)

    @property
    def n_frames(self) -> int:
        return self.gt_log.shape[-1]

    def chunks(self) -> Iterator[slice]:
        """Consecutive slices of pairs holding at most CHUNK_ITEMS items (at least one pair)."""
        step = max(1, CHUNK_ITEMS // self.n_orient)
        for start in range(0, len(self), step):
            yield slice(start, min(start + step, len(self)))

    def items(self, pairs: np.ndarray | slice) -> np.ndarray:
        """Item indices (pair-major) of pair positions (a slice or an array) in this set."""
        pos = np.arange(len(self))[pairs] if isinstance(pairs, slice) else np.asarray(pairs, np.int64)
        return (pos[:, None] * self.n_orient + np.arange(self.n_orient)).ravel()

    def positions(self, part: slice) -> tuple[np.ndarray, ...]:
        """Per item of the pairs `part`, pair-major: emitters, listeners (b, 2) m, headings (b,) deg, float64."""
        e, li, o = self.emitters[part], self.listeners[part], self.n_orient
        return (np.repeat(np.asarray(e, np.float64), o, 0), np.repeat(np.asarray(li, np.float64), o, 0),
                np.tile(np.asarray(self.headings, np.float64), len(e)))  # fmt: skip


@dataclass
class Prediction:
    """What one source predicts for some items of a chunk: their indices (b,) in the query set, log-magnitudes
    (b, 2, 256, T) (None where no scorer reads them), waveforms (b, 2, N) where the method makes them, and
    `play()` the waveforms (b, 2, N) as played (computed once, on demand: synthesis costs)."""

    items: np.ndarray
    log: np.ndarray | None
    wave: np.ndarray | None = None
    synthesize: Callable[[], np.ndarray] | None = None
    played: np.ndarray | None = None
    late: np.ndarray | None = None
    """Late ln band powers (b, 2, 7, T_late) where the IRs have a late part."""

    def play(self) -> np.ndarray:
        """The played waveforms: synthesised (once) where the method makes magnitudes, else its waveforms."""
        if self.played is None:
            self.played = self.wave if self.synthesize is None else self.synthesize()
        return self.played


RULES = {
    "paper": (baselines.paper_points, baselines.paper_nearest_weights, baselines.paper_linear_weights),
    "naf": (baselines.pair_points, baselines.nearest_weights, baselines.linear_weights),
}
"""Rule set -> (query space of a pair, nearest weights, linear weights)."""
RAW = "raw float32"
"""The version of the training IRs as simulated (and its representation in the tables)."""


@dataclass
class FieldSource:
    """The field's log-magnitudes of every item; played through `phase` (`field.listening.synthesize`, as
    `NeuralAcousticField.impulse_responses` plays them). `query_s` sums the time spent in the network."""

    field: Any
    queries: QuerySet
    phase: str
    query_s: float = 0.0

    def predict(self, part: slice) -> Prediction:
        ie, il, ih = self.queries.positions(part)
        t0 = time.perf_counter()
        f = self.field
        log = np.asarray(f.query_batch(ie, il, ih), np.float32)
        late = f.late_log_powers(ie, il, ih)
        self.query_s += time.perf_counter() - t0
        play = partial(f.play, self.phase, log, late, ie, il, ih)
        return Prediction(self.queries.items(part), log, None, play, late=metrics.field_late_for_random_phase(late))


@dataclass
class Interpolation:
    """Nearest and linear weights of one rule set at the pairs of one query set (computed once, for every table),
    the training rows they use (U,) and those rows' IRs (U, 4, 2, N) per version (RAW, each codec's), each a
    file of rows on disk (`spill.RowFile`): a chunk's blends read only the rows they weigh."""

    queries: QuerySet
    weights: dict[RowId, baselines.InterpolationWeights]
    used: np.ndarray
    versions: dict[str, RowFile]

    def source(self, method: RowId, version: str = RAW) -> BlendSource:
        """The blends of one method and one version of the training IRs."""
        return BlendSource(self, self.weights[method], self.versions[version])


def interpolate(pool: TrainingPairs, queries: QuerySet, rules: str, folder: Path) -> Interpolation:
    """The `rules` ("paper" or "naf") interpolation of the pool's training pairs at the query set's pairs; the
    training IRs it uses are read (or simulated again) SPILL_CHUNK_BYTES at a time into a file in `folder`."""
    points, nearest, linear = RULES[rules]
    train, query = points(*pool.positions()), points(queries.emitters, queries.listeners)
    weights = {RowId.NEAREST: nearest(train, query), RowId.LINEAR: linear(train, query)}
    used = np.union1d(*(w.used() for w in weights.values()))
    template = pool.read_ir(used[:0])  # no rows: the IRs' shape and dtype, nothing read
    raw = RowFile(folder, len(used), template.shape[1:], template.dtype)
    for part in row_chunks(len(used), raw.row_bytes):
        raw.write(part.start, pool.read_ir(used[part]))
    return Interpolation(queries, weights, used, {RAW: raw})


@dataclass
class BlendSource:
    """Weighted sums of one version of the training IRs (`baselines.blend`), played as they are."""

    interp: Interpolation
    w: baselines.InterpolationWeights
    irs: RowFile

    def predict(self, part: slice) -> Prediction:
        w, queries = self.w, self.interp.queries
        sub = baselines.InterpolationWeights(w.indices[part], w.weights[part], w.fallback[part])
        wave = baselines.blend(self.irs, sub, self.interp.used)
        wave = wave.reshape((-1,) + wave.shape[2:])
        log, late = queries.describe(wave)
        return Prediction(queries.items(part), log, wave, late=late)


@dataclass
class StoredSource:
    """Simulated IRs (K, 4, 2, N) of some pairs of the query set (their positions (K,), sorted)."""

    queries: QuerySet
    irs: np.ndarray
    positions: np.ndarray

    def predict(self, part: slice) -> Prediction | None:
        mine = np.flatnonzero((self.positions >= part.start) & (self.positions < part.stop))
        if not len(mine):
            return None
        wave = self.irs[mine].astype(np.float32)
        wave = wave.reshape((-1,) + wave.shape[2:])
        log, late = self.queries.describe(wave)
        return Prediction(self.queries.items(self.positions[mine]), log, wave, late=late)


@dataclass
class SimulatedMagnitudes:
    """The simulator's own magnitudes (of the query set's ground truth) played through `phase`: what the phase
    method costs even with perfect magnitudes."""

    queries: QuerySet
    phase: str
    ears: Any  # field.ears.Ears: the data set's
    free_space: Any
    reflections: Any = None  # field.reflections.FirstReflection of the scene, or None

    def predict(self, part: slice) -> Prediction:
        items = self.queries.items(part)
        gt = np.asarray(self.queries.gt_wave[items], np.float32)
        log, late = self.queries.describe(gt)
        play = partial(listening_play, self.phase, log, late, *self.queries.positions(part), self.queries.ir_split,
                       self.ears, self.free_space, log_mean=False, reflections=self.reflections)  # fmt: skip
        return Prediction(items, None, None, play)


def add_codec_versions(interp: Interpolation, rules: str, chosen: list[codecs.Codec], n_train: int,
                       timing: dict[str, float]) -> dict[str, tuple[str | None, float, str, list[str]]]:  # fmt: skip
    """Round-trip the used training IRs through each codec (the paper's per-file stereo rule or naf's
    per-channel streams) into `interp.versions`, each a file beside the raw IRs', SPILL_CHUNK_BYTES of IRs (the
    paper's rule) or one encoder stream (naf's) at a time; per version name: (codec tool or None for the raw
    IRs, storage bytes, formula, notes)."""
    raw, used = interp.versions[RAW], interp.used
    n_orient, n = raw.shape[1], raw.shape[-1]
    raw_formula = f"{n_train} training pairs x {n_orient} orientations x 2 ears x {n} samples x 4 B"
    out = {RAW: (None, n_train * n_orient * 2 * n * 4, raw_formula, [])}
    for codec in chosen:
        t0 = time.perf_counter()
        decoded = RowFile(raw.folder, len(raw), raw.shape[1:], np.float32)
        if rules == "paper":
            storage, length, delay = _paper_round_trips(raw, decoded, codec)
            formula = (
                f"summed size of the {len(used) * n_orient:,} encoded stereo files ({storage:,} B) of "
                f"the {len(used)} training pairs the baselines use, scaled x {n_train}/{len(used)} to all "
                "training pairs"
            )
            notes = [f"decoded files are {length} samples (cut to {n}); measured lag of the decoded "
                     f"files {delay} samples at 22,050 Hz, left in place as in the paper"]  # fmt: skip
        else:
            rt = codecs.round_trip(raw.regrouped((n,)), codec, out=decoded.regrouped((n,)))
            storage = rt.storage_bytes
            formula = (
                f"(bitstream {rt.bitstream_bytes:,} B + gains 4 B x {rt.n_signals:,} channels) of the "
                f"{len(used)} training pairs the baselines use, scaled x {n_train}/{len(used)} to all "
                f"training pairs; {rt.n_signals:,} mono streams of {n} samples + {codecs.GUARD_SAMPLES} "
                f"silent guard samples each"
            )
            notes = [f"measured codec delay {rt.delay_samples} samples at 22,050 Hz, trimmed"]
        timing[f"{rules}_{codec.tool}_round_trip_s"] = time.perf_counter() - t0
        interp.versions[codec.name] = decoded
        out[codec.name] = (codec.tool, storage * n_train / len(used), formula, notes)
    return out


def _paper_round_trips(raw: RowFile, decoded: RowFile, codec: codecs.Codec) -> tuple[int, int, int]:
    """The paper's per-file round trip of every IR of `raw` (U, O, 2, N) into `decoded`, a chunk at a time:
    the summed bytes of the encoded files, the longest decoded file, the lag measured on the first chunk, which
    holds at least the DELAY_PROBE_SAMPLES of left channels a round trip of all IRs at once would measure."""
    n_orient, n = raw.shape[1], raw.shape[-1]
    storage, length, delay = 0, 0, None
    for part in row_chunks(len(raw), decoded.row_bytes, at_least=-(-codecs.DELAY_PROBE_SAMPLES // (n_orient * n))):
        rt = codecs.paper_round_trip(raw[part].reshape(-1, 2, n), codec)
        decoded.write(part.start, rt.decoded.reshape((-1,) + raw.shape[1:]))
        storage, length = storage + rt.storage_bytes, max(length, rt.decoded_length)
        delay = rt.delay_samples if delay is None else delay
    return storage, length, delay


def field_storage(fld) -> tuple[int, str]:
    """Bytes of the field as shipped (weights, config, stats), and how they were counted: the checkpoint file's
    size, or for a training checkpoint the size of its export (written from the loaded checkpoint)."""
    size = Path(fld.path).stat().st_size
    if fld.checkpoint.training is None:
        return size, f"checkpoint file size ({size:,} B)"
    with tempfile.TemporaryDirectory(prefix="naf-eval-") as tmp:
        n = save_checkpoint(exported(fld.checkpoint), Path(tmp) / "field.pt").stat().st_size
    return n, f"size of the exported checkpoint without optimizer state ({n:,} B; file {size:,} B)"


@dataclass
class Row:
    """One row of a table: `key` (what the table calls it); `source.predict(pairs)` -> a Prediction (None: no
    items there); `scorer.score(prediction)` -> errors of its items (`ItemErrors`, `ListeningErrors`)."""

    key: Hashable
    source: Any
    scorer: Any


@dataclass
class Scored:
    """A row's errors over its items (item order) and the seconds spent predicting and scoring it."""

    key: Hashable
    errors: Any
    seconds: float


def score_rows(queries: QuerySet, rows: list[Row], progress: Callable[[int], None] | None = None) -> list[Scored]:
    """Score every row on the query set chunk by chunk; a source shared by several rows predicts once per
    chunk (the first row using it is charged for it). `progress(n)` after each row's chunk of n items."""
    parts: list[list[Any]] = [[] for _ in rows]
    seconds = [0.0] * len(rows)
    last_use = {id(row.source): k for k, row in enumerate(rows)}
    for part in queries.chunks():
        made: dict[int, Prediction | None] = {}
        for k, row in enumerate(rows):
            t0 = time.perf_counter()
            if id(row.source) not in made:
                made[id(row.source)] = row.source.predict(part)
            pred = made[id(row.source)]
            if pred is not None and len(pred.items):
                parts[k].append(row.scorer.score(pred))
                if progress is not None:
                    progress(len(pred.items))
            if last_use[id(row.source)] == k:  # its last row in this chunk: free the prediction
                made[id(row.source)] = None
            seconds[k] += time.perf_counter() - t0
    assert all(parts), "every row scores at least one item"
    return [Scored(row.key, type(p[0]).concatenate(p), s) for row, p, s in zip(rows, parts, seconds, strict=True)]
