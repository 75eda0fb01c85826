"""``automation copy-store FROM TO``: move a deployment's state between SQLite and PostgreSQL.

FROM and TO are each a SQLite file, a ``postgresql://`` URL or ``config`` (the database
the config names), so moving to PostgreSQL and back are one command each. The copy is
the whole state (``store.copying``), taken while no engine uses either database: SQLite's
instance lock is held on both sides, and a PostgreSQL database with an engine connected
is refused. Only the databases are read, so the config's other secrets need not be set.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automation.cli.context import required_config
from automation.cli.tables import table
from automation.config.database import Database, PostgresDatabase, is_postgres_url
from automation.core.errors import UsageError
from automation.core.wording import shown_path

if TYPE_CHECKING:
    from automation.store.copying import Copied

__all__ = ["register", "run"]

CONFIG = "config"

EXAMPLES = """\
examples:
  automation copy-store /var/lib/automation/automation.db postgresql://automation@db.internal/automation
  automation copy-store config postgresql://automation@db.internal/automation
  automation copy-store config /var/lib/automation/automation.db   # and back again

Stop the engine (every engine, with PostgreSQL) first: a database an engine uses is
refused. TO must be empty (a new SQLite file is created); --replace deletes what it holds
instead. Give a PostgreSQL password through PGPASSWORD or ~/.pgpass rather than in the
URL, where other users of the machine could see it. Then point the config's database at
TO and start the engine again.
"""


def register(sub: Any) -> None:
    c = sub.add_parser(
        "copy-store",
        help="copy the whole state to another database (SQLite <-> PostgreSQL)",
        description=textwrap.fill(
            "Copy every row of the state database FROM into TO, nothing lost: the ledger, "
            "the outbox with its attempts and idempotency keys, snapshots and hourly "
            "history, the request budget, pauses, the record of changes, status values. "
            "FROM is read as of one moment; TO is written in one transaction, so a copy "
            "that fails leaves it as it was.",
            width=88,
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = "a SQLite file, a postgresql:// URL, or 'config' for the config's database"
    c.add_argument("source", metavar="FROM", help=where)
    c.add_argument("target", metavar="TO", help=where + " (created if a new SQLite file)")
    c.add_argument(
        "--replace", action="store_true", help="delete what TO holds first, instead of refusing"
    )
    c.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.store.copying import copy_rows

    source = _database(args.source, args)
    target = _database(args.target, args)
    if _same(source, target):
        raise UsageError(
            f"FROM and TO are the same database ({_shown(source)}): name another as TO"
        )
    existed = not isinstance(target, Path) or target.exists()
    copied: Copied | None = None
    try:
        with ExitStack() as stack:
            _hold(stack, source, reading=True)
            reader = stack.enter_context(_side(source, reading=True))
            _hold(stack, target, reading=False)  # once FROM is known good: no lock file left
            writer = stack.enter_context(_side(target, reading=False))
            copied = copy_rows(reader, writer, target_name=_shown(target), replace=args.replace)
    except KeyboardInterrupt:
        print(_interrupted(target, existed, committing=copied is not None), file=sys.stderr)
        return 130
    print(f"copied {copied.total:,} rows from {_shown(source)} to {_shown(target)}")
    print(table(("table", "rows"), copied.rows))
    print(
        f"to run on it: stop the engine, set 'database: {_shown(target)}' in the config"
        " and start the engine again"
    )
    return 0


def _interrupted(target: Database, existed: bool, *, committing: bool) -> str:
    """What a Ctrl-C left: the target's transaction is rolled back (a SQLite file this copy
    created is removed), unless it came as the copy was being committed."""
    if committing:
        return (
            f"automation: interrupted while committing the copy into {_shown(target)}: it holds"
            " either the whole copy or what it held before; 'automation status' with it as"
            " the config's database tells which, and the same command with --replace copies"
            " again"
        )
    left = "holds the rows it held before" if existed else "was not created"
    return (
        f"automation: interrupted: nothing was copied, {_shown(target)} {left}; run the same"
        " command again to copy"
    )


def _shown(database: Database) -> str:
    """A database as messages name it: a SQLite file's name as a terminal shows it."""
    return shown_path(str(database))


def _database(text: str, args: argparse.Namespace) -> Database:
    if text == CONFIG:
        return required_config(args).database
    if is_postgres_url(text):
        return PostgresDatabase.parse(text, source="the command line")
    if "://" in text:
        shown = PostgresDatabase.parse(text).url  # without a password it may hold
        raise UsageError(
            f"{shown} is not a SQLite file or a PostgreSQL URL: give a path, a"
            " postgresql://USER@HOST/DATABASE URL, or 'config'"
        )
    if not text:
        raise UsageError("an empty database name: give a path, a URL, or 'config'")
    return Path(text).expanduser().absolute()


def _same(a: Database, b: Database) -> bool:
    if isinstance(a, Path) and isinstance(b, Path):
        return a.resolve() == b.resolve()
    return str(a) == str(b)


def _hold(stack: ExitStack, database: Database, *, reading: bool) -> None:
    """Take a SQLite file's instance lock, as an engine would, so that none runs on it
    while copying (one that does already makes this fail, naming its pid)."""
    from automation.service.instance_lock import InstanceLock

    if not isinstance(database, Path):
        return
    usable = database.is_file() if reading else database.parent.is_dir() and not database.is_dir()
    if usable:  # otherwise the copy says what is wrong with the path
        stack.enter_context(InstanceLock(database))


def _side(database: Database, *, reading: bool) -> AbstractContextManager[Any]:
    from automation.store import copy_postgres, copy_sqlite

    if isinstance(database, PostgresDatabase):
        return copy_postgres.reading(database) if reading else copy_postgres.writing(database)
    return copy_sqlite.reading(database) if reading else copy_sqlite.writing(database)
