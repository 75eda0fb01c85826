"""The hourly history in the SQLite store (migration ``m003_hourly_history``).

Totals and counts are rows keyed by small integers (post, metric, hour), stored only where
there is something to say: a total when it changed, a count when it is not zero. The spans
of known hours (kind 0 polled, 1 counted) are few per post and metric, so they are read
and rewritten whole per post and metric. Reads and prunes go through the primary keys,
never a scan of the history, which over 90 days is the bulk of the file.

The current hour's totals wait in ``hourly_totals_hour`` (m009) and are moved into
``hourly_totals`` in key order by the first reading of a later hour, as the snapshots'
are (``HourRows``): each changed post's leaf page of the big table is then written once an
hour, not every cycle. Every reader searches both tables by their keys.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from automation.core.hours import Span, hour_index, reading_hour
from automation.core.records import HourlyHistory
from automation.store.hourly_rows import (
    COUNTED,
    POLLED,
    Key,
    LastRead,
    MetricIds,
    histories,
    hour_range,
    kept_reads,
    merged_spans,
    missing,
    plan_totals,
    plan_went_back,
    recalled,
    span_reach,
)
from automation.store.rows import parts
from automation.store.snapshot_rows import NO_COMPARISONS, Compared, HourRows, by_post
from automation.store.sqlite_connection import (
    SqliteConnection,
    guarded,
    hour_rows,
    move_hour_rows,
)

__all__ = ["HourlyQueries"]

TOTALS = ("hourly_totals", "hourly_totals_hour")  # every row of the second is of a later hour
# a post and metric's last total in one table, by its key
_LAST = (
    "(SELECT value FROM {} AS t WHERE t.post = k.post AND t.metric = k.metric"
    " ORDER BY hour DESC LIMIT 1)"
)


class HourlyQueries(SqliteConnection):
    def __init__(self, db: Database, path: Path) -> None:
        super().__init__(db, path)
        self._post_ids: dict[str, int] = {}
        # post -> (hour, values) of its last reading, so that a cycle writes only what
        # changed and lengthens the polled spans in place, without reading either back
        # first; read from the file once per post (after a restart, or when it is new).
        self._last_read: LastRead = {}
        self._newest_hour: int | None = None  # the newest hour polled (read once)
        self._totals_hour: HourRows | None = None  # where the totals stand (read once)

    @contextmanager
    def _hourly_write(self) -> Iterator[Any]:
        """A write transaction; on failure the remembered ids and totals are dropped, since
        they may name rows that were rolled back."""
        try:
            with self._immediate() as conn:
                yield conn
        except BaseException:
            self._post_ids.clear()
            self._last_read.clear()
            self._newest_hour = None
            self._totals_hour = None
            raise

    def _ids(self, post_ids: Collection[str], *, create: bool) -> dict[str, int]:
        missing = [p for p in post_ids if p not in self._post_ids]
        if missing:
            if create:
                self._conn.executemany(
                    "INSERT OR IGNORE INTO hourly_posts (post_id) VALUES (?)",
                    [(p,) for p in missing],
                )
            for pid, post_id in self._rows(
                "SELECT id, post_id FROM hourly_posts"
                " WHERE post_id IN (SELECT value FROM json_each(?))",
                [json.dumps(missing)],
            ):
                self._post_ids[sys.intern(post_id)] = pid  # the posts' one ID string
        return {p: self._post_ids[p] for p in post_ids if p in self._post_ids}

    def _all_ids(self, post_ids: Collection[str]) -> Mapping[str, int]:
        """The ids of every post known, ``post_ids`` added (inside a write transaction)."""
        self._ids([p for p in post_ids if p not in self._post_ids], create=True)
        return self._post_ids

    def _known_metrics(self, names: Iterable[str] | None) -> dict[str, int]:
        known = {name: mid for mid, name in self._rows("SELECT id, name FROM metric_names")}
        if names is None:
            return known
        return {n: known[n] for n in dict.fromkeys(names) if n in known}

    # -- writing --------------------------------------------------------------------------

    @guarded
    def record_hourly_totals(self, at: datetime, totals: Mapping[str, Mapping[str, float]]) -> int:
        hour = reading_hour(at)
        # the snapshots' comparisons of this reading, taken once (what they hold is let go)
        compared, self._compared = self._compared, NO_COMPARISONS
        if not totals:
            return 0
        written = 0
        with self._hourly_write():
            if self._hour_totals().due(hour):
                self._move_totals()
            ids = self._all_ids(totals)
            mids = MetricIds(self._known_metrics(None), lambda m: self._metric_ids([m])[m])
            for part in parts(totals):  # a first reading of 100,000 posts is 700,000 rows
                written += self._record_hourly_of(hour, part, ids, mids, compared)
        return written

    def _record_hourly_of(
        self,
        hour: int,
        totals: Mapping[str, Mapping[str, float]],
        ids: Mapping[str, int],
        mids: MetricIds,
        compared: Compared,
    ) -> int:
        """Write what some posts' reading changes (in the caller's transaction)."""
        if self._newest_hour is None:
            found = self._rows("SELECT coalesce(max(hi), 0) FROM hourly_spans WHERE kind = 0")
            self._newest_hour = found[0][0] - 1
        if hour < self._newest_hour:  # the clock went back: compare with the hour's values
            plan = plan_went_back(
                hour, totals, ids, mids, self._totals_then(hour, totals, ids, mids)
            )
            for post_id in totals:  # read back when read again
                self._last_read.pop(post_id, None)
        else:
            self._recall_read([p for p in totals if p not in self._last_read], ids, mids)
            plan = plan_totals(hour, totals, self._last_read, ids, mids, self._latest, compared)
            self._newest_hour = hour
        where = self._hour_totals()
        self._conn.executemany(
            f"INSERT INTO {where.table(hour)} VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO UPDATE SET value = excluded.value",
            plan.rows,
        )
        if plan.rows:
            where.written(hour)
        for metrics, pids in plan.longer.items():  # one statement for all the posts alike
            # ``+metric``: one search per post for its few spans, not one per post and metric
            self._conn.execute(
                "UPDATE hourly_spans SET hi = hi + 1 WHERE kind = 0 AND hi = ?"
                " AND post IN (SELECT value FROM json_each(?))"
                " AND +metric IN (SELECT value FROM json_each(?))",
                (hour, json.dumps(pids), json.dumps(metrics)),
            )
        self._add_spans(POLLED, plan.spans)
        return len(plan.rows)

    def _hour_totals(self) -> HourRows:
        """Where the hourly totals stand (read once): the newest hour of ``hourly_totals``,
        the oldest and newest of ``hourly_totals_hour``."""
        if self._totals_hour is None:
            self._totals_hour = hour_rows(self._conn, "hourly_totals", "hour", int, empty=-1, per=1)
        return self._totals_hour

    def _move_totals(self) -> None:
        """The small table's rows into the big one, in key order (in a write transaction)."""
        move_hour_rows(self._conn, self._hour_totals(), "post, metric, hour")

    def _totals_then(
        self, hour: int, posts: Iterable[str], ids: Mapping[str, int], mids: Mapping[str, int]
    ) -> dict[str, dict[str, float]]:
        """Each post's totals as of ``hour``: per metric, the last one stored then or before."""
        pids = {ids[p]: p for p in posts}
        rows = self._rows(  # SQLite takes the value of max(hour)'s row; the small table's last
            " UNION ALL ".join(
                f"SELECT post, metric, value, max(hour) FROM {table}"
                " WHERE post IN (SELECT value FROM json_each(:posts)) AND hour <= :hour"
                " GROUP BY post, metric"
                for table in TOTALS
            ),
            {"posts": json.dumps(list(pids)), "hour": hour},
        )
        return by_post(((p, m, v) for p, m, v, _ in rows), pids, {i: n for n, i in mids.items()})

    def _recall_read(
        self, post_ids: list[str], ids: Mapping[str, int], mids: Mapping[str, int]
    ) -> None:
        """Load what the file says of the last reading of posts not remembered yet."""
        if not post_ids:
            return
        found = self._rows(
            "WITH k(post, metric, hi) AS (SELECT post, metric, max(hi) FROM hourly_spans"
            " WHERE kind = 0 AND post IN (SELECT value FROM json_each(?))"
            " GROUP BY post, metric)"
            f" SELECT post, metric, hi, coalesce({_LAST.format('hourly_totals_hour')},"
            f" {_LAST.format('hourly_totals')}) FROM k",
            [json.dumps([ids[p] for p in post_ids])],
        )
        self._last_read.update(recalled(post_ids, ids, mids, found))

    @guarded
    def record_hourly_counts(
        self,
        start: datetime,
        end: datetime,
        counts: Mapping[str, Mapping[str, Iterable[tuple[datetime, float]]]],
    ) -> None:
        lo, hi = hour_range(start, end)
        if hi <= lo or not counts:
            return
        with self._hourly_write():
            mids = self._metric_ids({m for per in counts.values() for m in per})
            for part in parts(counts):  # 100,000 posts' 28 hours: a slice of posts at a time
                self._record_counts_of(part, mids, lo, hi)

    def _record_counts_of(
        self,
        counts: Mapping[str, Mapping[str, Iterable[tuple[datetime, float]]]],
        mids: Mapping[str, int],
        lo: int,
        hi: int,
    ) -> None:
        """Replace some posts' counts of ``[lo, hi)`` (in the caller's transaction)."""
        ids = self._ids(list(counts), create=True)
        keys = [(ids[p], mids[m]) for p, per in counts.items() for m in per]
        self._conn.executemany(
            "DELETE FROM hourly_counts WHERE post = ? AND metric = ? AND hour >= ? AND hour < ?",
            [(p, m, lo, hi) for p, m in keys],
        )
        rows = [
            (ids[post_id], mids[metric], h, float(count))
            for post_id, per in counts.items()
            for metric, pairs in per.items()
            for moment, count in pairs
            if count and lo <= (h := hour_index(moment)) < hi
        ]
        self._conn.executemany("INSERT OR REPLACE INTO hourly_counts VALUES (?, ?, ?, ?)", rows)
        self._add_spans(COUNTED, dict.fromkeys(keys, (lo, hi)))

    def _add_spans(self, kind: int, new: Mapping[Key, Span]) -> None:
        """Merge one span per (post, metric) into the known ones (inside a transaction):
        only the stored spans that meet a new one are read, deleted and replaced."""
        if not new:
            return
        posts = sorted({p for p, _ in new})
        existing: dict[Key, list[Span]] = {}
        for p, m, lo, hi in self._rows(
            "SELECT post, metric, lo, hi FROM hourly_spans WHERE kind = ?"
            " AND post IN (SELECT value FROM json_each(?)) AND hi >= ? AND lo <= ?"
            " ORDER BY post, metric, lo",
            [kind, json.dumps(posts), *span_reach(new.values())],
        ):
            existing.setdefault((p, m), []).append((lo, hi))
        gone, rows = merged_spans(existing, new)
        self._conn.executemany(
            "DELETE FROM hourly_spans WHERE post = ? AND metric = ? AND kind = ? AND lo = ?",
            [(p, m, kind, lo) for p, m, lo in gone],
        )
        self._conn.executemany(
            "INSERT INTO hourly_spans VALUES (?, ?, ?, ?, ?)",
            ((p, m, kind, a, b) for p, m, a, b in rows),
        )

    # -- reading --------------------------------------------------------------------------

    def _spans(
        self, kind: int | None, pids: Iterable[int], lo: int, hi: int
    ) -> dict[tuple[int, int, int], list[Span]]:
        """Known spans that meet ``[lo, hi)``, clipped to it, by (post, metric, kind)."""
        out: dict[tuple[int, int, int], list[Span]] = {}
        for p, m, k, a, b in self._rows(
            "SELECT post, metric, kind, lo, hi FROM hourly_spans"
            " WHERE post IN (SELECT value FROM json_each(?)) AND hi > ? AND lo < ?"
            " ORDER BY post, metric, kind, lo",
            [json.dumps(list(pids)), lo, hi],
        ):
            if kind is None or k == kind:
                out.setdefault((p, m, k), []).append((max(a, lo), min(b, hi)))
        return out

    @guarded
    def hourly(
        self,
        post_ids: Iterable[str],
        metrics: Iterable[str] | None,
        start: datetime,
        end: datetime,
    ) -> dict[str, dict[str, HourlyHistory]]:
        lo, hi = hour_range(start, end)
        ids = self._ids(list(dict.fromkeys(post_ids)), create=False)
        mids = self._known_metrics(metrics)
        names = {mid: name for name, mid in mids.items()}
        posts = {pid: post_id for post_id, pid in ids.items()}
        spans = self._spans(None, posts, lo, hi)
        keys = sorted({(p, m) for p, m, _ in spans if m in names})
        totals = self._key_rows(TOTALS, keys, lo, hi, baseline=True)
        counts = self._key_rows(("hourly_counts",), keys, lo, hi, baseline=False)
        return histories(keys, spans, totals, counts, posts, names)

    def _key_rows(
        self, tables: tuple[str, ...], keys: list[Key], lo: int, hi: int, *, baseline: bool
    ) -> dict[Key, list[tuple[int, float]]]:
        """Rows of each key in ``[lo, hi)``, after the last one before ``lo`` if asked, from
        each of ``tables`` in turn (any later one's rows are of later hours)."""
        out: dict[Key, list[tuple[int, float]]] = {}
        if not keys:
            return out
        before = (  # the last hour before ``lo`` in any table: the later tables' first
            f"(SELECT max(hour) FROM {table} AS b WHERE b.post = k.post"
            " AND b.metric = k.metric AND b.hour < :lo)"
            for table in reversed(tables)
        )
        first = f"coalesce({', '.join(before)}, :lo)" if baseline else ":lo"
        for table in tables:
            for p, m, h, v in self._conn.execute(
                "WITH k(post, metric) AS (SELECT json_extract(value, '$[0]'),"
                " json_extract(value, '$[1]') FROM json_each(:keys))"
                f" SELECT t.post, t.metric, t.hour, t.value FROM k JOIN {table} AS t"
                f" ON t.post = k.post AND t.metric = k.metric AND t.hour >= {first}"
                " AND t.hour < :hi ORDER BY t.post, t.metric, t.hour",
                {"keys": json.dumps(keys), "lo": lo, "hi": hi},
            ):
                out.setdefault((p, m), []).append((h, v))
        return out

    @guarded
    def missing_hours(
        self, post_ids: Iterable[str], metrics: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, tuple[tuple[datetime, datetime], ...]]:
        lo, hi = hour_range(start, end)
        wanted = list(dict.fromkeys(post_ids))
        names = list(dict.fromkeys(metrics))
        if hi <= lo or not names:
            return {}
        ids = self._ids(wanted, create=False)
        mids = self._known_metrics(names)
        spans = self._spans(COUNTED, ids.values(), lo, hi)
        return missing(wanted, names, ids, mids, spans, lo, hi)

    @guarded
    def count_sums(
        self, post_ids: Iterable[str], metrics: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, dict[str, float]]:
        lo, hi = hour_range(start, end)
        ids = self._ids(list(dict.fromkeys(post_ids)), create=False)
        mids = self._known_metrics(metrics)
        posts = {pid: post_id for post_id, pid in ids.items()}
        names = {mid: name for name, mid in mids.items()}
        out: dict[str, dict[str, float]] = {}
        for p, m, _ in self._spans(COUNTED, posts, lo, hi):
            if m in names:
                out.setdefault(posts[p], {})[names[m]] = 0.0
        for p, m, total in self._rows(
            "SELECT post, metric, sum(value) FROM hourly_counts"
            " WHERE post IN (SELECT value FROM json_each(?))"
            " AND metric IN (SELECT value FROM json_each(?)) AND hour >= ? AND hour < ?"
            " GROUP BY post, metric",
            [json.dumps(list(posts)), json.dumps(list(names)), lo, hi],
        ):
            out.setdefault(posts[p], {})[names[m]] = float(total)
        return out

    # -- pruning --------------------------------------------------------------------------

    @guarded
    def prune_hourly(self, before: datetime) -> int:
        cut = hour_index(before)
        with self._hourly_write() as conn:
            where = self._hour_totals()
            if where.oldest is not None and where.oldest < cut:  # rows of the hour to prune
                self._move_totals()
            old = self._rows(
                "SELECT post, metric, kind, max(hi) > ? FROM hourly_spans"
                " GROUP BY post, metric, kind HAVING min(lo) < ?",
                [cut, cut],
            )
            keep_last = (
                "coalesce((SELECT max(hour) FROM hourly_totals"
                " WHERE post = :p AND metric = :m AND hour < :cut), :cut)"
            )
            deleted: int = conn.executemany(
                "DELETE FROM hourly_totals WHERE post = :p AND metric = :m AND hour <"
                f" CASE WHEN :after THEN {keep_last} ELSE :cut END",
                [
                    {"p": p, "m": m, "cut": cut, "after": after}
                    for p, m, kind, after in old
                    if kind == POLLED
                ],
            ).rowcount
            deleted += conn.executemany(
                "DELETE FROM hourly_counts WHERE post = ? AND metric = ? AND hour < ?",
                [(p, m, cut) for p, m, kind, _ in old if kind == COUNTED],
            ).rowcount
            conn.execute("DELETE FROM hourly_spans WHERE hi <= ?", (cut,))
            conn.execute("UPDATE hourly_spans SET lo = ? WHERE lo < ?", (cut, cut))
            if cut > where.moved_at:  # the big table's newest rows may be gone
                conn.execute("DELETE FROM meta WHERE key = ?", [where.key])
        if cut > where.moved_at:  # read it again, as a restarted store would
            self._totals_hour = None
        self._last_read = kept_reads(self._last_read, cut)
        return max(deleted, 0)
