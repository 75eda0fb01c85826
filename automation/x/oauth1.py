"""OAuth 1.0a signing of a request whose signature covers the protocol parameters alone:
no query string and no form body (RFC 5849 §3.4.1.3), which is every Engagement API
request (a JSON POST).

Authlib's ``ClientAuth.sign`` renders its header and then parses the URL and that header
back to build the base string, about 0.12 ms a request. For such a request the same
Authlib steps can be taken directly (its protocol parameters, base string, HMAC-SHA1
signature and header), without the round trip: about 0.07 ms, the same header.

The nonce is 30 hex digits from one read of the system's random source; Authlib's own
draws each of its 30 characters from ``random.SystemRandom``, a read each: 0.03 ms of
a sign's 0.09 ms here.
"""

from __future__ import annotations

import secrets

from authlib.oauth1 import ClientAuth
from authlib.oauth1.rfc5849 import client_auth
from authlib.oauth1.rfc5849.errors import InsecureTransportError
from authlib.oauth1.rfc5849.parameters import prepare_headers
from authlib.oauth1.rfc5849.signature import construct_base_string, hmac_sha1_signature

__all__ = ["header_without_parameters"]


def header_without_parameters(
    signer: ClientAuth, method: str, url: str, nonce: str = "", timestamp: str = ""
) -> str:
    """The ``Authorization`` header ``signer.sign`` writes for ``method`` ``url`` with no
    query string and no form body (HMAC-SHA1); a fresh nonce and the time unless given."""
    InsecureTransportError.check(url)  # as Authlib: https only, but where it allows
    params = signer.get_oauth_params(
        nonce or secrets.token_hex(15), timestamp or client_auth.generate_timestamp()
    )
    base = construct_base_string(method, url, params)
    params.append(
        ("oauth_signature", hmac_sha1_signature(base, signer.client_secret, signer.token_secret))
    )
    return str(prepare_headers(params)["Authorization"])
