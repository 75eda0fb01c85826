"""Which Engagement API requests a poll needs: the fewest the API's rules allow.

Pure: it turns the watched posts and the metrics the rules need into frozen
``EngagementRequest`` values. The rules it encodes (reference §1.4, §2, §3, §6):

- owned posts are read with the owner's OAuth 1.0a user context, one account per request,
  because a token only sees its own account's private metrics;
- public posts are read with the app's bearer token, and only the public /totals metrics
  exist for them;
- /totals takes 250 IDs, /28hr and /historical take 25;
- hourly data comes from the one 4-level grouping whose nesting is unambiguous;
- /historical windows are hour-aligned, at most 4 weeks, not before 2014-09-01 and never
  in the future (``x.historical`` plans them).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import call
from typing import Any, Literal

from automation.core import metric_names as m
from automation.core.fetch_plan import MAX_IDS
from automation.core.hours import floor_hour
from automation.core.payloads import iso
from automation.core.post_ids import ascii_digits

__all__ = [
    "EARLIEST_HISTORICAL",
    "HOURLY_GROUPING",
    "HOURLY_GROUP_BY",
    "HOURLY_GROUP_BY_TYPE_FIRST",
    "MAX_HISTORICAL_WINDOW",
    "TOTALS_GROUPING",
    "TOTALS_GROUP_BY",
    "Endpoint",
    "EngagementRequest",
    "WatchedPost",
    "chunked",
    "plan_owned_requests",
    "plan_public_totals",
    "plan_requests",
    "plan_totals",
    "request_json",
]

Endpoint = Literal["totals", "28hr", "historical"]

TOTALS_GROUPING = "per_post"
TOTALS_GROUP_BY: tuple[str, ...] = ("tweet.id", "engagement.type")
HOURLY_GROUPING = "hourly"
HOURLY_GROUP_BY: tuple[str, ...] = (
    "tweet.id",
    "engagement.type",
    "engagement.day",
    "engagement.hour",
)
# The only other 4-level order the API accepts (reference §3.1).
HOURLY_GROUP_BY_TYPE_FIRST: tuple[str, ...] = (
    "engagement.type",
    "tweet.id",
    "engagement.day",
    "engagement.hour",
)
_VALID_GROUP_BYS = frozenset(
    {
        TOTALS_GROUP_BY,
        ("engagement.type", "tweet.id"),
        HOURLY_GROUP_BY,
        HOURLY_GROUP_BY_TYPE_FIRST,
    }
)
EARLIEST_HISTORICAL = datetime(2014, 9, 1, tzinfo=UTC)
MAX_HISTORICAL_WINDOW = timedelta(weeks=4)
_METRIC_ORDER = {name: i for i, name in enumerate(m.API_METRICS)}
# json.dumps(..., separators=(",", ":")) as HttpClient writes a body, one encoder for all
_JSON = json.JSONEncoder(separators=(",", ":")).encode
_NO_IDS = '{"tweet_ids":[]'


@dataclass(frozen=True)
class WatchedPost:
    """A post to poll. ``account`` is the owned account's short name, None for public."""

    post_id: str
    account: str | None


@dataclass(frozen=True)
class EngagementRequest:
    """One POST to ``/insights/engagement/{endpoint}``; ``account`` None means bearer."""

    endpoint: Endpoint
    account: str | None
    tweet_ids: tuple[str, ...]
    engagement_types: tuple[str, ...]
    grouping: str = TOTALS_GROUPING
    group_by: tuple[str, ...] = TOTALS_GROUP_BY
    start: datetime | None = None
    end: datetime | None = None
    # /totals: keep counts as the API's texts when all are plain whole numbers
    # (``EngagementResult.texts``), for callers that only write them out again
    texts: bool = False

    def __post_init__(self) -> None:
        # Invariants the planner guarantees; a violation is a bug, not a user error.
        if self.endpoint not in MAX_IDS:
            raise ValueError(f"unknown endpoint {self.endpoint!r}")
        if not self.tweet_ids or len(self.tweet_ids) > MAX_IDS[self.endpoint]:
            raise ValueError(f"/{self.endpoint} takes 1..{MAX_IDS[self.endpoint]} ids")
        if not _digit_strings(self.tweet_ids):
            raise ValueError("tweet_ids must be strings of ASCII digits")
        if not self.engagement_types:
            raise ValueError("a request needs at least one metric")
        if self.group_by not in _VALID_GROUP_BYS:
            raise ValueError(f"unsupported group_by {self.group_by!r}")
        if self.endpoint != "totals" and self.account is None:
            raise ValueError(f"/{self.endpoint} needs user context")
        if (self.start is None) != (self.end is None) or (
            self.start is not None and self.endpoint != "historical"
        ):
            raise ValueError("start and end go together, and only on /historical")

    @property
    def hourly(self) -> bool:
        return len(self.group_by) == 4

    def body(self) -> dict[str, Any]:
        """The JSON body. IDs stay strings: above 2**53 JSON numbers lose digits."""
        body: dict[str, Any] = {
            "tweet_ids": list(self.tweet_ids),  # strings of digits (checked above)
            "engagement_types": list(self.engagement_types),
            "groupings": {self.grouping: {"group_by": list(self.group_by)}},
        }
        if self.start is not None and self.end is not None:
            body["start"] = _iso_hour(self.start)
            body["end"] = _iso_hour(self.end)
        return body

    def with_ids(self, tweet_ids: Sequence[str]) -> EngagementRequest:
        """The same request for other IDs (used to re-send what a partial failure left)."""
        return EngagementRequest(
            self.endpoint,
            self.account,
            tuple(tweet_ids),
            self.engagement_types,
            self.grouping,
            self.group_by,
            self.start,
            self.end,
            self.texts,
        )


def _digit_strings(ids: Sequence[str]) -> bool:
    """Every ID a non-empty string of ASCII digits, in two C-level passes (a cycle checks
    100,000): joined they are all digits only if each one is."""
    try:
        return ascii_digits("".join(ids)) and all(ids)
    except TypeError:  # not a string
        return False


def chunked(items: Sequence[str], size: int) -> Iterable[tuple[str, ...]]:
    for i in range(0, len(items), size):
        yield tuple(items[i : i + size])


def _ordered(metrics: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(metrics), key=lambda x: _METRIC_ORDER.get(x, len(_METRIC_ORDER))))


def plan_requests(
    posts: Iterable[WatchedPost],
    *,
    totals_metrics: frozenset[str],
    hourly_posts: Collection[str],
    hourly_metrics: frozenset[str],
) -> tuple[EngagementRequest, ...]:
    """The requests for one poll: per owned account /totals (250 a request) and /28hr
    (25 a request, only ``hourly_posts``), then bearer /totals for public posts when a
    public metric is needed. A post listed twice is asked for once."""
    return plan_owned_requests(
        ((post.post_id, post.account) for post in posts),
        totals_metrics=totals_metrics,
        hourly_posts=hourly_posts,
        hourly_metrics=hourly_metrics,
    )


def plan_owned_requests(
    posts: Iterable[tuple[str, str | None]],
    *,
    totals_metrics: frozenset[str],
    hourly_posts: Collection[str],
    hourly_metrics: frozenset[str],
) -> tuple[EngagementRequest, ...]:
    """``plan_requests`` for (post ID, owning account or None) pairs: no ``WatchedPost``
    per post, for a cycle's 100,000."""
    by_account, public = _by_owner(posts)
    return _planned(by_account, public, totals_metrics, set(hourly_posts), hourly_metrics)


def plan_totals(
    post_ids: Sequence[str],
    accounts: Sequence[str | None],
    totals_metrics: frozenset[str],
    *,
    texts: bool = False,
) -> tuple[EngagementRequest, ...]:
    """``plan_requests`` for /totals alone, the owners given as a column beside the posts
    (``accounts[i]`` owns ``post_ids[i]``; None: public): no ``WatchedPost`` per post and
    no look-up of each, for lists of 100,000. ``post_ids`` hold each post once (an
    export's list does: it is read that way). ``texts``: every request keeps the counts
    as sent (``EngagementRequest.texts``)."""
    if len(post_ids) != len(accounts):
        raise ValueError("a post's account for each post")
    public: list[str] = []
    # each account that owns any (the requests go out in their names' order)
    by_account: dict[str, list[str]] = {a: [] for a in set(accounts) if a is not None}
    append: dict[str | None, Callable[[str], None]] = {None: public.append}
    append.update((account, posts.append) for account, posts in by_account.items())
    # one C-level pass: each post onto its owner's list (None: public), in listed order
    deque(map(call, map(append.__getitem__, accounts), post_ids), maxlen=0)
    return _planned(by_account, public, totals_metrics, set(), frozenset(), texts=texts)


def _by_owner(posts: Iterable[tuple[str, str | None]]) -> tuple[dict[str, list[str]], list[str]]:
    """Post IDs per owned account and the public ones, in order, each post once."""
    by_account: dict[str, list[str]] = {}
    public: list[str] = []
    seen: set[str] = set()
    for post_id, account in posts:
        if post_id in seen:
            continue
        seen.add(post_id)
        if account is None:
            public.append(post_id)
        else:
            by_account.setdefault(account, []).append(post_id)
    return by_account, public


def _planned(
    by_account: Mapping[str, list[str]],
    public: Sequence[str],
    totals_metrics: frozenset[str],
    hourly_set: Collection[str],
    hourly_metrics: frozenset[str],
    *,
    texts: bool = False,
) -> tuple[EngagementRequest, ...]:
    owned_totals = _ordered(totals_metrics & m.TOTALS_METRICS)
    hourly = _ordered(hourly_metrics & m.HOURLY_METRICS)
    out: list[EngagementRequest] = []
    for account in sorted(by_account):
        ids = by_account[account]
        if owned_totals:
            out.extend(
                EngagementRequest("totals", account, chunk, owned_totals, texts=texts)
                for chunk in chunked(ids, MAX_IDS["totals"])
            )
        wanted = [i for i in ids if i in hourly_set] if hourly and hourly_set else []
        if wanted:
            out.extend(
                EngagementRequest("28hr", account, chunk, hourly, HOURLY_GROUPING, HOURLY_GROUP_BY)
                for chunk in chunked(wanted, MAX_IDS["28hr"])
            )
    out.extend(plan_public_totals(public, totals_metrics, texts=texts))
    return tuple(out)


def plan_public_totals(
    post_ids: Sequence[str], totals_metrics: Collection[str], *, texts: bool = False
) -> tuple[EngagementRequest, ...]:
    """Bearer /totals for posts read without user context; none if no public metric.
    ``texts``: as ``EngagementRequest.texts``."""
    public = _ordered(set(totals_metrics) & m.PUBLIC_TOTALS_METRICS)
    if not public or not post_ids:
        return ()
    return tuple(
        EngagementRequest("totals", None, chunk, public, texts=texts)
        for chunk in chunked(post_ids, MAX_IDS["totals"])
    )


def _iso_hour(t: datetime) -> str:
    return iso(floor_hour(t.astimezone(UTC)))


def request_json(request: EngagementRequest) -> bytes:
    """``request.body()`` as the JSON HttpClient would send, the post IDs put in as they
    are: they are ASCII digits (``EngagementRequest`` checks), which JSON never escapes,
    and ``json.dumps`` scanning 250 of them for escapes was most of a body's cost."""
    body = request.body()
    body["tweet_ids"] = ()
    text = _JSON(body)
    if not text.startswith(_NO_IDS):  # not the body's first field: encoded whole
        return _JSON(request.body()).encode()
    ids = '","'.join(request.tweet_ids)
    return f'{{"tweet_ids":["{ids}"]{text[len(_NO_IDS) :]}'.encode()
