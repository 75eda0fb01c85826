"""The engine's memory of what it read of each watched post, and each cycle's choice of posts.

Kept in the process, not in the store: after a restart every post counts as never read,
which reads the posts in turn until their rates are known again. The choice itself is the
core's (``core.refresh_schedule``); this module feeds it the readings, the budget of one
poll interval and the rules that must see all their posts, and orders the requests so the
likeliest posts are read last, just before the cycle evaluates them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Container, Mapping, Sequence
from datetime import datetime, timedelta

from automation.config.model import Config
from automation.core.facts import RuleState
from automation.core.fetch_plan import FetchPlan
from automation.core.metric_values import compact_totals
from automation.core.records import CycleWrite, RuleVersion, WatchedPostRecord
from automation.core.refresh_outlook import Recent, Watched, outlooks
from automation.core.refresh_schedule import (
    Refresh,
    RefreshAges,
    ages_after,
    refresh_ages,
    schedule_refresh,
)
from automation.x.engagement_plan import EngagementRequest

__all__ = ["RefreshKeeper", "StatesSeen", "forget", "likeliest_last"]


class RefreshKeeper:
    """The posts' recent readings, between cycles."""

    def __init__(self) -> None:
        self._recent: dict[str, Recent] = {}
        self._projecting = False  # the budget chose last cycle: rates are worth keeping
        # the cycle's choice (its plan's posts, the unread posts' times, how many chosen)
        # and the moment every post chosen was read at, for the ages without a walk
        self._chose: tuple[Mapping[str, WatchedPostRecord], Sequence[float], int] | None = None
        self._read_at: float | None = None

    def choose(
        self,
        plan: FetchPlan,
        config: Config,
        now: datetime,
        versions: Mapping[str, RuleVersion],
        resuming: Mapping[str, bool],
    ) -> Refresh:
        """The plan this cycle fetches within one poll interval's request budget."""
        self._chose, self._read_at = None, None
        if len(self._recent) > len(plan.posts):  # forget the posts no rule watches now
            self._recent = {p: r for p, r in self._recent.items() if p in plan.posts}
        complete = {
            r.rule.id
            for r, _ in plan.watched
            if r.rule.id in resuming
            or (v := versions.get(r.rule.id)) is None
            or v.fingerprint != r.fingerprint
        }
        refresh = schedule_refresh(
            plan,
            self._recent,
            budget=config.engagement_api.requests_per_minute * config.poll_interval // 60,
            interval=timedelta(seconds=config.poll_interval),
            max_staleness=timedelta(seconds=config.max_staleness),
            now=now,
            complete=complete,
        )
        self._projecting = refresh.scheduled
        if refresh.unread is not None:
            self._chose = (plan.posts, refresh.unread, len(refresh.plan.posts))
        return refresh

    def remember(
        self,
        watched: Watched,
        chosen: FetchPlan,
        totals: Mapping[str, Mapping[str, float]],
        states_of: Callable[[str], Mapping[str, RuleState]],
        now: datetime,
        *,
        all_answered: bool,
    ) -> None:
        """Keep what ``now``'s cycle read (the posts the plan ``chosen`` asked for); while
        the budget chooses, with projections over every rule watching them (``watched``:
        the whole plan's, so a windowed rule left out for want of its series is projected
        too; the others' read posts are found sooner among those ``chosen``).

        ``totals`` are this cycle's as ``compact`` made them against these readings: a
        post's values are the object read before or differ from it, and are kept as they
        are. A post the answers left out was read too when every request was answered:
        the API leaves out nothing, but a post reported unavailable has no values."""
        at = now.timestamp()
        recent = self._recent
        fresh = (
            outlooks(watched, totals, states_of, recent, now, chosen.watched, compared=True)
            if self._projecting
            else {}
        )
        for pid in chosen.posts:
            if pid in fresh:
                continue
            values = totals.get(pid)
            if values is not None:
                recent[pid] = Recent(at, values)
            elif all_answered:
                recent[pid] = Recent(at, _values(recent.get(pid)))
        recent.update(fresh)
        # every post chosen was read now, and no other: the ages follow from the choice
        self._read_at = at if all_answered and fresh.keys() <= chosen.posts.keys() else None

    def last_values(self, post_id: str) -> Mapping[str, float] | None:
        """The values the engine read of ``post_id`` last, if it read any."""
        seen = self._recent.get(post_id)
        return None if seen is None else seen.values

    def compact(
        self, totals: Mapping[str, Mapping[str, float]]
    ) -> Mapping[str, Mapping[str, float]]:
        """Each post's values of ``totals`` as the engine keeps them past the cycle (the
        store's latest values, this bookkeeping): ``MetricValues``, and the last read's
        object when they did not change (``compact_totals``)."""
        return compact_totals(totals, self.last_values)

    def ages(self, posts: Mapping[str, WatchedPostRecord], now: datetime) -> RefreshAges | None:
        """The refresh ages of ``posts`` after the cycle: from the cycle's choice when it
        chose among these posts and read every one it chose, else by a walk over them."""
        chose, at = self._chose, self._read_at
        self._chose = None  # not holding the plan's posts past the cycle
        if chose is not None and at is not None and chose[0] is posts:
            return ages_after(chose[1], chose[2], at, now)
        return refresh_ages(posts, self._recent, now)


def _values(seen: Recent | None) -> Mapping[str, float]:
    return seen.values if seen is not None else {}


class StatesSeen:
    """The rule states a cycle's decisions read, with what they decided on top: the
    states of each rule's posts after the cycle, for the projections.

    A rule's states come from ``kept`` when it has them (what the store holds, as the
    cycles before left it), else from the store (``read``). The mappings this class makes
    are its own (``_States``), and the next cycle's decisions are written into them in
    place: a copy of every state of a rule that decided anything, each cycle, would cost
    as much memory again as the states themselves. What ``read`` returns is never changed.
    """

    def __init__(
        self,
        read: Callable[[str], Mapping[str, RuleState]],
        kept: Mapping[str, Mapping[str, RuleState]] | None = None,
        held: Container[str] | None = None,
    ) -> None:
        self._read = read
        self._kept = kept or {}
        self._held = held  # the posts whose states are read (None: every post's)
        self._seen: dict[str, Mapping[str, RuleState]] = {}
        self._after: dict[str, _States] = {}
        self._merged: dict[str, Mapping[str, RuleState]] = {}  # states_after's, once made

    def __call__(self, rule_id: str) -> Mapping[str, RuleState]:
        states = self._kept.get(rule_id)
        if states is None:
            states = self._read(rule_id)
            if self._held is not None:  # a mapping of ours: ``forget`` takes posts out
                held = self._held
                states = _States((pid, s) for pid, s in states.items() if pid in held)
        self._seen[rule_id] = states
        return states

    def decided(self, write: CycleWrite) -> None:
        after: dict[str, _States] = {}
        for rule, post, state in write.states:
            found = after.get(rule)
            if found is None:
                found = after[rule] = _States()
            found[post] = state
        self._after = after
        self._merged = {}

    def kept(self) -> dict[str, Mapping[str, RuleState]]:
        """Each rule's states after the cycle, for the next one: the rules read this
        cycle with what they decided on top, and the kept states of the others."""
        return {**self._kept, **{rule_id: self.states_after(rule_id) for rule_id in self._seen}}

    def states_after(self, rule_id: str) -> Mapping[str, RuleState]:
        """The rule's state of each post after the cycle: what it decided, else what
        it read (read now if the decisions did not). Made once a rule: the states kept
        for the next cycle and the projections' are the same mapping, not two copies."""
        merged = self._merged.get(rule_id)
        if merged is None:
            seen = self._seen.get(rule_id)
            if seen is None:
                seen = self(rule_id)
            merged = self._merged[rule_id] = _merged(seen, self._after.get(rule_id))
        return merged


def forget(
    kept: Mapping[str, Mapping[str, RuleState]], post_ids: Collection[str] | None
) -> Mapping[str, Mapping[str, RuleState]]:
    """``kept`` (``StatesSeen.kept``) without the states of ``post_ids``, taken out of the
    mappings of ours in place; None: none kept (the posts they cover changed)."""
    if post_ids is None:
        return {}
    if post_ids:
        for states in kept.values():
            if type(states) is _States:
                for pid in post_ids:
                    states.pop(pid, None)
    return kept


class _States(dict[str, RuleState]):
    """A rule's states as ``StatesSeen`` made them: its own to change."""

    __slots__ = ()


def _merged(seen: Mapping[str, RuleState], decided: _States | None) -> Mapping[str, RuleState]:
    """``seen`` with ``decided`` on top: written into ``seen`` when it is a mapping of
    ours (the states kept from the last cycle), else a new one unless one side is empty."""
    if not decided:
        return seen
    if not seen:
        return decided
    if type(seen) is _States:
        seen.update(decided)
        return seen
    merged = _States(seen)
    merged.update(decided)
    return merged


def likeliest_last(
    requests: Sequence[EngagementRequest], order: Mapping[str, WatchedPostRecord]
) -> list[EngagementRequest]:
    """The same requests, each after those whose posts come earlier in ``order``."""
    place = {pid: i for i, pid in enumerate(order)}
    return sorted(requests, key=lambda r: max(place.get(i, 0) for i in r.tweet_ids))
