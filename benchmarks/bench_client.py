"""The Engagement API client alone: CPU per request and per post, beside the floor client.

Run: python benchmarks/bench_client.py [--rounds N] [--against CHECKOUT]

The same 400 canned /totals answers as ``bench_metrics`` (gzip'd JSON, 250 posts each;
60,000 owned posts of two accounts, 40,000 public), each round in fresh child processes:

- ``floor``: gunzip, ``json.loads`` and every count to a number (*parse*), and the same
  after sending the 400 request bodies through httpx to the canned transport (*client*).
- ``client``: ``EngagementClient.fetch`` of each planned request, as ``automation
  metrics`` sends them: OAuth 1.0a for owned posts, the bearer token for public ones, the
  per-minute budget claimed in a SQLite store for every request, the answers parsed,
  checked and merged into a ``FetchResult``. No ID reading, no store of the readings, no
  output: what the engine's fetch step and ``metrics`` share.

``--against CHECKOUT`` runs the client child a second time on another checkout's
``automation`` package (say, a worktree of the commit before), alternating with this one.
CPU is ``time.process_time()`` of the measured loop, with the collector paused as the
engine and ``metrics`` run.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bench_metrics import BASE, GROUPING, canned, parse, prepare, run_child


def child_floor(workdir: Path) -> dict[str, Any]:
    answers, planned, _, _ = prepare(workdir)
    gc.disable()
    t0 = time.process_time()
    posts = sum(parse(gzip.decompress(raw)) for raw in answers.values())
    parse_cpu = time.process_time() - t0
    bodies = [
        {"tweet_ids": ids, "engagement_types": list(metrics), "groupings": {GROUPING: {}}}
        for ids, metrics in planned
    ]
    with httpx.Client(transport=httpx.MockTransport(canned(answers, b"{}"))) as client:
        t0 = time.process_time()
        for body in bodies:
            parse(client.post(f"{BASE}/insights/engagement/totals", json=body).content)
        client_cpu = time.process_time() - t0
    return {"parse": parse_cpu, "client": client_cpu, "posts": posts}


def child_client(workdir: Path) -> dict[str, Any]:
    from automation.config.loader import load_config
    from automation.sandbox.config_writer import write_config
    from automation.service.api_clients import engagement_client
    from automation.store.sqlite import SqliteStore
    from automation.x.engagement_plan import EngagementRequest
    from automation.x.http import HttpClient

    answers, planned, brand, support = prepare(workdir)
    owner = dict.fromkeys(brand, "brand") | dict.fromkeys(support, "support")
    requests = [
        EngagementRequest("totals", owner.get(ids[0]), tuple(ids), metrics)
        for ids, metrics in planned
    ]
    path = write_config(workdir / "a.yaml", BASE, requests_per_minute=100_000, database="s.db")
    config = load_config(path)
    with (
        SqliteStore.open(workdir / "s.db") as store,
        HttpClient(transport=httpx.MockTransport(canned(answers, b"{}"))) as http,
    ):
        client = engagement_client(config, store, http, clock=lambda: datetime.now(UTC))
        gc.disable()
        t0 = time.process_time()
        posts = sent = 0
        for request in requests:
            result = client.fetch([request])
            assert not result.failures, result.failures
            posts += len(result.totals)
            sent += result.requests_sent
        cpu = time.process_time() - t0
    return {"cpu": cpu, "posts": posts, "requests": sent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", metavar="CHECKOUT", help="also run this checkout's client")
    parser.add_argument("--child", choices=("floor", "client"))
    parser.add_argument("--dir")
    args = parser.parse_args()
    if args.child:
        work = Path(args.dir)
        result = child_client(work) if args.child == "client" else child_floor(work)
        print(json.dumps(result))
        return
    print("400 /totals answers of 250 posts (60,000 owned, 40,000 public), CPU s")
    head = "round  parse floor  client floor  client  x parse  x client"
    print(head + ("  against  x client" if args.against else ""))
    for rnd in range(1, args.rounds + 1):
        floor = run_child("floor", __file__)
        mine = run_child("client", __file__)
        assert mine["posts"] == floor["posts"] and mine["requests"] == 400, mine
        line = (
            f"{rnd:>5}  {floor['parse']:>11.3f}  {floor['client']:>12.3f}  {mine['cpu']:>6.3f}"
            f"  {mine['cpu'] / floor['parse']:>7.2f}  {mine['cpu'] / floor['client']:>8.2f}"
        )
        if args.against:
            other = run_child("client", __file__, args.against)
            line += f"  {other['cpu']:>7.3f}  {other['cpu'] / floor['client']:>8.2f}"
        print(line)


if __name__ == "__main__":
    main()
