"""Finding and reading scenes: bundled names, scene.json files and meshes; atomic scene.json writes."""

from __future__ import annotations

import json
from pathlib import Path

from naf_model.atomic import write_atomic
from naf_model.errors import SceneError
from naf_model.paths import SCENES_DIR
from naf_model.scene.json_file import read_json
from naf_model.scene.scene import Scene

MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply", ".stl", ".off")
DATA_SET_SUFFIXES = (".h5", ".hdf5")
SCENE_ATTRIBUTE = "scene_json"
"""The attribute of an imported data set that holds its scene's scene.json form (`naf data import`)."""
MAX_SCENE_FILE_BYTES = 50_000_000


def list_scenes() -> list[str]:
    """Names of the bundled scenes (folders of assets/scenes holding a scene.json or one mesh), sorted."""
    if not SCENES_DIR.is_dir():
        return []
    return sorted(p.name for p in SCENES_DIR.iterdir() if (p / "scene.json").is_file() or bundled_mesh(p.name))


def bundled_mesh(name: str) -> Path | None:
    """The mesh file named after a bundled scene folder (assets/scenes/<name>/<name>.obj, ...), or None."""
    for suffix in MESH_SUFFIXES:
        path = SCENES_DIR / name / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def read_scene_file(path: str | Path) -> Scene:
    """A scene from a scene.json file; malformed JSON raises SceneError with the line and column."""
    path = Path(path)
    data = read_json(path, "scene file", "a scene", "(a binary file?); give a scene.json", MAX_SCENE_FILE_BYTES,
                     f"a scene.json is a few kB of JSON (limit {MAX_SCENE_FILE_BYTES // 1_000_000} MB)")
    if isinstance(data, dict) and "name" not in data:
        data["name"] = path.parent.name if path.name == "scene.json" else path.stem
    try:
        return Scene.from_dict(data)
    except SceneError as exc:
        raise SceneError(f"{path}: {exc}") from None


def load_scene(name_or_path: str | Path, materials: str | Path | None = None, units: str = "m") -> Scene:
    """A bundled scene by name, a scene.json path, a closed mesh (OBJ, GLB, PLY, STL) cut at ear height, or
    an imported data set (.h5) whose scene it carries (`scene_of_data_set`).

    materials (a JSON map of mesh material/group names to naf materials) and units (m, cm, mm) apply to
    meshes only. A bundled scene may be a folder holding one mesh instead of a scene.json.
    """
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.suffix.lower() in DATA_SET_SUFFIXES:
        return scene_of_data_set(path)
    if path.suffix.lower() in MESH_SUFFIXES:
        from naf_model.scene.mesh_import import scene_from_mesh

        return scene_from_mesh(path, materials=materials, units=units)
    if materials is not None:
        raise SceneError("--materials applies to mesh scenes only; a scene.json names its materials itself")
    if path.suffix.lower() == ".json" or path.is_file():
        return read_scene_file(path)
    if path.is_dir() and (path / "scene.json").is_file():
        return read_scene_file(path / "scene.json")
    bundled = SCENES_DIR / text / "scene.json"
    if "/" not in text and bundled.is_file():
        return read_scene_file(bundled)
    mesh = bundled_mesh(text) if "/" not in text else None
    if mesh is not None:
        return load_scene(mesh, units=units)
    available = ", ".join(list_scenes()) or "none"
    raise SceneError(
        f"unknown scene {text!r}; give a bundled scene ({available}), a scene.json path or a mesh file"
    )


def save_scene(scene: Scene, path: str | Path) -> Path:
    """Write `scene.to_dict()` as indented JSON, atomically (temp file in the same folder, then replace)."""
    return write_atomic(path, json.dumps(scene.to_dict(), indent=2) + "\n")


def scene_of_data_set(path: str | Path) -> Scene:
    """The scene an imported data set carries (`naf data import`: a plan derived from its positions);
    SceneError (one line) for a missing file or a data set made by `naf data make`, which names its scene."""
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            text = f.attrs.get(SCENE_ATTRIBUTE)
            name = f.attrs.get("scene_name")
    except (OSError, FileNotFoundError):
        raise SceneError(f"{path} is missing or not an HDF5 data set; give a scene name, scene.json or mesh") from None
    if text is None:
        named = f" (scene {str(name)!r})" if name is not None else ""
        raise SceneError(f"{path} carries no scene{named}: it was made by `naf data make`; pass --scene NAME")
    try:
        scene = Scene.from_dict(json.loads(str(text)))
    except (ValueError, SceneError) as exc:
        raise SceneError(f"{path}: its scene is damaged ({exc})") from None
    scene.data_file = path
    return scene
