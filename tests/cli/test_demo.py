"""The demo a new user runs first: it must show seeding, a firing, a repost, a retried
signed webhook and a milestone, and end with a summary, all on 127.0.0.1. Its simulated
world starts from a fixed point, so the story is the same at any hour, date and time zone."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from cli_helpers import isolated_process_state

from automation.cli.demo import START, _Demo, run_demo
from automation.cli.main import main
from automation.engine.events import CycleEvent, FiredEvent

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


def _story(wall_clock: datetime) -> str:
    """The demo's output at ``wall_clock``, without what differs by design between runs:
    the ports it listens on and the random part of firing ids."""
    out = io.StringIO()
    with time_machine.travel(wall_clock, tick=True):
        assert run_demo(seconds=0, out=out) == 0
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", out.getvalue())
    return re.sub(r"receiver got [0-9a-f]+\.", "receiver got KEY.", text)


def test_the_demo_tells_the_same_story_word_for_word_at_any_time() -> None:
    assert _story(WALL_CLOCKS[1]) == _story(WALL_CLOCKS[-2]) == _story(WALL_CLOCKS[-1])


def test_the_demo_prints_no_real_time_log_line_in_its_timeline(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with isolated_process_state():  # main installs a log handler, as on the command line
        assert main(["demo", "--seconds", "0"]) == 0
    captured = capsys.readouterr()
    assert "passed 1000 likes" in captured.out  # the log action is shown in the timeline
    stamped = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ [A-Z]+ ")
    assert not stamped.search(captured.out + captured.err), captured
    # the engine's warning about the example's made-up post IDs, at the simulated time
    assert f"\n{START:%H:%M}  the API reports 2 posts unavailable" in captured.out


def test_the_demo_counts_one_post_in_the_singular(tmp_path: Path) -> None:
    out = io.StringIO()
    demo = _Demo(tmp_path, out, pause=0, cycles=1)
    demo._show(FiredEvent("seeded", "r", "1", "once"))
    demo._show(CycleEvent(posts=1, requests=1, duration=0.1, seeded=1))
    assert out.getvalue() == (
        f"{START:%H:%M}  seeded r: 1 post already past it when the rule was added; "
        "recorded as seen, not fired\n"
        f"{START:%H:%M}  cycle: 1 post watched, 1 API request, 0 fired, 1 seeded\n"
    )


def test_a_window_rule_s_firing_shows_its_window_as_history_does(tmp_path: Path) -> None:
    out = io.StringIO()
    demo = _Demo(tmp_path, out, pause=0, cycles=1)
    demo._show(FiredEvent("fired", "burst", "1", "once", {"likes": 90}, {"likes over 1h": 70}))
    demo._show(FiredEvent("fired", "at-100", "2", "once", {"likes": 120}, id="f2"))
    demo._show(CycleEvent(posts=2, requests=1, duration=0.1, fired=2))
    assert out.getvalue().splitlines()[:2] == [
        f"{START:%H:%M}  FIRED burst for post 1 (likes=90; likes over 1h = 70)",
        f"{START:%H:%M}  FIRED at-100 for post 2 (likes=120)",
    ]
