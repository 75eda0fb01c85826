"""When to alert about the engine itself, and when to say it recovered. Pure.

Four kinds of trouble: an action went dead, cycles failed ``after`` times in a row, the
API budget kept cycles from finishing for ``after`` poll intervals, a reload failed. Each
kind is told at most once an hour that it is firing (more news within the hour waits and
is counted); once told, its recovery is told once, as soon as it happens. The state is
plain data the service keeps in the database, so a restart neither repeats nor forgets an
alert.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

__all__ = [
    "KINDS",
    "AlertState",
    "KindState",
    "Notice",
    "Observation",
    "due",
    "mark_told",
    "observe",
]

ACTION_DEAD = "action_dead"
CYCLES_FAILING = "cycles_failing"
BUDGET_STALLED = "budget_stalled"
RELOAD_FAILED = "reload_failed"
KINDS = (ACTION_DEAD, CYCLES_FAILING, BUDGET_STALLED, RELOAD_FAILED)
EVERY = timedelta(hours=1)

Status = Literal["firing", "resolved"]


@dataclass(frozen=True)
class KindState:
    active: bool = False
    since: datetime | None = None  # when it became active
    detail: str = ""
    news: int = 0  # occurrences not told yet
    told: Status | None = None
    told_at: datetime | None = None  # when it was last told it is firing


@dataclass(frozen=True)
class AlertState:
    kinds: Mapping[str, KindState] = field(default_factory=dict)
    failed_in_a_row: int = 0
    stalled_seconds: float = 0.0

    def of(self, kind: str) -> KindState:
        return self.kinds.get(kind, KindState())

    def to_json(self) -> str:
        return json.dumps(
            {
                "failed_in_a_row": self.failed_in_a_row,
                "stalled_seconds": self.stalled_seconds,
                "kinds": {k: _kind_json(v) for k, v in self.kinds.items()},
            }
        )

    @classmethod
    def from_json(cls, text: str | None) -> AlertState:
        """The saved state; an empty or unreadable one starts afresh."""
        try:
            data = json.loads(text or "{}")
            kinds = {k: _kind_from(v) for k, v in data.get("kinds", {}).items() if k in KINDS}
            return cls(
                kinds, int(data.get("failed_in_a_row", 0)), float(data.get("stalled_seconds", 0))
            )
        except (ValueError, TypeError, AttributeError, KeyError):
            return cls()


@dataclass(frozen=True)
class Observation:
    """What one cycle showed. ``stalled``: the API request budget kept the cycle from
    finishing within its poll interval (it would have, but for its waits for the budget);
    ``duration`` of stalled cycles in a row adds up to how long the budget has held the
    engine back."""

    failed: bool
    errors: tuple[str, ...] = ()
    stalled: bool = False
    duration: float = 0.0
    dead_new: tuple[str, ...] = ()  # the actions that went dead, described
    dead_total: int = 0
    reload_error: str = ""


@dataclass(frozen=True)
class Notice:
    kind: str
    status: Status
    summary: str
    detail: str
    since: datetime | None
    count: int = 0


def observe(
    state: AlertState, seen: Observation, now: datetime, *, after: int, interval: float
) -> AlertState:
    """The state after a cycle that showed ``seen``."""
    failed = state.failed_in_a_row + 1 if seen.failed else 0
    stalled = state.stalled_seconds + seen.duration if seen.stalled else 0.0
    kinds = dict(state.kinds)

    def update(kind: str, active: bool, detail: str, news: int = 0) -> None:
        old = state.of(kind)
        since = (old.since if old.active else now) if active else None
        kept = detail if active and detail else old.detail
        kinds[kind] = replace(old, active=active, since=since, detail=kept, news=old.news + news)

    dead_detail = seen.dead_new[-1] if seen.dead_new else ""
    dead = seen.dead_total > 0 or bool(seen.dead_new)
    update(ACTION_DEAD, dead, dead_detail, len(seen.dead_new))
    errors = "; ".join(seen.errors[:3])
    update(CYCLES_FAILING, failed >= after, f"{failed} cycles in a row failed: {errors}")
    minutes = round(stalled / 60)
    update(
        BUDGET_STALLED,
        stalled >= after * interval,
        f"cycles have waited for the Engagement API budget for {minutes} min",
    )
    old_reload = state.of(RELOAD_FAILED)
    new_error = bool(seen.reload_error) and seen.reload_error != old_reload.detail
    update(RELOAD_FAILED, bool(seen.reload_error), seen.reload_error, int(new_error))
    return AlertState(kinds, failed, stalled)


def due(state: AlertState, now: datetime) -> list[Notice]:
    """What to tell now: a firing kind not told (or with news) if its last firing notice is
    an hour old, and a recovery of a kind told firing."""
    out = []
    for kind in KINDS:
        s = state.of(kind)
        if s.active and (s.told != "firing" or s.news):
            if s.told_at is None or now - s.told_at >= EVERY:
                out.append(Notice(kind, "firing", _SUMMARY[kind], s.detail, s.since, s.news))
        elif not s.active and s.told == "firing":
            out.append(Notice(kind, "resolved", _RECOVERED[kind], s.detail, s.since))
    return out


def mark_told(state: AlertState, notice: Notice, now: datetime) -> AlertState:
    """The state once ``notice`` was delivered."""
    old = state.of(notice.kind)
    if notice.status == "firing":
        new = replace(old, told="firing", told_at=now, news=0)
    else:
        new = replace(old, told="resolved", news=0)
    return replace(state, kinds={**state.kinds, notice.kind: new})


_SUMMARY = {
    ACTION_DEAD: "an action went dead: it will not be retried unless someone retries it",
    CYCLES_FAILING: "engine cycles keep failing",
    BUDGET_STALLED: "the API request budget keeps cycles from finishing",
    RELOAD_FAILED: "a reload failed: the engine runs the previous config and rules",
}
_RECOVERED = {
    ACTION_DEAD: "no dead actions are left in the outbox",
    CYCLES_FAILING: "cycles succeed again",
    BUDGET_STALLED: "cycles finish within their poll interval again",
    RELOAD_FAILED: "the config and rules were reloaded",
}


def _kind_json(s: KindState) -> dict[str, Any]:
    return {
        "active": s.active,
        "since": _text(s.since),
        "detail": s.detail,
        "news": s.news,
        "told": s.told,
        "told_at": _text(s.told_at),
    }


def _kind_from(data: Mapping[str, Any]) -> KindState:
    told = data.get("told")
    return KindState(
        active=bool(data["active"]),
        since=_moment(data.get("since")),
        detail=str(data.get("detail", "")),
        news=int(data.get("news", 0)),
        told=told if told in ("firing", "resolved") else None,
        told_at=_moment(data.get("told_at")),
    )


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _moment(text: Any) -> datetime | None:
    return None if not text else datetime.fromisoformat(str(text))
