"""Knobs for the behaviours the reference leaves open (⚠), and for the limits.

Where X's sources disagree the client must cope with every variant, so the sandbox can
produce each one; the defaults are the documented or most likely behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Options"]


@dataclass(frozen=True)
class Options:
    """``per_minute_limit``: Engagement API requests per app per minute (a contract figure).

    ``unowned``: "partial" answers a user-context request that names someone else's posts
    with a 200 holding the owned posts' data plus a "Forbidden to access tweets" error;
    "reject" refuses the whole request with 403. ``forbidden_text``: "ids" gives
    ``Forbidden to access tweets: 1,2``; "author" gives the 2015 form
    ``Forbidden to access tweets for author id A: 1,2``.
    ``max_groupings``: 3 per the reference (the Ruby client sends 5).
    ``hour_only_shape``: an hour grouping without a day level: "dated" keeps a date level
    under it (groupings guide), "hour_of_day" sums per hour of day (Ruby README).
    ``integer_ids``: accept JSON integers in ``tweet_ids`` (a docs example sends them).
    ``numeric_counts``: counts as JSON numbers instead of strings (a docs typo, for clients
    that must parse defensively). ``per_minute_reset_header``: also send
    ``x-per-minute-reset`` (read by one third-party client, not documented by X).
    ``per_second_limit``: also count Engagement API requests per app per second, refuse
    those beyond it with 429 and send ``x-per-second-limit`` / ``-remaining`` /
    ``-reset`` (epoch seconds), which the same client reads; None counts and sends none.
    ``duplicate_repost``: "forbidden" answers a repeated repost with 403
    "You have already retweeted this Tweet."; "ok" with 200 ``retweeted: true``.
    ``rest_id``: include ``rest_id`` in repost answers (OpenAPI v2.167).
    ``v2_429_body``: "problem" (RFC 7807) or "v1" (``{"errors":[{"code":88,...}]}``).
    ``bearer_quote_tweets``: the bearer token reads quote_tweets on /totals (2020 change
    log); False answers as the older auth section reads, with 403 "Forbidden to access
    metrics: quote_tweets".
    ``impressions_days_everywhere``: impressions and engagements of posts older than 90
    days are unsupported on /28hr and /historical too (the metric table's "All"), not
    only on /totals (the API reference).
    ``historical_days``: None answers /historical back to 2014-09-01 (the API reference,
    key characteristics, selecting an endpoint); 365 refuses a window starting more than
    that many days before now, as the overview's "Post engagement data is limited to only
    365 days in the past" reads.
    ``tweets_per_15min``: POST /2/tweets per user (100 in the rate-limit table, 200 in the
    manage-Posts guide).
    ``fields_param``: the name of the timeline's fields parameter X accepts: "tweet.fields"
    (every docs page), "post.fields" (OpenAPI v2.167) or "both"; the other is an unknown
    parameter, refused with 400.
    """

    per_minute_limit: int = 60
    unowned: Literal["partial", "reject"] = "partial"
    forbidden_text: Literal["ids", "author"] = "ids"
    max_groupings: int = 3
    hour_only_shape: Literal["dated", "hour_of_day"] = "dated"
    integer_ids: bool = True
    numeric_counts: bool = False
    per_minute_reset_header: bool = False
    per_second_limit: int | None = None
    duplicate_repost: Literal["forbidden", "ok"] = "forbidden"
    rest_id: bool = True
    v2_429_body: Literal["problem", "v1"] = "problem"
    tweets_per_15min: int = 100
    bearer_quote_tweets: bool = True
    impressions_days_everywhere: bool = False
    fields_param: Literal["both", "tweet.fields", "post.fields"] = "both"
    historical_days: int | None = None
