"""The X API v2 endpoints the engine uses: an owned account's timeline, repost, like, and
posting replies and quotes. Errors are RFC 7807 problem objects; "not found" for a named
resource is a partial error inside a 200, as v2 answers it. The timeline's query is read
and checked by ``timeline_query``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from automation.sandbox.messages import Reply
from automation.sandbox.oauth_verify import Caller
from automation.sandbox.options import Options
from automation.sandbox.timeline_query import ID_PATTERN, QueryProblem, parse_timeline_query
from automation.sandbox.world import Post, World

__all__ = ["PROBLEMS", "handle", "problem", "route"]

PROBLEMS = "https://api.twitter.com/2/problems/"
MAX_REACH = 3200
_PROBLEM_JSON = "application/problem+json"
_ROUTES = (
    ("GET", re.compile(r"^/2/users/([^/]+)/tweets$"), "timeline"),
    ("POST", re.compile(r"^/2/users/([^/]+)/retweets$"), "repost"),
    ("DELETE", re.compile(r"^/2/users/([^/]+)/retweets/([^/]+)$"), "unrepost"),
    ("POST", re.compile(r"^/2/users/([^/]+)/likes$"), "like"),
    ("DELETE", re.compile(r"^/2/users/([^/]+)/likes/([^/]+)$"), "unlike"),
    ("POST", re.compile(r"^/2/tweets$"), "post"),
)
_POST_FIELDS = {
    "text",
    "reply",
    "quote_tweet_id",
    "media",
    "poll",
    "reply_settings",
    "made_with_ai",
    "paid_partnership",
    "nullcast",
    "community_id",
    "edit_options",
    "for_super_followers_only",
    "share_with_followers",
    "geo",
    "card_uri",
    "direct_message_deep_link",
}
_REF_TYPE = {"reply": "replied_to", "repost": "retweeted", "quote": "quoted"}
_METRIC_VALUES = (
    "impressions",
    "engagements",
    "favorites",
    "retweets",
    "replies",
    "quote_tweets",
    "url_clicks",
    "user_profile_clicks",
)


def problem(status: int, title: str, detail: str, kind: str = "", **extra: Any) -> Reply:
    body = {"title": title, "detail": detail, "type": PROBLEMS + kind if kind else "about:blank"}
    return Reply(status, {**body, "status": status, **extra}, content_type=_PROBLEM_JSON)


def _invalid(message: str, parameters: dict[str, list[str]] | None = None) -> Reply:
    error: dict[str, Any] = {"message": message}
    if parameters:
        error = {"parameters": parameters, **error}
    body = {
        "errors": [error],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": PROBLEMS + "invalid-request",
    }
    return Reply(400, body, content_type=_PROBLEM_JSON)


def _not_found(resource: str, value: str, parameter: str) -> dict[str, Any]:
    return {
        "value": value,
        "detail": f"Could not find {resource} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource,
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + "resource-not-found",
    }


def route(method: str, path: str) -> tuple[str, tuple[str, ...]] | None:
    """The endpoint name and path arguments, or None for a path v2 does not serve here."""
    for verb, pattern, name in _ROUTES:
        match = pattern.match(path)
        if match and verb == method:
            return name, match.groups()
    return None


def handle(
    endpoint: str,
    args: tuple[str, ...],
    query: list[tuple[str, str]],
    body: bytes,
    caller: Caller,
    world: World,
    now: datetime,
    options: Options,
) -> Reply:
    if endpoint == "timeline":
        return _timeline(args[0], query, caller, world, now, options.fields_param)
    if not caller.user_context:
        return problem(
            403,
            "Unsupported Authentication",
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this "
            "endpoint.  Supported authentication types are [OAuth 1.0a User "
            "Context, OAuth 2.0 User Context].",
            "unsupported-authentication",
        )
    if args and args[0] != caller.user_id:
        return problem(
            403,
            "Forbidden",
            f"You can only act on behalf of the authenticated user ({caller.user_id}).",
        )
    if endpoint in ("unrepost", "unlike"):
        return _undo(endpoint, args[1], caller, world)
    payload = _json_object(body)
    if isinstance(payload, Reply):
        return payload
    if endpoint == "post":
        return _create(payload, caller, world)
    return _repost_or_like(endpoint, payload, caller, world, options)


def _json_object(body: bytes) -> dict[str, Any] | Reply:
    try:
        payload = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        return _invalid("Request body is not valid JSON.")
    if not isinstance(payload, dict):
        return _invalid("Request body must be a JSON object.")
    return payload


def _repost_or_like(
    endpoint: str, payload: dict[str, Any], caller: Caller, world: World, options: Options
) -> Reply:
    extra = sorted(set(payload) - {"tweet_id"})
    if extra:
        return _invalid(
            f"$.{extra[0]}: is not defined in the schema and the schema does not "
            "allow additional properties"
        )
    tweet_id = payload.get("tweet_id")
    if tweet_id is None:
        return _invalid("$.tweet_id: is missing but it is required")
    if not isinstance(tweet_id, str) or not ID_PATTERN.match(tweet_id):
        return _invalid("$.tweet_id: does not match the regex pattern ^[0-9]{1,19}$")
    post = world.get(tweet_id)
    if post is None or (post.protected and post.author_id != caller.user_id):
        return Reply(200, {"errors": [_not_found("tweet", tweet_id, "tweet_id")]})
    assert caller.user_id is not None
    if endpoint == "like":
        world.like(caller.user_id, tweet_id)
        return Reply(200, {"data": {"liked": True}})
    if not world.repost(caller.user_id, tweet_id) and options.duplicate_repost == "forbidden":
        return problem(403, "Forbidden", "You have already retweeted this Tweet.")
    data: dict[str, Any] = {"retweeted": True}
    if options.rest_id:
        data["rest_id"] = tweet_id
    return Reply(200, {"data": data})


def _undo(endpoint: str, tweet_id: str, caller: Caller, world: World) -> Reply:
    if not ID_PATTERN.match(tweet_id):
        return _invalid(f"The `id` path parameter value [{tweet_id}] is not valid")
    assert caller.user_id is not None
    if world.find(tweet_id) is None:
        return Reply(200, {"errors": [_not_found("tweet", tweet_id, "source_tweet_id")]})
    if endpoint == "unlike":
        world.unlike(caller.user_id, tweet_id)
        return Reply(200, {"data": {"liked": False}})
    world.unrepost(caller.user_id, tweet_id)
    return Reply(200, {"data": {"retweeted": False}})


def _create(payload: dict[str, Any], caller: Caller, world: World) -> Reply:
    extra = sorted(set(payload) - _POST_FIELDS)
    if extra:
        return _invalid(
            f"$.{extra[0]}: is not defined in the schema and the schema does not "
            "allow additional properties"
        )
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        return _invalid("$.text: a non-empty string is required")
    if len(text) > 280:
        return problem(400, "Invalid Request", "Your Tweet text is too long.", "invalid-request")
    reply, quote = payload.get("reply"), payload.get("quote_tweet_id")
    if reply is not None and (
        not isinstance(reply, dict)
        or not ID_PATTERN.match(str(reply.get("in_reply_to_tweet_id", "")))
    ):
        return _invalid("$.reply.in_reply_to_tweet_id: a Post ID string is required")
    if quote is not None and (not isinstance(quote, str) or not ID_PATTERN.match(quote)):
        return _invalid("$.quote_tweet_id: does not match the regex pattern ^[0-9]{1,19}$")
    if quote is not None and any(k in payload for k in ("media", "poll", "card_uri")):
        return _invalid("quote_tweet_id cannot be combined with media, poll or card_uri")
    target = reply["in_reply_to_tweet_id"] if reply else quote
    if target is not None and world.get(target) is None:
        verb = "reply to" if reply else "quote"
        return problem(
            403,
            "Forbidden",
            f"You attempted to {verb} a Tweet that is deleted or not visible to you.",
        )
    assert caller.user_id is not None
    if world.recent_text(caller.user_id, text):
        return problem(
            403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
        )
    post = world.create_post(
        caller.user_id, text, reply_to=target if reply else None, quote_of=quote
    )
    return Reply(
        201, {"data": {"id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id]}}
    )


def _timeline(
    user_id: str,
    query: list[tuple[str, str]],
    caller: Caller,
    world: World,
    now: datetime,
    fields_param: str,
) -> Reply:
    params = parse_timeline_query(query, fields_param)
    if isinstance(params, QueryProblem):
        return _invalid(params.message, params.parameters)
    user = world.user(user_id) if ID_PATTERN.match(user_id) else None
    if user is None:
        return Reply(200, {"errors": [_not_found("user", user_id, "id")]})
    if user.protected and caller.user_id != user_id:
        return Reply(
            200,
            {
                "errors": [
                    {
                        "resource_type": "user",
                        "field": "tweets",
                        "resource_id": user_id,
                        "value": user_id,
                        "title": "Authorization Error",
                        "section": "data",
                        "detail": "Sorry, you are not authorized to see the Tweets of "
                        f"{user.username}.",
                        "type": PROBLEMS + "not-authorized-for-resource",
                    }
                ]
            },
        )
    reach = world.timeline(user_id, now, limit=MAX_REACH, after=params["since_id"])
    posts = _select(reach, params)
    page, meta = _page(posts, params)
    errors: list[dict[str, Any]] = []
    data = [_render(p, params["fields"], caller, world, now, errors) for p in page]
    body: dict[str, Any] = {"data": data} if data else {}
    if errors:
        body["errors"] = errors
    body["meta"] = meta
    return Reply(200, body)


def _select(posts: list[Post], params: dict[str, Any]) -> list[Post]:
    """Newest first, after since/until, time bounds and exclusions."""
    skip = {"reply" if e == "replies" else "repost" for e in params["exclude"]}
    since, until = params["since_id"], params["until_id"]
    start, end = params["start_time"], params["end_time"]
    out = []
    for p in posts:
        pid = int(p.id)
        if since is not None and pid <= since:
            break  # newest first: every later post is older still
        if p.kind in skip:
            continue
        if until is not None and pid >= until:
            continue
        if since is None and until is None:  # ids take precedence over times
            if start is not None and p.created_at < start:
                continue
            if end is not None and p.created_at > end:
                continue
        out.append(p)
    return out


def _page(posts: list[Post], params: dict[str, Any]) -> tuple[list[Post], dict[str, Any]]:
    size, token = params["max_results"], params["token"]
    if token is None:
        page, more_older, more_newer = posts[:size], len(posts) > size, False
    elif token[0] == "n":
        older = [p for p in posts if int(p.id) < token[1]]
        page, more_older, more_newer = older[:size], len(older) > size, True
    else:
        newer = [p for p in posts if int(p.id) > token[1]]
        page, more_older, more_newer = newer[-size:], True, len(newer) > size
    meta: dict[str, Any] = {"result_count": len(page)}
    if page:
        meta["newest_id"], meta["oldest_id"] = page[0].id, page[-1].id
        if more_older:
            meta["next_token"] = f"n{int(page[-1].id):x}"
        if more_newer:
            meta["previous_token"] = f"p{int(page[0].id):x}"
    return page, meta


def _render(
    post: Post,
    fields: set[str],
    caller: Caller,
    world: World,
    now: datetime,
    errors: list[dict[str, Any]],
) -> dict[str, Any]:
    """One post with the fields asked for; a metric the caller may not read is an error."""
    out = _post_fields(post, fields, world)
    v = world.values(post, _METRIC_VALUES, now)
    if "public_metrics" in fields:
        out["public_metrics"] = {
            "retweet_count": v["retweets"],
            "reply_count": v["replies"],
            "like_count": v["favorites"],
            "quote_count": v["quote_tweets"],
            "bookmark_count": v["favorites"] // 20,
            "impression_count": v["impressions"],
        }
    private = fields & {"non_public_metrics", "organic_metrics"}
    allowed = caller.user_id == post.author_id and now - post.created_at <= timedelta(days=30)
    for name in sorted(private):
        if allowed:
            out[name] = _private_metrics(name, v)
        else:
            errors.append(_field_not_authorized(post.id, name))
    return out


def _post_fields(post: Post, fields: set[str], world: World) -> dict[str, Any]:
    out: dict[str, Any] = {"id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id]}
    if "created_at" in fields:
        out["created_at"] = post.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if "author_id" in fields:
        out["author_id"] = post.author_id
    if "conversation_id" in fields:
        out["conversation_id"] = post.referenced_id if post.kind == "reply" else post.id
    if "referenced_tweets" in fields and post.referenced_id:
        out["referenced_tweets"] = [{"type": _REF_TYPE[post.kind], "id": post.referenced_id}]
    if "in_reply_to_user_id" in fields and post.kind == "reply" and post.referenced_id:
        target = world.find(post.referenced_id)
        if target:
            out["in_reply_to_user_id"] = target.author_id
    if "lang" in fields:
        out["lang"] = "en"
    return out


def _private_metrics(name: str, v: dict[str, int]) -> dict[str, int]:
    if name == "non_public_metrics":
        return {
            "impression_count": v["impressions"],
            "url_link_clicks": v["url_clicks"],
            "user_profile_clicks": v["user_profile_clicks"],
            "engagements": v["engagements"],
        }
    return {
        "impression_count": v["impressions"],
        "like_count": v["favorites"],
        "reply_count": v["replies"],
        "retweet_count": v["retweets"],
        "url_link_clicks": v["url_clicks"],
        "user_profile_clicks": v["user_profile_clicks"],
    }


def _field_not_authorized(post_id: str, name: str) -> dict[str, Any]:
    return {
        "resource_id": post_id,
        "resource_type": "tweet",
        "field": name,
        "parameter": "tweet.fields",
        "section": "data",
        "title": "Field Authorization Error",
        "detail": f"Sorry, you are not authorized to access '{name}' on a Tweet.",
        "value": name,
        "type": PROBLEMS + "not-authorized-for-field",
    }
