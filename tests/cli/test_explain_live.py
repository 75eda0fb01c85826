"""``automation explain --live`` reads the post's values and /28hr series from the API
before explaining, so a window on an owned post is known even if nothing was stored."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cli_helpers import BRAND_ID, Cli, table_rows
from sandbox_api import SandboxTarget

from automation.sandbox import write_config
from automation.store.sqlite import SqliteStore

pytestmark = pytest.mark.usefixtures("in_own_directory")


@pytest.fixture
def target(target: SandboxTarget, monkeypatch: pytest.MonkeyPatch) -> SandboxTarget:
    """The standing sandbox, its clock the command's now."""
    monkeypatch.setattr("automation.cli.explain.now", target.sandbox.clock.now)
    return target


def test_a_window_on_an_owned_post_is_known_live(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, target: SandboxTarget
) -> None:
    (post,) = target.add_posts(BRAND_ID, 1, age=timedelta(hours=30))
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(
        "version: 1\nrules:\n  - id: busy\n"
        f'    watch: {{posts: ["{post}"], owner: brand}}\n'
        '    when: {all: ["likes over 2h >= 1", "likes >= 1"]}\n'
        "    actions: [{log: {message: busy}}]\n"
    )
    config = write_config(
        tmp_path / "automation.yaml", target.base_url, database="s.db", rules=["rules/"]
    )
    SqliteStore.open(tmp_path / "s.db").close()
    cli = Cli(capsys, config)

    stored = cli("explain", "busy", post)
    assert stored.code == 0, stored.err
    assert "result: unknown" in stored.out
    assert "hint: likes over 2h >= 1: a window of an owned post comes from" in stored.out
    assert "add --live to read them now" in stored.out

    live = cli("explain", "busy", post, "--live")
    assert live.code == 0, live.err
    assert "values read from the API at 2026-11-20T12:00:00Z" in live.out
    rows = {r[0]: r for r in table_rows(live.out)}
    assert rows["likes over 2h >= 1"][3] in ("true", "false")
    assert float(rows["likes >= 1"][1]) == target.value(post, "favorites")
    assert "result: unknown" not in live.out and "hint:" not in live.out
    paths = sorted(r.path.rsplit("/", 1)[-1] for r in target.received)
    assert paths == ["28hr", "totals"]
    with SqliteStore.open(tmp_path / "s.db") as store:  # within the shared budget
        assert len(store.budget_load("engagement", 0)) == 2


def _accounts_rule(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, target: SandboxTarget
) -> Cli:
    """A rule watching brand's posts, over a database the engine has not filled."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(
        "version: 1\nrules:\n  - id: hot\n    watch: {accounts: [brand]}\n"
        "    when: likes over 1h >= 1\n    actions: [{log: {message: hot}}]\n"
    )
    config = write_config(
        tmp_path / "automation.yaml", target.base_url, database="s.db", rules=["rules/"]
    )
    SqliteStore.open(tmp_path / "s.db").close()
    return Cli(capsys, config)


def test_a_post_the_engine_has_not_seen_is_said_to_be_read_as_public(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, target: SandboxTarget
) -> None:
    (post,) = target.add_posts(BRAND_ID, 1, age=timedelta(hours=3))
    live = _accounts_rule(capsys, tmp_path, target)("explain", "hot", post, "--live")
    assert live.code == 0, live.err
    assert (
        "the engine has not seen this post among the posts of brand (a new one is found at"
        " its next cycle), so it is explained as another account's public post: impressions"
        " and windows stay unknown"
    ) in " ".join(live.out.split())


def test_a_post_the_api_does_not_know_is_said_so_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, target: SandboxTarget
) -> None:
    live = _accounts_rule(capsys, tmp_path, target)(
        "explain", "hot", "1999999999999999999", "--live"
    )
    assert live.code == 0, live.err
    assert "the API has no values for this post yet (values below are unknown)" in live.out


def _new_rule(tmp_path: Path, target: SandboxTarget, post: str, extra: str = "") -> Path:
    """A rule the engine has never run, on a post that already meets it."""
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "r.yaml").write_text(
        "version: 1\nrules:\n  - id: liked\n"
        f'    watch: {{posts: ["{post}"]}}\n'
        f"    when: likes >= 1\n{extra}    actions: [{{log: {{message: liked}}}}]\n"
    )
    config = write_config(
        tmp_path / "automation.yaml", target.base_url, database="s.db", rules=["rules/"]
    )
    SqliteStore.open(tmp_path / "s.db").close()
    return config


def test_a_new_rule_is_said_to_seed_as_the_engine_would(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, target: SandboxTarget
) -> None:
    """Spec §5: a new rule's first cycle records what already meets it as seen; explain
    said 'fired' for it, then the engine seeded it."""
    (post,) = target.add_posts(BRAND_ID, 1, age=timedelta(hours=3))
    cli = Cli(capsys, _new_rule(tmp_path, target, post))
    live = cli("explain", "liked", post, "--live")
    assert live.code == 0, live.err
    assert (
        "result: true; would be seeded (recorded as seen, not fired): the rule is new and"
        " posts that already meet it are not fired; `backfill: true` fires them"
    ) in " ".join(live.out.split())
    assert "fired: likes" not in live.out

    assert cli("run", "--once").code == 0
    after = cli("explain", "liked", post, "--live")
    assert "already recorded: seeded when the rule was added or changed" in after.out
    assert "recorded: seeded once" in after.out

    rules = tmp_path / "rules" / "r.yaml"
    rules.write_text(rules.read_text().replace("likes >= 1", "likes >= 2"))
    changed = cli("explain", "liked", post, "--live")
    assert (
        "result: true; would be seeded (recorded as seen, not fired): the rule changed and"
        " posts that already meet it are not fired; `backfill: true` fires them"
    ) in " ".join(changed.out.split())


def test_a_new_rule_that_backfills_is_said_to_fire(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, target: SandboxTarget
) -> None:
    (post,) = target.add_posts(BRAND_ID, 1, age=timedelta(hours=3))
    cli = Cli(capsys, _new_rule(tmp_path, target, post, "    backfill: true\n"))
    live = cli("explain", "liked", post, "--live")
    assert live.code == 0, live.err
    assert "result: true; fired: likes >= 1 is true" in live.out
    assert "seeded" not in live.out
