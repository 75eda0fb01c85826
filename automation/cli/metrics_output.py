"""How ``automation metrics`` writes its rows: an aligned table, CSV, or JSON lines.

Rows are written as they are formatted, never collected as text first. An unknown value
is "-" in the table, an empty cell in CSV and null in JSON, never 0. In CSV the ``id``
column is written as ``="1260294888811347969"``, the form Excel, LibreOffice and Google
Sheets keep as text (a plain 19-digit number loses its last digits to rounding); the
``url`` column holds the plain ID inside a link. JSON lines carry IDs as strings.

``--output FILE`` is written to a temporary file beside it and moved into place only when
complete, so a reader never sees half a file and an interrupted run leaves the old one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from automation.cli.tables import table_lines
from automation.core.errors import UsageError
from automation.core.metric_columns import Column
from automation.core.metric_names import DERIVED
from automation.core.metric_table import MetricTable
from automation.core.payloads import iso
from automation.core.periods import Period

__all__ = ["FORMATS", "atomic_output", "check_output", "format_for", "write_rows"]

FORMATS = ("table", "csv", "json")
_BY_SUFFIX = {".csv": "csv", ".json": "json", ".jsonl": "json", ".ndjson": "json"}


def format_for(chosen: str | None, output: str | None) -> str:
    """``--format``, else the one ``--output``'s suffix names, else the table."""
    if chosen is not None:
        return chosen
    if output is not None:
        return _BY_SUFFIX.get(Path(output).suffix.lower(), "table")
    return "table"


def write_rows(
    out: IO[str],
    fmt: str,
    table: MetricTable,
    rows: Sequence[int],
    columns: Sequence[Column],
    owner: Mapping[str, str],
    period: Period | None,
) -> None:
    """Write ``rows`` (row numbers of ``table``, in output order) in format ``fmt``."""
    metrics = [c.metric for c in columns]
    names = [c.name for c in columns]
    found = table.values_of(rows, metrics)
    write = out.write
    if fmt == "csv":
        write(",".join(["id", "url", "account", *names]) + "\n")
        numbers = _Numbers(metrics, [""] * len(names), unknown="", separator=",")
        for pid, values in found:
            account = owner.get(pid, "")
            write(f'"=""{pid}""",https://x.com/i/status/{pid},{account},{numbers(values)}\n')
    elif fmt == "json":
        labels = [f"{json.dumps(n)}: " for n in names]
        fields = _Numbers(metrics, labels, unknown="null", separator=", ")
        when = (
            "" if period is None else f'"from": "{iso(period.start)}", "to": "{iso(period.end)}", '
        )
        for pid, values in found:
            account = f'"{owner[pid]}"' if pid in owner else "null"
            write(f'{{"id": "{pid}", "account": {account}, {when}{fields(values)}}}\n')
    else:

        def cells() -> Iterator[list[object]]:  # read twice: widths, then lines
            for pid, values in table.values_of(rows, metrics):
                yield [pid, owner.get(pid, "public"), *values]

        for line in table_lines(["post", "account", *names], cells):
            write(line + "\n")


class _Numbers:
    """A row's values as one text, by one ``%`` format: counts as whole numbers (``%.15g``
    prints 47.0 as 47), rates to six significant digits, unknown values as ``unknown``.
    The format for each pattern of unknown values is built once; account names, metric
    names and post IDs never need quoting (they are letters, digits, '-' and '_')."""

    def __init__(
        self, metrics: Sequence[str], labels: Sequence[str], *, unknown: str, separator: str
    ) -> None:
        self._specs = [
            label.replace("%", "%%") + ("%.6g" if m in DERIVED else "%.15g")
            for m, label in zip(metrics, labels, strict=True)
        ]
        self._unknown = [label.replace("%", "%%") + unknown for label in labels]
        self._separator = separator
        self._complete = separator.join(self._specs)
        self._formats: dict[tuple[bool, ...], str] = {}

    def __call__(self, values: list[float | None]) -> str:
        if None not in values:
            return self._complete % tuple(values)
        gaps = tuple([v is None for v in values])
        fmt = self._formats.get(gaps)
        if fmt is None:
            parts = zip(self._specs, self._unknown, gaps, strict=True)
            fmt = self._formats[gaps] = self._separator.join(u if g else s for s, u, g in parts)
        return fmt % tuple([v for v in values if v is not None])


def check_output(path: str) -> Path:
    """``--output``'s path, refused before any request is sent if it cannot be written."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UsageError(f"--output {path}: it is a directory; give a file name")
    if not parent.is_dir():
        raise UsageError(f"--output {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"--output {path}: cannot write in {parent}")
    return target


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
