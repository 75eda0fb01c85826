"""The paths a config file names: its database file and its rule files and directories.

A relative path is relative to the config file's directory, and ``~`` or ``~NAME`` is
expanded; a ``~NAME`` for a user the machine does not have is a problem to report at the
path's line, not a crash when the config is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automation.config.database import is_postgres_url

__all__ = ["home_problem", "named_paths", "resolve"]


def named_paths(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Each path of a schema-valid config, with where it is written."""
    paths: list[tuple[tuple[str | int, ...], str]] = [
        (("rules", i), value) for i, value in enumerate(data["rules"])
    ]
    if not is_postgres_url(data["database"]):
        paths.append((("database",), data["database"]))
    return paths


def home_problem(value: str) -> str | None:
    """Why ``value`` cannot be expanded, or None."""
    try:
        Path(value).expanduser()
    except RuntimeError:
        return (
            "starts with ~ and a user this machine does not have: write the path in full, "
            "or ~/ for the home directory of the user that runs it"
        )
    return None


def resolve(value: str, config: Path) -> Path:
    """``value`` expanded, and made absolute against the directory of ``config``."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else config.absolute().parent / path
