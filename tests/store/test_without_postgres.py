"""Without PostgreSQL every test that needs it skips on a developer's machine, naming the
package to install, and fails under ``CI=true``: the PostgreSQL tests can never pass CI by
skipping. The test suite runs itself (the tests marked ``postgres``) with PostgreSQL
hidden (``pg_cluster.HIDE``), once each way."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pg_cluster import HIDE

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    """``pytest -m postgres`` with PostgreSQL hidden, running in its own process; its
    output goes to files, so the two runs never wait on each other's pipe."""

    proc: subprocess.Popen[bytes]
    out: Path

    def done(self) -> subprocess.CompletedProcess[str]:
        returncode = self.proc.wait(timeout=300)
        return subprocess.CompletedProcess(self.proc.args, returncode, self.out.read_text())


def _start_postgres_tests(folder: Path, *, ci: bool) -> Run:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env[HIDE] = "1"
    if ci:
        env["CI"] = "true"
    out = folder / f"ci-{ci}.out"
    with out.open("wb") as sink, (folder / f"ci-{ci}.err").open("wb") as errors:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "pytest", "-m", "postgres", "-p", "no:cacheprovider"),
                *("-rs", "--tb=line"),  # an error's message, not the fixture's source each time
                *("-n", "0"),  # in this process: the summary counts the deselected tests too
            ],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=errors,
        )
    return Run(proc, out)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[bool, Run]]:
    """Both runs at once (each mostly collects the suite), keyed by ``CI=true``."""
    folder = tmp_path_factory.mktemp("without-postgres")
    started = {ci: _start_postgres_tests(folder, ci=ci) for ci in (False, True)}
    try:
        yield started
    finally:
        for run in started.values():
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()


def _outcomes(output: str) -> dict[str, int]:
    """The final summary line's counts: {"skipped": 72, "deselected": 1400, ...}."""
    last = output.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last)}


def test_every_postgres_test_skips_naming_the_package_on_a_developers_machine(
    runs: dict[bool, Run],
) -> None:
    done = runs[False].done()
    counts = _outcomes(done.stdout)
    assert done.returncode == 0, done.stdout[-3000:]
    assert counts.keys() == {"skipped", "deselected"}, done.stdout[-3000:]
    assert counts["skipped"] >= 60  # the contract suite alone has more over PostgreSQL
    reasons = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert reasons and all("(apt-get install postgresql)" in line for line in reasons)


def test_every_postgres_test_fails_in_ci(runs: dict[bool, Run]) -> None:
    done = runs[True].done()
    counts = _outcomes(done.stdout)
    assert done.returncode == 1, done.stdout[-3000:]
    assert counts.keys() == {"errors", "deselected"}, done.stdout[-3000:]
    assert counts["errors"] >= 60
    assert "in CI these tests must run, not skip" in done.stdout


def test_no_test_starts_postgresql_but_through_the_fixture() -> None:
    """A test that started its own cluster would escape the rule above (``pg_cluster``'s
    own test starts one from the fixture's, in a process it kills)."""
    tests = ROOT / "tests"
    allowed = {tests / "conftest.py", tests / "pg_cluster.py", tests / "test_pg_cluster.py"}
    starting = [
        str(path.relative_to(ROOT))
        for path in tests.rglob("*.py")
        if path not in allowed and re.search(r"\b(find_bindir|Cluster)\(", path.read_text())
    ]
    assert starting == []
