"""Metric snapshots in the PostgreSQL store: one row per changed value, each post's latest
values in ``series``, baselines and changes for windows, hourly pruning, ``top``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime

from automation.core.facts import Snapshot
from automation.core.records import compose_snapshots, to_epoch
from automation.store.postgres_connection import Conn, PostgresConnection, columns, guarded
from automation.store.rows import compact, moments, parts
from automation.store.snapshot_rows import (
    NO_COMPARISONS,
    Latest,
    SnapshotPlan,
    by_post,
    plan_backdated,
    plan_snapshots,
    recalled_latest,
    remember,
)

__all__ = ["SnapshotQueries"]


class SnapshotQueries(PostgresConnection):
    @guarded
    def record_totals(self, at: datetime, totals: Mapping[str, Mapping[str, float]]) -> int:
        when = to_epoch(at)
        self._compared = NO_COMPARISONS
        if not totals:
            return 0
        try:
            with self._tx() as conn:
                for part in parts(dict.fromkeys(p for p in totals if p not in self._latest)):
                    self._latest.update(_latest(conn, list(part)))  # after a restart: every post
                plan = self._planned(conn, totals, when)
                if not plan.changes:
                    return 0
                series = _add_series(conn, [(p, compact(v)) for p, v in plan.fresh], when)
                names = {m for _, values in plan.changes for m in values}
                metric_ids = self._metric_ids(conn, names)
                conn.execute(
                    b"UPDATE series SET latest = u.latest, latest_at = greatest(latest_at, %s)"
                    b" FROM unnest(%s::text[], %s::bigint[]) AS u(latest, id)"
                    b" WHERE series.id = u.id",
                    [when, *columns([(compact(v), sid) for _, sid, v in plan.updates], 2)],
                )
                series.update((post_id, sid) for post_id, sid, _ in plan.updates)
                points = [  # float8 values: a read-only reading kept as it is may hold ints
                    (series[post_id], metric_ids[m], when, float(v))
                    for post_id, changed in plan.changes
                    for m, v in changed.items()
                ]
                conn.execute(
                    b"INSERT INTO snapshots SELECT * FROM"
                    b" unnest(%s::bigint[], %s::int[], %s::float8[], %s::float8[])"
                    b" ON CONFLICT (series, metric, at) DO UPDATE SET value = excluded.value",
                    columns(points, 4),
                )
        except BaseException:
            self._latest.clear()  # it may hold what was rolled back
            self._newest_at = None
            raise
        remember(self._latest, plan, series)
        self._compared = plan.compared
        self._newest_at = max(self._newest_at or when, when)
        return len(plan.changes)

    def _planned(
        self, conn: Conn, totals: Mapping[str, Mapping[str, float]], when: float
    ) -> SnapshotPlan:
        """As in the SQLite store: compared with the latest values, or, dated before a
        stored change (the clock went back), with the values held at its time."""
        if self._newest_at is None:
            found = conn.execute(b"SELECT coalesce(max(latest_at), 0) FROM series").fetchone()
            self._newest_at = found[0] if found else 0.0
        if when >= self._newest_at:
            return plan_snapshots(totals, self._latest)
        known = {self._latest[p][0]: p for p in totals if p in self._latest}
        names: dict[int, str] = dict(conn.execute(b"SELECT id, name FROM metric_names").fetchall())
        held = by_post(
            conn.execute(
                b"SELECT DISTINCT ON (series, metric) series, metric, value FROM snapshots"
                b" WHERE series = ANY(%s::bigint[]) AND at <= %s ORDER BY series, metric, at DESC",
                [list(known), when],
            ),
            known,
            names,
        )
        later = conn.execute(
            b"SELECT DISTINCT series, metric FROM snapshots"
            b" WHERE series = ANY(%s::bigint[]) AND at > %s",
            [list(known), when],
        ).fetchall()
        return plan_backdated(totals, self._latest, held, {(known[s], names[m]) for s, m in later})

    def _reconnected(self) -> None:
        super()._reconnected()
        self._latest.clear()
        self._newest_at = None

    @guarded
    def latest_totals(self, post_ids: Iterable[str]) -> dict[str, dict[str, float]]:
        rows = self._rows(
            "SELECT post_id, latest FROM series WHERE post_id = ANY(%s::text[])", [list(post_ids)]
        )
        return {
            post_id: {m: float(v) for m, v in json.loads(latest).items()}
            for post_id, latest in rows
        }

    @guarded
    def snapshots(
        self, post_ids: Iterable[str], since: datetime
    ) -> dict[str, tuple[Snapshot, ...]]:
        start = to_epoch(since)
        wanted = list(post_ids)
        names = {mid: name for mid, name in self._rows("SELECT id, name FROM metric_names")}
        ids = dict(self._rows("SELECT id, post_id FROM series WHERE post_id = ANY(%s)", [wanted]))
        moment = moments()
        baselines: dict[str, dict[str, tuple[datetime, float]]] = {}
        for series, metric, at, value in self._rows(
            "SELECT DISTINCT ON (series, metric) series, metric, at, value FROM snapshots"
            " WHERE series = ANY(%s::bigint[]) AND at <= %s ORDER BY series, metric, at DESC",
            [list(ids), start],
        ):
            baselines.setdefault(ids[series], {})[names[metric]] = (moment(at), value)
        changes: dict[str, list[tuple[datetime, str, float]]] = {}
        for series, metric, at, value in self._rows(
            "SELECT series, metric, at, value FROM snapshots"
            " WHERE series = ANY(%s::bigint[]) AND at > %s ORDER BY series, at, metric",
            [list(ids), start],
        ):
            changes.setdefault(ids[series], []).append((moment(at), names[metric], value))
        return {p: compose_snapshots(baselines.get(p, {}), changes.get(p, [])) for p in wanted}

    @guarded
    def prune_snapshots(self, before: datetime) -> int:
        with self._tx() as conn:
            return conn.execute(
                b"DELETE FROM snapshots AS old WHERE old.at < %(before)s AND EXISTS ("
                b" SELECT 1 FROM snapshots AS newer WHERE newer.series = old.series"
                b" AND newer.metric = old.metric AND newer.at > old.at"
                b" AND newer.at <= %(before)s)",
                {"before": to_epoch(before)},
            ).rowcount

    @guarded
    def top(self, metric: str, n: int) -> list[tuple[str, float]]:
        rows = self._rows(
            "SELECT post_id, value FROM (SELECT s.post_id,"
            " (s.latest::jsonb ->> %s)::float8 AS value FROM series AS s"
            " JOIN posts AS p ON p.post_id = s.post_id WHERE p.unavailable_at IS NULL) AS v"
            " WHERE value IS NOT NULL ORDER BY value DESC, post_id LIMIT %s",
            [metric, n],
        )
        return [(post_id, float(value)) for post_id, value in rows]


def _latest(conn: Conn, post_ids: list[str]) -> Latest:
    """Each known post's series and latest values."""
    if not post_ids:
        return {}
    rows = conn.execute(
        b"SELECT id, post_id, latest FROM series WHERE post_id = ANY(%s::text[])", [post_ids]
    ).fetchall()
    return recalled_latest(rows)


def _add_series(conn: Conn, fresh: list[tuple[str, str]], when: float) -> dict[str, int]:
    if not fresh:
        return {}
    rows = conn.execute(
        b"INSERT INTO series (post_id, latest, latest_at)"
        b" SELECT p, l, %s FROM unnest(%s::text[], %s::text[]) AS f(p, l) RETURNING post_id, id",
        [when, *columns(fresh, 2)],
    ).fetchall()
    return dict(rows)
