"""Shared test set-up: Qt runs offscreen, torch uses one thread (reset after every test), hypothesis stays out
of the work tree, and app tests fail on leaked threads.

The leak check applies to `tests/test_app_*.py`: after each test every QThread must have stopped, every
QProcess must have exited and no new Python thread may remain (tqdm's shared monitor thread excepted).
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_CACHE_DIR = tempfile.mkdtemp(prefix="naf-cache-")
os.environ["NAF_CACHE_DIR"] = _CACHE_DIR  # `naf scene list`'s cache stays out of the home folder

try:
    from hypothesis import settings
    from hypothesis.configuration import set_hypothesis_home_dir

    # Tests write only to temporary folders: hypothesis's caches (written while test modules are collected)
    # go to one removed at the end, not .hypothesis/ in the work tree; and it keeps no example database
    # (a failure prints the example that reproduces it).
    _HYPOTHESIS_HOME = Path(tempfile.mkdtemp(prefix="naf-hypothesis-"))
    set_hypothesis_home_dir(_HYPOTHESIS_HOME)
    settings.register_profile("naf", database=None)
    settings.load_profile("naf")
except ImportError:  # pragma: no cover - hypothesis comes with the test extras
    _HYPOTHESIS_HOME = None


def pytest_unconfigure(config) -> None:
    """Remove hypothesis's temporary folder when the run ends."""
    if _HYPOTHESIS_HOME is not None:
        shutil.rmtree(_HYPOTHESIS_HOME, ignore_errors=True)
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)


try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - torch is a hard dependency, kept optional here for lint runs
    pass

_ALLOWED_THREAD_CLASSES = ("TMonitor", "_DummyThread")
"""tqdm's process-wide monitor (started once, kept by design) and the placeholders Python registers for
threads it did not start (a QThread that called threading.current_thread()); those never leave
threading.enumerate(), and the QThreads themselves are checked through Qt."""


def _running_qt_objects() -> list[str]:
    """Names of QThreads still running and QProcesses not yet exited, found among live Python wrappers."""
    try:
        from PyQt6.QtCore import QProcess, QThread
    except ImportError:  # pragma: no cover
        return []
    found = []
    for obj in gc.get_objects():
        kind = type(obj)  # not isinstance: that reads obj.__class__, which lazy module proxies warn about
        try:
            if issubclass(kind, QThread) and obj.isRunning() and obj is not QThread.currentThread():
                found.append(f"QThread {kind.__name__}")
            elif issubclass(kind, QProcess) and obj.state() != QProcess.ProcessState.NotRunning:
                found.append(f"QProcess {obj.program()} {' '.join(obj.arguments())}")
        except RuntimeError:  # wrapper whose C++ object is already deleted
            continue
    return found


def _new_python_threads(before: set[int]) -> list[str]:
    return [
        t.name for t in threading.enumerate()
        if t.ident not in before and t.is_alive() and type(t).__name__ not in _ALLOWED_THREAD_CLASSES
    ]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Every test starts with one torch thread: a command run in-process (`naf train` sets the thread count
    from the idle cores) must not change what later tests compute, e.g. an exact resume against a 1-thread run."""
    yield
    if "torch" in sys.modules and sys.modules["torch"].get_num_threads() != 1:
        sys.modules["torch"].set_num_threads(1)


@pytest.fixture(autouse=True)
def no_leaked_threads(request):
    """In app tests, fail if a QThread, QProcess or Python thread started by the test is still running."""
    if not request.node.path.name.startswith("test_app_"):
        yield
        return
    before = {t.ident for t in threading.enumerate()}
    yield
    deadline = time.monotonic() + 2.0  # threads told to stop get a moment to return from run()
    while True:
        leaked = _running_qt_objects() + _new_python_threads(before)
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"threads left running after the test: {leaked}"


@pytest.fixture(scope="session")
def tiny_field(tmp_path_factory):
    """A small field trained here on the 4 m x 3 m two-room scene: (scene, data set path, checkpoint path).

    Simulated with short IRs and few rays, then 150 steps of the 'fast' preset: about 15 s on one core.
    It is no good acoustically, but it is a real field of that scene (positions, heading, loudness vary).
    """
    import dataclasses

    from naf_model.data import DataConfig, make_dataset
    from naf_model.networks import preset
    from naf_model.scene.examples import two_room_scene
    from naf_model.simulate import SimulationConfig
    from naf_model.training.train import RunOptions, train_field

    scene = two_room_scene()
    folder = tmp_path_factory.mktemp("tiny_field")
    config = DataConfig(listener_spacing=0.5, emitter_spacing=0.8, listeners_per_emitter=12, seed=0,
                        simulation=SimulationConfig(ir_seconds=0.25, n_rays=200), waveforms="all")
    dataset = make_dataset(scene, config, folder / "two_room.h5", workers=1, progress=False)
    fast = preset("fast")
    fast = dataclasses.replace(fast, train=dataclasses.replace(fast.train, eval_every=1000))
    result = train_field(fast, RunOptions(dataset=dataset, out_dir=folder / "run", steps=150, device="cpu",
                                          progress=False), scene)
    return scene, dataset, result.best
