"""Who may reach the dashboard and change things: loopback, the password, CSRF, secrets."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import yaml
from dashboard_scene import World, browsing, csrf_token, serving
from e2e_helpers import run_cli

from automation.core.errors import UsageError
from automation.dashboard.access import Listen
from automation.dashboard.app import create_app
from automation.dashboard.site import Site
from automation.sandbox import credentials as creds
from automation.sandbox.credentials import WEBHOOK_SECRETS
from automation.store.sqlite import SqliteStore

PASSWORD = "correct-horse-7"


def _with_password(world: World) -> dict[str, str]:
    doc = yaml.safe_load(world.config_path.read_text())
    doc["dashboard"] = {"password": "${DASHBOARD_PASSWORD}"}
    world.config_path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return {"DASHBOARD_PASSWORD": PASSWORD}


def test_listen_addresses_and_loopback() -> None:
    assert Listen.parse("127.0.0.1:8080") == Listen("127.0.0.1", 8080)
    assert Listen.parse("[::1]:9000").loopback
    assert Listen.parse("localhost:1").loopback
    assert not Listen.parse("0.0.0.0:8080").loopback
    assert not Listen.parse("dash.example.com:80").loopback
    assert str(Listen.parse("[::]:8080")) == "[::]:8080"


@pytest.mark.parametrize("text", ["8080", "127.0.0.1", "127.0.0.1:http", ":8080", "h:70000"])
def test_a_bad_listen_address_is_a_usage_error(text: str) -> None:
    from automation.core.errors import UsageError

    with pytest.raises(UsageError, match="expected ADDRESS:PORT"):
        Listen.parse(text)


def test_it_refuses_to_listen_beyond_loopback_without_a_password(own_world: World) -> None:
    result = run_cli(
        ["--config", str(own_world.config_path), "dashboard", "--listen", "0.0.0.0:0"],
        cwd=own_world.folder,
    )
    assert result.code == 2
    assert "without a password" in result.stderr and "Traceback" not in result.stderr
    assert "DASHBOARD_PASSWORD" in result.stderr


@pytest.mark.parametrize("taken", [True, False])
def test_an_address_in_use_or_not_here_says_what_to_do(own_world: World, taken: bool) -> None:
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        listen = f"127.0.0.1:{port}" if taken else "192.0.2.1:0"
        # 192.0.2.1 (TEST-NET-1) is no address of this machine; a password lets it past
        # the loopback check
        if not taken:
            _with_password(own_world)
        result = run_cli(
            ["--config", str(own_world.config_path), "dashboard", "--listen", listen],
            cwd=own_world.folder,
            env={"DASHBOARD_PASSWORD": PASSWORD},
        )
    assert result.code == 2, result.stderr
    assert f"cannot listen on {listen}: " in result.stderr
    assert "give another --listen ADDRESS:PORT" in result.stderr
    assert "Traceback" not in result.stderr and "Uvicorn" not in result.stderr


def test_a_password_whose_variable_is_unset_is_named_not_guessed(own_world: World) -> None:
    _with_password(own_world)
    result = run_cli(
        ["--config", str(own_world.config_path), "dashboard", "--listen", "0.0.0.0:0"],
        cwd=own_world.folder,
    )
    assert result.code == 2
    assert "${DASHBOARD_PASSWORD} is not set" in result.stderr


@contextmanager
def _command_serving(config: Path, *, until: str) -> Iterator[str]:
    """``automation dashboard --listen 127.0.0.1:0`` in a process of its own, once its
    stderr has a line with ``until``: that line."""
    command = ["--config", str(config), "dashboard", "--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "automation", *command],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        deadline = time.monotonic() + 20
        while until not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
        yield line
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def test_the_command_serves_with_the_other_secrets_unset(own_world: World) -> None:
    """The sandbox config names no secrets; a real one's are left unset here."""
    doc = yaml.safe_load(own_world.config_path.read_text())
    doc["app"]["bearer_token"] = "${X_BEARER_TOKEN_NOT_SET}"
    own_world.config_path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with _command_serving(own_world.config_path, until="Uvicorn running on") as line:
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url is not None, line
        assert httpx.get(url.group(0) + "/", timeout=10).status_code == 200


def test_listening_on_port_0_logs_the_port_it_got(own_world: World) -> None:
    # It logged 'dashboard on http://127.0.0.1:0/', the address asked for, before binding.
    with _command_serving(own_world.config_path, until="dashboard on http://") as line:
        url = re.search(r"dashboard on (http://127\.0\.0\.1:(\d+))/ \(loopback only\)", line)
        assert url is not None, line
        assert url.group(2) != "0"
        assert httpx.get(url.group(1) + "/", timeout=10).status_code == 200


def test_every_post_without_a_valid_token_is_refused(client: httpx.Client, world: World) -> None:
    posts = [
        r.path.replace("{action_id}", "x.0").replace("{rule_id}", "at-100-likes")
        for r in create_app(Site(world.config(), lambda: world.end), None).routes
        if "POST" in getattr(r, "methods", ())
    ]
    assert "/actions/x.0/retry" in posts and "/login" in posts
    client.get("/")  # a session with a token exists; the form just does not carry it
    for path in posts:
        assert client.post(path, data={}).status_code == 403, path
        assert client.post(path, data={"csrf_token": "forged"}).status_code == 403, path


def test_a_token_from_another_session_is_refused(own_world: World) -> None:
    with serving(own_world) as running, browsing(running) as alice, browsing(running) as eve:
        token = csrf_token(alice.get("/actions?status=dead").text)
        action = re.search(r'action="(/actions/[^"]+/retry)"', alice.get("/actions").text)
        assert action is not None
        assert eve.post(action.group(1), data={"csrf_token": token}).status_code == 403
        assert alice.post(action.group(1), data={"csrf_token": token}).status_code == 303


def test_the_password_gate_holds(own_world: World) -> None:
    env = _with_password(own_world)
    with serving(own_world, env=env) as running, browsing(running) as c:
        for path in ("/", "/rules", f"/posts/{own_world.crossing}", "/actions"):
            refused = c.get(path)
            assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
        assert c.get("/api/posts/1/charts").status_code == 401
        assert c.get("/static/dashboard.css").status_code == 200  # the sign-in page's style
        login = c.get("/login?next=/rules")
        token = csrf_token(login.text)
        wrong = c.post("/login", data={"csrf_token": token, "password": "guess", "next": "/"})
        assert wrong.status_code == 401 and "not right" in wrong.text
        assert c.get("/").status_code == 303
        ok = c.post("/login", data={"csrf_token": token, "password": PASSWORD, "next": "/rules"})
        assert ok.status_code == 303 and ok.headers["location"] == "/rules"
        assert c.get("/").status_code == 200
        assert PASSWORD not in c.get("/").text
        token = csrf_token(c.get("/").text)
        assert c.post("/logout", data={"csrf_token": token}).status_code == 303
        assert c.get("/").status_code == 303


def test_sign_in_never_sends_anyone_to_another_site(own_world: World) -> None:
    env = _with_password(own_world)
    with serving(own_world, env=env) as running:
        for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
            with browsing(running) as c:
                token = csrf_token(c.get("/login").text)
                done = c.post(
                    "/login", data={"csrf_token": token, "password": PASSWORD, "next": target}
                )
                assert done.headers["location"] == "/"


def test_no_page_shows_a_secret_and_none_allows_other_hosts(
    client: httpx.Client, world: World
) -> None:
    # every secret the world's config holds: the app's, each account's, the webhook's
    secrets = [
        creds.CONSUMER_KEY,
        creds.CONSUMER_SECRET,
        creds.BEARER_TOKEN,
        *WEBHOOK_SECRETS.values(),
        *(t for a in creds.ACCOUNTS for t in (a.access_token, a.access_token_secret)),
    ]
    for path in (
        "/",
        "/rules",
        "/rules/at-100-likes",
        f"/posts/{world.crossing}",
        "/history",
        "/actions",
        "/actions?status=dead",
        "/backtest",
        f"/api/posts/{world.crossing}/charts",
        "/rules/nope",
        "/posts/nope",
    ):
        page = client.get(path)
        assert not [s for s in secrets if s in page.text], path
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy


def test_a_retry_is_recorded_with_who_and_when(own_world: World) -> None:
    from automation.store import SqliteStore

    with serving(own_world) as running, browsing(running) as c:
        page = c.get("/actions?status=dead").text
        action = re.search(r'action="/actions/([^"]+)/retry"', page)
        assert action is not None
        done = c.post(f"/actions/{action.group(1)}/retry", data={"csrf_token": csrf_token(page)})
        assert done.status_code == 303
        assert "re-queued" in c.get("/actions").text
        again = c.post(f"/actions/{action.group(1)}/retry", data={"csrf_token": csrf_token(page)})
        assert again.status_code == 303
        assert "not a dead action" in c.get("/actions").text
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        item = store.action(action.group(1))
        assert item is not None and item.status == "pending"
        [change] = store.changes()
        assert (change.by, change.what, change.target, change.at) == (
            "dashboard",
            "retry",
            action.group(1),
            own_world.end,
        )


def test_without_a_database_yet_it_waits_saying_so_and_creates_none(
    own_world: World, tmp_path: Path
) -> None:
    # It made an empty database where the config pointed and served pages over it: state
    # that is the engine's to make (and a typo in database: looked like a fresh start).
    # Then it exited with code 2, and its service unit, started before the engine's first
    # start, restarted it every 5 s. It waits instead, serving a page that says so, and
    # serves the pages once the engine has made the database.
    missing = tmp_path / "state" / "automation.db"
    missing.parent.mkdir()
    doc = yaml.safe_load(own_world.config_path.read_text())
    doc["database"] = str(missing)
    own_world.config_path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with _command_serving(own_world.config_path, until="dashboard on http://") as line:
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url is not None, line
        for path in ("/", "/rules", "/rules/at-100-likes", "/actions"):
            page = httpx.get(url.group(0) + path, timeout=10)
            assert page.status_code == 503, path
            assert f"no database yet at {missing}: start the engine" in page.text, path
            # the overview shows this same page: the way on is to run the engine and reload
            assert 'href="/">Back to the overview' not in page.text, path
            assert "<code>automation run --once</code>" in page.text, path
            assert '<a href="">reload this page</a>' in page.text, path
        assert list(missing.parent.iterdir()) == []
        SqliteStore.open(missing).close()  # as the engine leaves it at its start
        page = httpx.get(url.group(0) + "/", timeout=10)
        assert page.status_code == 200 and "No cycle yet" in page.text


def test_a_control_without_a_database_yet_creates_none(own_world: World, tmp_path: Path) -> None:
    missing = tmp_path / "automation.db"
    config = replace(own_world.config(), database=missing)
    site = Site(config, lambda: own_world.end)
    with pytest.raises(UsageError, match=r"no database at .* yet"), site.writing():
        pass
    assert not missing.exists()


def test_a_database_before_the_first_cycle_shows_empty_pages(tmp_path: Path, world: World) -> None:
    doc = yaml.safe_load(world.config_path.read_text())
    doc["database"] = str(tmp_path / "fresh.db")
    doc["rules"] = [str(world.folder / "rules")]
    (tmp_path / "automation.yaml").write_text(yaml.safe_dump(doc))
    SqliteStore.open(tmp_path / "fresh.db").close()  # as an engine leaves it at its start
    fresh = World(tmp_path, world.crossing, world.past, world.deleted, world.end)
    with serving(fresh) as running, browsing(running) as c:
        page = c.get("/")
        assert page.status_code == 200 and "No cycle yet" in page.text
