"""One polling cycle, step by step: the imperative shell around the pure core.

    reload changed rules → discover posts → plan and fetch metrics → store snapshots →
    evaluate every rule → record firings, seeds and outbox rows in one transaction →
    perform due actions → report

A failing step is reported as an ``error`` event and the cycle goes on where it can;
nothing already recorded is lost, because recording is one transaction and actions are
performed only from the outbox. The clock, the store, the API clients and the event sink
are all passed in, so tests drive a cycle with a fake clock against the sandbox.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from automation.config.loader import Config
from automation.core.errors import AutomationError, RuleError
from automation.core.facts import (
    HourlySeries,
    Outcome,
    PostFacts,
    RuleState,
    Snapshot,
    post_created_at,
    post_url,
)
from automation.core.firings import firing_record
from automation.core.metric_names import HOURLY_METRICS, TOTALS_METRICS
from automation.core.payloads import action_metrics, iso, number
from automation.core.records import CycleWrite, FiringRecord, WatchedPostRecord
from automation.core.records import PostSource as PostOrigin
from automation.core.rules import Rule
from automation.core.watch_index import WatchIndex
from automation.core.windows import young_post_totals
from automation.engine.events import CycleEvent, ErrorEvent, FiredEvent, Sink
from automation.engine.gc_pause import collector_paused
from automation.engine.ports import ActionRunner, MetricsSource, PostSource
from automation.engine.running_rules import LoadedRules, files_changed, files_state, load_compiled
from automation.store.base import Store
from automation.x.engagement_client import FetchResult
from automation.x.engagement_plan import WatchedPost, plan_requests

__all__ = ["CycleResult", "Engine", "LoadedRules", "load_compiled"]

log = logging.getLogger("automation.engine")


def random_id() -> str:
    """A firing id: 64 random bits, as unique across processes as a uuid4 prefix at a
    quarter of the cost (a first cycle records thousands of seeds)."""
    return os.urandom(8).hex()


SNAPSHOT_RETENTION = timedelta(hours=48)  # windows reach back at most 28h
PRUNE_EVERY = timedelta(hours=1)  # pruning touches many pages: once an hour is plenty


@dataclass
class CycleResult:
    posts: int = 0
    requests: int = 0
    fired: int = 0
    seeded: int = 0
    actions_sent: int = 0
    errors: list[str] = field(default_factory=list)
    duration: float = 0.0


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
        emit: Sink,
        dry_run: bool = False,
        should_stop: Callable[[], bool] = lambda: False,
        new_id: Callable[[], str] = random_id,
    ) -> None:
        self.config = config
        self.rules = rules
        self._store = store
        self._engagement = engagement
        self._x = x_client
        self._dispatcher = dispatcher
        self._clock = clock
        self._emit = emit
        self.dry_run = dry_run
        self._should_stop = should_stop
        self._new_id = new_id
        self._dry_posts: dict[str, WatchedPostRecord] = {}
        self._pruned_at: datetime | None = None
        self._index: WatchIndex | None = None
        self._read_posts: list[WatchedPostRecord] | None = None
        self._failed_files: frozenset[tuple[str, float]] | None = None

    @property
    def clock(self) -> Callable[[], datetime]:
        return self._clock

    # --- reloading ---------------------------------------------------------------------

    def rules_changed_on_disk(self) -> bool:
        """Edited since loaded, and not the same broken state a reload already reported."""
        if self._failed_files is not None and files_state(self.config) == self._failed_files:
            return False
        return files_changed(self.rules, self.config)

    def reload(self, config: Config | None = None) -> bool:
        """Swap in fresh rules (and config); on errors keep the running ones and say why."""
        config = config or self.config
        try:
            fresh = load_compiled(config)
        except RuleError as exc:
            text = "\n".join(str(p) for p in exc.problems if p.is_error)
            log.error("reload failed, keeping the running rules:\n%s", text)
            self._failed_files = files_state(config)
            self._set_meta("reload_error", json.dumps({"at": iso(self._clock()), "errors": text}))
            return False
        self.config, self.rules = config, fresh
        self._failed_files = None
        self._set_meta("reload_error", "")
        log.info("loaded %d rules", len(fresh.rules))
        return True

    # --- the cycle ---------------------------------------------------------------------

    def cycle(self) -> CycleResult:
        with collector_paused():
            return self._cycle()

    def _cycle(self) -> CycleResult:
        started = time.monotonic()
        now = self._clock()
        result = CycleResult()
        if self.rules_changed_on_disk():
            self.reload()
        self._step("discover", result, lambda: self._discover(now))
        posts = self._step("posts", result, lambda: self._polled_posts(now)) or {}
        result.posts = len(posts)
        fetched = (
            self._step("fetch", result, lambda: self._fetch(now, posts, result)) if posts else None
        )
        if fetched is not None:
            self._step("store", result, lambda: self._record(now, fetched))
            self._step("evaluate", result, lambda: self._evaluate(now, posts, fetched, result))
        elif not posts and not result.errors:
            # Nothing to watch yet, so nothing to seed: posts found from now on fire.
            self._step(
                "evaluate", result, lambda: self._commit(now, [], [], self._unseen(), result)
            )
        self._index = None  # this cycle's posts: not kept alive into the next
        if not self.dry_run and not self._should_stop():
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
        recorded is lost, since recording is a single transaction.
        """
        try:
            return fn()
        except AutomationError as exc:
            error, retryable = str(exc), bool(getattr(exc, "retryable", True))
            log.error("%s failed: %s", name, exc)
        except Exception as exc:
            error, retryable = f"internal error: {exc.__class__.__name__}: {exc}", True
            log.exception("%s failed with an internal error", name)
        result.errors.append(f"{name}: {error}")
        self._emit(ErrorEvent(step=name, error=error, retryable=retryable, at=iso(self._clock())))
        return None

    # --- discovery ---------------------------------------------------------------------

    def _discover(self, now: datetime) -> None:
        """New posts of the watched accounts, plus the explicit posts rules name.

        A dry run keeps what it finds in memory only: it must leave the database as it was.
        """
        accounts = sorted({a for r in self.rules.enabled for a in r.rule.watch.accounts})
        self._read_posts = None
        read = self._store.posts(include_unavailable=True)
        known = {p.post_id: p.account for p in read}
        # explicit posts are (re)written only when new or re-owned, so a post the API
        # reported gone stays unwatched instead of being revived every cycle
        records = [
            r
            for r in self._explicit_posts(now)
            if r.post_id not in known or known[r.post_id] != r.account
        ]
        for account in accounts:
            since = self._store.since_id(account)
            oldest = now - timedelta(seconds=self._max_age(account))
            found = self._x.discover(account, since_id=since, start_time=None if since else oldest)
            records += [
                _post_record(p.post_id, account, p.created_at, "timeline", now)
                for p in found.posts
                if p.created_at >= oldest
            ]
            if found.newest_id and not self.dry_run:
                self._store.set_since_id(account, found.newest_id)
        if self.dry_run:
            self._dry_posts.update({r.post_id: r for r in records})
        elif records:
            self._store.upsert_posts(records)
        if self.dry_run or not records:
            self._read_posts = read  # still what the store holds: spare _polled_posts a read

    def _max_age(self, account: str) -> int:
        ages = [
            r.rule.watch.max_age for r in self.rules.enabled if account in r.rule.watch.accounts
        ]
        return max(ages, default=7 * 86400)

    def _explicit_posts(self, now: datetime) -> list[WatchedPostRecord]:
        owners: dict[str, str | None] = {}
        for r in self.rules.enabled:
            for pid in r.rule.watch.posts:
                if owners.get(pid) is None:
                    owners[pid] = r.rule.watch.owner
        return [
            _post_record(pid, acct, post_created_at(pid), "explicit", now)
            for pid, acct in owners.items()
        ]

    def _polled_posts(self, now: datetime) -> dict[str, WatchedPostRecord]:
        """Posts some enabled rule watches and that are young enough for it."""
        read, self._read_posts = self._read_posts, None
        if read is None:
            read = self._store.posts()
        known = {p.post_id: p for p in read if p.unavailable_at is None}
        known.update(self._dry_posts)
        index = WatchIndex(known)
        out: dict[str, WatchedPostRecord] = {}
        for r in self.rules.enabled:
            oldest = now - timedelta(seconds=r.rule.watch.max_age)
            young = [rec for rec in index.covered(r.rule.watch) if rec.created_at >= oldest]
            out.update((rec.post_id, rec) for rec in young)
        return out

    def _watched_by(
        self, rule: Rule, posts: Mapping[str, WatchedPostRecord]
    ) -> list[WatchedPostRecord]:
        """The posts of ``posts`` that ``rule`` watches, from an index built once a cycle."""
        if self._index is None or self._index.posts is not posts:
            self._index = WatchIndex(posts)
        return self._index.covered(rule.watch)

    # --- metrics -----------------------------------------------------------------------

    def _fetch(
        self, now: datetime, posts: Mapping[str, WatchedPostRecord], result: CycleResult
    ) -> FetchResult:
        totals: set[str] = set()
        window: set[str] = set()
        hourly_posts: set[str] = set()
        for r in self.rules.enabled:
            totals |= r.totals_metrics | action_metrics(r.rule)
            window |= r.window_metrics
            if r.window_metrics & HOURLY_METRICS:
                # Only posts young enough for this rule: it never evaluates older ones, and
                # a /28hr request carries 25 posts against /totals' 250.
                oldest = now - timedelta(seconds=r.rule.watch.max_age)
                hourly_posts |= {
                    p.post_id
                    for p in self._watched_by(r.rule, posts)
                    if p.account is not None and p.created_at >= oldest
                }
        totals |= window & TOTALS_METRICS
        requests = plan_requests(
            [WatchedPost(p.post_id, p.account) for p in posts.values()],
            totals_metrics=frozenset(totals),
            hourly_posts=hourly_posts,
            hourly_metrics=frozenset(window & HOURLY_METRICS),
        )
        fetched = self._engagement.fetch(requests)
        result.requests = fetched.requests_sent
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
        if self.dry_run:
            return
        if fetched.unavailable:
            self._store.mark_unavailable(sorted(fetched.unavailable), now)
        self._store.record_totals(now, fetched.totals)
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._store.prune_snapshots(now - SNAPSHOT_RETENTION)
            self._pruned_at = now

    # --- evaluation --------------------------------------------------------------------

    def _evaluate(
        self,
        now: datetime,
        posts: Mapping[str, WatchedPostRecord],
        fetched: FetchResult,
        result: CycleResult,
    ) -> None:
        versions = self._store.rule_versions()
        facts = self._facts(now, posts, fetched)
        states: list[tuple[str, str, RuleState]] = []
        firings: list[tuple[FiringRecord, str]] = []
        new_versions: list[tuple[str, str]] = []
        for compiled in self.rules.enabled:
            rule = compiled.rule
            known = versions.get(rule.id)
            changed = known is None or known.fingerprint != compiled.fingerprint
            seeding = changed and not rule.backfill
            state_of = self._store.rule_states(rule.id).get
            watched = self._watched_by(rule, posts)
            present = [facts[p.post_id] for p in watched if p.post_id in facts]
            complete = len(present) == len(watched)
            evaluate = compiled.evaluate
            for post in present:
                pid = post.post_id
                decision = evaluate(post, state_of(pid), now, seeding=seeding)
                if decision is None:
                    continue
                states.append((rule.id, pid, decision.state))
                if decision.outcome in (Outcome.FIRE, Outcome.SEED):
                    firings.append(
                        (firing_record(rule, post, decision, now, self._new_id()), decision.reason)
                    )
            if changed and complete:
                new_versions.append((rule.id, compiled.fingerprint))
        self._commit(now, states, firings, new_versions, result)

    def _unseen(self) -> list[tuple[str, str]]:
        """Enabled rules whose current version has not completed a cycle yet."""
        versions = self._store.rule_versions()
        return [
            (r.rule.id, r.fingerprint)
            for r in self.rules.enabled
            if (known := versions.get(r.rule.id)) is None or known.fingerprint != r.fingerprint
        ]

    def _facts(
        self, now: datetime, posts: Mapping[str, WatchedPostRecord], fetched: FetchResult
    ) -> dict[str, PostFacts]:
        windowed = [r for r in self.rules.enabled if r.max_window]
        snaps: Mapping[str, tuple[Snapshot, ...]] = {}
        if windowed:
            # only windows read snapshots: skip the posts no windowed rule evaluates
            wanted: set[str] = set()
            for r in windowed:
                oldest = now - timedelta(seconds=r.rule.watch.max_age)
                wanted.update(
                    p.post_id
                    for p in self._watched_by(r.rule, posts)
                    if p.created_at >= oldest and p.post_id in fetched.totals
                )
            since = now - timedelta(seconds=max(r.max_window for r in windowed))
            snaps = self._store.snapshots(sorted(wanted), since=since)
        out: dict[str, PostFacts] = {}
        for pid, totals in fetched.totals.items():
            rec = posts.get(pid)
            if rec is None:
                continue
            # not owned after all: the client fetched it as public, so judge it as public
            account = None if pid in fetched.forbidden else rec.account
            hourly: Mapping[str, HourlySeries] = fetched.hourly.get(pid, {})
            out[pid] = PostFacts(
                post_id=pid,
                account=account,
                created_at=rec.created_at,
                totals=young_post_totals(totals, hourly, rec.created_at, now),
                hourly=hourly,
                snapshots=tuple(snaps.get(pid, ())),
                url=post_url(pid),
            )
        return out

    def _commit(
        self,
        now: datetime,
        states: list[tuple[str, str, RuleState]],
        firings: list[tuple[FiringRecord, str]],
        versions: list[tuple[str, str]],
        result: CycleResult,
    ) -> None:
        if self.dry_run:
            new_ids = {f.id for f, _ in firings}
        else:
            done = self._store.commit_cycle(
                CycleWrite(
                    states=tuple(states),
                    firings=tuple(f for f, _ in firings),
                    rule_versions=tuple(versions),
                    at=now,
                )
            )
            new_ids = set(done.new)
        for f, reason in firings:
            if f.id not in new_ids:
                continue
            name = {"fired": "fired", "seeded": "seeded"}[f.kind]
            if self.dry_run:
                name = "would_fire" if f.kind == "fired" else "would_seed"
            if f.kind == "fired":
                result.fired += 1
            else:
                result.seeded += 1
            self._emit(
                FiredEvent(
                    event=name,
                    rule=f.rule_id,
                    post=f.post_id,
                    key=f.key,
                    metrics={k: number(v) for k, v in f.metrics.items()},
                    id=f.id,
                    reason=reason,
                    at=iso(now),
                )
            )

    # --- reporting ---------------------------------------------------------------------

    def _report(self, now: datetime, result: CycleResult) -> None:
        event = CycleEvent(
            posts=result.posts,
            requests=result.requests,
            duration=round(result.duration, 3),
            fired=result.fired,
            seeded=result.seeded,
            actions_sent=result.actions_sent,
            errors=len(result.errors),
            at=iso(now),
        )
        self._emit(event)
        self._set_meta(
            "last_cycle",
            json.dumps(
                {
                    "at": iso(now),
                    "posts": result.posts,
                    "requests": result.requests,
                    "fired": result.fired,
                    "seeded": result.seeded,
                    "actions_sent": result.actions_sent,
                    "duration": round(result.duration, 3),
                    "errors": result.errors[:20],
                    "dry_run": self.dry_run,
                    "rules": len(self.rules.rules),
                }
            ),
        )

    def _set_meta(self, key: str, value: str) -> None:
        if not self.dry_run:
            try:
                self._store.set_meta(key, value)
            except AutomationError as exc:
                log.error("could not record %s: %s", key, exc)


def _post_record(
    post_id: str, account: str | None, created_at: datetime, source: PostOrigin, now: datetime
) -> WatchedPostRecord:
    return WatchedPostRecord(
        post_id=post_id,
        account=account,
        created_at=created_at,
        source=source,
        first_seen=now,
        unavailable_at=None,
    )
