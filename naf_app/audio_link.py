"""The app's handle on the live audio engine (naf_app.audio.LiveAudio): open it, feed it IRs, read its health.

Opening never raises: no sound card, a missing PortAudio or an unreadable music file become one status
line and the app keeps running (silent, or with the bundled music). With `--no-audio` the engine is built
but its stream is never opened, so IR swaps are still prepared and counted (tests and benchmarks use this
as a null sink).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from naf_model.audio import MAIN
from naf_model.errors import NafError


class AudioLink:
    """Wraps a LiveAudio engine (or none). `set_irs` may be called from any thread; `ir_updates` counts its
    calls (for the UI and benchmarks; the IRs themselves are in the engine, `engine.current_irs`).

    A/B routing: `listen_to(key, ir)` plays `ir` for emitter `key` instead of the field's IRs (the
    simulation), `listen_to(key, None)` goes back to the field's latest IR for it."""

    def __init__(self, engine, status: str, problems: list[str] | None = None,
                 music_problem: str | None = None) -> None:
        self.engine = engine
        self.status = status
        self.problems = list(problems or [])
        self.music_problem = music_problem
        """Why the `--music` file is not played (also among `problems`): the window keeps it in view."""
        self._lock = threading.Lock()
        self.ir_updates = 0
        self._field_irs: dict[str, np.ndarray] = {}
        self._override: dict[str, np.ndarray] = {}
        self._playing: dict[str, np.ndarray] = {}  # the IR each emitter was last given

    @classmethod
    def open(cls, no_audio: bool = False, music: str | Path | None = None,
             device: int | str | None = None, lookahead_blocks: int | None = None) -> AudioLink:
        """Build the engine, load `music` (default: the bundled loop) and start the sound card (`device`:
        a PortAudio device name or index, default the system's) unless `no_audio`; every failure is
        recorded as a one-line problem instead of raised. `lookahead_blocks`: the engine's render-ahead
        (default: `RENDER_AHEAD_BLOCKS` with a sound card; 0 with `no_audio`, where whoever calls the
        callback, a test or a benchmark, gets the render-free path unless it asks otherwise)."""
        try:
            from naf_app.audio import LiveAudio
            from naf_app.audio.render_ahead import RENDER_AHEAD_BLOCKS
            from naf_model.audio import load_audio
        except ImportError as exc:
            return cls(None, "audio: unavailable", [f"audio engine unavailable ({exc})"])
        clip, music_problem = None, None
        if music is not None:
            try:
                clip = load_audio(music)
            except NafError as exc:
                music_problem = f"music: {exc}; playing the bundled loop instead"
        problems = [music_problem] if music_problem else []
        try:
            if lookahead_blocks is None:
                lookahead_blocks = 0 if no_audio else RENDER_AHEAD_BLOCKS
            engine = LiveAudio(music=clip, device=device, lookahead_blocks=lookahead_blocks)
        except NafError as exc:
            return cls(None, "audio: off", [*problems, f"audio: {exc}"], music_problem)
        if no_audio:
            engine.start_rendering()
            return cls(engine, "audio: off (--no-audio)", problems, music_problem)
        try:
            engine.start()
            engine.play()
        except NafError as exc:
            return cls(engine, "audio: no sound card", [*problems, f"audio: {exc}"], music_problem)
        return cls(engine, "audio: on", problems, music_problem)

    @property
    def running(self) -> bool:
        return self.engine is not None and self.engine.running

    def set_ir(self, ir: np.ndarray) -> None:
        """Swap the first emitter's IR (2, N) at 22,050 Hz (crossfaded); AudioError keeps the last good IR."""
        self.set_irs({MAIN: ir})

    def set_irs(self, irs: dict[str, np.ndarray]) -> None:
        """The field's newest IRs {emitter key: (2, N) at 22,050 Hz}; each is played unless that emitter
        listens to an override (A/B). Keys the engine does not have (an emitter just removed) are skipped, and
        so is an IR equal to the one that emitter plays: every answer carries every emitter's IR, and while
        one emitter is dragged the others' would each cost a resampling and a partitioning (about 10 ms for
        a 3 s IR) and a crossfade for nothing."""
        with self._lock:
            self._field_irs.update(irs)
            self.ir_updates += 1
            if self.engine is None:
                return
            sources = self.engine.sources
            for key, ir in irs.items():
                if key in sources:
                    self._play(key, self._override.get(key, ir))

    def _play(self, key: str, ir: np.ndarray) -> None:
        """Post `ir` to emitter `key` unless it plays that IR already (caller holds the lock)."""
        playing = self._playing.get(key)
        if playing is not None and playing.shape == np.shape(ir) and np.array_equal(playing, ir):
            return
        self.engine.set_ir(ir, source=key)
        self._playing[key] = np.array(ir, copy=True)

    def listen_to(self, key: str, ir: np.ndarray | None) -> None:
        """Play `ir` (2, N) for emitter `key` instead of the field's (None: the field's latest again)."""
        with self._lock:
            if ir is None:
                self._override.pop(key, None)
                ir = self._field_irs.get(key)
            else:
                self._override[key] = np.asarray(ir, np.float32)
            if self.engine is not None and ir is not None and key in self.engine.sources:
                self._play(key, ir)

    def field_ir(self, key: str) -> np.ndarray | None:
        """The field's latest IR for emitter `key` (whatever is being played)."""
        with self._lock:
            return self._field_irs.get(key)

    def add_source(self, key: str, clip=None, gain: float = 1.0) -> None:
        """A new emitter in the engine; it plays as soon as the field's first IR for it arrives."""
        if self.engine is not None and key not in self.engine.sources:
            self.engine.add_source(key, clip, gain)

    def remove_source(self, key: str) -> None:
        with self._lock:
            self._field_irs.pop(key, None)
            self._override.pop(key, None)
            self._playing.pop(key, None)
            if self.engine is not None and key in self.engine.sources:
                self.engine.remove_source(key)

    def calibrate(self, reference_irs: np.ndarray) -> None:
        """Fix the session's output gain from reference IRs (B, 2, N) (the loudest plays at the target)."""
        if self.engine is not None:
            self.engine.calibrate(reference_irs)

    def underruns(self) -> int | None:
        """Audible gaps so far, or None without a running stream: the card's underruns and the blocks the
        render thread did not have ready in time (render-ahead ring underruns)."""
        if not self.running:
            return None
        stats = self.engine.stats()
        return stats.underruns + stats.ring_underruns

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
