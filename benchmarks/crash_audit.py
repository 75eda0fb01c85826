"""Kill the engine and the commands that write with SIGKILL at seeded moments, then check.

A script, not a test: the long audit takes minutes (each PostgreSQL restart waits out the
lease, 5 s) and prints a table; ``tests/service/test_crash_audit_e2e.py`` keeps a short
version with a fixed seed in the suite. The machinery is ``tests/crash_audit.py`` (the
engine: kills placed by counting the sandbox's requests and the receiver's deliveries,
plus ``timer`` kills at a seeded delay) and ``tests/crash_commands.py`` (``migrate`` on a
database from before m007, ``backup``, ``copy-store``, ``actions retry --all``, ``rearm``,
``metrics --output`` and the hourly move of the current hour's rows, each killing itself
at a seeded call of SQLite's progress handler among those a whole run makes, then
rerun) and ``tests/crash_commands_pg.py`` (on PostgreSQL: ``copy-store`` into it,
``migrate`` with the last migration pending and the hourly move, counting statements and
COPY's rows too). Every run prints its seed; ``--seed`` repeats it.

    python benchmarks/crash_audit.py                       # 30 engine kills per backend
    python benchmarks/crash_audit.py --kills 60 --command-kills 10 --seed 7
    python benchmarks/crash_audit.py --backend sqlite --digest
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from crash_audit import PHASES, Audit, open_audit, run_audit
from crash_commands import Outcome, audit_commands, cases, fresh, old_database
from crash_commands_pg import audit_pg_commands, next_hour, pg_cases
from pg_cluster import Cluster, find_bindir, in_memory, missing_reason
from psycopg.conninfo import conninfo_to_dict

from automation.store.sqlite import SqliteStore


def engine_audit(tmp: Path, seed: int, kills: int, url: str | None, digest: bool) -> Audit:
    """The engine's kills; the scene stays up for the commands on SQLite (``metrics``)."""
    tmp.mkdir(parents=True)
    audit = open_audit(tmp, seed=seed, database_url=url, digest=digest)
    try:
        audit.problems = run_audit(audit, random.Random(seed), kills)
    except BaseException:
        audit.scene.close()
        raise
    if url is not None:
        audit.scene.close()
    return audit


def _sources(tmp: Path) -> tuple[Path, Path]:
    """A database from before m007, and the same migrated: 200,000 snapshot rows to
    migrate, back up and copy."""
    if not (tmp / "big.db").exists():
        old = old_database(tmp / "old.db", posts=2_000, readings=50)
        SqliteStore.open(fresh(old, tmp / "big.db")).close()
    return tmp / "old.db", tmp / "big.db"


def command_audit(audit: Audit, tmp: Path, seed: int, kills: int) -> list[Outcome]:
    old, big = _sources(tmp)
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    period = ((day - timedelta(days=28)).isoformat(), day.isoformat())
    try:
        scene = audit.scene
        return audit_commands(
            scene.config,
            scene.database,
            tmp / "commands",
            random.Random(seed),
            kills,
            cases(old, big, period),
        )
    finally:
        audit.scene.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=random.randrange(1_000_000))
    parser.add_argument("--kills", type=int, default=30, help="engine kills per backend")
    parser.add_argument("--command-kills", type=int, default=5, help="kills per command")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--digest", action="store_true", help="add a rule with a 1m digest")
    args = parser.parse_args()
    print(f"seed {args.seed}", flush=True)
    rows: list[tuple[str, str, int, int]] = []  # backend, phase, kills, faults
    faults: list[str] = []
    with tempfile.TemporaryDirectory(prefix="crash-audit-") as folder:
        tmp = Path(folder)
        if args.backend in ("sqlite", "both"):
            audit = engine_audit(tmp / "sqlite", args.seed, args.kills, None, args.digest)
            _engine_rows("sqlite", audit, rows, faults)
            outcomes = command_audit(audit, tmp, args.seed, args.command_kills)
            for o in outcomes:
                faults += [f"{o.command} killed at step {o.step}: {p}" for p in o.problems]
            _command_rows(outcomes, rows, "sqlite")
        if args.backend in ("postgres", "both"):
            bindir = find_bindir()
            if bindir is None:
                print(f"PostgreSQL skipped: {missing_reason()}")
            else:
                cluster = Cluster(bindir, under=in_memory()).start()
                try:
                    url = cluster.create_database("crash").url
                    audit = engine_audit(tmp / "pg", args.seed, args.kills, url, args.digest)
                    _engine_rows("postgres", audit, rows, faults)
                    outcomes = audit_pg_commands(
                        cluster,
                        audit.scene.config,
                        tmp / "commands",
                        random.Random(args.seed),
                        args.command_kills,
                        pg_cases(_sources(tmp)[1], conninfo_to_dict(url)["dbname"], next_hour(url)),
                    )
                    for o in outcomes:
                        faults += [
                            f"postgres {o.command} killed at {o.step}: {p}" for p in o.problems
                        ]
                    _command_rows(outcomes, rows, "postgres")
                finally:
                    cluster.stop()
    _print(rows, faults, args.seed)
    return 1 if faults else 0


def _engine_rows(backend: str, audit: Audit, rows: list, faults: list[str]) -> None:
    by_phase = Counter((k.phase, k.after) for k in audit.kills)
    for phase in PHASES:
        for after in (False, True):
            if by_phase[(phase, after)]:
                when = "after" if after else "before"
                name = phase if phase == "timer" else f"{phase} ({when})"
                rows.append((backend, name, by_phase[(phase, after)], 0))
    faults += [f"{backend} engine: {p}" for p in audit.problems]
    rows.append((backend, "engine: whole run", len(audit.kills), len(audit.problems)))


def _command_rows(outcomes: list[Outcome], rows: list, backend: str) -> None:
    for name in dict.fromkeys(o.command for o in outcomes):
        mine = [o for o in outcomes if o.command == name]
        killed = sum(o.killed for o in mine)
        left = sum(bool(o.leftovers) for o in mine)
        steps = sorted(o.step for o in mine)
        label = f"command {name}, killed at events {steps[0]:,}-{steps[-1]:,}" + (
            f" ({left} left a temporary file)" if left else ""
        )
        rows.append((backend, label, killed, sum(bool(o.problems) for o in mine)))


def _print(rows: list, faults: list[str], seed: int) -> None:
    print("\n| backend | phase | kills | faults |\n|---|---|---:|---:|")
    for backend, phase, kills, found in rows:
        print(f"| {backend} | {phase} | {kills} | {found} |")
    print(f"\nseed {seed}: {len(faults)} faults")
    for fault in faults:
        print(f"- {fault}")


if __name__ == "__main__":
    sys.exit(main())
