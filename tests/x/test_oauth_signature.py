"""Known-answer and body-handling tests for ``automation.x.http.OAuth1Auth``, and its
own signer held to Authlib's header byte for byte."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from typing import Any
from unittest.mock import patch
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import pytest
import respx
from authlib.oauth1 import ClientAuth
from authlib.oauth1.rfc5849.errors import InsecureTransportError
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.config.secret import Secret
from automation.x.http import HttpClient, OAuth1Auth
from automation.x.oauth1 import header_without_parameters

# The example request and credentials of X's "Creating a signature" page.
CONSUMER_KEY = "xvz1evFS4wEEPTGEFPHBog"
CONSUMER_SECRET = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"
TOKEN = "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"
TOKEN_SECRET = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"
NONCE = "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"
TIMESTAMP = "1318622958"
URL = "https://api.twitter.com/1.1/statuses/update.json?include_entities=true"
STATUS = "Hello Ladies + Gentlemen, a signed OAuth request!"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    import authlib.oauth1.rfc5849.client_auth as client_auth

    monkeypatch.setattr(client_auth, "generate_nonce", lambda *a, **k: NONCE)
    monkeypatch.setattr(client_auth, "generate_timestamp", lambda *a, **k: TIMESTAMP)


def auth() -> OAuth1Auth:
    return OAuth1Auth(
        Secret(CONSUMER_KEY, "ck"),
        Secret(CONSUMER_SECRET, "cs"),
        Secret(TOKEN, "t"),
        Secret(TOKEN_SECRET, "ts"),
    )


def oauth_params(header: str) -> dict[str, str]:
    assert header.startswith("OAuth ")
    return {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header)}


def expected_signature(method: str, url: str, params: dict[str, str]) -> str:
    """RFC 5849 §3.4 computed by hand: query and oauth params only, no JSON body."""
    parts = urlsplit(url)
    pairs = [
        *parse_qsl(parts.query),
        *((k, v) for k, v in params.items() if k != "oauth_signature"),
    ]
    enc = sorted((quote(k, safe="~"), quote(v, safe="~")) for k, v in pairs)
    normalized = "&".join(f"{k}={v}" for k, v in enc)
    base_uri = f"{parts.scheme}://{parts.netloc}{parts.path}"
    base = "&".join(quote(x, safe="~") for x in (method, base_uri, normalized))
    key = f"{quote(CONSUMER_SECRET, safe='~')}&{quote(TOKEN_SECRET, safe='~')}"
    return base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()


def test_known_answer_from_the_x_documentation(pinned: None) -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL).respond(200, json={})
        with HttpClient() as http:
            http.request(
                "POST",
                URL,
                content=urlencode({"status": STATUS}).encode(),
                headers={"Content-Type": FORM},
                auth=auth(),
            )
    header = route.calls.last.request.headers["Authorization"]
    assert 'oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D"' in header
    params = oauth_params(header)
    assert params["oauth_signature"] == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="
    assert params["oauth_nonce"] == NONCE and params["oauth_timestamp"] == TIMESTAMP
    assert params["oauth_consumer_key"] == CONSUMER_KEY and params["oauth_token"] == TOKEN
    assert params["oauth_signature_method"] == "HMAC-SHA1" and params["oauth_version"] == "1.0"


def test_a_json_body_is_sent_intact_and_not_hashed(pinned: None) -> None:
    url = "https://data-api.x.com/insights/engagement/totals"
    payload = {"tweet_ids": ["1700000000000000001"], "engagement_types": ["favorites"]}
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(url).respond(200, json={})
        with HttpClient() as http:
            http.request("POST", url, json=payload, auth=auth())
    request = route.calls.last.request
    assert request.content == json.dumps(payload, separators=(",", ":")).encode()
    assert json.loads(request.content) == payload
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Content-Length"] == str(len(request.content))
    params = oauth_params(request.headers["Authorization"])
    assert "oauth_body_hash" not in params
    assert params["oauth_signature"] == expected_signature("POST", url, params)


def test_query_parameters_are_signed(pinned: None) -> None:
    url = "https://api.x.com/2/users/1/tweets?max_results=5&tweet.fields=public_metrics"
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(url__startswith="https://api.x.com/2/users/1/tweets").respond(200, json={})
        with HttpClient() as http:
            http.request("GET", url, auth=auth())
    params = oauth_params(route.calls.last.request.headers["Authorization"])
    assert params["oauth_signature"] == expected_signature("GET", url, params)


def test_the_hand_computation_agrees_with_the_documented_vector() -> None:
    params = {
        "oauth_consumer_key": CONSUMER_KEY,
        "oauth_nonce": NONCE,
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": TIMESTAMP,
        "oauth_token": TOKEN,
        "oauth_version": "1.0",
        "status": STATUS,
    }
    assert expected_signature("POST", URL, params) == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="


_SECRET = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_PATH = st.text("abcXYZ019-._~%!$'()*+,;=:@ /\u00e9", max_size=24)
_URL = st.builds(
    "{}://{}{}/{}".format,
    st.sampled_from(["https", "http", "HTTPS"]),
    st.sampled_from(["data-api.x.com", "API.X.com", "127.0.0.1"]),
    st.sampled_from(["", ":80", ":443", ":8080"]),
    _PATH,
)


def authlib_header(keys: tuple[str, str, str, str], method: str, url: str, once: str) -> str:
    """What Authlib's ``ClientAuth.sign`` writes for a request without query or form body."""
    import authlib.oauth1.rfc5849.client_auth as client_auth

    nonce, timestamp = once.split("|")
    signer = ClientAuth(keys[0], keys[1], token=keys[2], token_secret=keys[3])
    with (
        patch.object(client_auth, "generate_nonce", lambda: nonce),
        patch.object(client_auth, "generate_timestamp", lambda: timestamp),
    ):
        _, headers, _ = signer.sign(method, url, {}, "")
    return str(headers["Authorization"])


@settings(derandomize=True, deadline=None)
@given(
    keys=st.tuples(_SECRET, _SECRET, _SECRET, _SECRET),
    method=st.sampled_from(["POST", "GET", "delete"]),
    url=_URL,
    nonce=st.text("0123456789abcdefXYZ-_~", min_size=1, max_size=32),
    timestamp=st.integers(min_value=0, max_value=2**34).map(str),
)
def test_the_direct_steps_write_authlibs_header(
    keys: tuple[str, str, str, str], method: str, url: str, nonce: str, timestamp: str
) -> None:
    """Any credentials (an empty token too), method and URL without a query string."""
    signer = ClientAuth(keys[0], keys[1], token=keys[2], token_secret=keys[3])
    once = f"{nonce}|{timestamp}"
    assert outcome(header_without_parameters, signer, method, url, nonce, timestamp) == outcome(
        authlib_header, keys, method, url, once
    )


def outcome(sign: Callable[..., str], *args: Any) -> str:
    """The header, or the error (http:// is refused where Authlib refuses it)."""
    try:
        return sign(*args)
    except InsecureTransportError as exc:
        return repr(exc)


def test_a_json_post_is_signed_as_authlib_signs_it() -> None:
    """Through the HTTP client: the header a JSON POST goes out with (no query string)
    is Authlib's for the same nonce and timestamp."""
    url = "https://data-api.x.com/insights/engagement/totals"
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(url).respond(200, json={})
        with HttpClient() as http:
            http.request("POST", url, json={"tweet_ids": ["1"]}, auth=auth())
    header = route.calls.last.request.headers["Authorization"]
    params = oauth_params(header)
    once = f"{params['oauth_nonce']}|{params['oauth_timestamp']}"
    keys = (CONSUMER_KEY, CONSUMER_SECRET, TOKEN, TOKEN_SECRET)
    assert header == authlib_header(keys, "POST", url, once)
    assert len(params["oauth_nonce"]) == 30


def test_each_json_post_is_signed_with_a_new_nonce() -> None:
    signer = ClientAuth(CONSUMER_KEY, CONSUMER_SECRET, token=TOKEN, token_secret=TOKEN_SECRET)
    url = "https://data-api.x.com/insights/engagement/totals"
    nonces = [
        oauth_params(header_without_parameters(signer, "POST", url))["oauth_nonce"]
        for _ in range(200)
    ]
    assert len(set(nonces)) == 200
    assert all(re.fullmatch("[0-9a-f]{30}", nonce) for nonce in nonces)


def test_signers_taking_turns_each_write_authlibs_header() -> None:
    """The escapes kept from one request to the next are each signer's own: two accounts'
    signers on the same URL, in turn, each write the header Authlib writes for them."""
    url = "https://data-api.x.com/insights/engagement/totals"
    accounts = [
        (CONSUMER_KEY, CONSUMER_SECRET, TOKEN, TOKEN_SECRET),
        (CONSUMER_KEY, CONSUMER_SECRET, "42-other/token+=", "another secret"),
    ]
    for turn in range(4):
        keys = accounts[turn % 2]
        signer = ClientAuth(keys[0], keys[1], token=keys[2], token_secret=keys[3])
        nonce, timestamp = f"n{turn}", str(1_700_000_000 + turn)
        header = header_without_parameters(signer, "POST", url, nonce, timestamp)
        assert header == authlib_header(keys, "POST", url, f"{nonce}|{timestamp}")
