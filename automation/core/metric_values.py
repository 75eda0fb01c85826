"""A post's values of its metrics, held compactly: the engine keeps 100,000 of them.

Pure. ``MetricValues`` is a read-only mapping of metric name to value whose numbers sit
in one ``array`` of doubles and whose names are one index shared by every post read with
the same metrics in the same order. A parsed answer's dict, its read-only view and a
float object per metric take about 500 bytes a post; this takes about 180. Looking a
value up goes through Python rather than C, which the evaluation's hot path pays for,
and so does comparing a post's values with its last ones, about 300,000 times a cycle:
the numbers' bytes first, a fifth of the time of comparing them float by float. Most
posts read the same as last cycle: ``compact_totals`` then hands back the last object
itself, so no new one is made and the later comparisons are ones of identity.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, Sequence
from itertools import chain
from math import inf
from struct import Struct
from types import MappingProxyType
from typing import Any, overload

__all__ = ["MetricValues", "PackedTotals", "compact_totals", "packed_totals", "read_only"]

_INDEXES: dict[tuple[str, ...], dict[str, int]] = {}  # metric names -> their positions
_INDEXES_MAX = 1024  # orders of at most seven metrics: a handful in practice
_PACKERS: dict[int, Callable[..., bytes]] = {}  # how many numbers -> their packer
_SIZE = array("d").itemsize  # the bytes of one number
# The arrays kept are made to their size: from a tuple, or a slice of another array. One
# made from bytes (or any other iterable) reserves room for 3 numbers more (of up to 8),
# 24 bytes of each of the 100,000 posts' values the engine keeps.


class MetricValues(Mapping[str, float]):
    """``values``'s metrics in their order, each with its value as a float."""

    __slots__ = ("_data", "_index")

    def __init__(self, values: Mapping[str, float]) -> None:
        self._index = _index(tuple(values))
        self._data = array("d", tuple(values.values()))  # sized to them, as every kept array

    def __getitem__(self, name: str) -> float:
        return self._data[self._index[name]]

    @overload
    def get(self, name: str, /) -> float | None: ...
    @overload
    def get(self, name: str, /, default: float) -> float: ...
    @overload
    def get(self, name: str, /, default: Any) -> Any: ...

    def get(self, name: str, default: Any = None) -> Any:
        i = self._index.get(name)
        return default if i is None else self._data[i]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def keys(self) -> KeysView[str]:
        return self._index.keys()

    @property
    def names(self) -> Mapping[str, int]:
        """Each metric's position: one mapping shared by every ``MetricValues`` with the
        same metrics in the same order, so that what depends only on the names can be
        worked out once for all of them."""
        return self._index

    def items(self) -> ItemsView[str, float]:
        return _Items(self)

    @property
    def numbers(self) -> array[float]:
        """The values in the names' order: the object held, not a copy (do not change it)."""
        return self._data

    def aligned(
        self, before: Mapping[str, float]
    ) -> tuple[Mapping[str, int], array[float], array[float]] | None:
        """The names' positions, these numbers and ``before``'s when it is a
        ``MetricValues`` of the same names in the same order (the same ``names``), else
        None: each metric's two values sit at its one position, in one call rather than a
        property each (a cycle asks it of 10,000-31,000 posts whose values moved)."""
        if type(before) is not MetricValues or before._index is not self._index:
            return None
        return self._index, self._data, before._data

    def changed_since(self, before: Mapping[str, float]) -> dict[str, float] | None:
        """The values that differ from ``before``'s when it is a ``MetricValues`` of the
        same names in the same order (the same ``names``), by one pass over both arrays
        rather than a lookup per name; None for any other ``before``. A store compares
        about 20,000 changed posts' values twice a cycle, nearly all such."""
        if type(before) is not MetricValues or before._index is not self._index:
            return None
        return {
            name: new
            for name, old, new in zip(self._index, before._data, self._data, strict=True)
            if old != new
        }

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if type(other) is MetricValues and other._index is self._index:
            # the usual case, same metrics in the same order. Equal bytes are equal numbers
            # (but a NaN, which no count is); unequal bytes may be equal ones (0.0, -0.0)
            mine, theirs = self._data, other._data
            return mine.tobytes() == theirs.tobytes() or mine == theirs
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MetricValues({dict(self.items())!r})"


class _Items(ItemsView[str, float]):
    """A ``MetricValues``'s (name, value) pairs, walked without a lookup per name."""

    __slots__ = ()
    _mapping: MetricValues

    def __iter__(self) -> Iterator[tuple[str, float]]:
        values = self._mapping
        return zip(values._index, values._data, strict=True)


class PackedTotals(Mapping[str, Mapping[str, float]]):
    """One answer's totals with every post's metrics the same names in the same order:
    the posts (in the answer's order), the names, and the numbers post after post as the
    bytes of an ``array("d")``. As a mapping it reads as a parse's totals otherwise do
    (post -> a read-only dict of floats, in the names' order); ``compact_totals`` takes
    each post's ``MetricValues`` from the bytes directly instead, a new object only for a
    post whose numbers are not its last ones'."""

    __slots__ = ("_names", "_posts", "_raw", "_where")

    def __init__(self, posts: Sequence[str], names: tuple[str, ...], raw: bytes) -> None:
        if len(raw) != len(posts) * len(names) * _SIZE:
            raise ValueError(f"{len(posts)} posts of {len(names)} numbers in {len(raw)} bytes")
        self._posts, self._names, self._raw = posts, names, raw
        self._where: dict[str, int] | None = None  # post -> its position, when first asked

    def __getitem__(self, post_id: str) -> Mapping[str, float]:
        if self._where is None:
            self._where = {p: i for i, p in enumerate(self._posts)}
        size = len(self._names) * _SIZE
        start = self._where[post_id] * size
        numbers = array("d", self._raw[start : start + size])
        return MappingProxyType(dict(zip(self._names, numbers, strict=True)))

    def __iter__(self) -> Iterator[str]:
        return iter(self._posts)

    def __len__(self) -> int:
        return len(self._posts)


def packed_totals(posts: Sequence[str], per_post: Sequence[Any]) -> PackedTotals | None:
    """``posts``' counts (``per_post``: an answer's objects of counts, in the same order)
    packed, when every post holds the same metrics in the same order and every count is
    one an answer's parse takes: ``float`` reads it, not ``True`` or ``False``, not below
    zero, not NaN or infinite. Each count goes through one ``float`` in C and they are
    checked together (the least not below zero, the sum finite): the engine's answers, a
    quarter of a million counts a cycle, with no float object per count. None for
    anything else (or a sum beyond the floats), which the parse reads count by count."""
    if not per_post or set(map(type, per_post)) != {dict}:
        return None
    names = tuple(per_post[0])
    if not names or not all(map(names.__eq__, map(tuple, per_post))):
        return None
    counts = list(chain.from_iterable(map(dict.values, per_post)))
    if bool in set(map(type, counts)):
        return None
    try:
        numbers = array("d", map(float, counts))
    except (TypeError, ValueError, OverflowError):
        return None
    if not (min(numbers) >= 0.0 and sum(numbers) < inf):
        return None
    return PackedTotals(posts, names, numbers.tobytes())


def _index(names: tuple[str, ...]) -> dict[str, int]:
    """The one index of ``names``'s positions that every post read with them shares."""
    index = _INDEXES.get(names)
    if index is None:
        if len(_INDEXES) >= _INDEXES_MAX:
            _INDEXES.clear()
        index = _INDEXES[names] = {name: i for i, name in enumerate(names)}
    return index


def _no_values(post_id: str) -> Mapping[str, float] | None:
    return None


def _packer(count: int) -> Callable[..., bytes]:
    """``count`` floats as the bytes of an ``array("d")`` of them."""
    pack = _PACKERS.get(count)
    if pack is None:
        pack = _PACKERS[count] = Struct(f"{count}d").pack
    return pack


def compact_totals(
    totals: Mapping[str, Mapping[str, float]],
    last: Callable[[str], Mapping[str, float] | None] = _no_values,
) -> Mapping[str, Mapping[str, float]]:
    """Each post's values of ``totals`` as ``MetricValues``, in the same order, read-only.

    A post whose values are its ``last`` ones (``MetricValues`` of the same metrics in the
    same order, the same numbers' bytes) gets that object back: most posts, most cycles,
    and a new object each would cost its making, its collection, and a comparison by
    value wherever a store holds the last one. Runs 100,000 times a cycle: the numbers
    are packed into bytes to compare (half the time of an array of them), and an array
    is made only of the ones that changed. Values that are ``MetricValues`` already (a
    fetch compacts each answer as it arrives) are kept as they are. ``PackedTotals``
    (an answer's numbers read in one pass) are compared a post's bytes at a time."""
    if type(totals) is PackedTotals:
        return _compact_packed(totals, last)
    out: dict[str, Mapping[str, float]] = {}
    new = object.__new__
    for post_id, values in totals.items():
        if type(values) is MetricValues:
            out[post_id] = values
            continue
        names = tuple(values)
        index = _INDEXES.get(names) or _index(names)
        raw = (_PACKERS.get(len(names)) or _packer(len(names)))(*values.values())
        before = last(post_id)
        if (
            type(before) is MetricValues
            and before._index is index
            and before._data.tobytes() == raw
        ):
            out[post_id] = before
            continue
        compact: MetricValues = new(MetricValues)
        compact._index, compact._data = index, array("d", raw)[:]  # sized to them
        out[post_id] = compact
    return MappingProxyType(out)


def _compact_packed(
    totals: PackedTotals, last: Callable[[str], Mapping[str, float] | None]
) -> Mapping[str, Mapping[str, float]]:
    """``compact_totals`` of an answer's packed numbers: each post's bytes are a slice of
    the answer's, compared with its last values' bytes; no float object is made, and an
    array only for a post whose numbers changed."""
    names = totals._names
    index = _INDEXES.get(names) or _index(names)
    raw, size, count = totals._raw, len(names) * _SIZE, len(names)
    every = array("d", raw)  # a changed post's array: its slice, sized to it
    out: dict[str, Mapping[str, float]] = {}
    new = object.__new__
    start = 0
    for post_id in totals._posts:
        end = start + size
        numbers = raw[start:end]
        start = end
        before = last(post_id)
        if (
            type(before) is MetricValues
            and before._index is index
            and before._data.tobytes() == numbers
        ):
            out[post_id] = before
            continue
        compact: MetricValues = new(MetricValues)
        first = end // _SIZE - count
        compact._index, compact._data = index, every[first : first + count]
        out[post_id] = compact
    return MappingProxyType(out)


def read_only(values: Mapping[str, float]) -> bool:
    """Whether ``values`` cannot change, so a store may keep it as it is rather than copy
    it: a read-only view, or ``MetricValues``."""
    kind = type(values)
    return kind is MetricValues or kind is MappingProxyType
