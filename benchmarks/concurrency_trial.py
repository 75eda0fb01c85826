"""Every operator command at once beside a running engine, on SQLite or PostgreSQL.

Run: python benchmarks/concurrency_trial.py [--minutes 3] [--store sqlite|postgres] [--seed 1]

An engine (``automation run``, poll interval 2 s) reads the in-process sandbox (its world
15 times faster than the clock, about 1,000 owned posts watched, a cycle 1-3 s); on
PostgreSQL (a throwaway cluster, ``tests/pg_cluster.py``) a second engine stands by.
Around it, in loops, each in its own thread and its own process per call: ``status``,
``history``, ``top``, ``explain``, ``metrics`` (which shares the request budget through
the database), ``backtest``, ``actions retry --all``, ``pause``/``resume`` (the pause
checked in ``status``), ``rearm``, ``backup`` (its copy checked and read by ``status``;
on PostgreSQL pg_dump and pg_restore into a new database), ``try-action``, the
dashboard's pages and its retry-all button, and a SIGHUP reload of the engine. The
webhook receiver refuses a seeded share of first deliveries for good (400), so actions
go dead and are retried.

Commands start 1-5 s after the last ended, each loop seeded (``--seed``); on two shared
cores a command's wall time is mostly waiting for a CPU, so its CPU time is printed
beside it. Printed: each command's calls, failures, slowest and median call; the engine
requests per clock minute (never over 60) and any 429; every traceback or "database is
locked" seen; then the ledger checked: one live firing per (rule, post, key), every sent
webhook action received, none received twice with a 2xx, none left claimed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from pg_cluster import Cluster, find_bindir

from automation.sandbox import Sandbox
from automation.sandbox.config_writer import config_text
from automation.sandbox.limits import Usage, Window

RULES = """\
version: 1
rules:
  - id: likes-ten
    watch: {accounts: [brand, support, news, careers], max_age: 120d}
    fire: {every: 10, metric: likes}
    actions:
      - webhook: {url: "http://127.0.0.1/hooks/likes", secret: team-chat,
                  body: {post: "{post.id}", at: "{milestone}"}}
  - id: reposts-five
    watch: {accounts: [brand, support, news, careers], max_age: 120d}
    fire: {every: 5, metric: reposts}
    actions:
      - webhook: {url: "http://127.0.0.1/hooks/reposts", secret: team-chat,
                  body: {post: "{post.id}", at: "{milestone}"}}
  - id: replies-any
    watch: {accounts: [brand, support, news, careers], max_age: 120d}
    when: replies >= 3
    actions:
      - log: {message: "{post.url} has replies"}
  - id: brand-recent
    watch: {accounts: [brand], max_age: 1d}
    when: likes >= 20
    actions:
      - log: {message: "{post.url} has likes"}
"""

# ``python -m automation ARGS`` that says on stderr the CPU seconds it used, to tell a
# command that waited (for a lock, the budget, a CPU) from one that worked
_CPU_SHOWN = (
    "import atexit, runpy, sys, time;"
    "atexit.register(lambda: print(f'trial cpu {time.process_time():.2f}', file=sys.stderr));"
    "sys.argv[0] = 'automation'; runpy.run_module('automation', run_name='__main__')"
)

ERRORS = re.compile(r"Traceback|database is locked|deadlock", re.IGNORECASE)


class Receiver:
    """Webhooks: a seeded share of keys is refused for good (400) at its first delivery."""

    def __init__(self, seed: int) -> None:
        self.lock = threading.Lock()
        self.seen: Counter[str] = Counter()  # key: deliveries
        self.accepted: Counter[str] = Counter()  # key: 2xx answers
        salt = str(seed)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                key = self.headers.get("idempotency-key", "")
                refuse = int(hashlib.sha256((salt + key).encode()).hexdigest(), 16) % 4 == 0
                with outer.lock:
                    outer.seen[key] += 1
                    first = outer.seen[key] == 1
                    if not (refuse and first):
                        outer.accepted[key] += 1
                self.send_response(400 if refuse and first else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"


class Counted:
    """The sandbox's engagement budget, each request counted by its clock minute."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.per_minute: Counter[int] = Counter()
        self.refused = 0
        budget = sandbox.app.budget
        take = budget.take

        def counted(principal: str, windows: Sequence[Window], app: str = "") -> Usage:
            usage = take(principal, windows, app)
            if windows and windows[0].group == "engagement":
                self.per_minute[int(time.time() // 60)] += usage.allowed
                self.refused += not usage.allowed
            return usage

        budget.take = counted  # type: ignore[method-assign]


class Trial:
    def __init__(self, workdir: Path, env: dict[str, str], seed: int, until: float) -> None:
        self.workdir, self.env, self.until = workdir, env, until
        self.rng = random.Random(seed)
        self.calls: dict[str, list[tuple[float, int]]] = defaultdict(list)
        self.problems: list[str] = []
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.refusals: list[str] = []  # a command's own refusal (exit 1, 2): shown, not faults
        self.lock = threading.Lock()

    def cli(self, name: str, *args: str, timeout: float = 600) -> tuple[int, str]:
        began = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-c", _CPU_SHOWN, "--config", "automation.yaml", *args],
                cwd=self.workdir,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
            code, out = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            code, out = -1, f"timed out after {timeout} s"
        took = time.perf_counter() - began
        cpu = re.search(r"^trial cpu ([0-9.]+)$", out, re.MULTILINE)
        with self.lock:
            self.calls[name].append((took, code))
            self.cpu[name].append(float(cpu[1]) if cpu else 0.0)
            if code not in (0, -1):
                self.refusals.append(f"{name} {' '.join(args)} (exit {code}): {out[-600:]}")
            if ERRORS.search(out) or code == -1:
                self.problems.append(f"{name} {' '.join(args)} (exit {code}): {out[-1500:]}")
        return code, out

    def loop(self, name: str, step: Callable[[random.Random], object]) -> None:
        rng = random.Random(self.rng.random())
        while time.time() < self.until:
            try:
                step(rng)
            except Exception as exc:
                with self.lock:
                    self.problems.append(f"{name}: {exc!r}")
            time.sleep(rng.uniform(1.0, 5.0))  # about four commands at once on two cores


def _pg_backup(trial: Trial) -> None:
    """What ``automation backup`` tells a PostgreSQL operator: pg_dump while the engines
    run, restored into a new database that ``status`` then reads."""
    url = trial.env["TRIAL_DATABASE"]
    copy = trial.workdir / "copy.dump"
    began = time.perf_counter()
    dumped = subprocess.run(
        ["pg_dump", "--format=custom", f"--file={copy}", url],
        env=trial.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    dbname = url.split("?")[0].rsplit("/", 1)[1]
    restored = f"restored_{int(time.time() * 1000)}"
    target = url.replace(f"/{dbname}?", f"/{restored}?")
    subprocess.run(
        ["createdb", "-h", url.split("host=")[1], "-U", "postgres", restored],
        env=trial.env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    loaded = subprocess.run(
        ["pg_restore", "--no-owner", f"--dbname={target}", str(copy)],
        env=trial.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    trial.calls["pg_dump and restore"].append(
        (time.perf_counter() - began, dumped.returncode or loaded.returncode)
    )
    if dumped.returncode or loaded.returncode:
        trial.problems.append(f"pg_dump/pg_restore: {dumped.stderr[-800:]}{loaded.stderr[-800:]}")
        return
    config = (trial.workdir / "automation.yaml").read_text().replace(url, target)
    (trial.workdir / f"{restored}.yaml").write_text(config)
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "automation", "--config", f"{restored}.yaml", "status"],
        cwd=trial.workdir,
        env=trial.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    trial.calls["status of copy"].append((time.perf_counter() - began, done.returncode))
    if done.returncode != 0 or ERRORS.search(done.stdout + done.stderr):
        trial.problems.append(f"status of copy: {done.stderr[-1500:]}")


def steps(
    trial: Trial, engine: subprocess.Popen[bytes], store: str, dash: str
) -> dict[str, Callable[[random.Random], object]]:
    rules = ["likes-ten", "reposts-five", "replies-any"]
    posts: list[str] = []

    def status(rng: random.Random) -> None:
        code, out = trial.cli("status", "status", "--json")
        if code == 0:
            json.loads(out[: out.rindex("}") + 1])

    def history(rng: random.Random) -> None:
        _, out = trial.cli("history", "history", "--json", "--limit", "50")
        found = re.findall(r'"post_id": "(\d+)"', out)
        if found:
            posts[:] = found

    def explain(rng: random.Random) -> None:
        if posts:
            trial.cli("explain", "explain", rng.choice(rules), rng.choice(posts))

    def pause_resume(rng: random.Random) -> None:
        rule = rng.choice(rules)
        code, _ = trial.cli("pause", "pause", rule, "--reason", "trial")
        _, out = trial.cli("status", "status", "--json")
        if code == 0 and f'"{rule}"' not in out.split('"paused"', 1)[-1].split("]", 1)[0]:
            trial.problems.append(f"pause {rule} returned, status does not list it: {out[-800:]}")
        time.sleep(rng.uniform(0, 3))
        trial.cli("resume", "resume", rule)

    def backup(rng: random.Random) -> None:
        if store != "sqlite":
            _pg_backup(trial)
            return
        copy = trial.workdir / "copy.db"
        code, _ = trial.cli("backup", "backup", str(copy))
        if code != 0:
            return
        with sqlite3.connect(copy) as conn:
            (whole,) = conn.execute("PRAGMA integrity_check").fetchone()
        conn.close()
        if whole != "ok":
            trial.problems.append(f"backup copy: integrity_check says {whole}")
        restored = trial.workdir / "restored"
        restored.mkdir(exist_ok=True)
        (restored / "automation.db").write_bytes(copy.read_bytes())
        text = (trial.workdir / "automation.yaml").read_text()
        (restored / "automation.yaml").write_text(
            text.replace("rules/", str(trial.workdir / "rules") + "/").replace(
                str(trial.workdir / "automation.db"), str(restored / "automation.db")
            )
        )
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "automation", "--config", "automation.yaml", "status"],
            cwd=restored,
            env=trial.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        trial.calls["status of copy"].append((time.perf_counter() - began, done.returncode))
        if done.returncode != 0 or ERRORS.search(done.stdout + done.stderr):
            trial.problems.append(f"status of copy: {done.stderr[-1500:]}")

    def dashboard(rng: random.Random) -> None:
        with httpx.Client(base_url=dash, timeout=60) as client:
            for page in ("/", "/rules", "/history", "/actions", f"/rules/{rng.choice(rules)}"):
                began = time.perf_counter()
                answer = client.get(page)
                trial.calls[f"dashboard {page.split('/')[1] or 'overview'}"].append(
                    (time.perf_counter() - began, answer.status_code)
                )
                if answer.status_code >= 500:
                    trial.problems.append(
                        f"dashboard {page}: {answer.status_code} {answer.text[:300]}"
                    )
            token = re.search(
                r'name="([^"]*csrf[^"]*)" value="([^"]+)"', client.get("/actions").text
            )
            if token:
                began = time.perf_counter()
                answer = client.post("/actions/retry", data={token[1]: token[2]})
                trial.calls["dashboard retry"].append(
                    (time.perf_counter() - began, answer.status_code)
                )
                if answer.status_code >= 400:
                    trial.problems.append(
                        f"dashboard retry: {answer.status_code} {answer.text[:300]}"
                    )

    def reload(rng: random.Random) -> None:
        time.sleep(rng.uniform(5, 15))
        engine.send_signal(signal.SIGHUP)
        trial.calls["reload (SIGHUP)"].append((0.0, 0))

    return {
        "status": status,
        "history": history,
        "top": lambda rng: trial.cli("top", "top", "--metric", "likes", "-n", "20"),
        "explain": explain,
        "metrics": lambda rng: trial.cli(
            "metrics",
            "metrics",
            "--account",
            "brand",
            "--format",
            "csv",
            "--output",
            f"m{rng.random():.6f}.csv",
        ),
        "backtest": lambda rng: trial.cli(
            "backtest", "backtest", "--since", "3h", "--yes", "brand-recent", timeout=600
        ),
        "actions retry": lambda rng: trial.cli("actions retry", "actions", "retry", "--all"),
        "pause/resume": pause_resume,
        "rearm": lambda rng: trial.cli("rearm", "rearm", rng.choice(rules), "--yes"),
        "backup": backup,
        "try-action": lambda rng: trial.cli("try-action", "try-action", rng.choice(rules[:2])),
        "dashboard": dashboard,
        "reload": reload,
    }


def ledger_checks(
    query: Callable[[str], list[tuple[object, ...]]], receiver: Receiver
) -> list[str]:
    out = []
    twice = query(
        "SELECT rule_id, post_id, key, count(*) FROM firings WHERE rearmed_at IS NULL"
        " GROUP BY 1, 2, 3 HAVING count(*) > 1"
    )
    out += [f"fired twice: {row}" for row in twice]
    actions = query("SELECT firing_id, idx, status FROM outbox WHERE kind = 'webhook'")
    statuses = Counter(str(s) for _, _, s in actions)
    print(f"outbox webhook actions by status: {dict(statuses)}")
    keys = {f"{f}.{i}": str(s) for f, i, s in actions}
    for key, status in keys.items():
        got = receiver.accepted.get(key, 0)
        if status == "sent" and got == 0:
            out.append(f"action {key} is marked sent, never received with a 2xx")
        if got > 1:
            out.append(f"action {key} received {got} times with a 2xx")
        if status not in ("sent", "dead", "pending"):
            out.append(f"action {key} left {status}")
    unknown = [k for k in receiver.seen if k not in keys]
    print(
        f"webhooks received: {sum(receiver.seen.values())} deliveries of {len(receiver.seen)}"
        f" keys ({len(unknown)} not in the outbox: try-action's)"
    )
    return out


def _wait_for(url: str) -> None:
    for _ in range(600):
        try:
            httpx.get(url, timeout=10)
            return
        except httpx.TransportError:
            time.sleep(0.5)


def start_engine(workdir: Path, env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    log = (workdir / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "automation", "--config", "automation.yaml", "run"],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="concurrency-trial-"))
    print(f"working in {workdir}")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    cluster = None
    database = str(workdir / "automation.db")
    if args.store == "postgres":
        bindir = find_bindir()
        if bindir is None:
            sys.exit("PostgreSQL is not installed")
        cluster = Cluster(bindir).start()
        database = cluster.create_database("trial").url
        env["PATH"] = f"{bindir}:{env['PATH']}"
        env["TRIAL_DATABASE"] = database
    sandbox = Sandbox(seed=args.seed, speed=1.0, growth=15.0).start()
    counted = Counted(sandbox)
    receiver = Receiver(args.seed)
    (workdir / "rules").mkdir()
    (workdir / "rules" / "trial.yaml").write_text(RULES)
    text = config_text(
        sandbox.base_url, poll_interval="2s", database=database, webhooks_to=receiver.url
    )
    (workdir / "automation.yaml").write_text(text)
    subprocess.run(
        [sys.executable, "-m", "automation", "--config", "automation.yaml", "migrate"],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
    )
    engines = [start_engine(workdir, env, "engine")]
    if cluster is not None:
        time.sleep(3)
        engines.append(start_engine(workdir, env, "standby"))
    dash_port = 18000 + args.seed % 1000
    dash = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "automation",
            "--config",
            "automation.yaml",
            "dashboard",
            "--listen",
            f"127.0.0.1:{dash_port}",
        ],
        cwd=workdir,
        env=env,
        stdout=(workdir / "dashboard.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    _wait_for(f"http://127.0.0.1:{dash_port}/")
    began = time.time()
    trial = Trial(workdir, env, args.seed, began + args.minutes * 60)
    threads = [
        threading.Thread(target=trial.loop, args=(name, step), daemon=True)
        for name, step in steps(
            trial, engines[0], args.store, f"http://127.0.0.1:{dash_port}"
        ).items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=args.minutes * 60 + 300)
    print(f"ran {time.time() - began:.0f} s; load average {os.getloadavg()}")
    dash.terminate()
    for engine in engines:
        engine.send_signal(signal.SIGTERM)
    for engine in engines:
        engine.wait(timeout=120)
    sandbox.stop()
    for name in sorted(trial.calls):
        runs = trial.calls[name]
        failed = sum(code not in (0, 200, 303) for _, code in runs)
        took, cpu = sorted(t for t, _ in runs), sorted(trial.cpu[name] or [0.0])
        print(
            f"{name:22} {len(runs):4} calls, {failed:3} not ok, slowest {took[-1]:6.1f} s,"
            f" median {took[len(took) // 2]:5.1f} s, CPU median {cpu[len(cpu) // 2]:4.1f} s"
        )
    minutes = sorted(counted.per_minute.items())
    print(
        f"engagement requests a minute: {[n for _, n in minutes]}; refused (429): {counted.refused}"
    )
    problems = list(trial.problems)
    if any(n > 60 for _, n in minutes) or counted.refused:
        problems.append("the request budget was exceeded")
    for log in sorted(workdir.glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if ERRORS.search(line):
                problems.append(f"{log.name}: {line}")
    if cluster is None:
        with sqlite3.connect(workdir / "automation.db") as conn:
            problems += ledger_checks(lambda sql: conn.execute(sql).fetchall(), receiver)
        conn.close()
    else:
        import psycopg

        with psycopg.connect(database) as pg:
            problems += ledger_checks(lambda sql: pg.execute(sql.encode()).fetchall(), receiver)
        cluster.stop()
    print(f"{len(trial.refusals)} refusals")
    for refusal in trial.refusals:
        print("-", refusal)
    print(f"{len(problems)} problems")
    for problem in problems:
        print("-", problem)


if __name__ == "__main__":
    main()
