"""``automation backup FILE``: a consistent copy of the state database, while the engine runs.

Only the database is read, so the config's secrets need not be set (an administrator's
shell beside a service that gets them through ``LoadCredential=``). The README says how
to restore a copy.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from automation.cli.context import required_config
from automation.core.errors import UsageError
from automation.core.wording import counted, shown_path, size_text

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    b = sub.add_parser(
        "backup",
        help="copy the database consistently, even while the engine runs",
        description=(
            "Copy the state database to FILE (replacing it) with SQLite's online backup: "
            "a consistent copy even while the engine runs. To restore, stop the engine "
            "and put the copy in the database's place (see the README). A PostgreSQL "
            "database is backed up with PostgreSQL's own pg_dump."
        ),
    )
    b.add_argument("file", type=Path, metavar="FILE", help="where to write the copy")
    b.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.config.database import PostgresDatabase
    from automation.store.sqlite_backup import backup_database

    if not str(args.file) or args.file == Path():
        raise UsageError("backup needs a FILE to write the copy to, e.g. automation-copy.db")
    config = required_config(args)
    if isinstance(config.database, PostgresDatabase):
        raise UsageError(
            f"the database is PostgreSQL ({config.database}): back it up with pg_dump, which"
            " copies it consistently while the engines run, e.g.\n"
            f"  pg_dump --format=custom --file={shown_path(str(args.file))} '{config.database}'\n"
            'and restore with pg_restore (see the README\'s "Back up and restore the database")'
        )
    done = backup_database(config.database, args.file)
    print(
        f"backed up {shown_path(str(config.database))} to {shown_path(str(done.path))}: "
        f"{size_text(done.size)}, "
        f"{counted(done.firings, 'firing')}, {counted(done.actions, 'action')} "
        f"({done.pending} pending)"
    )
    return 0
