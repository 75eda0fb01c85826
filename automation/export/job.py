"""One ``metrics`` export from start to end: which posts are owned; their current totals
in the fewest ``/totals`` requests, the answers saved as they arrive (a second's worth
in one transaction, and all of them on Ctrl-C) so a rerun resumes, or their sums over
a period (``period_sums``); all within the per-minute budget the engine keeps in the
database.

Everything that touches the world is passed in (config, store, HTTP client, clock,
sleep, progress), so tests run an export against respx or the sandbox on a fake clock.
The command line only reads the input and prints the result.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from automation.config.model import Config
from automation.core.errors import UsageError
from automation.core.metric_columns import Column, api_metrics
from automation.core.metric_table import MetricTable
from automation.core.periods import Period
from automation.core.request_eta import request_eta
from automation.export.ownership import Owners, find_owners, owners_from_column
from automation.export.period_sums import sum_period
from automation.export.saved_parts import SavedParts, part_name, run_key
from automation.export.tally import Rows, TableRows, Tally
from automation.service.api_clients import engagement_client, timeline_client
from automation.store.base import Store
from automation.x.engagement_client import EngagementClient
from automation.x.engagement_plan import EngagementRequest, plan_totals
from automation.x.http import HttpClient
from automation.x.rate_budget import RateBudget

__all__ = ["ExportJob", "ExportResult", "Interrupted", "Progress", "run_export"]

# the split, as a code an account for each listed, then added post ("owned", the earlier
# record of every owned post's ID and account, is not read: its run finds it again)
_SPLIT_PART = "split"
# how the last try that got as far as its result ended, when its parts were kept for a
# rerun: "unwritten" (its output could not be written) or "incomplete" (requests failed);
# none: interrupted by Ctrl-C
_ENDED_PART = "ended"


class Progress(Protocol):
    """Where an export reports how far it is (a progress bar, or nothing)."""

    def update(self, done: int, planned: int, eta: Callable[[], float]) -> None:
        """``done`` of ``planned`` requests; ``eta()`` computes seconds left when asked."""
        ...

    def waiting(self, seconds: float) -> None:
        """The next request waits ``seconds`` for the request budget."""
        ...

    def resuming(self, resumed: int, planned: int, earlier: str) -> None:
        """Before the first update: ``resumed`` of ``planned`` requests were answered by an
        earlier try of the run, which ended as ``earlier`` (``ExportResult.earlier``)."""
        ...


@dataclass(frozen=True)
class ExportJob:
    """What the command asked for. ``listed``: post IDs in the order given, each once."""

    listed: tuple[str, ...]
    add_accounts: tuple[str, ...]
    columns: tuple[Column, ...]
    period: Period | None
    period_text: str = ""  # the period as the user gave it: part of the run's identity

    def key(self) -> str:
        metrics = sorted(api_metrics(self.columns))
        return run_key(self.listed, self.add_accounts, metrics, self.period_text)


@dataclass(frozen=True)
class ExportResult:
    """``table`` rows: the listed posts, then those the ``--account`` timelines added.
    ``accounts``: the account each row's post was planned with (None: public)."""

    table: MetricTable
    accounts: Sequence[str | None]
    owner: Mapping[str, str]
    problems: Mapping[str, str]
    notes: tuple[str, ...]
    errors: tuple[str, ...]
    failed: tuple[tuple[str, int], ...]
    planned: int
    resumed: int
    sent: int
    earlier: str = "interrupted"  # how the try whose answers were resumed ended (above)

    @property
    def complete(self) -> bool:
        return not self.failed


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during an export: how far it got (what was fetched is saved)."""

    def __init__(self, done: int, planned: int) -> None:
        super().__init__(done, planned)
        self.done, self.planned = done, planned


def run_export(
    job: ExportJob,
    *,
    config: Config,
    store: Store,
    http: HttpClient,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
    progress: Progress,
    deliver: Callable[[ExportResult], None] = lambda result: None,
    rows: Rows | None = None,
) -> ExportResult:
    """Run the export and hand the result to ``deliver`` (which writes it). What was
    fetched is forgotten only once it is delivered complete, so Ctrl-C at any moment,
    writing included, leaves it saved; fetching, it raises ``Interrupted``. With
    ``rows``, the posts' values go there as they arrive, current counts as the API wrote
    them when it wrote them plainly, and the result's table stays empty."""
    now = clock()
    saved = SavedParts(store, job.key(), now)
    owners = _owners(job, saved, store, config, http, clock, sleep, now)
    ids = [*job.listed, *owners.added]
    table = MetricTable(ids)
    tally = Tally(table, dict(owners.owner), TableRows(table) if rows is None else rows)
    if job.period is not None and ids and not tally.owner:
        raise _no_owned_post(len(ids), config)

    def pause(seconds: float) -> None:
        progress.waiting(seconds)
        sleep(seconds)

    client = engagement_client(config, store, http, clock=clock, sleep=pause)
    meter = _Meter(progress, client.budget, clock)
    metrics = api_metrics(job.columns)
    resumed = 0
    earlier = saved.text(_ENDED_PART) or "interrupted"
    try:
        if job.period is None:
            # streamed rows are written out as sent: no number read and printed back
            requests = plan_totals(ids, owners.accounts, metrics, texts=rows is not None)
            resumed = _fetch(requests, client, saved, tally, clock, meter, earlier)
        else:
            sum_period(
                job.period,
                metrics,
                tally=tally,
                client=client,
                store=store,
                now=now,
                progress=meter,
            )
    except KeyboardInterrupt:
        raise Interrupted(meter.done, meter.planned) from None
    result = _result(tally, owners, meter.planned, resumed, earlier)
    _deliver(result, deliver, saved, clock)
    return result


def _deliver(
    result: ExportResult,
    deliver: Callable[[ExportResult], None],
    saved: SavedParts,
    clock: Callable[[], datetime],
) -> None:
    """Deliver the result, then forget the run's parts if it is complete, else record
    why they are kept (``_ENDED_PART``)."""
    try:
        deliver(result)
    except Exception:  # Ctrl-C is not recorded: the rerun says it resumes an interrupted run
        saved.save_text(_ENDED_PART, "unwritten", clock())
        raise
    if result.complete:
        saved.finish()
    else:
        saved.save_text(_ENDED_PART, "incomplete", clock())


def _result(tally: Tally, owners: Owners, planned: int, resumed: int, earlier: str) -> ExportResult:
    return ExportResult(
        table=tally.table,
        accounts=owners.accounts,
        owner=tally.owner,
        problems=tally.problems,
        notes=owners.notes,
        errors=tuple(tally.errors),
        failed=tuple(tally.failed),
        planned=planned,
        resumed=resumed,
        sent=tally.sent,
        earlier=earlier,
    )


def _no_owned_post(count: int, config: Config) -> UsageError:
    names = ", ".join(a.name for a in config.accounts) or "none configured"
    return UsageError(
        f"none of the {count:,} posts is owned by a configured account ({names}): the "
        "Engagement API keeps history only for owned posts; leave out --since/--from "
        "for their current totals"
    )


class _Meter:
    """Passes progress on with an ETA paced by the shared budget and by the time the
    requests sent so far took."""

    def __init__(self, progress: Progress, budget: RateBudget, clock: Callable[[], datetime]):
        self._progress, self._budget, self._clock = progress, budget, clock
        self.done = self.planned = 0
        self._first: int | None = None
        self._started = clock()

    def __call__(self, done: int, planned: int) -> None:
        if self._first is None:
            self._first, self._started = done, self._clock()
        self.done, self.planned = done, planned
        self._progress.update(done, planned, self.eta)

    def resuming(self, resumed: int, planned: int, earlier: str) -> None:
        self._progress.resuming(resumed, planned, earlier)

    def eta(self) -> float:
        sent = self.done - (self._first or 0)
        each = (self._clock() - self._started).total_seconds() / sent if sent else 0.0
        return request_eta(
            self.planned - self.done,
            available_now=self._budget.remaining(),
            per_minute=self._budget.allowance,
            seconds_each=each,
        )


def _owners(
    job: ExportJob,
    saved: SavedParts,
    store: Store,
    config: Config,
    http: HttpClient,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
    now: datetime,
) -> Owners:
    """The owned/public split, as saved by an earlier try of this run, else found now."""
    text = saved.text(_SPLIT_PART)
    if text is not None:
        return _saved_split(job.listed, text)
    known = store.post_accounts(job.listed)
    timeline = timeline_client(config, http, clock=clock)
    owners = find_owners(
        job.listed,
        known=known,
        accounts=[a.name for a in config.accounts],
        add_accounts=job.add_accounts,
        period=job.period,
        timeline=timeline,
        now=now,
        sleep=sleep,
    )
    saved.save_text(_SPLIT_PART, _split_record(owners), now)
    return owners


def _split_record(owners: Owners) -> str:
    """The split as the accounts' names and a code each post ("0": public, "1": the
    first name): the listed IDs are the run's own, and are not written again."""
    names = sorted(set(owners.owner.values()))
    code: dict[str | None, str] = {None: "0"}
    code.update((name, str(number)) for number, name in enumerate(names, start=1))
    record = {
        "names": names,
        "column": ",".join(map(code.__getitem__, owners.accounts)),  # one text, not a list
        "added": owners.added,
        "told": owners.told,
        "notes": owners.notes,
    }
    return json.dumps(record)


def _saved_split(listed: Sequence[str], text: str) -> Owners:
    data = json.loads(text)
    name: dict[str, str | None] = {"0": None}
    name.update((str(number), n) for number, n in enumerate(data["names"], start=1))
    codes = data["column"].split(",") if data["column"] else []
    added = tuple(data["added"])
    return owners_from_column(
        [*listed, *added],
        list(map(name.__getitem__, codes)),
        added=added,
        notes=tuple(data["notes"]),
        told=data["told"],
    )


def _fetch(
    requests: Sequence[EngagementRequest],
    client: EngagementClient,
    saved: SavedParts,
    tally: Tally,
    clock: Callable[[], datetime],
    meter: _Meter,
    earlier: str,
) -> int:
    """Send each planned request not already saved, saving each answer as it comes
    (in batches, all written when this returns or raises). Returns how many answers came
    from an earlier try."""
    todo: list[tuple[EngagementRequest, str]] = []
    for request in requests:
        name = part_name(request)
        result = saved.result(name)
        if result is None:
            todo.append((request, name))
        else:
            tally.add(result, request.account, request.tweet_ids)
    resumed = len(requests) - len(todo)
    if resumed:
        meter.resuming(resumed, len(requests), earlier)
    meter(resumed, len(requests))
    client.budget.expect(len(todo))  # while they go quickly, claimed in blocks
    try:
        for done, (request, name) in enumerate(todo, start=resumed + 1):
            result = client.fetch([request])
            tally.add(result, request.account, request.tweet_ids)
            if result.failures:  # not saved: a rerun asks again for what is missing
                got = result.totals.keys() | result.texts.keys() | result.unavailable
                tally.fail(str(result.failures[0]), [i for i in request.tweet_ids if i not in got])
            else:
                saved.save_result(name, result, request.engagement_types, clock())
            meter(done, len(requests))
    finally:  # stopped or done: what arrived is kept
        saved.flush()
    return resumed
