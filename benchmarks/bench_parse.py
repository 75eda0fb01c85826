"""Parse speed of /totals responses: 400 responses x 250 posts x 7 metrics, from bytes.

Run: python benchmarks/bench_parse.py [--rounds N]
Prints a table of CPU seconds per stage; the target is at most 1.5 s for the whole batch
(json.loads included), i.e. one poll of 100,000 watched owned posts.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import UTC, datetime

from automation.x.engagement_parse import parse_response
from automation.x.engagement_plan import EngagementRequest
from automation.x.http import HttpResponse

METRICS = (
    "impressions",
    "engagements",
    "favorites",
    "retweets",
    "quote_tweets",
    "replies",
    "video_views",
)
RESPONSES = 400
POSTS = 250


def make_batch(rng: random.Random) -> list[tuple[EngagementRequest, bytes]]:
    batch = []
    base = 1_700_000_000_000_000_000
    for r in range(RESPONSES):
        ids = tuple(str(base + r * POSTS + i) for i in range(POSTS))
        request = EngagementRequest("totals", "brand", ids, METRICS)
        body = {
            request.grouping: {
                pid: {m: str(rng.randrange(0, 1_000_000)) for m in METRICS} for pid in ids
            }
        }
        batch.append((request, json.dumps(body).encode()))
    return batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    batch = make_batch(random.Random(7))
    size = sum(len(b) for _, b in batch)
    read_at = datetime.now(UTC)
    rows = []
    for rnd in range(1, args.rounds + 1):
        t0 = time.process_time()
        decoded = [(req, json.loads(body)) for req, body in batch]
        t1 = time.process_time()
        for req, data in decoded:
            parse_response(data, req, read_at=read_at)
        t2 = time.process_time()
        posts = 0
        for req, body in batch:
            # as the client does it: the response decodes its body, then it is parsed
            data = HttpResponse(200, {}, body).json()
            posts += len(parse_response(data, req, read_at=read_at).totals)
        t3 = time.process_time()
        rows.append((rnd, t1 - t0, t2 - t1, t3 - t2, posts))
    print(
        f"{RESPONSES} /totals responses x {POSTS} posts x {len(METRICS)} metrics, "
        f"{size / 1e6:.1f} MB of JSON"
    )
    print(f"{'round':>5} {'json.loads s':>13} {'parse s':>9} {'bytes->result s':>16} {'posts':>8}")
    for rnd, load, parse, total, posts in rows:
        print(f"{rnd:>5} {load:>13.3f} {parse:>9.3f} {total:>16.3f} {posts:>8}")
    best = min(r[3] for r in rows)
    print(f"best bytes->result: {best:.3f} s CPU (target <= 1.5 s)")


if __name__ == "__main__":
    main()
