"""Fixtures every test directory may use: a throwaway PostgreSQL cluster, started once per
session and only when a test asks for it (``pg_cluster`` says how). Every test that needs
it is marked ``postgres`` (``pytest -m postgres`` runs them)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement


def _missing_requirements() -> list[str]:
    """The project's runtime and test requirements not installed here."""
    try:
        wanted = metadata.requires("engagement-automation") or []
    except metadata.PackageNotFoundError:
        return ["engagement-automation itself"]
    missing = []
    for text in wanted:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": "test"}):
            continue
        try:
            metadata.version(req.name)
        except metadata.PackageNotFoundError:
            missing.append(req.name)
    return missing


if _missing := _missing_requirements():
    pytest.exit(
        f"not installed: {', '.join(_missing)}; install the project and its test tools first:"
        ' python -m pip install -e ".[test]"',
        returncode=4,
    )

# Imported after the check above, which names what is missing rather than failing here.
import psycopg  # noqa: E402
from pg_cluster import Cluster, emptied, find_bindir, in_memory, missing_reason, sweep  # noqa: E402
from sandbox_api import SandboxTarget  # noqa: E402

from automation.config.database import PostgresDatabase  # noqa: E402
from automation.store import postgres_schema  # noqa: E402
from automation.store.postgres import PostgresStore  # noqa: E402
from automation.store.sqlite import SqliteStore  # noqa: E402

pytest_plugins = ["fuzz.report"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def target() -> Iterator[SandboxTarget]:
    """The sandbox served over HTTP, its world standing still (speed 0)."""
    t = SandboxTarget(lambda: 0.0).start()
    yield t
    t.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing_reason()}; in CI these tests must run, not skip")
        pytest.skip(missing_reason())
    # first the clusters of a killed run, which may have filled the memory folder
    sweep(bindir)
    cluster = Cluster(bindir, under=in_memory()).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_cluster: Cluster) -> Iterator[Path]:
    """A data directory ``initdb`` made once a session, never started: each server of a
    test's own is a copy of it (``initdb`` costs 1.2 s of CPU, the copy 0.1 s)."""
    template = Cluster(postgres_cluster.bindir, under=postgres_cluster.root.parent)
    yield template.initdb()
    template.remove()


@pytest.fixture
def postgres_own_server(postgres_cluster: Cluster, postgres_template: Path) -> Iterator[Cluster]:
    """A PostgreSQL server of the test's own, beside the suite's, for a test that stops
    and starts it: shutting down the suite's would cut off the other tests."""
    cluster = Cluster(postgres_cluster.bindir, under=postgres_cluster.root.parent)
    cluster.start(template=postgres_template)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_shared(postgres_cluster: Cluster) -> PostgresDatabase:
    """One migrated database that ``postgres_store`` empties before each test: emptying
    tables costs a tenth of creating a database."""
    database = postgres_cluster.create_database("contract")
    with psycopg.connect(database.url, autocommit=True) as conn:
        postgres_schema.apply(conn)
    return database


@pytest.fixture
def postgres_store(postgres_shared: PostgresDatabase) -> Iterator[PostgresStore]:
    emptied(postgres_shared)
    store = PostgresStore.open(postgres_shared)
    yield store
    store.close()


@pytest.fixture(scope="session")
def new_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Path]:
    """Puts an empty, migrated SQLite database at a path and returns it: a copy of one
    migrated once, as ``SqliteStore.open`` leaves it. Migrating syncs the file to disk
    at each step (about 130 ms a database), the copy does not (4 ms): for tests that
    need a fresh database for each of many examples."""
    template = tmp_path_factory.mktemp("sqlite-template") / "empty.db"
    SqliteStore.open(template).close()

    def new(path: Path) -> Path:
        shutil.copyfile(template, path)
        return path

    return new
