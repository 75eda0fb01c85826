"""``automation metrics`` with many posts the API could not read: a terminal shows the
first of each reason and counts the rest, a pipe or a file gets every one, and
``--unavailable FILE`` writes them all. Against the sandbox, standing still (speed 0)."""

from __future__ import annotations

import csv
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from cli_helpers import Cli
from export_helpers import NASA
from sandbox_api import SandboxTarget

SHOWN = 20  # posts of each reason a terminal shows
GONE = "Tweet ID(s) are unavailable (deleted, protected, or its author suspended)"


def _deleted(target: SandboxTarget, tmp_path: Path, count: int) -> list[str]:
    """A file ``ids.txt`` of one readable post, then ``count`` deleted ones (returned)."""
    (good,) = target.add_posts(NASA, 1, age=timedelta(hours=6))
    gone = target.add_posts(NASA, count, age=timedelta(hours=6))
    for post_id in gone:
        target.world.delete_post(post_id)
    (tmp_path / "ids.txt").write_text("\n".join([good, *gone]), encoding="utf-8")
    return gone


def test_a_terminal_shows_the_first_of_each_reason_and_says_how_to_see_them_all(
    cli: Cli, target: SandboxTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = _deleted(target, tmp_path, SHOWN + 5)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)

    result = cli("metrics", "--ids", "ids.txt", "--metrics", "likes", "--format", "csv")

    assert result.code == 0, result.err
    listed = result.err[result.err.index(f"{SHOWN + 5} posts: ") :]
    assert listed == (
        f"{SHOWN + 5} posts: {GONE}:\n"
        + "".join(f"  {post_id}\n" for post_id in gone[:SHOWN])
        + "  ... and 5 more\n"
        + "5 not shown: --unavailable FILE writes them all, with their reasons\n"
    )


def test_a_pipe_gets_every_one_and_unavailable_writes_them_all_with_their_reason(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    gone = _deleted(target, tmp_path, SHOWN + 5)

    piped = cli("metrics", "--ids", "ids.txt", "--metrics", "likes", "--format", "csv")
    kept = cli("metrics", "--ids", "ids.txt", "--metrics", "likes", "--unavailable", "gone.csv")

    assert piped.code == 0 and kept.code == 0, kept.err
    every = f"{SHOWN + 5} posts: {GONE}:\n" + "".join(f"  {post_id}\n" for post_id in gone)
    assert piped.err == every
    assert kept.err == every + f"wrote {SHOWN + 5} posts the API could not read to gone.csv\n"
    with (tmp_path / "gone.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert rows == [{"id": f'="{post_id}"', "reason": GONE} for post_id in gone]
    again = cli("metrics", "--ids", "gone.csv", "--metrics", "likes", "--format", "csv")
    assert again.err == every  # the file reads back as the list of the posts


def test_unavailable_is_refused_before_any_request_when_it_cannot_be_written(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    _deleted(target, tmp_path, 1)
    result = cli("metrics", "--ids", "ids.txt", "--unavailable", str(tmp_path / "no" / "x.csv"))
    assert result.code == 2
    assert f"--unavailable {tmp_path / 'no' / 'x.csv'}: directory" in result.err
    assert target.received == []
