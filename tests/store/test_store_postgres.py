"""What only the PostgreSQL store promises: migrations applied once and on purpose, claims
that several engines share, writes fenced by leadership, clear errors without passwords,
and a connection made again after it broke."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from pg_cluster import Cluster

from automation.config.database import PostgresDatabase
from automation.core.errors import LeadershipLost, SchemaNewer, SchemaOutdated, StoreError
from automation.core.facts import RuleState
from automation.core.pauses import PauseRecord
from automation.store import ActionRecord, CycleWrite, FiringRecord, postgres_schema
from automation.store.base import STATES_CHANGED
from automation.store.opening import migrate
from automation.store.postgres import PostgresStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def fired(fid: str, *, post_id: str = "p1", n_actions: int = 1) -> FiringRecord:
    return FiringRecord(
        id=fid,
        rule_id="r1",
        post_id=post_id,
        key="once",
        kind="fired",
        at=T0,
        metrics={"likes": 100.0},
        actions=tuple(ActionRecord(i, "log", '{"message":"m"}') for i in range(n_actions)),
    )


@pytest.fixture
def database(postgres_cluster: Cluster) -> PostgresDatabase:
    return postgres_cluster.create_database()


@pytest.fixture
def admin(database: PostgresDatabase) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(database.url, autocommit=True) as conn:
        yield conn


def open_store(database: PostgresDatabase, epoch: int | None = None) -> PostgresStore:
    return PostgresStore.open(database, migrate="auto", epoch=epoch)


def lead(admin: psycopg.Connection[tuple[object, ...]], epoch: int) -> None:
    """What a takeover does to the table: the epoch moves on."""
    admin.execute("UPDATE leadership SET epoch = %s, leader = %s", [epoch, f"engine {epoch}"])


def test_migrations_apply_once_each_and_in_order(admin, database) -> None:
    assert postgres_schema.pending(admin) == [name for name, _ in postgres_schema.MIGRATIONS]
    assert postgres_schema.apply(admin) == [name for name, _ in postgres_schema.MIGRATIONS]
    assert postgres_schema.apply(admin) == []
    assert postgres_schema.pending(admin) == []
    assert postgres_schema.applied(admin) == [name for name, _ in postgres_schema.MIGRATIONS]


def test_a_database_from_before_m002_reads_its_latest_values_from_the_snapshots(
    admin, database
) -> None:
    name, first = postgres_schema.MIGRATIONS[0]
    admin.execute(first.encode())
    admin.execute("CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at float8)")
    admin.execute("INSERT INTO schema_migrations VALUES (%s, 0)", [name])
    admin.execute("INSERT INTO posts VALUES ('1', 'brand', 0, 'timeline', 0, NULL)")
    admin.execute("INSERT INTO metric_names VALUES (1, 'likes'), (2, 'replies')")
    admin.execute("""INSERT INTO series VALUES (7, '1', '{"likes":3,"replies":1}', 600)""")
    admin.execute("INSERT INTO snapshots VALUES (7, 1, 0, 1), (7, 2, 0, 1), (7, 1, 600, 3)")
    with open_store(database) as store:
        assert store.latest_totals(["1"]) == {"1": {"likes": 3.0, "replies": 1.0}}
        assert store.top("likes", 5) == [("1", 3.0)]
        moment = datetime.fromtimestamp(900, UTC)
        assert store.record_totals(moment, {"1": {"likes": 3, "replies": 1}}) == 0
        assert store.record_totals(moment, {"1": {"likes": 4}}) == 1
    assert postgres_schema.pending(admin) == []
    columns = admin.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'series'"
        " ORDER BY ordinal_position"
    ).fetchall()
    assert columns == [("id",), ("post_id",)]
    with open_store(database) as store:
        assert store.latest_totals(["1"]) == {"1": {"likes": 4.0, "replies": 1.0}}


def test_a_database_behind_is_not_migrated_unless_the_config_says_auto(admin, database) -> None:
    with pytest.raises(SchemaOutdated, match="run 'automation migrate'"):
        PostgresStore.open(database, migrate="manual")
    assert postgres_schema.applied(admin) == []
    PostgresStore.open(database, migrate="auto").close()
    PostgresStore.open(database, migrate="manual").close()


def test_a_database_a_newer_version_migrated_is_refused_untouched(admin, database) -> None:
    PostgresStore.open(database, migrate="auto").close()
    admin.execute("INSERT INTO schema_migrations VALUES ('m999_from_the_future', 0)")
    applied = postgres_schema.applied(admin)
    openings = {
        "auto": lambda: PostgresStore.open(database, migrate="auto"),
        "manual": lambda: PostgresStore.open(database, migrate="manual"),
        "read-only": lambda: PostgresStore.open_readonly(database),
        "migrate": lambda: migrate(database),
    }
    for how, opening in openings.items():
        with pytest.raises(SchemaNewer) as refused:
            opening()
        assert "newer version of automation" in str(refused.value), how
        assert "does not know: m999_from_the_future" in str(refused.value), how
    assert postgres_schema.applied(admin) == applied


def test_state_survives_reopening(database) -> None:
    with open_store(database) as first:
        first.set_pause(PauseRecord("r1", minutes(1), "alice", reason="ünïcode"))
        first.record_hourly_totals(minutes(30), {"p": {"favorites": 1, "retweets": 2}})
        first.commit_cycle(CycleWrite(at=T0, firings=(fired("f1"),)))
    with open_store(database) as again:
        assert again.pauses() == [PauseRecord("r1", minutes(1), "alice", reason="ünïcode")]
        # the last reading is read back, so only what changed is stored
        assert again.record_hourly_totals(minutes(90), {"p": {"favorites": 1, "retweets": 3}}) == 1
        assert [a.id for a in again.claim_actions(T0, 10)] == ["f1.0"]


def test_two_stores_never_hand_out_one_action_twice(database) -> None:
    with open_store(database) as setup:
        setup.commit_cycle(
            CycleWrite(at=T0, firings=tuple(fired(f"f{n}", post_id=f"p{n}") for n in range(40)))
        )
    handed: list[list[str]] = [[], []]
    start = threading.Barrier(2)

    def claim(slot: int) -> None:
        with open_store(database) as store:
            start.wait()
            while claimed := store.claim_actions(T0, 3):
                handed[slot].extend(item.id for item in claimed)

    threads = [threading.Thread(target=claim, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(handed[0] + handed[1]) == sorted(f"f{n}.0" for n in range(40))
    assert set(handed[0]).isdisjoint(handed[1])


def test_writes_stop_once_another_engine_leads(admin, database) -> None:
    store = open_store(database, epoch=1)
    lead(admin, 1)
    store.commit_cycle(CycleWrite(at=T0, firings=(fired("f1"),)))
    lead(admin, 2)
    with pytest.raises(LeadershipLost, match=r"another engine leads .*engine 2.*epoch 1"):
        store.commit_cycle(
            CycleWrite(
                at=minutes(1),
                states=(("r1", "p2", RuleState(fingerprint="x", done=True)),),
                firings=(fired("f2", post_id="p2"),),
            )
        )
    with pytest.raises(LeadershipLost):
        store.claim_actions(minutes(1), 10)
    with pytest.raises(LeadershipLost):
        store.record_totals(minutes(1), {"p1": {"likes": 5}})
    store.close()
    with open_store(database) as reader:
        assert [e.firing.id for e in reader.history()] == ["f1"]
        assert reader.rule_state("r1", "p2") is None
        assert reader.latest_totals(["p1"]) == {}


def test_a_claim_of_the_old_leader_is_handed_out_again_only_when_allowed(admin, database) -> None:
    old = open_store(database, epoch=1)
    lead(admin, 1)
    old.commit_cycle(CycleWrite(at=T0, firings=(fired("a"), fired("b", post_id="p2"))))
    assert [i.id for i in old.claim_actions(T0, 10)] == ["a.0", "b.0"]
    lead(admin, 2)
    new = open_store(database, epoch=2)
    new.reclaim_stale = lambda: False  # the old leader's last actions may still be running
    assert new.claim_actions(T0, 10) == []
    # The old leader still records what it finished: its claim is the token.
    old.record_attempt("a.0", at=minutes(1), outcome="sent", error=None, next_attempt_at=None)
    new.reclaim_stale = lambda: True
    assert [i.id for i in new.claim_actions(minutes(2), 10)] == ["b.0"]
    with pytest.raises(LeadershipLost):  # no longer its claim, and it does not lead
        old.record_attempt("b.0", at=minutes(3), outcome="sent", error=None, next_attempt_at=None)
    assert [a.outcome for a in new.attempts("a.0")] == ["sent"]
    assert new.attempts("b.0") == []
    old.close()
    new.close()


def test_giving_back_a_claim_frees_it_for_the_new_leader_at_once(admin, database) -> None:
    old = open_store(database, epoch=1)
    lead(admin, 1)
    old.commit_cycle(CycleWrite(at=T0, firings=(fired("a"),)))
    old.claim_actions(T0, 10)
    lead(admin, 2)
    old.release_actions(["a.0"])  # never started: given back on the way out
    new = open_store(database, epoch=2)
    new.reclaim_stale = lambda: False
    assert [i.id for i in new.claim_actions(T0, 10)] == ["a.0"]
    old.close()
    new.close()


def test_a_broken_connection_is_one_error_then_made_again(admin, database) -> None:
    with open_store(database) as store:
        store.set_meta("k", "v")
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'automation command' AND datname = current_database()"
        )
        with pytest.raises(StoreError, match="lost the connection to the database"):
            store.meta("k")
        assert store.meta("k") == "v"


def test_messages_name_the_database_but_never_its_password(postgres_cluster: Cluster) -> None:
    url = postgres_cluster.url("no_such_db").replace("postgres@", "postgres:pw-FAKE-91c2@")
    database = PostgresDatabase.parse(url)
    assert "pw-FAKE-91c2" not in str(database)
    with pytest.raises(StoreError) as caught:
        PostgresStore.open(database)
    assert "no_such_db" in str(caught.value)
    assert "pw-FAKE-91c2" not in str(caught.value)


def test_no_column_can_hold_a_credential(admin, database) -> None:
    postgres_schema.apply(admin)
    columns = [
        f"{table}.{column}"
        for table, column in admin.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public'"
        )
    ]
    assert "outbox.payload" in columns
    credential = re.compile(r"secret|token|password|credential|bearer|consumer|auth", re.I)
    assert [c for c in columns if credential.search(c)] == []


def test_a_commit_waits_for_a_rearm_under_way_and_keeps_what_it_forgot(
    database: PostgresDatabase, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    """A rearm (another process) is inside its transaction, the post's state deleted and the
    count of changes moved, when the engine commits states it read before: the commit
    waits for the rearm's transaction and then does not write the forgotten state back."""
    store = open_store(database)
    state = RuleState(fingerprint="f", done=True, fires=1)
    store.commit_cycle(CycleWrite(at=T0, states=(("r1", "p1", state),)))
    mark = store.meta(STATES_CHANGED)
    with admin.transaction():
        admin.execute("SELECT pg_advisory_xact_lock(hashtext('rule states'))")  # as rearm
        admin.execute("DELETE FROM rule_states WHERE rule_id = 'r1' AND post_id = 'p1'")
        admin.execute("INSERT INTO meta VALUES (%s, '1')", [STATES_CHANGED])
        later = RuleState(fingerprint="f", last_truth=False, done=True, fires=1)
        write = CycleWrite(at=minutes(1), states=(("r1", "p1", later),), states_mark=(mark,))
        commit = threading.Thread(target=store.commit_cycle, args=(write,))
        commit.start()
        while not admin.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]:
            pass  # until the commit waits for a lock the rearm holds
    commit.join(timeout=60)
    assert store.rule_state("r1", "p1") is None
    store.close()
