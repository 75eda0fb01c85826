"""``database``: a SQLite path or a PostgreSQL URL whose password is a secret; ``migrate``
defaults to ``auto`` for SQLite only."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation.config.database import PostgresDatabase
from automation.config.loader import load_config, redactor
from automation.core.errors import ConfigError

MINIMAL = """\
database: {database}
rules: [rules/]
engagement_api:
  base_url: https://data-api.x.com
x_api:
  base_url: https://api.x.com
app:
  consumer_key: k
  consumer_secret: s
  bearer_token: b
"""


def load(tmp_path: Path, database: str, extra: str = "", **env: str):
    path = tmp_path / "automation.yaml"
    path.write_text(MINIMAL.format(database=database) + extra)
    return load_config(path, env=env)


def test_a_path_is_sqlite_relative_to_the_config_and_migrated_by_the_engine(tmp_path) -> None:
    config = load(tmp_path, "state/automation.db")
    assert config.database == tmp_path / "state" / "automation.db"
    assert config.migrate == "auto"


def test_a_url_is_postgres_whose_password_never_shows(tmp_path) -> None:
    password = "pw/FAKE@7:x"  # characters a URL would need escaped
    config = load(
        tmp_path,
        "postgresql://automation:${PG_PASSWORD}@db.internal:5433/automation?sslmode=require",
        PG_PASSWORD=password,
    )
    assert isinstance(config.database, PostgresDatabase)
    assert str(config.database) == (
        "postgresql://automation@db.internal:5433/automation?sslmode=require"
    )
    assert config.database.password_value() == password
    assert password not in repr(config.database)
    assert config.migrate == "manual"  # shared by several engines: migrated on purpose
    assert redactor(config)(f"could not connect with {password}") == "could not connect with ***"


def test_a_url_without_a_password_leaves_it_to_libpq(tmp_path) -> None:
    config = load(tmp_path, "postgres://automation@/automation?host=/run/postgresql")
    assert config.database == PostgresDatabase(
        "postgres://automation@/automation?host=/run/postgresql"
    )
    assert config.database.password_value() is None


@pytest.mark.parametrize("url", ["mysql://db/automation", "sqlite:///var/lib/automation.db"])
def test_a_url_of_another_database_is_an_error_naming_the_line_and_key(tmp_path, url: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, url)
    assert str(info.value) == (
        f"{tmp_path / 'automation.yaml'}:1: database: expected a file path (SQLite) or a"
        f" postgresql:// URL, got {url!r}"
    )


def test_migrate_may_be_set_either_way(tmp_path) -> None:
    assert load(tmp_path, "postgresql://db/a", "migrate: auto\n").migrate == "auto"
    assert load(tmp_path, "state.db", "migrate: manual\n").migrate == "manual"
    with pytest.raises(ConfigError, match=r"migrate: expected auto or manual"):
        load(tmp_path, "state.db", "migrate: sometimes\n")


def test_an_unset_password_variable_is_named(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"\$\{PG_PASSWORD\} is not set"):
        load(tmp_path, "postgresql://automation:${PG_PASSWORD}@db/automation")


def test_a_password_in_the_query_is_a_secret_too(tmp_path) -> None:
    password = "pw%FAKE&x"  # as written in a URL: %25 and %26
    config = load(
        tmp_path,
        "postgresql://automation@db.internal/automation?sslmode=require&password=pw%25FAKE%26x"
        "&application_name=a",
    )
    assert isinstance(config.database, PostgresDatabase)
    assert str(config.database) == (
        "postgresql://automation@db.internal/automation?sslmode=require&application_name=a"
    )
    assert config.database.password_value() == password
    assert "FAKE" not in repr(config.database)
    assert redactor(config)(f"could not connect with {password}") == "could not connect with ***"


def test_the_users_password_wins_and_the_querys_is_taken_out_as_well() -> None:
    database = PostgresDatabase.parse("postgresql://u:first@db/a?password=second")
    assert database.url == "postgresql://u@db/a"
    assert database.password_value() == "first"
