"""The demo a new user runs first: it must show seeding, a firing, a repost, a retried
signed webhook and a milestone, and end with a summary, all on 127.0.0.1. Its simulated
world starts from a fixed point, so the story is the same at any hour, date and time zone."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from automation.cli.demo import START, run_demo

# one wall-clock time in each three hours of a day, then another date and another zone
WALL_CLOCKS = [datetime(2026, 12, 2, hour, 30, tzinfo=UTC) for hour in range(1, 24, 3)] + [
    datetime(2031, 2, 28, 23, 59, tzinfo=UTC),
    datetime(2026, 12, 2, 4, 30, tzinfo=ZoneInfo("Pacific/Kiritimati")),
]


@pytest.mark.parametrize("wall_clock", WALL_CLOCKS, ids=lambda d: d.isoformat())
def test_the_demo_shows_the_whole_story_and_exits_0(wall_clock: datetime) -> None:
    out = io.StringIO()
    with time_machine.travel(wall_clock, tick=True):
        assert run_demo(seconds=0, out=out) == 0
    text = out.getvalue()
    assert f"{START:%H:%M}  seeded example-repost-likes" in text
    assert "FIRED example-repost-likes" in text
    assert "why: fired: likes >= 100 is true" in text
    assert "-> repost as support at the sandbox: done" in text
    assert "-> webhook retry: webhook to https://chat.example.com answered 503" in text
    assert "signature verified" in text and "INVALID" not in text
    assert "FIRED example-like-milestones" in text
    assert "passed 1000 likes" in text
    summary = text[text.index("summary") :]
    assert "reposts recorded at the sandbox: 1;" in summary
    assert "2 with a valid signature, 1 refused on purpose and retried" in summary
