from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from automation import __version__
from automation.config.secret import Secret
from automation.core.errors import ActionFailed
from automation.core.payloads import FiringContext, render_action
from automation.core.rules import Leaf, Rule, Watch, WebhookAction
from automation.core.templates import parse_template
from automation.engine.webhook import (
    SIGNATURE_HEADER,
    WebhookRequest,
    build_request,
    encode_body,
    idempotency_key,
    send,
    sign,
    verify,
)
from automation.x.http import HttpClient

NOW = 1_795_000_000
SECRET = Secret("whsec-team-chat-very-secret", "${TEAM_CHAT_WEBHOOK_SECRET}")
FIRED_AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


RULE = Rule(
    id="repost-at-100-likes",
    description="Repost from support when a brand post reaches 100 likes",
    watch=Watch(accounts=("brand",)),
    when=Leaf("favorites", "gte", 100, written="likes"),
    actions=(WebhookAction(url=parse_template("https://chat.example.com/hooks/T123")),),
)


def sent_body(
    fired_at: datetime = FIRED_AT, account: str | None = "brand", **metrics: float
) -> bytes:
    """The exact bytes production sends for a webhook without ``body``: the action is
    rendered into its outbox payload when the rule fires, and the outbox sends that
    payload's body as it is."""
    ctx = FiringContext(
        firing_id="f-42",
        rule=RULE,
        post_id="1260294888811347969",
        post_url="https://x.com/i/status/1260294888811347969",
        post_account=account,
        post_created_at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
        fired_at=fired_at,
        metrics=metrics or {"likes": 100.0},
        totals={"favorites": 100.0},
    )
    payload = json.loads(render_action(RULE.actions[0], ctx))
    return str(payload["body"]).encode()


def strict_json(raw: bytes) -> dict:
    """What any receiver's JSON parser reads: no NaN or Infinity."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    data: dict = json.loads(raw, parse_constant=refuse)
    return data


# --- payload --------------------------------------------------------------------------------


def test_default_payload_is_exactly_the_spec_shape() -> None:
    assert strict_json(sent_body()) == {
        "event": "rule.fired",
        "id": "f-42",
        "rule": {
            "id": "repost-at-100-likes",
            "description": "Repost from support when a brand post reaches 100 likes",
        },
        "post": {
            "id": "1260294888811347969",
            "url": "https://x.com/i/status/1260294888811347969",
            "account": "brand",
        },
        "metrics": {"likes": 100},
        "fired_at": "2026-11-26T12:00:00Z",
    }


def test_whole_metrics_are_integers_others_stay_exact_and_none_breaks_json() -> None:
    raw = sent_body(likes=100.0, engagement_rate=0.0525, impressions=float("nan"), retweets=7)
    decoded = strict_json(raw)
    assert b'"likes":100,' in raw
    assert isinstance(decoded["metrics"]["likes"], int)
    assert decoded["metrics"]["engagement_rate"] == 0.0525
    assert decoded["metrics"]["impressions"] is None
    assert decoded["metrics"]["retweets"] == 7


def test_fired_at_is_utc_and_a_public_post_has_no_account() -> None:
    berlin = timezone(timedelta(hours=1))
    body = strict_json(sent_body(datetime(2026, 11, 26, 13, tzinfo=berlin), account=None))
    assert body["fired_at"] == "2026-11-26T12:00:00Z"
    assert body["post"]["account"] is None


def test_encode_body_is_compact_utf8() -> None:
    assert encode_body({"text": "größer", "n": [1, 2]}) == '{"text":"größer","n":[1,2]}'.encode()


def test_a_body_json_cannot_carry_is_never_encoded() -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        encode_body({"likes": float("nan")})


# --- request, signature ---------------------------------------------------------------------


def test_request_headers_and_body() -> None:
    request = build_request(
        url="https://chat.example.com/hooks/T123",
        body=sent_body(),
        idempotency_key=idempotency_key("f-42", 1),
        headers={"X-Team": "growth", "content-type": "text/plain", "Idempotency-Key": "mine"},
        secret=None,
        now=NOW,
    )
    assert isinstance(request, WebhookRequest)
    assert request.url == "https://chat.example.com/hooks/T123"
    assert request.body == sent_body()
    assert dict(request.headers) == {
        "X-Team": "growth",
        "Content-Type": "application/json",
        "User-Agent": f"engagement-automation/{__version__}",
        "Idempotency-Key": "f-42.1",
    }


def test_a_custom_header_cannot_forge_a_signature_or_the_fixed_ones_in_any_case() -> None:
    request = build_request(
        url="https://chat.example.com/hooks/T123",
        body=sent_body(),
        idempotency_key=idempotency_key("f-42", 1),
        headers={
            "X-Automation-Signature": "t=1,v1=forged",
            "USER-AGENT": "mine",
            "idempotency-key": "mine",
        },
        secret=None,
        now=NOW,
    )
    assert dict(request.headers) == {
        "Content-Type": "application/json",
        "User-Agent": f"engagement-automation/{__version__}",
        "Idempotency-Key": "f-42.1",
    }


def test_raw_bytes_body_is_sent_as_is() -> None:
    raw = b'{"text": "spaced out"}'
    request = build_request(url="http://127.0.0.1:9/h", body=raw, idempotency_key="k.0")
    assert request.body is raw


def test_idempotency_key_is_stable_across_attempts_while_the_signature_is_fresh() -> None:
    first = build_request(
        url="https://h.example/x",
        body=sent_body(),
        idempotency_key=idempotency_key("f-42", 0),
        secret=SECRET,
        now=NOW,
    )
    retry = build_request(
        url="https://h.example/x",
        body=sent_body(),
        idempotency_key=idempotency_key("f-42", 0),
        secret=SECRET,
        now=NOW + 600,
    )
    assert first.headers["Idempotency-Key"] == retry.headers["Idempotency-Key"] == "f-42.0"
    assert first.body == retry.body
    assert first.headers[SIGNATURE_HEADER].startswith(f"t={NOW},v1=")
    assert retry.headers[SIGNATURE_HEADER].startswith(f"t={NOW + 600},v1=")


def test_sign_known_answer() -> None:
    body = b'{"event":"rule.fired","id":"f-42"}'
    expected = hmac.new(
        b"whsec-team-chat-very-secret", b"1795000000." + body, hashlib.sha256
    ).hexdigest()
    assert sign(SECRET, 1795000000, body) == f"t=1795000000,v1={expected}"


def test_signature_covers_the_exact_bytes_sent() -> None:
    request = build_request(
        url="https://h.example/x",
        body=sent_body(),
        idempotency_key="f-42.0",
        secret=SECRET,
        now=NOW,
    )
    header = request.headers[SIGNATURE_HEADER]
    mac = hmac.new(SECRET.reveal().encode(), f"{NOW}.".encode() + request.body, hashlib.sha256)
    assert header == f"t={NOW},v1={mac.hexdigest()}"
    assert verify(SECRET, header, request.body, now=NOW + 5)


def test_request_repr_hides_the_signature() -> None:
    request = build_request(
        url="https://h.example/x", body=sent_body(), idempotency_key="f.0", secret=SECRET, now=NOW
    )
    text = repr(request)
    assert "h.example" in text
    assert request.headers[SIGNATURE_HEADER] not in text
    assert SECRET.reveal() not in text


@pytest.mark.parametrize(
    ("header", "body", "secret", "now", "ok"),
    [
        ("good", b"{}", SECRET, NOW, True),
        ("good", b"{}", SECRET, NOW + 300, True),
        ("good", b"{}", SECRET, NOW - 300, True),
        ("good", b'{"x":1}', SECRET, NOW, False),  # tampered body
        ("good", b"{}", Secret("other"), NOW, False),  # wrong secret
        ("good", b"{}", SECRET, NOW + 301, False),  # stale
        ("good", b"{}", SECRET, NOW - 301, False),  # from the future
        ("rotated", b"{}", SECRET, NOW, True),  # one of two v1 values matches
        ("", b"{}", SECRET, NOW, False),
        ("v1=abc", b"{}", SECRET, NOW, False),
        ("t=soon,v1=abc", b"{}", SECRET, NOW, False),
        ("t=1795000000", b"{}", SECRET, NOW, False),
        ("garbage", b"{}", SECRET, NOW, False),
        ("padded", b"{}", SECRET, NOW, False),  # a good signature with a part that is not one
    ],
)
def test_verify(header: str, body: bytes, secret: Secret, now: int, ok: bool) -> None:
    good = sign(SECRET, NOW, b"{}")
    if header == "good":
        header = good
    elif header == "rotated":
        header = f"t={NOW},v1={'0' * 64},{good.split(',')[1]}"
    elif header == "padded":
        header = f"{good},junk"
    assert verify(secret, header, body, now) is ok


@pytest.mark.parametrize(
    ("url", "headers", "match"),
    [
        ("ftp://files.example/x", {}, "ftp://files.example is not an http"),
        ("not a url", {}, "the value is not an http"),
        ("https:///path-only", {}, "not an http"),
        ("https://h.example/x", {"X-Bad": "a\r\nInjected: 1"}, "line break"),
        ("https://h.example/x", {"Bad Name": "v"}, "not a valid header name"),
    ],
)
def test_requests_that_can_never_be_sent_are_dead(url: str, headers: dict, match: str) -> None:
    with pytest.raises(ActionFailed, match=match) as info:
        build_request(url=url, body={}, idempotency_key="f.0", headers=headers)
    assert info.value.retryable is False


# --- send against a real local receiver -----------------------------------------------------


class Receiver:
    """A local HTTP receiver: the first path segment picks the behaviour."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.received.append((self.path, dict(self.headers.items()), body))
                receiver.respond(self, self.path.split("/")[1], body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def respond(self, handler: BaseHTTPRequestHandler, kind: str, body: bytes) -> None:
        status, headers, text = {
            "ok": (204, {}, b""),
            "created": (201, {}, b'{"ok":true}'),
            "timeout": (408, {}, b"request timeout"),
            "busy": (429, {"Retry-After": "7"}, b"slow down"),
            "busydate": (429, {"Retry-After": formatdate(NOW + 120, usegmt=True)}, b""),
            "fail": (500, {}, b"boom " + b"x" * 500),
            "gone": (404, {}, b"no such hook"),
            "moved": (301, {"Location": "https://new.example/hooks/T9"}, b""),
            "echo": (400, {}, b"bad signature: " + echoed_signature(handler)),
            "quote": (401, {}, echoed_request(handler)),
        }.get(kind, (200, {}, b""))
        if kind == "slow":
            self.release.wait(2.0)
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(text)))
            handler.end_headers()
            handler.wfile.write(text)
        except OSError:
            pass  # the client gave up (the timeout test)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def echoed_signature(handler: BaseHTTPRequestHandler) -> bytes:
    """What a careless receiver does: quote the header back, in full and in part."""
    value = handler.headers.get(SIGNATURE_HEADER, "")
    return f"{value} (expected v1={value.split('v1=')[-1]})".encode()


def echoed_request(handler: BaseHTTPRequestHandler) -> bytes:
    """What a careless receiver answers a 401 with: the request line and every header."""
    return f"unauthorized: {handler.requestline} {handler.headers}".encode()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def http() -> Iterator[HttpClient]:
    with HttpClient(timeout=5.0) as client:
        yield client


def signed(url: str) -> WebhookRequest:
    return build_request(
        url=url,
        body=sent_body(),
        idempotency_key=idempotency_key("f-42", 0),
        headers={"X-Team": "growth"},
        secret=SECRET,
        now=NOW,
    )


def assert_clean(exc: ActionFailed, request: WebhookRequest) -> None:
    signature = request.headers[SIGNATURE_HEADER]
    for text in (str(exc), repr(exc)):
        assert SECRET.reveal() not in text
        assert signature not in text
        assert signature.split("v1=")[1] not in text
        assert "T123" not in text  # the URL path, which may hold a token


@pytest.mark.parametrize("path", ["/ok/T123", "/created/T123"])
def test_send_2xx_delivers_exact_signed_bytes(
    receiver: Receiver, http: HttpClient, path: str
) -> None:
    request = signed(receiver.url(path))
    assert 200 <= send(http, request, timeout=2.0).status < 300
    [(got_path, headers, body)] = receiver.received
    assert got_path == path
    assert body == request.body
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == f"engagement-automation/{__version__}"
    assert headers["Idempotency-Key"] == "f-42.0"
    assert headers["X-Team"] == "growth"
    assert verify(SECRET, headers[SIGNATURE_HEADER], body, now=NOW + 1)


@pytest.mark.parametrize(
    ("path", "retryable", "retry_after", "match"),
    [
        ("/timeout/T123", True, None, "answered 408: request timeout"),
        ("/busy/T123", True, 7.0, "answered 429: slow down"),
        ("/busydate/T123", True, 120.0, "answered 429"),
        ("/fail/T123", True, None, "answered 500: boom"),
        ("/gone/T123", False, None, "answered 404: no such hook"),
        ("/moved/T123", False, None, "answered 301 (a redirect to https://new.example"),
    ],
)
def test_send_failures(
    receiver: Receiver,
    http: HttpClient,
    path: str,
    retryable: bool,
    retry_after: float | None,
    match: str,
) -> None:
    request = signed(receiver.url(path))
    with pytest.raises(ActionFailed, match=re.escape(match)) as info:
        send(http, request, timeout=2.0, clock=lambda: float(NOW))
    exc = info.value
    assert exc.retryable is retryable
    assert exc.retry_after == (pytest.approx(retry_after) if retry_after else None)
    assert f"webhook to http://127.0.0.1:{receiver.port}" in str(exc)
    assert_clean(exc, request)


def test_send_excerpt_is_short(receiver: Receiver, http: HttpClient) -> None:
    with pytest.raises(ActionFailed) as info:
        send(http, signed(receiver.url("/fail")), timeout=2.0)
    assert len(str(info.value)) < 300


def test_echoed_signature_is_redacted(receiver: Receiver, http: HttpClient) -> None:
    request = signed(receiver.url("/echo/T123"))
    with pytest.raises(ActionFailed, match="answered 400") as info:
        send(http, request, timeout=2.0)
    assert "***" in str(info.value)
    assert info.value.retryable is False
    assert_clean(info.value, request)


HOOK_TOKEN = "hook-url-token-0b3c9d"
BEARER = "rule-header-bearer-e8f1a2"


@pytest.mark.parametrize("path", [f"/quote/T123?token={HOOK_TOKEN}", f"/quote/{HOOK_TOKEN}"])
def test_a_quoted_request_keeps_its_url_and_credential_headers_out(
    receiver: Receiver, http: HttpClient, path: str
) -> None:
    """A receiver that quotes the request back in its error names the URL's token and the
    Authorization header a rule set: the failure (kept in the outbox, logged, shown in
    ``actions`` and the dashboard, sent in alerts) quotes neither."""
    request = build_request(
        url=receiver.url(path),
        body=sent_body(),
        idempotency_key=idempotency_key("f-42", 0),
        headers={"Authorization": f"Bearer {BEARER}", "X-Team": "growth"},
        secret=SECRET,
        now=NOW,
    )
    with pytest.raises(ActionFailed, match="answered 401: unauthorized: POST ") as info:
        send(http, request, timeout=2.0)
    text = str(info.value)
    assert HOOK_TOKEN not in text and BEARER not in text
    assert "Authorization: ***" in text and "X-Team: growth" in text
    assert_clean(info.value, request)


def test_send_timeout_is_retryable(receiver: Receiver, http: HttpClient) -> None:
    request = signed(receiver.url("/slow/T123"))
    with pytest.raises(ActionFailed, match="timed out") as info:
        send(http, request, timeout=0.2)
    assert info.value.retryable is True
    assert_clean(info.value, request)


def test_send_connection_refused_is_retryable(http: HttpClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = signed(f"http://127.0.0.1:{port}/hooks/T123")
    with pytest.raises(ActionFailed) as info:
        send(http, request, timeout=2.0)
    assert info.value.retryable is True
    assert f"webhook to http://127.0.0.1:{port}" in str(info.value)
    assert_clean(info.value, request)
