"""``automation metrics``: engagement of any list of posts, with the top N by a metric.

Reads the IDs (a file, standard input, ``--account`` timelines), runs the export
(``automation.export``) and writes the rows. Everything the user should know that is not
a row goes to stderr: skipped input lines with their numbers, posts the API could not
read with its reason (on a terminal the first ``SHOWN`` of each reason, the rest counted;
``--unavailable FILE`` writes them all), requests that failed. Exit 0 when the rows were
written, even if lines were skipped; 1 when requests failed for good (a rerun reads just
those); 130 on Ctrl-C, after saying how to resume.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from time import sleep
from typing import IO, TYPE_CHECKING, Any, NoReturn

from automation.cli.args import positive
from automation.cli.context import now, required_config
from automation.cli.metrics_output import (
    FORMATS,
    StreamedRows,
    check_output,
    format_for,
    write_rows,
)
from automation.cli.progress_bar import PlanNote, ProgressBar
from automation.config.atomic_file import atomic_output
from automation.core.errors import UsageError
from automation.core.facts import post_created_at
from automation.core.metric_columns import choose_columns
from automation.core.metric_names import canonical
from automation.core.metric_table import MetricTable
from automation.core.periods import Period, parse_period
from automation.core.post_ids import (
    ROUNDED_FIX,
    PostIdList,
    read_post_ids,
    rounded_by_spreadsheet,
)
from automation.core.wording import shown_path

if TYPE_CHECKING:
    from automation.config.model import Config
    from automation.export.job import ExportJob, ExportResult

__all__ = ["register", "run"]

SHOWN = 20  # posts of each reason the API could not read a terminal shows; the rest counted


def register(sub: Any) -> None:
    p = sub.add_parser(
        "metrics",
        help="engagement of any list of posts, now or over a period; top N",
        description="Current totals of any list of posts (owned posts with every metric, "
        "others with the public ones), or owned posts' sums over a period, as a table, "
        "CSV or JSON lines.",
    )
    p.add_argument(
        "--ids",
        metavar="FILE|-",
        help=(
            "post IDs one a line, or a CSV with an id, tweet_id, post_id or url column ('-': stdin)"
        ),
    )
    p.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="NAME",
        help="add this owned account's posts (repeatable)",
    )
    p.add_argument("--since", metavar="D", help="sum over the last D (30d, 12h): owned posts")
    p.add_argument("--from", dest="start", metavar="T", help="sum from this date or UTC time")
    p.add_argument("--to", dest="end", metavar="T", help="... to this one (a date: its end)")
    p.add_argument("--metrics", metavar="M,...", help="metrics to show (names or aliases)")
    p.add_argument("--top", type=positive, metavar="N", help="only the N highest --by")
    p.add_argument("--by", metavar="M", help="order by this metric, highest first")
    p.add_argument("--format", choices=FORMATS, help="default: table (or --output's suffix)")
    p.add_argument(
        "--output", metavar="FILE", help="write here, atomically (default, or '-': stdout)"
    )
    p.add_argument(
        "--unavailable",
        metavar="FILE",
        help="write every post the API could not read here, with its reason (CSV: id,reason); "
        f"a terminal shows the first {SHOWN} of each reason",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.ids is None and not args.account:
        raise UsageError(
            "metrics needs posts: --ids FILE (or --ids - for standard input) and/or --account NAME"
        )
    if args.top is not None and args.by is None:
        raise UsageError("--top N needs --by METRIC, the metric to rank by")
    for flag, value, stream in (("--ids", args.ids, "input"), ("--output", args.output, "output")):
        if value == "":
            raise UsageError(f"{flag} needs a file name ('-': standard {stream})")
    if args.unavailable == "":
        raise UsageError("--unavailable needs a file name")
    output = None if args.output == "-" else args.output  # '-': standard output, as for --ids
    fmt = format_for(args.format, output)
    target = check_output(output) if output is not None else None
    _check_streams(args.ids, target)
    listing = check_output(args.unavailable, "--unavailable") if args.unavailable else None
    period = parse_period(since=args.since, start=args.start, end=args.end, now=now())
    columns = choose_columns(args.metrics, by=args.by, period=period is not None)
    by = canonical(args.by) if args.by is not None else None
    config = required_config(args, secrets="required")
    unknown = [a for a in args.account if config.account(a) is None]
    if unknown:
        known = ", ".join(sorted(config.account_names())) or "none configured"
        raise UsageError(f"--account {unknown[0]}: no such owned account (known: {known})")
    _check_timeline_period(period, args.account)
    listed = _read_ids(args.ids) if args.ids is not None else PostIdList(())
    _report_input(args.ids, listed)
    if args.ids is not None and not listed.ids:
        _refuse_empty(args.ids, listed)
    from automation.export.job import ExportJob

    asked = f"{args.since}|{args.start}|{args.end}" if period is not None else ""
    job = ExportJob(listed.ids, tuple(dict.fromkeys(args.account)), columns, period, asked)
    # rows in the order listed, no aligned table: each answer is made into lines as it
    # arrives, and no table of values is kept
    streamed = StreamedRows(fmt, columns, period) if fmt != "table" and by is None else None

    def deliver(result: ExportResult) -> None:
        with _destination(target) as out:
            if streamed is not None:
                count = len(streamed)
                write_lines(out, streamed, result.table.post_ids, result.accounts)
            else:
                rows = result.table.ranked(by, args.top) if by else list(result.table.rows_read())
                count = len(rows)
                write_rows(out, fmt, result.table, rows, columns, result.owner, job.period)
        if target is not None:
            plural = "" if count == 1 else "s"
            print(f"wrote {count:,} row{plural} to {shown_path(str(target))}", file=sys.stderr)
        if by is not None:
            _report_unranked(result.table, by, args.by)

    result = _export(job, config, deliver, streamed)
    if result is None:
        return 130
    _report_result(result, period, listing)
    return 0 if result.complete else 1


def _check_timeline_period(period: Period | None, accounts: Sequence[str]) -> None:
    """Refuse, before any request, to read timelines over a period that ends before X's
    timelines begin: none of it can be asked for. One that only starts earlier reads
    from their beginning (``XClient.discover``)."""
    if period is None or not accounts:
        return
    from automation.x.v2_client import EARLIEST_TIMELINE

    if period.end <= EARLIEST_TIMELINE:
        raise UsageError(
            f"--account reads timelines, which X serves from {EARLIEST_TIMELINE:%Y-%m-%d} on, "
            f"and the period ends at {period.end:%Y-%m-%d %H:%M} UTC: choose a later period"
        )


def _check_streams(ids: str | None, target: Path | None) -> None:
    """Standard input or output the command would use but that was closed (``<&-``,
    ``>&-``): refused before any request, not found missing once the rows are read."""
    if ids == "-" and sys.stdin is None:
        raise UsageError(
            "--ids -: standard input is closed; pipe the post IDs in or give --ids FILE"
        )
    if target is None and sys.stdout is None:
        raise UsageError("standard output is closed: give --output FILE for the rows")


def _read_ids(source: str) -> PostIdList:
    name = shown_path(source)
    try:
        if source == "-":
            if sys.stdin.isatty():  # typed by hand: say how to end, or it seems to hang
                print("reading post IDs, one a line; end with Ctrl-D", file=sys.stderr)
            if isinstance(sys.stdin, io.TextIOWrapper):
                sys.stdin.reconfigure(errors="replace")  # read as the files are, below
            return read_post_ids(sys.stdin)
        # Text not UTF-8 (Windows-1252, as Excel's "CSV" saves on Windows) is read with
        # its undecodable bytes replaced: IDs are ASCII digits, which any ASCII-based
        # encoding writes as UTF-8 does, and the other columns are not read
        with Path(source).open(encoding="utf-8-sig", errors="replace", newline="") as file:
            return read_post_ids(file)
    except UsageError as exc:
        raise UsageError(f"--ids {name}: {exc}") from None
    except FileNotFoundError:
        raise UsageError(f"--ids {name}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"--ids {name}: it is a directory; give a file of post IDs") from None
    except OSError as exc:
        raise UsageError(f"--ids {name}: cannot read it: {exc.strerror}") from None


def _refuse_empty(source: str, listed: PostIdList) -> NoReturn:
    """Refuse a list that gave no post ID: its lines were each skipped (and said so), or
    it holds none at all."""
    name, skipped = shown_path(source), len(listed.skipped)
    if skipped == 1:
        raise UsageError(
            f"--ids {name}: its one line holds no usable post ID (it is reported above); "
            "fix it and run the command again"
        )
    if skipped:
        raise UsageError(
            f"--ids {name}: none of its {skipped:,} lines holds a usable post ID (each is "
            "reported above); fix them and run the command again"
        )
    raise UsageError(
        f"--ids {name}: no post ID in it; give one ID or post link a line, or a CSV "
        "with an id, tweet_id, post_id or url column"
    )


def _report_unranked(table: MetricTable, metric: str, name: str) -> None:
    """Say how many posts a ranking left out: those whose ``metric`` is unknown."""
    unknown = sum(
        1
        for row in table.rows_read()
        if (value := table.value(row, metric)) is None or math.isnan(value)
    )
    if unknown:
        has, are = ("has", "is") if unknown == 1 else ("have", "are")
        print(
            f"{unknown:,} post{'s' if unknown > 1 else ''} {has} no {name} value and {are} left "
            f"out of the ranking (leave out --by to list every post)",
            file=sys.stderr,
        )


def _report_input(source: str | None, listed: PostIdList) -> None:
    name = "<stdin>" if source is None or source == "-" else shown_path(source)
    for skip in listed.skipped:
        shown = skip.text if len(skip.text) <= 40 else skip.text[:37] + "..."
        print(f"{name}:{skip.line}: skipped {shown!r}: {skip.reason}", file=sys.stderr)
    if listed.duplicates:
        plural = "s" if listed.duplicates > 1 else ""
        print(f"{name}: ignored {listed.duplicates:,} repeated ID{plural}", file=sys.stderr)


def write_lines(
    out: IO[str],
    streamed: StreamedRows,
    post_ids: Sequence[str],
    accounts: Sequence[str | None],
) -> None:
    """Write the lines ``streamed`` made, in the order of ``post_ids`` (``accounts``:
    the account each was planned with)."""
    streamed.write(out, post_ids, accounts)


def _export(
    job: ExportJob,
    config: Config,
    deliver: Callable[[ExportResult], None],
    rows: StreamedRows | None,
) -> ExportResult | None:
    """Run the export with a progress bar on a terminal (elsewhere a line before a wait for
    the budget), ``deliver`` writing its result, the values going to ``rows`` if given;
    None after Ctrl-C."""
    from automation.engine.gc_pause import collector_paused
    from automation.export.job import Interrupted, run_export
    from automation.store.opening import open_store
    from automation.x.http import HttpClient

    progress: _ExportBar | PlanNote = (
        _ExportBar(sys.stderr)
        if sys.stderr.isatty()
        else PlanNote(sys.stderr, config.engagement_api.requests_per_minute)
    )
    try:
        with (
            _budget_notes_left_out(),
            collector_paused(),
            open_store(config.database, migrate=config.migrate) as store,
            HttpClient(timeout=config.engagement_api.timeout) as http,
        ):
            return run_export(
                job,
                config=config,
                store=store,
                http=http,
                clock=now,
                sleep=sleep,
                progress=progress,
                deliver=_after(progress.close, deliver),
                rows=rows,
            )
    except KeyboardInterrupt as exc:
        progress.close()
        how_far = (
            f" after {exc.done:,} of {exc.planned:,} requests"
            if isinstance(exc, Interrupted)
            else ""
        )
        print(
            f"automation: interrupted{how_far}; what was fetched is kept for a day: run the "
            "same command again to resume",
            file=sys.stderr,
        )
        return None
    finally:
        progress.close()


class _ExportBar(ProgressBar):
    """The bar, saying first where the requests a resumed run does not send again were
    answered (the report at the end says it again)."""

    def resuming(self, resumed: int, planned: int, earlier: str) -> None:
        self.line(f"resuming: {resumed:,} of {planned:,} requests came from {_EARLIER[earlier]}")


@contextmanager
def _budget_notes_left_out() -> Iterator[None]:
    """Leave out the API client's informational lines (waiting for the request budget):
    on a terminal the progress bar says the same, elsewhere nothing extra is written.
    Its warnings and errors still show."""
    api = logging.getLogger("automation.api")
    level = api.level
    api.setLevel(logging.WARNING)
    try:
        yield
    finally:
        api.setLevel(level)


def _after(
    first: Callable[[], None], then: Callable[[ExportResult], None]
) -> Callable[[ExportResult], None]:
    """``then``, once ``first`` ran (the progress bar is erased before output is written)."""

    def both(result: ExportResult) -> None:
        first()
        then(result)

    return both


@contextmanager
def _destination(target: Path | None) -> Iterator[IO[str]]:
    if target is None:
        yield sys.stdout
        return
    try:
        with atomic_output(target) as out:
            yield out
    except OSError as exc:
        link = f" (a link to {shown_path(os.path.realpath(target))})" if target.is_symlink() else ""
        raise UsageError(
            f"--output {shown_path(str(target))}{link}: cannot write it: {exc.strerror}; "
            "what was fetched is kept for a day: run the same command again once it can be written"
        ) from None


# how the run whose answers a rerun reused ended (``ExportResult.earlier``)
_EARLIER = {
    "interrupted": "an interrupted run of this command",
    "unwritten": "an earlier run of this command, kept after its output could not be written",
    "incomplete": "an earlier run of this command, kept after some of its requests failed",
}


def _report_result(result: ExportResult, period: Period | None, listing: Path | None) -> None:
    say = sys.stderr.write
    if period is not None:
        say(f"sums over {period.text()} ({period.hours:,} hours)\n")
        later = sum(1 for post_id in result.owner if post_created_at(post_id) >= period.end)
        if later:
            say(
                f"{later:,} owned post{'s were' if later > 1 else ' was'} written after the "
                "period: nothing to sum, so the values are 0; choose a later period\n"
            )
    if result.resumed:
        say(
            f"resumed: {result.resumed:,} of {result.planned:,} requests came from "
            f"{_EARLIER[result.earlier]}\n"
        )
    for note in result.notes:
        say(f"note: {note}\n")
    _report_problems(result, listing)
    for message in result.errors:
        say(f"the API also said: {message}\n")
    for message, posts in result.failed:
        say(f"failed for good ({posts:,} posts not read): {message}\n")
    if result.failed:
        say("run the same command again to read what failed; the rest is kept for a day\n")


def _report_problems(result: ExportResult, listing: Path | None) -> None:
    """The posts the API could not read, in the order given, under each reason with their
    count: every one of them when stderr is not a terminal (scripts read it whole), on a
    terminal the first ``SHOWN`` of each reason. ``listing``: a CSV of them all."""
    problems = result.problems
    given = {post_id: n for n, post_id in enumerate(result.table.post_ids) if post_id in problems}
    ordered = sorted(problems, key=lambda post_id: given.get(post_id, len(given)))
    if listing is not None:
        _write_listing(listing, ordered, problems)
    by_reason: dict[str, list[str]] = {}
    for post_id in ordered:
        by_reason.setdefault(problems[post_id], []).append(post_id)
    shown = SHOWN if sys.stderr.isatty() else len(ordered)
    say = sys.stderr.write
    for reason, post_ids in by_reason.items():  # in the order given
        count = len(post_ids)
        say(f"{count:,} post{'s' if count > 1 else ''}: {reason}:\n")
        say("".join(f"  {post_id}\n" for post_id in post_ids[:shown]))
        if count > shown:
            say(f"  ... and {count - shown:,} more\n")
        rounded = sum(map(rounded_by_spreadsheet, post_ids))
        if rounded:
            them = "it ends" if count == 1 else f"{rounded:,} of them end"
            say(f"  {them} in zeros, as IDs a spreadsheet rounded to 15 digits do: {ROUNDED_FIX}\n")
    left = sum(max(0, len(post_ids) - shown) for post_ids in by_reason.values())
    if listing is not None:
        plural = "" if len(ordered) == 1 else "s"
        say(
            f"wrote {len(ordered):,} post{plural} the API could not read to "
            f"{shown_path(str(listing))}\n"
        )
    elif left:
        say(f"{left:,} not shown: --unavailable FILE writes them all, with their reasons\n")


def _write_listing(listing: Path, ordered: Sequence[str], problems: Mapping[str, str]) -> None:
    """``--unavailable``'s CSV: each post's ID (in the form ``--output``'s CSV writes it,
    which spreadsheets keep as text and ``--ids`` reads back) and the API's reason."""
    try:
        with atomic_output(listing) as out:
            lines = csv.writer(out, lineterminator="\n")
            lines.writerow(["id", "reason"])
            lines.writerows([f'="{post_id}"', problems[post_id]] for post_id in ordered)
    except OSError as exc:
        raise UsageError(
            f"--unavailable {shown_path(str(listing))}: cannot write it: {exc.strerror}"
        ) from None
