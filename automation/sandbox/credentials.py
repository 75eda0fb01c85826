"""The sandbox's documented credentials. They are not secret: they only open the sandbox.

App (consumer) credentials, used for OAuth 1.0a signatures:

    consumer key     sandbox-consumer-key-7Xq2
    consumer secret  sandbox-consumer-secret-h3Jv9LwQ

App-only bearer token (``Authorization: Bearer ...``), /totals public metrics and v2 reads:

    bearer token     AAAAAAAAAAAAAAAAAAAAASandboxBearerToken0000

Owned accounts (OAuth 1.0a user context; the token prefix is the user id, as on X):

    brand    user_id 2244994945  access token 2244994945-SandboxBrandAccessToken
                                 token secret sandbox-brand-token-secret-Mk4r
    support  user_id 783214      access token 783214-SandboxSupportAccessToken
                                 token secret sandbox-support-token-secret-Pz8e
    news     user_id 1600000003  access token 1600000003-SandboxNewsAccessToken
                                 token secret sandbox-news-token-secret-Qw7t
    careers  user_id 1600000004  access token 1600000004-SandboxCareersAccessToken
                                 token secret sandbox-careers-token-secret-Zr2n
    events   user_id 1600000005  access token 1600000005-SandboxEventsAccessToken
                                 token secret sandbox-events-token-secret-Vb6y
             (never posts: an account that only reposts and likes, as a campaign's does)

Webhook signing secret the sandbox config names ``team-chat`` (used by the example rules):

    team-chat        sandbox-team-chat-webhook-secret
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ACCOUNTS",
    "BEARER_TOKEN",
    "CONSUMER_KEY",
    "CONSUMER_SECRET",
    "WEBHOOK_SECRETS",
    "AccountCredentials",
    "account_for_token",
]

CONSUMER_KEY = "sandbox-consumer-key-7Xq2"
CONSUMER_SECRET = "sandbox-consumer-secret-h3Jv9LwQ"
BEARER_TOKEN = "AAAAAAAAAAAAAAAAAAAAASandboxBearerToken0000"
WEBHOOK_SECRETS = {"team-chat": "sandbox-team-chat-webhook-secret"}


@dataclass(frozen=True)
class AccountCredentials:
    name: str
    user_id: str
    username: str
    access_token: str
    access_token_secret: str


ACCOUNTS: tuple[AccountCredentials, ...] = (
    AccountCredentials(
        "brand",
        "2244994945",
        "brand",
        "2244994945-SandboxBrandAccessToken",
        "sandbox-brand-token-secret-Mk4r",
    ),
    AccountCredentials(
        "support",
        "783214",
        "support",
        "783214-SandboxSupportAccessToken",
        "sandbox-support-token-secret-Pz8e",
    ),
    AccountCredentials(
        "news",
        "1600000003",
        "brand_news",
        "1600000003-SandboxNewsAccessToken",
        "sandbox-news-token-secret-Qw7t",
    ),
    AccountCredentials(
        "careers",
        "1600000004",
        "brand_careers",
        "1600000004-SandboxCareersAccessToken",
        "sandbox-careers-token-secret-Zr2n",
    ),
    AccountCredentials(
        "events",
        "1600000005",
        "brand_events",
        "1600000005-SandboxEventsAccessToken",
        "sandbox-events-token-secret-Vb6y",
    ),
)

_BY_TOKEN = {a.access_token: a for a in ACCOUNTS}


def account_for_token(token: str) -> AccountCredentials | None:
    return _BY_TOKEN.get(token)
