"""A watched post's rate of change between two readings, per metric: what the
projections of ``refresh_outlook`` divide a gap by.

Pure. A ``Rate`` maps a metric to its rise per second (never below 0), NaN when the
readings cannot tell. One is made for each post read (100,000 a cycle), so each kind is
the cheapest object that answers: most posts are read as they were (``nil_rate``, one for
all the posts read with the same metrics), most that moved share their reading's names
(``AlignedRate``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from automation.core.metric_values import MetricValues

__all__ = ["STILL", "Aligned", "AlignedRate", "PostRate", "Rate", "nil_rate"]

Rate = Callable[[str], float]


class PostRate:
    """A post's ``Rate``, with the values it was read with: from ``old`` to ``values``
    over ``span`` seconds. One per post read (100,000 a cycle), so a slotted object
    rather than a closure, which takes five times the memory."""

    __slots__ = ("old", "span", "values")

    def __init__(self, values: Mapping[str, float], old: Mapping[str, float], span: float) -> None:
        self.values, self.old, self.span = values, old, span

    def __call__(self, metric: str) -> float:
        value = self.values.get(metric)
        if value is None:
            return math.nan
        per_second = (value - self.old.get(metric, 0.0)) / self.span
        return per_second if per_second > 0.0 else 0.0  # max(0.0, it), NaN too


Aligned = tuple[Mapping[str, int], Sequence[float], Sequence[float]]  # ``MetricValues.aligned``


class AlignedRate:
    """``PostRate`` of two ``MetricValues`` of the same names in the same order (most posts
    that moved): both numbers taken at the metric's one position (``aligned``), not by
    a lookup by name in each mapping; the same differences of the same numbers."""

    __slots__ = ("names", "new", "old", "span")

    def __init__(self, aligned: Aligned, span: float) -> None:
        (self.names, self.new, self.old), self.span = aligned, span

    def __call__(self, metric: str) -> float:
        i = self.names.get(metric)
        if i is None:
            return math.nan
        per_second = (self.new[i] - self.old[i]) / self.span
        return per_second if per_second > 0.0 else 0.0  # max(0.0, it), NaN too


class _Nil(dict[str, float]):
    """The rates of a post whose values did not change: nil for each metric it has
    (the keys), unknown (NaN) for any other. Asked through ``__getitem__``, which runs
    in C for the metrics it has: most posts read are read as they were."""

    __slots__ = ()

    def __missing__(self, metric: str) -> float:
        return math.nan


class _AllNil(dict[str, float]):
    """No time passed since the reading before: every rate is nil."""

    __slots__ = ()

    def __missing__(self, metric: str) -> float:
        return 0.0


STILL: Rate = _AllNil().__getitem__
_NILS: dict[int, tuple[Mapping[str, int], Rate]] = {}  # by the id of a MetricValues' names
_NILS_MAX = 64


def nil_rate(values: Mapping[str, float]) -> Rate:
    """``_Nil`` of ``values``'s metrics, one for all the posts read with the same ones."""
    if type(values) is not MetricValues:
        return _Nil.fromkeys(values, 0.0).__getitem__
    names = values.names
    kept = _NILS.get(id(names))
    if kept is None or kept[0] is not names:
        if len(_NILS) >= _NILS_MAX:
            _NILS.clear()
        kept = _NILS[id(names)] = (names, _Nil.fromkeys(names, 0.0).__getitem__)
    return kept[1]
