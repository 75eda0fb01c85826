"""X API v2 client: discover an owned account's recent posts, and write as an owned account.

Discovery reads ``GET /2/users/:id/tweets`` with the app's bearer token; writes (repost,
like, reply, quote) are signed with OAuth 1.0a as the acting account. Every answer becomes
either a frozen result or one typed ``ApiError`` whose ``retryable`` tells the outbox what
to do, and whose message names the account and the post, never a credential.

X reports a write that was already done in several ways (engagement-api.md §7, §9): a 200
saying ``retweeted``/``liked`` true, a 403 "already retweeted" (v1 code 327 style), or a
403 about duplicate content for a repeated reply. All of them mean the action's effect
exists, so they count as done: the outbox must not retry or kill such an action.

Per-user write limits are checked locally before sending (``WriteLimits``), so a burst of
firings waits for the window instead of earning 429s.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from automation.config.model import Account, ApiSettings, AppCredentials, Config
from automation.config.secret import redactor
from automation.core.errors import (
    AuthFailed,
    MalformedResponse,
    RateLimited,
    RequestRejected,
    ServerFailed,
    TransportFailed,
)
from automation.core.facts import post_created_at
from automation.core.payloads import iso
from automation.x.backoff import parse_retry_after
from automation.x.http import Credentials, HttpClient, HttpResponse
from automation.x.v2_problems import (
    ALREADY_CODES,
    ALREADY_PHRASES,
    DUPLICATE_CODES,
    DUPLICATE_PHRASES,
    EXCERPT,
    excerpt,
    is_auth_problem,
    is_problem,
    problem_of,
    read_problem,
)
from automation.x.write_limits import WriteLimits

__all__ = [
    "EARLIEST_TIMELINE",
    "MAX_TIMELINE",
    "DiscoveredPost",
    "Discovery",
    "WriteResult",
    "XClient",
]

MAX_TIMELINE = 3200  # the API serves only an account's most recent 3,200 posts
# X's first allowed timeline start_time (engagement-api.md: "on or after 2010-11-06");
# a second past it, as bounds are whole seconds and maybe exclusive
EARLIEST_TIMELINE = datetime(2010, 11, 6, 0, 0, 1, tzinfo=UTC)
_PAGE_SIZE = 100
_FIELDS_PARAMS = {"tweet.fields": "post.fields", "post.fields": "tweet.fields"}
_POST_ID = re.compile(r"^[0-9]{1,19}$")
_DEFAULT_RATE_WAIT = 60.0  # a 429 that says nothing about when to come back


@dataclass(frozen=True)
class DiscoveredPost:
    post_id: str
    created_at: datetime
    text: str


@dataclass(frozen=True)
class Discovery:
    """Posts newest first as X listed them; ``newest_id`` is the next ``since_id`` (None
    when nothing new was found, so the caller keeps its own)."""

    posts: tuple[DiscoveredPost, ...]
    newest_id: str | None


@dataclass(frozen=True)
class WriteResult:
    """A write that took effect. ``already`` is True when X said it was done before;
    ``post_id`` is the post the write created (the repost or reply), when X names it.
    Failures are never results: they are raised, so nothing mistakes one for success."""

    done: bool
    already: bool
    detail: str
    post_id: str | None


class XClient:
    def __init__(
        self,
        http: HttpClient,
        *,
        settings: ApiSettings,
        app: AppCredentials,
        accounts: Mapping[str, Account],
        limits: WriteLimits,
        clock: Callable[[], float],
    ) -> None:
        self._http = http
        self._base = settings.base_url.rstrip("/")
        self._timeout = settings.timeout
        self._accounts = dict(accounts)
        self._limits = limits
        self._clock = clock
        self._credentials = Credentials(app, accounts)
        self._scrub = redactor(self._credentials.secrets())  # for answers quoting a request
        self._fields = "tweet.fields"  # or "post.fields", once X refuses the first

    @classmethod
    def configured(
        cls,
        config: Config,
        http: HttpClient,
        *,
        clock: Callable[[], datetime],
        limits: WriteLimits | None = None,
    ) -> XClient:
        """The client for ``config``'s X API, app and accounts; writes counted in
        ``limits`` (a fresh count when None: a reader, or a one-off write)."""
        return cls(
            http,
            settings=config.x_api,
            app=config.app,
            accounts={a.name: a for a in config.accounts},
            limits=limits if limits is not None else WriteLimits(),
            clock=lambda: clock().timestamp(),
        )

    # --- discovery ----------------------------------------------------------------------

    def discover(
        self,
        account: str,
        *,
        since_id: str | None,
        max_pages: int = 32,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        replies: bool = False,
    ) -> Discovery:
        """The account's original posts newer than ``since_id``, at most 3,200.

        ``start_time`` bounds a first discovery (no ``since_id`` yet) to posts young enough
        to be watched, instead of paging through the whole reachable timeline; with
        ``end_time`` it reads the posts of a period. ``replies`` includes the account's
        replies, which are its posts too (reposts never are). A ``start_time`` before
        ``EARLIEST_TIMELINE``, which X refuses, asks from there: no post is older; a period
        that ends by then holds no post to read, and sends no request (X would refuse it).
        """
        if end_time is not None and end_time <= max(
            start_time or EARLIEST_TIMELINE, EARLIEST_TIMELINE
        ):
            return Discovery(posts=(), newest_id=None)
        label = f"timeline of {account}"
        user = self._account(account, label)
        params = {
            "max_results": str(_PAGE_SIZE),
            "exclude": "retweets" if replies else "replies,retweets",
            "tweet.fields": "created_at",  # sent under the name X knows: _timeline_page
        }
        if since_id is not None:
            params["since_id"] = _checked_id(since_id, label)
        if start_time is not None:
            params["start_time"] = iso(max(start_time, EARLIEST_TIMELINE))
        if end_time is not None:
            params["end_time"] = iso(end_time)
        url = f"{self._base}/2/users/{user.user_id}/tweets"
        posts: dict[str, DiscoveredPost] = {}
        token: str | None = None
        for _ in range(max(1, max_pages)):
            page_params = params if token is None else {**params, "pagination_token": token}
            resp = self._timeline_page(label, url, page_params)
            if resp.status != 200:
                self._fail(label, resp)
            page, token = _parse_page(label, _json(label, resp, self._scrub))
            for post in page:
                posts.setdefault(post.post_id, post)
            if len(posts) >= MAX_TIMELINE or token is None:
                break
        found = tuple(posts.values())[:MAX_TIMELINE]
        newest = max((p.post_id for p in found), key=int, default=None)
        return Discovery(posts=found, newest_id=newest)

    def _timeline_page(self, label: str, url: str, params: dict[str, str]) -> HttpResponse:
        """One timeline page. X names its fields parameter ``tweet.fields`` (docs) or
        ``post.fields`` (OpenAPI v2.167), engagement-api.md §8.1 ⚠: a 400 naming the one
        sent asks again with the other, which this client keeps using."""
        for retry in (False, True):
            sent = self._fields
            named = {(sent if k in _FIELDS_PARAMS else k): v for k, v in params.items()}
            resp = self._send(label, "GET", url, params=named, auth=self._credentials.app())
            if retry or resp.status != 400:
                break
            if sent not in read_problem(resp.body, self._scrub).parameters:
                break
            self._fields = _FIELDS_PARAMS[sent]
        return resp

    # --- writes -------------------------------------------------------------------------

    def repost(self, account: str, post_id: str) -> WriteResult:
        label = f"repost of {post_id} as {account}"
        outcome = self._write("repost", label, account, post_id, "retweets", {"tweet_id": post_id})
        if isinstance(outcome, WriteResult):
            return outcome
        data = _data(label, outcome, self._scrub)
        if data.get("retweeted") is not True:
            raise MalformedResponse(
                f"{label}: X answered {outcome.status} without retweeted=true: "
                f"{excerpt(outcome.body, self._scrub)}",
                status=outcome.status,
            )
        rest_id = data.get("rest_id")
        return WriteResult(True, False, "reposted", rest_id if isinstance(rest_id, str) else None)

    def like(self, account: str, post_id: str) -> WriteResult:
        label = f"like of {post_id} as {account}"
        outcome = self._write("like", label, account, post_id, "likes", {"tweet_id": post_id})
        if isinstance(outcome, WriteResult):
            return outcome
        if _data(label, outcome, self._scrub).get("liked") is not True:
            raise MalformedResponse(
                f"{label}: X answered {outcome.status} without liked=true: "
                f"{excerpt(outcome.body, self._scrub)}",
                status=outcome.status,
            )
        return WriteResult(True, False, "liked", None)

    def reply(self, account: str, post_id: str, text: str) -> WriteResult:
        label = f"reply to {post_id} as {account}"
        body = {"text": text, "reply": {"in_reply_to_tweet_id": post_id}}
        return self._create("reply", label, account, post_id, body)

    def quote(self, account: str, post_id: str, text: str) -> WriteResult:
        label = f"quote of {post_id} as {account}"
        body = {"text": text, "quote_tweet_id": post_id}
        return self._create("quote", label, account, post_id, body)

    # --- internals ----------------------------------------------------------------------

    def _create(
        self, kind: str, label: str, account: str, post_id: str, body: dict[str, Any]
    ) -> WriteResult:
        outcome = self._write(kind, label, account, post_id, None, body)
        if isinstance(outcome, WriteResult):
            return outcome
        new_id = _data(label, outcome, self._scrub).get("id")
        if not isinstance(new_id, str) or not _POST_ID.match(new_id):
            raise MalformedResponse(
                f"{label}: X answered {outcome.status} without the new post's id: "
                f"{excerpt(outcome.body, self._scrub)}",
                status=outcome.status,
            )
        return WriteResult(True, False, f"posted {new_id}", new_id)

    def _write(
        self,
        kind: str,
        label: str,
        account: str,
        post_id: str,
        users_path: str | None,
        body: dict[str, Any],
    ) -> HttpResponse | WriteResult:
        """Send one write within the local limits; an "already done" answer is a result,
        any other failure raises, and a 2xx is returned for the caller to read."""
        user = self._account(account, label)
        _checked_id(post_id, label)
        now = self._clock()
        wait = self._limits.wait_time(account, kind, now)
        if wait > 0:
            why = self._limits.blocking_window(account, kind, now) or "limit"
            raise RateLimited(
                f"{label}: {account}'s write limit for {kind} ({why}) is used up; "
                f"retry in {math.ceil(wait)}s",
                retry_after=wait,
                status=None,
            )
        if users_path is None:
            url = f"{self._base}/2/tweets"
        else:
            url = f"{self._base}/2/users/{user.user_id}/{users_path}"
        self._limits.record(account, kind, now)
        resp = self._send(
            label, "POST", url, json=body, auth=self._credentials.user(account, label)
        )
        self._limits.observe(account, kind, resp.headers, self._clock())
        if resp.ok:
            return resp
        if resp.status == 403:
            problem = read_problem(resp.body, self._scrub)
            if problem.says(ALREADY_CODES, ALREADY_PHRASES) or problem.says(
                DUPLICATE_CODES, DUPLICATE_PHRASES
            ):
                return WriteResult(True, True, f"already done: {problem.summary}", None)
        self._fail(label, resp, account=account, kind=kind)

    def _account(self, name: str, label: str) -> Account:
        account = self._accounts.get(name)
        if account is None:
            known = ", ".join(sorted(self._accounts)) or "none"
            raise AuthFailed(f"{label}: no account {name!r} in the config (known: {known})")
        return account

    def _send(self, label: str, method: str, url: str, **kwargs: Any) -> HttpResponse:
        try:
            return self._http.request(method, url, timeout=self._timeout, **kwargs)
        except TransportFailed as exc:
            raise TransportFailed(f"{label}: {exc}", status=exc.status) from None
        except MalformedResponse as exc:
            raise MalformedResponse(f"{label}: {exc}", status=exc.status) from None

    def _fail(
        self, label: str, resp: HttpResponse, *, account: str = "", kind: str = ""
    ) -> NoReturn:
        """Raise the typed error for a failed answer."""
        problem = read_problem(resp.body, self._scrub)
        status = resp.status
        message = f"{label}: X answered {status}"
        if problem.summary:
            message += f" ({problem.summary})"
        if status == 429:
            now = self._clock()
            wait = _rate_wait(resp.headers, now)
            if account and kind:
                self._limits.block(account, kind, now + wait)
            raise RateLimited(f"{message}; retry in {math.ceil(wait)}s", retry_after=wait)
        if status == 401 or (status == 403 and is_auth_problem(problem)):
            who = f"account '{account}'" if account else "app bearer token"
            raise AuthFailed(f"{message}; check the credentials of {who}", status=status)
        if status >= 500:
            raise ServerFailed(message, status=status)
        if 400 <= status < 500:
            raise RequestRejected(message, status=status)
        raise MalformedResponse(f"{message}: unexpected status", status=status)


# --- pure helpers ---------------------------------------------------------------------------


def _checked_id(post_id: str, label: str) -> str:
    if not isinstance(post_id, str) or not _POST_ID.match(post_id):
        raise RequestRejected(f"{label}: {post_id!r} is not a post ID (1 to 19 digits)")
    return post_id


def _json(label: str, resp: HttpResponse, scrub: Callable[[str], str]) -> Any:
    try:
        return resp.json()
    except MalformedResponse as exc:
        raise MalformedResponse(scrub(f"{label}: {exc}"), status=exc.status) from None


def _data(label: str, resp: HttpResponse, scrub: Callable[[str], str]) -> dict[str, Any]:
    body = _json(label, resp, scrub)
    data = body.get("data") if isinstance(body, dict) else None
    errors = body.get("errors") if isinstance(body, dict) else None
    if data is None and isinstance(errors, list) and any(is_problem(e) for e in errors):
        # X refused the named resource (not found, not visible) with Problem objects
        summary = read_problem(resp.body, scrub).summary
        raise RequestRejected(f"{label}: X answered {resp.status} with errors ({summary})")
    if not isinstance(data, dict):
        raise MalformedResponse(
            f"{label}: X answered {resp.status} without a 'data' object: "
            f"{excerpt(resp.body, scrub)}",
            status=resp.status,
        )
    return data


def _parse_page(label: str, body: Any) -> tuple[list[DiscoveredPost], str | None]:
    """One timeline page: its posts and the next page's token (None on the last page)."""
    if not isinstance(body, dict):
        raise MalformedResponse(f"{label}: the timeline answer is not a JSON object")
    meta = body.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    data = body.get("data")
    if data is None:
        # No posts: a quiet account ({"meta":{"result_count":0}}), or a 200 that carries
        # only errors, such as an unknown or suspended user.
        if body.get("errors") and meta.get("result_count") != 0:
            problem = problem_of(body)
            raise RequestRejected(f"{label}: X answered 200 with errors ({problem.summary})")
        return [], None
    if not isinstance(data, list):
        raise MalformedResponse(f"{label}: 'data' is not a list")
    token = meta.get("next_token")
    posts = [_parse_post(label, item) for item in data]
    return posts, token if isinstance(token, str) and token else None


def _parse_post(label: str, item: Any) -> DiscoveredPost:
    raw_id = item.get("id") if isinstance(item, dict) else None
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    if not isinstance(raw_id, str) or not _POST_ID.match(raw_id):
        raise MalformedResponse(f"{label}: a post without a valid 'id': {str(item)[:EXCERPT]}")
    text = item.get("text")
    return DiscoveredPost(
        post_id=raw_id,
        created_at=_created_at(item.get("created_at"), raw_id),
        text=text if isinstance(text, str) else "",
    )


def _created_at(value: Any, post_id: str) -> datetime:
    """``created_at`` as sent, else the time inside the snowflake ID, which is exact."""
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return post_created_at(post_id)
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return post_created_at(post_id)


def _rate_wait(headers: Mapping[str, str], now: float) -> float:
    """How long a 429 asks us to wait: ``x-rate-limit-reset`` (epoch), else ``Retry-After``."""
    reset = headers.get("x-rate-limit-reset")
    if reset is not None:
        try:
            value = float(reset)
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return max(0.0, value - now)
    wait = parse_retry_after(headers.get("retry-after"), now)
    return _DEFAULT_RATE_WAIT if wait is None else wait
