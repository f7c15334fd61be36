"""`naf scene list` and `naf scene show NAME -o plan.png`: the bundled scenes and their floor plans."""

from __future__ import annotations

import argparse

from naf_model.cli import validate
from naf_model.errors import SceneError

PLAN_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


def add_mesh_options(parser: argparse.ArgumentParser) -> None:
    """`--materials map.json` and `--units m|cm|mm`, for commands that may load a scene from a mesh."""
    parser.add_argument(
        "--materials",
        metavar="MAP.json",
        help="mesh scenes: JSON map of mesh material/group names to naf materials (default: "
        "<mesh>.materials.json next to the mesh if present, else the keyword table)",
    )
    parser.add_argument(
        "--units", choices=("m", "cm", "mm"), default="m", help="mesh scenes: the mesh file's unit (default m)"
    )


def scene_from_args(args: argparse.Namespace):
    """The scene named by args.scene, with the mesh options when the command has them; without --scene, the
    scene an imported data set (args.data, `naf data import`) carries."""
    from naf_model.scene import load_scene

    name = args.scene if args.scene is not None else getattr(args, "data", None)
    if name is None:
        raise SceneError("give --scene NAME|FILE (or --data FILE of an imported data set, which carries its plan)")
    return load_scene(name, materials=getattr(args, "materials", None), units=getattr(args, "units", "m"))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `naf scene {list,show}`."""
    parser = subparsers.add_parser(
        "scene", help="list bundled scenes, draw a floor plan", description=__doc__
    )
    sub = parser.add_subparsers(dest="scene_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="bundled scenes with their free floor area and rooms")
    listing.set_defaults(func=run_list)
    show = sub.add_parser(
        "show",
        help="draw a scene's floor plan to an image",
        description="Draw walls, doors, windows, floors by material, room names and the sample grid.",
    )
    show.add_argument(
        "scene", help="bundled scene name, path to a scene.json, or a mesh (OBJ, GLB, PLY, STL)"
    )
    show.add_argument("-o", "--output", default=None, help="image to write (default: <scene>_plan.png)")
    show.add_argument(
        "--grid",
        type=validate.spacing(allow_zero=True),
        default=0.5,
        metavar="M",
        help="sample-grid spacing to draw in metres, 0 for none",
    )
    add_mesh_options(show)
    validate.add_force(show)
    validate.declare_io(show, outputs={"output": validate.Output(PLAN_SUFFIXES)}, inputs=("scene", "materials"))
    show.set_defaults(func=run_show)


def run_list(args: argparse.Namespace) -> int:
    """Print one line per bundled scene: name, free floor area, number and names of rooms.

    The figures come from a cache keyed by each scene's file contents ($NAF_CACHE_DIR, else ~/.cache/naf),
    so a repeated listing reads a few files and imports no geometry library.
    """
    print(f"{'name':<16} {'area m2':>8}  rooms")
    for name, area, rooms in _scene_summaries():
        print(f"{name:<16} {area:>8.1f}  {len(rooms)} ({', '.join(rooms)})")
    return 0


def _scene_summaries() -> list[tuple[str, float, list[str]]]:
    """(name, free floor area, room names) per bundled scene, computed only for scenes not in the cache."""
    import hashlib
    import json

    from naf_model.atomic import write_atomic
    from naf_model.paths import SCENES_DIR, cache_dir

    folders = sorted(p for p in SCENES_DIR.iterdir() if p.is_dir()) if SCENES_DIR.is_dir() else []
    cache_file = cache_dir() / "scene_list.json"
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    out, changed = [], False
    for folder in folders:
        files = [f for f in sorted(folder.iterdir()) if f.is_file() and not f.name.startswith(".")]
        digest = hashlib.sha256(b"".join(f.name.encode() + f.read_bytes() for f in files)).hexdigest()
        entry = cache.get(folder.name)
        if not isinstance(entry, dict) or entry.get("sha256") != digest:
            from naf_model.scene import list_scenes, load_scene

            entry = {"sha256": digest, "scene": False}
            if folder.name in list_scenes():
                scene = load_scene(folder.name)
                entry.update({"scene": True, "area": scene.area, "rooms": [r.name for r in scene.rooms]})
            cache[folder.name], changed = entry, True
        if not entry.get("scene"):
            continue
        out.append((folder.name, float(entry["area"]), list(entry["rooms"])))
    if changed:
        try:
            write_atomic(cache_file, json.dumps(cache, indent=1))
        except OSError:
            pass  # a cache that cannot be written only costs time
    return out


def run_show(args: argparse.Namespace) -> int:
    """Draw the plan of one scene to an image file."""
    from naf_model.paths import file_stem
    from naf_model.scene.plot import save_plan
    from naf_model.simulate.eyring import eyring_t60

    if args.grid < 0:
        raise SceneError(f"--grid must be 0 (no grid) or a positive spacing in metres, got {args.grid}")
    scene = scene_from_args(args)
    output = args.output
    if output is None:  # the default name, known now, obeys the rule given names did (exists, --force, length)
        output = validate.check_output(args, "output", f"{file_stem(scene.name)}_plan.png")
    path = save_plan(scene, output, grid_spacing=args.grid or None)
    extra = f", {len(scene.sample_grid(args.grid))} grid points at {args.grid:g} m" if args.grid else ""
    print(f"wrote {path} ({scene.name}: {scene.area:.1f} m2 free floor, {len(scene.rooms)} rooms{extra})")
    t60 = ", ".join(f"{eyring_t60(scene, b):.2f} s at {b} Hz" for b in (500, 1000))
    holes = len(scene.free_space.interiors)
    print(
        f"{len(scene.simulation_surfaces())} simulator walls, {len(scene.obstacles)} obstacles, {holes} holes at ear "
        f"height, air {scene.volume:.1f} m3; Eyring T60 {t60}"
    )
    if hasattr(scene, "material_report"):
        print(f"{'mesh material/group':<28} {'material':<16} {'faces':>6} {'area m2':>8}")
        for label, material, faces, area in scene.material_report():
            print(f"{label:<28} {material:<16} {faces:>6} {area:>8.2f}")
    return 0
