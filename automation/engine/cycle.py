"""One polling cycle, step by step: the imperative shell around the pure core.

    reload changed rules → discover posts → plan (core.fetch_plan) → choose the posts the
    request budget reads (core.refresh_schedule) → fetch metrics →
    store readings → assemble facts (core.cycle_facts) and decide (core.cycle_decisions)
    → record firings, seeds and outbox rows in one transaction → perform due actions →
    report

Each step's result is passed to the next. A failing step is reported as an ``error``
event and the cycle goes on where it can; nothing already recorded is lost, because
recording is one transaction and actions are performed only from the outbox. The clock,
the source of firing ids, the store, the recorder, the API clients and the event sink are
all passed in, so tests drive a cycle with a fake clock against the sandbox, and a dry run
is a recorder that records nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from automation.config.model import Config
from automation.core import reload_failure
from automation.core.cycle_decisions import CycleDecisions, decide_cycle
from automation.core.cycle_facts import CycleFacts, read_totals
from automation.core.errors import AutomationError, DatabaseUnreachable, RuleError, StoreError
from automation.core.evaluate import CompiledRule
from automation.core.facts import PostFacts, RuleState, Snapshot
from automation.core.fetch_plan import FetchPlan, plan_fetch
from automation.core.payloads import iso
from automation.core.post_discovery import (
    discovery_start,
    explicit_posts,
    shared_owners,
    timeline_posts,
    watched_accounts,
)
from automation.core.records import WatchedPostRecord
from automation.core.refresh_schedule import Refresh
from automation.core.reload_failure import ReloadFailure
from automation.core.watch_index import NOTHING_KEPT, Covers, KeptCovers
from automation.core.wording import counted
from automation.engine.events import CycleEvent, ErrorEvent, FiredEvent, Sink
from automation.engine.gc_pause import collector_paused
from automation.engine.known_posts import KnownPosts
from automation.engine.pauses import PauseKeeper, current
from automation.engine.ports import ActionRunner, MetricsSource, PostSource
from automation.engine.recorder import Recorder, StoreRecorder
from automation.engine.refresh import RefreshKeeper, StatesSeen, forget, likeliest_last
from automation.engine.running_rules import LoadedRules, files_state, load_compiled
from automation.store.base import STATES_CHANGED, Store
from automation.x.engagement_client import FetchResult
from automation.x.engagement_plan import EngagementRequest, plan_owned_requests

__all__ = ["CycleResult", "Engine"]

log = logging.getLogger("automation.engine")


@dataclass
class CycleResult:
    posts: int = 0  # watched: some rule looks at them now
    refreshed: int = 0  # read this cycle: all of them unless the request budget chose
    requests: int = 0
    fired: int = 0
    seeded: int = 0
    capped: int = 0
    actions_sent: int = 0
    errors: list[str] = field(default_factory=list)
    unrecorded: str | None = None  # why the database refused what this cycle recorded
    duration: float = 0.0
    budget_wait: float = 0.0  # of the duration, seconds spent waiting for the API budget
    refresh_age_median: float | None = None  # seconds since the watched posts were read
    refresh_age_oldest: float | None = None


class Engine:
    def __init__(
        self,
        *,
        config: Config,
        rules: LoadedRules,
        store: Store,
        engagement: MetricsSource,
        x_client: PostSource,
        dispatcher: ActionRunner,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        emit: Sink,
        recorder: Recorder | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.config = config
        self.rules = rules
        self._store = store
        self._recorder: Recorder = (
            recorder
            if recorder is not None
            else StoreRecorder(store, timedelta(seconds=config.history.keep))
        )
        self._engagement = engagement
        self._x = x_client
        self._dispatcher = dispatcher
        self._clock = clock
        self._new_id = new_id
        self._emit = emit
        self._should_stop = should_stop
        self._failed_files: frozenset[tuple[str, float]] | None = None
        self._pauses = PauseKeeper(store, emit, dry_run=self._recorder.dry)
        self._refresh = RefreshKeeper()
        self._known = KnownPosts(store, dry=self._recorder.dry)
        self._covers: Covers = {}  # the last plan's, for the next (``KeptCovers``)
        # the enabled rules and the owners of posts named more than once, the others'
        # being their rules' (kept: 16 ms a cycle to gather again)
        self._named: tuple[Sequence[CompiledRule], Mapping[str, str | None]] = ((), {})
        # each rule's states as the last committed cycle left them; STATES_CHANGED then
        self._kept: Mapping[str, Mapping[str, RuleState]] = {}
        self._states_mark: str | None = None
        self._load_unrecorded = True  # the rules given were loaded cleanly: say so once

    @property
    def clock(self) -> Callable[[], datetime]:
        return self._clock

    @property
    def dry_run(self) -> bool:
        return self._recorder.dry

    @property
    def recorder(self) -> Recorder:
        return self._recorder

    # --- reloading ---------------------------------------------------------------------

    def follow_rule_files(self, now: datetime) -> None:
        """Reload the rules when their files changed on disk.

        A failed reload is reported once, not again for the same broken files. It is over
        at the next good load, or once the files are back to the ones running (a broken
        file taken away again); the rules an engine starts with are a good load too, so a
        restart clears a failure recorded before it.
        """
        state = files_state(self.config)
        if self._failed_files is not None:
            if state == self._failed_files:
                return
            if state == frozenset(self.rules.files):
                self._good_load()
                return
        if state != frozenset(self.rules.files):
            self.reload(at=now)
        elif self._load_unrecorded:
            self._good_load()

    def reload(self, config: Config | None = None, *, at: datetime | None = None) -> bool:
        """Swap in fresh rules (and config); on errors keep the running ones and say why
        (a failure is dated ``at``, the cycle's time, else now)."""
        config = config or self.config
        try:
            fresh = load_compiled(config)
        except RuleError as exc:
            text = "\n".join(str(p) for p in exc.problems if p.is_error)
            log.error("reload failed, keeping the running rules:\n%s", text)
            self._failed_files = files_state(config)
            self._reload_failed(text, at or self._clock())
            return False
        self.config, self.rules = config, fresh
        self._good_load()
        log.info("loaded %d rules", len(fresh.rules))
        return True

    def refuse_config(self, error: str) -> None:
        """A reload whose config could not be read: the running config and rules go on,
        and the failure stands, dated now, until the next good load."""
        log.error("reload failed, keeping the running config: %s", error)
        self._reload_failed(error, self._clock())

    def _reload_failed(self, errors: str, at: datetime) -> None:
        self._set_meta("reload_error", reload_failure.encode(ReloadFailure(errors, at)))

    def _good_load(self) -> None:
        """The running rules are what the files say: no failed reload stands."""
        self._failed_files = None
        self._load_unrecorded = False
        self._set_meta("reload_error", "")

    # --- the cycle ---------------------------------------------------------------------

    def cycle(self) -> CycleResult:
        with collector_paused():
            return self._cycle()

    def _cycle(self) -> CycleResult:
        started = time.monotonic()
        now = self._clock()
        result = CycleResult()
        self.follow_rule_files(now)
        rules = self.rules.enabled
        known = self._step("discover", result, lambda: self._discover(now, rules))
        plan = self._step("posts", result, lambda: self._plan(now, rules, known))
        result.posts = len(plan.posts) if plan is not None else 0
        if plan is not None and plan.posts:
            chosen = self._step("schedule", result, lambda: self._schedule(now, plan))
            chosen = chosen or Refresh(plan, 0)
            read, plan = chosen.plan, chosen.whole(plan)
            result.refreshed = len(read.posts)
            fetched = self._step("fetch", result, lambda: self._fetch(chosen, result))
            if fetched is not None:
                self._step("store", result, lambda: self._record(now, fetched))
                answers, fetched = [fetched], None  # held by _evaluate alone, which lets go
                remember = self._step(
                    "evaluate", result, lambda: self._evaluate(now, read, answers, result, plan)
                )
                if remember is not None:
                    self._step("evaluate", result, remember)
            self._ages(plan, result)
        elif plan is not None and not result.errors:
            # Nothing to watch yet, so nothing to seed: posts found from now on fire.
            self._step("evaluate", result, lambda: self._evaluate(now, plan, [], result))
        if not self._should_stop():
            sent = self._step(
                "actions", result, lambda: self._dispatcher.run_due(should_stop=self._should_stop)
            )
            result.actions_sent = sent or 0
        result.duration = time.monotonic() - started
        self._report(now, result)
        return result

    def _step(self, name: str, result: CycleResult, fn: Callable[[], Any]) -> Any:
        """Run one step; a failure is reported and the cycle goes on where it can.

        An unexpected exception is a bug, but a service that runs for months must not die
        of one step's bug: it is logged with its traceback and the step is skipped. Nothing
        recorded is lost, since recording is a single transaction. An engine that acts
        (not a dry run) and loses its database ends the cycle there: it stands by, and
        says so once (``service.leading``)."""
        try:
            return fn()
        except AutomationError as exc:
            self._raise_if_unreachable(exc)
            error, retryable = str(exc), bool(getattr(exc, "retryable", True))
            log.error("%s failed: %s", name, exc)
            if isinstance(exc, StoreError):
                result.unrecorded = error
        except Exception as exc:
            error, retryable = f"internal error: {exc.__class__.__name__}: {exc}", True
            log.exception("%s failed with an internal error", name)
        result.errors.append(f"{name}: {error}")
        self._emit(ErrorEvent(step=name, error=error, retryable=retryable, at=iso(self._clock())))
        return None

    # --- discovery and planning --------------------------------------------------------

    def _discover(
        self, now: datetime, rules: Sequence[CompiledRule]
    ) -> Mapping[str, WatchedPostRecord]:
        """Every post the store knows (the unavailable too) by id, in its order, plus the
        new posts of the watched accounts and the named posts not watched yet, recorded.

        An account's posts are recorded before its ``since_id`` moves past them, so a
        later account's failure never loses them.
        """
        self._kept = forget(self._kept, self._known.read(rules, now))  # of the posts let go
        if self._named[0] != rules:  # the same rules: mostly the same objects
            self._named = (rules, shared_owners(rules))
        self._add_posts(explicit_posts(rules, self._known.by_id, now, self._named[1]))
        for account in watched_accounts(rules):
            since = self._store.since_id(account)
            oldest = discovery_start(rules, account, now)
            found = self._x.discover(account, since_id=since, start_time=None if since else oldest)
            posts = timeline_posts(
                account, ((p.post_id, p.created_at) for p in found.posts), oldest, now
            )
            self._add_posts(posts)
            if found.newest_id:
                self._recorder.set_since_id(account, found.newest_id)
        return self._known.by_id

    def _add_posts(self, records: Sequence[WatchedPostRecord]) -> None:
        if records:
            self._recorder.add_posts(records)
            self._known.added(records)

    def _plan(
        self,
        now: datetime,
        rules: Sequence[CompiledRule],
        known: Mapping[str, WatchedPostRecord] | None,
    ) -> FetchPlan:
        """The cycle's plan; when discovery failed, over the posts the store holds."""
        covers, self._covers = self._covers, {}  # none kept if this plan fails
        if known is None:
            return plan_fetch(rules, self._store.posts(), now)
        changed = self._known.take_changed()
        kept = NOTHING_KEPT if changed is None else KeptCovers(covers, changed)
        plan = plan_fetch(rules, known, now, kept)
        self._covers = plan.covers
        return plan

    def _schedule(self, now: datetime, plan: FetchPlan) -> Refresh:
        """The posts one poll interval's request budget reads: all of them when it can."""
        resuming = current(self._store, [rule.rule.id for rule, _ in plan.watched], now).resuming
        return self._refresh.choose(plan, self.config, now, self._store.rule_versions(), resuming)

    def _ages(self, plan: FetchPlan, result: CycleResult) -> None:
        ages = self._refresh.ages(plan.posts, self._clock())
        if ages is not None:
            result.refresh_age_median = round(ages.median, 1)
            result.refresh_age_oldest = round(ages.oldest, 1)

    # --- metrics -----------------------------------------------------------------------

    def _fetch(self, chosen: Refresh, result: CycleResult) -> FetchResult:
        plan = chosen.plan
        requests: Sequence[EngagementRequest] = plan_owned_requests(
            [(p.post_id, p.account) for p in plan.posts.values()],
            totals_metrics=plan.totals_metrics,
            hourly_posts=plan.hourly_posts,
            hourly_metrics=plan.hourly_metrics,
        )
        if chosen.scheduled:
            requests = likeliest_last(requests, plan.posts)
        # each post's values are kept compactly past the cycle, made as each answer arrives
        # (the decoded answers then go one by one); a post answered twice, once merged
        fetched = self._engagement.fetch(requests, self._refresh.compact)
        fetched = replace(fetched, totals=self._refresh.compact(fetched.totals))
        result.requests = fetched.requests_sent
        result.budget_wait = fetched.budget_wait
        for failure in fetched.failures:
            result.errors.append(f"fetch: {failure}")
            log.error("fetch failed: %s", failure)
            self._emit(
                ErrorEvent(
                    step="fetch",
                    error=str(failure),
                    retryable=bool(failure.retryable),
                    at=iso(self._clock()),
                )
            )
        return fetched

    def _record(self, now: datetime, fetched: FetchResult) -> None:
        """Keep what the fetch read. Posts the API reports unavailable are said once: they
        are no longer polled from now on."""
        if fetched.unavailable:
            log.warning("%s", unavailable_text(fetched.unavailable))
        self._recorder.record_readings(now, fetched)
        if fetched.unavailable:
            self._known.gone(fetched.unavailable, now)

    # --- evaluation --------------------------------------------------------------------

    def _evaluate(
        self,
        now: datetime,
        plan: FetchPlan,
        answers: list[FetchResult],
        result: CycleResult,
        watched: FetchPlan | None = None,
    ) -> Callable[[], None] | None:
        """Evaluate the rules on what ``plan`` read (``answers``: the fetch's, let go once decided;
        ``watched``: the whole plan, if the budget chose). Returns the remembering, to run later."""
        fetched = answers.pop() if answers else None
        facts: CycleFacts | dict[str, PostFacts] = {}
        snapshots: Mapping[str, tuple[Snapshot, ...]] = {}
        if fetched is not None:
            if plan.window_start is not None:
                # only windows read snapshots, and on owned posts only what no series holds
                wanted = plan.snapshot_posts(fetched.totals, fetched.hourly, fetched.forbidden)
                snapshots = self._store.snapshots(wanted, since=plan.window_start)
            facts = CycleFacts(
                plan.posts, fetched.totals, fetched.hourly, fetched.forbidden, snapshots, now
            )
        self._recorder.evaluated(plan.watched, facts, now)
        pauses = current(self._store, [rule.rule.id for rule, _ in plan.watched], now)
        mark = self._store.meta(STATES_CHANGED)
        states = StatesSeen(self._store.rule_states, *self._kept_states(mark, watched or plan))
        decided = decide_cycle(
            plan.watched,
            facts,
            self._store.rule_versions(),
            states,
            now,
            self._new_id,
            pauses,
            self._store.fired_count,
        )
        read, failures = read_totals(facts), None if fetched is None else fetched.failures
        del facts, snapshots, fetched  # before the commit: its rows reuse their memory
        self._commit(now, decided, result, mark)
        states.decided(decided.write)
        self._kept, self._states_mark = states.kept(), mark
        self._pauses.after_commit(pauses, decided.held, decided.resumed, now)
        del decided  # its firings and reasons (68,000 seeds at most) go before the projections
        if failures is None:
            return None
        whole = (watched or plan).watched
        return lambda: self._refresh.remember(
            whole, plan, read, states.states_after, now, all_answered=not failures
        )

    def _kept_states(
        self, mark: str | None, plan: FetchPlan
    ) -> tuple[Mapping[str, Mapping[str, RuleState]], Mapping[str, WatchedPostRecord] | None]:
        """The rule states the store holds as the last committed cycle left them, while only
        the engine's commits changed them (``mark``: the store's count of other changes, read
        then), none in a dry run; those of rules ``plan`` no longer watches go once they
        outnumber those. And the posts whose states to read (``KnownPosts.held``)."""
        if self._recorder.dry or mark != self._states_mark:
            return {}, self._known.held
        kept = self._kept
        if len(kept) > len(plan.watched):
            watched = {rule.rule.id for rule, _ in plan.watched}
            kept = {rule_id: states for rule_id, states in kept.items() if rule_id in watched}
        return kept, self._known.held

    def _commit(
        self, now: datetime, decided: CycleDecisions, result: CycleResult, mark: str | None
    ) -> None:
        # with the count of changes by hand its states were read under (``CycleWrite.stale``)
        new_ids = self._recorder.commit(replace(decided.write, states_mark=(mark,)))
        names, at = self._recorder.event_names, iso(now)  # one time for all the seeds
        for f in decided.write.firings:
            if f.id not in new_ids:
                continue
            if f.kind == "fired":
                result.fired += 1
            elif f.kind == "capped":
                result.capped += 1
            else:
                result.seeded += 1
            self._emit(FiredEvent.of(f, names[f.kind], decided.reasons.get(f.id, ""), at))

    # --- reporting ---------------------------------------------------------------------

    def _report(self, now: datetime, result: CycleResult) -> None:
        event = CycleEvent(
            posts=result.posts,
            refreshed=result.refreshed,
            refresh_age_median=result.refresh_age_median,
            refresh_age_oldest=result.refresh_age_oldest,
            requests=result.requests,
            duration=round(result.duration, 3),
            budget_wait=round(result.budget_wait, 3),
            fired=result.fired,
            seeded=result.seeded,
            capped=result.capped,
            actions_sent=result.actions_sent,
            errors=len(result.errors),
            at=iso(now),
        )
        self._emit(event)
        last = {
            "at": iso(now),
            "posts": result.posts,
            "refreshed": result.refreshed,
            "refresh_age": {
                "median": result.refresh_age_median,
                "oldest": result.refresh_age_oldest,
            },
            "requests": result.requests,
            "fired": result.fired,
            "seeded": result.seeded,
            "actions_sent": result.actions_sent,
            "duration": round(result.duration, 3),
            "errors": result.errors[:20],
            "dry_run": self._recorder.dry,
            "rules": len(self.rules.rules),
        }
        result.unrecorded = self._set_meta("last_cycle", json.dumps(last)) or result.unrecorded

    def _set_meta(self, key: str, value: str) -> str | None:
        """Record ``key``: None, or why the database refused it (said in the log)."""
        try:
            self._recorder.set_meta(key, value)
        except AutomationError as exc:
            self._raise_if_unreachable(exc)
            log.error("could not record %s: %s", key, exc)
            return str(exc)
        return None

    def _raise_if_unreachable(self, exc: AutomationError) -> None:
        if isinstance(exc, DatabaseUnreachable) and not self._recorder.dry:
            raise exc


def unavailable_text(post_ids: Collection[str]) -> str:
    """The log line for posts the API newly reports unavailable, the first 20 by ID."""
    ids = sorted(post_ids, key=int)
    shown = ", ".join(ids[:20]) + (f" and {len(ids) - 20:,} more" if len(ids) > 20 else "")
    return (
        f"the API reports {counted(len(ids), 'post')} unavailable (deleted, protected or not"
        f" readable with our tokens), no longer polled: {shown}"
    )
