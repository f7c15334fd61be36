"""Reading the scene.json dictionary into `Scene` arguments, with a one-line error per malformed field."""

from __future__ import annotations

import math
from typing import Any

from naf_model.conventions import EAR_HEIGHT_M
from naf_model.errors import SceneError
from naf_model.scene.floorplan import Door, Room, Window, room_polygon
from naf_model.scene.materials import check_material
from naf_model.scene.obstacle import parse_obstacle

PARTS = ("floor", "ceiling", "walls")


def _number(value: Any, where: str) -> float:
    try:
        number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    except OverflowError:  # a JSON integer with hundreds of digits
        number = math.inf
    if not math.isfinite(number):
        raise SceneError(f"{where} must be a finite number, got {str(value)[:40]}")
    return number


def _point(value: Any, where: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise SceneError(f"{where} must be a point [x, y], got {value!r}")
    return (_number(value[0], where), _number(value[1], where))


def _list(d: dict, key: str, required: bool = False) -> list:
    if key not in d:
        if required:
            raise SceneError(f"scene is missing {key!r}")
        return []
    if not isinstance(d[key], list):
        raise SceneError(f"scene {key!r} must be a list, got {type(d[key]).__name__}")
    return d[key]


def scene_kwargs(d: Any) -> dict[str, Any]:
    """Keyword arguments of `Scene(...)` from a scene.json dictionary (materials fall back to defaults)."""
    if not isinstance(d, dict):
        raise SceneError(f"a scene must be a JSON object, got {type(d).__name__}")
    known = {
        "name",
        "ceiling_height",
        "ear_height",
        "wall_thickness",
        "defaults",
        "rooms",
        "doors",
        "windows",
        "obstacles",
        "derived_from",
    }
    extra = sorted(set(d) - known)
    if extra:
        raise SceneError(f"unknown scene field {extra[0]!r}; allowed fields: {', '.join(sorted(known))}")
    defaults = d.get("defaults", {})
    if not isinstance(defaults, dict) or set(defaults) - set(PARTS):
        raise SceneError(
            f"scene 'defaults' must map some of {', '.join(PARTS)} to materials, got {defaults!r}"
        )
    from naf_model.scene.scene import DEFAULT_MATERIALS

    defaults = {**DEFAULT_MATERIALS, **defaults}
    for part, material in defaults.items():
        check_material(material, f"defaults {part}")
    rooms = []
    for i, r in enumerate(_list(d, "rooms", required=True)):
        if not isinstance(r, dict) or "polygon" not in r:
            raise SceneError(f"room #{i + 1} must be an object with a 'polygon' (and a 'name')")
        name = str(r.get("name", f"room {i + 1}"))
        extra = sorted(set(r) - {"name", "polygon", *PARTS})
        if extra:
            raise SceneError(
                f"room {name!r} has unknown field {extra[0]!r}; allowed: name, polygon, floor, ceiling, walls"
            )
        materials = {p: check_material(r.get(p, defaults[p]), f"room {name!r} {p}") for p in PARTS}
        rooms.append(Room(name, room_polygon(name, r["polygon"]), **materials))
    doors = []
    for i, door in enumerate(_list(d, "doors")):
        if not isinstance(door, dict) or "at" not in door:
            raise SceneError(f"door #{i + 1} must be an object with 'at' [x, y] and 'width'")
        doors.append(
            Door(
                _point(door["at"], f"door #{i + 1} 'at'"),
                _number(door.get("width", 0.9), f"door #{i + 1} width"),
            )
        )
    windows = []
    for i, w in enumerate(_list(d, "windows")):
        if not isinstance(w, dict) or "from" not in w or "to" not in w:
            raise SceneError(f"window #{i + 1} must be an object with 'from' and 'to' points")
        start, end = _point(w["from"], f"window #{i + 1} 'from'"), _point(w["to"], f"window #{i + 1} 'to'")
        windows.append(Window(start, end, check_material(w.get("material", "glass"), f"window #{i + 1}")))
    ceiling = _number(d.get("ceiling_height", 2.6), "ceiling_height")
    derived = d.get("derived_from")
    if derived is not None and not isinstance(derived, str):
        raise SceneError(f"scene 'derived_from' must be a sentence (a string), got {type(derived).__name__}")
    obstacles = [parse_obstacle(o, i, ceiling) for i, o in enumerate(_list(d, "obstacles"))]
    return {
        "name": str(d.get("name", "scene")),
        "rooms": rooms,
        "doors": doors,
        "windows": windows,
        "obstacles": obstacles,
        "ceiling_height": ceiling,
        "ear_height": _number(d.get("ear_height", EAR_HEIGHT_M), "ear_height"),
        "wall_thickness": _number(d.get("wall_thickness", 0.12), "wall_thickness"),
        "defaults": defaults,
        "derived_from": derived or None,
    }
