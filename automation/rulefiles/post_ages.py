"""Posts a rule names by ID but can never watch: already older than its own max_age.

A post ID tells when the post was written, so ``check`` can say so before any cycle runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from automation.core.durations import format_duration
from automation.core.facts import post_created_at

__all__ = ["too_old"]

# Post IDs carry their creation time since late 2010; the older, sequential IDs all read
# as within seconds of that start.
_SNOWFLAKE_START = post_created_at("0") + timedelta(minutes=1)


def too_old(posts: Sequence[str], max_age: int, now: datetime) -> list[tuple[int, str]]:
    """(index, warning) for each of ``posts`` written longer than ``max_age`` before
    ``now``."""
    out = []
    for index, pid in enumerate(posts):
        if not pid.isdigit():
            continue  # the schema reports it
        created = post_created_at(pid)
        if now - created <= timedelta(seconds=max_age):
            continue
        out.append(
            (
                index,
                f"post {pid} was written {_written(created)} (its ID says so), longer ago "
                f"than max_age {format_duration(max_age)}: this rule never watches it; "
                "remove max_age to watch a named post whatever its age",
            )
        )
    return out


def _written(created: datetime) -> str:
    """When a post was written, from its ID; IDs from before late 2010 tell no date."""
    if created < _SNOWFLAKE_START:
        return "before 2010-11-04"
    return f"on {created.strftime('%Y-%m-%d')}"
