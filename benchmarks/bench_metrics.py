"""``automation metrics`` over 100,000 post IDs against canned responses: CPU and memory.

Run: python benchmarks/bench_metrics.py [--rounds N] [--posts N]

Each round runs two child processes on the same canned answers (gzip'd JSON, as the API
sends them, 400 /totals answers of 250 posts):

- ``metrics``: the real command line, ``automation metrics --ids FILE --format csv
  --output FILE``, in process, its HTTP client's transport answering from the canned
  responses (no socket). 60,000 of the IDs are owned posts the store already watches
  (brand and support), 40,000 are public; the configured accounts' timelines are paged
  once over the public posts' period. Everything counts: reading the IDs, the owned /
  public split, planning, OAuth, the per-minute budget shared in SQLite, sending,
  parsing, saving each answer for resume, and writing the CSV.
- ``floor``: the least a client does with the same answers. *parse*: gunzip,
  ``json.loads`` and every count to a number, nothing else. *client*: the same, after
  sending the same 400 request bodies through httpx to the same canned transport (no
  auth, no budget, no store, no output).

CPU is ``time.process_time()`` of the measured part; peak RSS is the metrics child's
``ru_maxrss`` (interpreter, imports and the canned answers included). Targets: CPU at
most 2 x the floor, peak RSS under 200 MB.

``--posts N`` (default 100,000; 60 % owned) runs the same with fewer IDs: with 100 the
metrics CPU is what a run costs whatever its length (the command's parser, config,
store, clients and the modules it imports when run).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from automation.core.metric_names import API_METRICS, PUBLIC_TOTALS_METRICS, TOTALS_METRICS

OWNED = 60_000
PUBLIC = 40_000
TOTALS = tuple(m for m in API_METRICS if m in TOTALS_METRICS)
PUBLIC_METRICS = tuple(m for m in API_METRICS if m in PUBLIC_TOTALS_METRICS)
BASE = "https://data-api.x.com"
GROUPING = "per_post"  # the name the planner gives its /totals grouping
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_TWITTER_EPOCH_MS = 1288834974657
_MARKER = b'"tweet_ids":["'

Chunk = tuple[list[str], tuple[str, ...]]
_LOADED_BY_THE_PARSER_BEFORE = (
    "automation.engine.gc_pause",
    "automation.service.api_clients",
    "automation.store.opening",
    "automation.x.historical",
)


def snowflake(ms_ago: int, seq: int) -> str:
    ms = int(NOW.timestamp() * 1000) - ms_ago - _TWITTER_EPOCH_MS
    return str((ms << 22) | seq)


def post_ids() -> tuple[list[str], list[str], list[str]]:
    """Brand's, support's and public posts of the last 30 days, one ID each."""
    rng = random.Random(11)
    unique = {
        snowflake(rng.randrange(30 * 86_400_000), rng.randrange(4096)) for _ in range(101_000)
    }
    ids = sorted(unique)[: OWNED + PUBLIC]
    rng.shuffle(ids)
    return ids[: OWNED // 2], ids[OWNED // 2 : OWNED], ids[OWNED:]


def chunks(
    brand: list[str], support: list[str], public: list[str], order: list[str]
) -> list[Chunk]:
    """The requests the planner makes: per account in listed order, 250 a request."""
    listed = {pid: i for i, pid in enumerate(order)}
    out: list[Chunk] = []
    for ids, metrics in ((brand, TOTALS), (support, TOTALS), (public, PUBLIC_METRICS)):
        ordered = sorted(ids, key=listed.__getitem__)
        out += [(ordered[i : i + 250], metrics) for i in range(0, len(ordered), 250)]
    return out


def prepare(workdir: Path) -> tuple[dict[str, bytes], list[Chunk], list[str], list[str]]:
    """The ID file, the canned answers by first ID, the chunks, brand's and support's."""
    brand, support, public = post_ids()
    order = brand + support + public
    random.Random(3).shuffle(order)
    (workdir / "ids.csv").write_text(
        "date,tweet_id,text\n" + "".join(f"2026-11-01,{pid},campaign\n" for pid in order),
        encoding="utf-8",
    )
    planned = chunks(brand, support, public, order)
    rng = random.Random(5)
    answers = {}
    for ids, metrics in planned:
        body = {GROUPING: {p: {m: str(rng.randrange(50_000)) for m in metrics} for p in ids}}
        answers[ids[0]] = gzip.compress(json.dumps(body, separators=(",", ":")).encode(), 5)
    return answers, planned, brand, support


def canned(answers: dict[str, bytes], timeline: bytes) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/tweets"):
            return httpx.Response(
                200, content=timeline, headers={"content-type": "application/json"}
            )
        body = request.content
        at = body.index(_MARKER) + len(_MARKER)
        gzipped = answers[body[at : body.index(b'"', at)].decode()]
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        return httpx.Response(200, content=gzipped, headers=headers)

    return answer


def parse(raw: bytes) -> int:
    """What every client must do with an answer: every count to a number."""
    posts = 0
    for values in json.loads(raw)[GROUPING].values():
        posts += len({m: float(v) for m, v in values.items()}) > 0
    return posts


def child_floor(workdir: Path) -> dict[str, Any]:
    answers, planned, _, _ = prepare(workdir)
    bodies = list(answers.values())
    t0 = time.process_time()
    posts = sum(parse(gzip.decompress(raw)) for raw in bodies)
    parse_cpu = time.process_time() - t0
    requests = [
        {"tweet_ids": ids, "engagement_types": list(metrics), "groupings": {GROUPING: {}}}
        for ids, metrics in planned
    ]
    with httpx.Client(transport=httpx.MockTransport(canned(answers, b"{}"))) as client:
        t0 = time.process_time()
        for body in requests:
            posts += parse(client.post(f"{BASE}/insights/engagement/totals", json=body).content)
        client_cpu = time.process_time() - t0
    return {"parse": parse_cpu, "client": client_cpu, "posts": posts}


def child_metrics(workdir: Path) -> dict[str, Any]:
    import automation.x.http as http_module
    from automation.cli.main import main
    from automation.core.records import WatchedPostRecord
    from automation.sandbox.config_writer import write_config
    from automation.store.sqlite import SqliteStore

    # modules importing automation.cli.main loaded until the commands were left to load
    # what they use: loaded here, before the call, it measures what it measured then
    for name in _LOADED_BY_THE_PARSER_BEFORE:
        importlib.import_module(name)

    answers, _, brand, support = prepare(workdir)
    config = write_config(workdir / "a.yaml", BASE, requests_per_minute=100_000, database="s.db")
    with SqliteStore.open(workdir / "s.db") as store:  # the engine watches the owned posts
        store.upsert_posts(
            WatchedPostRecord(pid, account, NOW, "timeline", NOW)
            for account, ids in (("brand", brand), ("support", support))
            for pid in ids
        )
    page = {"data": [{"id": brand[0], "text": "x"}], "meta": {"result_count": 1}}
    transport = httpx.MockTransport(canned(answers, json.dumps(page).encode()))

    class Canned(http_module.HttpClient):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(transport=transport, **kwargs)

    http_module.HttpClient = Canned  # type: ignore[misc]
    out = workdir / "out.csv"
    argv = ["--config", str(config), "metrics", "--ids", str(workdir / "ids.csv")]
    argv += ["--format", "csv", "--output", str(out)]
    with contextlib.redirect_stderr(io.StringIO()):
        t0 = time.process_time()
        code = main(argv)
        cpu = time.process_time() - t0
    rows = sum(1 for _ in out.open(encoding="utf-8")) - 1
    return {"cpu": cpu, "code": code, "rows": rows}


def run_child(
    kind: str, script: str = __file__, checkout: str | None = None, extra: Sequence[str] = ()
) -> dict[str, Any]:
    """Run ``script --child kind [extra]`` in a fresh process (``checkout`` first on its
    path) and return the JSON its last line prints."""
    env = dict(os.environ)
    if checkout is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [checkout, env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [sys.executable, script, "--child", kind, "--dir", tmp, *extra],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    global OWNED, PUBLIC
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--posts", type=int, default=OWNED + PUBLIC)
    parser.add_argument("--child", choices=("metrics", "floor"))
    parser.add_argument("--dir")
    args = parser.parse_args()
    OWNED = args.posts * 6 // 10
    PUBLIC = args.posts - OWNED
    if args.child:
        work = Path(args.dir)
        result = child_metrics(work) if args.child == "metrics" else child_floor(work)
        result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    print(f"{OWNED + PUBLIC:,} IDs ({OWNED:,} owned, {PUBLIC:,} public), canned answers of 250")
    print("round  parse floor s  client floor s  metrics CPU s  x parse  x client  peak RSS MB")
    for rnd in range(1, args.rounds + 1):
        floor = run_child("floor", extra=("--posts", str(args.posts)))
        metrics = run_child("metrics", extra=("--posts", str(args.posts)))
        assert metrics["code"] == 0 and metrics["rows"] == OWNED + PUBLIC, metrics
        print(
            f"{rnd:>5}  {floor['parse']:>13.3f}  {floor['client']:>14.3f}  {metrics['cpu']:>13.3f}"
            f"  {metrics['cpu'] / floor['parse']:>7.2f}  {metrics['cpu'] / floor['client']:>8.2f}"
            f"  {metrics['rss_mb']:>11.1f}"
        )
    print("targets: CPU <= 2 x the floor, peak RSS < 200 MB")


if __name__ == "__main__":
    main()
