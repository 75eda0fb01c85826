"""A file name not in the file system's encoding (Latin-1 ``caf\\xe9`` on UTF-8) is named
in every message as a terminal shows it, ``caf\\xe9``, by each kind of command that names
a file the user gave: never as the surrogate ``\\udce9`` that ``os.fsdecode`` holds it
with (which a UTF-8 terminal cannot print: the command failed with an internal error)."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cli_helpers import assert_no_traceback, isolated_process_state

from automation.cli.demo import run_demo
from automation.cli.main import main
from automation.config.loader import load_config
from automation.core.errors import ConfigError
from automation.dashboard import server
from automation.dashboard.access import Listen, password_for
from automation.dashboard.app import create_app
from automation.dashboard.site import Site
from automation.sandbox.config_writer import write_config
from automation.store.sqlite import SqliteStore

CAFE = os.fsdecode(b"caf\xe9")  # a Latin-1 name on a UTF-8 system
SHOWN = "caf\\xe9"

pytestmark = pytest.mark.usefixtures("in_own_directory")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    assert_no_traceback(captured.out, captured.err)
    assert not any(0xDC80 <= ord(c) <= 0xDCFF for c in captured.out + captured.err)
    return code, captured.out, captured.err


def config_in_latin_1_folder() -> str:
    """``caf\\xe9/automation.yaml``, its database ``caf\\xe9/state.db`` beside it."""
    (Path(CAFE) / "rules").mkdir(parents=True)
    path = f"{CAFE}/automation.yaml"
    write_config(path, "http://127.0.0.1:9", database="state.db", rules=["rules/"])
    return path


def test_the_config_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--config", f"{CAFE}.yaml", "status")
    assert code == 2
    assert f"no config file at {SHOWN}.yaml: give --config FILE" in err
    Path(f"{CAFE}.yaml").write_text("version: 1\n", encoding="utf-8")
    code, _, err = run(capsys, "--config", f"{CAFE}.yaml", "status")
    assert code == 2
    assert err.startswith(f"automation: {SHOWN}.yaml:1: ")
    assert f"\n{SHOWN}.yaml:1: database: missing" in err


def test_rule_test_files(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "test", f"{CAFE}.test.yaml")
    assert code == 2
    assert err.startswith(f"{SHOWN}.test.yaml:1:1: error: no such file")
    Path(CAFE).mkdir()
    code, _, err = run(capsys, "test", CAFE)
    assert code == 2
    assert f"no rule test files (*.yaml) in {SHOWN}; name a test file" in err
    Path(f"{CAFE}/t.yaml").write_text(
        f"version: 1\nrules: [{SHOWN}.yaml]\ntests: []\n", encoding="utf-8"
    )
    code, _, err = run(capsys, "test", CAFE)
    assert code == 2
    assert f"{SHOWN}/t.yaml:2:9: error: no such file or directory: " in err


def test_migrate_status_and_backup(capsys: pytest.CaptureFixture[str]) -> None:
    config = config_in_latin_1_folder()
    code, _, err = run(capsys, "--config", config, "status")
    assert code == 2
    assert f"no database at {Path.cwd()}/{SHOWN}/state.db yet" in err
    code, out, _ = run(capsys, "--config", config, "migrate")
    assert code == 0
    assert f"the schema of {Path.cwd()}/{SHOWN}/state.db is up to date" in out
    code, out, _ = run(capsys, "--config", config, "backup", f"{CAFE}/copy.db")
    assert code == 0
    assert out.startswith(f"backed up {Path.cwd()}/{SHOWN}/state.db to {SHOWN}/copy.db: ")
    code, _, err = run(capsys, "--config", config, "backup", f"{CAFE}/none/copy.db")
    assert code == 2
    assert f"cannot write {SHOWN}/none/copy.db: directory {SHOWN}/none does not exist" in err


def test_copy_store(capsys: pytest.CaptureFixture[str]) -> None:
    config = config_in_latin_1_folder()
    assert run(capsys, "--config", config, "migrate")[0] == 0
    source, folder = f"{CAFE}/state.db", f"{Path.cwd()}/{SHOWN}"
    code, out, _ = run(capsys, "copy-store", source, f"{CAFE}/copy.db")
    assert code == 0
    assert out.startswith(f"copied 0 rows from {folder}/state.db to {folder}/copy.db\n")
    code, _, err = run(capsys, "copy-store", source, source)
    assert code == 2
    assert f"FROM and TO are the same database ({folder}/state.db)" in err
    code, _, err = run(capsys, "copy-store", source, CAFE)
    assert code == 2
    assert f"{folder} is a directory: name the database file, e.g. {folder}/state.db" in err


def test_metrics_output(capsys: pytest.CaptureFixture[str]) -> None:
    config = config_in_latin_1_folder()
    code, _, err = run(
        capsys, "--config", config, "metrics", "--account", "brand", "--output", f"{CAFE}.xlsx"
    )
    assert code == 2
    assert f"--output {SHOWN}.xlsx: metrics writes no workbook: name it {SHOWN}.csv, " in err
    code, _, err = run(
        capsys,
        "--config",
        config,
        "metrics",
        "--account",
        "brand",
        "--output",
        f"{CAFE}/none/x.csv",
    )
    assert code == 2
    assert f"--output {SHOWN}/none/x.csv: directory {SHOWN}/none does not exist" in err


def test_the_sandbox_config(capsys: pytest.CaptureFixture[str]) -> None:
    Path(f"{CAFE}.yaml").write_text("# my own\n", encoding="utf-8")
    code, _, err = run(capsys, "sandbox", "--write-config", f"{CAFE}.yaml")
    assert code == 2
    assert f"--write-config {SHOWN}.yaml: the file exists and the sandbox did not write it" in err


def test_the_demo_in_a_latin_1_temporary_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    # its config named its database and rules by absolute path, which YAML cannot hold
    Path(CAFE).mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(Path.cwd() / CAFE))
    out = io.StringIO()
    with isolated_process_state():
        assert run_demo(seconds=0, out=out) == 0
    assert "FIRED example-repost-likes" in out.getvalue()


def test_the_dashboard_page_without_a_database_yet() -> None:
    config = load_config(config_in_latin_1_folder(), env={})
    app = create_app(Site(config, lambda: datetime(2026, 3, 2, tzinfo=UTC)), None)

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.get("/")

    page = asyncio.run(get())
    assert page.status_code == 503
    assert f"no database yet at {Path.cwd()}/{SHOWN}/state.db: start the engine" in page.text


def _page(site: Site, path: str) -> httpx.Response:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(site, None))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.get(path)

    return asyncio.run(get())


def test_the_dashboard_pages_name_the_database_and_rule_files() -> None:
    config = load_config(config_in_latin_1_folder(), env={})
    SqliteStore.open(config.database, migrate="auto").close()
    site = Site(config, lambda: datetime(2026, 3, 2, tzinfo=UTC))
    assert f"{Path.cwd()}/{SHOWN}/state.db</p>" in _page(site, "/").text
    rules = _page(site, "/rules")
    assert f"No rules loaded from <code>{Path.cwd()}/{SHOWN}/rules</code>" in rules.text
    Path(f"{CAFE}/rules/{CAFE}.yaml").write_text(
        "version: 1\nrules:\n  - id: likes-100\n    watch: {accounts: [brand]}\n"
        "    when: likes >= 100\n    actions: [{log: {message: hi}}]\n",
        encoding="utf-8",
    )
    site = Site(config, lambda: datetime(2026, 3, 2, tzinfo=UTC))
    assert f"{SHOWN}.yaml:3</p>" in _page(site, "/rules/likes-100").text


def test_the_dashboard_refusal_names_the_config_file() -> None:
    Path(f"{CAFE}.yaml").write_bytes(Path(config_in_latin_1_folder()).read_bytes())
    config = load_config(f"{CAFE}.yaml", env={})
    with pytest.raises(ConfigError) as refused:
        password_for(config, Listen("0.0.0.0", 8080))
    assert f"'password: ${{DASHBOARD_PASSWORD}}' to {SHOWN}.yaml and set" in str(refused.value)


def test_the_dashboard_log_names_the_database(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(config_in_latin_1_folder(), env={})

    class Announcing:  # the server, as far as its announcement once it listens
        def __init__(self, settings: object, announce: Callable[[Listen], None]) -> None:
            self.announce = announce

        def run(self) -> None:
            self.announce(Listen("127.0.0.1", 8080))

    monkeypatch.setattr(server, "_Server", Announcing)
    with caplog.at_level(logging.INFO, logger="automation.dashboard"):
        server.serve(config, Listen("127.0.0.1", 0))
    assert f"(loopback only), database {Path.cwd()}/{SHOWN}/state.db" in caplog.text
