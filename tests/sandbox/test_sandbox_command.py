"""``automation sandbox --write-config FILE``: what a new user runs to try the engine by hand.
The config it writes must work as it is: ``automation run --once`` right after it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cli_helpers import isolated_process_state

from automation.cli.main import main
from automation.rulefiles.shipped import starter_rules
from automation.sandbox import serve


@contextmanager
def sandbox_command(config: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[list[str]]:
    """``serve`` in a thread until the block ends; yields the lines it printed on start."""
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(serve(0, config, stop=stop)))
    thread.start()
    printed = ""
    deadline = time.monotonic() + 10
    while "press Ctrl-C" not in printed and time.monotonic() < deadline:
        time.sleep(0.02)
        printed += capsys.readouterr().out
    try:
        yield printed.splitlines()
    finally:
        stop.set()
        thread.join(5)
    assert result == [0]


@pytest.fixture(autouse=True)
def _process_state() -> Iterator[None]:
    with isolated_process_state():
        yield


def test_write_config_in_an_empty_directory_also_writes_the_rules_it_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "automation.yaml"
    with sandbox_command(config, capsys) as printed:
        rules = tmp_path / "rules"
        assert {p.name: p.read_text() for p in rules.iterdir()} == starter_rules()
        assert any(f"{rules}" in line and "starter rules" in line for line in printed), printed
        assert main(["--config", str(config), "run", "--once"]) == 0
    assert "no such file" not in capsys.readouterr().err


def test_write_config_leaves_an_existing_rules_directory_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "mine.yaml").write_text("version: 1\nrules: []\n")
    with sandbox_command(tmp_path / "automation.yaml", capsys) as printed:
        assert [p.name for p in rules.iterdir()] == ["mine.yaml"]
        assert not any("starter rules" in line for line in printed)
