"""Which posts a cycle refreshes when the request budget cannot read every watched post."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.evaluate import compile_rule
from automation.core.facts import RuleState
from automation.core.fetch_plan import MAX_IDS, FetchPlan, plan_fetch
from automation.core.records import WatchedPostRecord
from automation.core.refresh_outlook import NEVER, Recent, outlooks
from automation.core.refresh_schedule import fewest_requests, plan_cost, schedule_refresh
from automation.core.rules import Every, Leaf, Rearm, Rule, Watch
from automation.x.engagement_plan import WatchedPost, plan_requests

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
INTERVAL = 5 * MINUTE
HOUR = timedelta(hours=1)
ACCOUNTS = ("brand", "news")
LIKES = compile_rule(
    Rule(id="likes", watch=Watch(accounts=ACCOUNTS), when=Leaf("favorites", "gte", 100))
)


def post(n: int, account: str | None = "brand", age: timedelta = 2 * HOUR) -> WatchedPostRecord:
    """Post ``n``, created ``age`` before NOW and found then, or at NOW if it is older."""
    return WatchedPostRecord(
        post_id=str(1000 + n),
        account=account,
        created_at=NOW - age,
        source="timeline",
        first_seen=NOW - min(age, timedelta(0)),
    )


def plan_of(rules, posts) -> FetchPlan:
    return plan_fetch(rules, posts, NOW)


def requests_of(plan: FetchPlan):
    return plan_requests(
        [WatchedPost(p.post_id, p.account) for p in plan.posts.values()],
        totals_metrics=plan.totals_metrics,
        hourly_posts=plan.hourly_posts,
        hourly_metrics=plan.hourly_metrics,
    )


def read(posts, at: datetime, values=None, cross_at: float = NEVER) -> dict[str, Recent]:
    return {
        p.post_id: Recent(at.timestamp(), values or {"favorites": 10.0}, cross_at) for p in posts
    }


def schedule(plan, recent, budget, now=NOW, staleness=HOUR, **kw):
    return schedule_refresh(
        plan, recent, budget=budget, interval=INTERVAL, max_staleness=staleness, now=now, **kw
    )


# --- the budget covers every post -------------------------------------------------------------


def test_a_budget_that_covers_every_post_reads_every_post_with_the_same_requests():
    posts = [post(i, ACCOUNTS[i % 2]) for i in range(600)]
    plan = plan_of([LIKES], posts)
    needed = len(requests_of(plan))
    assert plan_cost(plan) == needed == 4  # 300 posts per account: two /totals each

    refresh = schedule(plan, read(posts, NOW - MINUTE), budget=needed)

    assert not refresh.scheduled and refresh.plan is plan and refresh.requests == needed
    assert schedule(plan, {}, budget=needed - 1).scheduled


@settings(max_examples=40, derandomize=True, deadline=None)
@given(
    owners=st.lists(st.sampled_from([*ACCOUNTS, "support", None]), min_size=1, max_size=1500),
    windowed=st.booleans(),
    public_watched=st.booleans(),
    metric=st.sampled_from(["favorites", "impressions"]),  # impressions: owned posts only
    public_metric=st.sampled_from(["favorites", "impressions"]),
)
def test_the_cost_of_a_plan_is_the_requests_it_builds(
    owners, windowed, public_watched, metric, public_metric
):
    posts = [post(i, owner) for i, owner in enumerate(owners)]
    when = Leaf(metric, "gte", 100)
    rules = [compile_rule(Rule(id="first", watch=Watch(accounts=ACCOUNTS), when=when))]
    if windowed:
        over = Leaf(metric, "gte", 30, over=1800)
        rules.append(compile_rule(Rule(id="surge", watch=Watch(accounts=ACCOUNTS), when=over)))
    if public_watched:
        public = tuple(p.post_id for p in posts if p.account is None) or ("1",)
        when = Leaf(public_metric, "gte", 50)
        rules.append(compile_rule(Rule(id="public", watch=Watch(posts=public), when=when)))
    plan = plan_of(rules, posts)

    assert plan_cost(plan) == len(requests_of(plan))
    assert fewest_requests(plan) <= plan_cost(plan)


# --- likely crossings first -------------------------------------------------------------------


def test_a_post_about_to_cross_is_chosen_over_flat_ones_and_read_last():
    flat = [post(i) for i in range(2000)]
    rising = post(9999)
    plan = plan_of([LIKES], [*flat, rising])
    before = read([*flat, rising], NOW - 10 * MINUTE, {"favorites": 80.0})
    before.update(read(flat, NOW - 10 * MINUTE))
    # read again 5 minutes ago: the flat posts did not move, the rising one gained 15 likes
    got = outlooks(
        plan.watched,
        {p.post_id: {"favorites": 10.0} for p in flat} | {rising.post_id: {"favorites": 95.0}},
        lambda rule: {},
        before,
        NOW - INTERVAL,
    )
    assert got[rising.post_id].cross_at < NOW.timestamp()  # 5 likes to go at 3 a minute
    assert all(got[p.post_id].cross_at == NEVER for p in flat)

    refresh = schedule(plan, got, budget=2)  # 500 of the 2,001 posts

    chosen = list(refresh.plan.posts)
    assert rising.post_id in chosen and chosen[-1] == rising.post_id
    assert len(chosen) == 500 and refresh.requests == 2


def test_a_post_six_hours_old_is_chosen_over_older_ones_read_as_long_ago():
    old = [post(i, age=48 * HOUR) for i in range(1000)]
    young = post(9999, age=6 * HOUR)  # young still, at the edge
    plan = plan_of([LIKES], [*old, young])
    refresh = schedule(plan, read([*old, young], NOW - 10 * MINUTE), budget=1)
    chosen = list(refresh.plan.posts)
    assert len(chosen) == 250 and chosen[-1] == young.post_id


def test_the_posts_read_longest_ago_are_read_before_likely_ones_to_keep_max_staleness():
    # max_staleness of 1 h at 5 min intervals: each post read within 11 cycles, so a
    # cycle reads the 1,101 / 11 = 101 (rounded up) read longest ago, whatever is likely
    old = [post(i, age=48 * HOUR) for i in range(101)]
    young = [post(1000 + i, age=HOUR) for i in range(1000)]
    recent = read(old, NOW - 55 * MINUTE) | read(young, NOW - MINUTE)
    chosen = schedule(plan_of([LIKES], [*old, *young]), recent, budget=1).plan.posts
    assert len(chosen) == 250 and all(p.post_id in chosen for p in old)


def test_with_max_staleness_two_intervals_every_post_is_read_whatever_the_budget():
    posts = [post(i, age=48 * HOUR) for i in range(600)]
    recent = read(posts, NOW - 5 * MINUTE)
    refresh = schedule(plan_of([LIKES], posts), recent, budget=1, staleness=2 * INTERVAL)
    assert len(refresh.plan.posts) == 600 and refresh.requests == 3


def test_a_post_never_read_is_read_before_any_read_since_it_was_found():
    posts = [post(i, age=48 * HOUR) for i in range(1000)]
    recent = read(posts[:700], NOW - 30 * MINUTE)
    recent.update(read(posts[700:], NOW - 30 * MINUTE, cross_at=NOW.timestamp()))  # likely
    found = post(5000, age=MINUTE)  # found and never read since
    plan = plan_of([LIKES], [*posts, found])
    chosen = schedule(plan, recent, budget=1).plan.posts
    assert len(chosen) == 250 and found.post_id in chosen  # among the 91 read longest ago


def test_a_post_projected_to_cross_just_as_the_cycle_reads_is_read_last():
    posts = [post(i, age=48 * HOUR) for i in range(1000)]
    recent = read(posts, NOW - 5 * MINUTE)
    due = posts[-1]
    recent[due.post_id] = Recent(
        (NOW - 5 * MINUTE).timestamp(), {"favorites": 10.0}, (NOW + INTERVAL).timestamp()
    )
    chosen = list(schedule(plan_of([LIKES], posts), recent, budget=1).plan.posts)
    assert len(chosen) == 250 and chosen[-1] == due.post_id


@settings(max_examples=25, derandomize=True, deadline=None)
@given(
    ages=st.lists(st.integers(min_value=1, max_value=50), min_size=300, max_size=700),
    budget=st.integers(min_value=1, max_value=3),
    gap=st.integers(min_value=1, max_value=30),
)
def test_a_post_projected_to_cross_is_always_chosen(ages, budget, gap):
    """Whatever the flat posts' ages, a post projected to cross before the cycle reads it
    is chosen, as long as the budget holds more than the staleness share."""
    flat = [post(i) for i in range(len(ages))]
    hot = post(9999)
    plan = plan_of([LIKES], [*flat, hot])
    recent = {
        p.post_id: Recent((NOW - age * MINUTE).timestamp(), {"favorites": 1.0})
        for p, age in zip(flat, ages, strict=True)
    }
    recent[hot.post_id] = Recent(
        (NOW - MINUTE).timestamp(),
        {"favorites": 99.0},
        (NOW + gap * timedelta(seconds=10)).timestamp(),
    )
    refresh = schedule(plan, recent, budget=budget)
    assert hot.post_id in refresh.plan.posts


# --- no post starves --------------------------------------------------------------------------


@settings(max_examples=5, derandomize=True, deadline=None)
@given(
    posts=st.integers(min_value=260, max_value=600),
    staleness_intervals=st.integers(min_value=3, max_value=12),
    budget=st.integers(min_value=1, max_value=4),
    hot_every=st.integers(min_value=2, max_value=9),
    new_every=st.integers(min_value=1, max_value=30),
)
def test_no_post_waits_longer_than_max_staleness_over_a_simulated_week(
    posts, staleness_intervals, budget, hot_every, new_every
):
    """A week of 30-minute cycles: many posts look about to cross all the time, new posts
    arrive, and still every post is read within max_staleness of its last reading."""
    interval = timedelta(minutes=30)
    staleness = interval * staleness_intervals
    known = [post(i, ACCOUNTS[i % 2]) for i in range(posts)]
    start = NOW
    last: dict[str, datetime] = {}
    for cycle in range(7 * 24 * 2):
        now = start + cycle * interval
        if cycle % new_every == 0:
            known.append(post(len(known), ACCOUNTS[cycle % 2], age=-(now - NOW)))
        plan = plan_fetch([LIKES], known, now)
        recent = {
            pid: Recent(
                at.timestamp(),
                {"favorites": 1.0},
                # every hot_every-th post is forever about to cross
                now.timestamp() if int(pid) % hot_every == 0 else NEVER,
            )
            for pid, at in last.items()
        }
        refresh = schedule_refresh(
            plan, recent, budget=budget, interval=interval, max_staleness=staleness, now=now
        )
        for pid in refresh.plan.posts:
            last[pid] = now
        oldest = min(last.get(p.post_id, p.first_seen) for p in plan.posts.values())
        assert now - oldest <= staleness - interval, f"cycle {cycle}"


# --- the requests -----------------------------------------------------------------------------


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    owners=st.lists(st.sampled_from([*ACCOUNTS, "support", None]), min_size=1, max_size=1500),
    hot=st.sets(st.integers(min_value=0, max_value=1499), max_size=200),
    budget=st.integers(min_value=4, max_value=12),  # the staleness share always fits
)
def test_the_chosen_posts_take_the_fewest_requests_and_never_more_than_the_budget(
    owners, hot, budget
):
    surge = compile_rule(
        Rule(
            id="surge",
            watch=Watch(accounts=("brand", "news", "support")),
            when=Leaf("favorites", "gte", 30, over=1800),
        )
    )
    posts = [post(i, owner) for i, owner in enumerate(owners)]
    public = [p.post_id for p in posts if p.account is None]
    likes = compile_rule(
        Rule(id="public", watch=Watch(posts=tuple(public)), when=Leaf("favorites", "gte", 50))
    )
    plan = plan_of([LIKES, surge, likes], posts)
    recent = {
        p.post_id: Recent(
            (NOW - 20 * MINUTE).timestamp(),
            {"favorites": 1.0},
            NOW.timestamp() if i in hot else NEVER,
            window_open=i in hot,
        )
        for i, p in enumerate(posts)
    }
    refresh = schedule(plan, recent, budget=budget, staleness=48 * HOUR)
    sent = requests_of(refresh.plan)

    assert len(sent) == refresh.requests
    assert refresh.requests <= max(budget, plan_cost(plan))
    if refresh.scheduled:
        assert refresh.requests <= budget
    # the fewest requests: per owner and endpoint, every request but the last is full
    sizes = Counter((r.endpoint, r.account) for r in sent)
    for (endpoint, account), count in sizes.items():
        mine = [r for r in sent if (r.endpoint, r.account) == (endpoint, account)]
        assert all(len(r.tweet_ids) == MAX_IDS[endpoint] for r in mine[:-1])
        ids = sum(len(r.tweet_ids) for r in mine)
        assert count == math.ceil(ids / MAX_IDS[endpoint])
    # a series only where the window could change its answer
    assert refresh.plan.hourly_posts <= {posts[i].post_id for i in hot if i < len(posts)} | (
        frozenset() if refresh.scheduled else plan.hourly_posts
    )


def test_a_windowed_rule_is_evaluated_only_on_owned_posts_read_with_their_series():
    surge = compile_rule(
        Rule(
            id="surge",
            watch=Watch(accounts=("brand",)),
            when=Leaf("favorites", "gte", 30, over=1800),
            fire=Rearm(),
        )
    )
    posts = [post(i) for i in range(600)]
    plan = plan_of([LIKES, surge], posts)
    quiet = read(posts, NOW - 10 * MINUTE)
    busy = posts[7]
    quiet[busy.post_id] = Recent((NOW - 10 * MINUTE).timestamp(), {}, NEVER, window_open=True)

    refresh = schedule(plan, quiet, budget=3)

    assert refresh.plan.hourly_posts == {busy.post_id}
    (_, likes), (_, windowed) = refresh.plan.watched
    assert [p.post_id for p in windowed] == [busy.post_id]
    assert len(likes) == len(refresh.plan.posts) > 1


def test_the_whole_plan_lets_go_of_the_sets_only_the_choice_reads():
    surge = compile_rule(
        Rule(
            id="surge",
            watch=Watch(accounts=("brand",)),
            when=Leaf("favorites", "gte", 30, over=1800),
            fire=Rearm(),
        )
    )
    posts = [post(i) for i in range(600)]
    plan = plan_of([LIKES, surge], posts)
    assert len(plan.hourly_posts) == len(plan.window_posts) == 600

    chose = schedule(plan, read(posts, NOW - 10 * MINUTE), budget=3)
    whole = chose.whole(plan)

    assert chose.scheduled and whole.posts is plan.posts and whole.watched is plan.watched
    assert whole.covers is plan.covers and whole.window_start == plan.window_start
    assert not whole.hourly_posts and not whole.window_posts
    assert chose.plan.hourly_posts <= plan.hourly_posts and chose.plan.window_posts
    every = schedule(plan, {}, budget=100)
    assert not every.scheduled and every.whole(plan) is plan is every.plan


def test_every_post_of_a_rule_that_must_see_them_all_is_read_whatever_the_budget():
    fresh = compile_rule(
        Rule(id="fresh", watch=Watch(accounts=("news",)), when=Leaf("replies", "gte", 5))
    )
    posts = [post(i, ACCOUNTS[i % 2]) for i in range(1200)]
    plan = plan_of([LIKES, fresh], posts)

    refresh = schedule(plan, read(posts, NOW - MINUTE), budget=1, complete={"fresh"})

    news = {p.post_id for p in posts if p.account == "news"}
    assert news <= set(refresh.plan.posts)
    assert dict(refresh.plan.watched[1:])[fresh] == tuple(p for p in posts if p.account == "news")


# --- projections ------------------------------------------------------------------------------


def project(rule, values, before=None, state=None, created=2 * HOUR):
    p = post(1, age=created)
    recent = {} if before is None else {p.post_id: Recent((NOW - 10 * MINUTE).timestamp(), before)}
    states = {} if state is None else {p.post_id: state}
    got = outlooks([(rule, (p,))], {p.post_id: values}, lambda r: states, recent, NOW)
    return got[p.post_id]


def test_a_threshold_is_projected_from_the_rate_since_the_last_reading():
    seen = project(LIKES, {"favorites": 90.0}, before={"favorites": 70.0})
    assert seen.cross_at == NOW.timestamp() + 5 * 60  # 10 to go at 2 a minute
    # read once: the rate of the post's life so far (90 in two hours)
    assert project(LIKES, {"favorites": 90.0}).cross_at == NOW.timestamp() + 10 * 80
    assert project(LIKES, {"favorites": 90.0}, before={"favorites": 90.0}).cross_at == NEVER


def test_a_rule_that_already_fired_projects_nothing_and_a_milestone_projects_the_next():
    done = RuleState(done=True)
    assert project(LIKES, {"favorites": 150.0}, state=done).cross_at == NEVER
    every = compile_rule(
        Rule(id="m", watch=Watch(accounts=ACCOUNTS), when=None, fire=Every(100, "favorites"))
    )
    seen = project(every, {"favorites": 190.0}, {"favorites": 170.0}, RuleState(milestone=100))
    assert seen.cross_at == NOW.timestamp() + 5 * 60


def test_a_pending_for_is_projected_to_its_end_and_a_rearmed_window_stays_open():
    held = compile_rule(
        Rule(id="h", watch=Watch(accounts=ACCOUNTS), when=Leaf("favorites", "gte", 10), for_=600)
    )
    pending = RuleState(holding_since=NOW - 4 * MINUTE)
    assert project(held, {"favorites": 20.0}, state=pending).cross_at == NOW.timestamp() + 360
    surge = compile_rule(
        Rule(
            id="s",
            watch=Watch(accounts=ACCOUNTS),
            when=Leaf("favorites", "gte", 30, over=1800),
            fire=Rearm(),
        )
    )
    flat = {"favorites": 5.0}
    assert not project(surge, flat, before=flat).window_open
    assert project(surge, flat, before=flat, state=RuleState(last_truth=True)).window_open
    assert project(surge, {"favorites": 30.0}, before=flat).window_open  # 25 in 10 minutes


def test_a_post_read_the_moment_it_was_written_has_every_rate_nil():
    surge = compile_rule(
        Rule(id="s", watch=Watch(accounts=ACCOUNTS), when=Leaf("favorites", "gte", 30, over=1800))
    )
    # no time to measure a rate over: nil even for a metric the reading lacks
    still = project(surge, {"impressions": 5.0}, created=timedelta(0))
    assert still.cross_at == NEVER and not still.window_open
    assert project(LIKES, {"favorites": 5.0}, created=timedelta(0)).cross_at == NEVER
    # read later, the lacking metric's rate is unknown and the window stays open
    assert project(surge, {"likes": 5.0}).window_open
    grown = project(surge, {"impressions": 5.0, "favorites": 20.0}, before={"favorites": 1.0})
    assert grown.window_open and grown.cross_at == NOW.timestamp()


def test_a_post_read_again_with_the_same_values_keeps_the_mapping_read_before():
    p, first = post(1), {"favorites": 10.0}
    recent = {p.post_id: Recent((NOW - 10 * MINUTE).timestamp(), first)}

    def outlook(values):
        return outlooks([(LIKES, (p,))], {p.post_id: values}, lambda r: {}, recent, NOW)

    assert outlook({"favorites": 10.0})[p.post_id].values is first  # one object, not two
    moved = outlook({"favorites": 16.0})[p.post_id]
    assert moved.values == {"favorites": 16.0}
    assert moved.cross_at == NOW.timestamp() + 84 * 100  # 84 to go at 6 in 10 minutes


def test_posts_read_for_the_first_time_and_never_projected_share_what_they_can():
    """A first cycle reads 100,000 posts: those no rule is projected to meet hold NEVER
    itself, not a new infinity each; each keeps its own values."""
    flat = [post(n) for n in range(1, 4)]
    values = {p.post_id: {"favorites": 0.0} for p in flat}
    got = outlooks([(LIKES, tuple(flat))], values, lambda r: {}, {}, NOW)
    assert all(got[p.post_id].cross_at is NEVER for p in flat)
    assert all(got[p.post_id].values is values[p.post_id] for p in flat)
