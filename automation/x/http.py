"""The one place that talks HTTP: an httpx client behind a tiny interface.

Every other module sends ``HttpClient.request(...)`` and gets back an ``HttpResponse``
(status, lower-cased headers, raw body); transport failures become ``TransportFailed``.
Keeping httpx here means the rest of the package, and a later switch of HTTP library,
never depends on its types. Tests replace the network with respx or a ``transport``.

``HttpClient.gated(gate)`` makes every connection opened inside the block resolve its host
once through ``gate``, which refuses by raising, and connect to an address the gate let
through: a name that answers differently on a second lookup (DNS rebinding) cannot move
the connection elsewhere. TLS still sends SNI for, and verifies the certificate against,
the host name, and the Host header is the name. Through a proxy (``HTTPS_PROXY``) the
proxy resolves the name and the gate is not consulted.

Authentication is attached per request: ``BearerAuth`` for app-only calls and
``OAuth1Auth`` for user context. ``OAuth1Auth`` uses Authlib's core signer only and never
touches the body: Authlib's httpx integration empties JSON bodies when it signs them.
Per RFC 5849 §3.4.1.3 only form-encoded bodies take part in the signature; a request with
neither a query string nor a form body (every Engagement API request) is signed by
``x.oauth1`` with Authlib's own steps, without its round trip through the header.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json as jsonlib
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
from authlib.oauth1 import ClientAuth

from automation import __version__
from automation.config.model import Account, AppCredentials
from automation.config.secret import Secret
from automation.core.errors import AuthFailed, MalformedResponse, TransportFailed
from automation.x.oauth1 import header_without_parameters

__all__ = [
    "USER_AGENT",
    "Auth",
    "BearerAuth",
    "Credentials",
    "Gate",
    "HttpClient",
    "HttpResponse",
    "OAuth1Auth",
    "scrubbed_start",
]

USER_AGENT = f"engagement-automation/{__version__}"
_FORM = "application/x-www-form-urlencoded"

Gate = Callable[[str, int], Sequence[str]]  # (host, port) -> addresses to connect to
_GATE: contextvars.ContextVar[Gate | None] = contextvars.ContextVar("gate", default=None)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    url: str = ""

    def json(self) -> Any:
        """The decoded JSON body; a body that is not JSON is a MalformedResponse."""
        try:
            return jsonlib.loads(self.body)
        except RecursionError:  # the decoder recurses once per level of nesting
            raise MalformedResponse(
                f"{self.url or 'response'}: body is nested too deeply to be read as JSON",
                status=self.status,
            ) from None
        except (ValueError, UnicodeDecodeError) as exc:
            snippet = self.body[:80].decode("utf-8", "replace")
            raise MalformedResponse(
                f"{self.url or 'response'}: body is not JSON ({exc.__class__.__name__}): "
                f"{snippet!r}",
                status=self.status,
            ) from None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Auth(httpx.Auth):
    """Base of the auth objects other modules pass to ``HttpClient.request``."""


class BearerAuth(Auth):
    """App-only OAuth 2.0 bearer token."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        yield request


class OAuth1Auth(Auth):
    """OAuth 1.0a user context, HMAC-SHA1, signature in the Authorization header."""

    requires_request_body = True

    def __init__(
        self,
        consumer_key: Secret,
        consumer_secret: Secret,
        token: Secret,
        token_secret: Secret,
    ) -> None:
        self._signer = ClientAuth(
            consumer_key.reveal(),
            consumer_secret.reveal(),
            token=token.reveal(),
            token_secret=token_secret.reveal(),
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        form = request.headers.get("Content-Type", "").startswith(_FORM)
        if not form and not request.url.query:  # the signature covers the oauth_ fields alone
            signed = header_without_parameters(self._signer, request.method, str(request.url))
        else:
            headers, body = (
                ({"Content-Type": _FORM}, request.content.decode()) if form else ({}, "")
            )
            _, authlib, _ = self._signer.sign(request.method, str(request.url), headers, body)
            signed = authlib["Authorization"]
        request.headers["Authorization"] = signed
        yield request


class Credentials:
    """The auth of each request: the app's bearer token (app-only), or an owned account's
    OAuth 1.0a user context. Each is built on first use and kept, so a secret is read
    only when a request needs it: an account whose tokens are not set here breaks only
    the requests made as that account."""

    def __init__(self, app: AppCredentials, accounts: Mapping[str, Account]) -> None:
        self._app = app
        self._accounts = dict(accounts)
        self._bearer: BearerAuth | None = None
        self._users: dict[str, OAuth1Auth] = {}

    def secrets(self) -> tuple[Secret, ...]:
        """Every credential these requests may carry, for ``config.secret.redactor``: an
        answer that quotes a request back (a proxy, an API error) must not show them."""
        app, accounts = self._app, self._accounts.values()
        users = (t for a in accounts for t in (a.access_token, a.access_token_secret))
        return (app.consumer_key, app.consumer_secret, app.bearer_token, *users)

    def app(self) -> BearerAuth:
        if self._bearer is None:
            self._bearer = BearerAuth(self._app.bearer_token)
        return self._bearer

    def user(self, account: str, label: str) -> OAuth1Auth:
        """``account``'s user context; an account the config does not have is AuthFailed."""
        auth = self._users.get(account)
        if auth is None:
            creds = self._accounts.get(account)
            if creds is None:
                known = ", ".join(sorted(self._accounts)) or "none"
                raise AuthFailed(f"{label}: no account {account!r} in the config (known: {known})")
            auth = OAuth1Auth(
                self._app.consumer_key,
                self._app.consumer_secret,
                creds.access_token,
                creds.access_token_secret,
            )
            self._users[account] = auth
        return auth


class _GatedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, but inside ``HttpClient.gated`` it connects to the
    addresses the gate gives for the host (trying each in turn), never to the name."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        gate = _GATE.get()
        if gate is None:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        failure: Exception = httpcore.ConnectError(f"{host} has no address to connect to")
        for address in gate(host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure


class _NoCookies(httpx.Cookies):
    """A jar that never keeps a cookie."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


_NO_COOKIES = _NoCookies()


class _CookielessClient(httpx.Client):
    """httpx's client without its cookie jar. Each request carries only what it says (its
    account's credentials), never a cookie an answer set for another account; and reading
    every answer's headers into a jar was a tenth of httpx's CPU per request."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise TypeError("this client keeps no cookies")


@functools.lru_cache(maxsize=64)
def _parsed(url: str) -> httpx.URL:
    """A URL parsed once: the API's few endpoints are asked hundreds of times a cycle."""
    return httpx.URL(url)


@functools.lru_cache(maxsize=8)
def _timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds)


class HttpClient:
    """A long-lived, pooled HTTP client. ``transport`` lets tests serve requests in-process."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        max_connections: int = 10,
        transport: httpx.BaseTransport | None = None,
        rewrite: Callable[[str], str] | None = None,
        observe: Callable[[str, str, int | None], None] | None = None,
        before: Callable[[], None] | None = None,
    ) -> None:
        # ``rewrite`` maps a URL before it is sent: the demo uses it to deliver webhooks
        # meant for example.com hosts to its local receiver, keeping traffic on 127.0.0.1.
        # ``observe(method, url, status)`` hears of every exchange (status None: no answer),
        # for metrics; the URL comes without its query string. ``before()`` runs before
        # each request is sent and may raise to keep it from going out (the engine's stop).
        self._rewrite = rewrite
        self._observe = observe
        self._before = before
        self._client = _CookielessClient(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={"User-Agent": USER_AGENT},
            transport=transport,
            follow_redirects=False,
        )
        # httpx has no public hook for the network backend: set it on the default pool.
        pool = getattr(self._client._transport, "_pool", None)
        if transport is None and isinstance(pool, httpcore.ConnectionPool):
            pool._network_backend = _GatedBackend()

    @contextlib.contextmanager
    def gated(self, gate: Gate) -> Iterator[None]:
        """Within the block, each connection this thread opens goes to an address
        ``gate(host, port)`` returns; the gate refuses a host by raising. A connection
        already in the pool for the same scheme, host and port is reused as it is."""
        token = _GATE.set(gate)
        try:
            yield
        finally:
            _GATE.reset(token)

    def destination(self, url: str) -> str:
        """Where a request for ``url`` really goes (after ``rewrite``)."""
        return self._rewrite(url) if self._rewrite is not None else url

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Auth | None = None,
        timeout: float | None = None,
    ) -> HttpResponse:
        """Send one request; network errors and timeouts raise TransportFailed."""
        if self._before is not None:
            self._before()
        kwargs: dict[str, Any] = {} if timeout is None else {"timeout": _timeout(timeout)}
        if self._rewrite is not None:
            url = self._rewrite(url)
        if json is not None:
            content = jsonlib.dumps(json, separators=(",", ":")).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        status: int | None = None
        try:
            resp = self._client.request(
                method,
                _parsed(url),
                content=content,
                params=params,
                headers=headers,
                auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                **kwargs,
            )
        except httpx.TimeoutException as exc:
            raise TransportFailed(
                f"{method} {_safe(url)}: timed out ({exc.__class__.__name__})"
            ) from None
        except httpx.DecodingError as exc:
            raise MalformedResponse(f"{method} {_safe(url)}: undecodable body: {exc}") from None
        except httpx.HTTPError as exc:
            raise TransportFailed(
                f"{method} {_safe(url)}: {exc.__class__.__name__}: {exc}"
            ) from None
        except UnicodeError as exc:  # a body that claims an encoding it does not have
            raise MalformedResponse(f"{method} {_safe(url)}: undecodable response: {exc}") from None
        else:
            status = resp.status_code
        finally:
            if self._observe is not None:
                self._observe(method, _safe(url), status)
        body = resp.content
        # httpx's response and its stream refer to each other, a cycle only the cyclic
        # collector frees, which a cycle of the engine holds off: without this, every
        # body read (14 MB for 100,000 posts' totals) would live until the cycle ends
        resp.stream = httpx.ByteStream(b"")
        return HttpResponse(
            status=resp.status_code,
            headers={k.lower(): v for k, v in resp.headers.items()},
            body=body,
            url=_safe(url),
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _safe(url: str) -> str:
    """The URL without its query string, which could carry a token in someone's setup."""
    return url.split("?", 1)[0]


def scrubbed_start(body: bytes, scrub: Callable[[str], str], limit: int) -> str:
    """The first ``limit`` bytes of ``body``'s text, ``scrub`` applied first (the clients'
    redactor of ``Credentials.secrets``) so that no credential is cut in two and shown in
    part."""
    return scrub(body.decode("utf-8", "replace")).encode()[:limit].decode("utf-8", "replace")
