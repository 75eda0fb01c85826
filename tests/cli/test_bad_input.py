"""Every command given what a user may get wrong: missing and malformed values, negative,
zero and huge numbers, unknown choices, odd durations and dates, IDs that do not exist,
paths that are missing, directories, binary or empty. Each case must end in a message on
stderr and a non-zero exit code (2 for a usage or config error, 1 for a command that ran
and failed), never a traceback, and leave the database exactly as it was.

The commands run in this process, as production runs them (``automation.cli.main``),
against a database holding one firing and a config whose API address refuses
connections: a case that reached the network would show as a failed request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import (
    SECRET_ENV,
    Cli,
    assert_no_traceback,
    database_dump,
    write_env_config,
)

from automation.core.records import ActionRecord, CycleWrite, FiringRecord, WatchedPostRecord
from automation.store.sqlite import SqliteStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RULES = """\
version: 1
rules:
  - id: likes-100
    watch: {accounts: [brand]}
    when: likes >= 100
    actions:
      - log: {message: "{post.url} reached 100 likes"}
"""
HUGE = "9" * 30  # beyond any 64-bit integer
R = "likes-100"  # the rule the database knows

# (arguments, exit code); {dir} {binary} {empty} {missing} {db} name the files of `files`
CASES: dict[str, list[tuple[tuple[str, ...], int]]] = {
    "(global)": [
        ((), 2),
        (("--config",), 2),
        (("--config", "", "status"), 2),
        (("status", "--config", ""), 2),
        (("check", "--config", ""), 2),
        (("--log-format", "xml", "status"), 2),
        (("nosuch",), 2),
        (("--config", "{missing}", "status"), 2),
        (("--config", "{dir}", "status"), 2),
        (("--config", "{binary}", "status"), 2),
        (("--config", "{empty}", "status"), 2),
        (("--config", "/dev/null", "status"), 2),
    ],
    "check": [
        (("check", "{missing}"), 1),
        (("check", "{binary}"), 1),
        (("check", ""), 1),
    ],
    "test": [
        (("test", "{missing}"), 2),
        (("test", "{binary}"), 2),
        (("test", "{empty}"), 2),
        (("test", "{dir}"), 2),
        (("test", ""), 2),
    ],
    "explain": [
        (("explain",), 2),
        (("explain", R), 2),
        (("explain", "nosuch", "1001"), 2),
        (("explain", R, "abc"), 2),
        (("explain", R, "-5"), 2),
        (("explain", R, HUGE), 2),
        (("explain", R, "0"), 2),
        (("explain", R, "01001"), 2),
        (("explain", "", ""), 2),
        (("explain", "--live", R, "abc"), 2),
    ],
    "history": [
        (("history", "--limit"), 2),
        (("history", "--limit", "x"), 2),
        (("history", "--limit", "-1"), 2),
        (("history", "--limit", "0"), 2),
        (("history", "--limit", ""), 2),
        (("history", "--limit", HUGE), 2),
        (("history", "--rule", "nosuch"), 2),
        (("history", "--rule", ""), 2),
        (("history", "--post", "abc"), 2),
        (("history", "--post", ""), 2),
        (("history", "--post", "-1"), 2),
        (("history", "--post", HUGE), 2),
    ],
    "status": [(("status", "--json", "x"), 2)],
    "top": [
        (("top",), 2),
        (("top", "--metric"), 2),
        (("top", "--metric", "nosuch"), 2),
        (("top", "--metric", ""), 2),
        (("top", "--metric", "likes", "-n", "0"), 2),
        (("top", "--metric", "likes", "-n", "-3"), 2),
        (("top", "--metric", "likes", "-n", "x"), 2),
        (("top", "--metric", "likes", "-n", HUGE), 2),
    ],
    "metrics": [
        (("metrics",), 2),
        (("metrics", "--ids"), 2),
        (("metrics", "--ids", ""), 2),
        (("metrics", "--ids", "{dir}"), 2),
        (("metrics", "--ids", "{binary}"), 2),
        (("metrics", "--ids", "{missing}"), 2),
        (("metrics", "--ids", "{empty}"), 2),
        (("metrics", "--account", "nosuch"), 2),
        (("metrics", "--account", ""), 2),
        (("metrics", "--account", "brand", "--since", "0d"), 2),
        (("metrics", "--account", "brand", "--since", "-1d"), 2),
        (("metrics", "--account", "brand", "--since", ""), 2),
        (("metrics", "--account", "brand", "--since", "2 weeks"), 2),
        (("metrics", "--account", "brand", "--since", "²"), 2),
        (("metrics", "--account", "brand", "--from", "2026-13-01"), 2),
        (("metrics", "--account", "brand", "--from", ""), 2),
        (("metrics", "--account", "brand", "--to", "2026-01-01"), 2),
        (("metrics", "--account", "brand", "--from", "2026-01-02", "--to", "2026-01-01"), 2),
        (("metrics", "--account", "brand", "--from", "2999-01-01"), 2),
        (("metrics", "--account", "brand", "--since", "99999999999999d"), 2),
        (("metrics", "--account", "brand", "--from", "9999-12-31", "--to", "9999-12-31"), 2),
        (("metrics", "--account", "brand", "--from", "0001-01-01T00:00+14:00"), 2),
        (("metrics", "--account", "brand", "--from", "2026-01-01", "--to", "9999-12-31T23:30"), 2),
        (("metrics", "--account", "brand", "--metrics", "nosuch"), 2),
        (("metrics", "--account", "brand", "--metrics", ""), 2),
        (("metrics", "--account", "brand", "--metrics", ",,,"), 2),
        (("metrics", "--account", "brand", "--top", "0"), 2),
        (("metrics", "--account", "brand", "--top", "-1"), 2),
        (("metrics", "--account", "brand", "--top", "x"), 2),
        (("metrics", "--account", "brand", "--top", HUGE), 2),
        (("metrics", "--account", "brand", "--by", "nosuch"), 2),
        (("metrics", "--account", "brand", "--by", ""), 2),
        (("metrics", "--account", "brand", "--format", "xml"), 2),
        (("metrics", "--account", "brand", "--output", "{dir}"), 2),
        (("metrics", "--account", "brand", "--output", "{missing}/out.csv"), 2),
        (("metrics", "--account", "brand", "--output", ""), 2),
        (("metrics", "--account", "brand", "--unavailable", "{dir}"), 2),
    ],
    "actions": [
        (("actions", "--limit", "0"), 2),
        (("actions", "--limit", "-1"), 2),
        (("actions", "--limit", "x"), 2),
        (("actions", "--limit", HUGE), 2),
        (("actions", "bogus"), 2),
        (("actions", "--all"), 2),
        (("actions", "retry"), 2),
        (("actions", "retry", "nosuch"), 2),
        (("actions", "retry", HUGE), 2),
        (("actions", "retry", "--all", "f1.0"), 2),
        (("actions", "--rule", "nosuch"), 2),
        (("actions", "retry", "--all", "--rule", "nosuch"), 2),
    ],
    "rearm": [
        (("rearm",), 2),
        (("rearm", "nosuch", "--yes"), 2),
        (("rearm", "", "--yes"), 2),
        (("rearm", R, "abc", "--yes"), 2),
        (("rearm", R, "0", "--yes"), 2),
    ],
    "pause": [
        (("pause",), 2),
        (("pause", "nosuch"), 2),
        (("pause", ""), 2),
        (("pause", "--all", R), 2),
        (("pause", R, "--for", "0d"), 2),
        (("pause", R, "--for", "-1d"), 2),
        (("pause", R, "--for", ""), 2),
        (("pause", R, "--for", "2 hours"), 2),
        (("pause", R, "--for", "99999999999999999d"), 2),
        (("pause", R, "--for", "²"), 2),
    ],
    "resume": [
        (("resume",), 2),
        (("resume", "nosuch"), 2),
        (("resume", ""), 2),
        (("resume", "--all", R), 2),
    ],
    "try-action": [
        (("try-action",), 2),
        (("try-action", "nosuch"), 2),
        (("try-action", R, "--action", "0"), 2),
        (("try-action", R, "--action", "-1"), 2),
        (("try-action", R, "--action", "x"), 2),
        (("try-action", R, "--action", "99"), 2),
        (("try-action", R, "--action", HUGE), 2),
        (("try-action", R, "--post", "abc"), 2),
        (("try-action", R, "--post", ""), 2),
        (("try-action", R, "--post", "0"), 2),
    ],
    "backtest": [
        (("backtest", "--since", "0d"), 2),
        (("backtest", "--since", "-1d"), 2),
        (("backtest", "--from", "2026-13-01"), 2),
        (("backtest", "--since", "99999999999999d"), 2),
        (("backtest", "--since", "10000d"), 2),
        (("backtest", "--from", "0001-01-01", "--to", "0001-01-02"), 2),
        (("backtest", "--from", "2014-08-31"), 2),
        (("backtest", "--from", "9999-12-31", "--to", "9999-12-31"), 2),
        (("backtest", "nosuch"), 2),
        (("backtest", "--rules", "{missing}"), 1),
        (("backtest", "--rules", "{binary}"), 1),
        (("backtest", "--rules", "{dir}"), 2),
        (("backtest", "--rules", ""), 1),
    ],
    "backup": [
        (("backup",), 2),
        (("backup", "{dir}"), 2),
        (("backup", "{missing}/copy.db"), 2),
        (("backup", "{db}"), 2),
        (("backup", "/proc/version"), 2),
        (("backup", ""), 2),
        (("backup", "."), 2),
    ],
    "copy-store": [
        (("copy-store",), 2),
        (("copy-store", "{missing}", "{dir}/to.db"), 2),
        (("copy-store", "{binary}", "{dir}/to.db"), 2),
        (("copy-store", "{empty}", "{dir}/to.db"), 2),
        (("copy-store", "{dir}", "{dir}/to.db"), 2),
        (("copy-store", "config", "config"), 2),
        (("copy-store", "config", "{dir}"), 2),
        (("copy-store", "config", "{db}"), 2),
        (("copy-store", "", ""), 2),
    ],
    "dashboard": [
        (("dashboard", "--listen", "x"), 2),
        (("dashboard", "--listen", ""), 2),
        (("dashboard", "--listen", "127.0.0.1:99999"), 2),
        (("dashboard", "--listen", "127.0.0.1:-1"), 2),
        (("dashboard", "--listen", "127.0.0.1:abc"), 2),
        (("dashboard", "--listen", "0.0.0.0:8080"), 2),
        (("dashboard", "--listen", "[::1"), 2),
    ],
    "sandbox": [
        (("sandbox", "--port", "x"), 2),
        (("sandbox", "--port", "-1"), 2),
        (("sandbox", "--port", "99999"), 2),
        (("sandbox", "--speed", "x"), 2),
        (("sandbox", "--speed", "-1"), 2),
        (("sandbox", "--speed", "nan"), 2),
        (("sandbox", "--speed", "inf"), 2),
        (("sandbox", "--fault-rate", "2"), 2),
        (("sandbox", "--fault-rate", "-1"), 2),
        (("sandbox", "--fault-rate", "nan"), 2),
        (("sandbox", "--write-config", "{dir}"), 2),
    ],
    "run": [(("run", "--once", "--json", "x"), 2)],
    "migrate": [(("migrate", "x"), 2)],
    "demo": [(("demo", "x"), 2)],
    "schema": [(("schema", "x"), 2)],
}
PARAMS = [
    pytest.param(args, code, id=f"{command}:{' '.join(args) or '(none)'}"[:90])
    for command, cases in CASES.items()
    for args, code in cases
]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A database holding one firing with its pending action, made once: each test
    starts from a copy of its bytes."""
    db = tmp_path_factory.mktemp("bad-input") / "automation.db"
    with SqliteStore.open(db) as store:
        action = ActionRecord(0, "log", json.dumps({"kind": "log", "message": "hi"}))
        firing = FiringRecord(
            id="f1", rule_id=R, post_id="1001", key="once", kind="fired", at=T0,
            metrics={"likes": 120.0}, actions=(action,),
        )  # fmt: skip
        store.commit_cycle(CycleWrite(at=T0, firings=(firing,)))
        store.upsert_posts([WatchedPostRecord("1001", "brand", T0, "timeline", T0)])
        store.record_totals(T0, {"1001": {"favorites": 120.0}})
    return db.read_bytes()  # closed: everything is in the main file


@pytest.fixture
def files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, process_state: None, database: bytes
) -> dict[str, str]:
    """A config, its rules and the database; beside them a directory, a binary file, an
    empty file and a path to nothing."""
    for name in SECRET_ENV:
        monkeypatch.setenv(name, "unused")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "likes.yaml").write_text(RULES, encoding="utf-8")
    db = tmp_path / "automation.db"
    db.write_bytes(database)
    write_env_config(
        tmp_path / "automation.yaml", "http://127.0.0.1:9", overrides={"database": str(db)}
    )
    (tmp_path / "a-directory").mkdir()
    (tmp_path / "binary").write_bytes(bytes(range(256)) * 16)
    (tmp_path / "empty").write_bytes(b"")
    return {
        "dir": str(tmp_path / "a-directory"),
        "binary": str(tmp_path / "binary"),
        "empty": str(tmp_path / "empty"),
        "missing": str(tmp_path / "missing"),
        "db": str(db),
    }


@pytest.mark.parametrize(("args", "code"), PARAMS)
def test_a_mistake_is_a_message_and_an_exit_code(
    capsys: pytest.CaptureFixture[str], files: dict[str, str], args: tuple[str, ...], code: int
) -> None:
    before = database_dump(Path(files["db"]))
    done = Cli(capsys, Path("automation.yaml"))(*(a.format(**files) for a in args))
    assert_no_traceback(done.err, done.out)
    assert done.code == code, done.err
    assert done.err.strip(), "a failure must say why"
    assert database_dump(Path(files["db"])) == before


@pytest.mark.parametrize(
    ("stream", "args", "said"),
    [
        ("stdin", ("metrics", "--ids", "-"), "standard input is closed"),
        ("stdout", ("metrics", "--account", "brand"), "standard output is closed"),
        ("stdout", ("metrics", "--ids", "{empty}", "--output", "-"), "standard output is closed"),
        ("stdout", ("history",), "standard output is closed"),
        ("stdout", ("status", "--json"), "standard output is closed"),
        ("stdout", ("schema",), "standard output is closed"),
        ("stdout", ("top", "--metric", "likes"), "standard output is closed"),
        ("stdout", ("actions",), "standard output is closed"),
        ("stdout", ("explain", R, "1001"), "standard output is closed"),
        ("stdout", ("try-action", R), "standard output is closed"),  # a log: only shown
        ("stdout", ("demo",), "standard output is closed"),
        ("stdout", ("run", "--once", "--json"), "standard output is closed"),
    ],
)
def test_a_closed_standard_stream_the_command_needs_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, str],
    stream: str,
    args: tuple[str, ...],
    said: str,
) -> None:
    """``automation history >&-``, ``automation metrics --ids - <&-``: Python leaves
    ``sys.stdin`` or ``sys.stdout`` None when the descriptor is closed at start."""
    cli = Cli(capsys, Path("automation.yaml"))
    monkeypatch.setattr(f"sys.{stream}", None)
    done = cli(*(a.format(**files) for a in args))
    assert_no_traceback(done.err)
    assert (done.code, said in done.err) == (2, True), done.err


@pytest.mark.parametrize("args", [("schema",), ("history", "--json"), ("status",)])
def test_a_reader_that_leaves_early_is_no_failure(files: dict[str, str], args: list[str]) -> None:
    """``automation history | head -1``: the pipe's reader is gone before the command
    writes. It stops quietly with exit 0, as the reader chose to stop reading."""
    env = {k: v for k, v in os.environ.items() if k != "AUTOMATION_CONFIG"}
    child = subprocess.Popen(
        [sys.executable, "-m", "automation", "--config", "automation.yaml", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    child.stdout.close()  # before the interpreter has even started: every write fails
    _, err = child.communicate(timeout=60)
    assert_no_traceback(err.decode())
    assert "Exception ignored" not in err.decode()
    assert child.returncode == 0, err.decode()
