"""How much room the file system that holds a SQLite database has left, for ``status`` and
the dashboard to say when it fills up.

A PostgreSQL database's disk is the server's, which a client cannot see: None. So is a
directory the file system will not describe (it is gone, or this user may not look).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from automation.config.database import Database, PostgresDatabase
from automation.core.recording import DiskSpace

__all__ = ["MeasureDisk", "database_disk"]

# what status and the dashboard call; tests put a fake in its place
MeasureDisk = Callable[[Database], DiskSpace | None]


def database_disk(database: Database) -> DiskSpace | None:
    """The size and free bytes of the file system that holds ``database``'s directory."""
    if isinstance(database, PostgresDatabase):
        return None
    directory = database.parent
    try:
        usage = shutil.disk_usage(directory)
    except OSError:
        return None
    return DiskSpace(str(directory), usage.total, usage.free)
