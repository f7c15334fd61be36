"""The `naf` command line: thin subcommands that parse arguments and call one library function each.

Each subcommand lives in its own module with a `register(subparsers)` function. Those modules import only
the standard library at the top (numpy, torch, matplotlib, h5py, ... are imported inside the command
functions), so `naf --help` and argument errors answer at once. User errors (`NafError`) print one line.
`python -m naf_model` and `python -m naf_model.cli` both run `main`.
"""

from __future__ import annotations

import argparse
import sys

from naf_model.cli import analysis, bench, data, evaluate, render, scene, train
from naf_model.errors import NafError

SUBCOMMAND_MODULES = (scene, data, train, evaluate, render, analysis, bench)
"""Modules that add subcommands, in the order `naf --help` lists them: scene list|show, data make|merge|info,
train, eval, render and walk, loudness|tsne|probe, bench."""


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="naf",
        description="Neural Acoustic Fields: scenes, simulated binaural data, training, evaluation, rendering.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `naf`: returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except NafError as exc:
        print(f"naf: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("naf: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)
