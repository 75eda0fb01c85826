"""A text file written whole or not at all: readers see the old file or the new one.

Used for the files other processes read while they are written: ``automation metrics
--output`` and the config the sandbox writes for an engine started beside it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_output"]


@contextmanager
def atomic_output(target: Path) -> Iterator[IO[str]]:
    """A file to write that replaces ``target`` only once closed without error."""
    mode = _mode_for(target)
    tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115  # closed below, then moved
        "w",
        encoding="utf-8",
        newline="",
        dir=target.parent,
        prefix=f".{target.name}.",
        suffix=".part",
        delete=False,
    )
    try:
        with tmp:
            yield tmp.file  # the file itself: the wrapper adds a call to every write
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, mode)
        os.replace(tmp.name, target)
    except BaseException:
        Path(tmp.name).unlink(missing_ok=True)
        raise


def _mode_for(target: Path) -> int:
    """The file's mode if it exists, else what the umask gives a new file."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
