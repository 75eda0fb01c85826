"""Pausing rules without editing files: the record the store keeps, and what it means now.

A pause is a row in the database, set and lifted by people (``automation pause`` / ``resume``,
the dashboard) and read by the engine. A paused rule is still evaluated, but records nothing
and performs nothing. Lifting a pause (by hand, or when its ``until`` passes) does not forget
it at once: the record stays, *ended*, until the engine's next cycle has seeded what crossed
meanwhile (or, with ``catch_up``, fired it), so a resume never floods. Pure: ``now`` is
always an argument.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from automation.core.payloads import iso

__all__ = ["ALL_RULES", "PauseRecord", "PauseState", "describe_pause", "pause_state"]

ALL_RULES = "*"  # the rule id of ``pause --all``


@dataclass(frozen=True)
class PauseRecord:
    """One pause: of ``rule_id``, or of every rule when it is ``ALL_RULES``. ``by`` and
    ``resumed_by`` say who (a login, ``dashboard``); ``until`` ends it by itself."""

    rule_id: str
    paused_at: datetime
    paused_by: str
    until: datetime | None = None
    reason: str = ""
    resumed_at: datetime | None = None
    resumed_by: str | None = None
    catch_up: bool = False

    @property
    def all_rules(self) -> bool:
        return self.rule_id == ALL_RULES

    def active(self, now: datetime) -> bool:
        """Holding its rules back at ``now``: not resumed, and ``until`` not reached."""
        return self.resumed_at is None and (self.until is None or now < self.until)

    def covers(self, rule_id: str) -> bool:
        return self.all_rules or self.rule_id == rule_id


@dataclass(frozen=True)
class PauseState:
    """What the engine does with each rule this cycle.

    ``paused``: rule id → the pause holding it back (evaluate, record nothing, act on
    nothing). ``resuming``: rule id → whether to catch up; its pause ended since the last
    cycle, so this cycle seeds what meets the rule now (or fires it, when catching up).
    ``ended``: the ended records this cycle settles once it has recorded its evaluation.
    """

    paused: Mapping[str, PauseRecord]
    resuming: Mapping[str, bool]
    ended: tuple[PauseRecord, ...]

    @property
    def any(self) -> bool:
        return bool(self.paused or self.resuming)


def pause_state(
    records: Iterable[PauseRecord], rule_ids: Iterable[str], now: datetime
) -> PauseState:
    """Which of ``rule_ids`` are paused or resuming at ``now``.

    A rule covered by any active pause is paused, whatever else ended; one whose own pause or
    the all-rules pause ended (and that nothing holds) resumes, catching up only if every
    ended pause covering it asked to.
    """
    records = tuple(records)
    active = [r for r in records if r.active(now)]
    ended = tuple(r for r in records if not r.active(now))
    paused: dict[str, PauseRecord] = {}
    resuming: dict[str, bool] = {}
    for rule_id in rule_ids:
        holding = next((r for r in active if r.covers(rule_id)), None)
        if holding is not None:
            paused[rule_id] = holding
            continue
        lifted = [r for r in ended if r.covers(rule_id)]
        if lifted:
            resuming[rule_id] = all(r.catch_up and r.resumed_at is not None for r in lifted)
    return PauseState(paused=paused, resuming=resuming, ended=ended)


def describe_pause(
    record: PauseRecord, now: datetime, moment: Callable[[datetime], str] = iso
) -> str:
    """``paused by alice since 2026-11-26T12:00:00Z until ...: reason``, for people.

    ``moment`` writes each time: the commands' own form by default, as ``status`` and
    ``history`` write times; the dashboard passes its own (``3 h ago``, the time on hover).
    """
    text = f"paused by {record.paused_by} since {moment(record.paused_at)}"
    if record.resumed_at is not None:
        text = f"resumed by {record.resumed_by} at {moment(record.resumed_at)} (settles next cycle)"
    elif record.until is not None:
        text += f" until {moment(record.until)}" if now < record.until else " (expired)"
    if record.reason:
        text += f": {record.reason}"
    return text
