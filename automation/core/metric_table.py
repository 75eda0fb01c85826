"""The values of a ``metrics`` export: one row per listed post, in the order listed.

A row holds the metrics as the API answered them, by reference (a 100,000-post export
keeps each post's values once, never a second copy per output format); a metric the
API did not give is unknown (None), never 0. ``ranked`` gives the rows highest in one
metric without sorting copies of the rows: ``--top N`` keeps a heap of N.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import compress, repeat
from operator import is_, is_not
from typing import cast

from automation.core.metric_names import DERIVED

__all__ = ["MetricTable"]

_NOTHING: Mapping[str, float] = {}


class MetricTable:
    """Rows for ``post_ids`` (each listed once); ``put`` fills them as answers arrive."""

    def __init__(self, post_ids: Sequence[str]) -> None:
        self.post_ids = post_ids
        self._row: dict[str, int] | None = None  # post ID -> row, made by the first ``put``
        self._values: list[Mapping[str, float] | None] = [None] * len(post_ids)

    def __len__(self) -> int:
        return len(self.post_ids)

    def put(self, post_id: str, values: Mapping[str, float]) -> None:
        """Record what the API said for one post; a second answer adds to the first."""
        self.put_all({post_id: values})

    def put_all(self, answers: Mapping[str, Mapping[str, float]]) -> None:
        """``put`` for each post of one answer (posts not listed are ignored)."""
        rows, values = self._row, self._values
        if rows is None:  # an export writing lines as answers arrive never fills its table
            rows = self._row = {pid: i for i, pid in enumerate(self.post_ids)}
        where = list(map(rows.get, answers))
        if None not in where:  # every post listed: is this the first answer for each?
            first = cast(list[int], where)
            if all(map(is_, map(values.__getitem__, first), repeat(None))):
                for at, given in zip(first, answers.values(), strict=True):
                    values[at] = given
                return
        for post_id, found in answers.items():
            row = rows.get(post_id)
            if row is None:
                continue
            old = values[row]
            values[row] = found if old is None else {**old, **found}

    def read(self, row: int) -> bool:
        """Whether any answer for this row's post arrived."""
        return self._values[row] is not None

    def value(self, row: int, metric: str) -> float | None:
        """The row's value of ``metric`` (an API or derived name); None when unknown."""
        values = self._values[row] or _NOTHING
        parts = DERIVED.get(metric)
        if parts is None:
            return values.get(metric)
        numerator, denominator = values.get(parts[0]), values.get(parts[1])
        if numerator is None or not denominator:
            return None
        return numerator / denominator

    def values_of(
        self, rows: Iterable[int], metrics: Sequence[str]
    ) -> Iterator[tuple[str, list[float | None]]]:
        """Each row's post ID and its values of ``metrics`` in that order (None: unknown):
        the bulk read that writers use, ``value`` without a call per cell."""
        derived = [(i, DERIVED[m]) for i, m in enumerate(metrics) if m in DERIVED]
        ids, answers = self.post_ids, self._values
        for row in rows:
            values = answers[row] or _NOTHING
            out = [values.get(m) for m in metrics]
            for i, (numerator, denominator) in derived:
                a, b = values.get(numerator), values.get(denominator)
                out[i] = a / b if a is not None and b else None
            yield ids[row], out

    def answers_of(self, rows: Sequence[int]) -> tuple[list[str], list[Mapping[str, float] | None]]:
        """The rows' post IDs and answers (None: no answer), as held: for writers that
        format whole answers without a call per cell."""
        return list(map(self.post_ids.__getitem__, rows)), list(map(self._values.__getitem__, rows))

    def rows_read(self) -> Iterator[int]:
        """The rows with an answer, in the order listed."""
        values = self._values
        return compress(range(len(values)), map(is_not, values, repeat(None)))

    def ranked(self, metric: str, n: int | None = None) -> list[int]:
        """Rows highest in ``metric`` first, ties by post ID (lowest first); rows where it
        is unknown are left out. With ``n``, only the first ``n``, found with a heap."""
        keyed = (
            (-value, int(self.post_ids[row]), row)
            for row in self.rows_read()
            if (value := self.value(row, metric)) is not None and not math.isnan(value)
        )
        best = heapq.nsmallest(n, keyed) if n is not None else sorted(keyed)
        return [row for _, _, row in best]
