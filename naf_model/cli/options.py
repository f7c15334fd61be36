"""Arguments several `naf` commands share, so each is spelled once (standard library only).

- `add_scene`, `add_device`, `add_seed`: the common `--scene`, `--device` and `--seed` options.
- `add_rows`: options given as a table of (flag, type, default, help) rows.
- `count`: an argparse type for a bounded whole number.
- `pick`: the named attributes of parsed arguments, as keyword arguments for a config.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any

from naf_model.cli import validate

SCENE_OR_MESH = "bundled scene name, scene.json path or mesh path"
"""The `--scene` help of commands that also take a mesh (see `naf_model.cli.scene.add_mesh_options`)."""


def add_scene(p: Any, help: str, required: bool = True) -> None:
    """`--scene NAME|FILE` (required unless told otherwise); `p` is a parser or an argument group."""
    p.add_argument("--scene", required=required, help=help)


def add_device(p: argparse.ArgumentParser, help: str = "auto, cpu or cuda[:N] (default auto)") -> None:
    """`--device auto|cpu|cuda[:N]`, default auto (CUDA presence is checked by `validate.check_args`)."""
    p.add_argument("--device", default="auto", type=validate.device_name, help=help)


def add_seed(p: argparse.ArgumentParser, help: str | None = None) -> None:
    """`--seed N`, 0 .. 2**32 - 1, default 0."""
    p.add_argument("--seed", type=validate.seed, default=0, help=help)


def count(high: int, low: int = 1) -> Callable[[str], int]:
    """An argparse type: a whole number from low to high."""
    return validate.number(int, low=low, high=high)


def add_rows(p: argparse.ArgumentParser, rows: Iterable[tuple[str, Callable[[str], Any], Any, str]]) -> None:
    """Add one option per (flag, type, default, help) row, in order."""
    for flag, kind, default, text in rows:
        p.add_argument(flag, type=kind, default=default, help=text)


def pick(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """`{name: args.name}` for each name: the options a config takes under the same names."""
    return {name: getattr(args, name) for name in names}
