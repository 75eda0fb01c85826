"""``automation status``: the last cycle, posts watched, rules, the outbox and the budget."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from automation.cli.context import command_store, emit_json, now, required_config
from automation.cli.tables import table
from automation.config.disk_space import database_disk
from automation.core.payloads import iso
from automation.core.recording import (
    STALE_AFTER_INTERVALS,
    WAITING_KEY,
    DiskSpace,
    Waiting,
    age_text,
    disk_text,
    is_stale,
    recorded_at,
    silence_text,
    waiting_now,
)
from automation.core.reload_failure import ReloadFailure, decode
from automation.core.wording import shown_path, size_text

if TYPE_CHECKING:  # imported when used: ``automation --help`` should not load them
    from automation.rulefiles.rule_parser import RuleSet
    from automation.store.base import Store

__all__ = ["register"]


def register(sub: Any) -> None:
    s = sub.add_parser("status", help="last cycle, posts, rules, actions, budget")
    s.add_argument("--json", action="store_true", help="print the same facts as JSON")
    s.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.rulefiles.rule_parser import load_rules

    config = required_config(args)
    ruleset = load_rules(list(config.rules), names=config.rule_names())
    moment = now()
    with command_store(config, only_reads=True) as store:
        paused = [p for p in store.pauses() if p.active(moment)]
        last = json.loads(store.meta("last_cycle") or "null")
        failed_reload = decode(store.meta("reload_error"))
        counts = store.action_counts()
        used = len(store.budget_load("engagement", moment.timestamp() - 60))
        unavailable = _unavailable(ruleset, store, moment)
        size = store.size_bytes()
        raw_wait = store.meta(WAITING_KEY)
    at = recorded_at(last)
    age = (moment - at).total_seconds() if at is not None else None
    waiting = waiting_now(raw_wait, at, moment, config.poll_interval)
    disk = database_disk(config.database)
    # what the engine polls (a post some rule watches, young enough for it), as its last
    # cycle counted it: the store also keeps posts no rule looks at any more
    posts_watched = (last or {}).get("posts", 0)
    data = {
        "last_cycle": last,
        "posts_watched": posts_watched,
        # read in the last cycle: every watched post unless the request budget chose
        "posts_refreshed": (last or {}).get("refreshed", posts_watched),
        # seconds since the watched posts were read, as the last cycle ended
        "refresh_age": (last or {}).get("refresh_age", {"median": None, "oldest": None}),
        # posts the API reported deleted, protected or unreadable that a rule still watches
        "posts_unavailable": unavailable,
        # what the engine runs (it keeps its rules when a reload fails), else what is on disk
        "rules_loaded": (last or {}).get("rules", len(ruleset.rules)),
        "rule_errors": [str(p) for p in ruleset.errors],
        "reload_error": _failure_json(failed_reload),
        "actions": {status: counts.get(status, 0) for status in ("pending", "dead", "sent")},
        "paused": [_pause_json(p) for p in paused],
        "api_budget": {
            "requests_last_minute": used,
            "limit_per_minute": config.engagement_api.requests_per_minute,
        },
        "webhooks_redirected_to": _redirected_to(config.webhooks.redirect_to),
        "engines": _engines(config.database),
        "recording": _recording_json(age, config.poll_interval, waiting),
        "database_disk": _disk_json(disk),
        # what the database takes now (SQLite: the file and its -wal); it grows with the
        # hourly history kept (history: keep)
        "database_size_bytes": size,
    }
    if args.json:
        emit_json(data)
        return 0
    _show(
        data,
        paused,
        moment,
        _trouble(age, config.poll_interval, disk, waiting),
        shown_path(str(config.database)),
    )
    return 0


def _unavailable(ruleset: RuleSet, store: Store, moment: datetime) -> int:
    """The posts the API reported unavailable that an enabled rule still watches."""
    from automation.core.evaluate import compile_rules
    from automation.core.fetch_plan import still_watched

    enabled = compile_rules(r for r in ruleset.rules if r.enabled)
    return len(still_watched(enabled, store.unavailable_posts(None), moment))


def _redirected_to(url: str | None) -> str | None:
    """Where ``webhooks.redirect_to`` delivers, by scheme and host only: a hook URL's path
    or query may hold its token."""
    from automation.engine.webhook import origin

    return origin(url) if url else None


def _recording_json(
    age: float | None, poll_interval: int, waiting: Waiting | None
) -> dict[str, Any]:
    """Seconds since the last recorded cycle (an engine that records nothing, stopped or its
    disk full, leaves it growing), and a long rate-limit wait begun since that cycle: the
    engine runs, and waits."""
    return {
        "last_cycle_age": round(age) if age is not None else None,
        "stale_after": STALE_AFTER_INTERVALS * poll_interval,
        "stale": is_stale(age, poll_interval),
        "waiting": {"until": iso(waiting.until), "why": waiting.why} if waiting else None,
    }


def _trouble(
    age: float | None, poll_interval: int, disk: DiskSpace | None, waiting: Waiting | None
) -> list[list[Any]]:
    """A row for a last cycle that is too old and one for a full disk, each with its fix."""
    silence, full = silence_text(age, poll_interval, disk, waiting), disk_text(disk)
    return [[name, text] for name, text in (("stale", silence), ("disk", full)) if text]


def _show(
    data: dict[str, Any],
    paused: list[Any],
    moment: datetime,
    trouble: list[list[Any]],
    database: str,
) -> None:
    """The status as a two-column table."""
    from automation.engine.pauses import describe

    budget, actions = data["api_budget"], data["actions"]
    rows: list[list[Any]] = [
        ["last cycle", _last_cycle_text(data["last_cycle"])],
        *trouble,
        ["posts watched", data["posts_watched"]],
        ["refresh age", _refresh_text(data)],
        ["posts unavailable", data["posts_unavailable"]],
        ["rules loaded", data["rules_loaded"]],
        ["actions pending", actions["pending"]],
        ["actions dead", actions["dead"]],
        [
            "API budget",
            f"{budget['requests_last_minute']} of {budget['limit_per_minute']} requests in the"
            " last minute",
        ],
    ]
    if data["database_size_bytes"] is not None:
        rows.append(["database", f"{size_text(data['database_size_bytes'])} ({database})"])
    rows.extend(_engine_rows(data["engines"]))
    for record in paused:
        rows.append(["paused", describe(record, moment)])
    if data["webhooks_redirected_to"]:
        redirect = data["webhooks_redirected_to"]
        rows.append(["webhooks", f"all delivered to {redirect} (redirect_to)"])
    reload_error = data["reload_error"]
    if reload_error:
        first = ReloadFailure(reload_error["errors"]).first_line()
        when = f"{reload_error['at']}: " if reload_error["at"] else ""
        rows.append(["failed reload", when + first])
    for problem in data["rule_errors"][:5]:
        rows.append(["rule error", problem])
    print(table(["", ""], rows).split("\n", 2)[2])


def _engines(database: Any) -> dict[str, Any] | None:
    """On PostgreSQL: which engine leads and which stand by (None on SQLite: one engine)."""
    from automation.config.database import PostgresDatabase
    from automation.core.payloads import iso
    from automation.core.records import from_epoch
    from automation.store.postgres_leadership import leader_view

    if not isinstance(database, PostgresDatabase):
        return None
    view = leader_view(database)
    return {
        "state": view.state,
        "leader": view.leader or None,
        "epoch": view.epoch,
        "since": iso(from_epoch(view.since)) if view.since else None,
        "leading": list(view.connected),
        "standby": list(view.standby),
    }


def _engine_rows(engines: dict[str, Any] | None) -> list[list[Any]]:
    if engines is None:
        return []
    state = engines["state"]
    if state == "leading":
        lead = f"{engines['leader']} (epoch {engines['epoch']}, since {engines['since']})"
    elif state == "takeover":
        lead = f"none: {engines['leader']} is gone, a standby takes over"
    else:
        lead = "none: no engine is running"
    rows: list[list[Any]] = [["leader", lead]]
    rows.extend(["standby", name] for name in engines["standby"])
    return rows


def _pause_json(record: Any) -> dict[str, Any]:
    from automation.core.payloads import iso

    return {
        "rule": None if record.all_rules else record.rule_id,
        "all_rules": record.all_rules,
        "by": record.paused_by,
        "since": iso(record.paused_at),
        "until": iso(record.until) if record.until else None,
        "reason": record.reason or None,
    }


def _disk_json(disk: DiskSpace | None) -> dict[str, Any] | None:
    if disk is None:
        return None
    return {
        "directory": disk.directory,
        "free_bytes": disk.free,
        "total_bytes": disk.total,
        "almost_full": disk.almost_full,
    }


def _failure_json(failure: ReloadFailure | None) -> dict[str, Any] | None:
    if failure is None:
        return None
    return {"at": iso(failure.at) if failure.at else None, "errors": failure.errors}


def _refresh_text(data: dict[str, Any]) -> str:
    """The refresh ages, and how many posts the last cycle read when it read fewer."""
    ages = data["refresh_age"]
    if ages.get("median") is None or ages.get("oldest") is None:
        return "unknown"
    text = f"median {age_text(ages['median'])}, oldest {age_text(ages['oldest'])}"
    if data["posts_refreshed"] < data["posts_watched"]:
        text += (
            f" ({data['posts_refreshed']:,} of {data['posts_watched']:,} posts read last cycle:"
            " the request budget chose)"
        )
    return text


def _last_cycle_text(last: dict[str, Any] | None) -> str:
    if not last:
        return "never"
    text = (
        f"{last['at']}: {last['posts']} posts, {last['fired']} fired, "
        f"{last['seeded']} seeded, {last['actions_sent']} actions sent"
    )
    if last.get("errors"):
        text += f", {len(last['errors'])} errors"
    return text
