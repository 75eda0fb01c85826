"""``outlooks`` projects only the posts read, once per tuple of posts the rules share, and
combines ``all``/``any`` in one loop: the same ``Recent`` of every post, in the same order,
as projecting every (rule, post) pair of the plan and taking the max/min of the known
moments; the same again when the read posts of a rule without a window are found among
the posts the cycle chose. A post read again as it was, or with no time since, shares
one table of nil rates: the same rates as working each one out."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.evaluate import CompiledRule, compile_rule
from automation.core.facts import RuleState
from automation.core.metric_names import HOURLY_METRICS
from automation.core.metric_values import MetricValues, compact_totals
from automation.core.post_rates import PostRate, Rate
from automation.core.records import WatchedPostRecord
from automation.core.refresh_outlook import (
    NEVER,
    Recent,
    _condition,
    _rule_projection,
    _view,
    outlooks,
)
from automation.core.rules import AllOf, AnyOf, Condition, Every, Leaf, Not, Rearm, Rule, Watch

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
METRICS = ("favorites", "quote_tweets", "impressions", "url_clicks", "engagement_rate")
OWNED = Watch(accounts=("brand",))

leaves = st.builds(
    Leaf,
    st.sampled_from(METRICS),
    st.sampled_from(("gte", "gt", "lt", "lte", "eq")),
    st.sampled_from((0.0, 5.0, 50.0, 0.08)),
    st.sampled_from((None, None, 1800, 3600)),
)
conditions: st.SearchStrategy[Condition] = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(AllOf, st.tuples(inner, inner)),
        st.builds(AnyOf, st.tuples(inner, inner, inner)),
        st.builds(Not, inner),
    ),
    max_leaves=4,
)


@st.composite
def rules(draw: st.DrawFn, n: int) -> CompiledRule:
    when = draw(st.one_of(st.none(), conditions))
    fire = draw(
        st.sampled_from((None, Every(10, "favorites"), Rearm(cooldown=600)))
        if when is not None
        else st.just(Every(10, "favorites"))
    )
    rule = Rule(id=f"r{n}", watch=OWNED, when=when, for_=draw(st.sampled_from((0, 300))))
    if fire is not None:
        rule = Rule(id=rule.id, watch=OWNED, when=when, fire=fire, for_=rule.for_)
    return compile_rule(rule)


plain_values = st.dictionaries(
    st.sampled_from(("favorites", "quote_tweets", "impressions", "engagements")),
    st.sampled_from((0.0, 3.0, 40.0, 55.0, 900.0)),
)
# as the engine holds them (MetricValues) or as given
values = st.one_of(plain_values, plain_values.map(MetricValues))
states = st.one_of(
    st.none(),
    st.builds(
        RuleState,
        holding_since=st.sampled_from((None, NOW - timedelta(minutes=2))),
        last_truth=st.sampled_from((None, True, False)),
        last_fired_at=st.sampled_from((None, NOW - timedelta(minutes=5))),
        milestone=st.sampled_from((0, 10, 50)),
        done=st.booleans(),
    ),
)


def post(n: int) -> WatchedPostRecord:
    created = NOW - timedelta(hours=n % 4)  # one in four created as it is read
    return WatchedPostRecord(str(100 + n), "brand", created, "timeline", created)


def straight_rate(
    values: Mapping[str, float], before: Recent | None, at: float, created_at: datetime
) -> Rate:
    """Growth per second of each metric since the reading before, else since the post was
    created, never negative; NaN for a metric not read; nil for every one (read or not)
    when no time passed."""
    if before is not None and at > before.at:
        old, span = before.values, at - before.at
    else:
        old, span = {}, at - created_at.timestamp()

    def rate(metric: str) -> float:
        if span <= 0:
            return 0.0
        if metric not in values:
            return math.nan
        return max(0.0, (values[metric] - old.get(metric, 0.0)) / span)

    return rate


@st.composite
def readings(
    draw: st.DrawFn, read: list[WatchedPostRecord], posts: list[WatchedPostRecord]
) -> tuple[dict[str, Mapping[str, float]], dict[str, Recent]]:
    """The totals of the posts ``read`` and the readings before of some of ``posts``: the
    same object, equal values or others, read five minutes before or at the same moment."""
    totals = {p.post_id: draw(values) for p in read}
    recent = {}
    for p in draw(st.lists(st.sampled_from(posts), unique=True)):
        now = totals.get(p.post_id)
        how = draw(st.sampled_from(("same", "equal", "other")))
        before = (
            now
            if how == "same" and now is not None
            else MetricValues(dict(now))
            if how == "equal" and now is not None
            else draw(values)
        )
        minutes = draw(st.sampled_from((5, 5, 0)))
        recent[p.post_id] = Recent((NOW - timedelta(minutes=minutes)).timestamp(), before)
    return totals, recent


def every_pair(
    watched, totals, states_of: Callable[[str], Mapping[str, RuleState]], recent, now
) -> dict[str, tuple[float, bool]]:
    """The straightforward path: each rule projected alone on each of its posts read."""
    out: dict[str, tuple[float, bool]] = {}
    at = now.timestamp()
    for compiled, posts in watched:
        project = _rule_projection(compiled)
        windowed = bool(compiled.window_metrics & HOURLY_METRICS)
        for p in posts:
            if p.post_id not in totals:
                continue
            values = totals[p.post_id]
            rate = straight_rate(values, recent.get(p.post_id), at, p.created_at)
            state = states_of(compiled.rule.id).get(p.post_id)
            seconds, opens = project(values, rate, state, at)
            cross, open_ = out.get(p.post_id, (NEVER, False))
            out[p.post_id] = (min(cross, at + seconds), open_ or (windowed and opens))
    assert all(cross >= at for cross, _ in out.values())
    return out


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.data())
def test_projecting_the_read_posts_once_per_shared_tuple_is_projecting_every_pair(data):
    rules_ = [data.draw(rules(n)) for n in range(data.draw(st.integers(1, 4)))]
    posts = [post(n) for n in range(6)]
    tuples = [tuple(data.draw(st.lists(st.sampled_from(posts), unique=True))) for _ in range(2)]
    watched = [(r, tuples[data.draw(st.integers(0, 1))]) for r in rules_]
    read = data.draw(st.lists(st.sampled_from(posts), unique=True))
    totals, recent = data.draw(readings(read, posts))
    kept = {r.rule.id: {p.post_id: s for p in posts if (s := data.draw(states))} for r in rules_}
    asked: list[str] = []

    def states_of(rule_id: str) -> Mapping[str, RuleState]:
        asked.append(rule_id)
        return kept[rule_id]

    got = outlooks(watched, totals, states_of, recent, NOW)

    expected = every_pair(watched, totals, kept.__getitem__, recent, NOW)
    assert list(got) == list(expected)  # the order the pairs first name the posts in
    assert {p: (r.cross_at, r.window_open) for p, r in got.items()} == expected
    assert all(r.at == NOW.timestamp() and r.values == totals[p] for p, r in got.items())
    # a post read as it was keeps the values object read before
    assert all(
        r.values is recent[p].values
        for p, r in got.items()
        if p in recent and recent[p].values == totals[p]
    )
    # a rule's states are asked for once, and only when one of its posts was read
    assert asked == [r.rule.id for r, ps in watched if any(p.post_id in totals for p in ps)]
    # the plan read (the posts chosen, among them every post read; a windowed rule's
    # without some of them, which its projections do not take from there) finds the same
    picked = {p.post_id for p in read + data.draw(st.lists(st.sampled_from(posts)))}

    def narrowed(rule: CompiledRule, ps: tuple[WatchedPostRecord, ...]):
        if rule.window_metrics & HOURLY_METRICS:
            return tuple(p for p in ps if data.draw(st.booleans()))
        return tuple(p for p in ps if p.post_id in picked)

    chosen = [(r, narrowed(r, ps)) for r, ps in watched]
    again = outlooks(watched, totals, kept.__getitem__, recent, NOW, chosen)
    assert list(again.items()) == list(got.items())


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(conditions, min_size=1, max_size=4), values, values)
def test_all_and_any_project_the_latest_and_the_earliest_known_moment(items, now, before):
    rate = PostRate(now, before, 300.0)
    alone = [_condition(c)(now, rate) for c in items]
    known = [s for s in alone if s is not None]
    assert _condition(AllOf(tuple(items)))(now, rate) == (max(known) if known else None)
    assert _condition(AnyOf(tuple(items)))(now, rate) == (min(known) if known else None)
    assert not any(math.isnan(s) for s in known)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.data())
def test_a_posts_rates_are_worked_out_one_by_one_or_shared_nil_alike(data):
    posts = [post(n) for n in range(4)]
    totals, recent = data.draw(readings(posts, posts))
    at = NOW.timestamp()
    for p in posts:
        before = recent.get(p.post_id)
        values, rate = _view(totals[p.post_id], before, at, p.created_at)
        expected = straight_rate(totals[p.post_id], before, at, p.created_at)
        assert values == totals[p.post_id]
        for metric in (*METRICS, "impressions", "engagements", "retweets"):
            got, want = rate(metric), expected(metric)
            assert got == want or (math.isnan(got) and math.isnan(want)), (metric, got, want)


@settings(max_examples=250, derandomize=True, deadline=None)
@given(st.data())
def test_cycles_of_projections_are_every_pair_projected_each_cycle(data):
    """Over cycles as the engine runs them (each cycle's readings the next one's before,
    a post read again as it was handed back as the very object read before), every
    cycle's outlooks are each pair projected on its own on plainly worked-out rates."""
    rules_ = [data.draw(rules(n)) for n in range(data.draw(st.integers(1, 3)))]
    posts = [post(n) for n in range(4)]
    watched = [(r, tuple(data.draw(st.lists(st.sampled_from(posts), unique=True)))) for r in rules_]
    recent: dict[str, Recent] = {}
    now = NOW
    for _ in range(data.draw(st.integers(2, 4))):
        now += timedelta(minutes=data.draw(st.sampled_from((5, 5, 0))))
        totals: dict[str, Mapping[str, float]] = {}
        for p in data.draw(st.lists(st.sampled_from(posts), unique=True)):
            before = recent.get(p.post_id)
            how = data.draw(st.sampled_from(("same", "same", "equal", "other")))
            totals[p.post_id] = (
                before.values
                if how == "same" and before is not None
                else MetricValues(dict(before.values))
                if how == "equal" and before is not None
                else data.draw(values)
            )
        kept = {
            r.rule.id: {p.post_id: s for p in posts if (s := data.draw(states))} for r in rules_
        }
        got = outlooks(watched, totals, kept.__getitem__, recent, now)
        expected = every_pair(watched, totals, kept.__getitem__, recent, now)
        assert {p: (r.cross_at, r.window_open) for p, r in got.items()} == expected
        assert all(r.at == now.timestamp() and r.values == totals[p] for p, r in got.items())
        recent.update(got)


# as a fetch answers: whole counts, now and then a zero written as -0.0 or a NaN
answered = st.dictionaries(
    st.sampled_from(("favorites", "quote_tweets", "impressions", "engagements")),
    st.sampled_from((0.0, -0.0, 3.0, 40.0, 55.0, math.nan)),
)


@settings(max_examples=250, derandomize=True, deadline=None)
@given(st.data())
def test_values_compacted_against_the_readings_need_no_second_comparison(data):
    """Over cycles as the engine runs them (each post's answer compacted against its last
    reading, ``compact_totals``, as the fetch does), ``outlooks`` told the values were
    compared makes the same records as comparing them again: the values object read before
    wherever the answer's numbers are its bytes, and equal values otherwise."""
    rules_ = [data.draw(rules(n)) for n in range(data.draw(st.integers(1, 3)))]
    posts = [post(n) for n in range(4)]
    watched = [(r, tuple(data.draw(st.lists(st.sampled_from(posts), unique=True)))) for r in rules_]
    recent: dict[str, Recent] = {}
    now = NOW
    for _ in range(data.draw(st.integers(2, 4))):
        now += timedelta(minutes=data.draw(st.sampled_from((5, 5, 0))))
        answers: dict[str, Mapping[str, float]] = {}
        for p in data.draw(st.lists(st.sampled_from(posts), unique=True)):
            before = recent.get(p.post_id)
            how = data.draw(st.sampled_from(("same", "signed", "other")))
            answers[p.post_id] = (
                data.draw(answered)
                if before is None or how == "other"
                else {k: -v if how == "signed" and v == 0 else v for k, v in before.values.items()}
            )

        def last(pid: str) -> Mapping[str, float] | None:
            return None if (seen := recent.get(pid)) is None else seen.values

        totals = compact_totals(answers, last)
        kept = {
            r.rule.id: {p.post_id: s for p in posts if (s := data.draw(states))} for r in rules_
        }
        want = outlooks(watched, totals, kept.__getitem__, recent, now)
        got = outlooks(watched, totals, kept.__getitem__, recent, now, compared=True)
        assert list(got) == list(want)
        for pid, record in got.items():
            expected = want[pid]
            assert (record.at, record.cross_at, record.window_open) == (
                expected.at,
                expected.cross_at,
                expected.window_open,
            )
            mine, theirs = record.values, expected.values
            assert mine is theirs or (
                # a zero's sign apart (equal, not the same bytes): the answer's own object
                mine is totals[pid]
                and mine == theirs
                and mine.numbers.tobytes() != theirs.numbers.tobytes()
            )
        recent.update(got)
