"""The pages people read: overview, rules, a rule, a post, history and actions.

Each handler reads the database through one read-only connection, builds plain values
and renders a template; it runs in Starlette's thread pool, never on the event loop.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from automation.core.facts import post_created_at, post_url
from automation.core.pauses import ALL_RULES, PauseRecord, pause_state
from automation.core.records import ACTION_STATUSES, WatchedPostRecord
from automation.core.rules import Rule
from automation.core.wording import shown_path
from automation.dashboard.filters import KINDS, PAGE, read_filters
from automation.dashboard.formatting import pause_text
from automation.dashboard.nearest import nearest, rule_target, watched
from automation.dashboard.overview import engine_state, fired_lately, overview
from automation.dashboard.post_charts import post_charts
from automation.dashboard.rule_text import rule_text
from automation.dashboard.site import Site, site_of
from automation.dashboard.templates import render
from automation.store.base import Store

__all__ = ["actions_page", "history_page", "overview_page", "post_page", "rule_page", "rules_page"]


def overview_page(request: Request) -> Response:
    site = site_of(request)
    now = site.clock()
    with site.reading() as store:
        data = overview(site, store, now)
    return render(request, "overview.html", {"o": data, "now": now})


def _pauses(
    records: list[PauseRecord], rule_ids: list[str], now: datetime
) -> tuple[dict[str, Markup], Markup | None]:
    """Each rule's own pause in words, and the all-rules pause's, if any: a rule held by the
    pause of every rule is resumed with them all, not on its own."""
    state = pause_state([r for r in records if not r.all_rules], rule_ids, now)
    every = next((r for r in records if r.all_rules and r.active(now)), None)
    paused = {rule_id: pause_text(record, now) for rule_id, record in state.paused.items()}
    return paused, pause_text(every, now) if every else None


def rules_page(request: Request) -> Response:
    site = site_of(request)
    now = site.clock()
    with site.reading() as store:
        day, week = fired_lately(store, now)
        engine = engine_state(site, store, now)
        records = store.pauses()
    paused, everything = _pauses(records, _rule_ids(site), now)
    rules = [
        {
            "rule": r,
            "text": rule_text(r),
            "day": day.get(r.id, 0),
            "week": week.get(r.id, 0),
            "paused": paused.get(r.id),
        }
        for r in site.rules()
    ]
    errors = [str(p) for p in site.ruleset().errors]
    context = {
        "rules": rules,
        "errors": errors,
        "engine": engine,
        "all_paused": everything,
        "all_rules": ALL_RULES,
        "rule_paths": [shown_path(str(path)) for path in site.config.rules],
        "now": now,
    }
    return render(request, "rules.html", context)


def rule_page(request: Request) -> Response:
    site = site_of(request)
    rule = site.rule(request.path_params["rule_id"])
    if rule is None:
        raise HTTPException(404, site.no_rule(request.path_params["rule_id"]))
    now = site.clock()
    target = rule_target(rule)
    with site.reading() as store:
        posts = watched(rule, store, now)
        close: list[Any] = []
        past = 0
        if target is not None:
            totals = store.latest_totals(p.post_id for p in posts)
            close, past = nearest(target, posts, totals, store.snapshots, now)
        firings = store.history(rule_id=rule.id, limit=50)
        day, week = (counts.get(rule.id, 0) for counts in fired_lately(store, now))
        paused, everything = _pauses(store.pauses(), [rule.id], now)
        dead = store.action_counts(rule.id)["dead"]
    context = {
        "paused": paused.get(rule.id),
        "all_paused": everything,
        "rule": rule,
        "text": rule_text(rule),
        "target": target,
        "nearest": close,
        "past": past,
        "watched": len(posts),
        "firings": firings,
        "day": day,
        "week": week,
        "dead": dead,
        "now": now,
    }
    return render(request, "rule.html", context)


def _post_id(request: Request) -> str:
    post_id: str = request.path_params["post_id"]
    if not (post_id.isascii() and post_id.isdigit() and len(post_id) <= 19):
        raise HTTPException(404, f"{post_id!r} is not a post ID")
    return post_id


def _post_data(site: Site, store: Store, post_id: str) -> dict[str, Any]:
    now = site.clock()
    record = store.post(post_id)
    firings = store.history(post_id=post_id, limit=200)
    fired_rules = {e.firing.rule_id for e in firings}
    rules = [r for r in site.rules() if r.id in fired_rules or _watches(r, record, post_id)]
    start = now - timedelta(seconds=site.config.history.keep)
    if record is not None:  # never after its first reading: a clock ahead dates posts later
        start = max(start, min(record.created_at, record.first_seen) - timedelta(hours=1))
    history = store.hourly([post_id], None, start, now).get(post_id, {})
    recent = store.snapshots([post_id], since=start).get(post_id, ())
    charts = post_charts(history, recent, rules, firings, now, created=post_created_at(post_id))
    return {
        "post_id": post_id,
        "record": record,
        "url": post_url(post_id),
        "rules": rules,
        "firings": firings,
        "charts": charts,
        "latest": store.latest_totals([post_id]).get(post_id, {}),
        "now": now,
    }


def _watches(rule: Rule, record: WatchedPostRecord | None, post_id: str) -> bool:
    if post_id in rule.watch.posts:
        return True
    return (
        record is not None
        and record.source == "timeline"
        and (record.account in rule.watch.accounts)
    )


def post_page(request: Request) -> Response:
    site = site_of(request)
    post_id = _post_id(request)
    with site.reading() as store:
        data = _post_data(site, store, post_id)
    if data["record"] is None and not data["firings"] and not data["charts"]:
        raise HTTPException(404, f"the engine has not watched post {post_id}")
    data["charts_json"] = [c.as_json() for c in data["charts"]]
    return render(request, "post.html", data)


def post_charts_json(request: Request) -> Response:
    site = site_of(request)
    post_id = _post_id(request)
    with site.reading() as store:
        data = _post_data(site, store, post_id)
    return JSONResponse({"post": post_id, "charts": [c.as_json() for c in data["charts"]]})


def history_page(request: Request) -> Response:
    site = site_of(request)
    f = read_filters(request.query_params, KINDS)
    with site.reading() as store:
        entries = store.history(f.rule, f.post, PAGE, kind=f.status, since=f.since, until=f.until)
        none_yet = not entries and not store.history(limit=1)  # whatever the filters
    older = f.query(before=entries[-1].firing.at.timestamp()) if len(entries) == PAGE else None
    context = {
        "entries": entries,
        "none_yet": none_yet,
        "f": f,
        "older": older,
        "statuses": KINDS,
        "rule_ids": _rule_ids(site),
        "now": site.clock(),
    }
    return render(request, "history.html", context)


def actions_page(request: Request) -> Response:
    site = site_of(request)
    f = read_filters(request.query_params, ACTION_STATUSES)
    with site.reading() as store:
        items = store.actions(
            f.status, PAGE, rule_id=f.rule, post_id=f.post, since=f.since, until=f.until
        )
        counts = store.action_counts()
        dead = store.action_counts(f.rule)["dead"] if f.rule else counts["dead"]
    older = f.query(before=items[-1].created_at.timestamp()) if len(items) == PAGE else None
    context = {
        "items": items,
        "f": f,
        "older": older,
        "counts": counts,
        "dead": dead,  # what "Retry all" re-queues: every dead action, or the rule's
        "statuses": ACTION_STATUSES,
        "rule_ids": _rule_ids(site),
        "now": site.clock(),
    }
    return render(request, "actions.html", context)


def _rule_ids(site: Site) -> list[str]:
    return [r.id for r in site.rules()]
