"""The field worker's order of work within an answer (naf_app.worker): the selected emitter's IR is computed
alone and reaches the audio first, unchanged emitters are not recomputed, and while a newer request waits the
other emitters keep their last IRs for at most OTHERS_MAX_AGE_S. Behaviour only, no timing: the worker's
`_answer` is called in the test's thread, the field's `impulse_responses` wrapped to record what it is asked."""

from __future__ import annotations

import numpy as np
import pytest

from naf_app import worker as worker_module
from naf_app.worker import FieldWorker, IrRequest


class AudioRecorder:
    """Where the worker posts IRs: records the keys of each `set_irs` call, in order."""

    def __init__(self) -> None:
        self.posts: list[list[str]] = []

    def set_irs(self, irs: dict) -> None:
        self.posts.append(list(irs))


@pytest.fixture
def worker(qtbot, tiny_field):
    scene, _, checkpoint = tiny_field
    w = FieldWorker(scene, device="cpu", audio=AudioRecorder())
    w._load(checkpoint, None)
    calls: list[int] = []
    real = w._field.impulse_responses
    w._field.impulse_responses = lambda e, *a, **k: calls.append(len(e)) or real(e, *a, **k)
    w.calls = calls
    answers: list = []
    w.answered.connect(answers.append)
    w.answers = answers
    return w


EMITTERS = {"a": (0.6, 0.6), "b": (1.4, 2.2), "c": (3.3, 0.8)}


def _ask(w: FieldWorker, seq: int, emitters: dict, listener, selected: str, heading: float = 0.0):
    w._answer(IrRequest(seq, dict(emitters), listener, heading, selected))
    return w.answers[-1]


def test_the_selected_emitter_is_computed_alone_and_posted_first(worker):
    answer = _ask(worker, 1, EMITTERS, (3.0, 2.2), "b")
    assert worker.calls == [1, 2], "the selected emitter alone, then the two others in one batch"
    assert worker.audio.posts[0] == ["b"] and set(worker.audio.posts[-1]) == set(EMITTERS)
    assert set(answer.irs) == set(EMITTERS) and np.array_equal(answer.ir, answer.irs["b"])
    moved = _ask(worker, 2, EMITTERS, (3.2, 2.0), "a")  # the listener moved: every IR is new, "a" first
    assert worker.calls[2:] == [1, 2] and worker.audio.posts[-2] == ["a"]
    assert all(not np.array_equal(moved.irs[k], answer.irs[k]) for k in EMITTERS)


def test_a_dragged_emitter_is_the_only_one_recomputed(worker):
    first = _ask(worker, 1, EMITTERS, (3.0, 2.2), "a")
    dragged = dict(EMITTERS, c=(3.0, 1.0))
    answer = _ask(worker, 2, dragged, (3.0, 2.2), "c")
    assert worker.calls[2:] == [1]
    assert np.array_equal(answer.irs["a"], first.irs["a"]) and np.array_equal(answer.irs["b"], first.irs["b"])
    assert not np.array_equal(answer.irs["c"], first.irs["c"])
    again = _ask(worker, 3, dragged, (3.0, 2.2), "c")  # the same spot asked again: nothing to compute
    assert worker.calls[3:] == [] and np.array_equal(again.ir, answer.ir)


def test_while_a_newer_request_waits_the_others_keep_their_last_irs_for_a_while(worker, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(worker_module.time, "monotonic", lambda: clock[0])
    first = _ask(worker, 1, EMITTERS, (3.0, 2.2), "a")
    worker._pending = IrRequest(9, dict(EMITTERS), (2.0, 2.0), 0.0, "a")  # a drag outrunning the model
    clock[0] += worker_module.OTHERS_MAX_AGE_S / 2
    answer = _ask(worker, 2, EMITTERS, (3.1, 2.1), "a")
    assert worker.calls[2:] == [1], "only the selected emitter while a newer request waits"
    assert np.array_equal(answer.irs["b"], first.irs["b"]) and not np.array_equal(answer.ir, first.ir)
    added = dict(EMITTERS, d=(1.0, 1.0))  # an emitter never answered is computed whatever waits
    _ask(worker, 3, added, (3.1, 2.1), "a")
    assert worker.calls[3:] == [1]
    clock[0] += 2 * worker_module.OTHERS_MAX_AGE_S
    _ask(worker, 4, added, (3.2, 2.0), "a")  # the others' IRs are too old now: they follow in one batch
    assert worker.calls[4:] == [1, 3]
    worker._pending = None
    _ask(worker, 5, added, (3.3, 2.0), "a")  # nothing waits: every emitter follows the listener at once
    assert worker.calls[6:] == [1, 3]


def test_an_answer_that_reuses_an_ir_reports_that_irs_compute_time(worker):
    """Selecting another emitter without moving computes nothing: the panel's "computed in" is the shown IR's
    own batch time, not the near-zero time of the answer that reused it."""
    first = _ask(worker, 1, EMITTERS, (3.0, 2.2), "a")
    calls = len(worker.calls)
    other = _ask(worker, 2, EMITTERS, (3.0, 2.2), "b")
    back = _ask(worker, 3, EMITTERS, (3.0, 2.2), "a")
    assert len(worker.calls) == calls, "nothing recomputed"
    assert back.latency_ms == first.latency_ms and other.latency_ms == worker._compute_ms["b"]
    assert first.latency_ms == worker._compute_ms["a"]
