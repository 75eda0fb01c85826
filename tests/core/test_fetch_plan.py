"""The cycle's pure steps: which posts to look for, what to poll and fetch, and the facts."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.cycle_facts import assemble_facts
from automation.core.evaluate import compile_rule
from automation.core.facts import HourlySeries, Snapshot, post_created_at
from automation.core.fetch_plan import plan_fetch, still_watched
from automation.core.post_discovery import (
    discovery_start,
    explicit_posts,
    merge_posts,
    shared_owners,
    timeline_posts,
    watched_accounts,
)
from automation.core.records import WatchedPostRecord
from automation.core.rules import Every, Leaf, LogAction, Rule, Watch
from automation.core.templates import parse_template

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def post(pid: str, account: str | None, age: timedelta, source: str = "timeline", **kw):
    return WatchedPostRecord(
        post_id=pid,
        account=account,
        created_at=NOW - age,
        source=source,  # type: ignore[arg-type]
        first_seen=kw.pop("first_seen", NOW),
        **kw,
    )


def rule(rid: str, watch: Watch, when: Leaf | None = None, **kw):
    when = when or Leaf("favorites", "gte", 10)
    return compile_rule(Rule(id=rid, watch=watch, when=when, **kw))


def ids(posts) -> list[str]:
    return [p.post_id for p in posts]


def test_each_rule_evaluates_only_posts_young_enough_for_it_and_the_rest_are_polled_once():
    short = rule("short", Watch(accounts=("brand",), max_age=2 * 86400))
    long = rule("long", Watch(accounts=("brand", "support")))
    known = [
        post("1", "brand", 6 * DAY),
        post("2", "support", 3 * DAY),
        post("3", "brand", DAY),
        post("4", "brand", 8 * DAY),  # older than every rule's max_age
        post("5", "brand", HOUR, unavailable_at=NOW - HOUR),
    ]
    plan = plan_fetch([short, long], known, NOW)
    assert list(plan.posts) == ["3", "1", "2"]  # the first rule's posts first
    assert [(r.rule.id, ids(p)) for r, p in plan.watched] == [
        ("short", ["3"]),
        ("long", ["3", "1", "2"]),
    ]
    assert plan.window_start is None and plan.hourly_posts == frozenset()
    assert plan.totals_metrics == frozenset({"favorites"})


def test_still_watched_keeps_the_unavailable_posts_the_plan_would_poll_were_they_available():
    short = rule("short", Watch(accounts=("brand",), max_age=2 * 86400))
    named = rule("named", Watch(posts=("9",)))  # named without max_age: however old
    gone = [
        post("1", "brand", DAY, unavailable_at=NOW - HOUR),  # young enough for short
        post("2", "brand", 3 * DAY, unavailable_at=NOW - HOUR),  # aged past short's max_age
        post("3", "support", HOUR, unavailable_at=NOW - HOUR),  # no rule watches support
        post("9", None, 30 * DAY, "explicit", unavailable_at=NOW - DAY),
    ]
    assert ids(still_watched([short, named], gone, NOW)) == ["1", "9"]
    assert ids(still_watched([short], gone, NOW)) == ["1"]  # its rule removed: 9 goes
    assert still_watched([], gone, NOW) == []


def test_series_and_snapshots_only_for_the_posts_windowed_rules_evaluate():
    hourly = rule(
        "clicks",
        Watch(accounts=("brand",), max_age=86400),
        Leaf("url_clicks", "gte", 5, over=3600),
    )
    snap = rule(
        "public",
        Watch(posts=("7", "8"), max_age=3 * 86400, max_age_set=True),
        Leaf("retweets", "gte", 5, over=1800),
    )
    plain = rule("milestone", Watch(accounts=("brand",)), None, fire=Every(100, "favorites"))
    known = [
        post("1", "brand", 2 * DAY),
        post("2", "brand", HOUR),
        post("7", None, DAY, source="explicit"),
        post("8", None, 4 * DAY, source="explicit"),
    ]
    plan = plan_fetch([hourly, snap, plain], known, NOW)
    assert plan.hourly_posts == {"2"}
    assert plan.hourly_metrics == {"url_clicks", "retweets"}
    assert plan.window_posts == {"2", "7"}
    assert plan.window_start == NOW - HOUR
    assert plan.snapshot_posts(["7", "1"]) == ["7"]
    assert {"retweets", "favorites"} <= plan.totals_metrics


def test_discovery_reads_back_as_far_as_the_longest_max_age_of_the_account():
    rules = [
        rule("a", Watch(accounts=("brand",), max_age=86400)),
        rule("b", Watch(accounts=("support", "brand"), max_age=3 * 86400)),
        rule("c", Watch(posts=("1",))),
    ]
    assert watched_accounts(rules) == ["brand", "support"]
    assert discovery_start(rules, "brand", NOW) == NOW - 3 * DAY
    found = [("10", NOW - 2 * DAY), ("11", NOW - 4 * DAY)]
    assert ids(timeline_posts("brand", found, NOW - 3 * DAY, NOW)) == ["10"]


def test_a_post_found_exactly_max_age_old_is_watched_and_first_seen_now():
    found = [("12", NOW - 3 * DAY), ("13", NOW - 3 * DAY - timedelta(seconds=1))]
    [record] = timeline_posts("brand", found, NOW - 3 * DAY, NOW)
    assert (record.post_id, record.created_at, record.first_seen) == ("12", NOW - 3 * DAY, NOW)


def test_found_posts_hold_the_one_interned_string_of_their_id():
    """The store interns the IDs it keeps (100,000 posts' maps): a record holding the
    decoded answer's own copy would make that a second string of every ID."""
    held = sys.intern("".join(["12602948888113", "47969"]))  # the process's one string
    decoded = "".join(["12602948888113", "47969"])  # an answer's copy, made at run time
    assert decoded == held and decoded is not held
    [found] = timeline_posts("brand", [(decoded, NOW - DAY)], NOW - 3 * DAY, NOW)
    assert found.post_id is held
    named = sys.intern("".join(["17", "29"]))
    [added] = explicit_posts([rule("a", Watch(posts=("".join(["17", "29"]),)))], {}, NOW)
    assert added.post_id is named


def test_named_posts_are_added_when_new_or_re_owned_only():
    named = "1260294888811347969"
    gone = "1260294888811347970"
    rules = [
        rule("a", Watch(posts=(named, gone))),
        rule("b", Watch(posts=(named,), owner="brand")),
    ]
    known = [post(gone, None, DAY, "explicit", unavailable_at=NOW - HOUR)]
    [added] = explicit_posts(rules, {p.post_id: p for p in known}, NOW)
    assert (added.post_id, added.account, added.source) == (named, "brand", "explicit")
    assert added.created_at == post_created_at(named)
    owned = [post(named, "brand", DAY, "explicit"), *known]
    assert explicit_posts(rules, {p.post_id: p for p in owned}, NOW) == []


@settings(derandomize=True, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(["11", "12", "13", "14", "15"]), max_size=4),
            st.sampled_from([None, "brand", "support"]),
        ),
        max_size=4,
    ),
    st.sets(st.sampled_from(["11", "12", "13", "14", "15"])),
)
def test_named_posts_come_in_the_order_first_named_with_the_first_owner_given(named, known_ids):
    """The plain definition: a map of every named post, the first owner a rule gives;
    only the posts named more than once are kept for it between cycles."""
    rules = [
        rule(f"r{i}", Watch(posts=tuple(posts), owner=owner if posts else None))
        for i, (posts, owner) in enumerate(named)
    ]
    owners: dict[str, str | None] = {}
    for r in rules:
        for pid in r.rule.watch.posts:
            if owners.get(pid) is None:
                owners[pid] = r.rule.watch.owner
    known = {pid: post(pid, None, DAY, "explicit") for pid in known_ids}
    expected = [(p, owner) for p, owner in owners.items() if p not in known or owner is not None]
    kept = shared_owners(rules)
    for held in (None, kept):
        added = explicit_posts(rules, known, NOW, held)
        assert [(p.post_id, p.account) for p in added] == expected
    counts = Counter(pid for r in rules for pid in r.rule.watch.posts)
    assert kept.keys() == {pid for pid, n in counts.items() if n > 1}


def test_merged_posts_are_what_the_store_holds_after_the_upsert():
    old = post("2", "brand", DAY, first_seen=NOW - DAY, unavailable_at=NOW - HOUR)
    known = [old, post("3", "brand", 2 * HOUR)]
    seen_again = post("2", "brand", DAY)
    new = post("1", "brand", 3 * DAY)
    merged = merge_posts(known, [seen_again, new])
    assert ids(merged) == ["1", "2", "3"]  # oldest first
    assert merged[1] == replace(seen_again, first_seen=NOW - DAY)  # available again
    assert merge_posts(known, []) == known


def test_facts_judge_a_refused_owned_post_as_public_and_skip_unplanned_ones():
    posts = {"1": post("1", "brand", HOUR), "2": post("2", "brand", 2 * DAY)}
    series = HourlySeries.of(((NOW - HOUR, 4.0), (NOW, 3.0)), read_at=NOW)
    snaps = {"2": (Snapshot(NOW - HOUR, {"favorites": 1.0}),)}
    totals = {"2": {"favorites": 5.0}, "1": {"favorites": 2.0}, "9": {"favorites": 1.0}}
    facts = assemble_facts(posts, totals, {"1": {"url_clicks": series}}, {"2"}, snaps, NOW)
    assert list(facts) == ["2", "1"]
    assert (facts["2"].account, facts["2"].snapshots) == (None, snaps["2"])
    assert facts["1"].account == "brand"
    assert facts["1"].totals["url_clicks"] == 7.0  # a young post's series is its whole life
    assert facts["1"].url == "https://x.com/i/status/1"


def test_a_post_named_by_id_is_polled_whatever_its_age_unless_the_rule_sets_max_age():
    named = Watch(accounts=("brand",), posts=("1",), max_age=86400)
    limited = replace(named, posts=("2",), max_age_set=True)
    known = [
        post("1", None, 900 * DAY, source="explicit"),
        post("2", None, 900 * DAY, source="explicit"),
        post("3", "brand", 2 * DAY),
    ]
    plan = plan_fetch([rule("named", named), rule("limited", limited)], known, NOW)
    assert list(plan.posts) == ["1"]
    assert [(r.rule.id, ids(p)) for r, p in plan.watched] == [("named", ["1"]), ("limited", [])]


def test_a_watch_naming_posts_evaluates_the_kept_covers_themselves_not_a_copy():
    """A watch of named posts only, max_age not set, evaluates every post it covers: the
    plan hands on the tuple the index keeps for the next plan, and holds no second one."""
    named = rule("named", Watch(posts=("1", "2")))
    known = [post("1", None, 900 * DAY, source="explicit"), post("2", None, DAY, source="explicit")]
    plan = plan_fetch([named], known, NOW)
    ((_, evaluated),) = plan.watched
    assert ids(evaluated) == ["1", "2"]
    assert evaluated is plan.covers[((), ("1", "2"))]


def test_a_watched_post_exactly_max_age_old_is_still_polled():
    brand = rule("brand", Watch(accounts=("brand",), max_age=86400))
    plan = plan_fetch([brand], [post("1", "brand", DAY), post("2", "brand", DAY + HOUR)], NOW)
    assert list(plan.posts) == ["1"]
    assert [ids(p) for _, p in plan.watched] == [["1"]]


def test_metrics_an_action_mentions_are_fetched_though_no_condition_names_them():
    said = LogAction(parse_template("{metrics.impressions} seen, rate {metrics.engagement_rate}"))
    brand = rule("brand", Watch(accounts=("brand",)), actions=(said,))
    plan = plan_fetch([brand], [post("1", "brand", HOUR)], NOW)
    assert plan.totals_metrics == {"favorites", "impressions", "engagements"}


def test_a_window_only_on_quotes_asks_no_hourly_series_for_its_posts():
    quotes = rule("quotes", Watch(accounts=("brand",)), Leaf("quote_tweets", "gte", 5, over=3600))
    plan = plan_fetch([quotes], [post("1", "brand", HOUR)], NOW)
    assert (plan.hourly_posts, plan.hourly_metrics) == (frozenset(), frozenset())
    assert plan.window_posts == {"1"}
