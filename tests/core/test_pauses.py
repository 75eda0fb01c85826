"""Which rules a set of pause records holds back, and which resume, at a given moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from automation.core.pauses import ALL_RULES, PauseRecord, describe_pause, pause_state

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_an_active_pause_holds_its_rule_only() -> None:
    state = pause_state([PauseRecord("a", T0, "alice")], ["a", "b"], T0 + HOUR)
    assert set(state.paused) == {"a"}
    assert state.resuming == {}
    assert state.ended == ()


def test_pausing_all_rules_holds_every_rule_and_one_named_later() -> None:
    state = pause_state([PauseRecord(ALL_RULES, T0, "dashboard")], ["a", "b"], T0)
    assert set(state.paused) == {"a", "b"}


def test_a_pause_for_a_while_ends_by_itself_and_then_seeds() -> None:
    record = PauseRecord("a", T0, "alice", until=T0 + 2 * HOUR)
    assert set(pause_state([record], ["a"], T0 + HOUR).paused) == {"a"}
    later = pause_state([record], ["a"], T0 + 2 * HOUR)
    assert later.paused == {}
    assert later.resuming == {"a": False}  # seeds: the expiry asked for no catch-up
    assert later.ended == (record,)


def test_a_resumed_pause_catches_up_only_when_asked() -> None:
    plain = PauseRecord("a", T0, "alice", resumed_at=T0 + HOUR, resumed_by="bob")
    eager = PauseRecord("b", T0, "alice", resumed_at=T0 + HOUR, resumed_by="bob", catch_up=True)
    state = pause_state([plain, eager], ["a", "b", "c"], T0 + HOUR)
    assert state.resuming == {"a": False, "b": True}
    assert state.paused == {}


def test_a_rule_still_held_by_another_pause_does_not_resume() -> None:
    mine = PauseRecord("a", T0, "alice", resumed_at=T0 + HOUR, resumed_by="bob")
    everyone = PauseRecord(ALL_RULES, T0, "carol")
    state = pause_state([mine, everyone], ["a"], T0 + HOUR)
    assert state.paused == {"a": everyone}
    assert state.resuming == {}


def test_descriptions_say_who_until_when_and_why() -> None:
    record = PauseRecord("a", T0, "alice", until=T0 + HOUR, reason="launch")
    text = describe_pause(record, T0)
    assert text == "paused by alice since 2026-11-26T12:00:00Z until 2026-11-26T13:00:00Z: launch"
    assert "(expired)" in describe_pause(record, T0 + 2 * HOUR)


def test_a_pause_for_a_while_reads_expired_from_the_instant_it_ends() -> None:
    record = PauseRecord("a", T0, "alice", until=T0 + HOUR)
    assert (
        describe_pause(record, T0 + HOUR) == "paused by alice since 2026-11-26T12:00:00Z (expired)"
    )
    assert pause_state([record], ["a"], T0 + HOUR).resuming == {"a": False}


def test_a_pause_for_a_while_resumed_by_hand_reads_resumed() -> None:
    record = PauseRecord(
        "a", T0, "alice", until=T0 + 2 * HOUR, resumed_at=T0 + HOUR, resumed_by="bob"
    )
    assert describe_pause(record, T0 + HOUR) == (
        "resumed by bob at 2026-11-26T13:00:00Z (settles next cycle)"
    )
