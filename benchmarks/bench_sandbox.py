"""How fast the sandbox answers /totals: 250 IDs × 7 metrics, over loopback.

Run: python benchmarks/bench_sandbox.py [requests]
Prints requests/second for bearer (public metrics of public posts) and OAuth 1.0a (all
seven /totals metrics of owned posts), each over one persistent httpx client.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

import httpx

from automation.config.secret import Secret
from automation.sandbox import Options, Sandbox, credentials
from automation.x.http import BearerAuth, OAuth1Auth

TOTALS = "/insights/engagement/totals"
ALL_TOTALS = [
    "impressions",
    "engagements",
    "favorites",
    "retweets",
    "quote_tweets",
    "replies",
    "video_views",
]


def run(client: httpx.Client, body: dict, auth: httpx.Auth, count: int) -> tuple[float, int]:
    client.post(TOTALS, json=body, auth=auth)  # warm-up: connection and world generation
    began = time.perf_counter()
    statuses = [client.post(TOTALS, json=body, auth=auth).status_code for _ in range(count)]
    elapsed = time.perf_counter() - began
    return count / elapsed, sum(s == 200 for s in statuses)


def main(count: int = 200) -> None:
    start = datetime(2026, 11, 1, 12, tzinfo=UTC)
    options = Options(per_minute_limit=1_000_000)
    with Sandbox(seed=1, start=start, speed=0, options=options) as sb:
        public = [p.id for u in ("11348282", "17471979") for p in sb.world.timeline(u)][:250]
        brand = credentials.ACCOUNTS[0]
        owned = [p.id for p in sb.world.timeline(brand.user_id)][:250]
        bearer = BearerAuth(Secret(credentials.BEARER_TOKEN))
        oauth = OAuth1Auth(
            Secret(credentials.CONSUMER_KEY),
            Secret(credentials.CONSUMER_SECRET),
            Secret(brand.access_token),
            Secret(brand.access_token_secret),
        )
        group = {"per_post": {"group_by": ["tweet.id", "engagement.type"]}}
        cases = [
            (
                "bearer",
                public,
                ["favorites", "retweets", "quote_tweets", "replies", "video_views"],
                bearer,
            ),
            ("oauth1", owned, ALL_TOTALS, oauth),
        ]
        print(f"{'auth':<8} {'ids':>4} {'metrics':>7} {'requests':>8} {'ok':>5} {'req/s':>8}")
        with httpx.Client(base_url=sb.base_url) as client:
            for name, ids, metrics, auth in cases:
                body = {"tweet_ids": ids, "engagement_types": metrics, "groupings": group}
                rate, ok = run(client, body, auth, count)
                print(f"{name:<8} {len(ids):>4} {len(metrics):>7} {count:>8} {ok:>5} {rate:>8.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
