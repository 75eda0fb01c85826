"""Rows of the stores' tables to records and back: epoch seconds, JSON columns, states,
outbox items, history entries and pauses. Pure functions, shared by the SQLite and the
PostgreSQL store (both keep times as epoch seconds); the queries live with their jobs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol, TypeVar, overload

from automation.core.facts import RuleState
from automation.core.pauses import PauseRecord
from automation.core.records import (
    ActionRecord,
    FiringRecord,
    HistoryEntry,
    OutboxItem,
    WatchedPostRecord,
    from_epoch,
    to_epoch,
)

__all__ = [
    "FIRING_COLUMNS",
    "KEPT_COUNTS",
    "OUTBOX_COLUMNS",
    "PAUSE_COLUMNS",
    "STATE_COLUMNS",
    "Moments",
    "datetime_or_none",
    "epoch_or_none",
    "firing_rows",
    "history_entry",
    "json_ids",
    "moments",
    "outbox_item",
    "parts",
    "pause_from_row",
    "pause_row",
    "post_records",
    "requeued_dead",
    "state_from_row",
    "state_row",
    "where_clause",
]

OUTBOX_COLUMNS = (
    "id, firing_id, rule_id, post_id, idx, kind, payload, status, attempts,"
    " created_at, next_attempt_at, last_error, digest"
)
FIRING_COLUMNS = "id, rule_id, post_id, key, kind, at, milestone, metrics, rearmed_at"
# the actions in each status, as the outbox's triggers keep them (SQLite m011, PostgreSQL
# m006): what ``SELECT status, count(*) FROM outbox GROUP BY status`` would count, in order
KEPT_COUNTS = "SELECT status, n FROM outbox_counts WHERE n > 0 ORDER BY status"


_V = TypeVar("_V")

# posts a write of readings handles at once: what it builds for them (rows read back,
# rows to write, their tuples) stays a slice's worth instead of 100,000 posts' worth
PART = 5_000


def parts(mapping: Mapping[str, _V], size: int | None = None) -> Iterator[dict[str, _V]]:
    """``mapping`` in consecutive slices of at most ``size`` (``PART``) keys, in its order."""
    size = size or PART
    keys = list(mapping)
    for i in range(0, len(keys), size):
        yield {key: mapping[key] for key in keys[i : i + size]}


def json_ids(ids: Iterable[str]) -> str:
    """Ids as one JSON parameter for ``IN (SELECT value FROM json_each(?))``: any number of
    ids, one placeholder."""
    return json.dumps(list(ids))


_METRICS = json.JSONEncoder(separators=(",", ":")).encode  # as json.dumps, built once


def firing_rows(firings: Iterable[FiringRecord]) -> Iterator[tuple[Any, ...]]:
    """The ``firings`` rows to insert (id, rule_id, post_id, key, kind, at, milestone,
    metrics), made one by one as they are written: a first cycle's 31,765 seeds as a
    list of rows were 8 MB more at its peak. The seeds share their time, converted once.
    A firing's windows go in its ``metrics`` object, by their labels (``retweets over
    1h``), which no metric's name can be (it has no space): no column to add, and a
    firing recorded before them reads back with none (``_firing_values``)."""
    epochs: dict[datetime, float] = {}
    for f in firings:
        at = epochs.get(f.at)
        if at is None:
            at = epochs[f.at] = to_epoch(f.at)
        metrics = _METRICS({**f.metrics, **f.windows} if f.windows else dict(f.metrics))
        yield (f.id, f.rule_id, f.post_id, f.key, f.kind, at, f.milestone, metrics)


def epoch_or_none(moment: datetime | None) -> float | None:
    return to_epoch(moment) if moment is not None else None


def datetime_or_none(seconds: float | None) -> datetime | None:
    return from_epoch(seconds) if seconds is not None else None


class Moments(Protocol):
    """Epoch seconds to a datetime, None to None."""

    @overload
    def __call__(self, seconds: float, /) -> datetime: ...
    @overload
    def __call__(self, seconds: None, /) -> None: ...
    @overload
    def __call__(self, seconds: float | None, /) -> datetime | None: ...


def moments() -> Moments:
    """``datetime_or_none`` that converts each distinct value once. The rows of one hot
    read share few times (a cycle's clock stamps its snapshots, seeds and first sightings),
    and building datetimes was most of what those reads cost."""
    seen: dict[float, datetime] = {}

    @overload
    def moment(seconds: float, /) -> datetime: ...
    @overload
    def moment(seconds: None, /) -> None: ...
    @overload
    def moment(seconds: float | None, /) -> datetime | None: ...
    def moment(seconds: float | None, /) -> datetime | None:
        if seconds is None:
            return None
        found = seen.get(seconds)
        if found is None:
            found = seen[seconds] = from_epoch(seconds)
        return found

    return moment


POST_COLUMNS = "post_id, account, created_at, source, first_seen, unavailable_at"


def post_records(rows: Iterable[tuple[Any, ...]]) -> list[WatchedPostRecord]:
    """Rows of ``POST_COLUMNS`` as records, taken as they come (from a cursor: not a list
    of every row first). The engine reads every watched post each cycle and keeps their
    IDs in several maps, so each ID is the one string the process holds for it
    (``sys.intern``), and the few accounts and the two sources are one string each."""
    moment = moments()
    one: dict[Any, Any] = {}
    same = one.setdefault
    intern = sys.intern
    return [
        WatchedPostRecord(
            post_id=intern(post_id),
            account=None if account is None else same(account, account),
            created_at=from_epoch(created),
            source=same(source, source),
            first_seen=moment(first),
            unavailable_at=None if gone is None else moment(gone),
        )
        for post_id, account, created, source, first, gone in rows
    ]


STATE_COLUMNS = "fingerprint, holding_since, last_truth, last_fired_at, milestone, done, fires"


def state_row(state: RuleState) -> tuple[Any, ...]:
    return (
        state.fingerprint,
        epoch_or_none(state.holding_since),
        None if state.last_truth is None else int(state.last_truth),
        epoch_or_none(state.last_fired_at),
        state.milestone,
        int(state.done),
        state.fires,
    )


def state_from_row(
    row: tuple[Any, ...],
    moment: Callable[[float | None], datetime | None] = datetime_or_none,
) -> RuleState:
    fingerprint, holding, truth, fired, milestone, done, fires = row
    return RuleState(
        fingerprint=fingerprint,
        holding_since=moment(holding),
        last_truth=None if truth is None else bool(truth),
        last_fired_at=moment(fired),
        milestone=milestone,
        done=bool(done),
        fires=fires,
    )


def outbox_item(row: tuple[Any, ...]) -> OutboxItem:
    action_id, firing_id, rule_id, post_id, idx, kind, payload, status, attempts = row[:9]
    created, next_at, last_error, digest = row[9:]
    return OutboxItem(
        id=action_id,
        firing_id=firing_id,
        rule_id=rule_id,
        post_id=post_id,
        index=idx,
        kind=kind,
        payload=payload,
        status=status,
        attempts=attempts,
        created_at=from_epoch(created),
        next_attempt_at=datetime_or_none(next_at),
        last_error=last_error,
        digest=digest,
    )


def history_entry(row: tuple[Any, ...], items: tuple[OutboxItem, ...]) -> HistoryEntry:
    firing_id, rule_id, post_id, key, kind, at, milestone, values, rearmed_at = row
    metrics, windows = _firing_values(values)
    firing = FiringRecord(
        id=firing_id,
        rule_id=rule_id,
        post_id=post_id,
        key=key,
        kind=kind,
        at=from_epoch(at),
        milestone=milestone,
        metrics=metrics,
        actions=tuple(ActionRecord(i.index, i.kind, i.payload, digest=i.digest) for i in items),
        windows=windows,
    )
    return HistoryEntry(firing, datetime_or_none(rearmed_at), items)


def _firing_values(text: str) -> tuple[dict[str, float], dict[str, float]]:
    """A ``metrics`` column's JSON as a firing's ``metrics`` and ``windows``: a window is
    kept under its label, which has a space (``retweets over 1h``)."""
    metrics: dict[str, float] = {}
    windows: dict[str, float] = {}
    for name, value in json.loads(text).items():
        (windows if " " in name else metrics)[name] = float(value)
    return metrics, windows


PAUSE_COLUMNS = "rule_id, paused_at, paused_by, until, reason, resumed_at, resumed_by, catch_up"


def pause_row(record: PauseRecord) -> tuple[Any, ...]:
    return (
        record.rule_id,
        to_epoch(record.paused_at),
        record.paused_by,
        epoch_or_none(record.until),
        record.reason,
        epoch_or_none(record.resumed_at),
        record.resumed_by,
        int(record.catch_up),
    )


def pause_from_row(row: tuple[Any, ...]) -> PauseRecord:
    rule_id, paused_at, paused_by, until, reason, resumed_at, resumed_by, catch_up = row
    return PauseRecord(
        rule_id=rule_id,
        paused_at=from_epoch(paused_at),
        paused_by=paused_by,
        until=datetime_or_none(until),
        reason=reason,
        resumed_at=datetime_or_none(resumed_at),
        resumed_by=resumed_by,
        catch_up=bool(catch_up),
    )


def requeued_dead(
    action_id: str | None, rule_id: str | None, mark: str = "?"
) -> tuple[str, list[str]]:
    """The condition (with ``mark``, the driver's placeholder, for its values) of the
    outbox rows ``retry_actions`` re-queues: the dead action ``action_id``, else every dead
    one of ``rule_id``, else every dead one, each with the dead rest of its digest (a
    digest is sent as one request)."""
    chosen, values = (
        (f"id = {mark}", [action_id])
        if action_id is not None
        else (f"rule_id = {mark}", [rule_id])
        if rule_id is not None
        else ("1 = 1", [])
    )
    return (
        f"status = 'dead' AND ({chosen} OR digest IN"
        f" (SELECT digest FROM outbox WHERE status = 'dead' AND {chosen}))",
        values * 2,
    )


def where_clause(*given: tuple[str, Any]) -> tuple[str, list[Any]]:
    """A WHERE clause of the conditions whose value is given, and their parameters."""
    chosen = [(clause, value) for clause, value in given if value is not None]
    if not chosen:
        return "", []
    return " WHERE " + " AND ".join(c for c, _ in chosen), [v for _, v in chosen]
