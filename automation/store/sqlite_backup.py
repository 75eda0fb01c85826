"""A consistent copy of the SQLite state database, taken while the engine writes to it.

SQLite's online backup API copies the database in one step under one read transaction,
so the copy is the database as of one moment: every cycle's firings come with their
queued actions, or not at all. In WAL mode the engine goes on writing meanwhile. The copy
is written beside its destination, checked, flushed to disk and only then renamed into
place, so the destination is never half a database; it is readable by its owner only. A
backup killed before the rename (SIGKILL, a power cut) leaves that copy (with its -wal and
-shm), as large as the database; the next backup to the same file removes it once the
process that wrote it is gone.

The source is opened read-write without being created (``mode=rw``): a read-only
connection would leave ``-wal`` and ``-shm`` files behind, owned by whoever ran the
backup, which the engine's own user then could not write. A source this user may not
write (a copy on a read-only mount) is opened only to read, since nothing can be left
beside it. A destination that cannot be written (a missing or read-only directory, a full
disk) is refused with what to do about it.
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from automation.config.atomic_file import remove_killed
from automation.core.errors import StoreError, UsageError
from automation.core.wording import shown_path
from automation.store.sqlite_connection import may_write, primary_code, read_only_uri

__all__ = ["BackupResult", "backup_database"]


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int  # bytes
    firings: int
    actions: int
    pending: int


def backup_database(source: Path, target: Path) -> BackupResult:
    """Copy the database at ``source`` to ``target`` (replacing it); see the module."""
    if not source.is_file():
        raise UsageError(
            f"no database at {shown_path(str(source))} to back up (has the engine run yet?)"
        )
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        _check_target(source, target)
        # a killed backup's copy: .NAME.partial-PID, with its -wal and -shm
        remove_killed(target.parent, re.escape(f".{target.name}.partial-") + r"(?P<pid>\d+)(-.*)?")
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise StoreError(_unwritable(target, exc.errno, exc.strerror or str(exc))) from exc
    try:
        result = _copy(source, partial, target)
        with partial.open("rb+") as f:
            os.fsync(f.fileno())
        partial.replace(target)
    except sqlite3.Error as exc:
        if primary_code(exc) == sqlite3.SQLITE_FULL:
            raise StoreError(_unwritable(target, errno.ENOSPC, str(exc))) from exc
        raise StoreError(
            f"cannot back up {shown_path(str(source))} to {shown_path(str(target))}: {exc}"
        ) from exc
    except OSError as exc:
        raise StoreError(_unwritable(target, exc.errno, exc.strerror or str(exc))) from exc
    finally:
        partial.unlink(missing_ok=True)
    return result


def _unwritable(target: Path, code: int | None, reason: str) -> str:
    """Why the backup cannot be written to ``target``, and what to do (nothing is left)."""
    folder = shown_path(str(target.parent))
    if code in (errno.ENOSPC, errno.EDQUOT):
        fix = (
            f"the disk that holds {folder} is full (df -h {folder}): free space there, or"
            " back up to another disk"
        )
    elif code == errno.EROFS:
        fix = f"{folder} is on a read-only file system: back up to a writable disk"
    elif code in (errno.EACCES, errno.EPERM):
        fix = (
            f"this user may not write in {folder}: back up into a directory it may write,"
            " such as the state directory when run as the service's user (see the README)"
        )
    else:
        fix = "back up to another file"
    shown = shown_path(str(target))
    return f"cannot write the backup {shown}: {reason}; {fix}. Nothing was written"


def _check_target(source: Path, target: Path) -> None:
    shown = shown_path(str(target))
    if target.is_dir():
        example = shown_path(str(target / "automation.db"))
        raise UsageError(f"{shown} is a directory: name the backup file, e.g. {example}")
    if not target.parent.is_dir():
        folder = shown_path(str(target.parent))
        raise UsageError(
            f"cannot write {shown}: directory {folder} does not exist; create it"
            f" (mkdir -p {folder}) or name a file in a directory that exists"
        )
    if target.exists() and target.resolve() == source.resolve():
        raise UsageError(f"{shown} is the database itself: back it up to another file")


def _copy(source: Path, partial: Path, target: Path) -> BackupResult:
    uri = (
        f"file:{quote(os.fsencode(source.absolute()))}?mode=rw"
        if may_write(source)
        else read_only_uri(source)
    )
    src = sqlite3.connect(uri, uri=True, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # every page in one step: one read transaction, one moment
            problems = [row[0] for row in dst.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                raise StoreError(
                    f"the copy of {shown_path(str(source))} failed its check: {problems[0]}"
                )
            firings, actions, pending = _counts(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return BackupResult(target, partial.stat().st_size, firings, actions, pending)


def _counts(db: sqlite3.Connection) -> tuple[int, int, int]:
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"firings", "outbox"} <= tables:
        raise StoreError("not a state database of this engine: it has no firings or outbox")
    (firings,) = db.execute("SELECT count(*) FROM firings").fetchone()
    actions, pending = db.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'pending') FROM outbox"
    ).fetchone()
    return int(firings), int(actions), int(pending or 0)
