"""``automation migrate``: bring the database's schema up to date.

The engine does it on its own at start-up when the config says ``migrate: auto`` (the
default for SQLite). With PostgreSQL several engines share one database, so the schema
changes on purpose, once, from any machine: with every engine stopped (it refuses while one
leads and a migration is pending), then start the upgraded engines.
"""

from __future__ import annotations

import argparse
from typing import Any

from automation.cli.context import required_config
from automation.core.wording import counted, shown_path

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    m = sub.add_parser(
        "migrate",
        help="apply the store's migrations",
        description=(
            "Apply the migrations this version of the engine needs to the config's database "
            "(SQLite or PostgreSQL); each is applied once, in a transaction with its record."
        ),
    )
    m.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.store.opening import migrate

    config = required_config(args)
    done = migrate(config.database)
    database = shown_path(str(config.database))
    if done.applied:
        print(f"applied {', '.join(done.applied)} to {database}")
    print(f"the schema of {database} is up to date ({counted(done.total, 'migration')} applied)")
    return 0
