"""A post's values of its metrics, held compactly: the engine keeps 100,000 of them.

Pure. ``MetricValues`` is a read-only mapping of metric name to value whose numbers sit
in one ``array`` of doubles and whose names are one index shared by every post read with
the same metrics in the same order. A parsed answer's dict, its read-only view and a
float object per metric take about 500 bytes a post; this takes about 180. Looking a
value up goes through Python rather than C, which the evaluation's hot path pays for,
and so does comparing a post's values with its last ones, about 300,000 times a cycle:
the numbers' bytes first, a fifth of the time of comparing them float by float.
"""

from __future__ import annotations

from array import array
from collections.abc import ItemsView, Iterator, KeysView, Mapping
from types import MappingProxyType
from typing import Any, overload

__all__ = ["MetricValues", "compact_totals", "read_only"]

_INDEXES: dict[tuple[str, ...], dict[str, int]] = {}  # metric names -> their positions
_INDEXES_MAX = 1024  # orders of at most seven metrics: a handful in practice


class MetricValues(Mapping[str, float]):
    """``values``'s metrics in their order, each with its value as a float."""

    __slots__ = ("_data", "_index")

    def __init__(self, values: Mapping[str, float]) -> None:
        names = tuple(values)
        index = _INDEXES.get(names)
        if index is None:
            if len(_INDEXES) >= _INDEXES_MAX:
                _INDEXES.clear()
            index = _INDEXES[names] = {name: i for i, name in enumerate(names)}
        self._index = index
        self._data = array("d", values.values())

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

    def items(self) -> ItemsView[str, float]:
        return _Items(self)

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


def compact_totals(
    totals: Mapping[str, Mapping[str, float]],
) -> Mapping[str, Mapping[str, float]]:
    """Each post's values of ``totals`` as ``MetricValues``, in the same order, read-only."""
    return MappingProxyType({pid: MetricValues(values) for pid, values in totals.items()})


def read_only(values: Mapping[str, float]) -> bool:
    """Whether ``values`` cannot change, so a store may keep it as it is rather than copy
    it: a read-only view, or ``MetricValues``."""
    kind = type(values)
    return kind is MetricValues or kind is MappingProxyType
