"""The `naf` command line: thin subcommands that parse arguments and call one library function each.

Each subcommand lives in its own module with a `register(subparsers)` function. Those modules import only
the standard library at the top (numpy, torch, matplotlib, h5py, ... are imported inside the command
functions), so `naf --help` and argument errors answer at once. Before a command starts, `validate.check_args`
checks its output and input paths and devices. User errors (`NafError`) and file system faults (disk full,
read-only: `atomic.FILE_SYSTEM_FAULTS`) print one line; Ctrl-C or SIGTERM at any moment prints
`naf: interrupted` (exit status 130), and atomic writes leave no partial file (`_interrupt`).
`python -m naf_model` and `python -m naf_model.cli` both run `main`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from naf_model import atomic
from naf_model.cli.validate import NafArgumentParser, check_args
from naf_model.errors import NafError


def _own_stderr() -> int:
    """A private copy of the standard error descriptor, taken before any library is imported. Libraries point
    descriptor 2 at /dev/null for a while (sounddevice does, around PortAudio's start-up, which pyroomacoustics
    imports); an interrupt in that window must still be heard."""
    try:
        return os.dup(2)
    except OSError:
        return 2


_STDERR_FD = _own_stderr()


def _interrupt(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM: while a file is being written, unwind (the atomic writer removes its temporary file);
    otherwise nothing is half-written, so say so in one line and exit at once, even in the middle of an import."""
    if atomic.writes_in_progress():
        raise KeyboardInterrupt
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, RuntimeError):  # RuntimeError: the signal came in the middle of a write
            pass
    try:
        os.write(_STDERR_FD, b"naf: interrupted\n")
    finally:
        os._exit(130)


if os.path.basename(sys.argv[0]) in ("naf", "-m") and threading.current_thread() is threading.main_thread():
    # Started as `naf` or `python -m naf_model(.cli)`: cover the imports that run before `main`.
    for _signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(_signal, _interrupt)

SUBCOMMAND_NAMES = ("scene", "data", "train", "evaluate", "render", "ir", "analysis", "bench")
"""Modules of naf_model.cli that add subcommands, in the order `naf --help` lists them: scene list|show,
data make|merge|info, train, ensemble and import-checkpoint, eval, render and walk, ir, loudness|tsne|probe, bench."""


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


def main(argv: list[str] | None = None) -> int:
    """Entry point of `naf`: returns the process exit status."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    signals = (signal.SIGINT, signal.SIGTERM) if in_main_thread else ()
    previous = {s: signal.signal(s, _interrupt) for s in signals}
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
    except OSError as exc:
        if exc.errno not in atomic.FILE_SYSTEM_FAULTS:
            raise
        # Outside an atomic write (a folder, a log line): the file system's refusal is still one line.
        print(f"naf: error: {exc.filename or 'a file'}: {atomic.FILE_SYSTEM_FAULTS[exc.errno]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("naf: interrupted", file=sys.stderr)
        return 130
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return int(result or 0)
