"""The `naf` entry point itself: it starts without loading the heavy libraries, and lazy choices still check."""

from __future__ import annotations

import subprocess
import sys

import pytest

from naf_model.cli import main
from naf_model.networks.presets import DEFAULT_PRESET, PRESETS
from naf_model.rendering.ir_source import IR_SOURCES

HEAVY = ("torch", "numpy", "scipy", "matplotlib", "pyroomacoustics", "sklearn", "h5py", "trimesh", "shapely")


def test_help_loads_no_numeric_library() -> None:
    """`python -m naf_model.cli --help` builds every subcommand's parser with the standard library only."""
    code = ("import runpy, sys\n"
            "sys.argv = ['naf', '--help']\n"
            "try:\n    runpy.run_module('naf_model.cli', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('MODULES', ' '.join(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert "naf train" not in out and "render" in out  # the top-level help, listing the subcommands
    loaded = set(out.split("MODULES", 1)[1].split())
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


def test_lazy_choices_list_and_check_presets_and_sources(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert ", ".join(sorted(PRESETS)) in text and f"default {DEFAULT_PRESET}:" in text
    with pytest.raises(SystemExit) as info:
        main(["train", "--scene", "apartment_1", "--preset", "no_such_preset"])
    assert info.value.code == 2 and "invalid choice: 'no_such_preset'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    assert ", ".join(sorted(IR_SOURCES)) in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit) as info:
        main(["render", "--scene", "apartment_1", "--emitter", "1", "1", "--listener", "2", "2", "-o", "x.wav",
              "--source", "tape"])
    assert info.value.code == 2 and "invalid choice: 'tape'" in capsys.readouterr().err


def test_project_paths_are_relative_inside_the_project_and_kept_outside(tmp_path):
    from naf_model.paths import CHECKPOINTS_DIR, project_path

    assert project_path(CHECKPOINTS_DIR / "apartment_1.pt") == "assets/checkpoints/apartment_1.pt"
    assert project_path(tmp_path / "x.pt") == str(tmp_path / "x.pt")
