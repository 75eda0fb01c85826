"""The three Engagement API endpoints as pure functions: checked query in, reply out.

Authorization follows reference §6: app-only bearer tokens read /totals public metrics of
any public post; user context reads only the token owner's posts. Partial problems come
back inside a 200 (``errors`` as plain strings, ``unavailable_tweet_ids``,
``unsupported_for_*_tweet_ids``); protected posts refuse the whole request with 400.
Counts are strings and groupings nest in ``group_by`` order, hours with no activity
present as "0".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from automation.core.metric_names import USER_CONTEXT_METRICS
from automation.sandbox.engagement_request import FOUR_ITEM_ORDERS, Grouping, Query
from automation.sandbox.engagement_text import (
    Block,
    compact,
    hourly_text,
    object_text,
    totals_text,
)
from automation.sandbox.messages import Reply
from automation.sandbox.oauth_verify import Caller
from automation.sandbox.options import Options
from automation.sandbox.world import Post, World

__all__ = ["respond"]

IMPRESSIONS_DAYS = 90
VIDEO_DAYS = 1800
PRE_2015_ZERO = {"favorites", "replies", "retweets"}
PRE_2015_CUTOFF = datetime(2015, 9, 15, tzinfo=UTC)
_STAMP = "%Y-%m-%dT%H:%M:%SZ"
FOUR_LEVELS = frozenset(FOUR_ITEM_ORDERS)
TYPE_FIRST = FOUR_ITEM_ORDERS[1]
PER_POST = ("tweet.id", "engagement.type")
_ANSWER_FIELDS = frozenset(
    {
        "start",
        "end",
        "unavailable_tweet_ids",
        "unsupported_for_impressions_engagements_tweet_ids",
        "unsupported_for_video_views_tweet_ids",
        "errors",
    }
)


def respond(
    query: Query,
    caller: Caller,
    world: World,
    now: datetime,
    options: Options,
    *,
    direct: bool = True,
) -> Reply:
    """Answer a checked query for ``caller`` as of simulated time ``now``. The shapes
    clients ask for every cycle come back as JSON text already written (bytes); with
    ``direct=False`` every answer is nested in general, the answer that text equals."""
    refusal = _refuse(query, caller, options)
    if refusal:
        return refusal
    posts: list[Post] = []
    unavailable: list[str] = []
    for pid, post in zip(query.tweet_ids, world.get_many(query.tweet_ids, now), strict=True):
        if post is None:
            unavailable.append(pid)
        elif post.protected:
            return Reply(400, {"errors": ["Tweet ID(s) are unavailable"]})
        else:
            posts.append(post)
    errors: list[str] = []
    if caller.user_context:
        foreign = [p for p in posts if p.author_id != caller.user_id]
        if foreign:
            messages = _forbidden(foreign, options)
            if options.unowned == "reject":
                return Reply(403, {"errors": messages})
            errors += messages
            posts = [p for p in posts if p.author_id == caller.user_id]
    body: dict[str, Any] = {}
    if query.start is not None and query.end is not None:
        body["start"], body["end"] = query.start.strftime(_STAMP), query.end.strftime(_STAMP)
    if unavailable:
        body["unavailable_tweet_ids"] = unavailable
        errors.insert(0, f"{len(unavailable)} Tweet ID(s) are unavailable")
    zeroed = _unsupported(query, posts, now, body, errors, options)
    text = _direct(query, posts, world, now, zeroed, options, body, errors) if direct else None
    if text is not None:
        return Reply(200, text.encode())
    body.update(_grouped(query, posts, world, now, zeroed, options))
    if errors:
        body["errors"] = errors
    return Reply(200, body)


def _direct(
    query: Query,
    posts: list[Post],
    world: World,
    now: datetime,
    zeroed: set[tuple[str, str]],
    options: Options,
    head: dict[str, Any],
    errors: list[str],
) -> str | None:
    """The whole answer as JSON text when its groupings are the every-cycle shapes (totals
    per post and metric; hours under each post and metric), else None."""
    if any(g.name in _ANSWER_FIELDS for g in query.groupings):
        return None  # a grouping named like a field of the answer takes that field's place
    numeric = options.numeric_counts
    if query.start is None and all(g.group_by == PER_POST for g in query.groupings):
        text = totals_text(query.metrics, posts, world, now, zeroed, numeric)
        grouped = [(g.name, text) for g in query.groupings]
    elif query.start is not None and all(g.group_by in FOUR_LEVELS for g in query.groupings):
        blocks, hours = _blocks(query, posts, world, zeroed), _hours(query)
        grouped = [
            (g.name, hourly_text(blocks, query.start, hours, g.group_by == TYPE_FIRST, numeric))
            for g in query.groupings
        ]
    else:
        return None
    members = [(key, compact(value)) for key, value in head.items()] + grouped
    if errors:
        members.append(("errors", compact(errors)))
    return object_text(members)


def _grouped(
    query: Query,
    posts: list[Post],
    world: World,
    now: datetime,
    zeroed: set[tuple[str, str]],
    options: Options,
) -> dict[str, Any]:
    """Each grouping's answer by its name, nested in general."""
    cube = _cube(query, posts, world, now, zeroed)
    return {
        g.name: _per_post(cube, options)
        if query.start is None and g.group_by == PER_POST
        else _finish(_nest(g, cube, query, options), options)
        for g in query.groupings
    }


def _refuse(query: Query, caller: Caller, options: Options) -> Reply | None:
    if not caller.user_context and query.endpoint != "totals":
        reason = "Your account could not be authenticated. Reason: Unknown Authorization Type"
        return Reply(403, {"errors": [reason]})
    if not caller.user_context:
        refused = USER_CONTEXT_METRICS
        if not options.bearer_quote_tweets:
            refused = refused | {"quote_tweets"}
        private = [m for m in query.metrics if m in refused]
        if private:
            return Reply(403, {"errors": [f"Forbidden to access metrics: {', '.join(private)}"]})
    return None


def _forbidden(foreign: list[Post], options: Options) -> list[str]:
    if options.forbidden_text == "ids":
        return [f"Forbidden to access tweets: {','.join(p.id for p in foreign)}"]
    by_author: dict[str, list[str]] = {}
    for p in foreign:
        by_author.setdefault(p.author_id, []).append(p.id)
    return [
        f"Forbidden to access tweets for author id {author}: {','.join(ids)}"
        for author, ids in by_author.items()
    ]


def _unsupported(
    query: Query,
    posts: list[Post],
    now: datetime,
    body: dict[str, Any],
    errors: list[str],
    options: Options,
) -> set[tuple[str, str]]:
    """Posts too old for some metrics: listed, and their values read as zero."""
    zeroed: set[tuple[str, str]] = set()
    wants_ie = [m for m in ("impressions", "engagements") if m in query.metrics]
    if wants_ie and (query.endpoint == "totals" or options.impressions_days_everywhere):
        cutoff = now - timedelta(days=IMPRESSIONS_DAYS)
        old = [p.id for p in posts if p.created_at < cutoff]
        if old:
            body["unsupported_for_impressions_engagements_tweet_ids"] = old
            errors.append(
                f"Impressions & engagements for tweets older than {IMPRESSIONS_DAYS} days "
                f"({cutoff:%Y-%m-%d}) are not supported"
            )
            zeroed |= {(pid, m) for pid in old for m in wants_ie}
    if "video_views" in query.metrics:
        cutoff = now - timedelta(days=VIDEO_DAYS)
        old = [p.id for p in posts if p.created_at < cutoff]
        if old:
            body["unsupported_for_video_views_tweet_ids"] = old
            zeroed |= {(pid, "video_views") for pid in old}
    return zeroed


# A cube cell: (post id, metric, hour index or -1 for totals, count).
Cell = tuple[str, str, int, int]


def _cube(
    query: Query, posts: list[Post], world: World, now: datetime, zeroed: set[tuple[str, str]]
) -> list[Cell]:
    cells: list[Cell] = []
    if query.start is None or query.end is None:
        for post in posts:
            values = world.values(post, query.metrics, now)
            cells += [
                (post.id, m, -1, 0 if (post.id, m) in zeroed else values[m]) for m in query.metrics
            ]
        return cells
    for pid, m, counts in _blocks(query, posts, world, zeroed):
        cells += [(pid, m, h, c) for h, c in enumerate(counts)]
    return cells


def _blocks(
    query: Query, posts: list[Post], world: World, zeroed: set[tuple[str, str]]
) -> list[Block]:
    """Each post's hourly counts of each metric over the query's window."""
    assert query.start is not None
    hours = _hours(query)
    early = sum(1 for h in range(hours) if query.start + timedelta(hours=h) < PRE_2015_CUTOFF)
    blocks: list[Block] = []
    for post in posts:
        series = world.series(post, query.metrics, query.start, hours)
        for m in query.metrics:
            counts = series[m]
            if (post.id, m) in zeroed:
                counts = [0] * hours
            elif m in PRE_2015_ZERO and early:
                counts = [0] * early + counts[early:]
            blocks.append((post.id, m, counts))
    return blocks


def _hours(query: Query) -> int:
    """How many hours the query's window holds."""
    assert query.start is not None and query.end is not None
    return int((query.end - query.start).total_seconds() // 3600)


def _levels(grouping: Grouping, options: Options) -> tuple[str, ...]:
    """The nesting levels; an hour level without a day level gets one ("dated")."""
    levels = grouping.group_by
    dated = options.hour_only_shape == "dated"
    if dated and "engagement.hour" in levels and "engagement.day" not in levels:
        i = levels.index("engagement.hour")
        levels = (*levels[:i], "engagement.day", *levels[i:])
    return levels


def _nest(grouping: Grouping, cube: list[Cell], query: Query, options: Options) -> dict[str, Any]:
    levels = _levels(grouping, options)
    days: list[str] = []
    hours: list[str] = []
    if query.start is not None:
        stamps = [query.start + timedelta(hours=h) for h in range(_hours(query))]
        days = [s.strftime("%Y-%m-%d") for s in stamps]
        hours = [s.strftime("%H") for s in stamps]
    root: dict[str, Any] = {}
    pick: dict[str, Callable[[Cell], str]] = {
        "tweet.id": lambda c: c[0],
        "engagement.type": lambda c: c[1],
        "engagement.day": lambda c: days[c[2]],
        "engagement.hour": lambda c: hours[c[2]],
    }
    getters = [pick[level] for level in levels]
    *inner, last = getters
    for cell in cube:
        node = root
        for get in inner:
            key = get(cell)
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            node = child
        key = last(cell)
        node[key] = node.get(key, 0) + cell[3]
    return root


def _per_post(cube: list[Cell], options: Options) -> dict[str, Any]:
    """The common per-post, per-metric shape, built in one pass (no sums needed)."""
    out: dict[str, dict[str, Any]] = {}
    show = (lambda v: v) if options.numeric_counts else str
    for pid, metric, _, count in cube:
        row = out.get(pid)
        if row is None:
            row = out[pid] = {}
        row[metric] = show(count)
    return out


def _finish(node: dict[str, Any], options: Options) -> dict[str, Any]:
    """Counts become strings, as every documented response shows them."""
    if options.numeric_counts:
        return node
    return {k: _finish(v, options) if isinstance(v, dict) else str(v) for k, v in node.items()}
