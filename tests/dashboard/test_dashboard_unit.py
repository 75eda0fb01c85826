"""deploy/automation-dashboard.service: beside the engine's unit, on its database."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNIT = DEPLOY / "automation-dashboard.service"
ENGINE = DEPLOY / "automation.service"


def _service(path: Path) -> configparser.SectionProxy:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser["Service"]


def test_it_runs_the_same_program_and_config_on_loopback() -> None:
    mine, engine = _service(UNIT), _service(ENGINE)
    run = mine["ExecStart"].split()
    assert run[:3] == engine["ExecStart"].split()[:3]
    assert run[3:] == ["dashboard", "--listen", "127.0.0.1:8080"]
    assert mine["Restart"] == "on-failure"


def test_it_shares_the_engines_user_and_state_directory() -> None:
    mine, engine = _service(UNIT), _service(ENGINE)
    assert mine["DynamicUser"] == engine["DynamicUser"] == "yes"
    assert mine["User"] == ENGINE.stem  # the user DynamicUser= gives the engine's unit
    assert mine["StateDirectory"] == engine["StateDirectory"]
    assert mine["ConfigurationDirectory"] == engine["ConfigurationDirectory"]
    assert "DASHBOARD_PASSWORD" in UNIT.read_text()


def test_whichever_unit_starts_last_leaves_the_state_directory_0700() -> None:
    """systemd sets an existing StateDirectory= to the starting unit's StateDirectoryMode=
    (0755 when unset) at every start, so both units sharing it must give the same mode."""
    mine, engine = _service(UNIT), _service(ENGINE)
    assert mine["StateDirectoryMode"] == engine["StateDirectoryMode"] == "0700"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    binary = shutil.which("automation") or f"{sys.executable} -m automation"
    copy = tmp_path / UNIT.name
    copy.write_text(re.sub(r"^ExecStart=\S+", f"ExecStart={binary}", UNIT.read_text(), flags=re.M))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    own = [line for line in (result.stdout + result.stderr).splitlines() if UNIT.name in line]
    assert not own, result.stdout + result.stderr
