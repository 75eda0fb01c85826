"""What ``automation`` loads before it runs a command: its parser names every command, but
the clients, stores, schema and web libraries a command needs are imported when it runs,
so ``automation --help`` and the short commands do not load them all."""

from __future__ import annotations

import json
import subprocess
import sys

# imported by the commands that use them, never by the parser
_LOADED_WHEN_RUN = (
    "httpx",
    "authlib",
    "sqlite_utils",
    "psycopg",
    "jsonschema",
    "yaml",
    "starlette",
    "automation.backtest",
    "automation.engine",
    "automation.store",
    "automation.service.runtime",
    "automation.config.loader",
)


def _loaded(script: str) -> list[str]:
    """The modules a fresh interpreter holds after ``script``."""
    script += "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def _among(loaded: list[str], packages: tuple[str, ...]) -> list[str]:
    return [m for m in loaded if any(m == p or m.startswith(p + ".") for p in packages)]


def test_the_parser_of_every_command_loads_no_client_store_or_schema_library() -> None:
    loaded = _loaded("from automation.cli.main import build_parser\nbuild_parser()")
    assert _among(loaded, _LOADED_WHEN_RUN) == []


def test_the_metrics_command_loads_no_engine() -> None:
    """``metrics`` reads the API with the engine's request budget, not the engine."""
    loaded = _loaded("import automation.cli.metrics, automation.export.job")
    assert _among(loaded, ("automation.service.runtime", "automation.engine.cycle")) == []
    assert "automation.service.store_ledger" in loaded
