"""The query of the X API v2 user timeline, read and checked the way X checks it.

Parsing is pure: the first bad parameter comes back as a ``QueryProblem`` (X's message and
the parameter it names), which the endpoint answers as an invalid request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["ID_PATTERN", "QueryProblem", "parse_timeline_query"]

ID_PATTERN = re.compile(r"^[0-9]{1,19}$")
_UTC_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
_EARLIEST_TIME = datetime(2010, 11, 6, tzinfo=UTC)  # "On or after 2010-11-06"
_TIMELINE_PARAMS = {
    "max_results",
    "pagination_token",
    "since_id",
    "until_id",
    "start_time",
    "end_time",
    "exclude",
    "tweet.fields",
    "post.fields",
    "expansions",
    "user.fields",
    "media.fields",
    "poll.fields",
    "place.fields",
}
_TWEET_FIELDS = {
    "attachments",
    "author_id",
    "card_uri",
    "context_annotations",
    "conversation_id",
    "created_at",
    "edit_controls",
    "edit_history_tweet_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "non_public_metrics",
    "note_tweet",
    "organic_metrics",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
    "scopes",
    "source",
    "text",
    "withheld",
}


@dataclass(frozen=True)
class QueryProblem:
    """X's message, and the parameter it names with the value that was given."""

    message: str
    parameters: dict[str, list[str]]


def parse_timeline_query(
    query: list[tuple[str, str]], fields_param: str = "both"
) -> dict[str, Any] | QueryProblem:
    """The timeline query, checked in the order X checks it: the first problem is the answer.
    ``fields_param`` names the one fields parameter X accepts, or "both"."""
    known = _TIMELINE_PARAMS
    if fields_param != "both":
        known = (_TIMELINE_PARAMS - {"tweet.fields", "post.fields"}) | {fields_param}
    raw: dict[str, str] = {}
    for key, value in query:
        if key not in known:
            allowed = ",".join(sorted(known))
            return QueryProblem(
                f"The query parameter [{key}] is not one of [{allowed}]", {key: [value]}
            )
        raw[key] = value
    out: dict[str, Any] = {}
    for read in (_page_size, _bounds, _filters, _page_token):
        part = read(raw)
        if isinstance(part, QueryProblem):
            return part
        out.update(part)
    return out


def _page_size(raw: dict[str, str]) -> dict[str, Any] | QueryProblem:
    value = raw.get("max_results", "10")
    if not value.isdigit() or not 5 <= int(value) <= 100:
        return QueryProblem(
            f"The `max_results` query parameter value [{value}] is not between 5 and 100",
            {"max_results": [value]},
        )
    return {"max_results": int(value)}


def _bounds(raw: dict[str, str]) -> dict[str, Any] | QueryProblem:
    """since_id/until_id as numbers and start_time/end_time as UTC times (None: not given)."""
    out: dict[str, Any] = {}
    for key in ("since_id", "until_id"):
        if key in raw and not ID_PATTERN.match(raw[key]):
            return QueryProblem(
                f"The `{key}` query parameter value [{raw[key]}] does not match ^[0-9]{{1,19}}$",
                {key: [raw[key]]},
            )
        out[key] = int(raw[key]) if key in raw else None
    for key in ("start_time", "end_time"):
        out[key] = None
        if key in raw:
            when = _utc_time(raw[key])
            if when is None:
                return QueryProblem(
                    f"Invalid `{key}` [{raw[key]}]: use YYYY-MM-DDTHH:mm:ssZ", {key: [raw[key]]}
                )
            if when < _EARLIEST_TIME:
                return QueryProblem(
                    f"Invalid `{key}` [{raw[key]}]: it must be on or after 2010-11-06T00:00:00Z",
                    {key: [raw[key]]},
                )
            out[key] = when
    return _ordered(raw, out)


def _utc_time(value: str) -> datetime | None:
    """A ``YYYY-MM-DDTHH:mm:ssZ`` time, the one form the reference gives; else None."""
    if not _UTC_TIME.match(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # 2026-02-30 and the like
        return None


def _ordered(raw: dict[str, str], out: dict[str, Any]) -> dict[str, Any] | QueryProblem:
    """``since_id`` must be below ``until_id``, and ``start_time`` before ``end_time``."""
    for low, high in (("since_id", "until_id"), ("start_time", "end_time")):
        if out[low] is not None and out[high] is not None and out[low] >= out[high]:
            return QueryProblem(
                f"The `{low}` query parameter value [{raw[low]}] must be before the "
                f"`{high}` query parameter value [{raw[high]}]",
                {low: [raw[low]], high: [raw[high]]},
            )
    return out


def _filters(raw: dict[str, str]) -> dict[str, Any] | QueryProblem:
    """The kinds of post to leave out, and the tweet fields asked for."""
    excluded = {e for e in raw.get("exclude", "").split(",") if e}
    if excluded - {"replies", "retweets"}:
        value = raw["exclude"]
        return QueryProblem(
            f"The `exclude` query parameter value [{value}] is not one of [replies,retweets]",
            {"exclude": [value]},
        )
    fields = {f for key in ("tweet.fields", "post.fields") for f in raw.get(key, "").split(",")}
    fields.discard("")
    if fields - _TWEET_FIELDS:
        bad = sorted(fields - _TWEET_FIELDS)[0]
        return QueryProblem(
            f"The `tweet.fields` query parameter value [{bad}] is not one of "
            f"[{','.join(sorted(_TWEET_FIELDS))}]",
            {"tweet.fields": [bad]},
        )
    return {"exclude": excluded, "fields": fields}


def _page_token(raw: dict[str, str]) -> dict[str, Any] | QueryProblem:
    """A token is ``n`` (older than) or ``p`` (newer than) and a post ID in hex."""
    token = raw.get("pagination_token")
    if token is None:
        return {"token": None}
    if len(token) < 2 or token[0] not in "np" or not _is_hex(token[1:]):
        return QueryProblem(
            f"The `pagination_token` query parameter value [{token}] is not valid",
            {"pagination_token": [token]},
        )
    return {"token": (token[0], int(token[1:], 16))}


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text) and bool(text)
