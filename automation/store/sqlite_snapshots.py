"""Metric snapshots in the SQLite store: one row per changed value (a post's latest values
are its newest rows), baselines and changes for windows, hourly pruning, ``top``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from itertools import groupby
from operator import itemgetter

from automation.core.facts import Snapshot
from automation.core.records import compose_snapshots, to_epoch
from automation.store.rows import json_ids, moments, parts
from automation.store.snapshot_rows import (
    NO_COMPARISONS,
    HourRows,
    SnapshotPlan,
    by_post,
    plan_backdated,
    plan_snapshots,
    recalled_latest,
    remember,
)
from automation.store.sqlite_connection import (
    SqliteConnection,
    guarded,
    hour_rows,
    move_hour_rows,
)

__all__ = ["SnapshotQueries"]


class SnapshotQueries(SqliteConnection):
    @guarded
    def record_totals(self, at: datetime, totals: Mapping[str, Mapping[str, float]]) -> int:
        when = to_epoch(at)
        self._compared = NO_COMPARISONS
        if not totals:
            return 0
        try:
            with self._immediate() as conn:
                for part in parts(dict.fromkeys(p for p in totals if p not in self._latest)):
                    self._recall_latest(list(part))  # after a restart: every post
                plan = self._planned(totals, when)
                if not plan.changes:
                    return 0
                hour = self._hour_rows()
                if hour.due(when):
                    self._move_hour()
                series = self._add_series(plan.fresh)
                metric_ids = self._metric_ids({m for _, values in plan.changes for m in values})
                series.update((post_id, sid) for post_id, sid, _ in plan.updates)
                conn.executemany(  # rows as a generator: a first reading writes 700,000
                    f"INSERT OR REPLACE INTO {hour.table(when)} VALUES (?, ?, ?, ?)",
                    (
                        (series[post_id], metric_ids[m], when, v)
                        for post_id, changed in plan.changes
                        for m, v in changed.items()
                    ),
                )
        except BaseException:
            self._latest.clear()  # it may hold what was rolled back
            self._hour = None
            raise
        remember(self._latest, plan, series)
        self._compared = plan.compared
        hour.written(when)
        return len(plan.changes)

    def _hour_rows(self) -> HourRows:
        """Where the snapshot rows stand (read once)."""
        if self._hour is None:
            self._hour = hour_rows(self._conn, "snapshots", "at", float, empty=0)
        return self._hour

    def _move_hour(self) -> None:
        """The small table's rows into the big one, in key order (in a write transaction)."""
        move_hour_rows(self._conn, self._hour_rows(), "series, metric, at")

    def _planned(self, totals: Mapping[str, Mapping[str, float]], when: float) -> SnapshotPlan:
        """What a reading writes: compared with the latest values, or, dated before a
        stored change (the clock went back), with the values held at its time."""
        if when >= self._hour_rows().newest_at:
            return plan_snapshots(totals, self._latest)
        known = {self._latest[p][0]: p for p in totals if p in self._latest}
        names = dict(self._rows("SELECT id, name FROM metric_names"))
        chosen = "series IN (SELECT value FROM json_each(:ids))"
        given = {"ids": json.dumps(list(known)), "when": when}
        rows = self._rows(_newest_rows(f"{chosen} AND at <= :when"), given)
        held = by_post(((s, m, v) for s, m, _, v in rows), known, names)
        later = self._rows(  # each table searched by its key, as in ``_newest_rows``
            " UNION ".join(
                f"SELECT series, metric FROM {table} WHERE {chosen} AND at > :when"
                for table in ("snapshots", "snapshots_hour")
            ),
            given,
        )
        return plan_backdated(totals, self._latest, held, {(known[s], names[m]) for s, m in later})

    def _recall_latest(self, post_ids: list[str]) -> None:
        """Read the series and latest values of posts not remembered yet."""
        if post_ids:
            self._latest.update(recalled_latest(self._newest(post_ids)))

    def _newest(self, post_ids: Iterable[str]) -> list[tuple[int, str, str, float]]:
        """The newest snapshot row of each series and metric of ``post_ids``: (series,
        post, metric, value)."""
        wanted = json_ids(post_ids)
        names = dict(self._rows("SELECT id, name FROM metric_names"))
        chosen = (
            "SELECT id, post_id FROM series WHERE post_id IN (SELECT value FROM json_each(:ids))"
        )
        ids = dict(self._rows(chosen, {"ids": wanted}))
        rows = self._rows(_newest_rows(f"series IN (SELECT id FROM ({chosen}))"), {"ids": wanted})
        return [(sid, ids[sid], names[m], value) for sid, m, _, value in rows]

    def _add_series(self, fresh: list[tuple[str, Mapping[str, float]]]) -> dict[str, int]:
        """Series for posts seen for the first time; their ids by post."""
        if not fresh:
            return {}
        self._conn.executemany(
            "INSERT INTO series (post_id) VALUES (?)", ((post_id,) for post_id, _ in fresh)
        )
        return {
            post_id: sid
            for sid, post_id in self._rows(
                "SELECT id, post_id FROM series WHERE post_id IN (SELECT value FROM json_each(?))",
                [json_ids(post_id for post_id, _ in fresh)],
            )
        }

    @guarded
    def latest_totals(self, post_ids: Iterable[str]) -> dict[str, dict[str, float]]:
        # by name, as the JSON they were once kept in had them: pages list them so
        out: dict[str, dict[str, float]] = {}
        for _, post_id, metric, value in self._newest(post_ids):
            out.setdefault(post_id, {})[metric] = value
        return {post_id: dict(sorted(values.items())) for post_id, values in out.items()}

    @guarded
    def snapshots(
        self, post_ids: Iterable[str], since: datetime
    ) -> dict[str, tuple[Snapshot, ...]]:
        start = to_epoch(since)
        wanted = list(post_ids)
        names = {mid: name for mid, name in self._rows("SELECT id, name FROM metric_names")}
        chosen = "(SELECT id FROM series WHERE post_id IN (SELECT value FROM json_each(:ids)))"
        ids = {
            series: post_id
            for series, post_id in self._rows(
                "SELECT id, post_id FROM series WHERE post_id IN (SELECT value FROM json_each(?))",
                [json_ids(wanted)],
            )
        }
        moment = moments()
        baselines: dict[str, dict[str, tuple[datetime, float]]] = {}
        # SQLite takes the bare ``value`` from the row holding max(at).
        for series, metric, at, value in self._conn.execute(  # the newer table's last
            _newest_rows(f"series IN {chosen} AND at <= :start"),
            {"ids": json_ids(wanted), "start": start},
        ):
            baselines.setdefault(ids[series], {})[names[metric]] = (moment(at), value)
        composed: dict[str, tuple[Snapshot, ...]] = {}
        rows = self._conn.execute(
            "SELECT series, metric, at, value FROM all_snapshots"
            f" WHERE series IN {chosen} AND at > :start ORDER BY series, at, metric",
            {"ids": json_ids(wanted), "start": start},
        )
        for series, changes in groupby(rows, itemgetter(0)):  # a post's rows, then the next's
            post_id = ids[series]
            composed[post_id] = compose_snapshots(
                baselines.get(post_id, {}),
                ((moment(at), names[metric], value) for _, metric, at, value in changes),
            )
        return {
            p: composed[p] if p in composed else compose_snapshots(baselines.get(p, {}), ())
            for p in wanted
        }

    @guarded
    def prune_snapshots(self, before: datetime) -> int:
        try:
            with self._immediate() as conn:
                self._move_hour()  # a row of the hour may be the newer one that prunes
                cursor = conn.execute(
                    "DELETE FROM snapshots AS old WHERE old.at < :before AND EXISTS ("
                    " SELECT 1 FROM snapshots AS newer WHERE newer.series = old.series"
                    " AND newer.metric = old.metric AND newer.at > old.at"
                    " AND newer.at <= :before)",
                    {"before": to_epoch(before)},
                )
                return cursor.rowcount
        except BaseException:
            self._hour = None
            raise

    @guarded
    def top(self, metric: str, n: int) -> list[tuple[str, float]]:
        newest = (  # a key search per post for its newest value of the metric
            "(SELECT x.value FROM {} AS x WHERE x.series = s.id AND x.metric = m.id"
            " ORDER BY x.at DESC LIMIT 1)"
        )
        rows = self._rows(  # the small table's rows are the newer (``HourRows``)
            "SELECT post_id, value FROM (SELECT s.post_id, coalesce("
            f"{newest.format('snapshots_hour')}, {newest.format('snapshots')}) AS value"
            " FROM metric_names AS m, series AS s JOIN posts AS p ON p.post_id = s.post_id"
            " WHERE m.name = ? AND p.unavailable_at IS NULL)"
            " WHERE value IS NOT NULL ORDER BY value DESC, post_id LIMIT ?",
            [metric, n],
        )
        return [(post_id, float(value)) for post_id, value in rows]


def _newest_rows(where: str) -> str:
    """Each series and metric's newest row where ``where`` holds, as (series, metric, at,
    value), from each table in turn: the small table's rows come last and are the newer
    (``HourRows``), so a caller keeping the last row of each keeps the newest. Grouped in
    each table by its key, not through ``all_snapshots``, which SQLite would scan whole."""
    return " UNION ALL ".join(
        f"SELECT series, metric, max(at), value FROM {table} WHERE {where}"  # max(at)'s value
        " GROUP BY series, metric"
        for table in ("snapshots", "snapshots_hour")
    )
