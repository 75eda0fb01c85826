"""Rule states kept between cycles: an engine that keeps the states it committed, and reads
them again only after a rearm changed them in the store, decides exactly what an engine
started afresh each cycle (which reads every rule's states from the store) decides; and it
does not read them again."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from cycle_world import NOW, CycleWorld, Timelines
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.errors import StoreError
from automation.core.evaluate import compile_rules
from automation.core.facts import RuleState
from automation.core.records import CommitResult, CycleWrite
from automation.core.rules import Every, Leaf, Rearm, Rule, Watch
from automation.engine.cycle import Engine
from automation.engine.events import FiredEvent
from automation.engine.recorder import DryRun, NoActions
from automation.engine.running_rules import LoadedRules
from automation.store.memory import MemoryStore
from automation.x.engagement_client import FetchResult
from automation.x.engagement_plan import EngagementRequest
from automation.x.v2_client import DiscoveredPost

OWNED = Watch(accounts=("brand",))
RULES = [
    Rule(id="once", watch=OWNED, when=Leaf("favorites", "gte", 5)),
    Rule(id="rearm", watch=OWNED, when=Leaf("retweets", "gte", 2), fire=Rearm(600)),
    Rule(id="every", watch=OWNED, when=None, fire=Every(3, "favorites")),
    Rule(id="held", watch=OWNED, when=Leaf("replies", "gte", 1), for_=600),
]
POSTS = [str(500 + i) for i in range(4)]
METRICS = ("favorites", "retweets", "replies")


@dataclass
class Values:
    """Answers /totals with each post's values as the test sets them."""

    values: dict[str, dict[str, float]] = field(
        default_factory=lambda: {pid: dict.fromkeys(METRICS, 0.0) for pid in POSTS}
    )
    silent: bool = False  # answer no post

    def fetch(self, requests: Iterable[EngagementRequest], compact: object = None) -> FetchResult:
        asked = [pid for r in requests if r.endpoint == "totals" for pid in r.tweet_ids]
        asked = [] if self.silent else asked
        return FetchResult(
            totals=MappingProxyType({pid: dict(self.values[pid]) for pid in asked}),
            hourly=MappingProxyType({}),
            unavailable=frozenset(),
            unsupported=MappingProxyType({}),
            forbidden=frozenset(),
            errors=(),
            failures=(),
            requests_sent=1,
        )


class Store(MemoryStore):
    """The memory store, counting the rule states read; its commits fail while
    ``failing``."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False
        self.reads = 0

    def rule_states(self, rule_id: str) -> dict[str, RuleState]:
        self.reads += 1
        return super().rule_states(rule_id)

    def commit_cycle(self, write: CycleWrite) -> CommitResult:
        if self.failing:
            raise StoreError("disk full: free some space")
        return super().commit_cycle(write)


def world(store: Store, values: Values) -> tuple[CycleWorld, Engine]:
    posts = [DiscoveredPost(pid, NOW - timedelta(hours=1), "") for pid in POSTS]
    w = CycleWorld(list(RULES), store=store, timelines=Timelines({"brand": posts}))
    w.metrics = values  # type: ignore[assignment]
    return w, w.engine()


def fired(w: CycleWorld) -> list[tuple[str, str, str, str]]:
    return [(e.event, e.rule, e.post, e.key) for e in w.events if isinstance(e, FiredEvent)]


def states(store: Store) -> dict[str, dict[str, RuleState]]:
    return {r.id: MemoryStore.rule_states(store, r.id) for r in RULES}


STEP = st.tuples(
    st.sampled_from([1, 5, 5, 15]),  # minutes since the last cycle
    st.lists(st.tuples(st.sampled_from(POSTS), st.sampled_from(METRICS), st.integers(0, 4))),
    st.sampled_from(["", "", "", "rearm", "rearm", "rearm all", "fail", "reload"]),
    st.sampled_from([r.id for r in RULES]),
    st.sampled_from(POSTS),
)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.integers(0, 6), st.lists(STEP, min_size=2, max_size=25))
def test_keeping_rule_states_decides_what_reading_them_every_cycle_decides(start, steps):
    values = Values()
    for i, pid in enumerate(POSTS):  # some posts past some thresholds once the rules seed
        values.values[pid] = {m: float((start + i + j) % 7) for j, m in enumerate(METRICS)}
    kept_store, read_store = Store(), Store()
    kept, kept_engine = world(kept_store, values)
    read, _ = world(read_store, values)
    for minutes, moves, event, rule, post in steps:
        for pid, metric, gained in moves:
            values.values[pid][metric] += gained
        for w, store in ((kept, kept_store), (read, read_store)):
            w.now += timedelta(minutes=minutes)
            store.failing = event == "fail"
            if event.startswith("rearm"):
                store.rearm(rule, None if event == "rearm all" else post, w.now)
        if event == "reload":  # the same rules, compiled anew
            kept_engine.rules = LoadedRules(rules=compile_rules(kept.rules), files=())
        kept_engine.cycle()
        read.engine().cycle()  # a new engine: it reads every state from the store
        assert fired(kept) == fired(read)
        assert states(kept_store) == states(read_store)


def _cycles(w: CycleWorld, engine: Engine, n: int) -> None:
    for _ in range(n):
        w.now += timedelta(minutes=5)
        engine.cycle()


def test_each_rule_states_are_read_once_then_kept():
    store, values = Store(), Values()
    w, engine = world(store, values)
    values.values[POSTS[0]]["favorites"] = 7.0  # some decisions to commit
    _cycles(w, engine, 1)
    assert store.reads == len(RULES)
    _cycles(w, engine, 3)
    assert store.reads == len(RULES)


def test_a_rearm_between_cycles_is_read_and_the_post_fires_again():
    store, values = Store(), Values()
    w, engine = world(store, values)
    _cycles(w, engine, 1)  # seeds the new rules on quiet posts
    values.values[POSTS[1]]["favorites"] = 5.0
    _cycles(w, engine, 2)
    store.rearm("once", POSTS[1], w.now)
    reads = store.reads
    _cycles(w, engine, 1)
    assert store.reads == reads + len(RULES)
    once = [f for f in fired(w) if f[:3] == ("fired", "once", POSTS[1])]
    assert len(once) == 2


def test_a_rearm_seen_by_a_cycle_that_read_no_post_of_the_rule_is_not_forgotten():
    store, values = Store(), Values()
    w, engine = world(store, values)
    _cycles(w, engine, 1)
    values.values[POSTS[1]]["favorites"] = 5.0
    _cycles(w, engine, 2)
    store.rearm("once", POSTS[1], w.now)
    values.silent = True  # the cycle that sees the rearm evaluates no rule
    _cycles(w, engine, 1)
    values.silent = False
    _cycles(w, engine, 1)
    once = [f for f in fired(w) if f[:3] == ("fired", "once", POSTS[1])]
    assert len(once) == 2


def test_the_decisions_of_a_commit_that_failed_are_not_kept():
    store, values = Store(), Values()
    w, engine = world(store, values)
    _cycles(w, engine, 1)
    values.values[POSTS[2]]["favorites"] = 6.0
    store.failing = True
    _cycles(w, engine, 1)  # decides "once" fired on the post, records nothing
    store.failing = False
    _cycles(w, engine, 1)
    assert ("fired", "once", POSTS[2], "once") in fired(w)
    assert states(store)["once"][POSTS[2]].done


def test_a_dry_run_reads_the_states_every_cycle():
    store, values = Store(), Values()
    w, live = world(store, values)
    dry = Engine(
        config=live.config,
        rules=live.rules,
        store=store,
        engagement=values,
        x_client=w.timelines,
        dispatcher=NoActions(),
        clock=lambda: w.now,
        new_id=lambda: "f",
        emit=w.events.append,
        recorder=DryRun(),
    )
    _cycles(w, dry, 3)
    assert store.reads == 3 * len(RULES)


class RearmedDuringCycle(Store):
    """A rearm by another process (``automation rearm``) that commits while a cycle runs:
    after the cycle read the rule's states, before its commit."""

    def __init__(self) -> None:
        super().__init__()
        self.rearm_at_commit: tuple[str, str] | None = None

    def commit_cycle(self, write: CycleWrite) -> CommitResult:
        if self.rearm_at_commit is not None:
            rule_id, post_id = self.rearm_at_commit
            self.rearm_at_commit = None
            self.rearm(rule_id, post_id, write.at)
        return super().commit_cycle(write)


def test_a_rearm_committed_while_a_cycle_runs_is_not_undone_by_its_commit():
    """The cycle decides the post from the state the rearm forgets (the rule fired, its
    cooldown runs) and writes a new one (the condition went false): the rearm must stand,
    so the post fires again as soon as the condition holds, not after the cooldown."""
    store, values = RearmedDuringCycle(), Values()
    w, engine = world(store, values)
    _cycles(w, engine, 1)  # seeds the new rules on quiet posts
    values.values[POSTS[1]]["retweets"] = 3.0
    _cycles(w, engine, 1)
    values.values[POSTS[1]]["retweets"] = 1.0
    store.rearm_at_commit = ("rearm", POSTS[1])
    _cycles(w, engine, 1)
    assert MemoryStore.rule_state(store, "rearm", POSTS[1]) is None
    values.values[POSTS[1]]["retweets"] = 3.0
    _cycles(w, engine, 1)  # 5 minutes after the first firing: within its 10-minute cooldown
    again = [f for f in fired(w) if f[:3] == ("fired", "rearm", POSTS[1])]
    assert len(again) == 2
