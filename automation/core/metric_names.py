"""Metric names: the Engagement API's, the friendly aliases, and where each can be read.

Rules, the request planner and the sandbox all read these sets, so that "which metric can
be known for which post" is decided in one place.
"""

from __future__ import annotations

from collections.abc import Iterable

from automation.core.wording import closest

__all__ = [
    "ALIASES",
    "API_METRICS",
    "DERIVED",
    "HOURLY_METRICS",
    "PUBLIC_TOTALS_METRICS",
    "TOTALS_METRICS",
    "USER_CONTEXT_METRICS",
    "all_names",
    "canonical",
    "suggest",
]

# Every engagement_types value of the Engagement API, in the reference's order.
API_METRICS: tuple[str, ...] = (
    "impressions",
    "engagements",
    "favorites",
    "retweets",
    "quote_tweets",
    "replies",
    "video_views",
    "media_views",
    "media_engagements",
    "url_clicks",
    "hashtag_clicks",
    "detail_expands",
    "permalink_clicks",
    "app_install_attempts",
    "app_opens",
    "email_tweet",
    "user_follows",
    "user_profile_clicks",
)

ALIASES: dict[str, str] = {"likes": "favorites", "reposts": "retweets", "quotes": "quote_tweets"}

# Computed by the engine from two API metrics.
DERIVED: dict[str, tuple[str, str]] = {"engagement_rate": ("engagements", "impressions")}

# /totals accepts only these.
TOTALS_METRICS: frozenset[str] = frozenset(
    {
        "impressions",
        "engagements",
        "favorites",
        "retweets",
        "quote_tweets",
        "replies",
        "video_views",
    }
)
# /totals with an app-only bearer token: any public post.
PUBLIC_TOTALS_METRICS: frozenset[str] = frozenset(
    {"favorites", "retweets", "quote_tweets", "replies", "video_views"}
)
# /28hr and /historical accept everything but quote_tweets.
HOURLY_METRICS: frozenset[str] = frozenset(m for m in API_METRICS if m != "quote_tweets")
# Known only with the owner's user context.
USER_CONTEXT_METRICS: frozenset[str] = frozenset(API_METRICS) - PUBLIC_TOTALS_METRICS


def all_names() -> tuple[str, ...]:
    """Every name a rule may use, for the schema and for suggestions."""
    return (*API_METRICS, *ALIASES, *DERIVED)


def canonical(name: str) -> str | None:
    """The API name for ``name`` (aliases resolved), or None when it is not a metric."""
    if name in ALIASES:
        return ALIASES[name]
    if name in API_METRICS or name in DERIVED:
        return name
    return None


def suggest(name: str) -> str | None:
    """The closest known name, for "did you mean" messages."""
    return closest(name, all_names())


def unknown_metric(name: str, accepted: Iterable[str]) -> str:
    """What a command says of ``name``, not a metric: the closest name, or when none is
    close, the ``accepted`` names to give instead (one or more, by the command)."""
    hint = suggest(name)
    if hint is not None:
        return f"unknown metric {name!r} (did you mean {hint!r}?)"
    return f"unknown metric {name!r}; use any of: {', '.join(accepted)}"
