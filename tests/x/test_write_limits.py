from __future__ import annotations

import pytest
from clock import Clock

from automation.x.write_limits import DEFAULT_WINDOWS, Window, WriteLimits

T0 = 1_800_000_000.0
MIN = 60.0
HOUR = 3600.0


def fill(limits: WriteLimits, account: str, kind: str, count: int, clock: Clock, step: float):
    for _ in range(count):
        limits.record(account, kind, clock.now)
        clock.now += step


@pytest.mark.parametrize(
    ("kind", "limit", "window"),
    [
        ("repost", 50, 15 * MIN),
        ("like", 50, 15 * MIN),
        ("reply", 100, 15 * MIN),
        ("quote", 100, 15 * MIN),
    ],
)
def test_fifteen_minute_window_per_kind(kind: str, limit: int, window: float) -> None:
    limits, clock = WriteLimits(), Clock(T0)
    first = clock.now
    fill(limits, "brand", kind, limit - 1, clock, 1.0)
    assert limits.wait_time("brand", kind, clock.now) == 0
    limits.record("brand", kind, clock.now)
    # Full: the next write fits once the first one leaves the window.
    assert limits.wait_time("brand", kind, clock.now) == pytest.approx(first + window - clock.now)
    clock.now = first + window - 0.5
    assert limits.wait_time("brand", kind, clock.now) == pytest.approx(0.5)
    clock.now = first + window
    assert limits.wait_time("brand", kind, clock.now) == 0


def test_reply_and_quote_share_the_post_creation_window() -> None:
    limits, clock = WriteLimits(), Clock(T0)
    fill(limits, "brand", "reply", 60, clock, 1.0)
    fill(limits, "brand", "quote", 40, clock, 1.0)
    assert limits.wait_time("brand", "reply", clock.now) > 0
    assert limits.wait_time("brand", "quote", clock.now) > 0
    assert limits.wait_time("brand", "repost", clock.now) == 0
    assert limits.wait_time("brand", "like", clock.now) == 0


def test_like_daily_cap_outlasts_the_fifteen_minute_window() -> None:
    limits, clock = WriteLimits(), Clock(T0)
    first = clock.now
    # 50 likes every 15 minutes stays under the short window: 20 bursts reach 1,000.
    for _ in range(20):
        fill(limits, "brand", "like", 50, clock, 0.0)
        clock.now += 15 * MIN
    wait = limits.wait_time("brand", "like", clock.now)
    assert wait == pytest.approx(first + 24 * HOUR - clock.now)
    assert wait > 15 * MIN
    assert limits.blocking_window("brand", "like", clock.now) == "1000 per 24h"


def test_three_hour_cap_is_shared_by_reposts_and_post_creation() -> None:
    limits, clock = WriteLimits(), Clock(T0)
    first = clock.now
    # 25 reposts and 50 replies per 15 minutes stay under both short windows.
    for _ in range(4):
        fill(limits, "brand", "repost", 25, clock, 0.0)
        fill(limits, "brand", "reply", 50, clock, 0.0)
        clock.now += 15 * MIN
    assert limits.wait_time("brand", "repost", clock.now) == pytest.approx(
        first + 3 * HOUR - clock.now
    )
    assert limits.wait_time("brand", "quote", clock.now) > 0
    assert limits.blocking_window("brand", "reply", clock.now) == "300 per 3h"
    assert limits.wait_time("brand", "like", clock.now) == 0


def test_accounts_are_counted_separately() -> None:
    limits, clock = WriteLimits(), Clock(T0)
    fill(limits, "brand", "repost", 50, clock, 0.0)
    assert limits.wait_time("brand", "repost", clock.now) > 0
    assert limits.wait_time("support", "repost", clock.now) == 0


def test_observe_blocks_until_reset_when_nothing_remains() -> None:
    limits, clock = WriteLimits(), Clock(T0)
    reset = clock.now + 420
    headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(reset))}
    limits.observe("brand", "reply", headers, clock.now)
    assert limits.wait_time("brand", "reply", clock.now) == pytest.approx(420)
    # Same endpoint (POST /2/tweets), same block; other endpoints are free.
    assert limits.wait_time("brand", "quote", clock.now) == pytest.approx(420)
    assert limits.wait_time("brand", "repost", clock.now) == 0
    assert limits.blocking_window("brand", "quote", clock.now) == "server"
    assert limits.wait_time("brand", "reply", reset) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-rate-limit-remaining": "3", "x-rate-limit-reset": str(int(T0 + 400))},
        {"x-rate-limit-remaining": "0"},
        {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "soon"},
        {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "inf"},
        {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(T0 - 5))},
    ],
)
def test_observe_ignores_headers_that_teach_nothing(headers: dict[str, str]) -> None:
    limits = WriteLimits()
    limits.observe("brand", "like", headers, T0)
    assert limits.wait_time("brand", "like", T0) == 0


def test_block_keeps_the_later_deadline() -> None:
    limits = WriteLimits()
    limits.block("brand", "repost", T0 + 100)
    limits.block("brand", "repost", T0 + 50)
    assert limits.wait_time("brand", "repost", T0) == pytest.approx(100)


def test_snapshot_round_trip_keeps_what_still_matters() -> None:
    limits, clock = WriteLimits(), Clock(T0)
    fill(limits, "brand", "repost", 50, clock, 1.0)
    fill(limits, "support", "like", 3, clock, 1.0)
    limits.block("support", "reply", clock.now + 600)
    state = limits.snapshot(clock.now)
    events, blocks = state
    assert all(isinstance(row, tuple) and len(row) == 3 for row in events + blocks)
    assert len(events) == 53
    assert blocks == (("support", "tweets", clock.now + 600),)

    restored = WriteLimits.restore(state)
    for account, kind in [("brand", "repost"), ("support", "like"), ("support", "quote")]:
        assert restored.wait_time(account, kind, clock.now) == pytest.approx(
            limits.wait_time(account, kind, clock.now)
        )
    assert restored.wait_time("brand", "repost", clock.now) > 0
    assert restored.snapshot(clock.now) == state


def test_snapshot_drops_expired_state_and_restore_skips_unknown_rows() -> None:
    limits, clock = WriteLimits(), Clock(T0)
    limits.record("brand", "repost", clock.now)
    limits.record("brand", "like", clock.now)
    limits.block("brand", "like", clock.now + 10)
    later = clock.now + 4 * HOUR
    events, blocks = limits.snapshot(later)
    # Reposts matter for 3 hours at most; likes for 24 hours; the block is over.
    assert events == (("brand", "like", T0),)
    assert blocks == ()
    restored = WriteLimits.restore(
        ((("brand", "follow", T0), *events), (("brand", "follows", later + 99),))
    )
    assert restored.snapshot(later) == (events, ())


def test_custom_windows_replace_the_defaults() -> None:
    tiny = (Window("repost 1m", frozenset({"repost"}), 1, 60.0),)
    limits = WriteLimits(tiny)
    limits.record("brand", "repost", T0)
    assert limits.wait_time("brand", "repost", T0 + 10) == pytest.approx(50)
    assert limits.wait_time("brand", "like", T0) == 0
    assert len(DEFAULT_WINDOWS) == 6


def test_used_counts_only_the_window() -> None:
    limits = WriteLimits()
    window = next(w for w in DEFAULT_WINDOWS if w.name == "repost+post 3h")
    limits.record("brand", "repost", T0)
    limits.record("brand", "quote", T0 + HOUR)
    assert limits.used("brand", window, T0 + 2 * HOUR) == 2
    assert limits.used("brand", window, T0 + 3 * HOUR) == 1


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown write kind 'follow'"):
        WriteLimits().wait_time("brand", "follow", T0)


def test_the_apps_accounts_together_create_at_most_10000_posts_a_day() -> None:
    """engagement-api.md §9, POST /2/tweets: "the current table says 100 / 15 min per user
    and 10,000 / 24 h per app"."""
    limits, clock = WriteLimits(), Clock(T0)
    first = clock.now
    for account in range(40):  # 250 each: within every per-user window
        for n in range(250):
            limits.record(f"account{account}", "reply" if n % 2 else "quote", first + n * 40)
    clock.now = first + 250 * 40
    assert limits.wait_time("account40", "reply", clock.now) == pytest.approx(
        first + 24 * HOUR - clock.now
    )
    assert limits.blocking_window("account40", "quote", clock.now) == "10000 per 24h"
    assert limits.wait_time("account40", "repost", clock.now) == 0
    assert limits.wait_time("account40", "like", clock.now) == 0
    window = next(w for w in DEFAULT_WINDOWS if w.per_app)
    assert limits.used("account40", window, clock.now) == 10_000
    restored = WriteLimits.restore(limits.snapshot(clock.now))
    assert restored.wait_time("account40", "reply", clock.now) > 0
