"""Storage tricks that keep a large report small: shared tuples, packed strings."""

from __future__ import annotations

from collections.abc import (
    Iterator,
    Sequence,
)
from functools import lru_cache
from typing import Any, Final, overload

from ._results import Outcome


@lru_cache(maxsize=32, typed=True)
def uniform(value: Any, n: int) -> tuple[Any, ...]:
    """``n`` times ``value``, as one immutable tuple shared by every chunk that needs it."""
    return (value,) * n


class PackedStrings(Sequence[str]):
    """Strings kept as one string, NUL-separated: a third of the memory of a list of
    str objects, and one object for the garbage collector instead of thousands (a
    report keeps a umid per LINE message). Iterating splits the text each time;
    the first index lookup keeps the split list for the next ones."""

    __slots__ = ("_n", "_split", "_text")

    def __init__(self, text: str, n: int) -> None:
        self._text = text
        self._n = n
        self._split: list[str] | None = None

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if self._split is None:
            self._split = self._text.split(_SEPARATOR)
        return self._split[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._split or self._text.split(_SEPARATOR))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedStrings):
            return self._text == other._text
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PackedStrings({list(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (PackedStrings, (self._text, self._n))


_SEPARATOR: Final = "\x00"


def pack(values: list[str | None]) -> Sequence[str | None]:
    """``values`` as ``PackedStrings`` when they are all strings without a NUL."""
    n = len(values)
    if not n:
        return values
    try:
        whole = "".join(values)  # type: ignore[arg-type]
    except TypeError:  # a None among them
        return values
    # A second join is cheaper than counting separators: ``in`` finds a character
    # with memchr, while ``count`` steps through the text one character at a time.
    if _SEPARATOR in whole:
        return values
    return PackedStrings(_SEPARATOR.join(values), n)  # type: ignore[arg-type]


def _compact(column: list[Any] | None, n: int, fill: Outcome | int | None) -> Sequence[Any]:
    """A column whose items are all alike becomes the shared tuple (the list is freed);
    one never built is ``fill`` throughout. Only plain values are shared this way: a
    cached tuple of one exception would keep it (and its traceback) alive."""
    if column is None:
        return uniform(fill, n)
    if n and column.count(first := column[0]) == n and type(first) in _SHAREABLE:
        return uniform(first, n)
    return column


_SHAREABLE: Final = frozenset({type(None), int, Outcome})
