"""The Engagement API client: sends planned requests within the budget, merges results.

One failing request is reported in ``FetchResult.failures`` and the others still count,
so one bad chunk never blinds the engine to the rest. What the reference documents is
mapped to what the engine can act on:

- posts a token's account does not own ("Forbidden to access tweets ...") are asked again
  with the bearer token in the same fetch and reported as ``forbidden``, so the engine
  can treat them as public; posts refused to the bearer token too are ``unavailable``;
- a 400 "Tweet ID(s) are unavailable" (protected posts) marks the named IDs unavailable,
  or, when the body names none, narrows the chunk down by halves to find them;
- a 200 without the request's grouping refused the whole request: the posts it names are
  settled as above, the others asked again; naming none, its errors are the failure
  ("Your application ID is not authorized.": the app is not allow-listed yet);
- metrics refused to an auth ("Forbidden to access metrics: quote_tweets") are
  ``unsupported`` for the posts, the others asked, and left out for that auth from then on;
- 429, 5xx, timeouts and malformed bodies are retried with backoff, a bounded number of
  times; 401/403/406 and other 4xx are not.

Messages name the account, never a credential.
"""

from __future__ import annotations

import logging
import random
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from authlib.common.security import is_secure_transport

from automation.config.model import Account, ApiSettings, AppCredentials
from automation.config.secret import redactor
from automation.core.errors import (
    ApiError,
    AuthFailed,
    MalformedResponse,
    RateLimited,
    RequestRejected,
    ServerFailed,
)
from automation.core.facts import HourlySeries
from automation.x.backoff import backoff_delay
from automation.x.engagement_parse import (
    EngagementResult,
    error_messages,
    parse_response,
    split_forbidden,
)
from automation.x.engagement_plan import EngagementRequest, plan_public_totals, request_json
from automation.x.http import Auth, Credentials, HttpClient, HttpResponse, scrubbed_start
from automation.x.rate_budget import RateBudget

__all__ = ["EngagementClient", "FetchResult"]

log = logging.getLogger("automation.api")

_HEADERS = {"Content-Type": "application/json", "Accept-Encoding": "gzip"}  # as json= sent
_UNAVAILABLE = "tweet id(s) are unavailable"
_AUTH_FAILED = "your account could not be authenticated"  # reference §4.2, lower-cased
_SERVER_FAILED = "internal server error"
# reference §4.2 "App not enabled" (the Ruby client's lower-cased match) and §6
_APP_NOT_ALLOWED = "your application id is not authorized"
_ALLOW_LIST_HINT = "the app's ID must be allow-listed by X's account manager before any call works"
_HTTPS = "the Engagement API is HTTPS only (http:// reaches only a sandbox on this machine)"
_GZIP_HINT = "the API requires gzip: send 'Accept-Encoding: gzip'"
_MAX_BUDGET_WAITS = 1000
_MAX_RETRY = 60.0  # the longest backoff between two attempts at one request, in seconds
# a wait long enough that someone watching wonders why nothing happens: logged, and told
_NOTICED_WAIT = 5.0
_NO_TEXTS: Mapping[str, Mapping[str, str]] = MappingProxyType({})
# reference §4.2 "Metric not allowed with this auth": "Forbidden to access metrics: retweets"
_METRICS_REFUSED = re.compile(r"forbidden to access metrics\s*:\s*([\w\s,]+)", re.I)


@dataclass(frozen=True)
class FetchResult:
    """Everything one fetch learned; see ``EngagementResult`` for the fields it merges.

    ``failures`` are the requests that failed for good (after retries); ``requests_sent``
    counts HTTP requests including retries, for the status page. ``budget_wait``: seconds
    spent waiting for the request budget (the per-minute limit, or the API's 429s), the
    part of the fetch's time that the budget, not the work, took. ``texts``: posts whose
    counts are kept as sent (requests that ask for ``texts``), not in ``totals``.
    ``joined``: a fetch's only answer's ``EngagementResult.joined``, else None.
    """

    totals: Mapping[str, Mapping[str, float]]
    hourly: Mapping[str, Mapping[str, HourlySeries]]
    unavailable: frozenset[str]
    unsupported: Mapping[str, frozenset[str]]
    forbidden: frozenset[str]
    errors: tuple[str, ...]
    failures: tuple[ApiError, ...]
    requests_sent: int = 0
    budget_wait: float = 0.0
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: _NO_TEXTS)
    joined: tuple[tuple[str, ...], tuple[str, ...]] | None = None


@dataclass(frozen=True)
class _Outcome:
    result: EngagementResult
    follow_ups: tuple[EngagementRequest, ...] = ()


# what a fetch may make of each answer's totals as it arrives (``EngagementClient.fetch``)
Compact = Callable[[Mapping[str, Mapping[str, float]]], Mapping[str, Mapping[str, float]]]


class _Merged:
    """Accumulates the results of one fetch's requests (``compact``: each answer's totals
    turned into what the caller keeps, as it arrives)."""

    def __init__(self, compact: Compact | None = None) -> None:
        self._compact = compact
        # each post's values as the answer gave them (read-only), merged only when a post
        # is answered twice: a fetch of 100,000 posts copies nothing and loops over nothing
        self.totals: dict[str, Mapping[str, float]] = {}
        self.texts: dict[str, Mapping[str, str]] = {}
        # a fetch's only answer so far in texts (an export's fetch of one request), kept
        # as the parse gave it (read-only) instead of copied into ``texts``
        self._first_texts: Mapping[str, Mapping[str, str]] | None = None
        self._first_joined: tuple[tuple[str, ...], tuple[str, ...]] | None = None
        self.hourly: dict[str, dict[str, HourlySeries]] = {}
        self.unavailable: set[str] = set()
        self.unsupported: dict[str, set[str]] = {}
        self.forbidden: set[str] = set()
        self.errors: dict[str, None] = {}
        self.failures: list[ApiError] = []

    def add(self, result: EngagementResult) -> None:
        if self._compact is not None and result.totals:
            result = replace(result, totals=self._compact(result.totals))
        first = self._first_texts is None and not self.texts and not self.totals
        if first and result.texts and not result.totals:
            self._first_texts, self._first_joined = result.texts, result.joined
        elif result.texts or self.texts or self._first_texts is not None:
            self._add_texts(result)
        else:
            self._add_totals(result.totals)
        for pid, per_metric in result.hourly.items():
            self.hourly.setdefault(pid, {}).update(per_metric)
        self.unavailable |= result.unavailable
        for metric, ids in result.unsupported.items():
            self.unsupported.setdefault(metric, set()).update(ids)
        self.forbidden |= result.forbidden
        self.errors.update(dict.fromkeys(result.errors))

    def _add_totals(self, answers: Mapping[str, Mapping[str, float]]) -> None:
        totals = self.totals
        twice = totals.keys() & answers.keys()  # rare: answered by two requests
        merged = {pid: MappingProxyType({**totals[pid], **answers[pid]}) for pid in twice}
        totals.update(answers)
        totals.update(merged)

    def _add_texts(self, result: EngagementResult) -> None:
        """A post answered twice while texts are in play (rare: a post refused to its
        account and read again as public) has its counts read as numbers and merged."""
        if self._first_texts is not None:  # a second answer: merged from now on
            self.texts.update(self._first_texts)
            self._first_texts = self._first_joined = None
        texts, new = self.texts, result.texts
        again = (texts.keys() & new.keys()) | (texts.keys() & result.totals.keys())
        again |= self.totals.keys() & new.keys()
        self._add_totals({pid: _numbers(texts.pop(pid)) for pid in again if pid in texts})
        self._add_totals({pid: _numbers(new[pid]) for pid in again if pid in new})
        self._add_totals(result.totals)
        texts.update(new if not again else {p: v for p, v in new.items() if p not in again})

    def _texts(self) -> Mapping[str, Mapping[str, str]]:
        kept = self._first_texts
        if kept is None:
            return MappingProxyType(self.texts)
        # one answer's 250 posts not copied (400 answers: 0.009 s of the merge's 0.016)
        return kept if isinstance(kept, MappingProxyType) else MappingProxyType(dict(kept))

    def build(self, sent: int, waited: float) -> FetchResult:
        return FetchResult(
            totals=MappingProxyType(self.totals),  # each post's values are read-only already
            texts=self._texts(),
            hourly=MappingProxyType({k: MappingProxyType(v) for k, v in self.hourly.items()}),
            unavailable=frozenset(self.unavailable),
            unsupported=MappingProxyType({k: frozenset(v) for k, v in self.unsupported.items()}),
            forbidden=frozenset(self.forbidden),
            errors=tuple(self.errors),
            failures=tuple(self.failures),
            requests_sent=sent,
            budget_wait=waited,
            joined=self._first_joined if self._first_texts is not None else None,
        )


class EngagementClient:
    """Talks to ``{base_url}/insights/engagement/{totals,28hr,historical}``."""

    def __init__(
        self,
        http: HttpClient,
        *,
        settings: ApiSettings,
        app: AppCredentials,
        accounts: Mapping[str, Account],
        budget: RateBudget,
        sleep: Callable[[float], None],
        max_attempts: int = 4,
        rng: random.Random | None = None,
        first_retry: float = 1.0,
        on_wait: Callable[[float, str], None] | None = None,
    ) -> None:
        """``on_wait(seconds, why)`` is told of each wait of 5 s or more before it begins:
        ``why`` is the API's status (``429``) or ``budget`` (the per-minute budget)."""
        self._http = http
        self._settings = settings
        self._url = f"{settings.base_url.rstrip('/')}/insights/engagement/"
        self._secure = is_secure_transport(self._url)  # Authlib's rule for OAuth 1.0a too
        self._budget = budget
        self._sleep = sleep
        self._on_wait = on_wait
        self._max_attempts = max(1, max_attempts)
        self._rng = rng
        self._first_retry = first_retry
        self._credentials = Credentials(app, accounts)
        self._sent = 0
        self._waited = 0.0  # seconds slept for the budget, over the client's life
        self._scrub = redactor(self._credentials.secrets())
        self._refused: dict[tuple[str, str | None], frozenset[str]] = {}  # by endpoint, account

    # -- public -------------------------------------------------------------------------

    @property
    def budget(self) -> RateBudget:
        """The per-minute budget this client sends within (progress displays read it)."""
        return self._budget

    def fetch(
        self, requests: Iterable[EngagementRequest], compact: Compact | None = None
    ) -> FetchResult:
        """Send every request; posts forbidden to their account are re-read as public.

        ``compact`` is given each answer's totals as it arrives, and its result is kept
        instead (a post answered twice keeps both answers' values merged): at 100,000
        posts the decoded answers then go one by one, not all at the fetch's end."""
        return self._run(list(requests), compact)

    # -- the loop -------------------------------------------------------------------------

    def _run(self, requests: list[EngagementRequest], compact: Compact | None) -> FetchResult:
        merged = _Merged(compact)
        queue = deque(requests)
        sent_before, waited_before = self._sent, self._waited
        public: dict[tuple[str, ...], list[str]] = {}
        while queue:
            request = queue.popleft()
            try:
                outcome = self._send(request)
            except ApiError as exc:
                merged.failures.append(exc)
            else:
                merged.add(outcome.result)
                queue.extend(outcome.follow_ups)
                forbidden = outcome.result.forbidden
                if forbidden and request.account is not None and request.endpoint == "totals":
                    ids = [i for i in request.tweet_ids if i in forbidden]
                    public.setdefault(request.engagement_types, []).extend(ids)
            if not queue:
                for metrics, ids in public.items():
                    queue.extend(plan_public_totals(list(dict.fromkeys(ids)), metrics))
                public.clear()
        return merged.build(self._sent - sent_before, self._waited - waited_before)

    def _send(self, request: EngagementRequest) -> _Outcome:
        refused = self._refused.get((request.endpoint, request.account))
        if refused is not None and not refused.isdisjoint(request.engagement_types):
            return _without(request, refused)
        if not self._secure:
            raise RequestRejected(f"Engagement API {self._url}: not sent: {_HTTPS}")
        auth = self._auth(request.account)
        body = request_json(request)
        for attempt in range(1, self._max_attempts + 1):
            try:
                self._take_budget()
                self._sent += 1
                response = self._http.request(
                    "POST",
                    f"{self._url}{request.endpoint}",
                    content=body,
                    headers=_HEADERS,
                    auth=auth,
                    timeout=self._settings.timeout,
                )
                self._budget.observe(response.headers)
                return self._interpret(request, response)
            except ApiError as exc:
                if not exc.retryable or attempt >= self._max_attempts:
                    raise
                retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
                delay = backoff_delay(
                    attempt,
                    first=self._first_retry,
                    cap=_MAX_RETRY,
                    rng=self._rng,
                    retry_after=retry_after,
                )
                if isinstance(exc, RateLimited):  # the API's budget, not a fault
                    self._waited += delay
                    self._wait(delay, str(exc.status or "budget"))
                else:
                    self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _take_budget(self) -> None:
        """Take one request from the budget, waiting as long as it says."""
        for _ in range(_MAX_BUDGET_WAITS):
            wait = self._budget.take()
            if wait <= 0:
                return
            if wait >= _NOTICED_WAIT:
                log.info("waiting %.0fs for the Engagement API request budget", wait)
            self._waited += wait
            self._wait(wait, "budget")
        raise RateLimited("Engagement API budget did not free up", retry_after=60.0, status=None)

    def _wait(self, seconds: float, why: str) -> None:
        """Sleep out a rate limit, telling ``on_wait`` first when it is long."""
        if self._on_wait is not None and seconds >= _NOTICED_WAIT:
            self._on_wait(seconds, why)
        self._sleep(seconds)

    def _auth(self, account: str | None) -> Auth:
        if account is None:
            return self._credentials.app()
        return self._credentials.user(account, "Engagement API")

    # -- responses ------------------------------------------------------------------------

    def _interpret(self, request: EngagementRequest, response: HttpResponse) -> _Outcome:
        now = datetime.fromtimestamp(self._budget.clock(), UTC)
        if response.status == 200:
            try:
                data = response.json()
                answered = isinstance(data, dict) and request.grouping in data
                result = parse_response(data, request, read_at=now)
            except MalformedResponse as exc:
                text = f"Engagement API /{request.endpoint} ({_who(request)}): HTTP 200: {exc}"
                raise MalformedResponse(self._scrub(text), status=200) from None
            if result.errors:
                result = replace(result, errors=tuple(map(self._scrub, result.errors)))
            if result.forbidden and request.account is None:
                # refused to the app's bearer token too: no token of ours can read them
                gone = result.unavailable | result.forbidden
                result = replace(result, unavailable=gone, forbidden=frozenset())
            if not answered:
                return self._unanswered(request, response, result)
            return _Outcome(result)
        body = _json_or_none(response)
        try:
            messages = error_messages(body)
        except MalformedResponse:
            messages = ()
        forbidden, rest = split_forbidden(messages)
        forbidden &= set(request.tweet_ids)
        if forbidden and response.status in (400, 403):
            # The whole request was refused for some IDs: re-send the others. Refused to an
            # account, they are read as public; refused to the bearer token, they are gone.
            left = [i for i in request.tweet_ids if i not in forbidden]
            follow = (request.with_ids(left),) if left else ()
            if request.account is None:
                return _Outcome(EngagementResult(unavailable=frozenset(forbidden)), follow)
            return _Outcome(EngagementResult(forbidden=frozenset(forbidden)), follow)
        if response.status in (400, 403) and (refused := _metrics_refused(request, messages)):
            return self._refuse(request, refused, messages)
        if response.status == 400 and any(_UNAVAILABLE in m.lower() for m in messages):
            return _unavailable(request, body)
        raise self._error(request, response, rest or messages)

    def _unanswered(
        self, request: EngagementRequest, response: HttpResponse, result: EngagementResult
    ) -> _Outcome:
        """A 200 without the request's grouping: the whole request was refused (reference
        §4.2, "Plan for both"). The posts the answer names are settled as it says and the
        others asked again; when it names none, its errors are the request's failure."""
        named = result.forbidden.union(result.unavailable, *result.unsupported.values())
        if not named:
            if refused := _metrics_refused(request, result.errors):
                return self._refuse(request, refused, result.errors)
            raise self._error(request, response, result.errors)
        left = [i for i in request.tweet_ids if i not in named]
        return _Outcome(result, (request.with_ids(left),) if left else ())

    def _refuse(
        self, request: EngagementRequest, refused: frozenset[str], messages: Sequence[str]
    ) -> _Outcome:
        """Metrics the API refused to ``request``'s auth: left out from now on."""
        key = (request.endpoint, request.account)
        self._refused[key] = self._refused.get(key, frozenset()) | refused
        named = ", ".join(sorted(refused))
        log.warning("Engagement API /%s (%s) refuses %s", request.endpoint, _who(request), named)
        return _without(request, refused, tuple(map(self._scrub, messages)))

    def _error(
        self, request: EngagementRequest, response: HttpResponse, messages: Sequence[str]
    ) -> ApiError:
        status = response.status
        who = _who(request)
        detail = self._scrub("; ".join(messages)) or _snippet(response.body, self._scrub)
        text = f"Engagement API /{request.endpoint} ({who}): HTTP {status}: {detail}"
        said = detail.lower() if status in (200, 400, 401, 403) else ""
        if _APP_NOT_ALLOWED in said:
            return AuthFailed(f"{text}; {_ALLOW_LIST_HINT}", status=status)
        if status in (401, 403) or (status == 200 and _AUTH_FAILED in said):
            return AuthFailed(f"{text}; check the credentials of {who}", status=status)
        if status == 200 and _SERVER_FAILED in said:
            return ServerFailed(text, status=status)
        if status == 406:
            return RequestRejected(f"{text} ({_GZIP_HINT})", status=status)
        if status == 429:
            pause = self._budget.penalise(response.headers.get("retry-after"))
            return RateLimited(f"{text}; retrying in {pause:.0f}s", retry_after=pause)
        if status >= 500:
            return ServerFailed(text, status=status)
        return RequestRejected(text, status=status)


def _metrics_refused(request: EngagementRequest, messages: Iterable[str]) -> frozenset[str]:
    """The metrics of ``request`` that "Forbidden to access metrics: a, b" names."""
    found = (_METRICS_REFUSED.search(text) for text in messages)
    named = {n.strip() for f in found if f is not None for n in f.group(1).split(",")}
    return frozenset(named.intersection(request.engagement_types))


def _without(
    request: EngagementRequest, refused: frozenset[str], errors: tuple[str, ...] = ()
) -> _Outcome:
    """``request``'s refused metrics unknown for its posts, and the others asked for."""
    dropped = dict.fromkeys(refused & set(request.engagement_types), frozenset(request.tweet_ids))
    result = EngagementResult(unsupported=MappingProxyType(dropped), errors=errors)
    left = tuple(m for m in request.engagement_types if m not in refused)
    return _Outcome(result, (replace(request, engagement_types=left),) if left else ())


def _numbers(texts: Mapping[str, str]) -> Mapping[str, float]:
    """Counts kept as plain whole-number texts, as numbers."""
    return MappingProxyType({metric: float(count) for metric, count in texts.items()})


def _who(request: EngagementRequest) -> str:
    return f"account '{request.account}'" if request.account else "app bearer token"


def _unavailable(request: EngagementRequest, body: Any) -> _Outcome:
    """A 400 for protected posts: mark the named ones, or halve the chunk to find them."""
    named = body.get("unavailable_tweet_ids") if isinstance(body, dict) else None
    ids = request.tweet_ids
    if isinstance(named, list):
        gone = frozenset(str(i) for i in named) & set(ids)
        if gone:
            left = [i for i in ids if i not in gone]
            follow = (request.with_ids(left),) if left else ()
            return _Outcome(EngagementResult(unavailable=gone), follow)
    if len(ids) == 1:
        return _Outcome(EngagementResult(unavailable=frozenset(ids)))
    half = len(ids) // 2
    return _Outcome(
        EngagementResult(), (request.with_ids(ids[:half]), request.with_ids(ids[half:]))
    )


def _json_or_none(response: HttpResponse) -> Any:
    try:
        return response.json()
    except MalformedResponse:
        return None


def _snippet(body: bytes, scrub: Callable[[str], str]) -> str:
    return scrubbed_start(body, scrub, 120).strip() or "(empty body)"
