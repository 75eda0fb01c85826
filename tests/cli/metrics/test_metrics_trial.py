"""``automation metrics`` as a marketer meets it: what the command says when a ranking
leaves posts out, when X refuses the app's credentials, when a file's header names no ID
column, and when a period is empty. Against the sandbox, standing still (speed 0)."""

from __future__ import annotations

import csv
import io
import shutil
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from cli_helpers import SECRET_ENV, Cli, write_env_config
from export_helpers import BRAND, NASA
from sandbox_api import START, SandboxTarget

from automation.sandbox.app import Encoded
from automation.sandbox.messages import Request

DAY = timedelta(days=1)


def test_a_ranking_says_how_many_posts_it_left_out_for_want_of_the_value(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    owned = target.add_posts(BRAND, 2, age=timedelta(days=2))
    public = target.add_posts(NASA, 3, age=timedelta(days=2))
    (tmp_path / "ids.txt").write_text("\n".join([*public, *owned]), encoding="utf-8")

    ranked = cli("metrics", "--ids", "ids.txt", "--by", "impressions", "--format", "json")
    top = cli("metrics", "--ids", "ids.txt", "--top", "4", "--by", "impressions")
    likes = cli("metrics", "--ids", "ids.txt", "--by", "likes", "--format", "json")

    assert ranked.code == 0, ranked.err
    assert sorted(line["id"] for line in ranked.json_lines()) == sorted(owned)
    left_out = "3 posts have no impressions value and are left out of the ranking"
    assert left_out in ranked.err
    assert top.code == 0 and left_out in top.err
    assert len(likes.json_lines()) == 5 and "left out" not in likes.err


def test_a_refused_bearer_token_says_which_credentials_to_check(
    capsys: pytest.CaptureFixture[str],
    target: SandboxTarget,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {**SECRET_ENV, "X_BEARER_TOKEN": "AAAA-wrong-bearer-5e6f7a8b"}.items():
        monkeypatch.setenv(name, value)
    cli = Cli(capsys, write_env_config(tmp_path / "automation.yaml", target.base_url))
    (tmp_path / "ids.txt").write_text(
        "\n".join(target.add_posts(BRAND, 2, age=timedelta(hours=5))), encoding="utf-8"
    )

    result = cli("metrics", "--ids", "ids.txt")

    assert result.code == 1
    assert "timeline of brand: X answered 401" in result.err
    assert "check the credentials of app bearer token" in result.err
    assert "Traceback" not in result.err and "wrong-bearer" not in result.err


def test_a_header_naming_no_id_column_is_refused_naming_the_file(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    (tmp_path / "posts.csv").write_text("\ufeffdate;views\r\n2026-11-01;12\r\n", "utf-8")

    result = cli("metrics", "--ids", "posts.csv")

    assert result.code == 2
    assert "automation: --ids posts.csv: the first line looks like a CSV header" in result.err
    assert target.received == []


def test_a_period_that_ends_where_it_starts_is_called_empty(
    cli: Cli, target: SandboxTarget
) -> None:
    Path("ids.txt").write_text("1260294888811347969\n", encoding="utf-8")

    result = cli(
        "metrics", "--ids", "ids.txt", "--from", "2026-10-01T09:00Z", "--to", "2026-10-01T09:00Z"
    )

    to_come = cli("metrics", "--ids", "ids.txt", "--from", "2999-01-01")

    assert result.code == 2
    assert "--to 2026-10-01T09:00Z is the same time as --from 2026-10-01T09:00Z" in result.err
    assert to_come.code == 2
    assert "the period starts at 2999-01-01 00:00 UTC, which is not yet over" in to_come.err
    assert target.received == []


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_ids_typed_on_a_terminal_are_asked_for_and_piped_ones_are_not(
    cli: Cli, target: SandboxTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    (listed,) = target.add_posts(BRAND, 1, age=timedelta(hours=5))
    monkeypatch.setattr(sys, "stdin", _Terminal(f"{listed}\n"))
    typed = cli("metrics", "--ids", "-", "--metrics", "likes", "--format", "csv")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{listed}\n"))
    piped = cli("metrics", "--ids", "-", "--metrics", "likes", "--format", "csv")

    assert typed.code == 0 and typed.err == "reading post IDs, one a line; end with Ctrl-D\n"
    assert piped.code == 0 and piped.err == ""
    assert typed.out == piped.out and listed in piped.out


def test_a_csv_the_command_wrote_is_read_back_as_its_list_of_ids(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    listed = target.add_posts(NASA, 2, age=timedelta(days=2))
    listed += target.add_posts(BRAND, 2, age=timedelta(days=2))
    (tmp_path / "ids.txt").write_text("\n".join(listed), encoding="utf-8")
    assert cli("metrics", "--ids", "ids.txt", "--output", "now.csv").code == 0

    again = cli("metrics", "--ids", "now.csv", "--metrics", "likes", "--format", "json")

    assert again.code == 0, again.err
    assert [line["id"] for line in again.json_lines()] == listed
    assert again.err == ""


def test_posts_the_api_could_not_read_are_listed_in_the_order_given(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    (good,) = target.add_posts(NASA, 1, age=timedelta(hours=6))
    gone = target.add_posts(NASA, 8, age=timedelta(hours=6))
    for post_id in gone:
        target.world.delete_post(post_id)
    listed = [gone[i] for i in (5, 2, 7, 0, 3, 6, 1, 4)]
    (tmp_path / "ids.txt").write_text("\n".join([*listed, good]), encoding="utf-8")

    result = cli("metrics", "--ids", "ids.txt", "--metrics", "likes")

    assert result.code == 0, result.err
    unavailable = "Tweet ID(s) are unavailable (deleted, protected, or its author suspended)"
    assert result.err == f"8 posts: {unavailable}:\n" + "".join(f"  {p}\n" for p in listed)


def test_a_deleted_owned_post_in_a_period_is_not_called_someone_elses(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    kept, gone = target.add_posts(BRAND, 2, age=timedelta(days=3))
    target.world.delete_post(gone)
    (tmp_path / "ids.txt").write_text(f"{kept}\n{gone}\n", encoding="utf-8")

    with time_machine.travel(START + timedelta(minutes=30), tick=True):
        result = cli("metrics", "--ids", "ids.txt", "--since", "7d", "--format", "csv")

    assert result.code == 0, result.err
    assert "1 post: not an owned post, or one deleted: the Engagement API" in result.err
    assert result.err.endswith(f"current totals, which name deleted posts):\n  {gone}\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--ids", ""), "--ids needs a file name ('-': standard input)"),
        (("--ids", "ids.txt", "--output", ""), "--output needs a file name ('-': standard output)"),
    ],
)
def test_an_empty_file_name_is_refused_as_such(
    cli: Cli, target: SandboxTarget, args: tuple[str, ...], message: str
) -> None:
    Path("ids.txt").write_text("1260294888811347969\n", encoding="utf-8")

    result = cli("metrics", *args)

    assert result.code == 2
    assert f"automation: {message}\n" == result.err
    assert target.received == []


def test_output_dash_is_standard_output_as_ids_dash_is_standard_input(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    listed = target.add_posts(BRAND, 2, age=timedelta(hours=5))
    (tmp_path / "ids.txt").write_text("\n".join(listed), encoding="utf-8")

    dash = cli("metrics", "--ids", "ids.txt", "--metrics", "likes", "--output", "-")
    plain = cli("metrics", "--ids", "ids.txt", "--metrics", "likes")

    assert dash.code == 0 and dash.err == ""
    assert dash.out == plain.out and listed[0] in dash.out
    assert not (tmp_path / "-").exists()


def test_output_through_a_link_replaces_the_linked_file_and_keeps_the_link(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    listed = target.add_posts(BRAND, 2, age=timedelta(hours=5))
    (tmp_path / "ids.txt").write_text("\n".join(listed), encoding="utf-8")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "numbers.csv").write_text("last week's\n", encoding="utf-8")
    Path("link.csv").symlink_to(Path("shared") / "numbers.csv")

    result = cli("metrics", "--ids", "ids.txt", "--metrics", "likes", "--output", "link.csv")

    assert result.code == 0, result.err
    assert result.err == "wrote 2 rows to link.csv\n"
    assert Path("link.csv").is_symlink()
    written = (tmp_path / "shared" / "numbers.csv").read_text(encoding="utf-8")
    assert written.startswith("id,url,account,likes\n") and listed[1] in written
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["numbers.csv"]


def test_a_rerun_after_an_output_not_written_says_so_and_reuses_the_answers(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    listed = target.add_posts(NASA, 3, age=timedelta(hours=5))
    (tmp_path / "ids.txt").write_text("\n".join(listed), encoding="utf-8")
    reports = tmp_path / "reports"
    reports.mkdir()  # there when the command starts, removed once X has answered
    Path("link.csv").symlink_to(Path("reports") / "numbers.csv")
    command = ("metrics", "--ids", "ids.txt", "--metrics", "likes", "--output", "link.csv")
    answer = target.sandbox.app.handle

    def then_remove(request: Request) -> Encoded:
        try:
            return answer(request)
        finally:
            shutil.rmtree(reports, ignore_errors=True)

    target.sandbox.app.handle = then_remove  # type: ignore[method-assign]
    failed = cli(*command)
    target.sandbox.app.handle = answer  # type: ignore[method-assign]
    sent = len(target.received)
    reports.mkdir()
    again = cli(*command)

    assert failed.code == 2 and "Traceback" not in failed.err
    assert failed.err.startswith(f"automation: --output link.csv (a link to {reports}/")
    assert "cannot write it: No such file or directory; what was fetched is kept" in failed.err
    assert again.code == 0, again.err
    assert len(target.received) == sent, "nothing asked twice"
    assert again.err == (
        "wrote 3 rows to link.csv\n"
        "resumed: 1 of 1 requests came from an earlier run of this command, kept after its "
        "output could not be written\n"
    )
    assert listed[2] in (reports / "numbers.csv").read_text(encoding="utf-8")


def test_output_through_a_link_into_a_missing_directory_is_refused_before_asking(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    (tmp_path / "ids.txt").write_text("\n".join(target.add_posts(NASA, 1, age=DAY)), "utf-8")
    Path("link.csv").symlink_to(Path("reports") / "numbers.csv")

    result = cli("metrics", "--ids", "ids.txt", "--output", "link.csv")

    assert result.code == 2 and target.received == []
    assert result.err == (
        f"automation: --output link.csv (a link to {tmp_path}/reports/numbers.csv): "
        f"directory {tmp_path}/reports does not exist: create it first, or give a file in a "
        "directory that exists\n"
    )


def test_output_into_a_missing_directory_says_how_to_fix_it_before_asking(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    """It said only "directory reports does not exist"."""
    (tmp_path / "ids.txt").write_text("\n".join(target.add_posts(NASA, 1, age=DAY)), "utf-8")

    result = cli("metrics", "--ids", "ids.txt", "--output", "reports/q3.csv")

    assert result.code == 2 and target.received == []
    assert result.err == (
        "automation: --output reports/q3.csv: directory reports does not exist: create it "
        "first, or give a file in a directory that exists\n"
    )


def test_output_through_a_loop_of_links_is_refused_before_asking(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    (tmp_path / "ids.txt").write_text("\n".join(target.add_posts(NASA, 1, age=DAY)), "utf-8")
    Path("a.csv").symlink_to("b.csv")
    Path("b.csv").symlink_to("a.csv")

    result = cli("metrics", "--ids", "ids.txt", "--output", "a.csv")

    assert result.code == 2 and target.received == []
    assert result.err.startswith("automation: --output a.csv: its links lead back to it (")


def test_output_through_a_dangling_link_creates_the_file_it_names(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    listed = target.add_posts(NASA, 2, age=DAY)
    (tmp_path / "ids.txt").write_text("\n".join(listed), encoding="utf-8")
    (tmp_path / "shared").mkdir()
    Path("link.csv").symlink_to(Path("shared") / "new.csv")

    result = cli("metrics", "--ids", "ids.txt", "--metrics", "likes", "--output", "link.csv")

    assert result.code == 0, result.err
    assert Path("link.csv").is_symlink()
    assert listed[1] in (tmp_path / "shared" / "new.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize("sep", [";", ",", "\t"])
@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_an_excel_csv_with_its_sep_line_is_read_in_any_encoding_it_saves(
    cli: Cli, target: SandboxTarget, tmp_path: Path, sep: str, encoding: str
) -> None:
    listed = target.add_posts(NASA, 2, age=timedelta(hours=5))
    rows = [f"Date{sep}Tweet id{sep}Tweet text", f"2026-11-01{sep}{listed[0]}{sep}café"]
    rows += [f"2026-11-01{sep}1.26029E+18{sep}déjà", f"2026-11-02{sep}{listed[1]}{sep}été"]
    text = "".join(f"{row}\r\n" for row in [f"sep={sep}", *rows])
    (tmp_path / "posts.csv").write_bytes(text.encode(encoding))

    result = cli("metrics", "--ids", "posts.csv", "--metrics", "likes", "--format", "csv")

    assert result.code == 0, result.err
    assert result.err.startswith("posts.csv:4: skipped '1.26029E+18': a number a spreadsheet")
    assert result.err.count("\n") == 1
    assert [row["id"] for row in csv.DictReader(io.StringIO(result.out))] == [
        f'="{post_id}"' for post_id in listed
    ]
