"""Post IDs as people hand them over: one a line, or a column of a spreadsheet export.

A list is one ID a line, or a CSV (comma, semicolon or tab) whose first line is a header
naming an ``id``, ``tweet_id`` or ``post_id`` column (any case; ``Tweet id`` as X's own
analytics export writes it is the same), or else a column of the posts' links: ``url``,
``link`` or ``permalink`` (``Post URL``, ``Tweet permalink`` too). A post's link
(``https://x.com/USER/status/ID``, the scheme optional) counts as its ID, and so does
``="ID"``, the form ``automation metrics`` writes in CSV.
The ``sep=;`` line Excel may write first names the delimiter (any one character); the
header then follows on the next line.
Blank lines and repeated IDs are ignored; a line that holds no valid ID is skipped and
reported with its line number, never fatal. Only a file whose header names no ID column at
all is refused, since none of its lines could be read.

Pure: lines in (any iterable of text), a ``PostIdList`` out.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter

from automation.core.errors import UsageError

__all__ = [
    "ID_COLUMNS",
    "ROUNDED_FIX",
    "PostIdList",
    "SkippedLine",
    "ascii_digits",
    "is_post_id",
    "read_post_ids",
    "rounded_by_spreadsheet",
]

# In order of preference when a header names several (``id`` is often a row number), then
# the columns of links a spreadsheet may hold instead, alone or after ``post_`` / ``tweet_``.
ID_COLUMNS = ("post_id", "tweet_id", "id")
_LINK_COLUMNS = ("url", "link", "permalink")
_COLUMNS = (
    *ID_COLUMNS,
    *(f"{kind}{name}" for name in _LINK_COLUMNS for kind in ("post_", "tweet_", "")),
)
_DELIMITERS = (",", ";", "\t")
_MAX_ID = str(2**63 - 1)
_SEP = re.compile(r"sep=([^\w\"'\r\n])", re.IGNORECASE)  # Excel's line naming the delimiter
_LINK = re.compile(  # the scheme optional: a link copied from an address bar may lack it
    r"(?:https?://)?(?:www\.|mobile\.)?(?:x|twitter)\.com/(?:[A-Za-z0-9_]+|i(?:/web)?)"
    r"/status(?:es)?/([0-9]+)(?:[/?#].*)?",
    re.IGNORECASE,
)
_AS_TEXT = re.compile(r'="([0-9]+)"')  # a spreadsheet's text formula, as our CSV writes IDs
_ROUNDED = re.compile(r"[0-9](?:[.,][0-9]+)?[eE]\+?[0-9]+")
ROUNDED_FIX = (  # how to get back IDs a spreadsheet rounded
    "copy the IDs again from where they came into a column formatted as Text, or give the "
    "posts' links"
)


@dataclass(frozen=True)
class SkippedLine:
    """A line that held no valid post ID: its number (1-based), text and why."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class PostIdList:
    """The IDs in the order first listed, each once; what was skipped; ``column`` is the
    CSV column read, None for one ID a line."""

    ids: tuple[str, ...]
    skipped: tuple[SkippedLine, ...] = ()
    duplicates: int = 0
    column: str | None = None


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits. ``str.isdigit`` looks each character
    up in the Unicode tables (100,000 IDs joined: 17 ms); an ASCII text's bytes are
    checked by a plain C loop (1 ms)."""
    return text.isascii() and text.encode().isdigit()


def rounded_by_spreadsheet(post_id: str) -> bool:
    """Whether a post ID of 18 or 19 digits ends in the zeros a spreadsheet writes for a
    number it keeps to 15 digits (a column formatted as Number). One real ID in 1,000
    (18 digits) or 10,000 (19) ends so too: this names a likely cause, never refuses."""
    return len(post_id) >= 18 and post_id.endswith("0" * (len(post_id) - 15))


def is_post_id(text: str) -> bool:
    """A post ID as X writes it: 1 to 19 digits, no leading zero, within 64 bits."""
    return (
        text.isascii()
        and text.isdigit()
        and len(text) <= 19
        and text[0] != "0"
        and (len(text) < 19 or text <= _MAX_ID)  # same length: text order is number order
    )


# how a workbook's first bytes read as text: a ZIP (.xlsx, .ods), or OLE2 (.xls), its
# first bytes (D0 CF 11 E0 A1 B1) read as UTF-8 with U+FFFD for what is not
_WORKBOOKS = ("PK\x03\x04", "\ufffd\ufffd\x11\u0871")


def read_post_ids(lines: Iterable[str]) -> PostIdList:
    """Read a list of post IDs; see the module's docstring for the accepted forms."""
    held = list(lines)
    number, first = _first_line(held)
    delimiters: tuple[str, ...] = _DELIMITERS
    raw = held[number - 1].lstrip("\ufeff").rstrip("\r\n") if first is not None else ""
    named = _SEP.fullmatch(raw)
    if named is not None:  # the header (or the first ID) is on the next line
        delimiters = (named.group(1),)
        number, first = _first_line(held, number)
    if first is None:
        return PostIdList(())
    if first.startswith(_WORKBOOKS):
        raise UsageError(
            "it is a spreadsheet workbook (.xlsx, .xls or .ods), not text: in Excel, choose"
            ' File > Save As and the type "CSV UTF-8 (Comma delimited)", and give that file'
        )
    if "\x00" in first:
        raise UsageError(
            'it holds NUL characters, as UTF-16 text does (Excel\'s "Unicode Text"): in '
            'Excel, choose File > Save As and the type "CSV UTF-8 (Comma delimited)"'
        )
    header = _header(first, delimiters)
    column = header[2] if header is not None else None
    rest = held[number:]
    quick = _all_ids(first, rest, header)
    if quick is not None:  # the usual list: every line an ID, read in bulk
        unique = dict.fromkeys(quick)
        return PostIdList(tuple(unique), (), len(quick) - len(unique), column)
    if header is None:
        records = _single_ids(first, number, iter(rest))
    else:
        records = _column(iter(rest), number, header[0], header[1])
    return _read(records, column)


@dataclass(frozen=True)
class _Why:
    reason: str


_Records = Iterator[tuple[int, str | None]]


def _read(records: _Records, column: str | None) -> PostIdList:
    """Each record's ID, or why it has none, with its line number."""
    ids: dict[str, None] = {}
    skipped: list[SkippedLine] = []
    duplicates = 0
    for number, text in records:
        if text is not None and is_post_id(text):  # the common case, checked first
            found: str | _Why = text
        else:
            found = _post_id(text) if text is not None else _Why(f"no {column} value")
        if isinstance(found, _Why):
            skipped.append(SkippedLine(number, text or "", found.reason))
        elif found in ids:
            duplicates += 1
        else:
            ids[found] = None
    return PostIdList(tuple(ids), tuple(skipped), duplicates, column)


def _first_line(lines: Sequence[str], skip: int = 0) -> tuple[int, str | None]:
    """The first non-blank line after the first ``skip`` (stripped) and its number; None
    when there is none."""
    for number in range(skip, len(lines)):
        first = lines[number].lstrip("\ufeff").strip()
        if first:
            return number + 1, first
    return len(lines), None


def _all_ids(
    first: str, rest: Sequence[str], header: tuple[str, int, str] | None
) -> list[str] | None:
    """Every record's ID in order, in a few C-level passes, when every record is a valid
    ID (blank lines and rows left out); None when any is not, so that ``_read`` reads the
    records one by one and names each bad line."""
    if header is None:
        texts = [first, *filter(None, map(str.strip, rest))]
    else:
        delimiter, index, _ = header
        try:
            cells = map(itemgetter(index), filter(None, csv.reader(rest, delimiter=delimiter)))
            texts = list(map(str.strip, cells))
        except IndexError:  # a short row
            return None
    joined = "".join(texts)
    if not (ascii_digits(joined) and all(texts)):
        return None
    if texts and (min(texts)[0] == "0" or max(map(len, texts)) > 19):
        return None
    # 19 digits at most, none a leading 0: all are within 64 bits when none is above the
    # largest in text order (as numbers for equal lengths); a shorter text may sort above
    # it ("99") and be valid, so then each is checked on its own
    if texts and max(texts) > _MAX_ID and not all(map(is_post_id, texts)):
        return None
    return texts


def _column(lines: Iterator[str], header_line: int, delimiter: str, index: int) -> _Records:
    reader = csv.reader(lines, delimiter=delimiter)
    for cells in reader:
        text = cells[index].strip() if index < len(cells) else None
        if text or any(c.strip() for c in cells):  # a blank row is no record
            yield header_line + reader.line_num, text


def _single_ids(first: str, number: int, rest: Iterator[str]) -> _Records:
    yield number, _unquoted(first)
    for raw in rest:
        number += 1
        text = raw.strip()
        if text:
            yield number, _unquoted(text)


def _unquoted(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1].strip()
    return text


def _header(line: str, delimiters: Sequence[str]) -> tuple[str, int, str] | None:
    """(delimiter, column index, column name) when ``line`` is a CSV header naming an ID
    column, trying each of ``delimiters`` (the first always, the others when in the
    line); None when it is data. A header naming no ID column is refused."""
    for delimiter in delimiters:
        if delimiter != delimiters[0] and delimiter not in line:
            continue
        cells = next(csv.reader([line], delimiter=delimiter))
        names = [_column_name(c) for c in cells]
        for wanted in _COLUMNS:
            if wanted in names:
                return delimiter, names.index(wanted), cells[names.index(wanted)].strip()
        if len(cells) > 1 and not any(isinstance(_post_id(c.strip()), str) for c in cells):
            shown = ", ".join(c.strip() for c in cells if c.strip())[:120]
            raise UsageError(
                f"the first line looks like a CSV header ({shown}) but names no id, "
                "tweet_id, post_id or url column: rename the column that holds the post IDs "
                "to tweet_id (or the posts' links to url), or give one ID a line"
            )
    return None


def _column_name(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().strip("\"'").lower())


def _post_id(text: str) -> str | _Why:
    """The post ID in one cell, or why there is none."""
    if is_post_id(text):
        return text
    if not text:
        return _Why("the ID cell is empty")
    link = _LINK.fullmatch(text) or _AS_TEXT.fullmatch(text)
    if link and is_post_id(link.group(1)):
        return link.group(1)
    if _ROUNDED.fullmatch(text):
        return _Why(f"a number a spreadsheet rounded: its last digits are lost; {ROUNDED_FIX}")
    if text.isascii() and text.isdigit():
        if text[0] == "0":
            return _Why("a post ID does not start with 0")
        return _Why("too long for a post ID (at most 19 digits, below 2^63)")
    if any(d in text for d in _DELIMITERS):
        return _Why(
            "expected one post ID a line, or a CSV whose first line names an id, "
            "tweet_id, post_id or url column"
        )
    if "/" in text:
        return _Why("a link, but not to a post: a post's link reads https://x.com/NAME/status/ID")
    return _Why("not a post ID (digits, or a link to a post)")
