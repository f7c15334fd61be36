"""The remembered session: a `SessionState`'s settings (positions, heading, emitters with sound and gain,
selection, volume, loop, the view: tab, heatmap on/off, metric and band) as a small JSON file
($XDG_CONFIG_HOME/naf/session.json, else ~/.config/naf/session.json).

`session_dict(state)` reads the state into plain JSON values and `apply_session(state, data)` puts them back;
neither touches a widget (widgets follow the state). `load_session` checks every field's type and
finiteness before anything is applied, so a broken file is one NafError line and changes nothing;
`set_aside` moves an unreadable remembered session out of the way so the next start is a fresh one.
What is heard (field or simulation) is not remembered: a simulation is not stored, so a session always
reopens hearing the field. Files are written atomically.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from naf_app.state import GAIN_RANGE_DB, MAX_EMITTERS, TABS, SessionState
from naf_model.atomic import write_atomic
from naf_model.errors import NafError

VERSION = 1
FARTHEST_M = 1e5
"""No coordinate of a session lies farther than this from the origin (a plan is never 100 km wide; shapely's
nearest point of a far larger one overflows). Positions outside the plan are snapped into it."""


def default_session_path() -> Path:
    """Where the app remembers its last session."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "naf" / "session.json"


def session_dict(state: SessionState) -> dict:
    """The state's session settings as JSON values."""
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
        "volume": state.volume,
        "loop": state.loop,
        "view": {"tab": state.tab, "heatmap": state.heatmap_shown,
                 "heatmap_metric": state.heatmap_metric, "heatmap_band": state.heatmap_band},
    }


def save_session(path: str | os.PathLike, data: dict) -> Path:
    """Write a session dict as JSON (atomically)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(p, json.dumps(data, indent=2) + "\n")
    return p


def load_session(path: str | os.PathLike) -> dict:
    """Read and check a session file; NafError (one line naming the file and the field) if it is missing,
    not JSON, not a naf session, or holds a value of the wrong type or a non-finite number."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())  # NaN and Infinity parse (Python writes them): checked below
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise NafError(f"cannot read session {p} ({exc}); save one with File > Save session") from None
    if not isinstance(data, dict) or data.get("version") != VERSION or "emitters" not in data:
        raise NafError(f"{p} is not a naf session file (version {VERSION})")
    try:
        check_session(data)
    except ValueError as exc:
        raise NafError(f"session {p} is broken: {exc}") from None
    return data


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    return float(value)


def _point(value, what: str) -> None:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"{what} must be [x, y] in metres, not {value!r}")
    for v, axis in zip(value, "xy", strict=True):
        if abs(_number(v, f"{what} {axis}")) > FARTHEST_M:
            raise ValueError(f"{what} {axis} must be a position within {FARTHEST_M:g} m, not {v!r}")


def _kind(value, kinds, what: str, name: str) -> None:
    if not isinstance(value, kinds):
        raise ValueError(f"{what} must be {name}, not {value!r}")


def check_session(data: dict) -> None:
    """ValueError naming the first field of a session dict with a wrong type or a non-finite number."""
    _kind(data.get("scene"), str, "scene", "a scene name")
    _point(data.get("listener"), "listener")
    _number(data.get("heading", 0.0), "heading")
    emitters = data["emitters"]
    if not isinstance(emitters, list) or not 1 <= len(emitters) <= MAX_EMITTERS:
        raise ValueError(f"emitters must be a list of 1 to {MAX_EMITTERS} emitters, not {emitters!r}")
    for i, item in enumerate(emitters, start=1):
        what = f"emitter {i}"
        _kind(item, dict, what, "an object with key, xy, gain_db and sound")
        _kind(item.get("key", ""), str, f"{what} key", "a name")
        _point(item.get("xy"), f"{what} xy")
        low, high = GAIN_RANGE_DB
        if not low <= _number(item.get("gain_db", 0.0), f"{what} gain_db") <= high:
            raise ValueError(f"{what} gain_db must lie in {low:g}..{high:g} dB, not {item['gain_db']!r}")
        _kind(item.get("sound"), (str, type(None)), f"{what} sound", "a file name or null")
    _kind(data.get("selected"), (str, type(None)), "selected", "an emitter's key or null")
    if data.get("volume") is not None and not 0.0 <= _number(data["volume"], "volume") <= 1.0:
        raise ValueError(f"volume must lie in 0..1, not {data['volume']!r}")
    _kind(data.get("loop"), (bool, type(None)), "loop", "true, false or null")
    view = data.get("view", {})
    _kind(view, dict, "view", "an object")
    tab = view.get("tab")
    if tab is not None and not (tab in TABS or (type(tab) is int and 0 <= tab < len(TABS))):
        raise ValueError(f"view tab must be one of {', '.join(TABS)}, not {tab!r}")
    _kind(view.get("heatmap", True), bool, "view heatmap", "true or false")
    _kind(view.get("heatmap_metric", "loudness"), (str, type(None)), "view heatmap_metric", "a metric's name")
    band = view.get("heatmap_band")
    if band is not None and (type(band) is not int):
        raise ValueError(f"view heatmap_band must be a band centre in Hz or null, not {band!r}")


def set_aside(path: str | os.PathLike) -> Path:
    """Rename the user's unreadable session file to `<name>.bad-<UTC timestamp>` beside itself (kept for
    them to look at, out of the way of the next start); returns the new path."""
    p = Path(path)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = p.with_name(f"{p.name}.bad-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = p.with_name(f"{p.name}.bad-{stamp}-{n}")
    os.replace(p, target)
    return target


def apply_session(state: SessionState, data: dict) -> list[str]:
    """Put a checked session (`load_session`) back into the state: emitters, positions, heading, sounds,
    gains, selection, transport and view; returns one line per thing that could not be restored (another
    scene, an unknown heatmap metric). Sounds that do not play are reported by whoever follows the state."""
    if data.get("scene") != state.scene.name:
        return [f"session is for scene {data.get('scene')!r}, not {state.scene.name!r}: not restored"]
    for key in list(state.emitter_keys[1:]):
        state.remove_emitter(key)
    keys = []
    for i, item in enumerate(data["emitters"]):
        key = state.emitter_keys[0] if i == 0 else state.add_emitter(item["xy"])
        keys.append(key)
        state.move(key, item["xy"], final=True)
        state.set_gain_db(key, float(item.get("gain_db", 0.0)))
        sound = Path(item["sound"]) if item.get("sound") else None
        if state.sounds.get(key) != sound:
            state.set_sound(key, sound)
    state.move("listener", data["listener"], final=True)
    state.set_heading(float(data.get("heading", 0.0)))
    saved_keys = [item.get("key") for item in data["emitters"]]
    if data.get("selected") in saved_keys:
        state.select(keys[saved_keys.index(data["selected"])])
    else:
        state.select(keys[0])
    if data.get("volume") is not None:
        state.set_volume(float(data["volume"]))
    if data.get("loop") is not None:
        state.set_loop(bool(data["loop"]))
    view = data.get("view") or {}
    state.set_heatmap_shown(bool(view.get("heatmap", True)))
    tab = view.get("tab")
    if tab is not None:
        state.set_tab(TABS[tab] if isinstance(tab, int) else tab)
    return _restore_heatmap_choice(state, view)


def _restore_heatmap_choice(state: SessionState, view: dict) -> list[str]:
    """The heatmap's metric and band from a session's view (a name this version does not know: a problem)."""
    from naf_model.analysis import BANDS_HZ, METRICS

    metric = view.get("heatmap_metric") or "loudness"
    band = view.get("heatmap_band")
    if metric not in METRICS or (band is not None and band not in BANDS_HZ):
        return [f"heatmap {metric!r} {band!r} unknown: showing {state.heatmap_metric}"]
    state.set_heatmap_choice(metric, band)
    return []
