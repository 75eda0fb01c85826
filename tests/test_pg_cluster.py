"""The tests' throwaway PostgreSQL clusters do not outlive a killed test run for long: the
next run's ``postgres_cluster`` stops and removes them (``pg_cluster.sweep``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pg_cluster import Cluster, sweep

_KILLED_RUN = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from pg_cluster import Cluster
cluster = Cluster(Path(sys.argv[2]), under=Path(sys.argv[3])).start()
print(cluster.root, flush=True)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _ended(pid: int) -> bool:
    """Whether the process ends within 30 s (a stopped server exits just after it says
    so, then waits to be reaped)."""
    deadline = time.monotonic() + 30
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _running(pid)


def test_a_killed_runs_cluster_is_stopped_and_removed_and_a_running_ones_kept(
    postgres_cluster: Cluster,
) -> None:
    folder = postgres_cluster.root.parent
    with subprocess.Popen(
        [
            *(sys.executable, "-c", _KILLED_RUN),
            *(str(Path(__file__).parent), str(postgres_cluster.bindir), str(folder)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    ) as run:
        assert run.stdout is not None
        root = Path(run.stdout.readline().strip())
        server = Cluster(postgres_cluster.bindir, root=root).pid
        run.send_signal(signal.SIGKILL)
    assert _running(server)  # the killed run's server goes on without it

    swept = sweep(postgres_cluster.bindir, [folder])

    assert root in swept and not root.exists()
    assert _ended(server)
    assert postgres_cluster.root not in swept and postgres_cluster.root.exists()
    with postgres_cluster.admin() as conn:  # the running session's server still answers
        assert conn.execute("SELECT 1").fetchone() == (1,)
