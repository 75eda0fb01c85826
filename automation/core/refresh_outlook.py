"""When a watched post is likely to meet a rule next, projected from its recent readings.

Pure. After a cycle reads posts and its rules decide, the engine asks ``outlooks`` what
each read post is heading for: the moment some rule watching it is projected to be met
(its values' gap to the rule's threshold or next milestone over their rate since the
reading before), and whether a windowed rule could change its answer (the rate over the
window could reach the threshold, or the rule's state waits on the window). The
scheduler (``refresh_schedule``) spends a short budget on the posts projected soonest.

A projection is a heuristic, never a decision: the rules decide on the values read.
Rates come from the last two readings, or for a post read once from its life so far.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple, cast

from automation.core.evaluate import CompiledRule
from automation.core.facts import EMPTY, RuleState
from automation.core.metric_names import DERIVED, HOURLY_METRICS
from automation.core.metric_values import MetricValues
from automation.core.post_rates import STILL, AlignedRate, PostRate, Rate, nil_rate
from automation.core.records import WatchedPostRecord
from automation.core.rules import (
    AllOf,
    Condition,
    Every,
    Leaf,
    Not,
    Rearm,
    condition_metrics,
)

__all__ = ["NEVER", "Recent", "Watched", "kept_values", "outlooks"]

NEVER = math.inf
# a windowed rule is read with its /28hr series when the rate over the window reaches
# this share of the threshold: rates move, and a rate is a guess from two readings
_WINDOW_SHARE = 0.5
# a metric the readings lack (url_clicks has no /totals value) is bounded by this one:
# every engagement with a post follows an impression of it
_BOUND = "impressions"
_FLIP = {"gte": "lt", "gt": "lte", "lt": "gte", "lte": "gt"}
_MEETS = {"gte": operator.ge, "gt": operator.gt, "lt": operator.lt, "lte": operator.le}

Watched = Sequence[tuple[CompiledRule, Sequence[WatchedPostRecord]]]
# (values, rate) -> seconds from the reading until the condition is met, 0 if it is
# now, NEVER if no rise of the values meets it, None when the values cannot tell
Projection = Callable[[Mapping[str, float], Rate], float | None]


class Recent(NamedTuple):
    """What the engine read of a post last: when (epoch seconds of the cycle), the
    totals, the moment a rule watching it is projected to be met (``NEVER`` if none),
    and whether a windowed rule's answer could change (its /28hr series is worth a
    request). A named tuple, not a frozen dataclass: one is made for every post read,
    40,000-100,000 a cycle, and a frozen dataclass takes about twice as long to make."""

    at: float
    values: Mapping[str, float]
    cross_at: float = NEVER
    window_open: bool = False


def outlooks(
    watched: Watched,
    totals: Mapping[str, Mapping[str, float]],
    states_of: Callable[[str], Mapping[str, RuleState]],
    recent: Mapping[str, Recent],
    now: datetime,
    chosen: Watched | None = None,
    *,
    compared: bool = False,
) -> dict[str, Recent]:
    """A fresh ``Recent`` for every post of ``totals`` (its values) read at ``now``.

    ``states_of(rule id)`` maps the rule's posts to their states after this cycle's
    decisions (asked once per rule, only for a rule with a post read); ``recent`` holds
    the readings before this one, for the rates. ``chosen``, the plan the cycle read
    (``watched`` narrowed, the same rules in the same order), lists the posts of a rule
    without a /28hr window in a tuple a third to a half as long: its read posts are
    found there. A windowed rule's lacks the owned posts read without their series.
    ``compared``: each post's values of ``totals`` are the very object ``recent`` holds
    or were found to differ from it (``compact_totals`` against these readings), so
    they are kept as they are, not compared again (``kept_values``).
    """
    at = now.timestamp()
    soonest: dict[str, float] = {}  # seconds from ``at``: the same min as of ``at + s``
    window: set[str] = set()
    views: dict[str, _PostView] = {}
    read_of: dict[int, list[_PostView]] = {}  # rules share their tuples of posts
    for n, (compiled, posts) in enumerate(watched):
        windowed = bool(compiled.window_metrics & HOURLY_METRICS)
        read = read_of.get(id(posts))
        if read is None:  # the posts read, once per tuple: most posts are not, most cycles
            among = chosen[n][1] if chosen is not None and not windowed else posts
            read = read_of[id(posts)] = _views(among, totals, recent, at, views, compared)
        if not read:
            continue
        states = states_of(compiled.rule.id).get
        _rule_projector(compiled, windowed)(read, states, at, soonest, window)
    read_of.clear()  # the views alone hold each post's rate now (not these lists,
    read = []  # nor the last one read)
    return _records(views, soonest, window, at)


def _records(
    views: dict[str, _PostView], soonest: Mapping[str, float], window: set[str], at: float
) -> dict[str, Recent]:
    """Each post's ``Recent``, made in the table of ``views`` (its only holder) in place of
    its view: a view and its rate go as its record is made, not after all 100,000 are, and
    no second table of the posts is built. NEVER itself for a post no rule is projected to
    meet: not one new float a post."""
    records = cast(dict[str, Recent], views)
    make = tuple.__new__  # a named tuple from its fields in C: half the time of ``Recent()``
    for pid, (_, values, _) in views.items():  # each value set for its own key: no resize
        s = soonest.get(pid)
        records[pid] = make(Recent, (at, values, NEVER if s is None else at + s, pid in window))
    return records


# a read post: its id, its values (``kept_values``) and their rates
_PostView = tuple[str, Mapping[str, float], Rate]


def _views(
    posts: Sequence[WatchedPostRecord],
    totals: Mapping[str, Mapping[str, float]],
    recent: Mapping[str, Recent],
    at: float,
    views: dict[str, _PostView],
    compared: bool = False,
) -> list[_PostView]:
    """The view of each of ``posts`` read (in ``totals``), made once a post in ``views``:
    ``_view``'s, with its two commonest cases here, one call less a post. A post read
    again as it was (most) takes the nil rates of its metrics' layout, the one of the post
    before it when the same (``nil_rate`` once a layout, not a post); one whose values
    moved, compared already and of its reading's names (``aligned``), its array rates."""
    read = []
    made, value_of, before_of = views.get, totals.get, recent.get
    layout: Mapping[str, int] | None = None
    nil: Rate = STILL
    for post in posts:
        pid = post.post_id
        view = made(pid)
        if view is None:
            values = value_of(pid)
            if values is None:
                continue
            before = before_of(pid)
            if before is not None and at > before.at and type(values) is MetricValues:
                if before.values is values:  # read again as it was
                    if values.names is not layout:
                        layout, nil = values.names, nil_rate(values)
                    view = (pid, values, nil)
                elif compared and (aligned := values.aligned(before.values)) is not None:
                    view = (pid, values, AlignedRate(aligned, at - before.at))
            if view is None:
                view = (pid, *_view(values, before, at, post.created_at, compared=compared))
            views[pid] = view
        read.append(view)
    return read


def _view(
    values: Mapping[str, float],
    before: Recent | None,
    at: float,
    created_at: datetime,
    *,
    compared: bool = False,
) -> tuple[Mapping[str, float], Rate]:
    """The post's values (``kept_values``, unless ``compared`` already) and their growth
    per second since the reading before, else since the post was created; never negative."""
    if not compared:
        values = kept_values(values, before)
    if before is not None and at > before.at:
        if values is before.values:  # read again as it was: nothing grew
            return values, nil_rate(values)
        old, span = before.values, at - before.at
    else:  # a first reading: one mapping of no values for all (100,000 the first cycle)
        old, span = EMPTY, at - created_at.timestamp()
    if span <= 0:
        return values, STILL
    aligned = values.aligned(old) if type(values) is MetricValues else None
    if aligned is not None:
        return values, AlignedRate(aligned, span)
    return values, PostRate(values, old, span)


def kept_values(values: Mapping[str, float], before: Recent | None) -> Mapping[str, float]:
    """``values``, or the equal mapping read before: a post whose values stay is held by
    one object from cycle to cycle (the store keeps that one too), not one a reading."""
    if before is not None and (before.values is values or before.values == values):
        return before.values
    return values


# --- a rule's projection --------------------------------------------------------------------

RuleProjection = Callable[[Mapping[str, float], Rate, RuleState | None, float], tuple[float, bool]]
_States = Callable[[str], RuleState | None]
RuleProjector = Callable[[Sequence[_PostView], _States, float, dict[str, float], set[str]], None]


def _rule_projector(compiled: CompiledRule, windowed: bool) -> RuleProjector:
    """``_rule_projection`` over the rule's read posts at once, kept in ``soonest`` and
    ``window`` (``windowed``: a /28hr window). A post with no state (most) is projected in
    the loop, the same steps; one the rule is done with is ``NEVER``, which changes nothing:
    only its window is asked, while not open yet; other states go through the projection."""
    rule = compiled.rule
    project = _rule_projection(compiled)
    when = _condition(rule.when) if rule.when is not None else None
    test = _window_test(rule.when) if compiled.window_metrics else None
    held = float(rule.for_)
    rearm = isinstance(rule.fire, Rearm)
    every = rule.fire if isinstance(rule.fire, Every) else None

    def project_all(
        read: Sequence[_PostView],
        state_of: _States,
        at: float,
        soonest: dict[str, float],
        window: set[str],
    ) -> None:
        soonest_of = soonest.get
        for pid, values, rate in read:
            state = state_of(pid)
            if state is None:
                seconds = 0.0
                if when is not None:
                    found = when(values, rate)
                    seconds = NEVER if found is None else found
                if every is not None:
                    seconds = max(seconds, _next_milestone(every, values, rate, None))
                seconds += held
                open_ = test is not None and test(values, rate)
            elif state.done and every is None and state.holding_since is None:
                if not windowed or pid in window:
                    continue  # NEVER: nothing to keep
                seconds = NEVER
                open_ = test is not None and (
                    test(values, rate) or (rearm and bool(state.last_truth))
                )
            else:
                seconds, open_ = project(values, rate, state, at)
            if seconds < soonest_of(pid, NEVER):
                soonest[pid] = seconds
            if windowed and open_:
                window.add(pid)

    return project_all


def _rule_projection(compiled: CompiledRule) -> RuleProjection:
    """(values, rate, state, at) -> (seconds from the reading until the rule is projected
    to fire, whether its window's answer could change)."""
    rule = compiled.rule
    when = _condition(rule.when) if rule.when is not None else None
    window = _window_test(rule.when) if compiled.window_metrics else None
    held = float(rule.for_)
    rearm = isinstance(rule.fire, Rearm)
    cooldown = rule.fire.cooldown if isinstance(rule.fire, Rearm) else 0
    every = rule.fire if isinstance(rule.fire, Every) else None

    def project(
        values: Mapping[str, float], rate: Rate, state: RuleState | None, at: float
    ) -> tuple[float, bool]:
        open_ = window is not None and (
            window(values, rate) or (state is not None and bool(state.last_truth) and rearm)
        )
        if state is not None:
            if state.holding_since is not None:
                return max(0.0, state.holding_since.timestamp() + held - at), True
            if state.done and not every:
                return NEVER, open_
            if rearm and state.last_truth:
                return NEVER, open_  # the condition must turn false before it fires again
        seconds = 0.0
        if when is not None:
            found = when(values, rate)
            seconds = NEVER if found is None else found
        if every is not None:
            seconds = max(seconds, _next_milestone(every, values, rate, state))
        if rearm and state is not None and state.last_fired_at is not None:
            seconds = max(seconds, state.last_fired_at.timestamp() + cooldown - at)
        return seconds + held, open_

    return project


def _next_milestone(
    every: Every, values: Mapping[str, float], rate: Rate, state: RuleState | None
) -> float:
    value = values.get(every.metric)
    if value is None:
        return NEVER
    done = max(state.milestone if state is not None else 0, value)
    gap = (done // every.n + 1) * every.n - value
    return _time_to(gap, rate(every.metric))


def _time_to(gap: float, per_second: float) -> float:
    if gap <= 0:
        return 0.0
    if not per_second > 0:  # also NaN: no rate known
        return NEVER
    return gap / per_second


# --- conditions ---------------------------------------------------------------------------


def _condition(cond: Condition) -> Projection:
    if isinstance(cond, Leaf):
        return _leaf(cond)
    if isinstance(cond, Not):
        inner = cond.item
        if isinstance(inner, Leaf) and inner.op in _FLIP:
            flipped = Leaf(inner.metric, _FLIP[inner.op], inner.threshold, inner.over)
            return _leaf(flipped)
        return _unknown
    items = tuple(_condition(item) for item in cond.items)
    latest = isinstance(cond, AllOf)  # all: when the last one is met; any: the first

    def combined(values: Mapping[str, float], rate: Rate) -> float | None:
        """The latest (or earliest) of the items' known moments, None if none is known:
        as ``max`` (``min``) of them, the first of equal ones kept."""
        found: float | None = None
        for item in items:
            seconds = item(values, rate)
            if seconds is not None and (
                found is None or (seconds > found if latest else seconds < found)
            ):
                found = seconds
        return found

    return combined


def _unknown(values: Mapping[str, float], rate: Rate) -> float | None:
    return None


def _leaf(leaf: Leaf) -> Projection:
    metric, op, threshold, over = leaf.metric, leaf.op, leaf.threshold, leaf.over
    if op not in _FLIP:
        return _unknown
    meets = _MEETS[op]
    if metric in DERIVED:
        if over:
            return _unknown
        top, bottom = DERIVED[metric]

        def derived(values: Mapping[str, float], rate: Rate) -> float | None:
            num, den = values.get(top), values.get(bottom)
            if num is None or not den:
                return None
            return 0.0 if meets(num / den, threshold) else NEVER

        return derived
    if over:
        span = float(over)

        def windowed(values: Mapping[str, float], rate: Rate) -> float | None:
            per_second = _bounded_rate(metric, values, rate)
            if per_second is None:
                return None
            return 0.0 if meets(per_second * span, threshold) else NEVER

        return windowed
    return _total(metric, op, threshold)


def _total(metric: str, op: str, threshold: float) -> Projection:
    """A leaf on a total: met now, or (rising to it) when its rate closes the gap."""
    meets = _MEETS[op]
    rising = op in ("gte", "gt")
    step = 1 if op == "gt" else 0

    def total(values: Mapping[str, float], rate: Rate) -> float | None:
        value = values.get(metric)
        if value is None:
            return None
        if meets(value, threshold):
            return 0.0
        if not rising:
            return NEVER
        gap = threshold - value + step  # ``_time_to``'s steps, here: most pairs end here
        if gap <= 0:
            return 0.0
        per_second = rate(metric)
        if not per_second > 0:  # also NaN: no rate known
            return NEVER
        return gap / per_second

    return total


def _bounded_rate(metric: str, values: Mapping[str, float], rate: Rate) -> float | None:
    """The metric's rate, or for a metric the readings lack the rate of impressions, which
    bounds it; None when neither is known."""
    per_second = rate(metric)  # NaN for a metric not read (and nil when no time passed)
    if per_second != per_second and metric not in values:  # NaN: ``math.isnan``, inline
        per_second = rate(_BOUND)
    return None if per_second != per_second else per_second


def _window_test(cond: Condition | None) -> Callable[[Mapping[str, float], Rate], bool]:
    """Whether a windowed leaf of ``cond`` could hold soon: the rate over its window
    reaches a share of its threshold (or the rate cannot be known)."""
    leaves = [
        (leaf.metric, float(leaf.over or 0), _WINDOW_SHARE * leaf.threshold)
        for leaf in condition_metrics(cond)
        if leaf.over and leaf.op in ("gte", "gt") and leaf.metric not in DERIVED
    ]
    others = any(
        leaf.over and (leaf.op not in ("gte", "gt") or leaf.metric in DERIVED)
        for leaf in condition_metrics(cond)
    )

    def could(values: Mapping[str, float], rate: Rate) -> bool:
        if others:
            return True
        for metric, span, share in leaves:
            per_second = _bounded_rate(metric, values, rate)
            if per_second is None or per_second * span >= share:
                return True
        return False

    return could
