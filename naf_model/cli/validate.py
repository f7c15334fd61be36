"""Checks at the command line's boundary, run before a command starts any work (standard library only).

- `NafArgumentParser`: argument errors are one stderr line, `naf: error: ...`, exit status 2.
- `number`, `spacing`, `coordinate`, `device_name`: argparse types that refuse NaN, infinities and
  out-of-range values with a message that says the allowed range.
- `declare_io(parser, outputs=..., inputs=...)`: names the arguments that are files a command writes or
  reads; `check_args` then refuses, before any work, an output whose folder cannot be written, that is a
  folder, whose extension its writer does not know, that is one of the command's inputs or another of its
  outputs, whose name is not UTF-8 or too long for the file system, or that exists already (unless
  `--force`/`-y`; a command's default output name obeys the same rule). `check_output` applies that rule to an
  output whose default name is known only once the command has read its input (`naf scene show`).
- `add_force(parser)`: the `-y/--force` flag.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from naf_model.errors import NafError
from naf_model.paths import same_file

MAX_COORDINATE_M = 10_000.0
"""Positions given on the command line are at most this far from the origin (a scene is at most 200 m)."""

MIN_SPACING_M = 0.01
"""The finest grid spacing an option accepts; finer grids are refused by their size estimate anyway."""


class NafArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (`<prog>: error: <message>; see <prog> --help`), status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        program = self.prog.split()[0]
        sys.stderr.write(f"{program}: error: {message} (see `{self.prog} --help`)\n")
        sys.exit(2)


def number(
    kind: type = float,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    unit: str = "",
) -> Callable[[str], Any]:
    """An argparse type: `kind(text)`, finite, with low <= value <= high (low < value when low_open)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            word = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {word}, got {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        too_low = low is not None and (value <= low if low_open else value < low)
        if too_low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text} is out of range; expected {_range(low, high, low_open, unit)}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in "invalid <type> value" messages
    return parse


def _range(low: float | None, high: float | None, low_open: bool, unit: str) -> str:
    u = f" {unit}" if unit else ""

    def show(x: float) -> str:
        return f"{x:,}" if float(x).is_integer() and abs(x) >= 1000 else f"{x:g}"

    if low is not None and high is not None:
        return (
            f"{'more than' if low_open else 'from'} {show(low)} {'and at most' if low_open else 'to'} {show(high)}{u}"
        )
    if low is not None:
        return f"{'more than' if low_open else 'at least'} {show(low)}{u}"
    return f"at most {show(high)}{u}"


def spacing(low: float = MIN_SPACING_M, high: float = 50.0, allow_zero: bool = False) -> Callable[[str], float]:
    """A grid spacing in metres: finite, low..high (0 too when allow_zero: 'no grid')."""
    inner = number(float, low=low, high=high, unit="m")

    def parse(text: str) -> float:
        if allow_zero:
            try:
                if float(text) == 0:
                    return 0.0
            except ValueError:
                pass
        return inner(text)

    parse.__name__ = "float"
    return parse


coordinate = number(float, low=-MAX_COORDINATE_M, high=MAX_COORDINATE_M, unit="m")
"""A position coordinate in metres (finite, within 10 km of the origin; the scene checks the rest)."""

seed = number(int, low=0, high=2**32 - 1)
"""A random seed: numpy and torch take 0 .. 2**32 - 1."""

_BYTE_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
               "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def byte_size(low: int, high: int) -> Callable[[str], int]:
    """An amount of memory: a number with an optional unit (B, KB, MB, GB, TB; KiB, MiB, GiB, TiB), low..high
    bytes, e.g. 2GB, 512MiB, 1.5G."""

    def parse(text: str) -> int:
        body = text.strip().upper()
        unit = body.lstrip("0123456789.eE+").strip()
        try:
            value = float(body[: len(body) - len(unit)] if unit else body) * _BYTE_UNITS[unit]
        except (ValueError, KeyError):
            raise argparse.ArgumentTypeError(f"expected an amount of memory such as 2GB or 512MB, got {text!r}") \
                from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range; expected {low / 1e6:g} MB to {high / 1e12:g} "
                                             "TB")
        return int(value)

    parse.__name__ = "size"
    return parse

heading = number(float, low=-36_000.0, high=36_000.0, unit="degrees")
"""A heading in degrees (finite; any turn count within reason)."""


def device_name(text: str) -> str:
    """auto, cpu, cuda or cuda:N; whether CUDA is there is checked by `check_args` (it needs torch)."""
    name = text.strip().lower()
    if name in ("auto", "cpu", "cuda") or (name.startswith("cuda:") and name[5:].isdigit()):
        return name
    raise argparse.ArgumentTypeError(f"unknown device {text!r}; use auto, cpu, cuda or cuda:N")


device_name.__name__ = "device"


def add_force(parser: argparse.ArgumentParser) -> None:
    """`-y/--force`: allow replacing an existing file named by an output option."""
    parser.add_argument("-y", "--force", action="store_true", help="replace existing output files")


@dataclass(frozen=True)
class Output:
    """An output argument: the suffixes its writer knows ('' for a folder) and whether it is a folder."""

    suffixes: tuple[str, ...] = ()
    folder: bool = False
    managed: bool = False
    """True when the command manages an existing file itself (resume, settings check, own --overwrite)."""


@dataclass(frozen=True)
class IOSpec:
    """The file arguments of one command."""

    outputs: dict[str, Output] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    folders_in: tuple[str, ...] = ()
    """Inputs that must be folders (e.g. `naf data merge` parts)."""
    devices: tuple[str, ...] = ()
    """Arguments naming a torch device (a str or a list of str)."""


def declare_io(
    parser: argparse.ArgumentParser,
    outputs: dict[str, Output] | None = None,
    inputs: Iterable[str] = (),
    folders_in: Iterable[str] = (),
    devices: Iterable[str] = (),
) -> None:
    """Record which of the parser's arguments are output files, input files, input folders and devices."""
    spec = IOSpec(dict(outputs or {}), tuple(inputs), tuple(folders_in), tuple(devices))
    parser.set_defaults(_naf_io=spec)


def check_args(args: argparse.Namespace) -> None:
    """Raise NafError for a bad output, input or device argument, before the command starts."""
    spec: IOSpec | None = getattr(args, "_naf_io", None)
    if spec is None:
        return
    inputs = [(name, Path(p)) for name in spec.inputs for p in _values(getattr(args, name, None))]
    inputs = [(name, p) for name, p in inputs if _looks_like_path(p)]
    for name in spec.folders_in:
        for p in _values(getattr(args, name, None)):
            path = Path(p)
            if path.exists() and not path.is_dir():
                raise NafError(f"{_flag(name)} {path} is a file, not a folder")
    for name, path in inputs:
        if path.is_dir() and name not in spec.folders_in and path.suffix:
            raise NafError(f"{_flag(name)} {path} is a folder, not a file")
    seen: list[tuple[str, Path]] = []
    for name in spec.outputs:
        value = getattr(args, name, None)
        if value is None:
            continue
        path = Path(value).expanduser()
        for other, other_path in inputs + seen:
            if same_file(path, other_path):
                what = "input" if (other, other_path) in inputs else "output"
                raise NafError(f"{_flag(name)} {path} is also the {what} {_flag(other)}; write to another file")
        check_output(args, name, path)
        seen.append((name, path))
    for name in spec.devices:
        for device in _values(getattr(args, name, None)):
            check_device(str(device), _flag(name))


def check_output(args: argparse.Namespace, name: str, path: str | os.PathLike[str]) -> Path:
    """The one rule for every output of a command, given or default: NafError for a name that is not UTF-8 or
    too long, a wrong type, a folder that cannot be written, or an existing file without `--force`."""
    spec: IOSpec = args._naf_io
    out, flag, path = spec.outputs[name], _flag(name), Path(path)
    _check_name(flag, path)
    may_replace = bool(getattr(args, "force", False)) or out.managed
    if out.folder:
        if path.exists() and not path.is_dir():
            raise NafError(f"{flag} {path} is a file; give a folder")
        _check_writable_parent(flag, path / "x")
        return path
    if path.is_dir():
        raise NafError(f"{flag} {path} is a folder; give a file name such as {path / ('out' + out.suffixes[0])}")
    if out.suffixes and path.suffix.lower() not in out.suffixes:
        known = ", ".join(out.suffixes)
        raise NafError(f"{flag} {path}: unknown file type {path.suffix or '(none)'!r}; use {known}")
    _check_writable_parent(flag, path)
    if path.exists() and not may_replace:
        raise NafError(f"{path} exists; pass --force (-y) to replace it, or choose another name with {flag}")
    return path


def _check_name(flag: str, path: Path) -> None:
    """A name naf can print and the file system can hold (every part, and the temporary name atomic writes use:
    `naf_model.atomic.temp_affixes` keeps that within the limit whenever the name itself is)."""
    from naf_model.atomic import name_limit

    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        shown = str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise NafError(f"{flag} {shown}: the name is not valid UTF-8 text; choose a UTF-8 name") from None
    limit = name_limit(path.parent)
    for part in path.parts:
        if len(part.encode("utf-8")) > limit:
            raise NafError(
                f"{flag} {part[:24]}...: a name of {len(part.encode('utf-8'))} bytes is longer than the file "
                f"system allows ({limit}); choose a shorter name"
            )


def _check_writable_parent(flag: str, path: Path) -> None:
    """The nearest existing folder above `path` is a folder we can create files in (atomic writes do)."""
    folder = path.parent
    while not folder.exists():
        if folder.parent == folder:
            break
        folder = folder.parent
    if not folder.is_dir():
        raise NafError(f"{flag} {path}: {folder} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".naf-write-check.", dir=folder)
    except OSError as exc:
        raise NafError(f"{flag} {path}: cannot write in {folder} ({exc.strerror}); choose another folder") from None
    os.close(fd)
    os.unlink(probe)


def check_device(name: str, flag: str = "--device") -> None:
    """NafError if `name` asks for CUDA and torch sees none (imports torch only then)."""
    if not name.startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        raise NafError(f"{flag} {name} asked for, but torch sees no CUDA GPU here; use cpu (or auto)")
    index = int(name[5:]) if ":" in name else 0
    if index >= torch.cuda.device_count():
        raise NafError(f"{flag} {name}: this machine has {torch.cuda.device_count()} CUDA devices")


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _looks_like_path(path: Path) -> bool:
    """A scene may be a bundled name: only values that exist or have a folder or suffix are files."""
    return path.exists() or len(path.parts) > 1 or bool(path.suffix)


def _flag(dest: str) -> str:
    return {"output": "-o", "scene": "--scene", "parts": "parts folder", "checkpoints": "checkpoint"}.get(
        dest, "--" + dest.replace("_", "-")
    )
