"""What every command shares: the config it names, the database, the time, JSON output."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from automation.core.errors import ConfigError, UsageError
from automation.core.wording import shown_path

if TYPE_CHECKING:  # imported when used: ``automation --help`` should not load them all
    from automation.config.loader import SecretMode
    from automation.config.model import Config
    from automation.store.opening import AnyStore

__all__ = [
    "command_config",
    "command_store",
    "confirmed",
    "emit_json",
    "now",
    "require_stdout",
    "required_config",
    "setup_logs",
]


def setup_logs(args: argparse.Namespace, config: Config | None = None) -> None:
    """Logs on stderr; once the config is known, its secret values are masked as well."""
    import logging
    import sys

    from automation.config.loader import redactor
    from automation.service.logs import setup_logging

    level = logging.DEBUG if args.debug else logging.INFO
    redact = redactor(config) if config is not None else None
    setup_logging(args.log_format, level=level, stream=sys.stderr, redact=redact)


def command_config(
    args: argparse.Namespace, *, required: bool = True, secrets: SecretMode = "when_used"
) -> Config | None:
    """The config named by ``--config``, ``$AUTOMATION_CONFIG`` or ``./automation.yaml``.

    Returns None when there is none and ``required`` is false. Secrets are resolved only
    when used, so a command that never calls X works where they are not set (an
    administrator's shell beside a service that gets them through ``LoadCredential=``);
    a command that calls X asks for ``secrets="required"`` and fails at once without them.
    """
    from automation.config.loader import config_path, load_config

    if args.config == "":  # ``--config "$UNSET"``: not the default file in its stead
        raise ConfigError("--config needs a file name (or leave it out for the default)")
    path = config_path(args.config, os.environ)
    if not path.exists():
        if not required:
            return None
        raise ConfigError(
            f"no config file at {shown_path(str(path))}: give --config FILE or set "
            "AUTOMATION_CONFIG "
            "(to try the sandbox: automation sandbox --write-config automation.yaml)"
        )
    config = load_config(path, secrets=secrets)
    setup_logs(args, config)
    return config


def required_config(args: argparse.Namespace, *, secrets: SecretMode = "when_used") -> Config:
    config = command_config(args, secrets=secrets)
    assert config is not None
    return config


@contextmanager
def command_store(config: Config, *, only_reads: bool = False) -> Iterator[AnyStore]:
    """The engine's database for a command that reads or adjusts it. No engine lock is
    taken, so these commands work while the service runs (SQLite's WAL keeps reads
    consistent; PostgreSQL is made for it). ``only_reads``: a SQLite file this user may
    not write is opened only to read, instead of refused."""
    from automation.store.opening import require_readable, require_store

    opening = require_readable if only_reads else require_store
    store = opening(config.database, migrate=config.migrate)
    try:
        yield store
    finally:
        store.close()


def now() -> datetime:
    return datetime.now(UTC)


def require_stdout(command: str) -> None:
    """Refuse a command whose product is what it prints when standard output is closed
    (``>&-``: Python's ``sys.stdout`` is None and every print would vanish)."""
    if sys.stdout is None:
        raise UsageError(
            f"automation {command}: standard output is closed, so what it prints would "
            "be lost; send it to a file (> FILE) or to /dev/null"
        )


def confirmed(question: str, out: TextIO) -> bool:
    """Ask ``question [y/N]`` on ``out`` (stderr where stdout carries JSON) and read the
    answer from stdin: true only for yes; an end of input is a no."""
    out.write(f"{question} [y/N] ")
    out.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))
