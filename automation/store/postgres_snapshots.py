"""Metric snapshots in the PostgreSQL store: one row per changed value (a post's latest
values are its newest rows), baselines and changes for windows, hourly pruning, ``top``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from automation.core.facts import Snapshot
from automation.core.records import compose_snapshots, to_epoch
from automation.store.postgres_connection import (
    Conn,
    PostgresConnection,
    columns,
    guarded,
    hour_rows,
    move_hour_rows,
)
from automation.store.rows import moments, parts
from automation.store.snapshot_rows import (
    NO_COMPARISONS,
    HourRows,
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
                hour = self._hour_rows(conn)
                if hour.due(when):
                    _move_hour(conn, hour)
                series = _add_series(conn, [p for p, _ in plan.fresh])
                names = {m for _, values in plan.changes for m in values}
                metric_ids = self._metric_ids(conn, names)
                series.update((post_id, sid) for post_id, sid, _ in plan.updates)
                points = [  # float8 values: a read-only reading kept as it is may hold ints
                    (series[post_id], metric_ids[m], when, float(v))
                    for post_id, changed in plan.changes
                    for m, v in changed.items()
                ]
                conn.execute(
                    f"INSERT INTO {hour.table(when)} SELECT * FROM"
                    " unnest(%s::bigint[], %s::int[], %s::float8[], %s::float8[])"
                    " ON CONFLICT (series, metric, at) DO UPDATE SET value = excluded.value",
                    columns(points, 4),
                )
        except BaseException:
            self._latest.clear()  # it may hold what was rolled back
            self._hour = None
            raise
        remember(self._latest, plan, series)
        self._compared = plan.compared
        hour.written(when)
        return len(plan.changes)

    def _hour_rows(self, conn: Conn) -> HourRows:
        """Where the snapshot rows stand (read once), as in the SQLite store."""
        if self._hour is None:
            self._hour = hour_rows(conn, "snapshots", "at", float, empty=0)
        return self._hour

    def _planned(
        self, conn: Conn, totals: Mapping[str, Mapping[str, float]], when: float
    ) -> SnapshotPlan:
        """As in the SQLite store: compared with the latest values, or, dated before a
        stored change (the clock went back), with the values held at its time."""
        if when >= self._hour_rows(conn).newest_at:
            return plan_snapshots(totals, self._latest)
        known = {self._latest[p][0]: p for p in totals if p in self._latest}
        names: dict[int, str] = dict(conn.execute(b"SELECT id, name FROM metric_names").fetchall())
        held = by_post(
            conn.execute(
                b"SELECT DISTINCT ON (series, metric) series, metric, value FROM all_snapshots"
                b" WHERE series = ANY(%s::bigint[]) AND at <= %s ORDER BY series, metric, at DESC",
                [list(known), when],
            ),
            known,
            names,
        )
        later = conn.execute(
            b"SELECT DISTINCT series, metric FROM all_snapshots"
            b" WHERE series = ANY(%s::bigint[]) AND at > %s",
            [list(known), when],
        ).fetchall()
        return plan_backdated(totals, self._latest, held, {(known[s], names[m]) for s, m in later})

    def _reconnected(self) -> None:
        super()._reconnected()
        self._latest.clear()
        self._hour = None

    @guarded
    def latest_totals(self, post_ids: Iterable[str]) -> dict[str, dict[str, float]]:
        # by name, as the JSON they were once kept in had them: pages list them so
        out: dict[str, dict[str, float]] = {}
        for _, post_id, metric, value in _newest(self._connection(), list(post_ids)):
            out.setdefault(post_id, {})[metric] = value
        return {post_id: dict(sorted(values.items())) for post_id, values in out.items()}

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
            "SELECT DISTINCT ON (series, metric) series, metric, at, value FROM all_snapshots"
            " WHERE series = ANY(%s::bigint[]) AND at <= %s ORDER BY series, metric, at DESC",
            [list(ids), start],
        ):
            baselines.setdefault(ids[series], {})[names[metric]] = (moment(at), value)
        changes: dict[str, list[tuple[datetime, str, float]]] = {}
        for series, metric, at, value in self._rows(
            "SELECT series, metric, at, value FROM all_snapshots"
            " WHERE series = ANY(%s::bigint[]) AND at > %s ORDER BY series, at, metric",
            [list(ids), start],
        ):
            changes.setdefault(ids[series], []).append((moment(at), names[metric], value))
        return {p: compose_snapshots(baselines.get(p, {}), changes.get(p, [])) for p in wanted}

    @guarded
    def prune_snapshots(self, before: datetime) -> int:
        try:
            with self._tx() as conn:
                _move_hour(conn, self._hour_rows(conn))  # a row of the hour may prune older
                return conn.execute(
                    b"DELETE FROM snapshots AS old WHERE old.at < %(before)s AND EXISTS ("
                    b" SELECT 1 FROM snapshots AS newer WHERE newer.series = old.series"
                    b" AND newer.metric = old.metric AND newer.at > old.at"
                    b" AND newer.at <= %(before)s)",
                    {"before": to_epoch(before)},
                ).rowcount
        except BaseException:
            self._hour = None
            raise

    @guarded
    def top(self, metric: str, n: int) -> list[tuple[str, float]]:
        rows = self._rows(  # a key search per post for its newest value of the metric
            "SELECT s.post_id, x.value FROM metric_names AS m, series AS s"
            " JOIN posts AS p ON p.post_id = s.post_id CROSS JOIN LATERAL (SELECT value FROM"
            " all_snapshots WHERE series = s.id AND metric = m.id ORDER BY at DESC LIMIT 1) AS x"
            " WHERE m.name = %s AND p.unavailable_at IS NULL"
            " ORDER BY x.value DESC, s.post_id LIMIT %s",
            [metric, n],
        )
        return [(post_id, float(value)) for post_id, value in rows]


def _latest(conn: Conn, post_ids: list[str]) -> Latest:
    """Each known post's series and latest values."""
    return recalled_latest(_newest(conn, post_ids)) if post_ids else {}


def _newest(conn: Conn, post_ids: list[str]) -> list[tuple[int, str, str, float]]:
    """The newest snapshot row of each series and metric of ``post_ids``: (series, post,
    metric, value)."""
    rows = conn.execute(
        b"SELECT DISTINCT ON (x.series, x.metric) s.id, s.post_id, m.name, x.value"
        b" FROM series AS s JOIN all_snapshots AS x ON x.series = s.id"
        b" JOIN metric_names AS m ON m.id = x.metric WHERE s.post_id = ANY(%s::text[])"
        b" ORDER BY x.series, x.metric, x.at DESC",
        [post_ids],
    ).fetchall()
    return [(sid, post_id, name, value) for sid, post_id, name, value in rows]


def _move_hour(conn: Conn, hour: HourRows) -> None:
    """The small table's rows into the big one, in key order (in a write transaction)."""
    move_hour_rows(conn, hour, "series, metric, at")


def _add_series(conn: Conn, fresh: list[str]) -> dict[str, int]:
    if not fresh:
        return {}
    rows = conn.execute(
        b"INSERT INTO series (post_id) SELECT unnest(%s::text[]) RETURNING post_id, id", [fresh]
    ).fetchall()
    return dict(rows)
