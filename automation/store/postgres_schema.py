"""The PostgreSQL store's schema, as migrations: applied in order, each once, each in a
transaction with its record, so an upgraded engine brings an old database up to date.

Never edit an applied migration; add the next one (and its SQLite twin in
``migrations``). The tables are the SQLite store's, column for column, so ``copy-store``
moves rows between them unchanged and both stores share ``rows``: times are epoch seconds
(``double precision``), flags are integers. What PostgreSQL adds is leadership:
``leadership`` holds the epoch of the engine that acts, and ``outbox.claim`` the term under
which an action was handed out (``postgres_leadership``).

Engines that start together migrate one at a time: ``apply`` holds a transaction-level
advisory lock, so the second finds the work done. A command migrates only while no engine
leads: with migrations pending, an engine that leads runs an older version, which goes on
writing as its schema was (its store checks the schema only when it takes the lead), so
``apply`` takes the lead's lock for the time of the migrations or refuses.
"""

from __future__ import annotations

import psycopg

from automation.core.errors import SchemaNewer, StoreError
from automation.store.postgres_leadership import LOCK_KEY

__all__ = ["MIGRATIONS", "applied", "apply", "pending", "refuse_newer"]

_LOCK = 0x6175746F6D696772  # pg_advisory_xact_lock key of migrations ("automigr")

MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "m001_initial",
        """
        CREATE TABLE posts (
            post_id text PRIMARY KEY, account text, created_at double precision NOT NULL,
            source text NOT NULL, first_seen double precision NOT NULL,
            unavailable_at double precision);
        CREATE TABLE since_ids (account text PRIMARY KEY, post_id text NOT NULL);
        CREATE TABLE series (
            id bigserial PRIMARY KEY, post_id text NOT NULL UNIQUE, latest text NOT NULL,
            latest_at double precision NOT NULL);
        CREATE TABLE metric_names (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
        CREATE TABLE snapshots (
            series bigint NOT NULL, metric integer NOT NULL, at double precision NOT NULL,
            value double precision NOT NULL, PRIMARY KEY (series, metric, at));
        CREATE TABLE rule_versions (
            rule_id text PRIMARY KEY, fingerprint text NOT NULL,
            since double precision NOT NULL);
        CREATE TABLE rule_states (
            rule_id text NOT NULL, post_id text NOT NULL, fingerprint text NOT NULL,
            holding_since double precision, last_truth integer,
            last_fired_at double precision, milestone integer NOT NULL,
            done integer NOT NULL, fires integer NOT NULL, PRIMARY KEY (rule_id, post_id));
        CREATE TABLE firings (
            seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE, rule_id text NOT NULL,
            post_id text NOT NULL, key text NOT NULL, kind text NOT NULL,
            at double precision NOT NULL, milestone integer, metrics text NOT NULL,
            rearmed_at double precision);
        CREATE INDEX firings_rule_at ON firings (rule_id, at);
        CREATE INDEX firings_post_at ON firings (post_id, at);
        CREATE INDEX firings_at ON firings (at);
        CREATE UNIQUE INDEX firings_live_key ON firings (rule_id, post_id, key)
            WHERE rearmed_at IS NULL;
        CREATE TABLE outbox (
            seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE, firing_id text NOT NULL,
            rule_id text NOT NULL, post_id text NOT NULL, idx integer NOT NULL,
            kind text NOT NULL, payload text NOT NULL, status text NOT NULL,
            attempts integer NOT NULL DEFAULT 0, created_at double precision NOT NULL,
            next_attempt_at double precision, last_error text, digest text, claim bigint);
        CREATE INDEX outbox_firing ON outbox (firing_id);
        CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
        CREATE INDEX outbox_digest ON outbox (digest) WHERE digest IS NOT NULL;
        CREATE TABLE attempts (
            action_id text NOT NULL, number integer NOT NULL, at double precision NOT NULL,
            outcome text NOT NULL, error text, next_attempt_at double precision,
            PRIMARY KEY (action_id, number));
        CREATE TABLE budget (api text NOT NULL, at double precision NOT NULL);
        CREATE INDEX budget_api_at ON budget (api, at);
        CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
        CREATE TABLE export_parts (
            run text NOT NULL, part text NOT NULL, at double precision NOT NULL,
            data text NOT NULL, PRIMARY KEY (run, part));
        CREATE INDEX export_parts_at ON export_parts (at);
        CREATE TABLE hourly_posts (id bigserial PRIMARY KEY, post_id text NOT NULL UNIQUE);
        CREATE TABLE hourly_totals (
            post bigint NOT NULL, metric integer NOT NULL, hour integer NOT NULL,
            value double precision NOT NULL, PRIMARY KEY (post, metric, hour));
        CREATE TABLE hourly_counts (
            post bigint NOT NULL, metric integer NOT NULL, hour integer NOT NULL,
            value double precision NOT NULL, PRIMARY KEY (post, metric, hour));
        CREATE TABLE hourly_spans (
            post bigint NOT NULL, metric integer NOT NULL, kind integer NOT NULL,
            lo integer NOT NULL, hi integer NOT NULL, PRIMARY KEY (post, metric, kind, lo));
        CREATE TABLE pauses (
            rule_id text PRIMARY KEY, paused_at double precision NOT NULL,
            paused_by text NOT NULL, until double precision, reason text NOT NULL DEFAULT '',
            resumed_at double precision, resumed_by text,
            catch_up integer NOT NULL DEFAULT 0);
        CREATE TABLE changes (
            seq bigserial PRIMARY KEY, at double precision NOT NULL, by text NOT NULL,
            what text NOT NULL, target text NOT NULL, detail text NOT NULL DEFAULT '');
        CREATE INDEX changes_at ON changes (at);
        CREATE SEQUENCE terms;
        CREATE TABLE leadership (
            id integer PRIMARY KEY CHECK (id = 1), epoch bigint NOT NULL,
            leader text NOT NULL, since double precision NOT NULL);
        INSERT INTO leadership VALUES (1, 0, '', 0);
        """,
    ),
    (
        # a post's latest values are its newest snapshot rows (SQLite's m007)
        "m002_latest_from_snapshots",
        """
        ALTER TABLE series DROP COLUMN latest, DROP COLUMN latest_at;
        """,
    ),
    (
        # the current hour's snapshot rows apart, moved once an hour (SQLite's m008)
        "m003_snapshots_of_the_hour",
        """
        CREATE TABLE snapshots_hour (
            series bigint NOT NULL, metric integer NOT NULL, at double precision NOT NULL,
            value double precision NOT NULL, PRIMARY KEY (series, metric, at));
        CREATE VIEW all_snapshots AS SELECT series, metric, at, value FROM snapshots
            UNION ALL SELECT series, metric, at, value FROM snapshots_hour;
        """,
    ),
    (
        # the current hour's hourly totals apart, moved once an hour (SQLite's m009)
        "m004_hourly_totals_of_the_hour",
        """
        CREATE TABLE hourly_totals_hour (
            post bigint NOT NULL, metric integer NOT NULL, hour integer NOT NULL,
            value double precision NOT NULL, PRIMARY KEY (post, metric, hour));
        CREATE VIEW all_hourly_totals AS SELECT post, metric, hour, value FROM hourly_totals
            UNION ALL SELECT post, metric, hour, value FROM hourly_totals_hour;
        """,
    ),
    (
        # the outbox newest first, whole or by rule or post (SQLite's m010); by status it
        # is read by outbox_due or outbox_created, which the planner's statistics choose
        # between (SQLite keeps none, so it has outbox_status_created too)
        "m005_outbox_by_creation",
        """
        CREATE INDEX outbox_created ON outbox (created_at);
        CREATE INDEX outbox_rule_id_created ON outbox (rule_id, created_at);
        CREATE INDEX outbox_post_id_created ON outbox (post_id, created_at);
        """,
    ),
    (
        # the actions in each status, kept by triggers on the outbox (SQLite's m011): once
        # a statement, from its rows before and after (a COPY or the prune's one DELETE of
        # thousands changes each count once), each status's row taken in order so that two
        # writers never wait for each other; making the triggers locks the outbox against
        # writes until the counts are filled from it
        "m006_outbox_counts",
        """
        CREATE TABLE outbox_counts (status text PRIMARY KEY, n bigint NOT NULL);
        CREATE FUNCTION outbox_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO outbox_counts SELECT status, count(*) FROM new_rows
                    GROUP BY status ORDER BY status
                    ON CONFLICT (status) DO UPDATE SET n = outbox_counts.n + excluded.n;
            ELSIF TG_OP = 'DELETE' THEN
                INSERT INTO outbox_counts SELECT status, -count(*) FROM old_rows
                    GROUP BY status ORDER BY status
                    ON CONFLICT (status) DO UPDATE SET n = outbox_counts.n + excluded.n;
            ELSIF TG_OP = 'UPDATE' THEN
                INSERT INTO outbox_counts SELECT status, sum(change) FROM (
                        SELECT status, 1 FROM new_rows UNION ALL SELECT status, -1 FROM old_rows
                    ) AS c (status, change) GROUP BY status HAVING sum(change) <> 0
                    ORDER BY status
                    ON CONFLICT (status) DO UPDATE SET n = outbox_counts.n + excluded.n;
            ELSE
                DELETE FROM outbox_counts;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER outbox_counted AFTER INSERT ON outbox REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION outbox_counts_change();
        CREATE TRIGGER outbox_uncounted AFTER DELETE ON outbox REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION outbox_counts_change();
        CREATE TRIGGER outbox_recounted AFTER UPDATE ON outbox
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION outbox_counts_change();
        CREATE TRIGGER outbox_counts_cleared AFTER TRUNCATE ON outbox
            FOR EACH STATEMENT EXECUTE FUNCTION outbox_counts_change();
        INSERT INTO outbox_counts SELECT status, count(*) FROM outbox GROUP BY status;
        """,
    ),
)


def _ensure_table(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name text PRIMARY KEY, applied_at double precision NOT NULL)"
    )


def applied(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """The migrations this database has, in the order they were applied."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return []
    rows = conn.execute("SELECT name FROM schema_migrations ORDER BY applied_at, name")
    return [str(name) for (name,) in rows.fetchall()]


def refuse_newer(database: object, conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Refuse a database with migrations this version does not have: a newer one wrote it."""
    known = {name for name, _ in MIGRATIONS}
    if newer := [name for name in applied(conn) if name not in known]:
        raise SchemaNewer(database, newer)


def pending(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    done = set(applied(conn))
    return [name for name, _ in MIGRATIONS if name not in done]


def apply(conn: psycopg.Connection[tuple[object, ...]], *, leading: bool = False) -> list[str]:
    """Apply what is pending, each migration in a transaction with its record; returns the
    names applied. ``conn`` is in autocommit mode. Unless the caller leads (an engine
    opening its store under its epoch), refuse while an engine leads (module docstring)."""
    if leading or not pending(conn):
        return _apply(conn)
    won = conn.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()
    if not won or not won[0]:
        raise _engine_leads(conn)
    try:
        return _apply(conn)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def _engine_leads(conn: psycopg.Connection[tuple[object, ...]]) -> StoreError:
    row = conn.execute("SELECT leader, epoch FROM leadership WHERE id = 1").fetchone()
    who = f" ({row[0]}, epoch {row[1]})" if row else ""
    return StoreError(
        f"cannot migrate the database {conn.info.dbname}: an engine leads it{who}, and it"
        " runs the version before this one, which would go on writing as its schema was:"
        " stop the engine on every machine (systemctl stop automation), run"
        " 'automation migrate' again, then start the upgraded engines"
    )


def _apply(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    done: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        _ensure_table(conn)
    for name, sql in MIGRATIONS:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
            found = conn.execute("SELECT 1 FROM schema_migrations WHERE name = %s", [name])
            if found.fetchone():
                continue
            conn.execute(sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations VALUES (%s, extract(epoch FROM now()))", [name]
            )
            done.append(name)
    return done
