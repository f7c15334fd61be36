"""`naf eval` keeps the training IRs its baselines blend in nameless files of rows (`evaluation.spill`): what is
read back is what was written, and the codec versions made a chunk at a time equal those made at once."""

from __future__ import annotations

import os

import numpy as np
import pytest

from naf_model.evaluation import codecs, pipeline, spill
from naf_model.evaluation.spill import RowFile, row_chunks


def test_rows_read_back_in_any_order_and_leave_no_file(tmp_path) -> None:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((9, 4, 2, 5)).astype(np.float16)
    rows = RowFile(tmp_path, 9, (4, 2, 5), np.float16)
    assert os.listdir(tmp_path) == []  # nameless from the start: nothing to clean up, even after a kill
    for part in (slice(0, 4), slice(4, 5), slice(5, 9)):
        rows.write(part.start, data[part])
    order = np.array([7, 2, 2, 8, 0, 3, 4, 5])  # repeats, runs and gaps
    np.testing.assert_array_equal(rows[order], data[order])
    np.testing.assert_array_equal(rows[2:6], data[2:6])
    np.testing.assert_array_equal(rows[5], data[5])
    np.testing.assert_array_equal(rows[np.array([[1, 6], [6, 1]])], data[np.array([[1, 6], [6, 1]])])
    assert rows[np.array([], np.int64)].shape == (0, 4, 2, 5)
    signals = rows.regrouped((5,))  # the same bytes as (72, 5) mono signals
    np.testing.assert_array_equal(signals[10:20], data.reshape(-1, 5)[10:20])
    signals.write(3, np.full((2, 5), 7.0))
    assert np.all(rows[0].reshape(-1, 5)[3:5] == 7.0)
    with pytest.raises(ValueError, match="do not fit"):
        rows.write(8, data[:2])
    with pytest.raises(ValueError, match="do not divide"):
        rows.regrouped((7,))


def test_row_chunks_cover_every_row_within_the_budget(monkeypatch) -> None:
    monkeypatch.setattr(spill, "SPILL_CHUNK_BYTES", 1000)
    parts = list(row_chunks(25, 300))
    assert [(p.start, p.stop) for p in parts] == [(0, 3), (3, 6), (6, 9), (9, 12), (12, 15), (15, 18), (18, 21),
                                                  (21, 24), (24, 25)]  # fmt: skip
    assert [p.stop - p.start for p in row_chunks(10, 300, at_least=4)] == [4, 4, 2]  # a floor over the budget
    assert list(row_chunks(0, 300)) == []


def _irs(pairs: int, n: int) -> np.ndarray:
    """Training-IR-like rows (pairs, 4, 2, n) float16: decaying noise of a few levels."""
    rng = np.random.default_rng(3)
    decay = np.exp(-np.arange(n) / (0.2 * n))
    return (rng.standard_normal((pairs, 4, 2, n)) * decay * 10 ** rng.uniform(-1.5, 0, (pairs, 4, 2, 1))).astype(
        np.float16)


@pytest.mark.parametrize("codec", [codecs.AAC_LC, codecs.OPUS], ids=["aac", "opus"])
def test_naf_codec_streams_through_files_as_in_memory(codec, tmp_path, monkeypatch) -> None:
    """naf's rule: encoder runs of at most MAX_STREAM_SAMPLES, each written to the file as it comes back, give
    the decoded signals, bytes and delays of the same runs made in memory."""
    if codecs.missing_tools(codec):
        pytest.skip(codecs.missing_tools(codec))
    monkeypatch.setattr(codecs, "MAX_STREAM_SAMPLES", 3 * (2000 + codecs.GUARD_SAMPLES))  # 3 signals a run
    irs = _irs(2, 2000)
    raw = RowFile(tmp_path, 2, irs.shape[1:], np.float16)
    raw.write(0, irs)
    out = RowFile(tmp_path, 2, irs.shape[1:], np.float32)
    streamed = codecs.round_trip(raw.regrouped((2000,)), codec, out=out.regrouped((2000,)))
    whole = codecs.round_trip(irs.reshape(-1, 2000).astype(np.float32), codec)
    assert streamed.decoded is None and len(streamed.delay_samples) == 6  # 16 signals, 3 a run
    assert (streamed.bitstream_bytes, streamed.delay_samples) == (whole.bitstream_bytes, whole.delay_samples)
    np.testing.assert_array_equal(out[0:2].reshape(-1, 2000), whole.decoded)


def test_paper_codec_versions_made_a_chunk_at_a_time_equal_one_round_trip(tmp_path, monkeypatch) -> None:
    """The paper's rule, IR files encoded a chunk of pairs at a time into the version's file: the same decoded
    IRs, summed bytes and decoded length as one round trip of all of them, and the lag measured as that one
    measures it (over its first DELAY_PROBE_SAMPLES of left channels, which the first chunk holds)."""
    codec = codecs.PAPER_AAC
    if codecs.missing_tools(codec):
        pytest.skip(codecs.missing_tools(codec))
    irs = _irs(5, 1500)
    monkeypatch.setattr(codecs, "DELAY_PROBE_SAMPLES", 2 * 4 * 1500)  # two pairs' left channels
    monkeypatch.setattr(spill, "SPILL_CHUNK_BYTES", 4 * 2 * 1500 * 4)  # one pair a chunk, but for the floor
    raw = RowFile(tmp_path, 5, irs.shape[1:], np.float16)
    raw.write(0, irs)
    interp = pipeline.Interpolation(None, {}, np.arange(5), {pipeline.RAW: raw})
    storage = pipeline.add_codec_versions(interp, "paper", [codec], 5, {})
    whole = codecs.paper_round_trip(irs.reshape(-1, 2, 1500), codec)
    np.testing.assert_array_equal(interp.versions[codec.name][0:5], whole.decoded.reshape(irs.shape))
    assert storage[codec.name][1] == whole.storage_bytes
    assert f"decoded files are {whole.decoded_length} samples" in storage[codec.name][3][0]
    assert f"measured lag of the decoded files {whole.delay_samples} samples" in storage[codec.name][3][0]


def test_a_full_disk_names_the_folder_and_how_to_move_it(tmp_path) -> None:
    import errno

    rows = RowFile(tmp_path, 2, (3,), np.float32)

    class Full:
        def seek(self, _):
            return 0

        def write(self, _):
            raise OSError(errno.ENOSPC, "No space left on device")

    real, rows._file = rows._file, Full()
    try:
        with pytest.raises(OSError) as caught:
            rows.write(0, np.ones((2, 3)))
    finally:
        rows._file = real
        rows.close()
    assert caught.value.errno == errno.ENOSPC and str(tmp_path) in caught.value.filename
    assert "TMPDIR" in caught.value.filename
