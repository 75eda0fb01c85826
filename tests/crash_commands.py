"""SIGKILL the commands that write outside the engine's cycle, then check the next one works.

Each command runs in a Python child (``automation.cli.main``) on a copy of a database and
kills itself with SIGKILL at a seeded event: the n-th call of SQLite's progress handler
(every 100 VM steps of any connection it opens), n among the calls a whole run on another
copy made, so every kill lands while the command reads or writes the database. The same
command is then run again to its end; the database must then hold what a run never killed
leaves (``digest``: every recorded firing, action, snapshot and hourly total), pass
``PRAGMA integrity_check``, and ``automation status`` must work on it. A file a command
writes (``backup``, ``metrics --output``) is whole or absent after the kill.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from automation.store.migrations import MIGRATIONS

__all__ = ["Case", "Outcome", "audit_commands", "cases", "digest", "fresh", "old_database", "place"]

# What a command may never lose (times a rerun sets anew are left out: a retry's due time,
# a rearm's moment).
_DIGESTED = {
    "firings": "SELECT id, rule_id, post_id, key, kind, milestone, rearmed_at IS NULL"
    " FROM firings ORDER BY id",
    "outbox": "SELECT id, status, attempts, payload FROM outbox ORDER BY id",
    "attempts": "SELECT action_id, number, outcome FROM attempts ORDER BY 1, 2",
    "snapshots": "SELECT s.post_id, m.name, a.at, a.value FROM all_snapshots a"
    " JOIN series s ON s.id = a.series JOIN metric_names m ON m.id = a.metric ORDER BY 1, 2, 3",
    # by the post's ID and the metric's name: a killed PostgreSQL transaction's sequence
    # numbers are spent, so the rerun's new posts and metrics get other numbers
    "hourly": "SELECT p.post_id, m.name, t.hour, t.value FROM (SELECT post, metric, hour, value"
    " FROM hourly_totals UNION ALL SELECT post, metric, hour, value FROM hourly_totals_hour) t"
    " JOIN hourly_posts p ON p.id = t.post JOIN metric_names m ON m.id = t.metric"
    " ORDER BY 1, 2, 3",
}


def digest(path: Path, tables: Sequence[str] = tuple(_DIGESTED)) -> dict[str, str]:
    """A hash of each table's recorded content, and whether the file is whole."""
    with sqlite3.connect(path) as conn:
        out = {name: _hash(conn.execute(_DIGESTED[name]).fetchall()) for name in tables}
        (out["integrity"],) = conn.execute("PRAGMA integrity_check").fetchone()
    conn.close()
    return out


def _hash(rows: list[tuple[object, ...]]) -> str:
    return f"{len(rows)}:{hashlib.sha256(repr(rows).encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class Outcome:
    command: str
    step: int  # the progress call it was killed at
    killed: bool  # False: it had finished before the kill
    problems: tuple[str, ...]
    leftovers: tuple[str, ...] = ()  # temporary files it left beside its target


# Prepended to every child: SQLite's progress handler on each connection it opens counts
# calls (one every 100 VM steps) and the child SIGKILLs itself at call $CRASH_AT (0:
# never); it says on stderr how many calls its run made.
_COUNTED = """
import atexit, os, signal, sqlite3, sys
_calls, _stop = [0], int(os.environ["CRASH_AT"])
def _tick():
    _calls[0] += 1
    if _calls[0] == _stop:
        os.kill(os.getpid(), signal.SIGKILL)
    return 0
_connect = sqlite3.connect
def _counted(*args, **kwargs):
    conn = _connect(*args, **kwargs)
    conn.set_progress_handler(_tick, 100)
    return conn
sqlite3.connect = _counted
atexit.register(lambda: print(f"steps {_calls[0]}", file=sys.stderr))
"""
_COMMAND = "import sys\nfrom automation.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"


def _run(argv: Sequence[str], cwd: Path, at: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        env={**os.environ, "CRASH_AT": str(at)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _steps(done: subprocess.CompletedProcess[str]) -> int:
    """How many progress calls a whole run made (the range kills are placed in)."""
    assert done.returncode == 0, done.stderr
    return int(done.stderr.rsplit("steps ", 1)[1])


def _mismatch(what: str, got: dict[str, str], expected: dict[str, str]) -> list[str]:
    return [f"{what} {k}: {got.get(k)} != {v}" for k, v in expected.items() if got.get(k) != v]


def _made(path: Path) -> dict[str, str]:
    """What a command wrote to ``path``: a database's digest, a file's hash."""
    if not path.exists():
        return {"absent": "yes"}
    if path.suffix == ".db":
        return digest(path)
    return {"bytes": _hash([(path.read_bytes(),)])}


def kill_case(case: Case, p: Place, step: int, clean: Place) -> Outcome:
    """Kill ``case`` in ``p`` at ``step``, check the file it writes is whole or absent,
    rerun it to the end and compare the database and the file with ``clean``'s."""
    argv = _argv(case, p)
    killed = _run(argv, p.root, step).returncode == -signal.SIGKILL
    problems = []
    if case.output is not None and case.whole:
        left = _made(p.root / case.output)
        if left != {"absent": "yes"}:
            problems += _mismatch(
                f"{case.output} after the kill", left, _made(clean.root / case.output)
            )
    again = _run(argv, p.root)
    if again.returncode != 0 and not (case.done and case.done in again.stderr):
        problems.append(f"the rerun failed ({again.returncode}): {again.stderr.strip()[-500:]}")
    status = _run(_argv(Case("status", lambda q: q.args("status", "--json")), p), p.root)
    if status.returncode != 0:
        problems.append(f"status failed: {status.stderr.strip()[-500:]}")
    problems += _mismatch("database", digest(p.database), digest(clean.database))
    if case.output is not None:
        made = _made(p.root / case.output)
        problems += _mismatch(str(case.output), made, _made(clean.root / case.output))
    return Outcome(case.name, step, killed, tuple(problems), tuple(leftovers(p.root)))


def _argv(case: Case, p: Place) -> list[str]:
    script = _COUNTED + (case.script or _COMMAND)
    return [sys.executable, "-c", script, *case.args(p)]


def audit_commands(
    config: Path, database: Path, root: Path, rng: random.Random, kills: int, all_cases: list[Case]
) -> list[Outcome]:
    """Each case run once whole (its steps counted), then ``kills`` times killed at a
    seeded step among them and rerun."""
    outcomes = []
    for case in all_cases:
        clean = place(config, database, root / f"{case.name}-clean")
        case.ready(clean)
        steps = _steps(_run(_argv(case, clean), clean.root))
        for n, moment in enumerate(rng.randint(1, steps) for _ in range(kills)):
            p = place(config, database, root / f"{case.name}-{n}")
            case.ready(p)
            outcomes.append(kill_case(case, p, moment, clean))
    return outcomes


def fresh(source: Path, target: Path) -> Path:
    """A copy of the database (without its -wal: ``source`` is closed)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def old_database(path: Path, posts: int, readings: int) -> Path:
    """A database as a version before m007 left it, with ``posts`` x ``readings`` x 2
    snapshot rows for the migrations to move."""
    conn = sqlite3.connect(path)
    from sqlite_utils import Database

    db = Database(conn, execute_plugins=False)
    try:
        MIGRATIONS.apply(db, stop_before="m007_latest_from_snapshots")
        with conn:
            conn.execute("INSERT INTO metric_names VALUES (1, 'likes'), (2, 'replies')")
            for n in range(posts):
                pid = str(10**18 + n)
                conn.execute(
                    "INSERT INTO posts VALUES (?, 'brand', 0, 'timeline', 0, NULL)", (pid,)
                )
                latest = f'{{"likes":{readings},"replies":{n}}}'
                conn.execute("INSERT INTO series VALUES (?, ?, ?, ?)", (n + 1, pid, latest, 600))
            conn.executemany(
                "INSERT INTO snapshots VALUES (?, ?, ?, ?)",
                (
                    (n + 1, metric, 600.0 * r, float(r + metric))
                    for n in range(posts)
                    for r in range(readings)
                    for metric in (1, 2)
                ),
            )
    finally:
        db.close()
    return path


@dataclass(frozen=True)
class Place:
    """A directory with a config naming ``automation.db`` in it, copied from a scene."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "automation.db"

    def args(self, *args: str) -> list[str]:
        return ["--config", str(self.root / "automation.yaml"), *args]


def place(config: Path, database: Path, root: Path) -> Place:
    """A copy of the scene's config and rules beside a copy of ``database``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config, root / "automation.yaml")
    shutil.copytree(config.parent / "rules", root / "rules", dirs_exist_ok=True)
    fresh(database, root / "automation.db")
    return Place(root)


def _whole_or_absent(path: Path, expected: dict[str, str]) -> Callable[[], list[str]]:
    def problems() -> list[str]:
        if not path.exists():
            return []
        got = digest(path, [t for t in expected if t != "integrity"])
        return [f"{path.name} is half a copy: {got}"] if got != expected else []

    return problems


def _same_bytes_or_absent(path: Path, expected: bytes) -> Callable[[], list[str]]:
    def problems() -> list[str]:
        if path.exists() and path.read_bytes() != expected:
            return [f"{path.name} is not whole: {len(path.read_bytes())} of {len(expected)} bytes"]
        return []

    return problems


def leftovers(root: Path) -> list[str]:
    """Files a killed command left beside its target (temporary copies)."""
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".") and p.is_file())


# A reading in the next hour moves the current hour's rows into the big tables.
_HOUR_MOVE = """
from datetime import UTC, datetime
from automation.store.sqlite import SqliteStore
at = datetime.fromtimestamp(float(sys.argv[2]), UTC)
with SqliteStore.open(sys.argv[1]) as store:
    store.record_totals(at, {"1": {"likes": 1.0}})
    store.record_hourly_totals(at, {"1": {"likes": 1.0}})
"""


@dataclass(frozen=True)
class Case:
    """A command to kill: its arguments in a place, what to ready first, what it writes."""

    name: str
    args: Callable[[Place], list[str]]
    ready: Callable[[Place], None] = lambda p: None
    output: Path | None = None  # relative to the place: a file it writes
    whole: bool = False  # the file is whole or absent whenever it is killed
    script: str | None = None  # a Python child's code (``args`` its arguments), not a command
    # what a rerun says, failing, when the killed run had done it all (the database is
    # then compared as after any rerun)
    done: str | None = None


def _next_hour(p: Place) -> str:
    with sqlite3.connect(p.database) as conn:
        (newest,) = conn.execute("SELECT max(at) FROM all_snapshots").fetchone()
    conn.close()
    return str((int(newest) // 3600 + 1) * 3600 + 1)


def _dead_webhooks(p: Place) -> None:
    with sqlite3.connect(p.database) as conn:
        conn.execute("UPDATE outbox SET status = 'dead' WHERE kind = 'webhook'")
    conn.close()


def cases(old: Path, big: Path, period: tuple[str, str]) -> list[Case]:
    """The commands the audit kills; ``old``: a database from before m007 to migrate;
    ``big``: one large enough for a kill to land inside a ``backup`` or ``copy-store``;
    ``period``: ``--from`` and ``--to`` of a past period for ``metrics``."""

    def bigger(p: Place) -> None:
        fresh(big, p.database)

    return [
        Case("migrate", lambda p: p.args("migrate"), lambda p: fresh(old, p.database) and None),
        Case(
            "backup",
            lambda p: p.args("backup", str(p.root / "copy.db")),
            bigger,
            output=Path("copy.db"),
            whole=True,
        ),
        Case(
            "copy-store",
            lambda p: p.args("copy-store", str(p.database), str(p.root / "copy.db")),
            bigger,
            output=Path("copy.db"),
            done="is not empty",
        ),
        Case("actions-retry", lambda p: p.args("actions", "retry", "--all"), _dead_webhooks),
        Case("rearm", lambda p: p.args("rearm", "act", "--yes"), done="nothing to rearm"),
        Case(
            "metrics",
            lambda p: p.args(
                "metrics",
                "--account",
                "brand",
                "--from",
                period[0],
                "--to",
                period[1],
                "--format",
                "csv",
                "--output",
                str(p.root / "out.csv"),
            ),
            output=Path("out.csv"),
            whole=True,
        ),
        Case(
            "hour-move",
            lambda p: [str(p.database), _next_hour(p)],
            script=_HOUR_MOVE,
        ),
    ]
