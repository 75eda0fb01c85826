"""The overview: is the engine running, what fired lately, what waits or failed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup

from automation.core.evaluate import compile_rules
from automation.core.fetch_plan import still_watched
from automation.core.recording import (
    WAITING_KEY,
    disk_text,
    is_stale,
    recorded_at,
    silence_text,
    waiting_now,
)
from automation.core.records import ChangeRecord, HistoryEntry, WatchedPostRecord
from automation.core.reload_failure import ReloadFailure, decode
from automation.core.wording import shown_path, size_text
from automation.dashboard.formatting import pause_text
from automation.dashboard.site import Site
from automation.store.base import Store

__all__ = ["EngineState", "Overview", "engine_state", "fired_lately", "overview"]

DAY = timedelta(days=1)
BUSIEST = 20  # past this many rules, the overview's table shows the busiest of the week


@dataclass(frozen=True)
class EngineState:
    state: str  # running | stale | never | paused
    last_cycle: dict[str, Any] | None
    last_at: datetime | None
    reload_error: ReloadFailure | None
    budget_used: int
    budget_limit: int
    paused: Markup | None = None  # every rule's pause, in words (its times as pages write them)
    silence: str | None = None  # no cycle recorded for too long: the likely causes
    full_disk: str | None = None  # the database's disk is (almost) full: the fix


@dataclass(frozen=True)
class RuleCounts:
    rule_id: str
    known: bool  # still in the rule files
    day: int
    week: int


@dataclass(frozen=True)
class Overview:
    engine: EngineState
    rules: list[RuleCounts]
    more_rules: int  # rules not in ``rules``: past ``BUSIEST``, those that fired least
    actions: dict[str, int]
    posts_watched: int
    unavailable_count: int  # the unavailable posts a rule still watches, as status counts
    unavailable: list[WatchedPostRecord]  # the newest 20 of them
    recent: list[HistoryEntry]
    changes: list[ChangeRecord] = field(default_factory=list)
    rule_errors: list[str] = field(default_factory=list)
    # how large the database is, as status words it ('67.2 MiB'); None when it is kept
    # nowhere (in memory)
    database_size: str | None = None
    database: str = ""  # where it is: its file, or its URL without the password


def engine_state(site: Site, store: Store, now: datetime) -> EngineState:
    last = _json(store.meta("last_cycle"))
    last_at = recorded_at(last)
    age = (now - last_at).total_seconds() if last_at is not None else None
    interval = site.config.poll_interval
    disk = site.disk(site.config.database)
    everything = next((p for p in store.pauses() if p.all_rules and p.active(now)), None)
    if last_at is None:
        state = "never"
    elif everything is not None:
        state = "paused"
    elif is_stale(age, interval):
        state = "stale"
    else:
        state = "running"
    limit = site.config.engagement_api.requests_per_minute
    used = len(store.budget_load("engagement", now.timestamp() - 60))
    return EngineState(
        state=state,
        last_cycle=last if isinstance(last, dict) else None,
        last_at=last_at,
        reload_error=decode(store.meta("reload_error")),
        budget_used=used,
        budget_limit=limit,
        paused=pause_text(everything, now) if everything else None,
        silence=silence_text(
            age, interval, disk, waiting_now(store.meta(WAITING_KEY), last_at, now, interval)
        ),
        full_disk=disk_text(disk),
    )


def fired_lately(store: Store, now: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """How many times each rule fired in the last day, and in the last week."""
    return store.firing_counts(now - DAY), store.firing_counts(now - 7 * DAY)


def overview(site: Site, store: Store, now: datetime) -> Overview:
    day, week = fired_lately(store, now)
    known = [rule.id for rule in site.rules()]
    names = dict.fromkeys([*known, *sorted(week)])
    counts = store.post_counts()
    engine = engine_state(site, store, now)
    # as status counts them: the posts the last cycle polled (the store also keeps posts no
    # rule looks at any more), else the available posts stored
    last_posts = (engine.last_cycle or {}).get("posts")
    size = store.size_bytes()
    # as status counts them: the unavailable posts a rule still watches, newest first
    enabled = compile_rules(r for r in site.rules() if r.enabled)
    missing = still_watched(enabled, store.unavailable_posts(counts["unavailable"]), now)
    rows = [
        RuleCounts(rule_id, rule_id in known, day.get(rule_id, 0), week.get(rule_id, 0))
        for rule_id in names
    ]
    shown = rows if len(rows) <= BUSIEST else sorted(rows, key=lambda r: -r.week)[:BUSIEST]
    return Overview(
        engine=engine,
        rules=shown,
        more_rules=len(rows) - len(shown),
        actions=store.action_counts(),
        posts_watched=last_posts if isinstance(last_posts, int) else counts["available"],
        unavailable_count=len(missing),
        unavailable=missing[:20],
        recent=store.history(limit=8),
        changes=store.changes(limit=5),
        rule_errors=[str(p) for p in site.ruleset().errors],
        database_size=size_text(size) if size is not None else None,
        database=shown_path(str(site.config.database)),
    )


def _json(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None
