"""Who is calling: an app-only bearer token or an OAuth 1.0a HMAC-SHA1 user signature.

The signature base string is rebuilt with Authlib's RFC 5849 helpers from the method, the
URL as addressed (scheme, Host, path), the query and the ``oauth_*`` header parameters;
form bodies take part, JSON bodies do not (RFC 5849 §3.4.1.3). Timestamps are checked
against real time, not simulated time: the client signs with its own wall clock.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from authlib.oauth1.rfc5849.signature import (
    generate_signature_base_string,
    hmac_sha1_signature,
)
from authlib.oauth1.rfc5849.wrapper import OAuth1Request

from automation.sandbox import credentials

__all__ = ["Caller", "Denied", "identify"]

MAX_SKEW_SECONDS = 300
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: ``user_id`` is None for app-only (bearer) calls."""

    app: str
    user_id: str | None = None
    account: str | None = None

    @property
    def user_context(self) -> bool:
        return self.user_id is not None


@dataclass(frozen=True)
class Denied:
    """Authentication failed; ``reason`` is safe to show (never a credential)."""

    reason: str


class _Nonces:
    """Nonces seen in the last few minutes: a replayed signed request is refused.

    A (nonce, timestamp) pair is remembered for twice the allowed skew after it was first
    seen, which covers every moment its timestamp is still accepted; then it is forgotten.
    A busy client keeps tens of thousands in that window (up to 64,000 in the day
    benchmark), so each costs little (103 bytes, against 335 for a tuple of the two
    strings in a dict and a heap): a 128-bit BLAKE2b digest of the pair as one int in a
    set, and the digest and the whole second it was seen in two queues ordered by
    arrival, so forgetting pops the oldest and costs only the ones forgotten. Pairs seen
    in one second share its int. The second is rounded up and never goes back when the
    clock does, so a pair is kept at least as long as its own time says (a second longer
    at most). Two pairs with one digest would refuse a fresh request, never admit
    a replay; at 128 bits that does not happen."""

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self._order: deque[int] = deque()  # the digests, oldest first
        self._seconds: deque[int] = deque()  # the second each was seen in, alike
        self._last = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def fresh(self, key: tuple[str, str], now: float) -> bool:
        nonce, stamp = key
        text = f"{len(stamp)}:{stamp}{nonce}".encode("utf-8", "surrogatepass")
        digest = int.from_bytes(hashlib.blake2b(text, digest_size=16).digest(), "big")
        with self._lock:
            cutoff = now - 2 * MAX_SKEW_SECONDS
            while self._seconds and self._seconds[0] <= cutoff:
                self._seconds.popleft()
                self._seen.discard(self._order.popleft())
            if digest in self._seen:
                return False
            second = math.ceil(now)
            if second > self._last:
                self._last = second
            self._seen.add(digest)
            self._order.append(digest)
            self._seconds.append(self._last)
            return True


_NONCES = _Nonces()


def identify(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: Callable[[], float] = time.time,
) -> Caller | Denied:
    """Check the Authorization header (names in ``headers`` are lower-case)."""
    header = headers.get("authorization", "")
    scheme = header.split(" ", 1)[0].lower()
    if scheme == "bearer":
        token = header[len("bearer ") :].strip()
        if hmac.compare_digest(token.encode(), credentials.BEARER_TOKEN.encode()):
            return Caller(app=credentials.CONSUMER_KEY)
        return Denied("Invalid or expired token")
    if scheme == "oauth":
        return _verify_oauth1(method, url, headers, body, now())
    return Denied("Unknown Authorization Type")


def _verify_oauth1(
    method: str, url: str, headers: Mapping[str, str], body: bytes, now: float
) -> Caller | Denied:
    form = headers.get("content-type", "").startswith(_FORM)
    wrapped = {"Authorization": headers["authorization"]}
    if "host" in headers:
        wrapped["Host"] = headers["host"]
    try:
        req = OAuth1Request(method, url, body.decode() if form and body else None, wrapped)
    except Exception:  # malformed header or duplicated parameters: Authlib raises many kinds
        return Denied("Malformed OAuth Authorization header")
    params = req.oauth_params
    missing = [
        p
        for p in ("oauth_consumer_key", "oauth_nonce", "oauth_signature", "oauth_timestamp")
        if not params.get(p)
    ]
    if missing:
        return Denied(f"Missing OAuth parameter(s): {', '.join(missing)}")
    if params.get("oauth_signature_method") != "HMAC-SHA1":
        return Denied("Unsupported signature method")
    if params.get("oauth_version", "1.0") != "1.0":
        return Denied("Unsupported OAuth version")
    if params["oauth_consumer_key"] != credentials.CONSUMER_KEY:
        return Denied("Invalid consumer key")
    account = credentials.account_for_token(params.get("oauth_token", ""))
    if account is None:
        return Denied("Access token not found")
    try:
        stamp = int(params["oauth_timestamp"])
    except ValueError:
        return Denied("Invalid timestamp")
    if abs(now - stamp) > MAX_SKEW_SECONDS:
        return Denied("Timestamp out of bounds")
    base = generate_signature_base_string(req)
    expected = hmac_sha1_signature(base, credentials.CONSUMER_SECRET, account.access_token_secret)
    if not hmac.compare_digest(expected, params["oauth_signature"]):
        return Denied("Invalid signature")
    if not _NONCES.fresh((params["oauth_nonce"], params["oauth_timestamp"]), now):
        return Denied("Nonce already used")
    return Caller(app=credentials.CONSUMER_KEY, user_id=account.user_id, account=account.name)
