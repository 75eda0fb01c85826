"""Without PostgreSQL every test that needs it skips on a developer's machine, naming the
package to install, and fails under ``CI=true``: the PostgreSQL tests can never pass CI by
skipping. The test suite runs itself (the tests marked ``postgres``) with PostgreSQL
hidden (``pg_cluster.HIDE``), once each way."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pg_cluster import HIDE

ROOT = Path(__file__).resolve().parents[2]


def _run_postgres_tests(*, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env[HIDE] = "1"
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "postgres", "-p", "no:cacheprovider", "-rs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _outcomes(output: str) -> dict[str, int]:
    """The final summary line's counts: {"skipped": 72, "deselected": 1400, ...}."""
    last = output.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last)}


def test_every_postgres_test_skips_naming_the_package_on_a_developers_machine() -> None:
    done = _run_postgres_tests(ci=False)
    counts = _outcomes(done.stdout)
    assert done.returncode == 0, done.stdout[-3000:]
    assert counts.keys() == {"skipped", "deselected"}, done.stdout[-3000:]
    assert counts["skipped"] >= 60  # the contract suite alone has more over PostgreSQL
    reasons = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert reasons and all("(apt-get install postgresql)" in line for line in reasons)


def test_every_postgres_test_fails_in_ci() -> None:
    done = _run_postgres_tests(ci=True)
    counts = _outcomes(done.stdout)
    assert done.returncode == 1, done.stdout[-3000:]
    assert counts.keys() == {"errors", "deselected"}, done.stdout[-3000:]
    assert counts["errors"] >= 60
    assert "in CI these tests must run, not skip" in done.stdout


def test_no_test_starts_postgresql_but_through_the_fixture() -> None:
    """A test that started its own cluster would escape the rule above."""
    tests = ROOT / "tests"
    allowed = {tests / "conftest.py", tests / "pg_cluster.py"}
    starting = [
        str(path.relative_to(ROOT))
        for path in tests.rglob("*.py")
        if path not in allowed and re.search(r"\b(find_bindir|Cluster)\(", path.read_text())
    ]
    assert starting == []
