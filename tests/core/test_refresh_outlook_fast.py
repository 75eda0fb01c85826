"""The projections' faster paths held to the ones they replaced: a rule projected over its
read posts at once (``_rule_projector``: a post with no state in the loop, one the rule is
done with skipped or asked only its window) keeps the same soonest moments and open
windows as ``_rule_projection`` asked pair by pair; the rates of two readings of the same
names taken from their arrays (``AlignedRate``) are ``PostRate``'s, looked up by name."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.facts import RuleState
from automation.core.metric_names import HOURLY_METRICS
from automation.core.metric_values import MetricValues
from automation.core.post_rates import AlignedRate, PostRate
from automation.core.records import WatchedPostRecord
from automation.core.refresh_outlook import (
    NEVER,
    Recent,
    _rule_projection,
    _rule_projector,
    _view,
    _views,
)

from .test_refresh_outlook_same import METRICS, rules

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NAMES = ("favorites", "quote_tweets", "impressions", "engagements")
numbers = st.sampled_from((0.0, -0.0, 3.0, 40.0, 55.0, 900.0, math.nan, math.inf))
values = st.dictionaries(st.sampled_from(NAMES), numbers).map(MetricValues)
# done states (the rule cannot fire again) come often: the path that skips them
states = st.one_of(
    st.none(),
    st.builds(
        RuleState,
        holding_since=st.sampled_from((None, None, NOW - timedelta(minutes=2))),
        last_truth=st.sampled_from((None, True, False)),
        last_fired_at=st.sampled_from((None, NOW - timedelta(minutes=5))),
        milestone=st.sampled_from((0, 10, 50)),
        done=st.sampled_from((True, True, False)),
    ),
)


@st.composite
def views(draw: st.DrawFn, n: int):
    """``n`` read posts as ``_views`` makes them: values moved since the reading before
    (same names or others), read again as they were, a first reading, no time passed."""
    at, out = NOW.timestamp(), []
    for i in range(n):
        now = draw(values)
        how = draw(st.sampled_from(("moved", "moved", "same", "first", "still")))
        before = None
        if how != "first":
            old = now if how == "same" else draw(values)
            before = Recent(at - (0.0 if how == "still" else 300.0), old)
        created = NOW - timedelta(hours=draw(st.sampled_from((0, 1, 30))))
        out.append((str(i), *_view(now, before, at, created, compared=True)))
    return out


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.data())
def test_a_rule_projected_over_its_posts_at_once_is_projected_pair_by_pair(data):
    at = NOW.timestamp()
    compiled = data.draw(rules(0))
    windowed = bool(compiled.window_metrics & HOURLY_METRICS)
    read = data.draw(views(data.draw(st.integers(0, 8))))
    kept = {pid: s for pid, _, _ in read if (s := data.draw(states)) is not None}
    # what other rules found before this one: some soonest moments, some windows open
    before = {pid: data.draw(st.sampled_from((0.0, 30.0, NEVER))) for pid, _, _ in read}
    soonest = {p: s for p, s in before.items() if data.draw(st.booleans())}
    window = {pid for pid, _, _ in read if data.draw(st.booleans())}

    want_soonest, want_window = dict(soonest), set(window)
    project = _rule_projection(compiled)
    for pid, vals, rate in read:
        seconds, open_ = project(vals, rate, kept.get(pid), at)
        if seconds < want_soonest.get(pid, NEVER):
            want_soonest[pid] = seconds
        if windowed and open_:
            want_window.add(pid)

    _rule_projector(compiled, windowed)(read, kept.get, at, soonest, window)
    assert soonest == want_soonest
    assert window == want_window


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES), numbers, min_size=1), st.data())
def test_rates_from_the_arrays_are_those_looked_up_by_name(now, data):
    """Two readings of the same names in the same order: one position for both."""
    old = {name: data.draw(numbers) for name in now}
    new_values, old_values = MetricValues(now), MetricValues(old)
    assert new_values.names is old_values.names
    span = data.draw(st.sampled_from((0.5, 300.0, 86400.0)))
    aligned = new_values.aligned(old_values)
    assert aligned is not None
    fast, slow = AlignedRate(aligned, span), PostRate(new_values, old_values, span)
    for metric in (*METRICS, *NAMES, "retweets"):
        got, want = fast(metric), slow(metric)
        assert got == want or (math.isnan(got) and math.isnan(want)), (metric, got, want)
    # what ``_view`` makes of them, against another order of the same names (no arrays)
    created = NOW - timedelta(hours=1)
    recent = Recent(NOW.timestamp() - span, old_values)
    _, rate = _view(new_values, recent, NOW.timestamp(), created, compared=True)
    assert type(rate) is AlignedRate or new_values.numbers.tobytes() == b""
    shuffled = MetricValues(dict(reversed(list(old.items()))))
    assert new_values.aligned(shuffled) is None or len(now) == 1
    assert new_values.aligned(dict(old)) is None


def _same_rates(got, want) -> bool:
    for metric in (*METRICS, *NAMES, "retweets"):
        a, b = got(metric), want(metric)
        if not (a == b or (math.isnan(a) and math.isnan(b))):
            return False
    return True


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.data())
def test_views_made_in_the_loop_are_the_views_made_post_by_post(data):
    """``_views``'s own paths (a post read again as it was takes its layout's nil rates,
    one whose values moved under the same names its array rates) give each post the
    values and rates ``_view`` gives it, for the same posts in the same order, and a post
    made before (by another tuple of posts) is the view made then."""
    at, compared = NOW.timestamp(), data.draw(st.booleans())
    layouts = (NAMES, NAMES[:2], tuple(reversed(NAMES)))
    totals, recent, posts = {}, {}, []
    for i in range(data.draw(st.integers(0, 12))):
        pid, names = str(i), data.draw(st.sampled_from(layouts))
        now = {name: data.draw(numbers) for name in names}
        values = MetricValues(now) if data.draw(st.integers(0, 4)) else now
        how = data.draw(st.sampled_from(("same", "same", "equal", "moved", "other", "none")))
        span = data.draw(st.sampled_from((300.0, 300.0, 0.0, -60.0)))
        if how == "same":
            recent[pid] = Recent(at - span, values)
        elif how == "equal":
            recent[pid] = Recent(at - span, MetricValues(now))
        elif how in ("moved", "other"):
            old = {n: data.draw(numbers) for n in (names if how == "moved" else NAMES[1:])}
            recent[pid] = Recent(at - span, MetricValues(old))
        if data.draw(st.integers(0, 5)):  # read this cycle
            totals[pid] = values
        created = NOW - timedelta(hours=data.draw(st.sampled_from((0, 1, 30))))
        posts.append(WatchedPostRecord(pid, None, created, "timeline", created))
    views: dict[str, tuple] = {}
    earlier = [p for p in posts if data.draw(st.booleans())]
    first = _views(earlier, totals, recent, at, views, compared)
    made_before = dict(views)
    read = _views(posts, totals, recent, at, views, compared)

    want = [p for p in posts if p.post_id in totals]
    assert [pid for pid, _, _ in read] == [p.post_id for p in want]
    assert [pid for pid, _, _ in first] == [p.post_id for p in earlier if p.post_id in totals]
    for post, (pid, values, rate) in zip(want, read, strict=True):
        if pid in made_before:
            assert views[pid] is made_before[pid]
        plain = _view(totals[pid], recent.get(pid), at, post.created_at, compared=compared)
        assert values is plain[0]
        assert _same_rates(rate, plain[1]), pid
    assert set(views) == {p.post_id for p in want}
