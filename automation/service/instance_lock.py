"""One engine per database.

Two engines on one database would both poll, both fire and both perform actions, so the
second one must refuse to start. An exclusive ``flock`` on ``<db>.lock`` does that: the
kernel drops it when the holder exits, however it dies, so a crash never leaves a stale
lock behind. The file holds the holder's pid only so the refusal can say who holds it.
The file itself is never deleted: unlinking a lock file lets two processes lock two
different inodes. It lies beside the file the path resolves to, so a database reached
through a symbolic link (or a second name of its directory) has the one lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

from automation.core.errors import EngineLocked, StoreError

__all__ = ["InstanceLock", "lock_path"]


def lock_path(db_path: Path | str) -> Path:
    return Path(f"{Path(db_path).resolve()}.lock")


class InstanceLock:
    """Hold with ``with InstanceLock(db):`` or ``acquire()`` / ``release()``."""

    def __init__(self, db_path: Path | str) -> None:
        self.db_path = Path(db_path)
        self.path = lock_path(db_path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise EngineLocked naming the pid that holds it."""
        if self._fd is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            folder = self.db_path.parent
            raise StoreError(
                f"the database's directory {folder} does not exist: create it "
                f"(mkdir -p {folder}) or set database: to a file in a directory that exists"
            ) from None
        except OSError as exc:
            raise StoreError(
                f"cannot create the lock file {self.path}: {exc.strerror}; the engine keeps it"
                f" beside the database: make {self.path.parent} writable by this user, or set"
                " database: to a file in a directory it may write"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"another engine (pid {holder})" if holder else "another engine"
            raise EngineLocked(f"{who} is running against {self.db_path}; stop it first") from None
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"cannot lock {self.path}: {exc.strerror}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the last descriptor drops the flock

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
