"""Scripts-menu job "Make data set": simulate a scene's binaural IRs into its HDF5 data set.

A thin wrapper around `naf data make` (resumable: run it again after a cancel to continue). Standalone:
    .venv/bin/python scripts/make_dataset.py --scene apartment_1
"""

from __future__ import annotations

import sys

JOB = {
    "title": "Make data set",
    "description": "Simulate binaural IRs for emitter-listener pairs over the scene's grid and write the "
    "HDF5 data set training reads (data/<scene>.h5). Resumable: run it again after a cancel.",
    "produces": "dataset",
    "options": [
        "scene",
        {"flag": "--listener-spacing", "type": "float", "default": 0.5, "min": 0.1, "max": 5.0,
         "help": "listener grid spacing in metres"},
        {"flag": "--emitter-spacing", "type": "float", "default": 1.25, "min": 0.1, "max": 10.0,
         "help": "emitter grid spacing in metres"},
        {"flag": "--listeners-per-emitter", "type": "int", "default": 64, "min": 1, "max": 100000,
         "help": "seeded subset of listeners simulated per emitter"},
        {"flag": "--waveforms", "type": "choice", "choices": ["held-out", "all"], "default": "held-out",
         "help": "whose IR waveforms to store: the validation and test pairs' or every pair's (for naf eval's "
         "interpolation baselines)"},
        {"flag": "--workers", "type": "int", "default": 2, "min": 1, "max": 256,
         "help": "parallel simulation processes"},
        {"flag": "--output", "type": "file", "default": "", "help": "output file (default data/<scene>.h5)"},
        {"flag": "--overwrite", "type": "bool", "default": False,
         "help": "replace a data set or parts made with other settings"},
    ],
}


def main(argv: list[str] | None = None) -> int:
    """Parse the job's options, run `naf data make`, announce the data set it wrote."""
    from naf_model.cli import main as naf
    from naf_model.jobs import announce, forward_args, job_parser
    from naf_model.paths import default_dataset_path
    from naf_model.scene import load_scene

    args = job_parser(JOB, "make_dataset.py").parse_args(argv)
    code = naf(["data", "make", *forward_args(JOB, args)])
    if code == 0:
        announce("dataset", args.output or default_dataset_path(load_scene(args.scene).name))
    return code


if __name__ == "__main__":
    sys.exit(main())
