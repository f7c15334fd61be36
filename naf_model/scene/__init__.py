"""Scenes: floor plans with materials, free space, sample grids, 3-D boundaries, bundled scenes, meshes."""

from naf_model.scene.floorplan import Door, Room, Window
from naf_model.scene.io import list_scenes, load_scene, save_scene
from naf_model.scene.materials import MATERIALS, OCTAVE_BANDS_HZ, Material
from naf_model.scene.scene import Scene
from naf_model.scene.surface import Surface

__all__ = [
    "MATERIALS",
    "OCTAVE_BANDS_HZ",
    "Door",
    "Material",
    "Room",
    "Scene",
    "Surface",
    "Window",
    "list_scenes",
    "load_scene",
    "save_scene",
]
