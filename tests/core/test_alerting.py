"""When the engine alerts about itself: each kind at most once an hour, recovery once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from automation.core.alerting import AlertState, Observation, due, mark_told, observe

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
OK = Observation(failed=False)


def step(state: AlertState, seen: Observation, now: datetime) -> tuple[AlertState, list]:
    """One cycle, every notice due delivered."""
    state = observe(state, seen, now, after=3, interval=60)
    notices = due(state, now)
    for n in notices:
        state = mark_told(state, n, now)
    return state, [(n.kind, n.status, n.count) for n in notices]


def test_a_dead_action_alerts_at_once_then_at_most_hourly_and_recovers_once() -> None:
    dead = Observation(failed=False, dead_new=("action a.0: 410",), dead_total=1)
    state, told = step(AlertState(), dead, T0)
    assert told == [("action_dead", "firing", 1)]
    state, told = step(state, Observation(False, dead_new=("b.0",), dead_total=2), T0 + MIN)
    assert told == []  # within the hour: counted, not sent
    state, told = step(state, Observation(False, dead_total=2), T0 + 59 * MIN)
    assert told == []
    state, told = step(state, Observation(False, dead_total=2), T0 + 60 * MIN)
    assert told == [("action_dead", "firing", 1)]  # the news waited for the hour
    state, told = step(state, Observation(False, dead_total=0), T0 + 61 * MIN)
    assert told == [("action_dead", "resolved", 0)]
    state, told = step(state, Observation(False, dead_total=0), T0 + 62 * MIN)
    assert told == []


def test_cycles_alert_after_n_failures_in_a_row_and_recover() -> None:
    failed = Observation(failed=True, errors=("fetch: HTTP 503",))
    state, told = step(AlertState(), failed, T0)
    state, told2 = step(state, failed, T0 + MIN)
    state, told3 = step(state, failed, T0 + 2 * MIN)
    assert (told, told2, told3) == ([], [], [("cycles_failing", "firing", 0)])
    assert state.of("cycles_failing").detail == "3 cycles in a row failed: fetch: HTTP 503"
    state, told = step(state, OK, T0 + 3 * MIN)
    assert told == [("cycles_failing", "resolved", 0)]
    for n in range(3):  # failing again within the hour: not alerted again
        state, told = step(state, failed, T0 + (4 + n) * MIN)
        assert told == []
    state, told = step(state, failed, T0 + 63 * MIN)
    assert told == [("cycles_failing", "firing", 0)]


def test_a_budget_stall_alerts_after_n_intervals_of_stalled_cycles() -> None:
    stalled = Observation(failed=False, stalled=True, duration=100)
    state, told = step(AlertState(), stalled, T0)
    assert told == []  # 100 s < 3 intervals of 60 s
    state, told = step(state, stalled, T0 + 2 * MIN)
    assert told == [("budget_stalled", "firing", 0)]
    state, told = step(state, OK, T0 + 4 * MIN)
    assert told == [("budget_stalled", "resolved", 0)]


def test_a_failed_reload_alerts_and_its_fix_recovers() -> None:
    broken = Observation(failed=False, reload_error="rules.yaml:3:7: error: unknown metric")
    state, told = step(AlertState(), broken, T0)
    assert told == [("reload_failed", "firing", 1)]
    state, told = step(state, broken, T0 + MIN)
    assert told == []  # the same failure is no news
    state, told = step(state, OK, T0 + 2 * MIN)
    assert told == [("reload_failed", "resolved", 0)]


def test_an_undelivered_notice_is_due_again_next_cycle() -> None:
    dead = Observation(failed=False, dead_new=("a.0",), dead_total=1)
    state = observe(AlertState(), dead, T0, after=3, interval=60)
    assert [n.kind for n in due(state, T0)] == ["action_dead"]  # delivery failed: not told
    state = observe(state, Observation(False, dead_total=1), T0 + MIN, after=3, interval=60)
    assert [(n.kind, n.count) for n in due(state, T0 + MIN)] == [("action_dead", 1)]


def test_the_state_survives_a_round_trip_and_a_damaged_one_starts_afresh() -> None:
    state, _ = step(AlertState(), Observation(True, dead_new=("a",), dead_total=1), T0)
    assert AlertState.from_json(state.to_json()) == state
    assert AlertState.from_json("{not json") == AlertState()
    assert AlertState.from_json(None) == AlertState()


def test_a_firing_notice_says_since_when_and_its_recovery_keeps_what_failed() -> None:
    errors = ("fetch: HTTP 503", "dispatch: timeout", "webhook: 500", "store: locked")
    failed = Observation(failed=True, errors=errors)
    state, _ = step(AlertState(), failed, T0)
    state, _ = step(state, failed, T0 + MIN)
    state = observe(state, failed, T0 + 2 * MIN, after=3, interval=60)
    (firing,) = due(state, T0 + 2 * MIN)
    assert firing.since == T0 + 2 * MIN  # active from the third failure in a row
    detail = "3 cycles in a row failed: fetch: HTTP 503; dispatch: timeout; webhook: 500"
    assert firing.detail == detail  # the first three errors
    state = mark_told(state, firing, T0 + 2 * MIN)
    state = observe(state, failed, T0 + 3 * MIN, after=3, interval=60)
    state = observe(state, OK, T0 + 4 * MIN, after=3, interval=60)
    (resolved,) = due(state, T0 + 4 * MIN)
    assert resolved.status == "resolved" and resolved.since is None
    assert resolved.detail.startswith("4 cycles in a row failed: fetch: HTTP 503")


def test_a_firing_kind_keeps_the_moment_it_began_over_the_cycles_after() -> None:
    dead = Observation(failed=False, dead_new=("action a.0: 410",), dead_total=1)
    state = observe(AlertState(), dead, T0, after=3, interval=60)
    state = observe(state, Observation(False, dead_total=1), T0 + MIN, after=3, interval=60)
    (notice,) = due(state, T0 + MIN)
    assert notice.since == T0


def test_a_budget_stall_is_told_in_whole_minutes_rounded() -> None:
    stalled = Observation(failed=False, stalled=True, duration=110)
    state = observe(AlertState(), stalled, T0, after=3, interval=60)
    state = observe(state, stalled, T0 + 2 * MIN, after=3, interval=60)  # 220 s: 3.7 min
    (notice,) = due(state, T0 + 2 * MIN)
    assert notice.detail == "cycles have waited for the Engagement API budget for 4 min"
