"""Secrets never appear in logs, command output, the database or error messages (spec §4).

The config takes every credential from the environment (``${NAME}``). The values are the
sandbox's own credentials, the only ones it accepts; to the engine they are secrets like
any others, and each is long and distinctive enough that finding it anywhere is a leak.
A full scenario runs (seeds, firings, a signed webhook, a dead action and a retried one),
then every output and every stored byte is searched for every value.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cli_helpers import (
    SECRET_ENV,
    SUPPORT_ID,
    Cli,
    Project,
    Result,
    database_bytes,
    isolated_process_state,
    make_project,
    run_subprocess,
    start_sandbox,
    write_env_config,
)

from automation.config.loader import load_config
from automation.config.secret import Secret
from automation.dashboard.server import start as start_dashboard
from automation.sandbox import Sandbox
from automation.sandbox.webhook_receiver import Receiver

SECRETS = dict(SECRET_ENV)


def leaks(text: str | bytes) -> list[str]:
    """The names of the secrets whose value occurs in ``text``."""
    data = text.encode() if isinstance(text, str) else text
    return sorted(name for name, value in SECRETS.items() if value.encode() in data)


@pytest.fixture(autouse=True)
def _process_state() -> Iterator[None]:
    with isolated_process_state():
        yield


@pytest.fixture(autouse=True)
def _secret_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AUTOMATION_CONFIG", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = start_sandbox(seed=23)
    yield sb
    sb.stop()


@pytest.fixture
def project(tmp_path: Path, sandbox: Sandbox) -> Project:
    return make_project(tmp_path / "project", sandbox, env_secrets=True)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], project: Project) -> Cli:
    return Cli(capsys, project.config)


def test_the_secrets_are_distinctive() -> None:
    """A value short or common enough to turn up by accident would make this file useless."""
    assert all(len(value) >= 24 for value in SECRETS.values())
    assert len(set(SECRETS.values())) == len(SECRETS)
    ordinary = "2244994945 783214 brand support team-chat sandbox http://127.0.0.1"
    assert leaks(ordinary) == []


def _rules(posts: list[str], ok: str, dead: str, flaky: str) -> str:
    ids = ", ".join(f'"{p}"' for p in posts)
    return f"""
        version: 1
        rules:
          - id: likes-100
            description: Tell the team and repost when a brand post reaches 100 likes
            watch: {{posts: [{ids}], owner: brand}}
            when: likes >= 100
            actions:
              - repost: {{as: support}}
              - like: {{as: support}}
              - reply: {{as: support, text: "Thanks for {{metrics.likes}} likes on {{post.id}}!"}}
              - webhook: {{url: "{ok}/ok", secret: team-chat}}
              - webhook:
                  url: "{dead}/dead"
                  secret: team-chat
                  headers: {{X-Rule: "{{rule.id}}"}}
                  body: {{text: "{{post.url}} reached {{metrics.likes}} likes"}}
              - webhook: {{url: "{flaky}/flaky", secret: team-chat}}
              - log: {{message: "{{post.id}} passed 100 likes"}}
          - id: like-milestones
            watch: {{posts: [{ids}], owner: brand}}
            fire: {{every: 100, metric: likes}}
            actions:
              - log: {{message: "{{post.id}} passed {{milestone}} likes"}}
        """


def test_a_full_scenario_leaks_no_secret_anywhere(
    project: Project, cli: Cli, tmp_path: Path
) -> None:
    secret = Secret(SECRET_ENV["TEAM_CHAT_WEBHOOK_SECRET"], "team-chat")
    outputs: dict[str, Result] = {}
    with (
        Receiver(secret) as ok,
        Receiver(secret, fail_first=10, fail_status=404) as dead,
        Receiver(secret, fail_first=10, fail_status=503) as flaky,
    ):
        seeded = project.new_post(favorites=250)
        post = project.new_post(favorites=20, impressions=900)
        project.write_rules(_rules([seeded, post], ok.url, dead.url, flaky.url))

        outputs["run text"] = cli("run", "--once")
        project.set_metric(post, "favorites", 180)
        outputs["run json logs"] = cli("--log-format", "json", "run", "--once")
        project.set_metric(post, "favorites", 320)
        outputs["run --json events"] = cli("--debug", "run", "--once", "--json")
        outputs["dry run"] = cli("run", "--once", "--dry-run", "--json")

        # The scenario really used every secret: signed deliveries verified, actions done.
        assert ok.deliveries() and all(d.verified for d in ok.deliveries())
        assert dead.deliveries() and flaky.deliveries()
        assert all(d.verified for d in dead.deliveries() + flaky.deliveries())
        assert project.sandbox.world.has_reposted(SUPPORT_ID, post)
        assert project.sandbox.world.has_liked(SUPPORT_ID, post)

        actions = cli("actions", "--json").json()
        dead_ids = [a["id"] for a in actions if a["status"] == "dead"]
        assert len(dead_ids) == 1 and any(a["status"] == "pending" for a in actions)
        for args in (
            ["status"],
            ["status", "--json"],
            ["history"],
            ["history", "--json"],
            ["actions"],
            ["actions", "--json"],
            ["actions", "--dead"],
            ["actions", "retry", dead_ids[0]],
            ["explain", "likes-100", post],
            ["explain", "like-milestones", seeded],
            ["top", "--metric", "likes"],
            ["rearm", "like-milestones", post],
            ["--debug", "--log-format", "json", "run", "--once"],
            ["check"],
        ):
            outputs[" ".join(args)] = cli(*args)

    for name, result in outputs.items():
        assert result.code == 0, (name, result)
        assert leaks(result.out) == [], f"stdout of {name}"
        assert leaks(result.err) == [], f"stderr of {name}"
        # Kept out by construction: the log redactor (the last line of defence) had
        # nothing to hide.
        assert "***" not in result.out + result.err, name

    json_logs = outputs["run json logs"].err.splitlines()
    assert json_logs and all(json.loads(line)["event"] for line in json_logs)
    history = outputs["history --json"].json()
    fired = [e for e in history if e["kind"] == "fired" and e["rule"] == "likes-100"]
    statuses = {a["status"] for a in fired[0]["actions"]}
    assert {"sent", "dead", "pending"} <= statuses  # the failing actions are in the output

    # Every byte the engine left on disk: the database, its WAL, the lock file.
    stored = b"".join(p.read_bytes() for p in project.root.rglob("*") if p.is_file())
    assert project.database.exists() and database_bytes(project.database)
    assert leaks(database_bytes(project.database)) == []
    assert leaks(stored) == []


def test_a_separate_process_leaks_no_secret(project: Project, tmp_path: Path) -> None:
    post = project.new_post(favorites=10)
    with Receiver(None, fail_first=1, fail_status=500) as hook:
        project.write_rules(_rules([post], hook.url, hook.url, hook.url))
        args = ["--config", str(project.config)]
        first = run_subprocess([*args, "--log-format", "json", "run", "--once"], cwd=tmp_path)
        project.set_metric(post, "favorites", 150)
        second = run_subprocess([*args, "--debug", "run", "--once", "--json"], cwd=tmp_path)
        status = run_subprocess([*args, "status", "--json"], cwd=tmp_path)
    for result in (first, second, status):
        assert result.code == 0, result
        assert leaks(result.out) == [] and leaks(result.err) == []
    assert any(e["event"] == "fired" for e in second.json_lines())
    assert leaks(database_bytes(project.database)) == []


# Values from the environment put where they do not belong: the error names the key and
# the variable, never the value.
MISPLACED = {
    "base url": {"engagement_api": {"base_url": "${X_CONSUMER_SECRET}"}},
    "rate": {
        "engagement_api": {
            "base_url": "http://127.0.0.1:9",
            "requests_per_minute": "${X_BEARER_TOKEN}",
        }
    },
    "user id": {
        "accounts": {
            "brand": {
                "user_id": "${BRAND_ACCESS_TOKEN_SECRET}",
                "access_token": "${BRAND_ACCESS_TOKEN}",
                "access_token_secret": "${SUPPORT_ACCESS_TOKEN}",
            }
        }
    },
    "poll interval": {"poll_interval": "${TEAM_CHAT_WEBHOOK_SECRET}"},
    "max attempts": {"actions": {"max_attempts": "${SUPPORT_ACCESS_TOKEN_SECRET}"}},
    "x api url": {"x_api": {"base_url": "ftp://${BRAND_ACCESS_TOKEN}@example.com"}},
}


@pytest.mark.parametrize("case", sorted(MISPLACED))
@pytest.mark.parametrize(
    "args",
    [["check"], ["status"], ["run", "--once"], ["--debug", "history"]],
    ids=["check", "status", "run", "debug"],
)
def test_config_errors_never_quote_a_secret(
    project: Project, cli: Cli, case: str, args: list[str]
) -> None:
    project.write_rules(
        _rules(
            ["1260294888811347969"],
            "http://a.example.com",
            "http://b.example.com",
            "http://c.example.com",
        )
    )
    write_env_config(project.config, project.sandbox.base_url, overrides=MISPLACED[case])
    result = cli(*args)
    assert result.code == 2, result
    assert str(project.config) in result.err  # the error names the file ...
    assert "${" in result.err  # ... and the variable the value came from
    assert leaks(result.out + result.err) == []
    assert not project.database.exists()


def test_an_unset_variable_is_named_without_showing_the_others(
    project: Project, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write_rules(
        _rules(
            ["1260294888811347969"],
            "http://a.example.com",
            "http://b.example.com",
            "http://c.example.com",
        )
    )
    monkeypatch.delenv("X_BEARER_TOKEN")
    result = cli("run", "--once")
    assert result.code == 2, result
    assert "X_BEARER_TOKEN" in result.err and "not set" in result.err
    assert leaks(result.out + result.err) == []


def test_check_needs_secret_names_not_their_values(
    project: Project, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A marketer checks rules against the production config without its secrets set."""
    project.write_rules(
        _rules(
            ["1260294888811347969"],
            "http://a.example.com",
            "http://b.example.com",
            "http://c.example.com",
        )
    )
    for name in ("X_BEARER_TOKEN", "X_CONSUMER_SECRET"):
        monkeypatch.delenv(name)
    result = cli("check")
    assert result.code == 0, result
    assert leaks(result.out + result.err) == []


# Credentials that are not the config's secrets but must stay as hidden: a rule's hook URL
# token and Authorization header (rule files are read by anyone who may edit rules), the
# alert receiver's URL token, the dashboard's password.
QUOTED = {
    "hook url token": "hook-url-token-quoted-0b3c9d",
    "rule bearer": "rule-header-bearer-quoted-e8f1a2",
    "ALERT_HOOK_TOKEN": "alert-url-token-quoted-77aa41",
    "DASHBOARD_PASSWORD": "dashboard-password-quoted-5e2a93",
}


def every_leak(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    found = {**SECRETS, **QUOTED}.items()
    return sorted(name for name, value in found if value.encode() in data)


@contextmanager
def quoting_receiver() -> Iterator[str]:
    """A careless receiver: it answers 401 quoting the request line and every header."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            text = f"unauthorized: {self.requestline} {self.headers}".encode()
            self.send_response(401)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_receiver_quoting_requests_back_leaks_nothing_anywhere(
    project: Project, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule's hook URL token and Authorization header, quoted back by a receiver that
    refuses them, and an alert receiver doing the same: every command, log, dashboard page
    and the database (but the outbox's own record of what to send) stay clean."""
    for name in ("ALERT_HOOK_TOKEN", "DASHBOARD_PASSWORD"):
        monkeypatch.setenv(name, QUOTED[name])
    post = project.new_post(favorites=150)
    outputs: dict[str, str] = {}
    with quoting_receiver() as url:
        write_env_config(
            project.config,
            project.sandbox.base_url,
            overrides={
                "alerts": {
                    "webhook": f"{url}/alert?token=${{ALERT_HOOK_TOKEN}}",
                    "secret": "team-chat",
                    "after": 1,
                },
                "dashboard": {"password": "${DASHBOARD_PASSWORD}"},
            },
        )
        token, bearer = QUOTED["hook url token"], QUOTED["rule bearer"]
        hook = (
            f'url: "{url}/hooks?token={token}", secret: team-chat, '
            f'headers: {{Authorization: "Bearer {bearer}"}}'
        )
        project.write_rules(
            f"""
            version: 1
            rules:
              - id: quoted
                watch: {{posts: ["{post}"], owner: brand}}
                when: likes >= 100
                backfill: true
                actions:
                  - webhook: {{{hook}}}
            """
        )
        for args in (
            ["--log-format", "json", "run", "--once"],
            ["--debug", "run", "--once", "--json"],
            ["try-action", "quoted"],
            ["--log-format", "json", "try-action", "quoted"],
        ):
            result = cli(*args)
            outputs[" ".join(args)] = result.out + result.err
    dead = cli("actions", "--json").json()
    assert [a["status"] for a in dead] == ["dead"] and "answered 401" in dead[0]["last_error"]
    assert "Authorization: ***" in dead[0]["last_error"]  # the receiver did quote it
    for args in (
        ["status"],
        ["status", "--json"],
        ["history", "--json"],
        ["actions", "--dead"],
        ["explain", "quoted", post],
        ["backtest", "--since", "1d", "--yes", "--json"],
        ["metrics", "--account", "brand"],
        ["check"],
    ):
        result = cli(*args)
        outputs[" ".join(args)] = result.out + result.err
    outputs.update(_dashboard_pages(project.config, post))
    leaked = {name: found for name, text in outputs.items() if (found := every_leak(text))}
    assert leaked == {}
    # The outbox keeps the request it must send, the rule's URL and headers as rendered.
    stored = {"outbox.payload": ["hook url token", "rule bearer"]}
    assert _stored_leaks(project.database) == stored


def _dashboard_pages(config: Path, post: str) -> dict[str, str]:
    running = start_dashboard(load_config(config, env=os.environ, secrets="when_used"))
    pages: dict[str, str] = {}
    try:
        with httpx.Client(base_url=running.url, timeout=20) as client:
            login = client.get("/login").text
            token = login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            password = QUOTED["DASHBOARD_PASSWORD"]
            form = {"csrf_token": token, "next": "/", "password": password}
            assert client.post("/login", data=form).status_code == 303
            for path in ("/", "/rules", "/rules/quoted", f"/posts/{post}", "/history"):
                pages[f"dashboard {path}"] = client.get(path).text
            pages["dashboard /actions"] = client.get("/actions").text
    finally:
        running.stop()
    return pages


def _stored_leaks(database: Path) -> dict[str, list[str]]:
    """Which secrets each column of each table holds."""
    found: dict[str, list[str]] = {}
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cursor.description]
            for row in cursor:
                for name, value in zip(names, row, strict=True):
                    if leaked := every_leak(str(value)):
                        found.setdefault(f"{table}.{name}", [])
                        found[f"{table}.{name}"] = sorted({*found[f"{table}.{name}"], *leaked})
    finally:
        conn.close()
    return found
