"""``automation metrics`` through the real command line against the sandbox.

The sandbox stands still (speed 0, a fixed start), so the values a test expects are the
simulated world's own; the command's wall clock only stamps the request budget.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import math
import os
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import time_machine
from cli_helpers import SECRET_ENV, Cli, database_bytes, write_env_config
from export_helpers import BRAND, NASA, SUPPORT, engagement_requests
from sandbox_api import START, SandboxTarget

import automation.cli.metrics as metrics_command
from automation.cli.main import main
from automation.sandbox import write_config
from automation.sandbox.messages import Request
from automation.store.sqlite import SqliteStore


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def unquoted(cell: str) -> str:
    assert cell.startswith('="') and cell.endswith('"'), cell
    return cell[2:-1]


def test_a_csv_of_1000_mixed_ids_takes_ceil_owned_and_ceil_public_requests(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    owned = target.add_posts(BRAND, 620, age=timedelta(days=2))
    public = target.add_posts(NASA, 380, age=timedelta(days=2))
    listed = owned + public
    random.Random(4).shuffle(listed)
    ids = tmp_path / "campaign.csv"
    ids.write_text(
        "date,tweet_id,text\n" + "".join(f'2026-11-18,{pid},"hello, world"\n' for pid in listed),
        encoding="utf-8",
    )

    result = cli("metrics", "--ids", str(ids), "--format", "csv")

    assert result.code == 0, result.err
    sent = [r for r in engagement_requests(target) if r.path.endswith("/totals")]
    assert sum(r.scheme == "OAuth" for r in sent) == math.ceil(620 / 250)
    assert sum(r.scheme == "Bearer" for r in sent) == math.ceil(380 / 250)
    rows = csv_rows(result.out)
    assert [unquoted(r["id"]) for r in rows] == listed  # in the order listed
    assert rows[0]["url"] == f"https://x.com/i/status/{listed[0]}"
    for row in rows:
        pid = unquoted(row["id"])
        assert int(row["favorites"]) == target.value(pid, "favorites")
        if pid in owned:
            assert row["account"] == "brand"
            assert int(row["impressions"]) == target.value(pid, "impressions")
        else:
            assert row["account"] == "" and row["impressions"] == ""  # unknown, not 0
    assert result.err == ""


def test_top_10_equals_the_true_top_10_of_the_sandbox_world(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    world = target.world
    now = target.sandbox.clock.now()
    posts = [world.add_post(BRAND, created_at=now - timedelta(hours=40 + i)) for i in range(60)]
    posts += [world.add_post(NASA, created_at=now - timedelta(hours=30 + i)) for i in range(60)]
    for post in posts[::7]:  # ties, broken by post ID
        world.set_metric(post.id, "favorites", 500)
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(p.id for p in posts), encoding="utf-8")

    result = cli("metrics", "--ids", str(ids), "--top", "10", "--by", "likes", "--format", "json")

    assert result.code == 0, result.err
    truth = sorted(posts, key=lambda p: (-world.value(p, "favorites", now), int(p.id)))[:10]
    lines = result.json_lines()
    assert [line["id"] for line in lines] == [p.id for p in truth]
    assert [line["favorites"] for line in lines] == [
        world.value(p, "favorites", now) for p in truth
    ]
    assert all(line["impressions"] is None for line in lines if line["account"] is None)


def test_a_malformed_line_a_duplicate_and_a_deleted_post(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    good, gone = target.add_posts(NASA, 2, age=timedelta(hours=6))
    target.world.delete_post(gone)
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{good}\n12ab\n\n{good}\n{gone}\n", encoding="utf-8")

    result = cli("metrics", "--ids", str(ids), "--metrics", "likes,impressions")

    assert result.code == 0, result.err
    assert result.out.splitlines()[2].split() == [
        good,
        "public",
        f"{target.value(good, 'favorites'):,.0f}",
        "-",
    ]
    assert len(result.out.splitlines()) == 3  # header, rule, one row
    assert f"{ids}:2: skipped '12ab': not a post ID" in result.err
    assert f"{ids}: ignored 1 repeated ID" in result.err
    unavailable = "Tweet ID(s) are unavailable (deleted, protected, or its author suspended)"
    assert f"1 post: {unavailable}:\n  {gone}\n" in result.err


def _in_process(target: SandboxTarget, interrupt_at: int | None) -> respx.MockRouter:
    """respx answering from the sandbox app with no socket; Ctrl-C on the Nth /totals."""
    calls = {"totals": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/totals"):
            calls["totals"] += 1
            if calls["totals"] == interrupt_at:
                raise KeyboardInterrupt
        headers = {k.lower(): v for k, v in request.headers.items()}
        reply = target.sandbox.handle(
            Request(request.method, str(request.url), headers, request.content)
        )
        return httpx.Response(
            reply.status, headers=dict(reply.headers), stream=httpx.ByteStream(reply.body)
        )

    router = respx.mock(assert_all_called=False)
    router.route().mock(side_effect=answer)
    return router


def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(
    capsys: pytest.CaptureFixture[str], target: SandboxTarget, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "a.yaml", "https://data-api.x.com", database="s.db")
    cli = Cli(capsys, config)
    listed = target.add_posts(BRAND, 300, age=timedelta(days=1))
    listed += target.add_posts(NASA, 700, age=timedelta(days=1))
    ids, out = tmp_path / "ids.txt", tmp_path / "out.csv"
    ids.write_text("\n".join(listed), encoding="utf-8")
    out.write_text("the previous export\n", encoding="utf-8")
    command = ("metrics", "--ids", str(ids), "--output", str(out))

    with _in_process(target, interrupt_at=3):
        stopped = cli(*command)
    assert stopped.code == 130
    assert "interrupted after 2 of 5 requests" in stopped.err
    assert "run the same command again to resume" in stopped.err
    assert out.read_text(encoding="utf-8") == "the previous export\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file
    target.received.clear()

    with _in_process(target, interrupt_at=None):
        resumed = cli(*command)

    assert resumed.code == 0, resumed.err
    assert len(engagement_requests(target)) == 3
    assert len(target.received) == 3, "the timelines are not paged again either"
    assert "resumed: 2 of 5 requests came from an interrupted run" in resumed.err
    assert "resuming" not in resumed.err  # not a terminal: only the report at the end
    rows = csv_rows(out.read_text(encoding="utf-8"))
    assert [unquoted(r["id"]) for r in rows] == listed
    assert all(int(r["favorites"]) == target.value(unquoted(r["id"]), "favorites") for r in rows)


def test_ctrl_c_while_writing_keeps_what_was_fetched(
    cli: Cli, target: SandboxTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = target.add_posts(NASA, 300, age=timedelta(hours=9))
    ids, out = tmp_path / "ids.txt", tmp_path / "out.csv"
    ids.write_text("\n".join(listed), encoding="utf-8")
    command = ("metrics", "--ids", str(ids), "--output", str(out))

    def ctrl_c(*args: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr("automation.cli.metrics.write_lines", ctrl_c)  # CSV in listed order
        assert cli(*command).code == 130
        patched.setattr("automation.cli.metrics.write_rows", ctrl_c)  # ranked
        assert cli(*command, "--by", "likes").code == 130
    assert not out.exists()
    target.received.clear()
    again = cli(*command)
    assert again.code == 0 and target.received == []
    assert len(csv_rows(out.read_text(encoding="utf-8"))) == 300


def test_an_export_leaves_the_garbage_collector_as_it_found_it_even_after_ctrl_c(
    cli: Cli, target: SandboxTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(target.add_posts(NASA, 3, age=timedelta(hours=9))), encoding="utf-8")
    seen: list[bool] = []
    write = metrics_command.write_lines

    def watched(*args: Any) -> None:
        seen.append(gc.isenabled())
        write(*args)

    def ctrl_c(*args: object) -> None:
        raise KeyboardInterrupt

    assert gc.isenabled()
    with monkeypatch.context() as patched:
        patched.setattr("automation.cli.metrics.write_lines", watched)
        assert cli("metrics", "--ids", str(ids), "--format", "csv").code == 0
        patched.setattr("automation.cli.metrics.write_lines", ctrl_c)
        assert cli("metrics", "--ids", str(ids), "--format", "csv").code == 130
    assert gc.isenabled()
    assert seen == [False]  # no full collections walking every post while it ran


def test_the_output_file_takes_its_format_from_its_suffix_and_keeps_its_mode(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    (post,) = target.add_posts(NASA, 1, age=timedelta(hours=2))
    ids, out = tmp_path / "ids.txt", tmp_path / "top.jsonl"
    ids.write_text(post, encoding="utf-8")
    out.write_text("old", encoding="utf-8")
    out.chmod(0o640)
    result = cli("metrics", "--ids", str(ids), "--output", str(out), "--metrics", "replies")
    assert result.code == 0 and result.out == ""
    assert "wrote 1 rows" not in result.err and "wrote 1 row" in result.err
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"id": post, "account": None, "replies": target.value(post, "replies")}
    ]
    assert out.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "metrics needs posts: --ids FILE"),
        (("--ids", "ids.txt", "--top", "5"), "--top N needs --by METRIC"),
        (("--ids", "ids.txt", "--metrics", "lieks"), "did you mean 'likes'"),
        (("--ids", "ids.txt", "--by", "url_clicks"), "url_clicks has no current total"),
        (("--ids", "ids.txt", "--account", "brnad"), "--account brnad: no such owned account"),
        (("--ids", "missing.txt"), "--ids missing.txt: no such file"),
        (("--ids", "header.csv"), "names no id, tweet_id, post_id or url column"),
        (("--ids", "utf16.csv"), "--ids utf16.csv: it holds NUL characters, as UTF-16 text"),
        (("--ids", "book.xlsx"), "--ids book.xlsx: it is a spreadsheet workbook (.xlsx, .xls"),
        (("--ids", "book.xls"), "--ids book.xls: it is a spreadsheet workbook (.xlsx, .xls"),
        (("--ids", "junk.txt"), "--ids junk.txt: none of its 3 lines holds a usable post ID"),
        (("--ids", "empty.txt", "--account", "brand"), "--ids empty.txt: no post ID in it"),
        (("--ids", "only-header.csv", "--output", "x.csv"), "only-header.csv: no post ID in it"),
        (("--ids", "ids.txt", "--output", "no/such/dir/x.csv"), "directory no/such/dir"),
        (("--ids", "ids.txt", "--top", "0", "--by", "likes"), "at least 1"),
        (("--ids", "ids.txt", "--since", "30d", "--metrics", "quotes"), "no hourly history"),
        (("--ids", "ids.txt", "--since", "30d", "--to", "2026-11-01"), "not both"),
        (("--ids", "ids.txt", "--from", "last week"), "expected a date"),
        (
            ("--account", "brand", "--from", "2009-01-01", "--to", "2010-06-30"),
            "--account reads timelines, which X serves from 2010-11-06 on, and the period ends",
        ),
    ],
)
def test_usage_errors_say_what_to_do_and_send_nothing(
    cli: Cli, target: SandboxTarget, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "ids.txt").write_text("1260294888811347969\n", encoding="utf-8")
    (tmp_path / "header.csv").write_text("date,likes\n2026-07-01,1\n", encoding="utf-8")
    (tmp_path / "junk.txt").write_text("hello\n12ab\n#note\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "only-header.csv").write_text("Tweet id,Tweet text\n", encoding="utf-8")
    (tmp_path / "utf16.csv").write_bytes("tweet_id,caf\u00e9\n1,2\n".encode("utf-16"))
    # what an .xlsx (a ZIP) and an .xls (OLE2) begin with
    (tmp_path / "book.xlsx").write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00")
    (tmp_path / "book.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00")
    result = cli("metrics", *args)
    assert result.code == 2
    assert message in result.err and "Traceback" not in result.err
    assert target.received == []
    assert not (tmp_path / "x.csv").exists()


def test_an_ids_file_named_in_latin_1_is_named_as_a_terminal_shows_it(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    named = os.fsdecode(b"caf\xe9.txt")  # a Latin-1 name on a UTF-8 system
    (tmp_path / named).write_text("1260294888811347969\nhello\n", encoding="utf-8")
    read = cli("metrics", "--ids", named)
    missing = cli("metrics", "--ids", os.fsdecode(b"r\xf6les.txt"))
    assert "caf\\xe9.txt:2: skipped 'hello'" in read.err
    assert missing.code == 2
    assert "--ids r\\xf6les.txt: no such file" in missing.err
    assert not any(0xDC80 <= ord(c) <= 0xDCFF for c in read.err + missing.err)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_on_a_terminal_and_nothing_extra_when_not(
    cli: Cli, target: SandboxTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(target.add_posts(NASA, 600, age=timedelta(days=1))), "utf-8")
    piped = cli("metrics", "--ids", str(ids), "--format", "csv")
    assert piped.code == 0 and piped.err == ""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code = main(["--config", str(cli.config), "metrics", "--ids", str(ids), "--format", "csv"])
    assert code == 0
    shown = terminal.getvalue()
    assert "\r[........................] 0/3 requests" in shown
    assert "3/3 requests" in shown
    assert shown.endswith("\r\x1b[K")  # erased before the output is read


def test_waiting_for_the_shared_budget_is_said_once_up_front_when_not_on_a_terminal(
    target: SandboxTarget,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(
        tmp_path / "automation.yaml", target.base_url, requests_per_minute=2, database="s.db"
    )
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(target.add_posts(NASA, 600, age=timedelta(days=1))), "utf-8")
    with time_machine.travel(START, tick=False) as traveller:
        with SqliteStore.open(tmp_path / "s.db") as store:  # the engine just spent the minute
            store.budget_record("engagement", START.timestamp())
            store.budget_record("engagement", START.timestamp())
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            traveller.shift(seconds)

        monkeypatch.setattr(metrics_command, "sleep", sleep)
        code = main(["--config", str(config), "metrics", "--ids", str(ids), "--format", "csv"])
    assert code == 0
    assert max(waits) >= 5  # long enough that the client says it is waiting, on its log
    # no bar and no line per wait, but how many requests and how long, before the first
    assert capsys.readouterr().err == (
        "sending 3 requests, at most 2 a minute (a budget shared with a running engine):"
        " about 2 minutes\n"
    )


def test_owned_posts_summed_over_a_45_day_period(
    cli: Cli, target: SandboxTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owned = target.add_posts(BRAND, 25, age=timedelta(days=60))
    (public,) = target.add_posts(NASA, 1, age=timedelta(days=60))
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join([*owned, public]), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO(ids.read_text(encoding="utf-8")))

    with time_machine.travel(START + timedelta(minutes=30), tick=True):
        result = cli(
            "metrics", "--ids", str(ids), "--from", "2026-10-01", "--to", "2026-11-14",
            "--metrics", "likes,impressions", "--format", "csv",
        )  # fmt: skip

    assert result.code == 0, result.err
    sent = engagement_requests(target)
    assert [(r.body["start"], r.body["end"]) for r in sent] == [
        ("2026-10-01T00:00:00Z", "2026-10-29T00:00:00Z"),
        ("2026-10-29T00:00:00Z", "2026-11-15T00:00:00Z"),
    ]
    world = target.world
    start, end = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 15, tzinfo=UTC)
    rows = csv_rows(result.out)
    assert [unquoted(r["id"]) for r in rows] == owned
    for row in rows:
        post = world.find(unquoted(row["id"]))
        for name, metric in (("likes", "favorites"), ("impressions", "impressions")):
            own = world.value(post, metric, end) - world.value(post, metric, start)
            assert int(row[name]) == own
    assert "sums over 2026-10-01 00:00 .. 2026-11-15 00:00 UTC (1,080 hours)" in result.err
    target.received.clear()
    with time_machine.travel(START + timedelta(minutes=40), tick=True):
        again = cli(
            "metrics", "--ids", "-", "--from", "2026-10-01", "--to", "2026-11-14",
            "--metrics", "likes", "--format", "json", "--top", "1", "--by", "likes",
        )  # fmt: skip
    assert engagement_requests(target) == [], "the hours are stored: nothing is asked again"
    (line,) = again.json_lines()
    assert (line["from"], line["to"]) == ("2026-10-01T00:00:00Z", "2026-11-15T00:00:00Z")
    assert line["likes"] == max(int(r["likes"]) for r in rows)
    assert "1 post: not an owned post, or one deleted: the Engagement API keeps no" in result.err
    assert result.err.endswith(f"current totals, which name deleted posts):\n  {public}\n")


def test_no_secret_appears_in_output_logs_or_the_database(
    capsys: pytest.CaptureFixture[str],
    target: SandboxTarget,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = {**SECRET_ENV, "SUPPORT_ACCESS_TOKEN": "783214-wrong-token-9f8e7d6c5b4a"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    config = write_env_config(tmp_path / "automation.yaml", target.base_url)
    cli = Cli(capsys, config)
    listed = target.add_posts(BRAND, 3, age=timedelta(hours=5))
    listed += target.add_posts(SUPPORT, 3, age=timedelta(hours=5))  # its token is refused
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(listed), encoding="utf-8")
    outputs = [
        cli("--debug", "metrics", "--ids", str(ids)),
        cli("--debug", "--log-format", "json", "metrics", "--ids", str(ids), "--format", "json"),
    ]
    assert outputs[0].code == 1  # support's requests failed for good
    assert "check the credentials of account 'support'" in outputs[0].err
    everything = "".join(r.out + r.err for r in outputs).encode()
    everything += database_bytes(tmp_path / "state.db")
    assert [n for n, v in secrets.items() if v.encode() in everything] == []


def test_owned_posts_written_after_the_period_are_counted_as_such(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    before = target.add_posts(BRAND, 2, age=timedelta(days=60))
    after = target.add_posts(BRAND, 3, age=timedelta(days=10))
    (tmp_path / "ids.txt").write_text("\n".join([*before, *after]), encoding="utf-8")

    with time_machine.travel(START + timedelta(minutes=30), tick=True):
        result = cli("metrics", "--ids", "ids.txt", "--from", "2026-10-01", "--to", "2026-10-31")

    assert result.code == 0, result.err
    assert "3 owned posts were written after the period: nothing to sum, so the values are 0;" in (
        result.err
    )


def test_a_resumed_run_on_a_terminal_says_so_before_its_bar(
    capsys: pytest.CaptureFixture[str],
    target: SandboxTarget,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = write_config(tmp_path / "a.yaml", "https://data-api.x.com", database="s.db")
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(target.add_posts(NASA, 500, age=timedelta(days=1))), "utf-8")
    command = ["--config", str(config), "metrics", "--ids", str(ids), "--format", "csv"]
    with _in_process(target, interrupt_at=2):
        assert Cli(capsys, config)(*command[2:]).code == 130
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with _in_process(target, interrupt_at=None):
        assert main(command) == 0
    shown = terminal.getvalue()
    said = "resuming: 1 of 2 requests came from an interrupted run of this command\n"
    assert shown.startswith(said), shown
    assert shown.index("\r[############............] 1/2 requests") == len(said)
    assert "resumed: 1 of 2 requests came from an interrupted run" in shown


@pytest.mark.parametrize("days", [None, 365])
def test_a_period_past_365_days_says_which_part_x_did_not_answer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, days: int | None
) -> None:
    """Reference §1.3 ⚠: "back to September 1, 2014" vs. "Post engagement data is limited
    to only 365 days in the past". Where X refuses the older hours the sums stay unknown
    (not partial, not zero), the message says from when X answered and why, the hours it
    answered are stored, and nothing fails or loops."""
    from automation.sandbox.options import Options

    target = SandboxTarget(
        lambda: 0.0, options=Options(per_minute_limit=10_000, historical_days=days)
    ).start()
    try:
        owned = target.add_posts(BRAND, 2, age=timedelta(days=420))
        (tmp_path / "ids.txt").write_text("\n".join(owned), encoding="utf-8")
        cli = Cli(capsys, write_config(tmp_path / "a.yaml", target.base_url, database="s.db"))
        args = ("--from", "2025-10-20", "--to", "2026-11-14", "--metrics", "likes")
        with time_machine.travel(START + timedelta(minutes=30), tick=True):
            result = cli("metrics", "--ids", str(tmp_path / "ids.txt"), *args, "--format", "csv")
        sent = engagement_requests(target)
    finally:
        target.stop()
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    rows = {unquoted(r["id"]): r["likes"] for r in csv_rows(result.out)}
    # 390 days in 14 windows of 4 weeks; with the reach the first is refused, the second
    # sent from 2025-11-21 12:00 on, and the refusal is not retried
    assert len(sent) == 14
    if days is None:
        assert all(rows[p] != "" for p in owned)
        assert "365 days" not in result.err
        return
    assert rows == {}  # no sum: unknown, not a partial sum nor 0
    assert (
        "X answered /historical only from 2025-11-21 12:00 UTC and refused the hours before"
        in result.err
    )
    assert "limited to only 365 days in the past" in result.err
    assert "favorites left unknown for the period" in result.err
    since, end = datetime(2025, 11, 21, 12, tzinfo=UTC), datetime(2026, 11, 15, tzinfo=UTC)
    with SqliteStore.open(tmp_path / "s.db") as db:
        assert db.missing_hours(owned, ["favorites"], since, end) == {}  # X's part is kept
