"""A listener's walk through a scene: timed positions and headings, from a CSV/JSON file or a straight line.

Path files hold rows of `t` (seconds), `x`, `y` (metres) and optionally `heading` (degrees, counter-
clockwise from +x), e.g. a CSV with the header `t,x,y,heading` or a JSON list of objects with those keys
(or `{"points": [...]}`). Without headings the listener faces the direction of motion.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from naf_model.errors import NafError


class PathError(NafError):
    """A listener path file that cannot be read or makes no sense (too few points, time running back)."""


@dataclass(frozen=True, eq=False)
class ListenerPath:
    """times: (T,) seconds, strictly increasing, T >= 2; xy: (T, 2) metres; headings: (T,) degrees or None."""

    times: np.ndarray
    xy: np.ndarray
    headings: np.ndarray | None = None

    def __post_init__(self) -> None:
        t, xy = np.asarray(self.times, float), np.asarray(self.xy, float)
        if t.ndim != 1 or len(t) < 2 or xy.shape != (len(t), 2):
            raise PathError(f"a listener path needs at least 2 timed (x, y) points, got {xy.shape[0]}")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(xy))):
            raise PathError("listener path has non-finite times or positions; fix the path file")
        if np.any(np.diff(t) <= 0):
            raise PathError("listener path times must increase strictly from row to row; fix the path file")
        if self.headings is not None and (np.shape(self.headings) != t.shape
                                          or not np.all(np.isfinite(self.headings))):
            raise PathError("listener path headings must be one finite number per point")

    @property
    def duration(self) -> float:
        return float(self.times[-1] - self.times[0])

    def sample(self, interval: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions and headings every `interval` s from the start: times (K,), xy (K, 2), headings (K,).

        Positions are interpolated linearly; given headings along the shorter arc; otherwise the heading
        is the direction of motion (held while the listener stands still).
        """
        t0 = float(self.times[0])
        k = int(math.floor(self.duration / interval + 1e-9)) + 1
        times = t0 + interval * np.arange(k)
        xy = np.stack([np.interp(times, self.times, self.xy[:, i]) for i in range(2)], axis=1)
        if self.headings is not None:
            unwrapped = np.rad2deg(np.unwrap(np.deg2rad(np.asarray(self.headings, float))))
            headings = np.interp(times, self.times, unwrapped) % 360.0
        else:
            headings = motion_headings(xy, self.xy)
        return times - t0, xy, headings


def motion_headings(xy: np.ndarray, waypoints: np.ndarray) -> np.ndarray:
    """Headings (K,) in degrees along the direction of motion of `xy` (K, 2); standing still keeps the last.

    Before the first move the listener faces the first direction the `waypoints` (M, 2) go.
    """
    step = np.diff(xy, axis=0)
    step = np.vstack([step, step[-1:]]) if len(step) else np.zeros((1, 2))
    moves = np.diff(np.asarray(waypoints, float), axis=0)
    moving = np.hypot(moves[:, 0], moves[:, 1]) > 1e-9
    first = moves[np.argmax(moving)] if np.any(moving) else np.array([1.0, 0.0])
    current = math.degrees(math.atan2(first[1], first[0])) % 360.0
    out = np.empty(len(xy))
    for i, (dx, dy) in enumerate(step):
        if math.hypot(dx, dy) > 1e-9:
            current = math.degrees(math.atan2(dy, dx)) % 360.0
        out[i] = current
    return out


def line_path(x0: float, y0: float, x1: float, y1: float, seconds: float) -> ListenerPath:
    """A straight walk from (x0, y0) to (x1, y1) at constant speed in `seconds` (heading: along the line)."""
    if not seconds > 0:
        raise PathError(f"--seconds must be positive for a straight walk, got {seconds}")
    return ListenerPath(np.array([0.0, seconds]), np.array([[x0, y0], [x1, y1]], float))


def load_path(path: str | Path) -> ListenerPath:
    """Read a listener path from a .csv or .json file (see the module docstring for the columns)."""
    p = Path(path)
    if not p.is_file():
        what = "is a folder" if p.is_dir() else "does not exist"
        raise PathError(f"listener path file {p} {what}; give a .csv or .json file of t,x,y[,heading] rows")
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(p.read_text())
            rows = data.get("points") if isinstance(data, dict) else data
            if not isinstance(rows, list):
                raise ValueError("expected a list of points or {\"points\": [...]}")
        else:
            with p.open(newline="") as f:
                rows = list(csv.DictReader(f))
        rows = [{str(k).strip().lower(): v for k, v in row.items()} for row in rows]
        times = np.array([float(r["t"]) for r in rows])
        xy = np.array([[float(r["x"]), float(r["y"])] for r in rows]).reshape(-1, 2)
        has_heading = [r.get("heading") not in (None, "") for r in rows]
        headings = np.array([float(r["heading"]) for r in rows]) if rows and all(has_heading) else None
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        reason = f"missing column {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())
        raise PathError(f"cannot read listener path {p} ({reason}); use a CSV with columns t,x,y[,heading] "
                        "or a JSON list of {\"t\", \"x\", \"y\"[, \"heading\"]} objects") from None
    return ListenerPath(times, xy, headings)
