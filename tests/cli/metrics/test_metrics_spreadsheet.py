"""``automation metrics`` with what a spreadsheet makes of a list of posts: IDs it rounded,
a workbook asked for as the output, a file none of whose lines holds a usable ID. Against
the sandbox, standing still (speed 0)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cli_helpers import Cli
from export_helpers import BRAND, NASA
from sandbox_api import SandboxTarget

HOURS = timedelta(hours=5)


def test_ids_a_spreadsheet_rounded_to_15_digits_are_called_so_beside_their_reason(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    """A column formatted as Number keeps 15 digits and saves the rest as zeros: the IDs
    were listed only as unavailable, as if the posts had been deleted."""
    (kept,) = target.add_posts(NASA, 1, age=HOURS)
    rounded = [post_id[:15] + "0000" for post_id in target.add_posts(BRAND, 2, age=HOURS)]
    (tmp_path / "ids.csv").write_text("\n".join(["Tweet ID", kept, *rounded]), "utf-8")

    result = cli("metrics", "--ids", "ids.csv", "--metrics", "likes")

    assert result.code == 0, result.err
    assert kept in result.out
    assert result.err == (
        "2 posts: Tweet ID(s) are unavailable (deleted, protected, or its author suspended):\n"
        + "".join(f"  {post_id}\n" for post_id in rounded)
        + "  2 of them end in zeros, as IDs a spreadsheet rounded to 15 digits do: copy the "
        "IDs again from where they came into a column formatted as Text, or give the posts' "
        "links\n"
    )


@pytest.mark.parametrize("name", ["q3.xlsx", "q3.XLS", "q3.ods"])
@pytest.mark.parametrize("fmt", [(), ("--format", "csv")])
def test_a_workbook_as_the_output_is_refused_before_asking_naming_a_csv(
    cli: Cli, target: SandboxTarget, tmp_path: Path, name: str, fmt: tuple[str, ...]
) -> None:
    """``--output q3.xlsx`` wrote the text table into q3.xlsx, which Excel refuses to
    open (with --format csv, a CSV it warns is not what its name says)."""
    (tmp_path / "ids.txt").write_text("\n".join(target.add_posts(NASA, 1, age=HOURS)), "utf-8")

    result = cli("metrics", "--ids", "ids.txt", "--output", name, *fmt)

    assert result.code == 2 and target.received == []
    stem = name.partition(".")[0]
    assert result.err == (
        f"automation: --output {name}: metrics writes no workbook: name it {stem}.csv, which "
        "Excel, LibreOffice and Google Sheets open, the IDs kept as text\n"
    )
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize(
    ("rows", "refusal"),
    [
        (
            ["2.02839E+18", "2.12903E+18"],
            "none of its 2 lines holds a usable post ID (each is reported above); "
            "fix them and run the command again",
        ),
        (
            ["2.02839E+18"],
            "its one line holds no usable post ID (it is reported above); "
            "fix it and run the command again",
        ),
    ],
    ids=["two lines", "one line"],
)
def test_a_file_none_of_whose_lines_holds_a_usable_id_says_so_after_naming_them(
    cli: Cli, target: SandboxTarget, tmp_path: Path, rows: list[str], refusal: str
) -> None:
    """Every line skipped (here each a rounded number) then "no post ID in it; give one ID
    ... a line, or a CSV with an id ... column" sent the reader to fix a format that was
    right. One line skipped read "none of its line holds"."""
    (tmp_path / "ids.csv").write_text("\n".join(["Tweet ID", *rows, ""]), "utf-8")

    result = cli("metrics", "--ids", "ids.csv")

    assert result.code == 2 and target.received == []
    lines = result.err.splitlines()
    named = [f"ids.csv:{number}" for number in range(2, len(rows) + 2)]
    assert [line.partition(": skipped")[0] for line in lines[: len(rows)]] == named
    assert lines[len(rows) :] == [f"automation: --ids ids.csv: {refusal}"]
