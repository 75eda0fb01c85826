"""The state database's schema, as sqlite-utils migrations: applied in order, each once,
each in a transaction with its record, so an upgraded engine brings an old file up to date.

Never edit an applied migration; add the next one. Times are epoch seconds (REAL), as
``records.to_epoch`` makes them. No table has a place for credentials: actions store
rendered payloads that only name secrets.

Snapshots are the bulk of the file. They hold one row per (post, metric, time) and only
for values that changed, keyed by small integers for the post (``series``) and the metric
(``metric_names``), in a WITHOUT ROWID table whose key is the index the reads use; a
post's latest values are its newest rows (m007). The current hour's rows wait in a small
table of the same shape and are moved into the big one once an hour, so a changed post's
leaf page of the big table is written once an hour, not every cycle; readers see both
through the ``all_snapshots`` view (m008). The current hour's hourly totals wait alike in
``hourly_totals_hour`` (m009).

The outbox is read newest first (``actions``: the dashboard's actions page and
``automation actions``), whole or by status, rule, post or creation time; its indexes on
``created_at`` alone and after each of those columns (m010) let every such read stop at
its page instead of sorting the whole outbox. How many actions are in each status is kept
in ``outbox_counts`` by triggers on the outbox (m011), so counting them reads a few rows.
"""

from __future__ import annotations

from functools import cache

from sqlite_utils import Database, Migrations

__all__ = ["MIGRATIONS", "unknown_migrations"]

MIGRATIONS = Migrations("automation")


@cache
def _known() -> frozenset[str]:
    """The names of every migration this version has (all pending on an empty database)."""
    return frozenset(m.name for m in MIGRATIONS.pending(Database(memory=True)))


def unknown_migrations(db: Database) -> list[str]:
    """The migrations the file has that this version does not: a newer one wrote it."""
    return [m.name for m in MIGRATIONS.applied(db) if m.name not in _known()]


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    db.table("posts").create(
        {
            "post_id": str,
            "account": str,
            "created_at": float,
            "source": str,
            "first_seen": float,
            "unavailable_at": float,
        },
        pk="post_id",
        not_null={"created_at", "source", "first_seen"},
    )
    db.table("since_ids").create(
        {"account": str, "post_id": str}, pk="account", not_null={"post_id"}
    )
    _create_snapshot_tables(db)
    db.table("rule_versions").create(
        {"rule_id": str, "fingerprint": str, "since": float},
        pk="rule_id",
        not_null={"fingerprint", "since"},
    )
    db.table("rule_states").create(
        {
            "rule_id": str,
            "post_id": str,
            "fingerprint": str,
            "holding_since": float,
            "last_truth": int,
            "last_fired_at": float,
            "milestone": int,
            "done": int,
            "fires": int,
        },
        pk=("rule_id", "post_id"),
        not_null={"fingerprint", "milestone", "done", "fires"},
    )
    _create_ledger_tables(db)
    db.table("budget").create({"api": str, "at": float}, not_null={"api", "at"})
    db.table("budget").create_index(["api", "at"])
    db.table("meta").create({"key": str, "value": str}, pk="key", not_null={"value"})


def _create_snapshot_tables(db: Database) -> None:
    db.table("series").create(
        {"id": int, "post_id": str, "latest": str, "latest_at": float},
        pk="id",
        not_null={"post_id", "latest", "latest_at"},
    )
    db.table("series").create_index(["post_id"], unique=True)
    db.table("metric_names").create({"id": int, "name": str}, pk="id", not_null={"name"})
    db.table("metric_names").create_index(["name"], unique=True)
    # sqlite-utils cannot declare WITHOUT ROWID; without it the key would be stored twice.
    db.execute(
        "CREATE TABLE snapshots ("
        " series INTEGER NOT NULL, metric INTEGER NOT NULL, at REAL NOT NULL,"
        " value REAL NOT NULL, PRIMARY KEY (series, metric, at)) WITHOUT ROWID"
    )


def _create_ledger_tables(db: Database) -> None:
    db.table("firings").create(
        {
            "seq": int,
            "id": str,
            "rule_id": str,
            "post_id": str,
            "key": str,
            "kind": str,
            "at": float,
            "milestone": int,
            "metrics": str,
            "rearmed_at": float,
        },
        pk="seq",
        not_null={"id", "rule_id", "post_id", "key", "kind", "at", "metrics"},
    )
    db.table("firings").create_index(["id"], unique=True)
    db.table("firings").create_index(["rule_id", "at"])
    db.table("firings").create_index(["post_id", "at"])
    db.table("firings").create_index(["at"])
    # The ledger's promise: one live firing per (rule, post, key); rearmed ones step aside.
    db.execute(
        "CREATE UNIQUE INDEX firings_live_key ON firings (rule_id, post_id, key)"
        " WHERE rearmed_at IS NULL"
    )
    db.table("outbox").create(
        {
            "seq": int,
            "id": str,
            "firing_id": str,
            "rule_id": str,
            "post_id": str,
            "idx": int,
            "kind": str,
            "payload": str,
            "status": str,
            "attempts": int,
            "created_at": float,
            "next_attempt_at": float,
            "last_error": str,
        },
        pk="seq",
        not_null={"id", "firing_id", "rule_id", "post_id", "idx", "kind", "payload", "status"},
    )
    db.table("outbox").create_index(["id"], unique=True)
    db.table("outbox").create_index(["firing_id"])
    db.table("outbox").create_index(["status", "next_attempt_at"])
    db.table("attempts").create(
        {
            "action_id": str,
            "number": int,
            "at": float,
            "outcome": str,
            "error": str,
            "next_attempt_at": float,
        },
        pk=("action_id", "number"),
        not_null={"at", "outcome"},
    )


@MIGRATIONS()
def m002_export_parts(db: Database) -> None:
    """What an interrupted ``metrics`` export already fetched, kept for a day so that
    running the same command again resumes instead of asking the API twice."""
    db.table("export_parts").create(
        {"run": str, "part": str, "at": float, "data": str},
        pk=("run", "part"),
        not_null={"at", "data"},
    )
    db.table("export_parts").create_index(["at"])


@MIGRATIONS()
def m003_hourly_history(db: Database) -> None:
    """The hourly history (``automation.core.hours``): totals as polled and counts as the
    API reports them, one row per (post, metric, hour) and only where there is something
    to say; ``hourly_spans`` says which hours are known (kind 0 polled, 1 counted), so a
    missing row means "unchanged" or "none", never "not known"."""
    db.table("hourly_posts").create({"id": int, "post_id": str}, pk="id", not_null={"post_id"})
    db.table("hourly_posts").create_index(["post_id"], unique=True)
    for table in ("hourly_totals", "hourly_counts"):
        db.execute(
            f"CREATE TABLE {table} ("
            " post INTEGER NOT NULL, metric INTEGER NOT NULL, hour INTEGER NOT NULL,"
            " value REAL NOT NULL, PRIMARY KEY (post, metric, hour)) WITHOUT ROWID"
        )
    db.execute(
        "CREATE TABLE hourly_spans ("
        " post INTEGER NOT NULL, metric INTEGER NOT NULL, kind INTEGER NOT NULL,"
        " lo INTEGER NOT NULL, hi INTEGER NOT NULL,"
        " PRIMARY KEY (post, metric, kind, lo)) WITHOUT ROWID"
    )


@MIGRATIONS()
def m004_pauses(db: Database) -> None:
    """Rules paused by hand (``rule_id`` ``*`` for all of them), and who did it."""
    db.execute(
        "CREATE TABLE pauses ("
        " rule_id TEXT PRIMARY KEY, paused_at REAL NOT NULL, paused_by TEXT NOT NULL,"
        " until REAL, reason TEXT NOT NULL DEFAULT '', resumed_at REAL, resumed_by TEXT,"
        " catch_up INTEGER NOT NULL DEFAULT 0)"
    )


@MIGRATIONS()
def m005_changes(db: Database) -> None:
    """Changes made by hand (``what``: retry, pause, resume, ...), who made them and when."""
    db.execute(
        "CREATE TABLE changes (at REAL NOT NULL, by TEXT NOT NULL, what TEXT NOT NULL,"
        " target TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '')"
    )
    db.execute("CREATE INDEX changes_at ON changes (at)")


@MIGRATIONS()
def m006_digests(db: Database) -> None:
    """The digest an action is sent in (``digest: 15m`` webhooks): its actions are handed
    out, sent and retried together."""
    db.execute("ALTER TABLE outbox ADD COLUMN digest TEXT")
    db.execute("CREATE INDEX outbox_digest ON outbox (digest) WHERE digest IS NOT NULL")


@MIGRATIONS()
def m007_latest_from_snapshots(db: Database) -> None:
    """A post's latest values are its newest snapshot rows (which the prune keeps), no
    longer written again as JSON in ``series`` on every change."""
    # rebuilt by sqlite-utils, not ALTER TABLE ... DROP COLUMN: that needs SQLite 3.35,
    # newer than some systems' Python 3.11 links, and every new database runs this
    db.table("series").transform(drop={"latest", "latest_at"})


@MIGRATIONS()
def m008_snapshots_of_the_hour(db: Database) -> None:
    """The current hour's snapshot rows in ``snapshots_hour``, every one dated after each
    row of ``snapshots`` (``snapshot_rows.HourRows``); ``all_snapshots`` reads both."""
    db.execute(
        "CREATE TABLE snapshots_hour ("
        " series INTEGER NOT NULL, metric INTEGER NOT NULL, at REAL NOT NULL,"
        " value REAL NOT NULL, PRIMARY KEY (series, metric, at)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE VIEW all_snapshots AS SELECT series, metric, at, value FROM snapshots"
        " UNION ALL SELECT series, metric, at, value FROM snapshots_hour"
    )


@MIGRATIONS()
def m009_hourly_totals_of_the_hour(db: Database) -> None:
    """The current hour's hourly totals in ``hourly_totals_hour``, every one of a later
    hour than each row of ``hourly_totals`` (``snapshot_rows.HourRows``); the readers
    search each table by its key."""
    db.execute(
        "CREATE TABLE hourly_totals_hour ("
        " post INTEGER NOT NULL, metric INTEGER NOT NULL, hour INTEGER NOT NULL,"
        " value REAL NOT NULL, PRIMARY KEY (post, metric, hour)) WITHOUT ROWID"
    )


@MIGRATIONS()
def m010_outbox_by_creation(db: Database) -> None:
    """The outbox newest first, whole or by status, rule or post: ``actions`` reads a page
    of it without sorting every action (``seq``, the rowid, breaks ties in each)."""
    db.execute("CREATE INDEX outbox_created ON outbox (created_at)")
    db.execute("CREATE INDEX outbox_status_created ON outbox (status, created_at)")
    db.execute("CREATE INDEX outbox_rule_id_created ON outbox (rule_id, created_at)")
    db.execute("CREATE INDEX outbox_post_id_created ON outbox (post_id, created_at)")


@MIGRATIONS()
def m011_outbox_counts(db: Database) -> None:
    """How many actions are in each status, kept by triggers in the transaction of each
    write that queues, changes or removes an action (a cycle, an attempt, a retry, the
    prune, a hand edit), filled from the outbox as it is: ``action_counts()`` reads these
    few rows instead of counting every action."""
    db.execute(
        "CREATE TABLE outbox_counts (status TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID"
    )
    db.execute("INSERT INTO outbox_counts SELECT status, count(*) FROM outbox GROUP BY status")
    counted = (
        "INSERT INTO outbox_counts (status, n) VALUES (NEW.status, 1)"
        " ON CONFLICT (status) DO UPDATE SET n = n + 1;"
    )
    uncounted = "UPDATE outbox_counts SET n = n - 1 WHERE status = OLD.status;"
    db.execute(f"CREATE TRIGGER outbox_counted AFTER INSERT ON outbox BEGIN {counted} END")
    db.execute(f"CREATE TRIGGER outbox_uncounted AFTER DELETE ON outbox BEGIN {uncounted} END")
    db.execute(
        "CREATE TRIGGER outbox_recounted AFTER UPDATE OF status ON outbox"
        f" WHEN OLD.status IS NOT NEW.status BEGIN {uncounted} {counted} END"
    )
