"""The hourly history in the PostgreSQL store: the SQLite store's tables and decisions
(``hourly_rows``), with PostgreSQL's SQL.

Totals and counts are rows keyed by small integers (post, metric, hour), stored only where
there is something to say; the spans of known hours (kind 0 polled, 1 counted) are read
and rewritten whole per post and metric. Lists of keys travel as arrays, so a cycle's
history costs a few statements whatever the number of posts. The current hour's totals
wait in ``hourly_totals_hour`` (m004) as in the SQLite store; readers see both through
``all_hourly_totals``.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from automation.config.database import PostgresDatabase
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
from automation.store.postgres_connection import (
    Conn,
    PostgresConnection,
    columns,
    guarded,
    hour_rows,
    move_hour_rows,
)
from automation.store.rows import parts
from automation.store.snapshot_rows import NO_COMPARISONS, Compared, HourRows, by_post

__all__ = ["HourlyQueries"]


class HourlyQueries(PostgresConnection):
    def __init__(self, database: PostgresDatabase, conn: Conn, **kw: Any) -> None:
        super().__init__(database, conn, **kw)
        self._post_ids: dict[str, int] = {}
        self._last_read: LastRead = {}  # as in the SQLite store: read once per post
        self._newest_hour: int | None = None  # as in the SQLite store
        self._totals_hour: HourRows | None = None  # as in the SQLite store

    @contextmanager
    def _hourly_write(self) -> Iterator[Conn]:
        """A write transaction; on failure the remembered ids and totals are dropped, since
        they may name rows that were rolled back."""
        try:
            with self._tx() as conn:
                yield conn
        except BaseException:
            self._post_ids.clear()
            self._last_read.clear()
            self._newest_hour = None
            self._totals_hour = None
            raise

    def _ids(self, conn: Conn, post_ids: Collection[str], *, create: bool) -> dict[str, int]:
        missing_ids = [p for p in post_ids if p not in self._post_ids]
        if missing_ids:
            if create:
                conn.execute(
                    b"INSERT INTO hourly_posts (post_id) SELECT unnest(%s::text[])"
                    b" ON CONFLICT (post_id) DO NOTHING",
                    [missing_ids],
                )
            found = conn.execute(
                b"SELECT id, post_id FROM hourly_posts WHERE post_id = ANY(%s::text[])",
                [missing_ids],
            ).fetchall()
            self._post_ids.update({sys.intern(post_id): pid for pid, post_id in found})
        return {p: self._post_ids[p] for p in post_ids if p in self._post_ids}

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
        with self._hourly_write() as conn:
            if self._hour_totals(conn).due(hour):
                self._move_totals(conn)
            self._ids(conn, [p for p in totals if p not in self._post_ids], create=True)
            ids = self._post_ids  # every post known: the posts of ``totals`` among them
            mids = MetricIds(self._known_metrics(None), lambda m: self._metric_ids(conn, [m])[m])
            for part in parts(totals):  # a first reading of 100,000 posts is 700,000 rows
                written += self._record_hourly_of(conn, hour, part, ids, mids, compared)
        return written

    def _record_hourly_of(
        self,
        conn: Conn,
        hour: int,
        totals: Mapping[str, Mapping[str, float]],
        ids: Mapping[str, int],
        mids: MetricIds,
        compared: Compared,
    ) -> int:
        """Write what some posts' reading changes (in the caller's transaction)."""
        if self._newest_hour is None:
            found = conn.execute(
                b"SELECT coalesce(max(hi), 0) FROM hourly_spans WHERE kind = 0"
            ).fetchone()
            self._newest_hour = (found[0] if found else 0) - 1
        if hour < self._newest_hour:  # the clock went back: compare with the hour's values
            then = self._totals_then(conn, hour, totals, ids, mids)
            plan = plan_went_back(hour, totals, ids, mids, then)
            for post_id in totals:  # read back when read again
                self._last_read.pop(post_id, None)
        else:
            self._recall_read(conn, [p for p in totals if p not in self._last_read], ids, mids)
            plan = plan_totals(hour, totals, self._last_read, ids, mids, self._latest, compared)
            self._newest_hour = hour
        where = self._hour_totals(conn)
        conn.execute(
            f"INSERT INTO {where.table(hour)} SELECT * FROM"
            " unnest(%s::bigint[], %s::int[], %s::int[], %s::float8[])"
            " ON CONFLICT (post, metric, hour) DO UPDATE SET value = excluded.value",
            columns(plan.rows, 4),
        )
        if plan.rows:
            where.written(hour)
        for metrics, pids in plan.longer.items():  # one statement for all the posts alike
            conn.execute(
                b"UPDATE hourly_spans SET hi = hi + 1 WHERE kind = 0 AND hi = %s"
                b" AND post = ANY(%s::bigint[]) AND metric = ANY(%s::int[])",
                [hour, pids, list(metrics)],
            )
        self._add_spans(conn, POLLED, plan.spans)
        return len(plan.rows)

    def _hour_totals(self, conn: Conn) -> HourRows:
        """Where the hourly totals stand (read once), as in the SQLite store."""
        if self._totals_hour is None:
            self._totals_hour = hour_rows(conn, "hourly_totals", "hour", int, empty=-1, per=1)
        return self._totals_hour

    def _move_totals(self, conn: Conn) -> None:
        """The small table's rows into the big one, in key order (in a write transaction)."""
        move_hour_rows(conn, self._hour_totals(conn), "post, metric, hour")

    def _totals_then(
        self,
        conn: Conn,
        hour: int,
        posts: Iterable[str],
        ids: Mapping[str, int],
        mids: Mapping[str, int],
    ) -> dict[str, dict[str, float]]:
        """Each post's totals as of ``hour``: per metric, the last one stored then or before."""
        pids = {ids[p]: p for p in posts}
        rows = conn.execute(
            b"SELECT DISTINCT ON (post, metric) post, metric, value FROM all_hourly_totals"
            b" WHERE post = ANY(%s::bigint[]) AND hour <= %s ORDER BY post, metric, hour DESC",
            [list(pids), hour],
        )
        return by_post(rows, pids, {mid: name for name, mid in mids.items()})

    def _recall_read(
        self, conn: Conn, post_ids: list[str], ids: Mapping[str, int], mids: Mapping[str, int]
    ) -> None:
        if not post_ids:
            return
        found = conn.execute(
            b"WITH k AS (SELECT post, metric, max(hi) AS hi FROM hourly_spans"
            b" WHERE kind = 0 AND post = ANY(%s::bigint[]) GROUP BY post, metric)"
            b" SELECT post, metric, hi, (SELECT value FROM all_hourly_totals AS t"
            b" WHERE t.post = k.post AND t.metric = k.metric ORDER BY hour DESC LIMIT 1)"
            b" FROM k",
            [[ids[p] for p in post_ids]],
        ).fetchall()
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
        with self._hourly_write() as conn:
            mids = self._metric_ids(conn, {m for per in counts.values() for m in per})
            for part in parts(counts):  # 100,000 posts' 28 hours: a slice of posts at a time
                self._record_counts_of(conn, part, mids, lo, hi)

    def _record_counts_of(
        self,
        conn: Conn,
        counts: Mapping[str, Mapping[str, Iterable[tuple[datetime, float]]]],
        mids: Mapping[str, int],
        lo: int,
        hi: int,
    ) -> None:
        """Replace some posts' counts of ``[lo, hi)`` (in the caller's transaction)."""
        ids = self._ids(conn, list(counts), create=True)
        keys = [(ids[p], mids[m]) for p, per in counts.items() for m in per]
        conn.execute(
            b"DELETE FROM hourly_counts AS c USING unnest(%s::bigint[], %s::int[])"
            b" AS k(post, metric) WHERE c.post = k.post AND c.metric = k.metric"
            b" AND c.hour >= %s AND c.hour < %s",
            [*columns(keys, 2), lo, hi],
        )
        rows = {  # an hour given twice keeps its last count
            (ids[post_id], mids[metric], h): float(count)
            for post_id, per in counts.items()
            for metric, pairs in per.items()
            for moment, count in pairs
            if count and lo <= (h := hour_index(moment)) < hi
        }
        conn.execute(
            b"INSERT INTO hourly_counts SELECT * FROM"
            b" unnest(%s::bigint[], %s::int[], %s::int[], %s::float8[])",
            columns([(*key, value) for key, value in rows.items()], 4),
        )
        self._add_spans(conn, COUNTED, dict.fromkeys(keys, (lo, hi)))

    def _add_spans(self, conn: Conn, kind: int, new: Mapping[Key, Span]) -> None:
        """Merge one span per (post, metric) into the known ones (inside a transaction):
        only the stored spans that meet a new one are read, deleted and replaced."""
        if not new:
            return
        existing: dict[Key, list[Span]] = {}
        for p, m, lo, hi in conn.execute(
            b"SELECT post, metric, lo, hi FROM hourly_spans WHERE kind = %s"
            b" AND post = ANY(%s::bigint[]) AND hi >= %s AND lo <= %s ORDER BY post, metric, lo",
            [kind, sorted({p for p, _ in new}), *span_reach(new.values())],
        ):
            existing.setdefault((p, m), []).append((lo, hi))
        gone, rows = merged_spans(existing, new)
        conn.execute(
            b"DELETE FROM hourly_spans AS s USING unnest(%s::bigint[], %s::int[], %s::int[])"
            b" AS k(post, metric, lo) WHERE s.post = k.post AND s.metric = k.metric"
            b" AND s.kind = %s AND s.lo = k.lo",
            [*columns(gone, 3), kind],
        )
        conn.execute(
            b"INSERT INTO hourly_spans SELECT p, m, %s, a, b FROM"
            b" unnest(%s::bigint[], %s::int[], %s::int[], %s::int[]) AS r(p, m, a, b)",
            [kind, *columns(rows, 4)],
        )

    # -- reading --------------------------------------------------------------------------

    def _spans(
        self, kind: int | None, pids: Iterable[int], lo: int, hi: int
    ) -> dict[tuple[int, int, int], list[Span]]:
        """Known spans that meet ``[lo, hi)``, clipped to it, by (post, metric, kind)."""
        out: dict[tuple[int, int, int], list[Span]] = {}
        for p, m, k, a, b in self._rows(
            "SELECT post, metric, kind, lo, hi FROM hourly_spans"
            " WHERE post = ANY(%s::bigint[]) AND hi > %s AND lo < %s"
            " ORDER BY post, metric, kind, lo",
            [list(pids), lo, hi],
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
        ids = self._ids(self._connection(), list(dict.fromkeys(post_ids)), create=False)
        mids = self._known_metrics(metrics)
        names = {mid: name for name, mid in mids.items()}
        posts = {pid: post_id for post_id, pid in ids.items()}
        spans = self._spans(None, posts, lo, hi)
        keys = sorted({(p, m) for p, m, _ in spans if m in names})
        totals = self._key_rows("all_hourly_totals", keys, lo, hi, baseline=True)
        counts = self._key_rows("hourly_counts", keys, lo, hi, baseline=False)
        return histories(keys, spans, totals, counts, posts, names)

    def _key_rows(
        self, table: str, keys: list[Key], lo: int, hi: int, *, baseline: bool
    ) -> dict[Key, list[tuple[int, float]]]:
        """Rows of each key in ``[lo, hi)``, after the last one before ``lo`` if asked."""
        out: dict[Key, list[tuple[int, float]]] = {}
        if not keys:
            return out
        first = (
            f"coalesce((SELECT max(hour) FROM {table} AS b WHERE b.post = k.post"
            " AND b.metric = k.metric AND b.hour < %(lo)s), %(lo)s)"
            if baseline
            else "%(lo)s"
        )
        posts, metrics = columns(keys, 2)
        for p, m, h, v in self._rows(
            "SELECT t.post, t.metric, t.hour, t.value"
            " FROM unnest(%(posts)s::bigint[], %(metrics)s::int[]) AS k(post, metric)"
            f" JOIN {table} AS t ON t.post = k.post AND t.metric = k.metric"
            f" AND t.hour >= {first} AND t.hour < %(hi)s ORDER BY t.post, t.metric, t.hour",
            {"posts": posts, "metrics": metrics, "lo": lo, "hi": hi},
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
        ids = self._ids(self._connection(), wanted, create=False)
        mids = self._known_metrics(names)
        spans = self._spans(COUNTED, ids.values(), lo, hi)
        return missing(wanted, names, ids, mids, spans, lo, hi)

    @guarded
    def count_sums(
        self, post_ids: Iterable[str], metrics: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, dict[str, float]]:
        lo, hi = hour_range(start, end)
        ids = self._ids(self._connection(), list(dict.fromkeys(post_ids)), create=False)
        mids = self._known_metrics(metrics)
        posts = {pid: post_id for post_id, pid in ids.items()}
        names = {mid: name for name, mid in mids.items()}
        out: dict[str, dict[str, float]] = {}
        for p, m, _ in self._spans(COUNTED, posts, lo, hi):
            if m in names:
                out.setdefault(posts[p], {})[names[m]] = 0.0
        for p, m, total in self._rows(
            "SELECT post, metric, sum(value) FROM hourly_counts"
            " WHERE post = ANY(%s::bigint[]) AND metric = ANY(%s::int[])"
            " AND hour >= %s AND hour < %s GROUP BY post, metric",
            [list(posts), list(names), lo, hi],
        ):
            out.setdefault(posts[p], {})[names[m]] = float(total)
        return out

    # -- pruning --------------------------------------------------------------------------

    @guarded
    def prune_hourly(self, before: datetime) -> int:
        cut = hour_index(before)
        with self._hourly_write() as conn:
            where = self._hour_totals(conn)
            if where.oldest is not None and where.oldest < cut:  # rows of the hour to prune
                self._move_totals(conn)
            old = conn.execute(
                b"SELECT post, metric, kind, max(hi) > %s FROM hourly_spans"
                b" GROUP BY post, metric, kind HAVING min(lo) < %s",
                [cut, cut],
            ).fetchall()
            totals = [(p, m, after) for p, m, kind, after in old if kind == POLLED]
            counted = [(p, m) for p, m, kind, _ in old if kind == COUNTED]
            posts, metrics, after = columns(totals, 3)
            deleted = conn.execute(
                b"DELETE FROM hourly_totals AS t USING unnest(%(posts)s::bigint[],"
                b" %(metrics)s::int[], %(after)s::bool[]) AS k(post, metric, after)"
                b" WHERE t.post = k.post AND t.metric = k.metric AND t.hour < CASE"
                b" WHEN k.after THEN coalesce((SELECT max(hour) FROM hourly_totals AS b"
                b" WHERE b.post = k.post AND b.metric = k.metric AND b.hour < %(cut)s),"
                b" %(cut)s) ELSE %(cut)s END",
                {"posts": posts, "metrics": metrics, "after": after, "cut": cut},
            ).rowcount
            deleted += conn.execute(
                b"DELETE FROM hourly_counts AS c USING unnest(%s::bigint[], %s::int[])"
                b" AS k(post, metric) WHERE c.post = k.post AND c.metric = k.metric"
                b" AND c.hour < %s",
                [*columns(counted, 2), cut],
            ).rowcount
            conn.execute(b"DELETE FROM hourly_spans WHERE hi <= %s", [cut])
            conn.execute(b"UPDATE hourly_spans SET lo = %s WHERE lo < %s", [cut, cut])
            if cut > where.moved_at:  # as in the SQLite store
                conn.execute(b"DELETE FROM meta WHERE key = %s", [where.key])
        if cut > where.moved_at:
            self._totals_hour = None
        self._last_read = kept_reads(self._last_read, cut)
        return max(deleted, 0)

    def _reconnected(self) -> None:
        super()._reconnected()
        self._last_read.clear()
        self._newest_hour = None
        self._totals_hour = None
