"""How long a standby takes to act when the leading engine fails, on a real PostgreSQL.

Two engines (``python -m automation run``, real processes) share one database on a
throwaway cluster (``initdb`` in a temporary directory, as the tests do) and poll the
sandbox. Each round fails the leader one way and measures, from that moment:

- ``lead``: until another engine holds the lead (its session is named leader);
- ``cycle``: until the new leader finished its first cycle (it acts again).

Failures: ``kill`` (SIGKILL: the process dies, the kernel closes its sockets, the server
ends its sessions), ``terminate`` (``pg_terminate_backend`` of the leader's sessions: the
database cut it off, the process lives on and stands by) and ``freeze`` (SIGSTOP: a leader
that went silent without closing anything, as a machine that lost the network; the server
ends its session after the lease). A new standby is started after each kill; a frozen
leader is resumed and stands by.

    python benchmarks/bench_takeover.py                 # 5 rounds per failure, poll 1s and 5s
    python benchmarks/bench_takeover.py --rounds 10 --poll 1 --poll 30
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from pg_cluster import Cluster, find_bindir, missing_reason

from automation.config.database import PostgresDatabase
from automation.core.leadership import lease_times
from automation.sandbox import Options, Sandbox
from automation.sandbox.config_writer import config_text
from automation.store import postgres_schema
from automation.store.postgres_leadership import leader_view

RULES = {
    "version": 1,
    "rules": [
        {
            "id": "big-likes",
            "watch": {"accounts": ["brand"], "max_age": "2d"},
            "when": "likes >= 5000000",
            "actions": [{"log": {"message": "big {post.id}"}}],
        }
    ],
}


@dataclass
class Engine:
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cycles(self) -> int:
        return self.log.read_text(errors="replace").count(" cycle posts=")


class Bench:
    def __init__(self, folder: Path, database: PostgresDatabase, base_url: str, poll: int):
        self.folder, self.database, self.poll = folder, database, poll
        self.config = folder / f"automation-{poll}.yaml"
        doc = yaml.safe_load(
            config_text(base_url, requests_per_minute=600, poll_interval=f"{poll}s")
        )
        doc.update(database=database.url, rules=["rules/"])
        self.config.write_text(yaml.safe_dump(doc), encoding="utf-8")
        (folder / "rules").mkdir(exist_ok=True)
        (folder / "rules" / "rules.yaml").write_text(yaml.safe_dump(RULES), encoding="utf-8")
        self.engines: list[Engine] = []

    def start(self) -> Engine:
        log = self.folder / f"engine-{len(self.engines)}.err"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "automation", "--config", str(self.config), "run"],
                cwd=self.folder,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"},
            )
        engine = Engine(proc, log)
        self.engines.append(engine)
        return engine

    def leader(self, but: int = 0) -> Engine | None:
        view = leader_view(self.database)
        pids = [int(n.rsplit(":", 1)[1]) for n in view.connected]
        return next((e for e in self.engines if pids and e.pid == pids[0] != but), None)

    def standing_by(self) -> int:
        return len(leader_view(self.database).standby)

    def stop(self) -> None:
        for engine in self.engines:
            if engine.proc.poll() is None:
                engine.proc.send_signal(signal.SIGCONT)
                engine.proc.terminate()
                engine.proc.wait(timeout=30)


def wait(condition: Callable[[], object], timeout: float = 120.0) -> float:
    """Poll every 10 ms; the monotonic time at which ``condition()`` held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout}s waiting for {condition}")
        time.sleep(0.01)
    return time.monotonic()


def fail(bench: Bench, how: str, leader: Engine) -> None:
    if how == "kill":
        leader.proc.kill()
        leader.proc.wait()
    elif how == "freeze":
        leader.proc.send_signal(signal.SIGSTOP)
    else:
        with psycopg.connect(bench.database.url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name LIKE 'automation leader %'"
                " OR application_name LIKE 'automation engine %'"
            )


def one_round(bench: Bench, how: str) -> tuple[float, float]:
    wait(lambda: bench.leader() is not None and bench.standing_by() >= 1)
    leader = bench.leader()
    assert leader is not None
    time.sleep(bench.poll * 0.37)  # somewhere inside a poll interval
    cycles = {e.pid: e.cycles() for e in bench.engines}  # a standby runs none
    failed = time.monotonic()
    fail(bench, how, leader)
    found: list[Engine] = []

    def led() -> bool:
        new = bench.leader(but=leader.pid)
        found.extend([new] if new else [])
        return new is not None

    lead = wait(led) - failed
    new = found[0]
    cycle = wait(lambda: new.cycles() > cycles[new.pid]) - failed
    if how == "kill":
        bench.start()
    elif how == "freeze":
        leader.proc.send_signal(signal.SIGCONT)
    return lead, cycle


def measure(cluster: Cluster, base_url: str, poll: int, rounds: int) -> list[list[str]]:
    rows = []
    for how in ("kill", "terminate", "freeze"):
        database = cluster.create_database("takeover")
        with psycopg.connect(database.url, autocommit=True) as conn:
            postgres_schema.apply(conn)
        with tempfile.TemporaryDirectory() as tmp:
            bench = Bench(Path(tmp), database, base_url, poll)
            try:
                bench.start()
                bench.start()
                results = [one_round(bench, how) for _ in range(rounds)]
            finally:
                bench.stop()
        leads, cycles = [r[0] for r in results], [r[1] for r in results]
        rows.append(
            [
                how,
                f"{poll}s",
                f"{lease_times(poll).lease:g}s",
                str(rounds),
                f"{statistics.median(leads):.2f}",
                f"{max(leads):.2f}",
                f"{statistics.median(cycles):.2f}",
                f"{max(cycles):.2f}",
                f"{max(cycles) / poll:.2f}",
            ]
        )
        print("  ".join(rows[-1]), file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--poll", type=int, action="append", help="seconds (repeatable)")
    args = parser.parse_args()
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit(missing_reason())
    cluster = Cluster(bindir).start()
    sandbox = Sandbox(seed=7, speed=1.0, options=Options(per_minute_limit=600)).start()
    try:
        rows = [
            r
            for poll in args.poll or [1, 5]
            for r in measure(cluster, sandbox.base_url, poll, args.rounds)
        ]
    finally:
        sandbox.stop()
        cluster.stop()
    head = [
        "failure",
        "poll",
        "lease",
        "rounds",
        "lead med",
        "lead max",
        "cycle med",
        "cycle max",
        "max/poll",
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print("seconds from the failure; 'cycle': the new leader's first cycle finished")


if __name__ == "__main__":
    main()
