"""A text file written whole or not at all: readers see the old file or the new one.

Used for the files other processes read while they are written: ``automation metrics
--output`` and the config the sandbox writes for an engine started beside it. A target that
is a symbolic link keeps the link: the file it points to is replaced (created if the link
dangles); a link to a directory is refused. The file is written as ``.NAME.PID-XXXXXXXX.part``
beside it and renamed into place; a write killed before the rename (SIGKILL, a power cut)
leaves that part, and the next write to the same file removes it once its process is gone.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from automation.core.wording import shown_path

__all__ = ["atomic_output", "followed", "remove_killed"]


@contextmanager
def atomic_output(target: Path) -> Iterator[IO[str]]:
    """A file to write that replaces ``target`` only once closed without error."""
    target = followed(target)
    mode = _mode_for(target)
    tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115  # closed below, then moved
        "w",
        encoding="utf-8",
        newline="",
        dir=target.parent,
        prefix=f".{target.name}.{os.getpid()}-",
        suffix=".part",
        delete=False,
    )
    try:
        remove_killed(target.parent, re.escape(f".{target.name}.") + r"(?P<pid>\d+)-\w{8}\.part")
        with tmp:
            yield tmp.file  # the file itself: the wrapper adds a call to every write
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, mode)
        os.replace(tmp.name, target)
    except BaseException:
        Path(tmp.name).unlink(missing_ok=True)
        raise


def followed(target: Path) -> Path:
    """The file a symbolic link (or a chain of them) points to, so that the new file is
    renamed over that file and the link is kept; ``target`` itself when it is no link.
    An OSError for a loop of links or a link to a directory."""
    if not target.is_symlink():
        return target
    real = Path(os.path.realpath(target))
    if real.is_symlink():  # a loop of links: realpath stops where it came round
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(target))
    if real.is_dir():
        shown = shown_path(str(real))
        raise IsADirectoryError(errno.EISDIR, f"it links to the directory {shown}", str(target))
    return real


def _mode_for(target: Path) -> int:
    """The file's mode if it exists, else what the umask gives a new file."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def remove_killed(folder: Path, name: str) -> None:
    """Remove the files in ``folder`` whose whole name matches the pattern ``name`` and whose
    process (its group ``pid``) no longer runs: the temporary files writes killed before
    their rename left. A running process's stay, whoever it belongs to."""
    pattern = re.compile(name)
    for path in folder.iterdir():
        found = pattern.fullmatch(path.name)
        if found is not None and not _running(int(found["pid"])):
            with suppress(PermissionError):  # another user's, in a sticky folder: theirs
                path.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process; no pid of ours
        return True
    return True
