"""SIGKILL the commands that write to PostgreSQL, then check the next one works.

The PostgreSQL twin of ``crash_commands``: ``copy-store`` from a SQLite file into a new
PostgreSQL database, ``migrate`` on a database with its last migration pending (and
``outbox`` rows for it to index) and the hourly move of the current hour's rows. Each runs
in a Python child that counts events, as ``crash_commands``'s children do: SQLite's
progress calls, and PostgreSQL's statements (before each is sent and once it returned) and
rows written by COPY; it SIGKILLs itself at a seeded event among those a whole run on
another database made. Each kill and each whole run has a database of its own, made from
a template in the throwaway cluster. The same command is then run again to its end; the
database must then record what a run never killed records (``digest``, plus the
migrations applied and the indexes), and ``automation status`` must work on it.
"""

from __future__ import annotations

import random
import signal
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
import yaml
from crash_commands import _COMMAND, _COUNTED, _DIGESTED, Outcome, _hash, _mismatch, _run, _steps
from pg_cluster import Cluster

from automation.store import postgres_schema

__all__ = ["PgCase", "audit_pg_commands", "next_hour", "pg_cases", "pg_digest"]

# Added to ``crash_commands``'s counting child: PostgreSQL's statements and COPY's rows.
_COUNTED_PG = """
import psycopg
def _counted_call(method):
    def call(*args, **kwargs):
        _tick()
        out = method(*args, **kwargs)
        _tick()
        return out
    return call
for _cls, _name in ((psycopg.Cursor, "execute"), (psycopg.Cursor, "executemany")):
    setattr(_cls, _name, _counted_call(getattr(_cls, _name)))
_write_row = psycopg.Copy.write_row
def _counted_row(self, row):
    _tick()
    return _write_row(self, row)
psycopg.Copy.write_row = _counted_row
"""

_SCHEMA = {
    "migrations": "SELECT name FROM schema_migrations ORDER BY name",
    "indexes": "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
}


def pg_digest(url: str) -> dict[str, str]:
    """A hash of each table's recorded content, the migrations applied and the indexes."""
    with psycopg.connect(url) as conn:
        queries = {**_DIGESTED, **_SCHEMA}
        return {name: _hash(conn.execute(sql.encode()).fetchall()) for name, sql in queries.items()}


@dataclass(frozen=True)
class PgPlace:
    """A directory with a config naming its own database in the cluster."""

    root: Path
    url: str

    def args(self, *args: str) -> list[str]:
        return ["--config", str(self.root / "automation.yaml"), *args]


@dataclass(frozen=True)
class PgCase:
    """A command to kill: its arguments, how its database is made, what a rerun says
    (failing) when the killed run had done it all."""

    name: str
    args: Callable[[PgPlace], list[str]]
    make: Callable[[Callable[..., psycopg.Connection], str], None]  # (admin, name)
    script: str | None = None
    done: str | None = None


def _place(cluster: Cluster, config: Path, root: Path, case: PgCase) -> PgPlace:
    name = f"crash_{case.name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    case.make(cluster.admin, name)
    url = cluster.url(name)
    root.mkdir(parents=True, exist_ok=True)
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["database"] = url
    (root / "automation.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    if (config.parent / "rules").is_dir() and not (root / "rules").exists():
        (root / "rules").symlink_to(config.parent / "rules")
    return PgPlace(root, url)


def _argv(case: PgCase, p: PgPlace) -> list[str]:
    return [sys.executable, "-c", _COUNTED + _COUNTED_PG + (case.script or _COMMAND), *case.args(p)]


def kill_pg_case(case: PgCase, p: PgPlace, step: int, clean: PgPlace) -> Outcome:
    """Kill ``case`` in ``p`` at ``step``, rerun it to the end and compare the database
    with ``clean``'s."""
    killed = _run(_argv(case, p), p.root, step).returncode == -signal.SIGKILL
    problems = []
    again = _run(_argv(case, p), p.root)
    if again.returncode != 0 and not (case.done and case.done in again.stderr):
        problems.append(f"the rerun failed ({again.returncode}): {again.stderr.strip()[-500:]}")
    status = _run(_argv(PgCase("status", lambda q: q.args("status", "--json"), _none), p), p.root)
    if status.returncode != 0:
        problems.append(f"status failed: {status.stderr.strip()[-500:]}")
    problems += _mismatch("database", pg_digest(p.url), pg_digest(clean.url))
    return Outcome(case.name, step, killed, tuple(problems))


def _none(admin: Callable[..., psycopg.Connection], name: str) -> None:
    return None


def audit_pg_commands(
    cluster: Cluster,
    config: Path,
    root: Path,
    rng: random.Random,
    kills: int,
    all_cases: Sequence[PgCase],
) -> list[Outcome]:
    """Each case run once whole (its events counted), then ``kills`` times killed at a
    seeded event among them and rerun, each in a database of its own in ``cluster``."""
    outcomes = []
    for case in all_cases:
        clean = _place(cluster, config, root / f"pg-{case.name}-clean", case)
        steps = _steps(_run(_argv(case, clean), clean.root))
        for n, moment in enumerate(rng.randint(1, steps) for _ in range(kills)):
            p = _place(cluster, config, root / f"pg-{case.name}-{n}", case)
            outcomes.append(kill_pg_case(case, p, moment, clean))
    return outcomes


# A reading in the next hour moves the current hour's rows into the big tables.
_HOUR_MOVE = """
from datetime import UTC, datetime
from automation.config.database import PostgresDatabase
from automation.store.postgres import PostgresStore
at = datetime.fromtimestamp(float(sys.argv[2]), UTC)
with PostgresStore.open(PostgresDatabase.parse(sys.argv[1])) as store:
    store.record_totals(at, {"1": {"likes": 1.0}})
    store.record_hourly_totals(at, {"1": {"likes": 1.0}})
"""


def next_hour(url: str) -> str:
    """An instant in the hour after the newest snapshot of the database at ``url``."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT max(at) FROM all_snapshots").fetchone()
    assert row is not None and row[0] is not None, "the template has no snapshots"
    return str((int(row[0]) // 3600 + 1) * 3600 + 1)


def _empty(admin: Callable[..., psycopg.Connection], name: str) -> None:
    with admin() as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())


def _from(template: str) -> Callable[[Callable[..., psycopg.Connection], str], None]:
    def make(admin: Callable[..., psycopg.Connection], name: str) -> None:
        with admin() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}".encode())

    return make


def _last_pending(rows: int) -> Callable[[Callable[..., psycopg.Connection], str], None]:
    """A database with every migration but the last and ``rows`` outbox rows."""

    def make(admin: Callable[..., psycopg.Connection], name: str) -> None:
        _empty(admin, name)
        with admin(name) as conn:
            conn.execute(
                "CREATE TABLE schema_migrations (name text PRIMARY KEY,"
                " applied_at double precision NOT NULL)"
            )
            for migration, sql in postgres_schema.MIGRATIONS[:-1]:
                conn.execute(sql.encode())
                conn.execute("INSERT INTO schema_migrations VALUES (%s, 0)", [migration])
            conn.execute(
                "INSERT INTO outbox (id, firing_id, rule_id, post_id, idx, kind, payload,"
                " status, created_at) SELECT 'a' || n, 'f' || n, 'r' || n %% 7, 'p' || n %% 500,"
                " 0, 'like', '{}', 'done', n FROM generate_series(1, %s) AS n",
                [rows],
            )

    return make


def pg_cases(sqlite_source: Path, template: str, hour: str) -> list[PgCase]:
    """The commands the audit kills on PostgreSQL; ``sqlite_source``: a SQLite database
    for ``copy-store`` to copy; ``template``: a database the engine wrote (no one
    connected), for the hourly move at ``hour`` (``next_hour``)."""
    return [
        PgCase(
            "copy-store",
            lambda p: p.args("copy-store", str(sqlite_source), p.url),
            _empty,
            done="is not empty",
        ),
        PgCase("migrate", lambda p: p.args("migrate"), _last_pending(50_000)),
        PgCase(
            "hour-move",
            lambda p: [p.url, hour],
            _from(template),
            script=_HOUR_MOVE,
        ),
    ]
