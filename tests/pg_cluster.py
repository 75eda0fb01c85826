"""A throwaway PostgreSQL cluster for the tests: ``initdb`` in a temporary directory (in
memory for the suite's, ``in_memory``), listening on a Unix socket in that directory only
(no TCP port to collide on), trust authentication, durability off (nothing here needs to
survive a crash of the machine).

As root, ``initdb`` and ``pg_ctl`` run as the ``postgres`` user, which owns the directory
(``initdb`` refuses root). Without Debian's ``postgresql`` package the tests that need it
skip saying so, except in CI (``CI=true``), where they fail instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import psycopg

from automation.config.database import PostgresDatabase

__all__ = ["HIDE", "Cluster", "emptied", "find_bindir", "in_memory", "missing_reason", "sweep"]

PACKAGE = "postgresql"
# Set, the tests behave as on a machine without PostgreSQL (``test_without_postgres``).
HIDE = "AUTOMATION_TESTS_HIDE_POSTGRES"
# Bytes free in memory for the suite's cluster to live there, with room to spare.
IN_MEMORY_ROOM = 2 * 1024**3
MEMORY = Path("/dev/shm")
PREFIX = "automation-pg-"
# In a cluster's folder: the process id of the test process that made it (``sweep``).
OWNER = "owner.pid"


def find_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: Debian keeps them out of PATH."""
    if os.environ.get(HIDE):
        return None
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.insert(0, str(Path(found).resolve().parent))
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def missing_reason() -> str:
    return (
        f"PostgreSQL is not installed: install Debian's {PACKAGE} package"
        f" (apt-get install {PACKAGE}) to run the PostgreSQL tests"
    )


def emptied(database: PostgresDatabase) -> PostgresDatabase:
    """A migrated ``database`` with every table emptied, as new, faster than creating one
    (the contract tests share one; a property test's examples each start from nothing)."""
    with psycopg.connect(database.url, autocommit=True) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename NOT IN ('schema_migrations', 'leadership')"
            )
        ]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY".encode())
        conn.execute("UPDATE leadership SET epoch = 0, leader = '', since = 0")
        conn.execute("ALTER SEQUENCE terms RESTART")
    return database


def in_memory() -> Path | None:
    """A folder in memory (tmpfs) for a throwaway cluster, where there is one with room
    (``IN_MEMORY_ROOM``). On disk, removing the cluster the suite filled (about 460 MB in
    29,000 files) waits on the file system to free its blocks (12 to 47 s at the session's
    end here, where the disk is mounted with ``discard``); in memory it is gone at once,
    and nothing the tests check depends on where the files are."""
    folder = MEMORY
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        return None
    return folder if shutil.disk_usage(folder).free >= IN_MEMORY_ROOM else None


def _version(path: str) -> int:
    digits = Path(path).parent.name
    return int(digits) if digits.isdigit() else 0


class Cluster:
    def __init__(
        self, bindir: Path, *, under: Path | None = None, root: Path | None = None
    ) -> None:
        """``under``: the folder the cluster's directory is made in (the system's
        temporary folder unless given); ``root``: a cluster's directory made before."""
        self.bindir = bindir
        if root is None:
            root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=under))
            (root / OWNER).write_text(str(os.getpid()))
        self.root = root
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_postgres = os.geteuid() == 0
        self._owner = "postgres" if self._as_postgres else None

    def _run(self, *args: str) -> None:
        self._as_owner(str(self.bindir / args[0]), *args[1:])

    def _as_owner(self, *command: str) -> None:
        """Run ``command`` as the cluster's owner: the ``postgres`` user when root."""
        if self._as_postgres:
            command = ("runuser", "-u", "postgres", "--", *command)
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def initdb(self) -> Path:
        """Make the cluster's data directory (not started); returns it."""
        if self._as_postgres:
            shutil.chown(self.root, user="postgres")
        self.root.chmod(0o755)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        return self.data

    def start(self, *, durable: bool = False, template: Path | None = None) -> Cluster:
        """Start the cluster; ``durable`` keeps PostgreSQL's defaults (fsync, synchronous
        commit) for a benchmark to measure what a real server costs. ``template``: a data
        directory another cluster's ``initdb`` made and no server ever ran, copied instead
        of running ``initdb`` again (a tenth of its CPU)."""
        if template is None:
            self.initdb()
        else:
            if self._as_postgres:
                shutil.chown(self.root, user="postgres")
            self.root.chmod(0o755)
            self._as_owner("cp", "-a", str(template), str(self.data))
        self._options = f"-c listen_addresses='' -k {self.root} -c max_connections=200"
        if not durable:
            self._options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self.resume()
        return self

    def pause(self) -> None:
        """Shut the server down (its sessions end, its data stays) until ``resume``."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start the server on the cluster made by ``start``."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            self._options,
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "start",
        )

    @property
    def pid(self) -> int:
        """The server's (postmaster's) process id."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def remove(self) -> None:
        """Remove a cluster that was never started (a template)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@/{dbname}?host={self.root}"

    def database(self, dbname: str) -> PostgresDatabase:
        return PostgresDatabase(self.url(dbname))

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url(dbname), autocommit=True)

    def create_database(self, prefix: str = "t") -> PostgresDatabase:
        """A new, empty database (not migrated) with a unique name."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name}".encode())
        return self.database(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def sweep(bindir: Path, folders: Sequence[Path] = ()) -> list[Path]:
    """Stop and remove the clusters in ``folders`` (by default the two a cluster is made
    in: the memory folder and the system's temporary folder) whose test process is gone.
    A run killed before its fixtures could stop them leaves their servers running and
    their files behind (in memory, up to a few hundred MB each, until ``in_memory`` finds
    no room). Clusters of a running test process, and folders without an owner, are left
    alone. Returns the folders removed."""
    folders = folders or [MEMORY, Path(tempfile.gettempdir())]
    swept = []
    for root in sorted(p for folder in folders for p in folder.glob(f"{PREFIX}*")):
        try:
            owner = int((root / OWNER).read_text())
        except (OSError, ValueError):
            continue  # not made by this module, or being made
        if _alive(owner):
            continue
        leftover = Cluster(bindir, root=root)
        try:
            if (leftover.data / "postmaster.pid").exists():
                leftover.stop()
        except subprocess.CalledProcessError:
            pass  # its server had stopped already
        finally:
            shutil.rmtree(root, ignore_errors=True)
        swept.append(root)
    return swept
