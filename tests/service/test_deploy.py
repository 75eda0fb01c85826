from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cli_helpers import isolated_process_state

from automation.cli.main import main
from automation.config.loader import load_config
from automation.config.schema import config_schema

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNIT = DEPLOY / "automation.service"
EXAMPLE = DEPLOY / "automation.example.yaml"


def _references(text: str) -> set[str]:
    """The ${NAME}s the YAML uses (comments excluded)."""
    code = re.sub(r"(^|\s)#.*$", "", text, flags=re.M)
    return set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}", code))


def _unit() -> configparser.RawConfigParser:
    # systemd allows repeated keys (LoadCredential=); strict=False keeps the last one.
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def _unit_values(key: str) -> list[str]:
    return [
        line.split("=", 1)[1]
        for line in UNIT.read_text().splitlines()
        if line.startswith(f"{key}=")
    ]


# ------------------------------------------------------------------ example config


def test_example_config_loads_with_every_key(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    names = _references(text)
    env = {name: f"value-of-{name.lower()}" for name in names}
    config = load_config(EXAMPLE, env=env)

    top_level = set(config_schema()["properties"])
    written = {line.split(":")[0] for line in text.splitlines() if re.match(r"^[a-z_]+:", line)}
    assert written == top_level

    assert config.database == Path("/var/lib/automation/automation.db")
    assert config.rules and all(p.is_absolute() for p in config.rules)
    assert config.engagement_api.base_url.startswith("https://")
    assert config.x_api.base_url.startswith("https://")
    assert config.account_names()
    assert config.webhook_secrets
    assert config.actions.first_retry == 10 and config.actions.max_attempts == 10


def test_example_config_uses_references_for_every_secret() -> None:
    names = _references(EXAMPLE.read_text())
    env = {name: f"value-of-{name.lower()}" for name in names}
    config = load_config(EXAMPLE, env=env)
    secrets = [
        config.app.consumer_key,
        config.app.consumer_secret,
        config.app.bearer_token,
        *(s for a in config.accounts for s in (a.access_token, a.access_token_secret)),
        *(s for _, s in config.webhook_secrets),
        config.dashboard.password,
    ]
    assert {s.source for s in secrets} == {f"${{{n}}}" for n in names}
    assert len(secrets) == len(names)


# ------------------------------------------------------------------ unit file


def test_unit_has_the_required_directives() -> None:
    unit = _unit()
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["Restart"] == "on-failure"
    assert service["StateDirectory"] == "automation"
    assert service["ConfigurationDirectory"] == "automation"
    assert service["Environment"] == "PYTHONUNBUFFERED=1"
    for key in ("WatchdogSec", "RestartSec", "TimeoutStopSec"):
        assert re.fullmatch(r"[0-9]+s", service[key]), key
    exec_start = service["ExecStart"].split()
    assert exec_start[0].startswith("/") and exec_start[0].endswith("/automation")
    assert exec_start[1:] == ["--config", "%E/automation/automation.yaml", "run"]
    assert "MemoryDenyWriteExecute" not in service
    for key in ("ProtectSystem", "ProtectHome", "PrivateTmp", "NoNewPrivileges", "DynamicUser"):
        assert key in service, key
    assert "AF_UNIX" in service["RestrictAddressFamilies"].split()  # the notify socket
    assert unit["Install"]["WantedBy"] == "multi-user.target"


# ------------------------------------------------------------------ checked before it starts

CHECKED = """\
version: 1
rules:
  - id: fine
    watch: {accounts: [brand]}
    when: likes >= 100
    actions: [{repost: {as: support}}]
"""


def _start_check(etc: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The unit's ExecStartPre= as systemd runs it, with %E (/etc) at ``etc``."""
    pre = _unit()["Service"]["ExecStartPre"].replace("%E", str(etc)).split()
    capsys.readouterr()
    with isolated_process_state():
        code = main(pre[1:])
    return code, capsys.readouterr().err


def test_the_unit_checks_the_config_and_rules_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _unit()["Service"]
    pre, start = service["ExecStartPre"].split(), service["ExecStart"].split()
    assert pre[:3] == start[:3] and pre[3:] == ["check"]  # same program, same config
    for name in _references(EXAMPLE.read_text()):  # checking needs no secret
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    home = tmp_path / "automation"
    (home / "rules").mkdir(parents=True)
    rules = home / "rules" / "rules.yaml"
    rules.write_text(CHECKED)
    config = home / "automation.yaml"
    text = EXAMPLE.read_text().replace("/etc/automation/rules/", "rules/")
    config.write_text(text.replace("/var/lib/automation/", ""))

    assert _start_check(tmp_path, capsys) == (0, "checked 1 rule in 1 file: 0 errors, 0 warnings\n")

    rules.write_text(CHECKED.replace("likes >= 100", "likes >= lots"))
    code, err = _start_check(tmp_path, capsys)
    assert code == 1
    assert f"{rules}:5:20: error: expected a number after '>=', got 'lots'" in err

    rules.write_text(CHECKED)
    config.write_text(text.replace("poll_interval: 5m", "poll_interval: often"))
    code, err = _start_check(tmp_path, capsys)
    assert code == 2
    assert f"{config}:" in err and "poll_interval: expected a duration" in err


def test_unit_loads_a_credential_for_every_secret_of_the_example() -> None:
    credentials = {value.split(":", 1)[0] for value in _unit_values("LoadCredential")}
    # the dashboard's password is its own unit's (automation-dashboard.service)
    assert credentials == _references(EXAMPLE.read_text()) - {"DASHBOARD_PASSWORD"}


def test_unit_state_directory_matches_the_example_database() -> None:
    state = _unit()["Service"]["StateDirectory"]
    names = _references(EXAMPLE.read_text())
    config = load_config(EXAMPLE, env={n: "x" for n in names})
    assert config.database.parent == Path("/var/lib") / state


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    # The unit names the installed console script; on this machine it may live elsewhere,
    # so a copy points ExecStart at what is really installed here.
    binary = shutil.which("automation") or f"{sys.executable} -m automation"
    text = UNIT.read_text()
    copy = tmp_path / "automation.service"
    copy.write_text(re.sub(r"^(ExecStart(?:Pre)?)=\S+", rf"\1={binary}", text, flags=re.M))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    # verify exits 0 even for directives it ignores, so any line about our unit fails the
    # test; lines about other units installed on this machine do not.
    own = [line for line in output.splitlines() if "automation.service" in line]
    assert not own, output


# ------------------------------------------------------------------ one install path

README = DEPLOY.parent / "README.md"
PYPROJECT = DEPLOY.parent / "pyproject.toml"


def _unit_install_steps() -> list[str]:
    """The commands in the unit's install comment: ``#   COMMAND`` lines."""
    return [line[4:] for line in UNIT.read_text().splitlines() if line.startswith("#   ")]


def _readme_install_steps() -> list[str]:
    section = README.read_text().split("## Deployment", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_the_unit_and_the_readme_give_the_same_install_steps() -> None:
    steps = _unit_install_steps()
    assert steps and steps == _readme_install_steps()


def test_the_install_steps_install_this_distribution_where_execstart_runs_it() -> None:
    pyproject = tomllib.loads(PYPROJECT.read_text())
    assert pyproject["project"]["name"] == "engagement-automation"
    assert "automation" in pyproject["project"]["scripts"]
    install = next(step for step in _unit_install_steps() if "pip install" in step)
    venv = re.search(r"venv (\S+)", install)
    assert venv and f"{venv.group(1)}/bin/pip install ." in install
    binary = _unit()["Service"]["ExecStart"].split()[0]
    assert binary == f"{venv.group(1)}/bin/automation"


def test_nothing_tells_operators_to_install_the_unrelated_automation_package() -> None:
    for path in (UNIT, README, EXAMPLE):
        assert not re.search(r"pip install +automation\b", path.read_text()), path


def test_the_readme_runs_inspection_commands_as_the_services_own_user() -> None:
    text = README.read_text()
    section = text.split("### Inspect the running service", 1)[1].split("\n## ", 1)[0]
    command = section.split("```sh\n", 1)[1].split("```", 1)[0].replace("\\\n", " ").split()
    service = _unit()["Service"]
    assert service["DynamicUser"] == "yes"
    assert f"/var/lib/private/{service['StateDirectory']}" in section
    properties = [command[i + 1] for i, word in enumerate(command) if word == "-p"]
    assert "DynamicUser=yes" in properties
    assert f"User={UNIT.stem}" in properties  # the user DynamicUser= derives from the unit
    assert f"StateDirectory={service['StateDirectory']}" in properties
    run = service["ExecStart"].replace("%E", "/etc").split()
    assert command[-4:-1] == run[:3]  # the same program and config as the service
