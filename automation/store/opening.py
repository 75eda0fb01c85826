"""Open the store a config names: a SQLite file for a path, PostgreSQL for a URL.

Commands and the engine call these instead of naming a backend, so every one of them works
on both. ``migrate`` says whether opening may bring the schema up to date (``auto``, the
default for SQLite) or must find it so (``manual``, the default for PostgreSQL, where
``automation migrate`` does it once for every engine).

The PostgreSQL modules (psycopg with them) are imported only when a PostgreSQL database
is opened: a command on a SQLite file does not pay for loading them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from automation.config.database import Database, MigrateMode, PostgresDatabase
from automation.core.errors import StoreError, UsageError
from automation.core.wording import shown_path
from automation.store.sqlite import SqliteStore
from automation.store.sqlite_connection import may_write

if TYPE_CHECKING:
    from automation.store.postgres import PostgresStore

__all__ = [
    "AnyStore",
    "Migrated",
    "migrate",
    "open_readonly",
    "open_store",
    "require_readable",
    "require_store",
]

AnyStore: TypeAlias = "SqliteStore | PostgresStore"


def open_store(
    database: Database,
    *,
    migrate: MigrateMode = "auto",
    epoch: int | None = None,
    timeout: float = 10.0,
) -> AnyStore:
    """The store at ``database``; ``epoch`` fences a leading engine's writes (PostgreSQL),
    ``timeout`` is how long a SQLite write waits for the file's lock."""
    if isinstance(database, PostgresDatabase):
        from automation.store.postgres import PostgresStore

        return PostgresStore.open(database, migrate=migrate, epoch=epoch)
    return SqliteStore.open(database, timeout=timeout, migrate=migrate)


def open_readonly(database: Database) -> AnyStore:
    """Only to read (the dashboard's pages): never migrates, every write fails."""
    if isinstance(database, PostgresDatabase):
        from automation.store.postgres import PostgresStore

        return PostgresStore.open_readonly(database)
    return SqliteStore.open_readonly(database)


def require_store(
    database: Database, *, migrate: MigrateMode = "auto", timeout: float = 10.0
) -> AnyStore:
    """The store for a command that reads or adjusts what an engine recorded: a SQLite
    file that does not exist yet is a usage error, not a new empty database."""
    if isinstance(database, Path) and not database.exists():
        raise UsageError(
            f"no database at {shown_path(str(database))} yet: run 'automation run --once' first"
        )
    return open_store(database, migrate=migrate, timeout=timeout)


def require_readable(database: Database, *, migrate: MigrateMode = "auto") -> AnyStore:
    """The store for a command that only reads what an engine recorded (``status``,
    ``history``): as ``require_store``, but a SQLite file this user may not write (a backup
    copy on a read-only mount, a directory it may not write) is opened only to read."""
    if isinstance(database, Path) and database.is_file() and not may_write(database):
        return SqliteStore.open_readonly(database, current=True)
    return require_store(database, migrate=migrate)


@dataclass(frozen=True)
class Migrated:
    applied: tuple[str, ...]  # this time
    total: int  # migrations the schema now has


def migrate(database: Database) -> Migrated:
    """Bring the schema up to date (``automation migrate``)."""
    if isinstance(database, PostgresDatabase):
        import psycopg

        from automation.store import postgres_schema
        from automation.store.postgres_connection import connect, first_line

        with connect(database, role="migrate") as conn:
            try:
                postgres_schema.refuse_newer(database, conn)
                applied = postgres_schema.apply(conn)
                return Migrated(tuple(applied), len(postgres_schema.applied(conn)))
            except psycopg.Error as exc:
                raise StoreError(
                    f"cannot migrate the database {database}: {first_line(exc)}"
                ) from None
    before = SqliteStore.applied_migrations(database)
    SqliteStore.open(database, migrate="auto").close()
    after = SqliteStore.applied_migrations(database)
    return Migrated(tuple(m for m in after if m not in before), len(after))
