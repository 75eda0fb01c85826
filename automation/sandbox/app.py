"""One request in, one encoded answer out: routing, gzip, authentication, limits, faults.

The HTTP server and in-process callers both go through ``SandboxApp.handle``, so tests that
skip the socket see exactly what a client on 127.0.0.1 sees.
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from automation.sandbox import engagement, x_v2
from automation.sandbox.engagement_request import parse_query
from automation.sandbox.engagement_text import compact
from automation.sandbox.faults import FaultInjector
from automation.sandbox.limits import Budget, Usage, Window, v2_windows
from automation.sandbox.messages import Reply, Request
from automation.sandbox.oauth_verify import Caller, Denied, identify
from automation.sandbox.options import Options
from automation.sandbox.world import World

__all__ = ["ENGAGEMENT_PATHS", "Encoded", "SandboxApp"]

ENGAGEMENT_PATHS = {
    "/insights/engagement/totals": "totals",
    "/insights/engagement/28hr": "28hr",
    "/insights/engagement/historical": "historical",
}
GZIP_REQUIRED = (
    "This request requires gzip compression. Retry the request after setting "
    "'Accept-Encoding' header in the request to 'gzip'."
)
NOT_FOUND = {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}
_MALFORMED = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"


@dataclass(frozen=True)
class Encoded:
    """The answer as sent: header names lower-case, body already compressed if asked."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> object:
        raw = gzip.decompress(self.body) if self.headers.get("content-encoding") else self.body
        return json.loads(raw)


class SandboxApp:
    def __init__(
        self,
        world: World,
        options: Options | None = None,
        faults: FaultInjector | None = None,
        *,
        real_now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        limits_now: Callable[[], float] | None = None,
    ) -> None:
        """``real_now`` checks OAuth timestamps (clients sign with their wall clock);
        request limits count on ``limits_now``, real time too unless a client paces itself
        on the sandbox's simulated clock."""
        self.world = world
        self.options = options or Options()
        self.faults = faults or FaultInjector(0.0)
        self.budget = Budget(limits_now or real_now)
        self._real_now = real_now
        self._sleep = sleep

    def handle(self, request: Request) -> Encoded:
        path = request.path
        gzip_ok = _accepts_gzip(request.headers)
        if path in ENGAGEMENT_PATHS and request.method == "POST":
            if not gzip_ok:
                return _encode(Reply(406, {"errors": [GZIP_REQUIRED]}), gzip_ok=False)
            reply = self._engagement(ENGAGEMENT_PATHS[path], request)
        elif (found := x_v2.route(request.method, path)) is not None:
            reply = self._v2(found[0], found[1], request)
        else:
            reply = Reply(404, NOT_FOUND)
        return _encode(reply, gzip_ok=gzip_ok)

    # ----- Engagement API ------------------------------------------------------------
    def _engagement(self, endpoint: str, request: Request) -> Reply:
        body = _request_body(request)
        if body is None:
            return Reply(400, {"errors": ["The request body is not valid gzip"]})
        fault = self._fault(engagement=True)
        if isinstance(fault, Reply):
            return fault
        caller = self._identify(request, body)
        if isinstance(caller, Denied):
            reason = f"Your account could not be authenticated. Reason: {caller.reason}"
            return Reply(401, {"errors": [reason]})
        window = Window("engagement", self.options.per_minute_limit, 60)
        if self.options.per_second_limit is None:
            usage = self.budget.take(caller.app, (window,))
            headers = self._per_minute_headers(usage)
        else:
            usage, headers = self._per_second_take(
                caller.app, window, self.options.per_second_limit
            )
        if not usage.allowed:
            return Reply(429, {"errors": ["Rate limit exceeded"]}, headers)
        now = self.world.now()
        query = parse_query(endpoint, body, now, self.options)
        if isinstance(query, Reply):
            return query.with_headers(headers)
        reply = engagement.respond(query, caller, self.world, now, self.options)
        return _truncate(reply, fault).with_headers(headers)

    def _per_minute_headers(self, usage: Usage) -> dict[str, str]:
        headers = {
            "x-per-minute-limit": str(usage.limit),
            "x-per-minute-remaining": str(usage.remaining),
        }
        if self.options.per_minute_reset_header:
            headers["x-per-minute-reset"] = str(usage.reset)
        return headers

    def _per_second_take(
        self, app: str, minute: Window, limit: int
    ) -> tuple[Usage, dict[str, str]]:
        """Count one request against the minute and the second; each window's headers."""
        second = Window("engagement_second", limit, 1)
        usage = self.budget.take(app, (minute, second))
        headers = self._per_minute_headers(self.budget.left(app, minute))
        now = self.budget.left(app, second)
        headers["x-per-second-limit"] = str(now.limit)
        headers["x-per-second-remaining"] = str(now.remaining)
        headers["x-per-second-reset"] = str(now.reset)
        return usage, headers

    # ----- X API v2 --------------------------------------------------------------------
    def _v2(self, endpoint: str, args: tuple[str, ...], request: Request) -> Reply:
        body = _request_body(request)
        if body is None:
            return x_v2.problem(
                400, "Invalid Request", "The request body is not valid gzip.", "invalid-request"
            )
        fault = self._fault(engagement=False)
        if isinstance(fault, Reply):
            return fault
        caller = self._identify(request, body)
        if isinstance(caller, Denied):
            return x_v2.problem(401, "Unauthorized", "Unauthorized")
        if endpoint == "timeline" and not caller.user_context:
            windows = v2_windows("timeline_app")
        else:
            windows = v2_windows(endpoint, tweets_per_15min=self.options.tweets_per_15min)
        usage = self.budget.take(caller.user_id or caller.app, windows, app=caller.app)
        headers = {
            "x-rate-limit-limit": str(usage.limit),
            "x-rate-limit-remaining": str(usage.remaining),
            "x-rate-limit-reset": str(usage.reset),
        }
        if not usage.allowed:
            return self._v2_too_many().with_headers(headers)
        reply = x_v2.handle(
            endpoint,
            args,
            request.query(),
            body,
            caller,
            self.world,
            self.world.now(),
            self.options,
        )
        return _truncate(reply, fault).with_headers(headers)

    def _v2_too_many(self) -> Reply:
        if self.options.v2_429_body == "v1":
            return Reply(429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]})
        return x_v2.problem(429, "Too Many Requests", "Too Many Requests")

    # ----- shared ----------------------------------------------------------------------
    def _identify(self, request: Request, body: bytes) -> Caller | Denied:
        return identify(request.method, request.url, request.headers, body, now=self._real_now)

    def _fault(self, *, engagement: bool) -> Reply | str | None:
        """A fault reply to send instead of the real one, or the kind that alters it."""
        kind = self.faults.draw()
        if kind == "slow":
            self._sleep(self.faults.slow_seconds)
            return None
        if kind == "rate_limit":
            if engagement:
                return Reply(
                    429,
                    {"errors": ["Rate limit exceeded"]},
                    {
                        "x-per-minute-limit": str(self.options.per_minute_limit),
                        "x-per-minute-remaining": "0",
                    },
                )
            return self._v2_too_many().with_headers({"x-rate-limit-remaining": "0"})
        if kind == "server_error":
            status = self.faults.server_status()
            if engagement:
                return Reply(status, {"errors": ["internal server error"]})
            return x_v2.problem(status, "Service Unavailable", "Service Unavailable")
        if kind == "malformed":
            return Reply(200, _MALFORMED)
        return kind


def _accepts_gzip(headers: Mapping[str, str]) -> bool:
    """Whether ``Accept-Encoding`` names gzip with a weight above 0: X's 406 asks for the
    header set "to 'gzip'" (reference §4.2), which ``*`` does not name."""
    for offer in headers.get("accept-encoding", "").split(","):
        coding, _, weight = offer.partition(";")
        if coding.strip().lower() == "gzip":
            try:
                return float(weight.strip().lower().removeprefix("q=") or 1) > 0
            except ValueError:  # a weight X would not read either way
                return True
    return False


def _request_body(request: Request) -> bytes | None:
    """The body, gunzipped when the client compressed it; None when that fails."""
    if request.headers.get("content-encoding", "").lower() != "gzip":
        return request.body
    try:
        return gzip.decompress(request.body)
    except (OSError, EOFError, zlib.error):
        return None


def _truncate(reply: Reply, fault: Reply | str | None) -> Reply:
    if fault != "truncated":
        return reply
    raw = _text(reply)
    return Reply(reply.status, raw[: max(1, len(raw) // 2)], reply.headers, reply.content_type)


def _text(reply: Reply) -> bytes:
    """The reply's body as sent: bytes as they are (written already), else compact JSON."""
    if isinstance(reply.body, bytes):
        return reply.body
    return compact(reply.body).encode()


def _encode(reply: Reply, *, gzip_ok: bool) -> Encoded:
    body = _text(reply)
    headers = {**reply.headers, "content-type": reply.content_type}
    if gzip_ok:
        body = gzip.compress(body, compresslevel=1)  # the same content, a third of the time
        headers["content-encoding"] = "gzip"
    return Encoded(reply.status, headers, body)
