"""Cycles that test each rule without a window on a post's totals first decide exactly
what cycles evaluating every (rule, post) pair in full decide, over any sequence of
readings, time steps, rearms, pauses, resumes and rule changes; and they do not build the
facts of the pairs the totals settle."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.cycle_decisions import CycleDecisions, decide_cycle
from automation.core.cycle_facts import CycleFacts
from automation.core.evaluate import CompiledRule, compile_rule
from automation.core.facts import RuleState, Snapshot
from automation.core.fetch_plan import plan_fetch
from automation.core.pauses import PauseRecord, PauseState
from automation.core.records import CycleWrite, RuleVersion, WatchedPostRecord
from automation.core.rules import AllOf, AnyOf, Every, Leaf, Limit, Not, Rearm, Rule, Watch

START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OWNED = Watch(accounts=("brand",))
METRICS = ("favorites", "retweets", "replies", "impressions", "engagements")
PUBLIC_METRICS = ("favorites", "retweets", "replies")


def _rules() -> tuple[Rule, ...]:
    """Every firing policy, ``for`` periods, a cap, unknown values, a window, max_age."""
    every_post = Watch(accounts=("brand",), posts=("5", "6"))
    return (
        Rule(id="once", watch=every_post, when=Leaf("favorites", "gte", 3)),
        Rule(id="held", watch=OWNED, when=Leaf("retweets", "gte", 2), for_=600),
        Rule(id="every", watch=every_post, when=None, fire=Every(5, "favorites")),
        Rule(id="rearm", watch=every_post, when=Leaf("replies", "gte", 2), fire=Rearm(900)),
        Rule(
            id="rearm-held",
            watch=OWNED,
            when=Not(Leaf("impressions", "lt", 10)),
            fire=Rearm(0),
            for_=300,
        ),
        Rule(
            id="capped",
            watch=OWNED,
            when=AllOf((Leaf("engagement_rate", "gte", 0.5), Leaf("favorites", "gte", 1))),
            fire=Rearm(0),
            limit=Limit(1, 3600),
        ),
        Rule(
            id="window",
            watch=every_post,
            when=AnyOf((Leaf("favorites", "gte", 2, over=1800), Leaf("replies", "gte", 9))),
            fire=Rearm(0),
        ),
        Rule(
            id="every-held",
            watch=OWNED,
            when=Leaf("favorites", "gte", 1),
            fire=Every(3, "retweets"),
            for_=300,
        ),
        Rule(
            id="young",
            watch=Watch(accounts=("brand",), max_age=3 * 3600),
            when=Leaf("favorites", "lt", 4),
        ),
    )


RULES = _rules()
POSTS = tuple(
    WatchedPostRecord(
        str(n),
        "brand" if n <= 4 else None,
        START - timedelta(hours=n),
        "timeline" if n <= 4 else "explicit",
        START,
    )
    for n in range(1, 7)
)


@dataclass
class Ledger:
    """A store as the cycle sees it: states read afresh each time, versions, firings."""

    states: dict[str, dict[str, RuleState]] = field(default_factory=dict)
    versions: dict[str, RuleVersion] = field(default_factory=dict)
    fired: list[tuple[str, datetime]] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=itertools.count)

    def states_of(self, rule_id: str) -> Mapping[str, RuleState]:
        return dict(self.states.get(rule_id, {}))

    def fired_since(self, rule_id: str, since: datetime) -> int:
        return sum(1 for rid, at in self.fired if rid == rule_id and at >= since)

    def new_id(self) -> str:
        return f"f{next(self.ids)}"

    def commit(self, write: CycleWrite) -> None:
        for rule_id, post_id, state in write.states:
            self.states.setdefault(rule_id, {})[post_id] = state
        for rule_id, fingerprint in write.rule_versions:
            self.versions[rule_id] = RuleVersion(fingerprint, write.at)
        self.fired += [(f.rule_id, f.at) for f in write.firings if f.kind == "fired"]


@dataclass
class World:
    """The readings both ledgers are given: totals, snapshots kept when values change."""

    now: datetime = START
    values: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            p.post_id: dict.fromkeys(METRICS if p.account else PUBLIC_METRICS, 0.0) for p in POSTS
        }
    )
    snapshots: dict[str, list[Snapshot]] = field(default_factory=dict)
    compiled: list[CompiledRule] = field(default_factory=lambda: [compile_rule(r) for r in RULES])
    paused: set[str] = field(default_factory=set)
    resuming: dict[str, bool] = field(default_factory=dict)

    def read(self, unread: frozenset[int]) -> tuple[dict[str, dict[str, float]], CycleFacts]:
        totals = {
            p.post_id: dict(self.values[p.post_id]) for p in POSTS if int(p.post_id) not in unread
        }
        for pid, values in totals.items():
            kept = self.snapshots.setdefault(pid, [])
            if not kept or kept[-1].values != values:
                kept.append(Snapshot(self.now, values))
        posts = {p.post_id: p for p in POSTS}
        snaps = {pid: tuple(s) for pid, s in self.snapshots.items()}
        return totals, CycleFacts(posts, totals, {}, (), snaps, self.now)


_IN_FULL: dict[CompiledRule, CompiledRule] = {}


def in_full(compiled: CompiledRule) -> CompiledRule:
    """The same rule evaluated in full on every post: no test on the totals alone first."""
    found = _IN_FULL.get(compiled)
    if found is None:
        found = _IN_FULL[compiled] = compile_rule(compiled.rule)
        found.quiet_on = None
    return found


def cycle(world: World, ledger: Ledger, facts: CycleFacts, quick: bool = True) -> CycleDecisions:
    """A cycle as the engine runs it, or (not ``quick``) the straightforward one: every
    pair of every rule evaluated in full."""
    rules = world.compiled if quick else [in_full(c) for c in world.compiled]
    plan = plan_fetch(rules, POSTS, world.now)
    pauses = PauseState(
        paused={r: PauseRecord(r, START, "tester") for r in world.paused},
        resuming=dict(world.resuming),
        ended=(),
    )
    decided = decide_cycle(
        plan.watched,
        facts,
        ledger.versions,
        ledger.states_of,
        world.now,
        ledger.new_id,
        pauses,
        ledger.fired_since,
    )
    ledger.commit(decided.write)
    return decided


def _event(world: World, ledgers: tuple[Ledger, ...], event: str, rule: int, post: int) -> None:
    """Something outside the cycle: a rearm, a pause, a resume, a changed or reloaded rule."""
    rule_id = RULES[rule].id
    if event == "rearm":  # of one post, or of all of them (post 0)
        for ledger in ledgers:
            states = ledger.states.get(rule_id, {})
            for pid in [str(post)] if post else list(states):
                states.pop(pid, None)
    elif event == "pause":
        world.paused.add(rule_id)
    elif event in ("resume", "catch up") and rule_id in world.paused:
        world.paused.discard(rule_id)
        world.resuming[rule_id] = event == "catch up"
    elif event == "change":  # a new version: it seeds until it has seen all its posts
        old = world.compiled[rule].rule
        world.compiled[rule] = compile_rule(replace(old, for_=old.for_ + 60))
    elif event == "reload":
        world.compiled = [compile_rule(c.rule) for c in world.compiled]


STEP = st.tuples(
    st.sampled_from([1, 5, 5, 5, 10, 30, 240]),  # minutes since the last cycle
    # (post, metric, change): counts fall too (an unlike), back to a value seen before
    st.lists(
        st.tuples(st.integers(1, 6), st.sampled_from(METRICS), st.integers(-2, 4)), max_size=3
    ),
    st.frozensets(st.integers(1, 6), max_size=2),  # posts the budget left unread
    st.sampled_from([""] * 8 + ["rearm", "pause", "resume", "catch up", "change", "reload"]),
    st.integers(0, len(RULES) - 1),
    st.integers(1, 6),
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.integers(0, 5), st.lists(STEP, min_size=2, max_size=40))
def test_testing_the_totals_first_decides_what_evaluating_every_pair_decides(start, steps):
    world, full, quick = World(), Ledger(), Ledger()
    for values in world.values.values():  # some posts past some thresholds from the start
        values.update((m, float(start * (i % 3))) for i, m in enumerate(values))
    for minutes, moves, unread, event, rule, post in steps:
        world.now += timedelta(minutes=minutes)
        for pid, metric, gained in moves:
            if metric in world.values[str(pid)]:
                value = world.values[str(pid)][metric]
                world.values[str(pid)][metric] = max(0.0, value + gained)
        _event(world, (full, quick), event, rule, post)
        _, facts = world.read(unread)
        expected = cycle(world, full, facts, quick=False)
        got = cycle(world, quick, facts)
        assert got.write == expected.write
        assert got.held == expected.held
        assert got.resumed == expected.resumed
        assert got.reasons == expected.reasons
        assert quick.states == full.states
        world.resuming.clear()


def _counting(world: World) -> Callable[[], int]:
    """Count the full evaluations of every rule from now on."""
    calls = [0]
    for compiled in world.compiled:
        inner = compiled.evaluate

        def evaluate(*args, _inner=inner, **kwargs):
            calls[0] += 1
            return _inner(*args, **kwargs)

        compiled.evaluate = evaluate
    return lambda: calls[0]


def test_a_cycle_evaluates_in_full_only_the_pairs_the_totals_do_not_settle():
    world, ledger = World(), Ledger()
    evaluations = _counting(world)
    for _ in range(2):  # seed, then a steady cycle
        world.now += timedelta(minutes=5)
        cycle(world, ledger, world.read(frozenset())[1])
    before = evaluations()
    world.now += timedelta(minutes=5)
    facts = world.read(frozenset())[1]
    cycle(world, ledger, facts)
    # nothing is true: only the windowed rule, whose answer moves with the clock, ran
    assert evaluations() - before == len(POSTS)
    world.values["1"]["favorites"] = 3.0
    before = evaluations()
    world.now += timedelta(minutes=5)
    decided = cycle(world, ledger, world.read(frozenset())[1])
    # and on post 1: once, which fires, and every-held, whose ``for`` period starts
    assert evaluations() - before == len(POSTS) + 2
    assert [(f.rule_id, f.post_id) for f in decided.write.firings] == [("once", "1")]


def test_a_rearmed_state_is_evaluated_again_though_nothing_else_changed():
    world, ledger = World(), Ledger()
    world.values["1"]["favorites"] = 5.0
    for _ in range(3):
        world.now += timedelta(minutes=5)
        cycle(world, ledger, world.read(frozenset())[1])
    assert ledger.states["once"]["1"].done
    ledger.states["once"].pop("1")  # ``automation rearm once 1``
    world.now += timedelta(minutes=5)
    decided = cycle(world, ledger, world.read(frozenset())[1])
    assert [(f.rule_id, f.post_id, f.kind) for f in decided.write.firings] == [
        ("once", "1", "fired")
    ]


def test_a_rearm_restarting_a_for_period_is_followed_until_it_fires():
    world, ledger = World(), Ledger()
    world.values["1"]["retweets"] = 5.0
    for _ in range(3):  # seeded, then steady
        world.now += timedelta(minutes=5)
        cycle(world, ledger, world.read(frozenset())[1])
    ledger.states["held"].pop("1")  # rearmed: the 10 minutes start again
    kinds = []
    for _ in range(4):
        world.now += timedelta(minutes=5)
        decided = cycle(world, ledger, world.read(frozenset())[1])
        kinds.append([(f.rule_id, f.kind) for f in decided.write.firings])
    assert kinds == [[], [], [("held", "fired")], []]


def test_a_rearm_of_a_post_the_budget_did_not_read_is_seen_when_it_is_read():
    world, ledger = World(), Ledger()
    world.values["1"]["favorites"] = 5.0
    for _ in range(3):
        world.now += timedelta(minutes=5)
        cycle(world, ledger, world.read(frozenset())[1])
    ledger.states["once"].pop("1")
    world.now += timedelta(minutes=5)
    cycle(world, ledger, world.read(frozenset({1}))[1])
    world.now += timedelta(minutes=5)
    decided = cycle(world, ledger, world.read(frozenset())[1])
    assert [(f.rule_id, f.post_id, f.kind) for f in decided.write.firings] == [
        ("once", "1", "fired")
    ]
