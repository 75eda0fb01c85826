"""The simulated world: deterministic, real snowflake IDs, metrics that grow plausibly."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from automation.core.facts import post_created_at
from automation.core.metric_names import API_METRICS
from automation.sandbox.clock import SimClock
from automation.sandbox.curves import Profile
from automation.sandbox.world import World, snowflake

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
BRAND, SUPPORT, NASA = "2244994945", "783214", "11348282"
NEWS, CAREERS, EVENTS = "1600000003", "1600000004", "1600000005"


def make_world(seed: int = 7) -> World:
    return World(seed, SimClock(START, speed=0))


def test_same_seed_same_world_and_other_seed_differs() -> None:
    a, b, c = make_world(7), make_world(7), make_world(8)
    ids_a = [p.id for p in a.timeline(BRAND)]
    assert ids_a == [p.id for p in b.timeline(BRAND)]
    assert [a.values(p, API_METRICS, START) for p in a.timeline(BRAND)[:20]] == [
        b.values(p, API_METRICS, START) for p in b.timeline(BRAND)[:20]
    ]
    assert ids_a != [p.id for p in c.timeline(BRAND)]


def test_post_ids_are_snowflakes_encoding_creation_time() -> None:
    world = make_world()
    posts = world.timeline(BRAND)
    assert len(posts) > 100
    for post in posts:
        assert post_created_at(post.id) == post.created_at.replace(
            microsecond=post.created_at.microsecond // 1000 * 1000
        )
    assert [int(p.id) for p in posts] == sorted((int(p.id) for p in posts), reverse=True)
    assert post_created_at(str(snowflake(START))) == START


def test_owned_accounts_but_the_acting_one_and_public_ones_have_posts_of_several_kinds() -> None:
    world = make_world()
    assert world.owned_user_ids() == {BRAND, SUPPORT, NEWS, CAREERS, EVENTS}
    assert all(world.timeline(user) for user in (NEWS, CAREERS))
    assert not world.timeline(EVENTS)  # it only reposts and likes
    support_kinds = {p.kind for p in world.timeline(SUPPORT)}
    assert {"post", "reply"} <= support_kinds
    assert "repost" in {p.kind for p in world.timeline(BRAND)}
    assert world.timeline(NASA)
    replies = [p for p in world.timeline(SUPPORT) if p.kind == "reply"]
    assert all(world.find(p.referenced_id) is not None for p in replies)


def test_metrics_grow_over_simulated_time_and_keep_their_relations() -> None:
    world = make_world()
    post = world.add_post(BRAND, text="fresh", created_at=START)
    seen = []
    for hours in (0, 1, 3, 12, 48, 24 * 20):
        at = START + timedelta(hours=hours)
        seen.append(world.values(post, API_METRICS, at))
    assert seen[0]["impressions"] == 0
    for earlier, later in itertools.pairwise(seen):
        assert all(later[m] >= earlier[m] for m in API_METRICS)
    last = seen[-1]
    assert last["impressions"] > 10 * last["engagements"] > 0
    assert last["engagements"] >= last["favorites"] >= last["retweets"]
    assert last["retweets"] >= last["quote_tweets"]


def test_most_posts_saturate_and_a_few_go_viral() -> None:
    world = make_world()
    posts = world.timeline(BRAND) + world.timeline(NASA)
    viral = [p for p in posts if p.profile.viral]
    assert 0 < len(viral) < len(posts) * 0.15
    normal = next(p for p in posts if not p.profile.viral)
    day2 = normal.created_at + timedelta(days=2)
    day3 = normal.created_at + timedelta(days=3)
    gain = world.value(normal, "impressions", day3) - world.value(normal, "impressions", day2)
    first = world.value(normal, "impressions", normal.created_at + timedelta(hours=6))
    assert gain < first  # slowing down


def test_hourly_series_add_up_to_totals() -> None:
    world = make_world()
    post = world.timeline(BRAND)[3]
    start = START - timedelta(hours=29)
    series = world.series(post, ("impressions", "favorites"), start, 29)
    for metric in ("impressions", "favorites"):
        assert len(series[metric]) == 29
        assert min(series[metric]) >= 0
        total = world.value(post, metric, START) - world.value(post, metric, start)
        assert sum(series[metric]) == total


def test_set_metric_sets_the_current_value_and_shows_in_that_hour() -> None:
    world = make_world()
    post = world.timeline(BRAND)[0]
    world.set_metric(post.id, "favorites", 150)
    assert world.value(post, "favorites", START) == 150
    hour_ago = START - timedelta(hours=1)
    hourly = world.hourly(post, "favorites", hour_ago, 1)
    assert hourly == [150 - world.value(post, "favorites", hour_ago)]
    with pytest.raises(ValueError, match="unknown metric"):
        world.set_metric(post.id, "likes_total", 1)


def test_new_posts_appear_as_simulated_time_passes() -> None:
    world = make_world()
    before = {p.id for p in world.timeline(BRAND)}
    world.clock.advance(3 * 86_400)
    after = {p.id for p in world.timeline(BRAND)}
    assert before < after
    assert all(post_created_at(pid) > START for pid in after - before)


def test_reposts_and_likes_are_recorded_and_counted_once() -> None:
    world = make_world()
    target = world.timeline(NASA)[0]
    before = world.value(target, "retweets", START)
    assert world.repost(BRAND, target.id) is True
    assert world.repost(BRAND, target.id) is False
    assert world.value(target, "retweets", START) == before + 1
    assert world.has_reposted(BRAND, target.id)
    assert world.timeline(BRAND)[0].kind == "repost"
    assert world.like(SUPPORT, target.id) and not world.like(SUPPORT, target.id)
    assert [a.kind for a in world.actions_by(BRAND)] == ["repost"]
    assert [a.kind for a in world.actions_by(SUPPORT)] == ["like"]


def test_clock_speed_and_manual_advance() -> None:
    ticks = iter([0.0, 0.0, 10.0, 10.0, 10.0])
    clock = SimClock(START, speed=60, real=lambda: next(ticks))
    assert clock.now() == START
    assert clock.now() == START + timedelta(minutes=10)
    assert clock.advance(30) == START + timedelta(minutes=10, seconds=30)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        SimClock(START, speed=-1)


def test_an_added_post_can_follow_a_given_curve_with_a_late_take_off() -> None:
    world = make_world()
    finals = {m: 0 for m in API_METRICS} | {"favorites": 1000}
    late = Profile(finals, tau_hours=3.0, viral=True, midpoint_hours=20.0, width_hours=2.0)
    post = world.add_post(BRAND, created_at=START, profile=late)
    likes = [world.value(post, "favorites", START + timedelta(hours=h)) for h in (1, 10, 30)]
    assert likes == [int(1000 * late.fraction(h)) for h in (1, 10, 30)]
    assert likes[1] < 100 < 800 < likes[2]  # flat for half a day, then most of it


def test_a_limited_timeline_is_the_newest_existing_posts_of_the_whole_one() -> None:
    world = make_world()
    whole = world.timeline(BRAND)
    world.delete_post(whole[1].id)  # a deleted post is skipped, not counted
    after = world.timeline(BRAND)
    assert [p.id for p in after] == [p.id for p in whole if p.id != whole[1].id]
    for limit in (1, 2, 5, len(after), len(after) + 3):
        assert world.timeline(BRAND, limit=limit) == after[:limit]


def test_a_profile_keeps_every_total_exactly_whatever_its_size() -> None:
    given = {"impressions": 3 * 2**31 + 5, "favorites": 1000}
    profile = Profile(given, tau_hours=3.0)
    assert dict(profile.finals) == {m: given.get(m, 0) for m in API_METRICS}
    assert profile.totals(["impressions", "favorites"], 1e9) == {
        "impressions": 3 * 2**31 + 5,
        "favorites": 1000,
    }
    small = Profile({"favorites": 7}, tau_hours=3.0)
    assert small.finals == {m: 7 if m == "favorites" else 0 for m in API_METRICS}
