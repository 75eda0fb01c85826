"""The election on a real PostgreSQL: one leader at a time, a new epoch at each takeover
that fences the old leader's writes, the lead lost with its session, and the claims of a
leader that died handed out again at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from clock import Clock
from e2e_helpers import wait_for
from pg_cluster import Cluster

from automation.config.database import PostgresDatabase
from automation.core.errors import LeadershipLost, SchemaOutdated, StoreError
from automation.core.leadership import LeaseTimes
from automation.store import ActionRecord, CycleWrite, FiringRecord, postgres_schema
from automation.store.opening import migrate
from automation.store.postgres import PostgresStore
from automation.store.postgres_leadership import Election, leader_view

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TIMES = LeaseTimes(lease=5.0, heartbeat=0.1, trust=2.5, retry=0.1)


@pytest.fixture
def database(postgres_cluster: Cluster) -> PostgresDatabase:
    database = postgres_cluster.create_database("lead")
    with psycopg.connect(database.url, autocommit=True) as conn:
        postgres_schema.apply(conn)
    return database


@pytest.fixture
def admin(database: PostgresDatabase) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(database.url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def elections(database: PostgresDatabase) -> Iterator[list[Election]]:
    made: list[Election] = []
    yield made
    for election in made:
        election.close()


def elect(database: PostgresDatabase, made: list[Election], name: str) -> Election:
    election = Election(database, times=TIMES, name=name)
    made.append(election)
    return election


def queued(fid: str) -> CycleWrite:
    firing = FiringRecord(
        id=fid,
        rule_id="r1",
        post_id=f"post-{fid}",
        key="once",
        kind="fired",
        at=T0,
        metrics={"likes": 100.0},
        actions=(ActionRecord(0, "log", '{"message":"m"}'),),
    )
    return CycleWrite(at=T0, firings=(firing,))


def test_one_engine_leads_and_the_other_stands_by_until_it_resigns(database, elections) -> None:
    a, b = elect(database, elections, "a:1"), elect(database, elections, "b:2")
    first = a.try_lead(T0)
    assert first is not None and a.leading()
    assert b.try_lead(T0) is None and not b.leading()
    assert b.problem is None  # standing by is not a problem

    a.resign()
    assert not a.leading()
    second = wait_for(lambda: b.try_lead(T0), what="the lock to pass on")  # once the server
    assert second > first and b.leading()  # has ended a's session


def test_status_sees_the_leader_and_the_standby_by_name(database, elections) -> None:
    a, b = elect(database, elections, "a:1"), elect(database, elections, "b:2")
    assert a.try_lead(T0) is not None
    assert b.try_lead(T0) is None
    view = leader_view(database)
    assert (view.leader, view.connected, view.standby) == ("a:1", ("a:1",), ("b:2",))
    assert view.state == "leading" and view.epoch == a.epoch

    a.close()
    view = wait_for(lambda: (v := leader_view(database)) and not v.connected and v, what="a gone")
    assert view.state == "takeover" and view.leader == "a:1"


def test_a_takeover_fences_the_old_leaders_store(database, admin, elections) -> None:
    a, b = elect(database, elections, "a:1"), elect(database, elections, "b:2")
    old_epoch = a.try_lead(T0)
    assert old_epoch is not None
    old = PostgresStore.open(database, epoch=old_epoch)
    try:
        old.commit_cycle(queued("f1"))
        # The server ends the old leader's lock session (an operator, a network cut).
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'automation leader a:1'"
        )
        wait_for(lambda: not a.leading(), what="the old leader to notice")
        wait_for(lambda: b.try_lead(T0) is not None, what="the standby to take over")
        with pytest.raises(LeadershipLost, match=r"another engine leads .*b:2"):
            old.commit_cycle(queued("f2"))
        with pytest.raises(LeadershipLost):
            old.claim_actions(T0, 10)
    finally:
        old.close()
    with PostgresStore.open(database) as store:
        assert [e.firing.id for e in store.history()] == ["f1"]


def test_the_claims_of_a_leader_that_died_are_handed_out_at_once(database, elections) -> None:
    a, b = elect(database, elections, "a:1"), elect(database, elections, "b:2")
    old_epoch = a.try_lead(T0)
    assert old_epoch is not None
    old = PostgresStore.open(database, epoch=old_epoch)
    old.commit_cycle(queued("f1"))
    [claimed] = old.claim_actions(T0, 10)

    a.close()
    new_epoch = wait_for(lambda: b.try_lead(T0), what="the standby to take over")
    new = PostgresStore.open(database, epoch=new_epoch)
    new.reclaim_stale = lambda: False  # the old leader's actions might still be running
    try:
        assert new.claim_actions(T0, 10) == []  # its engine still has a session
        old.close()  # now it has none: what it had started ended with it
        # the server ends the closed session's backend a moment after the client goes
        [again] = wait_for(lambda: new.claim_actions(T0, 10), what="the old session to end")
        assert again.id == claimed.id  # the same action, hence the same idempotency key
    finally:
        new.close()


def test_a_database_never_migrated_says_how_to_fix_it(postgres_cluster, elections) -> None:
    bare = postgres_cluster.create_database("bare")
    with pytest.raises(SchemaOutdated, match="automation migrate"):
        elect(bare, elections, "a:1").try_lead(T0)


def test_an_unreachable_database_leaves_the_engine_standing_by(elections) -> None:
    nowhere = PostgresDatabase("postgresql://nobody@/nothing?host=/nonexistent-socket-dir")
    election = elect(nowhere, elections, "a:1")
    assert election.try_lead(T0) is None and not election.leading()
    assert election.problem is not None and "nothing" in election.problem
    # named once: "database URL: cannot connect to the database URL: ..." said it twice
    assert election.problem.count(str(nowhere)) == 1, election.problem


def a_version_behind(admin: psycopg.Connection[tuple[object, ...]]) -> str:
    """The database as the version before the newest migration left it; that name."""
    newest = postgres_schema.MIGRATIONS[-1][0]
    admin.execute(
        "DROP TABLE outbox_counts; DROP FUNCTION outbox_counts_change CASCADE;"
        f" DELETE FROM schema_migrations WHERE name = '{newest}'"
    )
    assert postgres_schema.pending(admin) == [newest]
    return newest


def test_migrate_waits_until_no_engine_of_the_version_before_leads(
    database, admin, elections
) -> None:
    """An engine checks the schema when it takes the lead, not at each write: one that led
    through ``series.latest`` being dropped (m002) failed every cycle from then on and
    recorded nothing, so a migration is refused while an engine leads."""
    newest = a_version_behind(admin)
    old = elect(database, elections, "old:1")
    epoch = old.try_lead(T0)
    with pytest.raises(StoreError) as refused:
        migrate(database)
    assert f"an engine leads it (old:1, epoch {epoch})" in str(refused.value)
    assert "stop the engine on every machine (systemctl stop automation)" in str(refused.value)
    assert postgres_schema.pending(admin) == [newest]
    old.close()
    assert migrate(database).applied == (newest,)
    assert elect(database, elections, "new:2").try_lead(T0) is not None  # the lock let go


def test_with_nothing_to_migrate_migrate_says_so_while_an_engine_leads(database, elections) -> None:
    assert elect(database, elections, "a:1").try_lead(T0) is not None
    assert migrate(database).applied == ()


def test_the_leader_migrates_its_own_store_with_migrate_auto(database, admin, elections) -> None:
    newest = a_version_behind(admin)
    epoch = elect(database, elections, "new:1").try_lead(T0)
    PostgresStore.open(database, migrate="auto", epoch=epoch).close()
    assert postgres_schema.pending(admin) == []
    assert newest in postgres_schema.applied(admin)


def test_a_leader_whose_epoch_another_engine_took_stops_at_once(database, admin, elections):
    clock = Clock(1000.0)  # never past trust: only the heartbeat can end the lead
    a = Election(database, times=TIMES, name="a:1", monotonic=clock)
    elections.append(a)
    epoch = a.try_lead(T0)
    assert epoch is not None
    admin.execute("UPDATE leadership SET epoch = nextval('terms'), leader = 'b:2' WHERE id = 1")
    wait_for(lambda: not a.leading(), what="the heartbeat to see the new epoch")
    assert a.loss is not None and "another engine took it" in a.loss


def test_a_leader_keeps_leading_while_its_heartbeat_is_answered(database, elections) -> None:
    clock = Clock(1000.0)
    a = Election(database, times=TIMES, name="a:1", monotonic=clock)
    elections.append(a)
    epoch = a.try_lead(T0)
    clock.now += 60.0  # a minute on: the lead holds only if a heartbeat answered since
    wait_for(a.leading, what="a heartbeat answered at the new time")
    assert a.try_lead(T0) == epoch  # asking again while leading keeps the same term
    assert leader_view(database).epoch == epoch


def test_status_shows_when_the_leader_took_the_lead(database, elections) -> None:
    assert elect(database, elections, "a:1").try_lead(T0) is not None
    assert leader_view(database).since == T0.timestamp()


def test_a_name_as_long_as_postgresql_keeps_is_shown_whole(database, elections) -> None:
    name = "h" * (63 - len("automation leader "))  # application_name keeps 63 bytes
    assert elect(database, elections, name).try_lead(T0) is not None
    assert leader_view(database).connected == (name,)


def test_a_leader_that_lost_its_session_leads_again_when_it_wins(database, admin, elections):
    clock = Clock(1000.0)
    a = Election(database, times=TIMES, name="a:1", monotonic=clock)
    elections.append(a)
    first = a.try_lead(T0)
    assert first is not None
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'automation leader a:1'"
    )
    wait_for(lambda: not a.leading(), what="the leader to notice")
    second = wait_for(lambda: a.try_lead(T0), what="the lead taken again")
    assert second > first and a.leading() and a.loss is None


def test_a_standby_keeps_its_one_session_between_tries(database, admin, elections) -> None:
    a, b = elect(database, elections, "a:1"), elect(database, elections, "b:2")
    assert a.try_lead(T0) is not None

    def standby_pids() -> list[object]:
        return [
            pid
            for (pid,) in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'automation standby b:2'"
            )
        ]

    assert b.try_lead(T0) is None
    before = standby_pids()
    assert b.try_lead(T0) is None and b.try_lead(T0) is None
    assert standby_pids() == before and len(before) == 1


def test_a_standby_says_why_only_while_the_database_fails_it(database, admin, elections) -> None:
    a, b = elect(database, elections, "a:1"), elect(database, elections, "b:2")
    assert a.try_lead(T0) is not None and b.try_lead(T0) is None

    def cut_standby() -> None:
        gone = "application_name = 'automation standby b:2'"
        admin.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {gone}")
        wait_for(
            lambda: not admin.execute(f"SELECT 1 FROM pg_stat_activity WHERE {gone}").fetchall(),
            what="the standby's session to end",
        )

    cut_standby()
    assert b.try_lead(T0) is None and b.problem is not None
    assert b.try_lead(T0) is None and b.problem is None  # reconnected: standing by is no problem
    cut_standby()
    a.close()
    assert b.try_lead(T0) is None and b.problem is not None
    assert wait_for(lambda: b.try_lead(T0), what="the lead") is not None
    assert b.problem is None and b.leading()


class ThreadClock:
    """A monotonic clock read apart by the test and by the heartbeat: the heartbeat's
    answers are recorded at ``beat``, whatever the test's time ``t`` reads."""

    def __init__(self) -> None:
        self.t = self.beat = 1000.0
        self.beats = 0

    def __call__(self) -> float:
        if threading.current_thread() is threading.main_thread():
            return self.t
        self.beats += 1
        return self.beat


def test_a_leader_past_trust_ends_its_old_term_before_taking_a_new_one(database, elections):
    clock = ThreadClock()
    a = Election(database, times=TIMES, name="a:1", monotonic=clock)
    elections.append(a)
    first = a.try_lead(T0)
    assert first is not None
    clock.t += 60.0  # its heartbeat answers, but not since trust: it may not act
    assert not a.leading()
    second = wait_for(lambda: a.try_lead(T0), what="the lead taken again")
    assert second > first
    clock.beat = clock.t
    answered = clock.beats
    wait_for(lambda: clock.beats >= answered + 3, what="the new term's heartbeats")
    # the old term's heartbeat, left running, would find the epoch moved on and end the new
    assert a.loss is None and a.leading() and leader_view(database).epoch == second


def test_a_takeover_gives_up_after_the_lease_while_the_old_leader_writes(
    database, admin, elections
) -> None:
    quick = LeaseTimes(lease=1.0, heartbeat=0.2, trust=0.5, retry=0.1)
    b = Election(database, times=quick, name="b:2")
    elections.append(b)
    with psycopg.connect(database.url) as writer:  # an old leader's write in progress
        writer.execute("SET idle_in_transaction_session_timeout = '10s'")  # ends a hang
        writer.execute("SELECT epoch FROM leadership WHERE id = 1 FOR SHARE")
        assert b.try_lead(T0) is None
        assert b.problem is not None and "lock timeout" in b.problem
        writer.rollback()
    assert wait_for(lambda: b.try_lead(T0), what="the lead once the write ended") is not None
    assert b.problem is None and leader_view(database).leader == "b:2"
