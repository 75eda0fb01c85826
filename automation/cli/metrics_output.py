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
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain, repeat
from operator import itemgetter, truediv
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from automation.cli.tables import table_lines
from automation.config.atomic_file import followed
from automation.core.errors import UsageError
from automation.core.metric_columns import Column
from automation.core.metric_names import DERIVED
from automation.core.metric_table import MetricTable
from automation.core.payloads import iso
from automation.core.periods import Period
from automation.core.wording import shown_path

if TYPE_CHECKING:
    from automation.export.tally import Joined

__all__ = ["FORMATS", "StreamedRows", "check_output", "format_for", "write_rows"]

FORMATS = ("table", "csv", "json")
_BY_SUFFIX = {".csv": "csv", ".json": "json", ".jsonl": "json", ".ndjson": "json"}
_WORKBOOKS = (".xlsx", ".xlsm", ".xls", ".ods")  # what a spreadsheet opens only as its own


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
    if fmt == "table":
        metrics = [c.metric for c in columns]
        _write_table(out, table, rows, metrics, [c.name for c in columns], owner)
        return
    shape = _Shape(fmt, columns, period)
    ids, answers = table.answers_of(rows)
    out.write(shape.header)
    out.writelines(shape.lines(shape.head).of(shape.heads(ids, owner), answers))


class _Shape:
    """How CSV or JSON lines are laid out: ``header`` (the first line, if any), ``head``
    (the ``%`` format of a row's head fields: ID, link, account), then the values."""

    def __init__(self, fmt: str, columns: Sequence[Column], period: Period | None) -> None:
        self._metrics = [c.metric for c in columns]
        names = [c.name for c in columns]
        self.csv = fmt == "csv"
        if self.csv:
            self.header = ",".join(["id", "url", "account", *names]) + "\n"
            # the head's fields: the ID (written in twice), then the account
            self._around = ('"=""%s""",https://x.com/i/status/%s,', ",")
            self._layout = ([""] * len(names), "", ",", "\n")
        else:
            self.header = ""
            when = (
                ""
                if period is None
                else f'"from": "{iso(period.start)}", "to": "{iso(period.end)}", '
            )
            self._around = ('{"id": "%s", "account": ', ", " + when.replace("%", "%%"))
            self._layout = ([f"{json.dumps(n)}: " for n in names], "null", ", ", "}\n")
        self.head = "%s".join(self._around)

    def lines(self, head: str, counts: str = "%.15g") -> _Lines:
        """Lines that start with ``head`` (empty: the values alone); ``counts``: the
        format of a count (``%s``: counts kept as the API's texts)."""
        labels, unknown, separator, end = self._layout
        return _Lines(self._metrics, labels, unknown, separator, head, end, counts)

    def heads(self, ids: Sequence[str], owner: Mapping[str, str]) -> Iterator[tuple[str, ...]]:
        """Each row's head fields."""
        if self.csv:
            return zip(ids, ids, map(owner.get, ids, repeat("")), strict=True)
        quoted: dict[str | None, str] = {a: f'"{a}"' for a in set(owner.values())}
        return zip(ids, map(quoted.get, map(owner.get, ids), repeat("null")), strict=True)

    def head_of(self, account: str | None) -> tuple[str, int]:
        """``head`` with ``account`` written in, and how many times it takes the ID."""
        quoted = "null" if account is None else f'"{account}"'
        shown = (account or "") if self.csv else quoted
        before, after = self._around
        return before + shown.replace("%", "%%") + after, before.count("%s")


class StreamedRows:
    """CSV or JSON lines made from each answer as it arrives (``Rows`` of an export),
    when they go out in the order listed and nothing needs every row first (no ranking,
    no aligned table). Each answer's posts are made into lines at once, in a few C-level
    passes when they hold the same metrics, and their values dropped: no table of values
    is kept. Counts the API wrote plainly are put in as sent, which is what ``%.15g`` of
    their number prints; the account of an answer's posts is given with it (the export
    settles it before). The lines equal ``write_rows``'s byte for byte."""

    def __init__(self, fmt: str, columns: Sequence[Column], period: Period | None) -> None:
        self._shape = _Shape(fmt, columns, period)
        self._formats: dict[tuple[str | None, str], tuple[_Lines, int]] = {}
        # each answer's account, posts and their lines, as they arrived: no table keyed
        # by post ID unless the lines cannot be taken in the order planned
        self._answers: list[tuple[str | None, list[str], Sequence[str]]] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def put_all(self, answers: Mapping[str, Mapping[str, float]], account: str | None) -> None:
        self._put(answers, account, "%.15g")

    def put_texts(
        self,
        answers: Mapping[str, Mapping[str, str]],
        account: str | None,
        joined: Joined | None = None,
    ) -> None:
        self._put(answers, account, "%s", joined)

    def write(
        self,
        out: IO[str],
        post_ids: Sequence[str],
        accounts: Sequence[str | None] | None = None,
    ) -> None:
        """The lines of the posts answered, in the order of ``post_ids``; ``accounts``:
        the account each was planned with, beside it (None: public), if known."""
        out.write(self._shape.header)
        # joined in blocks: a text file's write per line costs more than joining them
        # (the benchmark's 100,000 lines, best of 9: 0.025 s by writelines, 0.023 joined)
        for block in self._in_order(post_ids, accounts):
            out.write("".join(block))

    def _in_order(
        self, post_ids: Sequence[str], accounts: Sequence[str | None] | None
    ) -> Iterator[Iterable[str]]:
        """Each block of posts' lines ("" for a post with none), no list of them all.
        Each account's answers arrive in the order its posts are listed when every post
        is answered as planned (the usual run): then each block's lines are taken from
        them in the accounts' turns, once the block's posts, taken alike, are its listed
        IDs, with no look-up of a post; from the first block that differs on, by a table
        keyed by post ID."""
        done = 0
        if accounts is not None and len(accounts) == len(post_ids):
            posts = _turns((account, answered) for account, answered, _ in self._answers)
            made = _turns((account, lines) for account, _, lines in self._answers)
            try:  # a post of an account with no answer: a KeyError; past the end: shorter
                for done in range(0, len(post_ids), _BLOCK):
                    turns = accounts[done : done + _BLOCK]
                    if list(map(next, map(posts, turns))) != list(post_ids[done : done + _BLOCK]):
                        break
                    yield map(next, map(made, turns))
                else:
                    return
            except KeyError:
                pass
        line = dict(
            zip(
                chain.from_iterable(answered for _, answered, _ in self._answers),
                chain.from_iterable(lines for _, _, lines in self._answers),
                strict=True,
            )
        ).get
        for start in range(done, len(post_ids), _BLOCK):
            yield map(line, post_ids[start : start + _BLOCK], repeat(""))  # no answer: no line

    def _put(
        self,
        answers: Mapping[str, Mapping[str, Any]],
        account: str | None,
        counts: str,
        joined: Joined | None = None,
    ) -> None:
        posts = list(answers)
        if not posts:
            return
        lines, times = self._lines_for(account, counts)
        made = None if joined is None else lines.of_joined(joined, [posts] * times)
        if made is None:
            made = lines.of_answer(list(answers.values()), [posts] * times)
        self._answers.append((account, posts, made))
        self._count += len(posts)

    def _lines_for(self, account: str | None, counts: str) -> tuple[_Lines, int]:
        key = (account, counts)
        found = self._formats.get(key)
        if found is None:
            head, times = self._shape.head_of(account)
            found = self._formats[key] = (self._shape.lines(head, counts), times)
        return found


def _write_table(
    out: IO[str],
    table: MetricTable,
    rows: Sequence[int],
    metrics: Sequence[str],
    names: Sequence[str],
    owner: Mapping[str, str],
) -> None:
    def cells() -> Iterator[list[object]]:  # read twice: widths, then lines
        for pid, values in table.values_of(rows, metrics):
            yield [pid, owner.get(pid, "public"), *values]

    width = shutil.get_terminal_size().columns if out.isatty() else None  # no line wraps
    values = range(2, 2 + len(names))  # every column but the post and its account
    for line in table_lines(["post", "account", *names], cells, width, keep=2, numbers=values):
        out.write(line + "\n")


# How to write the answers of one set of metric names: the values to read, in column
# order (API metrics, then the rate's numerator and denominator), as a getter and as
# names, the rate's position among the values shown (None: no rate), and the ``%``
# format of the whole line.
_Plan = tuple[Callable[[Mapping[str, Any]], tuple[Any, ...]], tuple[str, ...], int | None, str]


class _Lines:
    """Each row as one line, by one ``%`` format: the row's head fields (``head``, a
    ``%s`` format), its values (counts as whole numbers: ``%.15g`` prints 47.0 as 47, or
    as given by ``counts``; rates to six significant digits; unknown values as
    ``unknown``), then ``end``. The format for each set of metrics an answer holds is
    built once, so a row costs one look-up, one ``itemgetter`` and one ``%``; account
    names, metric names and post IDs never need quoting (they are letters, digits, '-'
    and '_')."""

    def __init__(
        self,
        metrics: Sequence[str],
        labels: Sequence[str],
        unknown: str,
        separator: str,
        head: str,
        end: str,
        counts: str = "%.15g",
    ) -> None:
        self._metrics = list(metrics)
        self._specs = [
            label.replace("%", "%%") + ("%.6g" if m in DERIVED else counts)
            for m, label in zip(metrics, labels, strict=True)
        ]
        self._unknown = [label.replace("%", "%%") + unknown for label in labels]
        self._separator = separator
        self._head, self._end = head, end.replace("%", "%%")
        self._formats: dict[tuple[bool, ...], str] = {}
        self._plans: dict[tuple[str, ...], _Plan] = {}
        self._labels, self._texts = list(labels), counts == "%s"
        self._joined: dict[tuple[str, ...], _JoinedPlan | None] = {}

    def of(
        self, heads: Iterable[tuple[str, ...]], answers: Iterable[Mapping[str, Any] | None]
    ) -> Iterator[str]:
        """The line of each row (an answer None: no answer, every value unknown)."""
        plans = self._plans
        for head, values in zip(heads, answers, strict=True):
            if values is None:
                values = _NOTHING
            keys = tuple(values)
            read, _, rate_at, fmt = plans.get(keys) or self._plan(keys)
            got = read(values)
            if rate_at is not None:  # put the rate in its place (counts: numbers or texts)
                try:
                    got = (*got[:rate_at], float(got[-2]) / float(got[-1]), *got[rate_at:-2])
                except ZeroDivisionError:  # a rate of nothing: unknown, as ``values_of`` says
                    yield self._row(head, values)
                    continue
            yield fmt % (head + got)

    def of_answer(
        self, values: Sequence[Mapping[str, Any]], heads: Sequence[Sequence[str]]
    ) -> list[str]:
        """``of`` the posts of one answer, their head fields given as columns: when they
        all hold the same metrics (the usual answer) in a C-level pass per column and
        one ``%`` a post, instead of a tuple built for each."""
        if not values:
            return []
        keys = tuple(values[0])
        _, names, rate_at, fmt = self._plans.get(keys) or self._plan(keys)
        if not self._same_metrics(keys, names, values):
            return list(self.of(zip(*heads, strict=True), values))
        try:  # a post without one of the first's metrics: a KeyError, then row by row
            if rate_at is None:
                columns: list[Iterable[Any]] = [map(itemgetter(n), values) for n in names]
            else:
                denominators = list(map(float, map(itemgetter(names[-1]), values)))
                if 0.0 in denominators:  # a rate of nothing: unknown, row by row
                    return list(self.of(zip(*heads, strict=True), values))
                numerators = map(float, map(itemgetter(names[-2]), values))
                columns = [map(itemgetter(n), values) for n in names[:-2]]
                columns.insert(rate_at, map(truediv, numerators, denominators))
            # made here, not as the caller takes them: the KeyError is caught, and a list
            # goes into the caller's dict faster than a lazy map (0.015 s for 100,000)
            return list(map(fmt.__mod__, zip(*heads, *columns, strict=True)))
        except KeyError:
            return list(self.of(zip(*heads, strict=True), values))

    def of_joined(self, joined: Joined, heads: Sequence[Sequence[str]]) -> list[str] | None:
        """``of_answer`` from the parse's ``EngagementResult.joined`` (the metrics every
        post holds, each post's counts joined by commas), when a line holds them as they
        are: CSV, counts as sent, the columns in the metrics' order with no other between
        them but the rate, whose counts come before it (the default columns). Each post's
        text goes into its line whole, or split once where the rate goes in: the counts
        are not picked from the answer again, and the ``%`` has fewer fields; else None."""
        metrics, each = joined
        plan = self._joined.get(metrics, _UNPLANNED)
        if plan is _UNPLANNED:
            plan = self._joined_plan(metrics)
            if len(self._joined) < _MAX_PLANS:
                self._joined[metrics] = plan
        if plan is None:
            return None
        fmt, cut, numerator, denominator = plan
        if not cut:
            return list(map(fmt.__mod__, zip(*heads, each, strict=True)))
        # each place's parts of all posts at once (``zip`` of the split texts, every post
        # holding every metric); a rate's counts by ``float``: whole numbers of at most
        # 15 digits are exact as floats, so the quotient is the one ``values_of`` gives
        split = map(str.split, each, repeat(","), repeat(cut))
        fields: list[Iterable[Any]] = list(zip(*split, strict=True))
        denominators = list(map(float, fields[denominator]))
        if 0.0 in denominators:  # a rate of nothing: unknown, as ``of_answer`` writes it
            return None
        fields.insert(cut, map(truediv, map(float, fields[numerator]), denominators))
        return list(map(fmt.__mod__, zip(*heads, *fields, strict=True)))

    def _joined_plan(self, metrics: tuple[str, ...]) -> _JoinedPlan | None:
        """How ``of_joined`` makes the lines of posts holding ``metrics``: the line's
        ``%`` format, where each post's text is split (0: not), and the places of the
        rate's counts in it; None when a line does not hold the text as it is."""
        if not (self._separator == "," and self._texts and not any(self._labels)):
            return None
        _, names, rate_at, fmt = self._plans.get(metrics) or self._plan(metrics)
        values = fmt[len(self._head) : len(fmt) - len(self._end)]
        count = len(metrics)
        if rate_at is None and names == metrics:
            run, cut, places = ["%s"] * count, 0, (0, 0)
        elif rate_at is not None and names[:-2] == metrics and 0 < rate_at < count:
            places = (metrics.index(names[-2]), metrics.index(names[-1]))
            if max(places) >= rate_at:  # a count of the rate after it: not split apart
                return None
            run, cut = ["%s"] * rate_at + ["%.6g"] + ["%s"] * (count - rate_at), rate_at
        else:
            return None
        fields = [*run[: cut + 1], "%s"] if cut else ["%s"]  # the text whole, or cut
        one = values.replace(",".join(run), ",".join(fields), 1)
        if one.count("%") != len(fields):  # other columns between the counts
            return None
        return self._head + one + self._end, cut, *places

    @staticmethod
    def _same_metrics(
        keys: tuple[str, ...], names: tuple[str, ...], values: Sequence[Mapping[str, Any]]
    ) -> bool:
        """Whether the posts of an answer may all be read by the first one's plan, as far
        as can be told without a tuple of each post's metrics: when every metric of the
        first is read and every post holds as many, a post lacking one of them raises a
        KeyError when read, so one that holds others too cannot pass unseen (0.004 s
        against 0.016 for comparing 100,000 posts' tuples); else each post is compared."""
        if set(names) == set(keys):
            return sum(map(len, values)) == len(keys) * len(values)
        return all(map(keys.__eq__, map(tuple, values)))

    def _plan(self, keys: tuple[str, ...]) -> _Plan:
        present = set(keys)
        known: list[bool] = []
        reads: list[str] = []
        rate: tuple[str, str] = ("", "")
        rate_at: int | None = None
        for metric in self._metrics:  # columns name each metric once, so one rate at most
            pair = DERIVED.get(metric)
            if pair is None:
                known.append(metric in present)
                reads += [metric] if metric in present else []
            elif pair[0] in present and pair[1] in present:
                rate, rate_at = pair, sum(known)  # its place among the values shown
                known.append(True)
            else:
                known.append(False)
        if rate_at is not None:
            reads += rate
        plan = (_getter(reads), tuple(reads), rate_at, self._format(tuple(not k for k in known)))
        if len(self._plans) < _MAX_PLANS:
            self._plans[keys] = plan
        return plan

    def _row(self, head: tuple[str, ...], values: Mapping[str, Any]) -> str:
        """The exact, slow way: ``MetricTable.values_of`` of one answer."""
        row: list[float | None] = []
        for metric in self._metrics:
            pair = DERIVED.get(metric)
            if pair is None:
                row.append(values.get(metric))
            else:
                a, b = values.get(pair[0]), values.get(pair[1])
                denominator = 0.0 if b is None else float(b)  # counts: numbers or texts
                row.append(float(a) / denominator if a is not None and denominator else None)
        gaps = tuple([v is None for v in row])
        return self._format(gaps) % (*head, *[v for v in row if v is not None])

    def _format(self, gaps: tuple[bool, ...]) -> str:
        fmt = self._formats.get(gaps)
        if fmt is None:
            parts = zip(self._specs, self._unknown, gaps, strict=True)
            numbers = self._separator.join(u if g else s for s, u, g in parts)
            fmt = self._formats[gaps] = self._head + numbers + self._end
        return fmt


# how ``_Lines.of_joined`` makes lines: the format, where each post's joined counts are
# split (0: not), and the places of the rate's numerator and denominator among the parts
_JoinedPlan = tuple[str, int, int, int]
_UNPLANNED: Any = object()
_NOTHING: Mapping[str, float] = {}
_BLOCK = 4096  # lines joined into one write
_MAX_PLANS = 256  # sets of metrics remembered; answers hold one or two


def _turns(
    parts: Iterable[tuple[str | None, Iterable[str]]],
) -> Callable[[str | None], Iterator[str]]:
    """Each account's ``parts``, in the order given, as one iterator an account: the
    next of an account's is ``next(turns(account))`` (a KeyError if it has none)."""
    given: dict[str | None, list[Iterable[str]]] = {}
    for account, part in parts:
        given.setdefault(account, []).append(part)
    return {account: chain.from_iterable(each) for account, each in given.items()}.__getitem__


def _getter(names: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """``itemgetter`` that always returns a tuple (of 0, 1 or more values)."""
    if len(names) > 1:
        return itemgetter(*names)
    one = itemgetter(*names) if names else None

    def get(values: Mapping[str, Any]) -> tuple[Any, ...]:
        return () if one is None else (one(values),)

    return get


def check_output(path: str, flag: str = "--output") -> Path:
    """The path of ``flag`` (a file to write), refused before any request is sent if it
    cannot be written or names a workbook: for a symbolic link, where the write puts the
    file (``followed``), link and target named."""
    target, shown = Path(path), shown_path(path)
    if target.is_dir():
        raise UsageError(f"{flag} {shown}: it is a directory; give a file name")
    if target.suffix.lower() in _WORKBOOKS:  # text in it would not open as the name promises
        raise UsageError(
            f"{flag} {shown}: metrics writes no workbook: name it "
            f"{shown_path(str(target.with_suffix('.csv')))}, "
            "which Excel, LibreOffice and Google Sheets open, the IDs kept as text"
        )
    try:
        real = followed(target)
    except OSError as exc:  # a loop of links (one to a directory is a directory above)
        raise UsageError(f"{flag} {shown}: its links lead back to it ({exc.strerror})") from None
    named = shown if real == target else f"{shown} (a link to {shown_path(str(real))})"
    parent = real.parent if str(real.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(
            f"{flag} {named}: directory {shown_path(str(parent))} does not exist: create it "
            "first, or give a file in a directory that exists"
        )
    if not os.access(parent, os.W_OK):
        raise UsageError(
            f"{flag} {named}: cannot write in {shown_path(str(parent))}: give a file in a "
            "directory you may write in"
        )
    return target
