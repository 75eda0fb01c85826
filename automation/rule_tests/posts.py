"""The scripted posts of one test: their metric values at each poll, accounts and creation.

Values are written in the compact notation (``notation.py``) under the metric names people
use; they are keyed by canonical metric name here, keeping the written name for reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from automation.core.durations import parse_duration
from automation.core.facts import post_created_at
from automation.core.metric_names import canonical
from automation.rule_tests.model import ScriptedPost
from automation.rule_tests.notation import NotationProblem, Series, parse_series
from automation.rule_tests.scope import PathList, TestScope, offset_text, suggest

__all__ = ["POST_KEYS", "PUBLIC", "poll_count", "read_posts", "read_series"]

PUBLIC = "public"
POST_KEYS = ("id", "account", "created")


def read_series(
    scope: TestScope, raw_posts: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Series]], bool]:
    """Each post's values by metric, and whether a series could not be read (then a test
    without polls is not worth a second error)."""
    out: list[dict[str, Series]] = []
    failed = False
    for index, post in enumerate(raw_posts):
        values, post_failed = _post_series(scope, index, post)
        out.append(values)
        failed = failed or post_failed
    return out, failed


def _post_series(
    scope: TestScope, index: int, post: Mapping[str, Any]
) -> tuple[dict[str, Series], bool]:
    values: dict[str, Series] = {}
    first_name: dict[str, str] = {}
    failed = False
    for name, raw in post.items():
        if name in POST_KEYS:
            continue
        path = scope.at("posts", index, name)
        if name == "engagement_rate":
            failed = True
            scope.rep.error(
                path,
                "engagement_rate is computed (engagements / impressions): script "
                "engagements and impressions instead",
                key=True,
            )
            continue
        metric = canonical(name) or name
        if metric in first_name:
            scope.rep.error(
                path,
                f"'{name}' and '{first_name[metric]}' are the same metric: keep one",
                key=True,
            )
            continue
        first_name[metric] = name
        parsed = parse_series(raw)
        if isinstance(parsed, NotationProblem):
            scope.rep.error(path, parsed.message, offset=parsed.offset)
            failed = True
            continue
        values[metric] = parsed
    return values, failed


def poll_count(
    scope: TestScope,
    raw_test: Mapping[str, Any],
    series: list[dict[str, Series]],
    series_failed: bool,
) -> int:
    """How many polls the test runs: as given, or as many as the longest series."""
    longest = max((len(v) for post in series for v in post.values()), default=0)
    polls: int = raw_test.get("polls", longest)
    if "polls" in raw_test and longest > polls:
        scope.rep.error(
            scope.at("polls"),
            f"a post has values for {longest} polls, but the test runs {polls}: "
            "raise 'polls' or remove values",
        )
    if polls == 0 and not series_failed:
        scope.rep.error(
            scope.at("name"),
            "no polls: give a post metric values (e.g. likes: 80+5x6) or set 'polls'",
            key=True,
        )
    return polls


def read_posts(
    scope: TestScope,
    raw_posts: Sequence[Mapping[str, Any]],
    series: list[dict[str, Series]],
    times: list[datetime],
    start: datetime,
    *,
    explicit: Mapping[str, str],
    accounts: Sequence[str],
) -> list[ScriptedPost]:
    """``explicit`` maps post IDs the rules watch by ID to the first rule that does;
    ``accounts`` are the owned accounts the rules name."""
    out: list[ScriptedPost] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_posts):
        path = scope.at("posts", index)
        post_id = raw["id"]
        if post_id in seen:
            scope.rep.error([*path, "id"], f"post '{post_id}' is listed twice in this test")
        seen.add(post_id)
        account = raw.get("account", PUBLIC)
        if account != PUBLIC and account not in accounts:
            message = suggest(account, [*accounts, PUBLIC], "account")
            scope.rep.error([*path, "account"], message)
        created = _created(scope, path, raw, explicit, start)
        post = ScriptedPost(
            post_id=post_id,
            account=None if account == PUBLIC else account,
            created_at=created,
            series=series[index] if index < len(series) else {},
            written={canonical(k) or k: k for k in raw if k not in POST_KEYS},
        )
        _check_existence(scope, path, post, times, start)
        out.append(post)
    return out


def _created(
    scope: TestScope,
    path: PathList,
    raw: Mapping[str, Any],
    explicit: Mapping[str, str],
    start: datetime,
) -> datetime:
    post_id = raw["id"]
    if post_id in explicit:
        if "created" in raw:
            scope.rep.error(
                [*path, "created"],
                f"rule '{explicit[post_id]}' watches post {post_id} by its ID, and an ID "
                "holds its creation time: remove 'created' (set the test's 'start' "
                "to move the polls instead)",
                key=True,
            )
        return post_created_at(post_id)
    text = str(raw.get("created", "0s")).strip()
    sign = -1 if text.startswith("-") else 1
    seconds = parse_duration(text.lstrip("+-")) or 0
    return start + timedelta(seconds=sign * seconds)


def _check_existence(
    scope: TestScope, path: PathList, post: ScriptedPost, times: list[datetime], start: datetime
) -> None:
    """A value for a poll before the post was written would be silently ignored."""
    for metric, values in post.series.items():
        early = [
            k + 1
            for k, value in enumerate(values[: len(times)])
            if value is not None and times[k] < post.created_at
        ]
        if early:
            when = offset_text((post.created_at - start).total_seconds())
            scope.rep.error(
                [*path, post.written.get(metric, metric)],
                f"poll {early[0]} comes before this post is created ({when}): "
                "write _ for the polls before it exists",
            )
