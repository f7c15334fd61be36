"""Reading the JSON files users hand to naf (scene files, material maps): every way one can be unreadable is
one `SceneError` line that names the file and what it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from naf_model.errors import SceneError


def read_json(path: Path, what: str, holds: str, not_utf8: str, max_bytes: int | None = None,
              too_big: str = "") -> Any:
    """The JSON value of `path`, a file the user calls `what` ("scene file") and that `holds` a thing ("a
    scene"). `not_utf8` follows "is not UTF-8 text" for a file in another encoding (what it may be, what to do);
    a file over `max_bytes` is refused before it is read, `too_big` following its size."""
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise SceneError(f"{what} {path} is {path.stat().st_size / 1e6:.0f} MB; {too_big}")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SceneError(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SceneError(f"{what} {path} is not UTF-8 text {not_utf8}") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise SceneError(f"{what} {path} nests too deeply to be {holds}") from None
    except json.JSONDecodeError as exc:
        where = f"at line {exc.lineno} column {exc.colno}"
        raise SceneError(f"{what} {path} is not valid JSON: {exc.msg} {where}") from None
