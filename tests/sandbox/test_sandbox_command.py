"""``automation sandbox --write-config FILE``: what a new user runs to try the engine by hand.
The config it writes must work as it is: ``automation run --once`` right after it."""

from __future__ import annotations

import functools
import re
import shlex
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import isolated_process_state
from fixed_time import SANDBOX_START

from automation.cli.main import main
from automation.config.loader import load_config
from automation.core.durations import parse_duration
from automation.core.errors import UsageError
from automation.engine.events import FiredEvent
from automation.rulefiles.schema import schema_text
from automation.rulefiles.shipped import starter_rules
from automation.sandbox import Sandbox, serve, write_config
from automation.sandbox.cli import POLL_INTERVAL
from automation.sandbox.config_writer import write_starter_rules
from automation.service.runtime import open_runtime
from automation.x.http import HttpClient


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


SHIPPED_SCHEMA = "# yaml-language-server: $schema=../automation/rulefiles/rule_schema.json"


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
        written = {p.name: p.read_text() for p in rules.iterdir()}
        # an editor finds the schema from the rules' folder, outside the repository too
        schema = (rules / "repost-at-100-likes.yaml").read_text().splitlines()[0]
        assert schema.startswith("# yaml-language-server: $schema=/"), schema
        assert Path(schema.partition("=")[2]).read_text() == schema_text()
        shipped = {n: t.replace(SHIPPED_SCHEMA, schema, 1) for n, t in starter_rules().items()}
        assert written == shipped
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


TRY_WEBHOOK = """\
version: 1
rules:
  - id: try-webhook
    watch: {accounts: [brand], max_age: 2d}
    when: likes >= 0
    backfill: true
    actions:
      - webhook: {url: "http://127.0.0.1:9/hooks/T999", secret: team-chat}
"""


def test_the_sandbox_receiver_prints_each_webhook_the_written_config_redirects_to_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "automation.yaml"
    with sandbox_command(config, capsys) as printed:
        receiver = next(line for line in printed if line.startswith("webhook receiver on "))
        hooks = receiver.split()[3].rstrip(":")
        assert f"redirect_to: {hooks}" in config.read_text()
        (tmp_path / "rules" / "try.yaml").write_text(TRY_WEBHOOK)
        assert main(["--config", str(config), "run", "--once"]) == 0
        run = capsys.readouterr()
        assert main(["--config", str(config), "status"]) == 0
        status = capsys.readouterr().out
    deliveries = [line for line in run.out.splitlines() if line.startswith("webhook received")]
    assert deliveries, run.out
    assert all("POST /hooks" in d and "signature verified" in d for d in deliveries)
    assert '"rule":{"id":"try-webhook"' in run.out.replace(" ", "")
    where = hooks.rsplit("/", 1)[0]  # scheme and host: the path may hold a token
    assert f"every webhook is delivered to {where} instead" in run.err  # at start-up
    assert "(redirected by webhooks.redirect_to from http://127.0.0.1:9)" in run.err
    assert f"all delivered to {where} (redirect_to)" in status


# --- the README's how-to: a rule visibly fires within two minutes ------------------------

README = Path(__file__).resolve().parents[2] / "README.md"


def _howto_speed() -> float:
    section = README.read_text().split("### Point the engine at the sandbox", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    match = re.search(r"automation sandbox .*--speed (\S+)", block)
    assert match, block
    return float(match.group(1))


def _seconds_to_first_firing(start: datetime, speed: float, horizon: int = 120) -> int | None:
    """The how-to replayed without waiting: the engine's clock and the sandbox's move one
    poll interval of real time per cycle, while post metrics grow ``speed`` times as far
    (``automation sandbox --speed``)."""
    poll = parse_duration(POLL_INTERVAL)
    assert poll is not None
    elapsed = [0]
    fired: list[FiredEvent] = []

    def emit(event: object) -> None:
        if isinstance(event, FiredEvent) and event.event == "fired":
            fired.append(event)

    sandbox = Sandbox(start=start, speed=0, growth=speed)
    with tempfile.TemporaryDirectory() as tmp, sandbox:
        path = write_config(
            Path(tmp) / "automation.yaml", sandbox.base_url, poll_interval=POLL_INTERVAL
        )
        write_starter_rules(path)
        runtime = open_runtime(
            load_config(path, env={}),
            emit=emit,
            clock=lambda: start + timedelta(seconds=elapsed[0]),
            http=HttpClient(timeout=5.0),
        )
        try:
            while elapsed[0] <= horizon:
                runtime.engine.cycle()
                if fired:
                    return elapsed[0]
                elapsed[0] += poll
                sandbox.clock.advance(poll)
        finally:
            runtime.close()
    return None


def test_sandbox_help_explains_speed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sandbox", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--speed X its accounts post and their posts grow X times faster than real" in text
    assert "the times it reports stay real, in the engine's past" in text
    assert "--fault-rate P the share of API requests (0 to 1) that fail" in text


@pytest.mark.parametrize(
    "start",
    [
        datetime(2026, 1, 5, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 4, 14, 26, tzinfo=UTC),
        datetime(2026, 4, 2, 21, 39, tzinfo=UTC),
    ],
    ids=lambda d: d.date().isoformat(),
)
def test_the_readme_sandbox_speed_fires_a_starter_rule_within_two_minutes(
    start: datetime,
) -> None:
    seconds = _seconds_to_first_firing(start, _howto_speed())
    assert seconds is not None and seconds <= 120


# --- the README's how-to: backtest a rule in the sandbox -----------------------------------


def _backtest_howto() -> list[list[str]]:
    section = README.read_text().split("### Backtest a rule on last month", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line.rstrip(" &")) for line in block.splitlines() if line.strip()]


def test_the_readme_backtest_howto_works_word_for_word(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox_line, backtest_line = _backtest_howto()
    assert sandbox_line == ["automation", "sandbox", "--write-config", "automation.yaml"]
    assert backtest_line[:2] == ["automation", "backtest"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOMATION_CONFIG", raising=False)
    monkeypatch.setattr(
        "automation.sandbox.cli.Sandbox", functools.partial(Sandbox, start=SANDBOX_START)
    )
    monkeypatch.setattr("automation.cli.backtest.now", lambda: SANDBOX_START)
    with sandbox_command(Path(sandbox_line[-1]), capsys):
        assert main(backtest_line[1:]) == 0
        first = capsys.readouterr()
        assert main(backtest_line[1:]) == 0
        again = capsys.readouterr()
    # the plan, then per starter rule what it would have fired, beside the live engine
    assert re.match(r"\d+ /historical requests for \d+ owned posts", first.err), first.err
    assert first.out.startswith("backtest 2026-10-29 12:00 .. 2026-11-26 12:00 UTC (28 days)")
    for rule in starter_rules_ids():
        assert re.search(
            rf"^{rule}: would fire \d+, would seed \d+ .*the live engine fired 0", first.out, re.M
        ), rule
    assert "  first 10 firings:" in first.out
    # a second backtest of the same month sends nothing and says the same
    assert "no /historical request" in again.err
    assert again.out == first.out


def starter_rules_ids() -> list[str]:
    return sorted(
        line.split("id:", 1)[1].strip()
        for text in starter_rules().values()
        for line in text.splitlines()
        if line.strip().startswith("- id:")
    )


def test_a_port_in_use_says_what_to_do_and_writes_no_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "automation.yaml"
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        code = main(["sandbox", "--port", str(port), "--write-config", str(config)])
    assert code == 2
    assert capsys.readouterr().err == (
        f"automation: cannot listen on 127.0.0.1:{port}: Address already in use; stop what "
        "listens there (a sandbox started before? 'kill %1' in its shell) or give another "
        "--port N\n"
    )
    assert not config.exists()


@pytest.mark.parametrize("port", ["65536", "99999", "-5"])
def test_a_port_out_of_range_is_a_usage_error_not_an_internal_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, port: str
) -> None:
    config = tmp_path / "automation.yaml"
    code = main(["sandbox", "--port", port, "--write-config", str(config)])
    assert (code, capsys.readouterr().err) == (
        2,
        f"automation: --port must be between 0 and 65535, not {port}\n",
    )
    assert not config.exists()


def test_write_config_never_replaces_a_config_the_sandbox_did_not_write(tmp_path: Path) -> None:
    own = tmp_path / "automation.yaml"
    mine = "database: /var/lib/automation/automation.db\napp: {bearer_token: ${X_TOKEN}}\n"
    own.write_text(mine, encoding="utf-8")
    stopped = threading.Event()
    stopped.set()  # were it to start, it would stop at once
    with pytest.raises(UsageError) as caught:
        serve(0, own, stop=stopped)
    assert str(caught.value).startswith(
        f"--write-config {own}: the file exists and the sandbox did not write it"
    )
    assert "--write-config sandbox.yaml" in str(caught.value)
    assert own.read_text(encoding="utf-8") == mine
    assert not (tmp_path / "rules").exists()


def test_write_config_replaces_its_own_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "automation.yaml"
    write_config(config, "http://127.0.0.1:1")
    with sandbox_command(config, capsys) as printed:
        url = re.search(r"http://127\.0\.0\.1:\d+", printed[0])
        assert url is not None
        assert load_config(config, env={}).engagement_api.base_url == url.group(0)
