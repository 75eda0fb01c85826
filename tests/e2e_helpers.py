"""Helpers for the end-to-end tests: the service as a real process against the sandbox.

The sandbox and the webhook receiver run in the test process on 127.0.0.1; the engine runs
as ``python -m automation`` in a subprocess with the real clock, so the sandbox keeps
real-time speed (1.0) and both agree on what "now" is. Output goes to files, not pipes, so
a chatty child can never block on a full pipe while a test polls for a condition.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from automation.config.secret import Secret
from automation.sandbox import Options, Sandbox
from automation.sandbox.config_writer import config_text
from automation.sandbox.credentials import ACCOUNTS, WEBHOOK_SECRETS
from automation.sandbox.webhook_receiver import Receiver

__all__ = [
    "BRAND",
    "HIGH",
    "SUPPORT",
    "Engine",
    "NotifySocket",
    "Result",
    "Scene",
    "likes_rule",
    "open_scene",
    "quiet_post",
    "rule_file",
    "run_cli",
    "scene",
    "wait_for",
]

BRAND = next(a.user_id for a in ACCOUNTS if a.name == "brand")
SUPPORT = next(a.user_id for a in ACCOUNTS if a.name == "support")
# No generated sandbox post comes anywhere near this; tests push chosen posts past it.
HIGH = 5_000_000
T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, timeout: float = 10.0, what: str = "a condition") -> T:
    """Poll until ``condition()`` is truthy and return it; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "AUTOMATION_CONFIG")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    seconds: float


def run_cli(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout: float = 20.0,
    env: dict[str, str] | None = None,
) -> Result:
    """Run ``python -m automation ARGS`` to completion (killed at ``timeout``)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "automation", *args],
        cwd=cwd,
        env=_child_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


class Engine:
    """``automation run`` in the background, its stdout and stderr in files."""

    def __init__(
        self, config: Path, *args: str, env: dict[str, str] | None = None, name: str = "engine"
    ) -> None:
        folder = config.parent
        self.stdout_path = folder / f"{name}.out"
        self.stderr_path = folder / f"{name}.err"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "automation", "--config", str(config), "run", *args],
                cwd=folder,
                env=_child_env(env),
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def running(self) -> bool:
        return self.proc.poll() is None

    def log_count(self, text: str) -> int:
        return self.stderr.count(text)

    def wait_log(self, text: str, *, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``text`` appears ``count`` times on stderr (the child must stay up)."""

        def seen() -> bool:
            if self.log_count(text) >= count:
                return True
            if not self.running():
                pytest.fail(f"the engine exited ({self.proc.returncode}):\n{self.stderr}")
            return False

        wait_for(seen, timeout=timeout, what=f"{text!r} x{count} in the engine's log")

    def cycles(self) -> int:
        return self.log_count(" cycle posts=")

    def wait_cycles(self, more: int = 1, *, timeout: float = 10.0) -> None:
        self.wait_log(" cycle posts=", count=self.cycles() + more, timeout=timeout)

    def signal(self, signum: signal.Signals) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 10.0) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        """Teardown: ask politely, then insist."""
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def rule_file(rules: Sequence[dict[str, Any]]) -> str:
    return yaml.safe_dump({"version": 1, "rules": list(rules)}, sort_keys=False)


def likes_rule(rule_id: str = "big-likes", threshold: int = HIGH, **extra: Any) -> dict[str, Any]:
    """Fires when a recent brand post passes ``threshold`` likes; logs a line naming it."""
    return {
        "id": rule_id,
        "watch": {"accounts": ["brand"], "max_age": "2d"},
        "when": f"likes >= {threshold}",
        "actions": extra.pop("actions", [{"log": {"message": f"{rule_id} {{post.id}}"}}]),
        **extra,
    }


@dataclass
class Scene:
    """A sandbox, a config pointing at it and a rules directory, all in ``tmp``."""

    tmp: Path
    sandbox: Sandbox
    receiver: Receiver | None = None
    _engines: list[Engine] = field(default_factory=list, repr=False)

    @property
    def config(self) -> Path:
        return self.tmp / "automation.yaml"

    @property
    def database(self) -> Path:
        return self.tmp / "automation.db"

    @property
    def rules_dir(self) -> Path:
        return self.tmp / "rules"

    @property
    def rules_path(self) -> Path:
        return self.rules_dir / "rules.yaml"

    def write_config(self, **overrides: Any) -> Path:
        doc = yaml.safe_load(
            config_text(
                self.sandbox.base_url,
                requests_per_minute=600,
                poll_interval="1s",
                database="automation.db",
                rules=["rules/"],
            )
        )
        doc["actions"] = {"first_retry": "1s", "max_attempts": 5}
        doc.update(overrides)
        self.config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return self.config

    def write_rules(self, text: str) -> None:
        """Replace the rule file in one step, so the engine never reads half of it."""
        self.rules_dir.mkdir(exist_ok=True)
        partial = self.rules_dir / ".rules.yaml.tmp"
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, self.rules_path)

    def engine(self, *args: str, env: dict[str, str] | None = None, name: str = "engine") -> Engine:
        engine = Engine(self.config, *args, env=env, name=name)
        self._engines.append(engine)
        return engine

    def cli(self, *args: str, timeout: float = 20.0) -> Result:
        return run_cli(["--config", str(self.config), *args], cwd=self.tmp, timeout=timeout)

    def cli_json(self, *args: str) -> Any:
        result = self.cli(*args, "--json")
        assert result.code == 0, result.stderr
        return json.loads(result.stdout)

    def close(self) -> None:
        for engine in self._engines:
            engine.stop()
        if self.receiver is not None:
            self.receiver.stop()
        self.sandbox.stop()


def quiet_post(sandbox: Sandbox) -> str:
    """A fresh brand post that stays far below every threshold until a test pushes it."""
    post = sandbox.world.add_post(
        BRAND, finals={"impressions": 500, "favorites": 5, "engagements": 20}, tau_hours=1.0
    )
    return post.id


def open_scene(tmp: Path, *, receiver_delay: float | None = None, seed: int = 11) -> Scene:
    """Start a sandbox (and a receiver when ``receiver_delay`` is given); ``close()`` it."""
    sandbox = Sandbox(seed=seed, speed=1.0, options=Options(per_minute_limit=600)).start()
    receiver = None
    if receiver_delay is not None:
        secret = Secret(WEBHOOK_SECRETS["team-chat"], "team-chat")
        receiver = Receiver(secret, delay=receiver_delay).start()
    return Scene(tmp, sandbox, receiver)


def scene(tmp: Path, *, receiver_delay: float | None = None) -> Iterator[Scene]:
    """Fixture body: start everything, yield, stop everything (engines first)."""
    s = open_scene(tmp, receiver_delay=receiver_delay)
    try:
        yield s
    finally:
        s.close()


class NotifySocket:
    """What systemd would receive on $NOTIFY_SOCKET (an abstract datagram socket)."""

    def __init__(self) -> None:
        self.name = f"@test-{uuid.uuid4().hex}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name[1:])
        self.sock.setblocking(False)
        self.messages: list[str] = []

    def drain(self) -> list[str]:
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return self.messages

    def index(self, prefix: str, after: int = -1) -> int | None:
        for i, message in enumerate(self.drain()):
            if i > after and message.startswith(prefix):
                return i
        return None

    def wait(self, prefix: str, after: int = -1) -> int:
        wait_for(
            lambda: self.index(prefix, after) is not None,
            what=f"{prefix} after message {after}: {self.messages}",
        )
        found = self.index(prefix, after)
        assert found is not None
        return found

    def close(self) -> None:
        self.sock.close()
