"""The words status and the dashboard share when the engine records nothing."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from automation.core.recording import (
    DiskSpace,
    Waiting,
    disk_text,
    is_stale,
    recorded_at,
    silence_text,
    waiting_now,
)
from automation.core.wording import size_text

ROOMY = DiskSpace("/srv/state", 100 * 1024**3, 40 * 1024**3)
FULL = DiskSpace("/srv/state", 100 * 1024**3, 0)


def test_a_cycle_is_stale_past_three_poll_intervals() -> None:
    assert not is_stale(None, 300)
    assert not is_stale(900, 300)
    assert is_stale(900.5, 300)


@pytest.mark.parametrize(
    ("age", "spelt"),
    [(181, "3m"), (2530, "42m"), (12_600, "3h30m"), (7200, "2h"), (106_200, "1d5h")],
)
def test_the_silence_is_spelt_to_the_minute(age: float, spelt: str) -> None:
    text = silence_text(age, 60, ROOMY)
    assert text is not None and text.startswith(f"no cycle recorded for {spelt} (")


def test_the_causes_come_in_order_with_what_to_type() -> None:
    assert silence_text(100, 60, ROOMY) is None
    assert silence_text(None, 60, None) is None
    assert silence_text(4000, 300, FULL) == (
        "no cycle recorded for 1h7m (one is due every 5m): is the engine running?"
        " systemctl status automation; the disk that holds /srv/state is full, see below"
    )
    assert silence_text(4000, 300, None) == (
        "no cycle recorded for 1h7m (one is due every 5m): is the engine running?"
        " systemctl status automation; is the database's disk full? journalctl -u"
        " automation says"
    )


def test_the_disk_text_appears_only_when_almost_full() -> None:
    assert disk_text(None) is None
    assert disk_text(ROOMY) is None
    assert disk_text(DiskSpace("/srv/state", 4 * 1024**2, 1536)) == (
        "/srv/state has 1.5 KiB free (0.0 % of its disk): the engine records nothing until"
        " space is freed there (df -h /srv/state); what was recorded is kept"
    )
    assert not DiskSpace("/x", 0, 0).almost_full  # a file system that reports no size


def test_the_disk_text_names_a_latin_1_folder_as_a_terminal_shows_it() -> None:
    latin_1 = DiskSpace(os.fsdecode(b"/srv/caf\xe9"), 4 * 1024**2, 1536)
    assert disk_text(latin_1) == (
        "/srv/caf\\xe9 has 1.5 KiB free (0.0 % of its disk): the engine records nothing"
        " until space is freed there (df -h /srv/caf\\xe9); what was recorded is kept"
    )


def test_the_recorded_time_is_read_from_the_last_cycle() -> None:
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert recorded_at({"at": "2026-11-20T12:00:00Z"}) == at
    assert recorded_at({"at": "yesterday"}) is None
    assert recorded_at({}) is None
    assert recorded_at(None) is None


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 bytes"), (1023, "1023 bytes"), (1536, "1.5 KiB"), (3 * 1024**3, "3072.0 MiB")],
)
def test_sizes_read_as_backup_has_always_written_them(n: int, text: str) -> None:
    assert size_text(n) == text


LAST = datetime(2026, 11, 20, 14, 4, tzinfo=UTC)  # the last recorded cycle
WAIT_429 = Waiting(
    LAST + timedelta(seconds=2), datetime(2026, 11, 20, 14, 5, 12, tzinfo=UTC), "429"
)


def test_an_engine_waiting_out_a_rate_limit_says_so_instead_of_asking_if_it_runs() -> None:
    # a 70 s wait with a 5 s poll interval: stale by the clock, but the engine is alive
    assert silence_text(64, 5, ROOMY, WAIT_429) == (
        "no cycle recorded for 1m (one is due every 5s): waiting for the API's rate limit"
        " until 14:05:12 UTC (429)"
    )
    budget = Waiting(WAIT_429.at, WAIT_429.until, "budget")
    assert silence_text(64, 5, None, budget) == (
        "no cycle recorded for 1m (one is due every 5s): waiting for the request budget"
        " until 14:05:12 UTC (engagement_api: requests_per_minute)"
    )
    assert silence_text(10, 5, ROOMY, WAIT_429) is None  # not stale: nothing to explain


def test_a_recorded_wait_explains_the_silence_only_while_it_can() -> None:
    raw = WAIT_429.to_json()
    assert raw == ('{"at": "2026-11-20T14:04:02Z", "until": "2026-11-20T14:05:12Z", "why": "429"}')
    during = WAIT_429.until - timedelta(seconds=30)
    assert waiting_now(raw, LAST, during, 5) == WAIT_429
    assert waiting_now(raw, None, during, 5) == WAIT_429  # the first cycle waits too
    # within three poll intervals of its end the cycle may still be finishing
    assert waiting_now(raw, LAST, WAIT_429.until + timedelta(seconds=15), 5) == WAIT_429
    # an engine that died while waiting is asked after again once that has passed
    assert waiting_now(raw, LAST, WAIT_429.until + timedelta(seconds=16), 5) is None
    # a wait from before the last recorded cycle is over
    assert waiting_now(raw, WAIT_429.at, during, 5) is None
    assert waiting_now(None, LAST, during, 5) is None
    assert waiting_now("not json", LAST, during, 5) is None
    assert waiting_now('{"at": "2026-11-20T14:04:02Z"}', LAST, during, 5) is None
