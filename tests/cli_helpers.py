"""Drive the real ``automation`` command line against an in-process sandbox on 127.0.0.1.

The CLI reads the real clock, so the sandbox runs at speed 1.0 (simulated time = real
time) and a post crosses a threshold when a test sets its metric in the sandbox world.
Commands run in-process through ``automation.cli.main.main`` (output captured by pytest's
``capsys``), or as a child process with ``run_subprocess``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from automation.cli.main import main
from automation.sandbox import Options, Sandbox, write_config
from automation.sandbox import credentials as creds

__all__ = [
    "BRAND_ID",
    "SECRET_ENV",
    "SUPPORT_ID",
    "Cli",
    "Project",
    "Result",
    "assert_no_traceback",
    "database_bytes",
    "database_dump",
    "isolated_process_state",
    "make_project",
    "run_subprocess",
    "start_sandbox",
    "table_rows",
    "unwritable",
    "write_env_config",
]

BRAND_ID = "2244994945"
SUPPORT_ID = "783214"
_BRAND = next(a for a in creds.ACCOUNTS if a.name == "brand")
_SUPPORT = next(a for a in creds.ACCOUNTS if a.name == "support")

# The sandbox's own credentials, handed to the engine through the environment. The sandbox
# accepts nothing else, and to the engine they are secrets like any real ones.
SECRET_ENV: dict[str, str] = {
    "X_CONSUMER_KEY": creds.CONSUMER_KEY,
    "X_CONSUMER_SECRET": creds.CONSUMER_SECRET,
    "X_BEARER_TOKEN": creds.BEARER_TOKEN,
    "BRAND_ACCESS_TOKEN": _BRAND.access_token,
    "BRAND_ACCESS_TOKEN_SECRET": _BRAND.access_token_secret,
    "SUPPORT_ACCESS_TOKEN": _SUPPORT.access_token,
    "SUPPORT_ACCESS_TOKEN_SECRET": _SUPPORT.access_token_secret,
    "TEAM_CHAT_WEBHOOK_SECRET": creds.WEBHOOK_SECRETS["team-chat"],
}


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


def assert_no_traceback(*texts: str) -> None:
    """What output must never show for a user's mistake: a Python traceback, or the short
    "internal error" line the command line prints for a bug instead of one."""
    for text in texts:
        assert "Traceback (most recent call last)" not in text, text
        assert "internal error" not in text, text


class Cli:
    """``automation --config FILE ARGS...`` in this process, with stdout/stderr captured."""

    def __init__(self, capsys: pytest.CaptureFixture[str], config: Path | None) -> None:
        self._capsys = capsys
        self.config = config

    def __call__(self, *args: str, config: bool = True, front: Sequence[str] = ()) -> Result:
        self._capsys.readouterr()
        argv = [*front]
        if config and self.config is not None:
            argv += ["--config", str(self.config)]
        code = main([*argv, *args])
        captured = self._capsys.readouterr()
        return Result(code, captured.out, captured.err)


def run_subprocess(
    args: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None
) -> Result:
    """``python -m automation ARGS...`` as a child process (a fresh interpreter)."""
    full_env = {k: v for k, v in os.environ.items() if k != "AUTOMATION_CONFIG"}
    full_env.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "automation", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@contextmanager
def isolated_process_state() -> Iterator[None]:
    """``automation run`` installs signal handlers and every command installs a log handler
    on the root logger; put both back so later tests see the process as it was."""
    names = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    saved = {s: signal.getsignal(s) for s in names}
    root = logging.getLogger()
    level = root.level
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
        for h in [h for h in root.handlers if getattr(h, "_automation", False)]:
            root.removeHandler(h)
        root.setLevel(level)


def start_sandbox(seed: int = 11) -> Sandbox:
    """A real-time sandbox with two days of generated posts and room for many requests."""
    return Sandbox(
        seed=seed, speed=1.0, history_days=2, options=Options(per_minute_limit=6000)
    ).start()


@dataclass
class Project:
    """A config, a rules directory and a database path in one temporary directory."""

    root: Path
    config: Path
    rules_dir: Path
    database: Path
    sandbox: Sandbox

    def write_rules(self, text: str, name: str = "rules.yaml") -> Path:
        path = self.rules_dir / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def new_post(self, **metrics: int) -> str:
        """A fresh brand post whose metrics stay exactly as set (no natural growth)."""
        post = self.sandbox.world.add_post(BRAND_ID, finals={})
        if metrics:
            self.sandbox.world.set_metrics(post.id, metrics)
        return post.id

    def set_metric(self, post_id: str, metric: str, value: int) -> None:
        self.sandbox.world.set_metric(post_id, metric, value)


def make_project(
    root: Path, sandbox: Sandbox, *, env_secrets: bool = False, rpm: int = 600
) -> Project:
    """Write ``automation.yaml`` (literal sandbox credentials, or ``${NAME}`` references to
    ``SECRET_ENV`` when ``env_secrets``) pointing at ``sandbox`` and ``rules/``."""
    rules_dir = root / "rules"
    rules_dir.mkdir(parents=True, exist_ok=True)
    config = root / "automation.yaml"
    if env_secrets:
        write_env_config(config, sandbox.base_url, requests_per_minute=rpm)
    else:
        write_config(
            config, sandbox.base_url, requests_per_minute=rpm, database="state.db", rules=["rules/"]
        )
    return Project(root, config, rules_dir, root / "state.db", sandbox)


def write_env_config(
    path: Path,
    base_url: str,
    *,
    requests_per_minute: int = 600,
    overrides: Mapping[str, Any] | None = None,
) -> Path:
    """A config whose every credential is a ``${NAME}`` reference (spec §4); ``overrides``
    replace top-level sections, e.g. to put a secret where it does not belong."""
    doc: dict[str, Any] = {
        "database": "state.db",
        "rules": ["rules/"],
        "poll_interval": "1m",
        "engagement_api": {"base_url": base_url, "requests_per_minute": requests_per_minute},
        "x_api": {"base_url": base_url},
        "app": {
            "consumer_key": "${X_CONSUMER_KEY}",
            "consumer_secret": "${X_CONSUMER_SECRET}",
            "bearer_token": "${X_BEARER_TOKEN}",
        },
        "accounts": {
            "brand": {
                "user_id": BRAND_ID,
                "access_token": "${BRAND_ACCESS_TOKEN}",
                "access_token_secret": "${BRAND_ACCESS_TOKEN_SECRET}",
            },
            "support": {
                "user_id": SUPPORT_ID,
                "access_token": "${SUPPORT_ACCESS_TOKEN}",
                "access_token_secret": "${SUPPORT_ACCESS_TOKEN_SECRET}",
            },
        },
        "webhook_secrets": {"team-chat": "${TEAM_CHAT_WEBHOOK_SECRET}"},
        "actions": {"first_retry": "30s", "max_attempts": 3},
        "webhooks": {"allow_hosts": ["127.0.0.1", "*.example.com"]},  # local receivers
    }
    doc.update(overrides or {})
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def migrated_by_a_newer_version(path: Path) -> list[str]:
    """A SQLite database with one migration this version does not have, as a newer version
    leaves it; returns the migrations it has."""
    from automation.store.sqlite import SqliteStore

    SqliteStore.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
            " VALUES ('automation', 'm999_from_the_future', '2027-01-01')"
        )
    conn.close()
    return SqliteStore.applied_migrations(path)


@contextmanager
def unwritable(directory: Path) -> Iterator[None]:
    """``directory`` as a read-only mount is for the block: this user may create nothing
    in it. Modes do not hold root back, so for root it is made immutable (``chattr +i``)."""
    if os.geteuid() != 0:
        mode = directory.stat().st_mode
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", directory], check=False).returncode:
        reason = "chattr +i (e2fsprogs, on a file system that has it) is needed as root"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; in CI this test must run, not skip")
        pytest.skip(reason)
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", directory], check=True)


def database_dump(path: Path) -> list[str]:
    """Every row of the database as SQL, read without writing (the file stays untouched)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def database_bytes(path: Path) -> bytes:
    """The database file and its WAL and shared-memory companions, as one byte string."""
    parts = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def table_rows(text: str) -> list[list[str]]:
    """The data rows of a table printed by the CLI (header and rule line dropped), split
    on runs of two or more spaces."""
    lines = [line for line in text.splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if set(line.replace(" ", "")) == {"-"})
    return [re.split(r"\s{2,}", line.strip()) for line in lines[start + 1 :]]
