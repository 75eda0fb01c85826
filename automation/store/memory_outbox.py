"""The outbox of ``MemoryStore``: claiming due actions, recording attempts, listing them."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable
from datetime import datetime

from automation.core.errors import StoreError
from automation.core.records import (
    ACTION_STATUSES,
    AttemptOutcome,
    AttemptRecord,
    OutboxItem,
    checked_retry_at,
    utc,
)
from automation.store.memory_data import MemoryData, within

__all__ = ["MemoryOutbox"]


class MemoryOutbox:
    """``Store``'s outbox methods over ``MemoryData``; ``_held`` are the actions handed out
    by ``claim_actions`` and not yet recorded or released."""

    _d: MemoryData
    _held: set[str]

    def claim_actions(
        self, now: datetime, limit: int, *, skip_rules: Collection[str] = ()
    ) -> list[OutboxItem]:
        when = utc(now)
        due = [
            (item.next_attempt_at, seq, item)
            for seq, item in self._d.outbox.values()
            if item.status == "pending"
            and item.next_attempt_at
            and item.next_attempt_at <= when
            and item.id not in self._held
            and item.rule_id not in skip_rules
        ]
        claimed: list[OutboxItem] = []
        for _, _, item in sorted(due, key=lambda t: (t[0], t[1]))[:limit]:
            if item.id in self._held:
                continue  # came with its digest already
            claimed.append(item)
            self._held.add(item.id)
            if item.digest is not None:
                claimed.extend(self._claim_digest(item.digest))
        return claimed

    def _claim_digest(self, digest: str) -> list[OutboxItem]:
        """The other pending actions of ``digest``: they go out in one request with it."""
        members = [
            item
            for _, item in sorted(self._d.outbox.values(), key=lambda t: t[0])
            if item.digest == digest and item.status == "pending" and item.id not in self._held
        ]
        self._held.update(item.id for item in members)
        return members

    def release_actions(self, action_ids: Iterable[str], *, due_at: datetime | None = None) -> None:
        for action_id in action_ids:
            self._held.discard(action_id)
            found = self._d.outbox.get(action_id)
            if due_at is not None and found is not None and found[1].status == "pending":
                seq, item = found
                self._d.outbox[action_id] = (
                    seq,
                    dataclasses.replace(item, next_attempt_at=utc(due_at)),
                )

    def record_attempt(
        self,
        action_id: str,
        *,
        at: datetime,
        outcome: AttemptOutcome,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> None:
        found = self._d.outbox.get(action_id)
        if found is None:
            raise StoreError(f"no action {action_id!r} in the outbox")
        seq, item = found
        when = utc(at)
        retry_at = checked_retry_at(item, outcome, next_attempt_at)
        attempt = AttemptRecord(action_id, item.attempts + 1, when, outcome, error, retry_at)
        self._d.attempts.setdefault(action_id, []).append(attempt)
        self._held.discard(action_id)
        updated = dataclasses.replace(
            item,
            status="pending" if outcome == "retry" else outcome,
            attempts=item.attempts + 1,
            next_attempt_at=retry_at,
            last_error=error,
        )
        self._d.outbox[action_id] = (seq, updated)

    def actions(
        self,
        status: str | None = None,
        limit: int = 100,
        *,
        rule_id: str | None = None,
        post_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[OutboxItem]:
        found = [
            (item.created_at, seq, item)
            for seq, item in self._d.outbox.values()
            if (status is None or item.status == status)
            and (rule_id is None or item.rule_id == rule_id)
            and (post_id is None or item.post_id == post_id)
            and within(item.created_at, since, until)
        ]
        found.sort(key=lambda t: (t[0], t[1]), reverse=True)
        return [item for _, _, item in found][:limit]

    def action(self, action_id: str) -> OutboxItem | None:
        found = self._d.outbox.get(action_id)
        return found[1] if found else None

    def retry_actions(
        self, now: datetime, *, action_id: str | None = None, rule_id: str | None = None
    ) -> list[str]:
        dead = {i: entry for i, entry in self._d.outbox.items() if entry[1].status == "dead"}
        chosen = {
            i: item
            for i, (_, item) in dead.items()
            if action_id in (None, i) and rule_id in (None, item.rule_id)
        }
        digests = {item.digest for item in chosen.values() if item.digest is not None}
        ids = sorted(i for i, (_, item) in dead.items() if i in chosen or item.digest in digests)
        for member_id in ids:  # the rest of a digest goes with it, as one request
            seq, item = dead[member_id]
            self._d.outbox[member_id] = (
                seq,
                dataclasses.replace(item, status="pending", next_attempt_at=utc(now)),
            )
        return ids

    def action_counts(self, rule_id: str | None = None) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(ACTION_STATUSES, 0)
        for _, item in self._d.outbox.values():
            if rule_id is None or item.rule_id == rule_id:
                counts[item.status] += 1
        return counts

    def oldest_pending_at(self) -> datetime | None:
        queued = [i.created_at for _, i in self._d.outbox.values() if i.status == "pending"]
        return min(queued, default=None)

    def attempts(self, action_id: str) -> list[AttemptRecord]:
        return list(self._d.attempts.get(action_id, []))
