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

import csv
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from automation.cli.tables import table_lines
from automation.core.errors import UsageError
from automation.core.facts import post_url
from automation.core.metric_columns import Column
from automation.core.metric_table import MetricTable
from automation.core.payloads import iso, number
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
    writer = {"csv": _csv, "json": _json_lines}.get(fmt, _table)
    writer(out, _Rows(table, rows, columns, owner), period)


class _Rows:
    """The rows to write: post ID, owner (None for public) and values, formatted lazily."""

    def __init__(
        self,
        table: MetricTable,
        rows: Sequence[int],
        columns: Sequence[Column],
        owner: Mapping[str, str],
    ) -> None:
        self.table, self.rows, self.columns, self.owner = table, rows, columns, owner
        self.names = [c.name for c in columns]

    def __iter__(self) -> Iterator[tuple[str, str | None, list[int | float | None]]]:
        ids, value, columns = self.table.post_ids, self.table.value, self.columns
        for row in self.rows:
            pid = ids[row]
            cells = [None if (v := value(row, c.metric)) is None else number(v) for c in columns]
            yield pid, self.owner.get(pid), cells


def _csv(out: IO[str], rows: _Rows, period: Period | None) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "url", "account", *rows.names])
    for pid, owner, values in rows:
        cells = ["" if v is None else str(v) for v in values]
        writer.writerow([f'="{pid}"', post_url(pid), owner or "", *cells])


def _json_lines(out: IO[str], rows: _Rows, period: Period | None) -> None:
    extra = {} if period is None else {"from": iso(period.start), "to": iso(period.end)}
    for pid, owner, values in rows:
        record: dict[str, object] = {"id": pid, "account": owner, **extra}
        record.update(zip(rows.names, values, strict=True))
        out.write(json.dumps(record) + "\n")


def _table(out: IO[str], rows: _Rows, period: Period | None) -> None:
    def cells() -> Iterator[list[object]]:
        for pid, owner, values in rows:
            yield [pid, owner or "public", *values]

    for line in table_lines(["post", "account", *rows.names], cells):
        out.write(line + "\n")


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
            yield tmp
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
