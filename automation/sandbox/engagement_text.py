"""The Engagement API's every-cycle answers, written straight as JSON text.

Totals per post and metric (/totals) and the four-level hourly series (/28hr,
/historical) are nearly every request a client sends. Filling one template per request
with each post's counts skips building a dict per post (per hour, for series) and then
encoding them all; the text is exactly what ``json.dumps(answer, separators=(",", ":"))``
writes for the nested answer, key order included (``tests/sandbox`` holds the two
together). Post IDs are digits and metric names, days and hours plain ASCII, so only
the names a client chose are escaped, as ``json.dumps`` escapes them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from automation.sandbox.curves import metric_indices
from automation.sandbox.world import Post, World

__all__ = ["Block", "compact", "hourly_text", "object_text", "totals_text"]

# A series block: (post id, metric, count of each hour of the window).
Block = tuple[str, str, list[int]]


def compact(value: Any) -> str:
    """``value`` as the sandbox writes every answer: JSON without spaces."""
    return json.dumps(value, separators=(",", ":"))


def object_text(members: Iterable[tuple[str, str]]) -> str:
    """A JSON object of (key, value already written as JSON) pairs."""
    return "{" + ",".join(f"{json.dumps(key)}:{value}" for key, value in members) + "}"


def totals_text(
    metrics: Sequence[str],
    posts: Sequence[Post],
    world: World,
    now: datetime,
    zeroed: set[tuple[str, str]],
    numeric: bool,
) -> str:
    """Each post's value of each metric as of ``now``: ``{"<id>":{"<metric>":"<count>"}}``;
    adjusted posts and metrics too old to report (``zeroed``, read as 0) as the world says."""
    count = "%d" if numeric else '"%d"'
    row = '"%s":{' + ",".join(f"{json.dumps(m)}:{count}" for m in metrics) + "}"
    indices = metric_indices(metrics)
    rows = []
    for post in posts:
        if post.adjustments or (zeroed and any((post.id, m) in zeroed for m in metrics)):
            values = world.values(post, metrics, now)
            counts = tuple(0 if (post.id, m) in zeroed else values[m] for m in metrics)
        else:  # nearly every post: its curve alone
            counts = post.profile.counts(indices, world.age_hours(post, now))
        rows.append(row % (post.id, *counts))
    return "{" + ",".join(rows) + "}"


def hourly_text(
    blocks: Sequence[Block], start: datetime, hours: int, type_first: bool, numeric: bool
) -> str:
    """A four-level grouping: post, metric (or metric, post), day, hour, each hour's count
    its own leaf, nested in the order the blocks come."""
    days = _days_template(start, hours, numeric)
    outer: dict[str, list[str]] = {}
    for pid, metric, counts in blocks:
        key, inner = (metric, pid) if type_first else (pid, metric)
        members = outer.get(key)
        if members is None:
            members = outer[key] = []
        members.append(f'"{inner}":' + days % tuple(counts))
    return "{" + ",".join(f'"{key}":{{' + ",".join(m) + "}" for key, m in outer.items()) + "}"


@functools.lru_cache(maxsize=16)
def _days_template(start: datetime, hours: int, numeric: bool) -> str:
    """``{"<day>":{"<hour>":%d,...},...}`` for the window's hours, in order (a window is
    asked for again and again within its hour)."""
    count = "%d" if numeric else '"%d"'
    runs: dict[str, list[str]] = {}
    for h in range(hours):
        stamp = start + timedelta(hours=h)
        runs.setdefault(stamp.strftime("%Y-%m-%d"), []).append(f'"{stamp:%H}":{count}')
    return "{" + ",".join(f'"{day}":{{' + ",".join(hs) + "}" for day, hs in runs.items()) + "}"
