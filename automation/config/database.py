"""Where the state lives: a SQLite file (a path, the embedded default) or a PostgreSQL
database (a ``postgresql://`` URL), and whether the engine may migrate it on its own.

A URL's password is taken out of it at once and kept as a ``Secret``: the URL that is
left is what logs, errors and ``status`` show. Without a password in the URL, libpq finds
one as usual (``PGPASSWORD``, ``~/.pgpass``, a client certificate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from automation.config.secret import Secret

__all__ = [
    "Database",
    "MigrateMode",
    "PostgresDatabase",
    "database_of",
    "default_migrate",
    "is_postgres_url",
]

MigrateMode = Literal["auto", "manual"]

_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class PostgresDatabase:
    """A PostgreSQL database: ``url`` without its password, ``password`` if it had one."""

    url: str
    password: Secret | None = None

    @classmethod
    def parse(cls, text: str, *, source: str = "database") -> PostgresDatabase:
        """``text`` split into the URL without its password, and the password (which may
        hold ``/`` or ``@`` when it came from a ``${NAME}``). A ``password=`` parameter of
        the query is taken out too (libpq reads either); the user's part wins when both
        are given."""
        scheme, _, rest = text.partition("://")
        head, _, query = rest.partition("?")
        kept = [p for p in query.split("&") if p and unquote(p.partition("=")[0]) != "password"]
        in_query = [p.partition("=")[2] for p in query.split("&") if p not in kept and p]
        userinfo, at, location = head.rpartition("@")
        if at and ":" in userinfo:
            user, _, password = userinfo.partition(":")
            head = f"{user}@{location}"
        elif in_query:
            password = in_query[-1]
        else:
            return cls(text)
        shown = f"{scheme}://{head}" + (f"?{'&'.join(kept)}" if kept else "")
        return cls(shown, Secret(unquote(password), source=f"the password in {source}"))

    def password_value(self) -> str | None:
        return self.password.reveal() if self.password is not None else None

    def __str__(self) -> str:
        return self.url


Database = Path | PostgresDatabase


def is_postgres_url(text: str) -> bool:
    return text.startswith(_SCHEMES)


def database_of(value: str, path: Callable[[str], Path]) -> Database:
    """The config's ``database``: a URL, or a path made absolute by ``path``."""
    return PostgresDatabase.parse(value) if is_postgres_url(value) else path(value)


def default_migrate(database: Database) -> MigrateMode:
    """SQLite is embedded: its engine migrates it. A shared PostgreSQL database is
    migrated on purpose, once, with ``automation migrate``."""
    return "manual" if isinstance(database, PostgresDatabase) else "auto"
