"""The remembered session: positions, heading, emitters (sound, gain), selection, volume, loop and view, as
a small JSON file ($XDG_CONFIG_HOME/naf/session.json, else ~/.config/naf/session.json).

`session_dict` reads a window's state into plain JSON values and `apply_session` puts them back; files
are written atomically. A session of another scene, or a broken file, is ignored with one line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from naf_model.atomic import write_atomic
from naf_model.errors import NafError

VERSION = 1


def default_session_path() -> Path:
    """Where the app remembers its last session."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "naf" / "session.json"


def session_dict(window) -> dict:
    """The window's session as JSON values."""
    state, engine = window.state, window.engine
    return {
        "version": VERSION,
        "scene": state.scene.name,
        "listener": list(state.listener),
        "heading": state.heading,
        "emitters": [
            {"key": key, "xy": list(state.position(key)), "gain_db": state.gains_db[key],
             "sound": None if state.sounds[key] is None else str(state.sounds[key])}
            for key in state.emitter_keys
        ],
        "selected": state.selected,
        "volume": None if engine is None else engine.volume,
        "loop": None if engine is None else engine.loop,
        "view": {"tab": window.tabs.currentIndex(), "heatmap": window.heatmap_action.isChecked(),
                 "heatmap_metric": state.heatmap_metric, "heatmap_band": state.heatmap_band},
    }


def save_session(path: str | os.PathLike, data: dict) -> Path:
    """Write a session dict as JSON (atomically)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(p, json.dumps(data, indent=2) + "\n")
    return p


def load_session(path: str | os.PathLike) -> dict:
    """Read a session file; NafError (one line) if it is missing or not a naf session."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise NafError(f"cannot read session {p} ({exc}); save one with File > Save session") from None
    if not isinstance(data, dict) or data.get("version") != VERSION or "emitters" not in data:
        raise NafError(f"{p} is not a naf session file (version {VERSION})")
    return data


def apply_session(window, data: dict) -> list[str]:
    """Put a session back into the window (emitters, positions, heading, sounds, gains, transport, view);
    returns one line per thing that could not be restored (a missing sound file, another scene)."""
    state = window.state
    if data.get("scene") != state.scene.name:
        return [f"session is for scene {data.get('scene')!r}, not {state.scene.name!r}: not restored"]
    problems = []
    for key in list(state.emitter_keys[1:]):
        window.remove_emitter(key)
    for i, item in enumerate(data["emitters"][:4]):
        key = state.emitter_keys[0] if i == 0 else window.add_emitter(item["xy"])
        if key is None:
            continue
        state.move(key, item["xy"], final=True)
        state.set_gain_db(key, float(item.get("gain_db", 0.0)))
        sound = item.get("sound")
        if sound:
            problem = window.set_emitter_sound(key, Path(sound))
            if problem:
                problems.append(problem)
    state.move("listener", data["listener"], final=True)
    state.set_heading(float(data.get("heading", 0.0)))
    keys = state.emitter_keys
    selected = data.get("selected")
    if selected in [item.get("key") for item in data["emitters"]]:
        index = [item.get("key") for item in data["emitters"]].index(selected)
        if index < len(keys):
            state.select(keys[index])
    engine = window.engine
    if engine is not None:
        if data.get("volume") is not None:
            window.transport.volume.setValue(int(round(100 * float(data["volume"]))))
        if data.get("loop") is not None:
            window.transport.loop_box.setChecked(bool(data["loop"]))
    view = data.get("view") or {}
    if "heatmap" in view:
        window.heatmap_action.setChecked(bool(view["heatmap"]))
        window.heatmap.set_enabled(bool(view["heatmap"]))
    problems += _restore_heatmap_choice(state, view)
    if isinstance(view.get("tab"), int) and 0 <= view["tab"] < window.tabs.count():
        window.tabs.setCurrentIndex(view["tab"])
    return problems


def _restore_heatmap_choice(state, view: dict) -> list[str]:
    """The heatmap's metric and band from a session's view (a name this version does not know: a problem)."""
    from naf_model.analysis import BANDS_HZ, METRICS

    metric = view.get("heatmap_metric") or "loudness"
    band = view.get("heatmap_band")
    if metric not in METRICS or (band is not None and band not in BANDS_HZ):
        return [f"heatmap {metric!r} {band!r} unknown: showing {state.heatmap_metric}"]
    state.set_heatmap_choice(metric, band)
    return []
