"""``automation metrics`` with what a spreadsheet makes of a list of posts: IDs it rounded,
a workbook asked for as the output, a file none of whose lines holds a usable ID. Against
the sandbox, standing still (speed 0)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cli_helpers import Cli
from export_helpers import NASA
from sandbox_api import SandboxTarget

HOURS = timedelta(hours=5)


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
