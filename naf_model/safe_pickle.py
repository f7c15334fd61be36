"""Reading pickles from elsewhere as data: numbers, strings, lists, tuples, dicts and numpy arrays only.

A pickle names the functions that rebuild its objects, and `pickle.load` calls them: a file from the
internet can run any code that way. `load` refuses every name but numpy's array rebuilders (and whatever a
caller allows in `extra`, e.g. a record class of its own), so a pickle that would run code is one error line
and runs nothing. The paper's metadata (split, normalisation and bounding-box pickles) and slab's KEMAR set are
read through here.
"""

from __future__ import annotations

import io
import pickle
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from naf_model.errors import DataError

NUMPY_NAMES = frozenset({
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("_codecs", "encode"),  # protocol 2 pickles carry an array's bytes as a latin-1 string through it
})  # fmt: skip
"""The globals a pickle of numpy arrays needs: they build arrays, dtypes and scalars from bytes and run nothing
else. Lists, tuples, dicts, strings and numbers need no global at all."""


class UnsafePickle(pickle.UnpicklingError):
    """A pickle named a global outside the allowed set (the message names it)."""


class DataOnlyUnpickler(pickle.Unpickler):
    """An unpickler that builds plain data and numpy arrays; `extra` maps further (module, name) pairs to the
    callables that stand for them (e.g. a record class for a known library's objects)."""

    def __init__(self, file: BinaryIO, extra: Mapping[tuple[str, str], Callable[..., Any]] | None = None) -> None:
        super().__init__(file)
        self._extra = dict(extra or {})

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._extra:
            return self._extra[(module, name)]
        if (module, name) in NUMPY_NAMES:
            with warnings.catch_warnings():  # numpy 2 maps numpy.core to numpy._core with a warning
                warnings.simplefilter("ignore")
                return super().find_class(module, name)
        raise UnsafePickle(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickle("a persistent id")


def loads_data(data: bytes, extra: Mapping[tuple[str, str], Callable[..., Any]] | None = None) -> Any:
    """The object in pickle bytes `data`, built by `DataOnlyUnpickler`; UnsafePickle or another
    UnpicklingError (or EOFError, ValueError) when it is refused or damaged."""
    return DataOnlyUnpickler(io.BytesIO(data), extra).load()


def load_data_file(path: str | Path, what: str = "pickle") -> Any:
    """The data in the pickle file `path` (`what` names it in messages); DataError (one line) when it is
    missing, damaged, or names anything that could run code: then nothing in it has run."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        return loads_data(data)
    except UnsafePickle as exc:
        raise DataError(
            f"refused {what} {path}: it names {exc}, which could run code; naf reads pickles of numbers, "
            "strings, lists, tuples, dicts and numpy arrays only"
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError,
            AttributeError, MemoryError) as exc:  # fmt: skip
        raise DataError(f"{what} {path} is damaged or not a pickle ({type(exc).__name__})") from None
