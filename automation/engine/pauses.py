"""Pausing and resuming rules: the operations every control (``automation pause`` and
``resume``, the dashboard) shares, and what the engine reads of them each cycle.

Pausing and resuming only set or lift a pause in the database, recording who did it and
when among the changes made by hand (``Store.changes``, listed by the dashboard); the
engine's next cycle acts on it. Nothing here needs the X API or a secret.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from automation.core.durations import format_duration
from automation.core.errors import UsageError
from automation.core.pauses import ALL_RULES, PauseRecord, PauseState, describe_pause, pause_state
from automation.core.payloads import iso
from automation.core.records import ChangeRecord, FiringRecord
from automation.core.wording import no_rule
from automation.engine.events import PauseEvent, Sink
from automation.store.base import Store

__all__ = [
    "PauseKeeper",
    "ResumeResult",
    "current",
    "describe",
    "held_rules",
    "pause",
    "resume",
    "settle",
]

MAX_REASON = 500


def pause(
    store: Store,
    target: str,
    *,
    who: str,
    now: datetime,
    until: datetime | None = None,
    reason: str = "",
    known_rules: Collection[str] = (),
) -> PauseRecord:
    """Pause the rule ``target`` (one of ``known_rules``) or every rule (``ALL_RULES``).

    Pausing a paused rule again keeps when it was paused and takes the new end and reason.
    """
    if target != ALL_RULES and target not in known_rules:
        raise UsageError(_unknown_rule(target, known_rules, "pause"))
    if until is not None and until <= now:
        raise UsageError("a pause must end in the future: give --for a positive duration")
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON:
        raise UsageError(f"the reason is {len(reason)} characters long; keep it to {MAX_REASON}")
    old = next((p for p in store.pauses() if p.rule_id == target), None)
    since = old.paused_at if old is not None and old.active(now) else now
    record = PauseRecord(
        rule_id=target, paused_at=since, paused_by=_who(who), until=until, reason=reason
    )
    store.set_pause(record)
    how_long = f"for {format_duration(int((until - now).total_seconds()))}" if until else ""
    detail = ": ".join(part for part in (how_long or "until resumed", reason) if part)
    store.record_change(ChangeRecord(now, record.paused_by, "pause", target, detail))
    return record


@dataclass(frozen=True)
class ResumeResult:
    """The pauses lifted, and the pause that still holds the rule back, if one does."""

    lifted: tuple[PauseRecord, ...]
    still_paused_by: PauseRecord | None = None


def resume(
    store: Store,
    target: str,
    *,
    who: str,
    now: datetime,
    catch_up: bool = False,
    known_rules: Collection[str] | None = None,
) -> ResumeResult:
    """Lift the pause of ``target``, or every pause (``ALL_RULES``). The engine's next
    cycle seeds what crossed meanwhile, or fires it when ``catch_up``.

    Given ``known_rules``, a ``target`` that is neither among them nor paused is refused as
    ``pause`` refuses it (a paused rule whose file is gone can still be resumed)."""
    records = store.pauses()
    chosen = [r for r in records if r.active(now) and (target == ALL_RULES or r.rule_id == target)]
    if known_rules is not None and not chosen and target not in {ALL_RULES, *known_rules}:
        raise UsageError(_unknown_rule(target, known_rules, "resume"))
    lifted = tuple(
        dataclasses.replace(r, resumed_at=now, resumed_by=_who(who), catch_up=catch_up)
        for r in chosen
    )
    for record in lifted:
        store.set_pause(record)
    if lifted:
        detail = "catching up" if catch_up else ""
        store.record_change(ChangeRecord(now, _who(who), "resume", target, detail))
    held = None
    if target != ALL_RULES:
        held = next(
            (r for r in records if r.all_rules and r.active(now) and r.covers(target)), None
        )
    return ResumeResult(lifted=lifted, still_paused_by=held)


def held_rules(store: Store, now: datetime) -> frozenset[str] | None:
    """The rules whose actions wait in the outbox now; None when every rule is paused."""
    active = [r for r in store.pauses() if r.active(now)]
    if any(r.all_rules for r in active):
        return None
    return frozenset(r.rule_id for r in active)


def current(store: Store, rule_ids: Iterable[str], now: datetime) -> PauseState:
    """Which rules this cycle holds back and which it resumes."""
    return pause_state(store.pauses(), rule_ids, now)


def settle(store: Store, state: PauseState, done: Collection[str]) -> list[PauseRecord]:
    """Forget the ended pauses whose rules this cycle has seeded (``done``: the rule ids
    whose evaluation was recorded in full); returns the pauses forgotten."""
    settled = []
    for record in state.ended:
        covered = [r for r in state.resuming if record.covers(r)]
        if all(r in done for r in covered) and store.clear_pause(record.rule_id, record.paused_at):
            settled.append(record)
    return settled


class PauseKeeper:
    """The engine's side of pauses: after each cycle's evaluation is recorded, settle the
    pauses it resumed and say once what it began to honour, held back and resumed."""

    def __init__(self, store: Store, emit: Sink, *, dry_run: bool) -> None:
        self._store, self._emit, self._dry = store, emit, dry_run
        self._announced: set[tuple[str, datetime]] = set()
        self._held: set[tuple[str, str, str]] = set()

    def after_commit(
        self,
        state: PauseState,
        held: Iterable[FiringRecord],
        resumed: Collection[str],
        now: datetime,
    ) -> None:
        at = iso(now)
        for record in {(r.rule_id, r.paused_at): r for r in state.paused.values()}.values():
            if (record.rule_id, record.paused_at) not in self._announced:
                self._announced.add((record.rule_id, record.paused_at))
                until = iso(record.until) if record.until else ""
                self._emit(
                    PauseEvent(
                        "paused", record.rule_id, record.paused_by, record.reason, until, at=at
                    )
                )
        for firing in held:
            if (firing.rule_id, firing.post_id, firing.key) not in self._held:
                self._held.add((firing.rule_id, firing.post_id, firing.key))
                self._emit(
                    PauseEvent("held", firing.rule_id, post=firing.post_id, key=firing.key, at=at)
                )
        settled = [] if self._dry else settle(self._store, state, resumed)
        for record in settled:
            self._announced.discard((record.rule_id, record.paused_at))
            self._held = {h for h in self._held if not record.covers(h[0])}
            by = record.resumed_by or "its end time"
            self._emit(PauseEvent("resumed", record.rule_id, by, catch_up=record.catch_up, at=at))


def _who(who: str) -> str:
    who = " ".join(who.split())
    if not who:
        raise UsageError("say who pauses or resumes: an empty name is not recorded")
    return who[:100]


def _unknown_rule(rule_id: str, known: Collection[str], command: str) -> str:
    return f"{no_rule(rule_id, known)}; use --all to {command} every rule"


def describe(record: PauseRecord, now: datetime) -> str:
    """A pause as one line for people: which rules, who, until when, why."""
    which = "every rule" if record.all_rules else f"rule {record.rule_id}"
    return f"{which} {describe_pause(record, now)}"
