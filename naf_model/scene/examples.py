"""Tiny scenes built in code, for tests and examples."""

from __future__ import annotations

from naf_model.scene.scene import Scene


def two_room_scene() -> Scene:
    """A 4 m x 3 m plan: two 2 m x 3 m rooms joined by a 0.9 m door, a window in the left room."""
    return Scene.from_dict(
        {
            "name": "two_room",
            "ceiling_height": 2.5,
            "wall_thickness": 0.1,
            "rooms": [
                {"name": "left", "polygon": [[0, 0], [2, 0], [2, 3], [0, 3]], "floor": "carpet"},
                {
                    "name": "right",
                    "polygon": [[2, 0], [4, 0], [4, 3], [2, 3]],
                    "floor": "tiles",
                    "walls": "tiles",
                },
            ],
            "doors": [{"at": [2.0, 1.5], "width": 0.9}],
            "windows": [{"from": [0.5, 0.0], "to": [1.5, 0.0], "material": "glass"}],
        }
    )


def shoebox_scene(
    width: float = 5.0, depth: float = 4.0, height: float = 3.0, material: str = "plaster"
) -> Scene:
    """A single rectangular room whose free space is `width` x `depth` x `height` metres, all one material."""
    return Scene.from_dict(
        {
            "name": "shoebox",
            "ceiling_height": height,
            "wall_thickness": 0.0,
            "defaults": {"walls": material, "floor": material, "ceiling": material},
            "rooms": [{"name": "room", "polygon": [[0, 0], [width, 0], [width, depth], [0, depth]]}],
        }
    )


def l_shaped_scene() -> Scene:
    """One L-shaped room: a 6 m x 6 m square minus its 3 m x 3 m upper-right quarter, 2.7 m high."""
    return Scene.from_dict(
        {
            "name": "l_shaped",
            "ceiling_height": 2.7,
            "wall_thickness": 0.12,
            "rooms": [{"name": "room", "polygon": [[0, 0], [6, 0], [6, 3], [3, 3], [3, 6], [0, 6]]}],
        }
    )
