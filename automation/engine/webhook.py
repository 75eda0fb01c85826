"""Webhook actions (spec §6): the signed request, and its delivery.

The body is rendered when a rule fires (``core.payloads``; the default one is spec §6's)
and kept in the outbox. The pure part here builds the exact bytes and headers: a receiver
verifies the signature over the raw body it got, so the body is serialized once, signed,
and sent as those very bytes.
The ``Idempotency-Key`` comes from the firing and the action's index, so every retry of
one action carries the same key and a receiver can drop duplicates.

``send`` is the I/O edge. It turns every outcome into success or ``ActionFailed`` with
``retryable`` and ``retry_after`` set as §6 says, with messages that name the status and a
short body excerpt but never the secret, the signature, a credential header or the URL's
path and query (hook URLs often carry a token there), even when the receiver quotes them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from automation.config.secret import Secret, redactor
from automation.core.errors import ActionFailed, MalformedResponse, TransportFailed
from automation.x.backoff import parse_retry_after
from automation.x.http import USER_AGENT, HttpClient, HttpResponse

__all__ = [
    "SIGNATURE_HEADER",
    "WebhookRequest",
    "build_request",
    "delivered",
    "encode_body",
    "idempotency_key",
    "origin",
    "redact_request",
    "send",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "X-Automation-Signature"
_RESERVED = ("content-type", "user-agent", "idempotency-key", SIGNATURE_HEADER.lower())
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_EXCERPT = 200
# Headers whose value is a credential: Authorization, Cookie, X-Api-Key, X-Hook-Token, ...
_CREDENTIAL_HEADER = re.compile(r"auth|token|secret|key|signature|password|cookie|session", re.I)
_SHORTEST_HIDDEN = 8  # a shorter part of a URL or header is an ordinary word, not a token
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class WebhookRequest:
    """One ready-to-send POST. Headers and body stay out of ``repr``: the signature is a
    credential for as long as its timestamp is fresh."""

    url: str
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)


# --- pure part ------------------------------------------------------------------------------


def encode_body(body: Any) -> bytes:
    """The compact UTF-8 JSON bytes that are both signed and sent."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def idempotency_key(firing_id: str, action_index: int) -> str:
    """``<firing id>.<action index>``: the same for every attempt of one action."""
    return f"{firing_id}.{action_index}"


def sign(secret: Secret, timestamp: int, raw_body: bytes) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``.

    The timestamp is inside the MAC so a captured request cannot be replayed later.
    """
    mac = hmac.new(secret.reveal().encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: Secret, header: str, raw_body: bytes, now: float, tolerance: float = 300
) -> bool:
    """What a receiver does: True when ``header`` signs ``raw_body`` with ``secret`` and its
    timestamp is within ``tolerance`` seconds of ``now``. Several ``v1`` values (a secret
    being rotated) are allowed; any one matching is enough."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, raw_body).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected.encode(), c.encode()) for c in candidates)


def build_request(
    *,
    url: str,
    body: bytes | Any,
    idempotency_key: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    secret: Secret | None = None,
    now: float | None = None,
) -> WebhookRequest:
    """The request for one attempt. Build it right before sending: the signature's
    timestamp is ``now`` and receivers reject stale ones.

    ``body`` is raw bytes (sent as they are) or a JSON value (encoded by ``encode_body``).
    Custom headers cannot replace the four the spec defines. A URL or header that can
    never be sent is a non-retryable ActionFailed.
    """
    _check_url(url)
    raw = body if isinstance(body, bytes) else encode_body(body)
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in pairs:
        _check_header(name, value)
        if name.lower() not in _RESERVED:
            out[name] = value
    out["Content-Type"] = "application/json"
    out["User-Agent"] = USER_AGENT
    out["Idempotency-Key"] = idempotency_key
    if secret is not None:
        stamp = int(time.time() if now is None else now)
        out[SIGNATURE_HEADER] = sign(secret, stamp, raw)
    return WebhookRequest(url=url, headers=MappingProxyType(out), body=raw)


# --- I/O part -------------------------------------------------------------------------------


def send(
    http: HttpClient,
    request: WebhookRequest,
    timeout: float,
    *,
    clock: Callable[[], float] = time.time,
    follow: Callable[[str], None] | None = None,
    hops: int = MAX_REDIRECTS,
) -> HttpResponse:
    """POST the request once. Returns the answer on 2xx; otherwise raises ActionFailed,
    retryable for network errors, timeouts, 408, 429 and 5xx (with ``Retry-After`` as
    ``retry_after``).

    With ``follow``, a 307 or 308 (which keep the method and body) is followed, at most
    ``hops`` times, once ``follow(new url)`` has let it go there (it raises ActionFailed
    when the new host is not allowed); other redirects are never followed."""
    where_to = origin(request.url)
    try:
        resp = http.request(
            "POST", request.url, content=request.body, headers=request.headers, timeout=timeout
        )
    except (TransportFailed, MalformedResponse) as exc:
        path_url = request.url.split("?", 1)[0]
        detail = str(exc).removeprefix(f"POST {path_url}: ").replace(path_url, where_to)
        raise ActionFailed(f"webhook to {where_to}: {detail}", retryable=True) from None
    if 200 <= resp.status < 300:
        return resp
    excerpt = _redacted_excerpt(resp.body, request)
    message = f"webhook to {where_to} answered {resp.status}"
    if excerpt:
        message += f": {excerpt}"
    if resp.status in (408, 429) or resp.status >= 500:
        wait = parse_retry_after(resp.headers.get("retry-after"), clock())
        raise ActionFailed(message, retryable=True, retry_after=wait)
    location = urljoin(request.url, resp.headers.get("location", ""))
    if resp.status in (307, 308) and follow is not None and hops > 0 and origin(location):
        follow(location)
        moved = WebhookRequest(url=location, headers=request.headers, body=request.body)
        return send(http, moved, timeout, clock=clock, follow=follow, hops=hops - 1)
    if 300 <= resp.status < 400:
        where = origin(resp.headers.get("location", "")) or "elsewhere"
        message += f" (a redirect to {where}; redirects are not followed: update the url)"
    raise ActionFailed(message, retryable=False)


# --- helpers --------------------------------------------------------------------------------


def _check_url(url: str) -> None:
    if not origin(url) or urlsplit(url).scheme not in ("http", "https"):
        shown = origin(url) or "the value"
        raise ActionFailed(
            f"webhook url: {shown} is not an http:// or https:// URL with a host",
            retryable=False,
        )


def _check_header(name: str, value: str) -> None:
    if not isinstance(name, str) or not _HEADER_NAME.match(name):
        raise ActionFailed(
            f"webhook header name {name!r} is not a valid header name", retryable=False
        )
    if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
        raise ActionFailed(
            f"webhook header {name}: the value contains a line break or NUL", retryable=False
        )


def origin(url: str) -> str:
    """``scheme://host[:port]``: enough to say where, without a path that may hold a token."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    if not parts.scheme or not parts.hostname:
        return ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def delivered(meant: str, url: str, followed: str | None = None) -> str:
    """Where a webhook went, for events, logs and ``actions``: scheme and host only, since
    a hook URL's path or query often holds a token."""
    text = f"delivered to {origin(followed or url)}"
    if followed:
        text += f" (following a redirect from {origin(url)})"
    if url != meant:
        text += f" (redirected by webhooks.redirect_to from {origin(meant)})"
    return text


def redact_request(request: WebhookRequest) -> Callable[[str], str]:
    """A function that replaces by ``***`` what of ``request`` a receiver may quote back and
    nobody else may read: the signature (whole and its MAC), the value of every header
    whose name says it is a credential (``Authorization: Bearer ...``), and the URL past
    its host (whole, each path segment, each query value, and any user or password)."""
    parts = urlsplit(request.url)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    found = [tail, *parts.path.split("/"), parts.username or "", parts.password or ""]
    found += [pair.partition("=")[2] for pair in parts.query.split("&")]  # as sent
    found += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    signature = request.headers.get(SIGNATURE_HEADER)
    if signature:
        found += [signature, signature.rpartition("v1=")[2]]
    for name, value in request.headers.items():
        if name.lower() not in _RESERVED and _CREDENTIAL_HEADER.search(name):
            found += [value, *value.split()]
    hidden = {v for v in found if len(v) >= _SHORTEST_HIDDEN}
    return redactor(Secret(v, "a part of a webhook request") for v in hidden)


def _redacted_excerpt(body: bytes, request: WebhookRequest) -> str:
    """The start of a response body, without what ``redact_request`` hides."""
    text = redact_request(request)(body.decode("utf-8", "replace"))
    text = " ".join(text.split())
    return text[:_EXCERPT] + ("…" if len(text) > _EXCERPT else "")
