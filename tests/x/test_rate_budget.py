from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from clock import Clock
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.errors import RateLimited
from automation.service.store_ledger import StoreLedger
from automation.store.memory import MemoryStore
from automation.store.sqlite import SqliteStore
from automation.x.backoff import parse_retry_after
from automation.x.rate_budget import HOLD, MAX_BLOCK, BudgetLedger, MemoryLedger, RateBudget

T0 = 1_700_000_000.0


def drive(budget: RateBudget, clock: Clock, n: int) -> list[float]:
    """Send n requests as the client does: wait, then acquire. Returns the send times."""
    times = []
    for _ in range(n):
        while (w := budget.wait_time()) > 0:
            clock.sleep(w)
        budget.acquire()
        times.append(clock.now)
    return times


def max_in_any_minute(times: list[float]) -> int:
    return max(sum(1 for u in times if t <= u < t + 60) for t in times)


@pytest.mark.parametrize("limit", [1, 2, 7, 60])
def test_never_more_than_the_limit_in_any_sliding_minute(limit: int) -> None:
    clock = Clock(T0)
    budget = RateBudget(limit, clock=clock)
    times = drive(budget, clock, limit * 4 + 3)
    assert max_in_any_minute(times) == limit
    assert times[limit] == pytest.approx(times[0] + 60)  # the next slot opens exactly then


def test_first_requests_go_at_once() -> None:
    clock = Clock(T0)
    budget = RateBudget(3, clock=clock)
    assert budget.wait_time() == 0
    assert drive(budget, clock, 3) == [T0, T0, T0]
    assert budget.wait_time() == pytest.approx(60)
    assert budget.remaining() == 0


def test_acquire_refuses_when_the_budget_says_wait() -> None:
    clock = Clock(T0)
    budget = RateBudget(1, clock=clock)
    budget.acquire()
    with pytest.raises(RateLimited) as info:
        budget.acquire()
    assert info.value.retry_after == pytest.approx(60)


def test_another_process_sending_while_this_one_checks_cannot_push_the_minute_over(
    tmp_path: Path,
) -> None:
    """The engine and a metrics export share the budget through the database: the check
    and the record of a send are one transaction, so no send slips in between."""
    clock = Clock(T0)
    mine, other = SqliteStore.open(tmp_path / "s.db"), SqliteStore.open(tmp_path / "s.db")

    class OtherSendsWhileILook(StoreLedger):
        looked = False

        def load(self, api: str, since: float) -> list[float]:
            seen = super().load(api, since)
            if api == "engagement" and not self.looked:
                self.looked = True  # the other process saw one free slot too, and takes it
                other.budget_record(api, clock())
            return seen

    budget = RateBudget(2, clock=clock, ledger=OtherSendsWhileILook(mine))
    other.budget_record("engagement", clock())
    with contextlib.suppress(RateLimited):
        budget.acquire()
    assert len(other.budget_load("engagement", T0 - 60)) == 2
    mine.close()
    other.close()


def test_the_ledger_carries_the_budget_across_processes() -> None:
    clock = Clock(T0)
    ledger = MemoryLedger()
    first = RateBudget(5, clock=clock, ledger=ledger)
    drive(first, clock, 5)
    clock.sleep(10)
    second = RateBudget(5, clock=clock, ledger=ledger)  # a restarted process
    assert second.wait_time() == pytest.approx(50)
    times = drive(second, clock, 5)
    assert times[0] == pytest.approx(T0 + 60)


def test_a_429_pause_is_honoured_by_a_restarted_process() -> None:
    clock = Clock(T0)
    ledger = MemoryLedger()
    first = RateBudget(60, clock=clock, ledger=ledger)
    assert first.penalise("120") == 120
    clock.sleep(30)
    second = RateBudget(60, clock=clock, ledger=ledger)  # restarted within the pause
    assert second.wait_time() == pytest.approx(90)
    assert second.remaining() == 0
    clock.sleep(90)
    assert second.wait_time() == 0
    assert second.remaining() == 60  # the pause was never counted as sent requests


def test_ledgers_keep_apis_apart() -> None:
    clock = Clock(T0)
    ledger = MemoryLedger()
    drive(RateBudget(2, clock=clock, ledger=ledger, api="engagement"), clock, 2)
    assert RateBudget(2, clock=clock, ledger=ledger, api="x").wait_time() == 0


def test_per_minute_limit_header_lowers_but_never_raises_the_allowance() -> None:
    clock = Clock(T0)
    budget = RateBudget(10, clock=clock)
    budget.observe({"x-per-minute-limit": "100"})
    assert budget.allowance == 10
    budget.observe({"x-per-minute-limit": "3"})
    assert budget.allowance == 3
    assert max_in_any_minute(drive(budget, clock, 9)) == 3


def test_remaining_zero_waits_for_the_reset() -> None:
    clock = Clock(T0)
    budget = RateBudget(10, clock=clock)
    budget.acquire()
    budget.observe({"x-per-minute-remaining": "0", "x-per-minute-reset": str(T0 + 20)})
    assert budget.wait_time() == pytest.approx(20)
    clock.sleep(20)
    assert budget.wait_time() == 0


def test_remaining_counts_down_with_our_own_sends() -> None:
    clock = Clock(T0)
    budget = RateBudget(10, clock=clock)
    budget.observe({"x-per-minute-limit": "10", "x-per-minute-remaining": "2"})
    drive(budget, clock, 2)
    assert budget.wait_time() == pytest.approx(60)  # no reset header: a minute


def test_a_new_report_of_what_is_left_starts_the_count_of_our_sends_again() -> None:
    clock = Clock(T0)
    budget = RateBudget(10, clock=clock)
    budget.observe({"x-per-minute-remaining": "3", "x-per-minute-reset": "60"})
    drive(budget, clock, 2)
    assert budget.remaining() == 1
    budget.observe({"x-per-minute-remaining": "5", "x-per-minute-reset": "60"})
    assert budget.remaining() == 5  # the API's count has our two sends in it already


def test_a_retry_after_of_zero_still_pauses_a_second() -> None:
    clock = Clock(T0)
    budget = RateBudget(10, clock=clock)
    assert budget.penalise("0") == 1.0
    assert budget.wait_time() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("reset", "wait"), [(str(T0 + 30), 30), (str((T0 + 12) * 1000), 12), ("7", 7)]
)
def test_reset_may_be_epoch_seconds_epoch_ms_or_a_delta(reset: str, wait: float) -> None:
    clock = Clock(T0)
    budget = RateBudget(10, clock=clock)
    budget.observe({"x-per-minute-remaining": "0", "x-per-minute-reset": reset})
    assert budget.wait_time() == pytest.approx(wait)


def test_v2_rate_limit_headers_are_honoured() -> None:
    clock = Clock(T0)
    budget = RateBudget(10, clock=clock)
    budget.observe(
        {
            "x-rate-limit-limit": "50",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(T0 + 400),
        }
    )
    assert budget.allowance == 10  # a 15-minute limit is not a per-minute one
    assert budget.wait_time() == pytest.approx(400)


def test_garbage_headers_are_ignored() -> None:
    clock = Clock(T0)
    budget = RateBudget(4, clock=clock)
    budget.observe({"x-per-minute-limit": "many", "x-per-minute-remaining": "-1"})
    assert budget.allowance == 4 and budget.wait_time() == 0


def test_penalise_honours_retry_after_seconds_dates_and_defaults_to_a_minute() -> None:
    clock = Clock(T0)
    budget = RateBudget(10, clock=clock)
    assert budget.penalise("17") == 17
    assert budget.wait_time() == pytest.approx(17)
    date = format_datetime(datetime.fromtimestamp(T0 + 42, UTC), usegmt=True)
    assert budget.penalise(date) == pytest.approx(42)
    assert budget.wait_time() == pytest.approx(42)
    assert budget.penalise(None) == 60
    assert budget.penalise("not a date") == 60
    assert budget.wait_time() == pytest.approx(60)
    assert budget.remaining() == 0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3),
        (" 4.5 ", 4.5),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0),  # in the past
        (format_datetime(datetime.fromtimestamp(T0 + 30, UTC), usegmt=True), 30),
        ("Tue, 14 Nov 2023 22:13:50 -0000", 30),  # T0 + 30 s, without a zone
        ("soon", None),
        ("", None),
        ("nan", None),
        (None, None),
    ],
)
def test_retry_after_parsing(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, T0) == (None if seconds is None else pytest.approx(seconds))


def test_penalise_reads_a_date_without_a_zone_as_gmt() -> None:
    clock = Clock(T0)
    budget = RateBudget(10, clock=clock)
    when = datetime.fromtimestamp(T0 + 90, UTC)
    assert budget.penalise(when.strftime("%a, %d %b %Y %H:%M:%S -0000")) == pytest.approx(90)


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        RateBudget(0, clock=Clock(T0))


class CountingLedger(MemoryLedger):
    """Counts the claims (one ledger step, a transaction in the store, each) and keeps
    every send time recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.claims = 0
        self.recorded: list[float] = []

    def record(self, api: str, at: float) -> None:
        super().record(api, at)
        self.recorded.append(at)

    def claim(self, api: str, at: float, since: float, allowance: int, count: int = 1) -> int:
        self.claims += 1
        return super().claim(api, at, since, allowance, count)


def recorded_no_earlier(sent: list[float], recorded: list[float]) -> bool:
    """Whether each send has a record of its own at or after the moment it went."""
    return all(sum(1 for r in recorded if r >= s) >= sum(1 for t in sent if t >= s) for s in sent)


def send(budget: RateBudget, clock: Clock) -> float:
    """One send as the client makes it: take, waiting as long as it says."""
    while (wait := budget.take()) > 0:
        clock.sleep(wait)
    return clock.now


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.booleans(), st.sampled_from([0.0, 0.001, 0.02, 0.2, HOLD, 3.0])),
        min_size=1,
        max_size=250,
    ),
    limit=st.sampled_from([1, 3, 10, 60]),
)
def test_sends_claimed_in_blocks_never_exceed_the_limit_beside_another_process(
    steps: list[tuple[bool, float]], limit: int
) -> None:
    """An export claims in blocks (``expect``), an engine one send at a time, both through
    one ledger, each send after its own pause: no minute ever holds more than the limit,
    and every send is recorded."""
    clock, ledger = Clock(T0), CountingLedger()
    export, engine = (RateBudget(limit, clock=clock, ledger=ledger) for _ in range(2))
    export.expect(sum(by_export for by_export, _ in steps))
    sent = []
    for by_export, pause in steps:
        clock.sleep(pause)
        sent.append(send(export if by_export else engine, clock))
    assert max_in_any_minute(sent) <= limit
    assert recorded_no_earlier(sent, ledger.recorded)


def test_quick_sends_are_claimed_in_blocks_and_slow_ones_one_at_a_time() -> None:
    clock, ledger = Clock(T0), CountingLedger()
    budget = RateBudget(10_000, clock=clock, ledger=ledger)
    budget.expect(500)
    quick = [send(budget, clock) for _ in range(500) if not clock.sleep(0.001)]
    assert ledger.claims < 500 / MAX_BLOCK + 10  # blocks grow 1, 2, 4 ... MAX_BLOCK
    assert recorded_no_earlier(quick, ledger.recorded)
    ledger = CountingLedger()
    budget = RateBudget(10_000, clock=clock, ledger=ledger)
    budget.expect(20)
    slow = [send(budget, clock) for _ in range(20) if not clock.sleep(HOLD)]
    assert ledger.claims == 20  # each alone, recorded when it goes, as without ``expect``
    assert ledger.recorded == slow


def test_a_429_drops_what_is_left_of_a_block() -> None:
    clock, ledger = Clock(T0), CountingLedger()
    budget = RateBudget(10_000, clock=clock, ledger=ledger)
    budget.expect(100)
    for _ in range(8):
        send(budget, clock)  # blocks of 1, 2, 4, then one of 8 is held
    budget.penalise("30")
    assert budget.take() == pytest.approx(30)


def test_a_v2_reset_hours_away_waits_at_most_one_15_minute_window() -> None:
    clock = Clock(T0)
    budget = RateBudget(10, clock=clock)
    budget.observe({"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(T0 + 3 * 3600)})
    assert budget.wait_time() == pytest.approx(15 * 60)  # a garbled reset stops us no longer


def test_status_counts_what_is_left_under_the_apis_lowered_limit() -> None:
    clock = Clock(T0)
    budget = RateBudget(10, clock=clock)
    budget.observe({"x-per-minute-limit": "3"})
    drive(budget, clock, 1)
    assert budget.remaining() == 2


@pytest.fixture(params=["memory", "memory store", "sqlite store"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BudgetLedger]:
    """Each ledger a budget is kept in: its own, and the stores' through ``StoreLedger``."""
    if request.param == "memory":
        yield MemoryLedger()
        return
    store = MemoryStore() if request.param == "memory store" else SqliteStore.open(tmp_path / "b")
    yield StoreLedger(store)
    store.close()


def test_a_send_a_minute_old_has_left_the_window_at_that_instant(ledger: BudgetLedger) -> None:
    ledger.record("engagement", T0)
    assert ledger.load("engagement", T0) == [T0]  # at or after since, as the protocol says
    assert ledger.claim("engagement", T0 + 60, T0, 1) == 1  # exactly at since: gone
    assert ledger.claim("engagement", T0 + 60, T0, 1) == 0
    clock = Clock(T0 + 60)
    assert RateBudget(1, clock=clock, ledger=ledger).take() == pytest.approx(60)


def test_a_held_send_may_go_at_the_very_instant_its_block_ends(ledger: BudgetLedger) -> None:
    clock = Clock(T0)
    budget = RateBudget(4, clock=clock, ledger=ledger)
    budget.expect(4)
    assert budget.take() == 0  # alone, recorded as it goes
    clock.now = T0 + 0.001
    assert budget.take() == 0  # a block of two, held until HOLD on
    clock.now = T0 + 0.001 + HOLD
    assert budget.take() == 0  # the block's second send: no new claim
    clock.now += 0.001
    assert budget.take() == 0  # so the fourth of the minute's four is left
    assert len(ledger.load("engagement", T0 - 60)) == 4


def test_a_claim_another_process_won_says_to_look_again_soon(ledger: BudgetLedger) -> None:
    clock = Clock(T0)

    class Outrun:
        """The ledger as another process leaves it: it takes the last slot first, with a
        send that has left the window by the time this one looks again."""

        def __init__(self) -> None:
            self.load, self.record = ledger.load, ledger.record

        def claim(self, api: str, at: float, since: float, allowance: int, n: int = 1) -> int:
            ledger.record(api, since + 0.01)
            kept = ledger.claim(api, at, since, allowance, n)
            clock.now += 0.02
            return kept

    budget = RateBudget(1, clock=clock, ledger=Outrun())
    assert budget.take() > 0  # never "go" without a send of its own recorded
    assert ledger.load("engagement", T0) == []  # nothing of its own recorded


def max_in_any_second(times: list[float]) -> int:
    return max(sum(1 for u in times if t <= u < t + 1) for t in times)


@pytest.mark.parametrize("blocks", [False, True])
@pytest.mark.parametrize("per_second", [1, 3])
def test_a_per_second_limit_header_spaces_the_sends(per_second: int, blocks: bool) -> None:
    """Reference §5: a third-party client reads ``x-per-second-limit``; when the API sends
    it, no second holds more sends than it allows, blocks claimed ahead included."""
    clock = Clock(T0)
    budget = RateBudget(600, clock=clock)
    budget.observe({"x-per-second-limit": str(per_second)})
    if blocks:
        budget.expect(40)
    sent = [send(budget, clock) for _ in range(40) if not clock.sleep(0.001)]
    assert max_in_any_second(sent) == per_second
    assert sent[-1] - sent[0] < 40 / per_second  # and no slower than that


def test_per_second_remaining_zero_waits_for_its_reset_at_most_a_second() -> None:
    clock = Clock(T0)
    budget = RateBudget(600, clock=clock)
    budget.acquire()
    budget.observe({"x-per-second-remaining": "0", "x-per-second-reset": str(T0 + 1)})
    assert budget.wait_time() == pytest.approx(1)
    budget.observe({"x-per-second-remaining": "0", "x-per-second-reset": str(T0 + 3600)})
    assert budget.wait_time() == pytest.approx(1)  # a garbled reset: at most a second
    budget.observe({"x-per-second-remaining": "1"})
    assert budget.wait_time() == 0
    budget.acquire()
    assert budget.wait_time() == pytest.approx(1)  # its one send spent: no reset, a second


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-per-second-limit": "many", "x-per-second-remaining": "-1"},
        {"x-per-second-limit": "0", "x-per-second-remaining": "nan"},
        {"x-per-second-limit": "inf", "x-per-second-reset": "soon"},
        {"x-per-second-limit": "0.5"},
    ],
)
def test_absent_or_malformed_per_second_headers_change_nothing(headers: dict[str, str]) -> None:
    clock = Clock(T0)
    budget = RateBudget(60, clock=clock)
    budget.observe(headers)
    assert drive(budget, clock, 60) == [T0] * 60  # the per-minute budget alone decides
    assert budget.wait_time() == pytest.approx(60)
