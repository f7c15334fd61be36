"""argparse choices that are read only when used, so building the `naf` parser imports nothing heavy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator


class LazyChoices:
    """The names `load()` returns, sorted, fetched when argparse checks a value or writes `--help`.

    Give the argument a `metavar` as well: without one argparse lists the choices while it builds the parser.
    """

    def __init__(self, load: Callable[[], Iterable[str]]) -> None:
        self._load = load

    def names(self) -> list[str]:
        return sorted(self._load())

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
