"""``plan_fetch`` against the straightforward plan it replaced (every rule's posts scanned
twice, once to poll and once in polling order): the same posts in the same order, each rule
with the same posts in the same order, the same metrics, over random posts in any order,
rules with shared and different watches, named posts, max_age and windows; and a plan
keeping what an earlier plan's watches covered against one made afresh."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.evaluate import CompiledRule, compile_rule
from automation.core.fetch_plan import FetchPlan, plan_fetch
from automation.core.metric_names import HOURLY_METRICS
from automation.core.payloads import action_metrics
from automation.core.post_discovery import merge_posts
from automation.core.records import WatchedPostRecord
from automation.core.rules import Leaf, Rule, Watch
from automation.core.watch_index import KeptCovers, WatchIndex

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
IDS = [str(1000 + i) for i in range(12)]
ACCOUNTS = ["brand", "news", "support"]

POSTS = st.builds(
    WatchedPostRecord,
    post_id=st.sampled_from(IDS),
    account=st.sampled_from([*ACCOUNTS, None]),
    created_at=st.integers(0, 100).map(lambda h: NOW - timedelta(hours=h)),
    source=st.sampled_from(["timeline", "timeline", "explicit"]),
    first_seen=st.just(NOW),
    unavailable_at=st.sampled_from([None, None, None, NOW]),
)
MANY_IDS = [str(1000 + i) for i in range(80)]
MANY_POSTS = POSTS.flatmap(lambda p: st.sampled_from(MANY_IDS).map(lambda i: replace(p, post_id=i)))


def watches(ids: list[str]) -> st.SearchStrategy[Watch]:
    return st.builds(
        Watch,
        accounts=st.lists(st.sampled_from(ACCOUNTS), max_size=3).map(tuple),
        posts=st.lists(st.sampled_from(ids), max_size=4 if ids is IDS else 30).map(tuple),
        owner=st.sampled_from([None, "brand"]),
        max_age=st.sampled_from([86400, 2 * 86400, 7 * 86400]),
        max_age_set=st.booleans(),
    )


WHEN = st.sampled_from([Leaf("favorites", "gte", 10), Leaf("retweets", "gte", 2, over=3600), None])


@st.composite
def rules(draw: st.DrawFn, ids: list[str] = IDS) -> list[CompiledRule]:
    watched = draw(st.lists(watches(ids), min_size=1, max_size=4))
    watched.append(replace(watched[0], max_age_set=not watched[0].max_age_set))
    chosen = draw(st.lists(st.sampled_from(watched), max_size=6))  # some share a watch
    return [
        compile_rule(Rule(id=f"r{i}", watch=w, when=draw(WHEN) or Leaf("replies", "gte", 1)))
        for i, w in enumerate(chosen)
    ]


def straightforward(rules: list[CompiledRule], known: list[WatchedPostRecord]):
    def young(posts, watch):
        oldest = watch.oldest(NOW)
        return tuple(p for p in posts if p.created_at >= oldest or not watch.ages_out(p.post_id))

    index = WatchIndex({p.post_id: p for p in known if p.unavailable_at is None})
    polled: dict[str, WatchedPostRecord] = {}
    for r in rules:
        polled.update((p.post_id, p) for p in young(index.covered(r.rule.watch), r.rule.watch))
    evaluated = WatchIndex(polled)
    watched = tuple((r, young(evaluated.covered(r.rule.watch), r.rule.watch)) for r in rules)
    hourly = {
        p.post_id
        for r, posts in watched
        if r.window_metrics & HOURLY_METRICS
        for p in posts
        if p.account is not None
    }
    windowed = {p.post_id for r, posts in watched if r.max_window for p in posts}
    totals = {m for r in rules for m in r.totals_metrics | action_metrics(r.rule)}
    return polled, watched, hourly, windowed, totals


@settings(max_examples=400, derandomize=True, deadline=None)
@given(rules(), st.lists(POSTS, max_size=14))
def test_the_plan_is_the_straightforward_one(rules, posts):
    known = list({p.post_id: p for p in posts}.values())  # any order, one record a post
    plan = plan_fetch(rules, known, NOW)
    polled, watched, hourly, windowed, totals = straightforward(rules, known)
    assert list(plan.posts.items()) == list(polled.items())
    assert [(r, list(p)) for r, p in plan.watched] == [(r, list(p)) for r, p in watched]
    assert plan.hourly_posts == hourly
    assert plan.window_posts == windowed
    assert totals <= plan.totals_metrics


@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    rules(),
    st.lists(POSTS, max_size=14),
    st.lists(POSTS, max_size=4),
    st.lists(st.sampled_from(IDS), max_size=3),
    st.integers(0, 30),
)
def test_a_plan_keeping_the_named_watches_is_the_plan_made_afresh(
    rules, posts, added, gone, minutes
):
    """The next cycle's posts, as the engine keeps them (in the store's order): some added
    or changed, some gone; the plan that keeps the named watches' posts where none of theirs
    changed is the one made without."""
    before = merge_posts([], posts)
    earlier = plan_fetch(rules, before, NOW)
    after = merge_posts(before, added)
    later = NOW + timedelta(minutes=minutes)
    after = [replace(p, unavailable_at=later) if p.post_id in gone else p for p in after]
    changed = frozenset({p.post_id for p in added} | set(gone))
    kept = plan_fetch(rules, after, later, KeptCovers(earlier.covers, changed))
    assert_same(kept, plan_fetch(rules, after, later))


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    rules(MANY_IDS),
    st.lists(MANY_POSTS, min_size=20, max_size=80),
    st.lists(
        st.tuples(
            st.lists(MANY_POSTS, max_size=4),  # added or changed
            st.lists(st.sampled_from(MANY_IDS), max_size=3),  # gone
            st.integers(0, 600),  # minutes later: posts cross max_age
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_plans_keeping_every_watch_cycle_after_cycle_are_the_plans_made_afresh(rules, posts, steps):
    """Cycle after cycle, each plan keeping what the last one's watches covered (accounts
    and named posts, a few posts changed among many) over every post by id, the gone too,
    is the plan made afresh from the available posts."""
    known, now = merge_posts([], posts), NOW
    plan = plan_fetch(rules, known, now)
    for added, gone, minutes in steps:
        now += timedelta(minutes=minutes)
        known = [
            replace(p, unavailable_at=now) if p.post_id in gone else p
            for p in merge_posts(known, added)
        ]
        changed = frozenset({p.post_id for p in added} | set(gone))
        by_id = {p.post_id: p for p in known}  # as the engine keeps them, the gone too
        plan = plan_fetch(rules, by_id, now, KeptCovers(plan.covers, changed))
        assert_same(plan, plan_fetch(rules, [p for p in known if not p.unavailable_at], now))


def timeline(account: str, hours: range) -> list[WatchedPostRecord]:
    return [
        WatchedPostRecord(str(2000 + h), account, NOW - timedelta(hours=h), "timeline", NOW)
        for h in hours
    ]


def test_a_watch_drawing_on_earlier_runs_takes_their_order_first():
    """Polling order is each watch's new posts in turn: the posts a watch named first, then
    the rest of an account's, then the older ones a longer max_age adds."""
    known = merge_posts([], timeline("brand", range(0, 100, 10)))  # 2090 (oldest) ... 2000
    named = Watch(posts=("2050", "2070"), owner="brand")
    recent = Watch(accounts=("brand",), max_age=36 * 3600, max_age_set=True)  # 2030 ... 2000
    week = Watch(accounts=("brand",))
    rules = [
        compile_rule(Rule(id=f"r{i}", watch=w, when=Leaf("replies", "gte", 1)))
        for i, w in enumerate([named, recent, week])
    ]
    plan = plan_fetch(rules, known, NOW)
    week_order = ["2070", "2050", "2030", "2020", "2010", "2000", "2090", "2080", "2060", "2040"]
    assert list(plan.posts) == week_order
    assert [p.post_id for p in plan.watched[2][1]] == week_order
    assert [p.post_id for p in plan.watched[1][1]] == ["2030", "2020", "2010", "2000"]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    st.lists(watches(MANY_IDS), min_size=1, max_size=5),
    st.lists(MANY_POSTS, min_size=20, max_size=80),
    st.booleans(),
)
def test_watches_drawing_on_several_runs_are_in_polling_order(watched, posts, in_store_order):
    """Later watches draw on the posts earlier ones added (the same accounts, other
    max_ages, posts named by ID), the last on every account's: each watch is put in
    polling order by the run that added each of its posts, as the straightforward plan
    orders them, over posts in the store's order or in any."""
    known = (
        merge_posts([], posts) if in_store_order else list({p.post_id: p for p in posts}.values())
    )
    everything = Watch(accounts=tuple(ACCOUNTS), max_age=7 * 86400)
    rules = [
        compile_rule(Rule(id=f"r{i}", watch=w, when=Leaf("replies", "gte", 1)))
        for i, w in enumerate([*watched, everything])
    ]
    plan = plan_fetch(rules, known, NOW)
    polled, expected, *_ = straightforward(rules, known)
    assert list(plan.posts.items()) == list(polled.items())
    assert [(r, list(p)) for r, p in plan.watched] == [(r, list(p)) for r, p in expected]


def assert_same(kept: FetchPlan, fresh: FetchPlan) -> None:
    """The same posts, rules' posts and covers, in the same order."""
    assert list(kept.posts.items()) == list(fresh.posts.items())
    assert [(r, list(p)) for r, p in kept.watched] == [(r, list(p)) for r, p in fresh.watched]
    assert kept == fresh
    assert kept.covers == fresh.covers
