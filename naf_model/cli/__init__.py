"""The `naf` command line: thin subcommands that parse arguments and call one library function each.

Each subcommand lives in its own module with a `register(subparsers)` function; a module that is not
present (a feature not built yet) is simply not offered. User errors (`NafError`) print one line.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from naf_model.errors import NafError

# Modules that add subcommands, in the order `naf --help` lists them.
SUBCOMMAND_MODULES = (
    "naf_model.cli.scene",  # naf scene list|show
    "naf_model.cli.data",  # naf data make|merge|info
    "naf_model.cli.train",  # naf train
    "naf_model.cli.evaluate",  # naf eval
    "naf_model.cli.render",  # naf render, naf walk
    "naf_model.cli.analysis",  # naf loudness, naf tsne, naf probe
    "naf_model.cli.bench",  # naf bench
)


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every subcommand that is installed."""
    parser = argparse.ArgumentParser(
        prog="naf",
        description="Neural Acoustic Fields: scenes, simulated binaural data, training, evaluation, rendering.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
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


if __name__ == "__main__":
    sys.exit(main())
