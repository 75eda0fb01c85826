"""bench_latency's printed table: this run's figures, and a saved run's beside them."""

from __future__ import annotations

from typing import Any


def report(now: dict[str, Any], before: dict[str, Any] | None, per_minute: int) -> None:
    runs = [("today", before), ("this run", now)] if before else [("this run", now)]
    print(
        f"{now['posts']:,} watched posts, {per_minute} requests a minute, poll interval 5m,"
        f" {now['hours']:g} h measured after 1 h of warm-up"
        f" ({now.get('sim_hours', 0):.1f} simulated hours ran)"
    )
    print(
        f"refreshing every post in turn: each every {now['uniform_refresh_minutes']:.1f} min"
        " (N / (250 x requests per minute))\n"
    )
    print(f"{'detection latency, min':<26}" + "".join(f"{name:>30}" for name, _ in runs))
    for group in ("all", "young", "older"):
        cells = [_latency_cell(r["latency"][group]) for _, r in runs]
        print(f"  {group:<24}" + "".join(f"{c:>30}" for c in cells))
    rows = [
        ("requests sent / budget", lambda r: f"{r['requests']:,} / {r['budget']:,}"),
        ("most in any 60 s", lambda r: f"{r['most_in_a_minute']} (limit {per_minute})"),
        ("answers by status", lambda r: ", ".join(f"{k}: {v:,}" for k, v in r["statuses"].items())),
        ("cycles", lambda r: f"{r['cycles']}"),
        ("error events", lambda r: ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "0"),
        ("engine CPU per sim. hour", lambda r: f"{r['engine_cpu_per_sim_hour']:.1f} s"),
        (
            "engine CPU per cycle",
            lambda r: "median {median:.2f} s, max {max:.2f} s".format(**r["engine_cpu_per_cycle"]),
        ),
        ("x floor client", _floor_cell),
        ("sandbox CPU per cycle", _sandbox_cell),
        ("  per request answered", _per_request_cell),
        ("CPU: engine, in cycles", lambda r: _split_cell(r, "engine")),
        ("     the sandbox answering", lambda r: _split_cell(r, "sandbox")),
        ("     probe + floor client", lambda r: _split_cell(r, "harness")),
        ("     building the world", lambda r: _split_cell(r, "world")),
        ("     true crossings", lambda r: _split_cell(r, "truth")),
        ("     whole process", lambda r: _split_cell(r, "process")),
        (
            "peak RSS",
            lambda r: "{peak:.0f} MB ({before_engine:.0f} before the engine)".format(**r["rss_mb"]),
        ),
        ("  of it the world", _world_rss_cell),
        ("  the engine's growth", _engine_rss_cell),
        ("  peak when the cycles ended", _cycles_rss_cell),
        ("longest gap between reads", lambda r: f"{r['longest_gap_between_reads_min']:.1f} min"),
        ("oldest refresh age (engine)", _oldest_cell),
        ("wall time of the cycles", lambda r: f"{r['wall_seconds']:.0f} s"),
        ("  CPU, waiting for a CPU", _waits_cell),
        ("  the rest (disk, other)", lambda r: _seconds(r.get("wall_split", {}).get("rest"))),
        ("wall time, start to end", lambda r: _seconds(r.get("wall_total_seconds"))),
    ]
    for label, cell in rows:
        print(f"{label:<26}" + "".join(f"{cell(r):>30}" for _, r in runs))
    _costliest(now)
    if before:
        ratio = now["latency"]["all"].get("median", 0) / before["latency"]["all"]["median"]
        print(
            f"\nmedian latency: {ratio:.2f} x today's (target <= 0.33); p95"
            f" {now['latency']['all'].get('p95', 0):.1f} vs {before['latency']['all']['p95']:.1f}"
            " min (target: no worse)"
        )


def _latency_cell(s: dict[str, Any]) -> str:
    if "median" not in s:
        return f"{s['crossings']} crossings"
    missed = f", {s['missed']} missed" if s["missed"] else ""
    return f"{s['median']:.1f} / {s['p95']:.1f} / {s['max']:.1f} (n={s['crossings']}{missed})"


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f} s"


def _sandbox_cell(r: dict[str, Any]) -> str:
    s = r.get("sandbox_cpu_per_cycle")
    return "n/a" if s is None else "median {median:.2f} s, max {max:.2f} s".format(**s)


def _per_request_cell(r: dict[str, Any]) -> str:
    ms = r.get("sandbox_ms_per_request")
    return "n/a" if ms is None else f"{ms:.2f} ms ({r['sandbox_requests']:,} requests)"


def _split_cell(r: dict[str, Any], part: str) -> str:
    return _seconds(r.get("cpu_split", {}).get(part))


def _world_rss_cell(r: dict[str, Any]) -> str:
    rss = r["rss_mb"]
    return "n/a" if "start" not in rss else f"{rss['before_engine'] - rss['start']:.0f} MB"


def _engine_rss_cell(r: dict[str, Any]) -> str:
    """Peak minus what the world and the interpreter held before the engine started."""
    rss = r["rss_mb"]
    return f"{rss['peak'] - rss['before_engine']:.0f} MB"


def _cycles_rss_cell(r: dict[str, Any]) -> str:
    """The peak before the figures (reading the posts back, finding true crossings)."""
    cycles = r["rss_mb"].get("cycles")
    return "n/a" if cycles is None else f"{cycles:.0f} MB"


def _oldest_cell(r: dict[str, Any]) -> str:
    oldest = r.get("engine_oldest_refresh_age_min")
    return "n/a" if oldest is None else f"{oldest:.1f} min"


def _floor_cell(r: dict[str, Any]) -> str:
    f = r["floor_ratio"]
    if f["median"] is None:
        return "n/a"
    return f"{f['median']:.1f} ({f['min']:.1f}-{f['max']:.1f}, {f['samples']} cycles)"


def _waits_cell(r: dict[str, Any]) -> str:
    split = r.get("wall_split")
    if not split:
        return "n/a"
    waited = split["cpu_wait"]
    return f"{split['cpu']:,.0f} s, " + ("n/a" if waited is None else f"{waited:,.0f} s")


def _costliest(r: dict[str, Any]) -> None:
    """This run's costliest cycles, with what they did."""
    top = r.get("costliest_cycles")
    if not top:
        return
    print("\nthe costliest cycles (engine CPU; posts read, requests, seeded, fired, actions):")
    for c in top:
        print(
            f"  cycle {c['cycle']} at {c['at']}: {c['cpu']:.2f} s ({c['wall']:.2f} s wall);"
            f" {c['refreshed']:,} read, {c['requests']:,} requests, {c['seeded']:,} seeded,"
            f" {c['fired']:,} fired, {c['actions_sent']:,} actions"
        )
