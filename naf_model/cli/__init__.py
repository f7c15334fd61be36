"""The `naf` command line: thin subcommands that parse arguments and call one library function each.

Each subcommand lives in its own module with a `register(subparsers)` function. Those modules import only
the standard library at the top (numpy, torch, matplotlib, h5py, ... are imported inside the command
functions), so `naf --help` and argument errors answer at once. Before a command starts, `validate.check_args`
checks its output and input paths and devices. User errors (`NafError`) print one line; Ctrl-C or SIGTERM
at any moment prints `naf: interrupted` (exit status 130), and atomic writes leave no partial file.
`python -m naf_model` and `python -m naf_model.cli` both run `main`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from naf_model.cli.validate import NafArgumentParser, check_args
from naf_model.errors import NafError

SUBCOMMAND_NAMES = ("scene", "data", "train", "evaluate", "render", "analysis", "bench")
"""Modules of naf_model.cli that add subcommands, in the order `naf --help` lists them: scene list|show,
data make|merge|info, train, eval, render and walk, loudness|tsne|probe, bench."""


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every subcommand."""
    from importlib import import_module

    parser = NafArgumentParser(
        prog="naf",
        description="Neural Acoustic Fields: scenes, simulated binaural data, training, evaluation, rendering.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_NAMES:
        import_module(f"naf_model.cli.{name}").register(sub)
    return parser


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so atomic writers remove their temporary files."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point of `naf`: returns the process exit status."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    # OpenMP threads that spin while waiting collapse a job on a shared machine; must precede `import torch`.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not hasattr(args, "func"):
            parser.print_help()
            return 2
        check_args(args)
        result = args.func(args)
    except NafError as exc:
        print(f"naf: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("naf: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return int(result or 0)
